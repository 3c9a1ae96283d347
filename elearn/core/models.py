"""Audit log and mail outbox (records every domain writes to), and site settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from elearn.core.clock import utcnow
from elearn.extensions import db


class AuditLog(db.Model):
    """One security-relevant or administrative action. Rows are only ever inserted."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: Who acted; None for anonymous visitors (a failed sign-in) and for the system.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: Dotted action name, e.g. ``auth.login_failed`` or ``unit.moved``.
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None]
    #: A short human-readable account of what changed (old and new values).
    detail: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))

    # A foreign key into accounts by table name; accounts' User is resolved by name.
    actor: Mapped[User | None] = relationship("User", lazy="selectin")  # noqa: F821


class OutboxMail(db.Model):
    """A mail the platform sent, or captured instead of sending (development and tests)."""

    __tablename__ = "outbox_mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    #: What kind of mail this is, e.g. ``password_reset``.
    kind: Mapped[str] = mapped_column(String(32))
    #: ``captured`` (kept here, not sent), ``sent`` or ``failed``.
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)


class SiteSetting(db.Model):
    """A setting admins change in the application (not a deployment setting: see config.py).

    One row per key, the value as text; ``core.services.get_setting`` and
    ``set_setting`` read and write them. Only settings with an admin page live here.
    """

    __tablename__ = "site_settings"

    #: Dotted name of the owning domain and setting, e.g. ``accounts.retention_months``.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


@event.listens_for(Session, "before_flush")
def _audit_log_is_append_only(session, _context, _instances):
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditLog) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("the audit log is append-only")
