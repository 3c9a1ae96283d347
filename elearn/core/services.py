"""Core operations every domain uses: the audit trail, mail and site settings."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, has_request_context, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from elearn.core.clock import utcnow
from elearn.core.models import AuditLog, OutboxMail, SiteSetting
from elearn.core.security import current_request_id
from elearn.extensions import db

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """A business rule refused an operation; the message is for the person who asked.

    ``field`` names the form field the problem belongs to, when there is one, so the
    page can show the message beside it.
    """

    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.field = field


class NotFound(ServiceError):
    """The object does not exist, or the person may not know that it does."""


class Forbidden(ServiceError):
    """The person is known but may not do this."""


def required_reason(reason: str | None, message) -> str:
    """Return the trimmed reason, or refuse with ``message`` (shown beside the reason field)."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(message, "reason")
    return reason


#: Readable names of audit actions, shown on the audit page; each domain adds its own.
AUDIT_LABELS: dict[str, object] = {}


def audit_label(action: str) -> str:
    """Return the readable name of an audit action (the code itself if none is known)."""
    return str(AUDIT_LABELS.get(action, action))


def record_audit(
    action: str,
    *,
    actor_id: int | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    detail: str = "",
) -> AuditLog:
    """Add one entry to the audit log (the caller commits)."""
    entry = AuditLog(
        action=action,
        actor_id=actor_id,
        target_type=target_type,
        target_id=target_id,
        detail=detail,
        ip=request.remote_addr if has_request_context() else None,
        request_id=current_request_id(),
    )
    db.session.add(entry)
    log.info("audit %s actor=%s target=%s:%s %s", action, actor_id, target_type, target_id, detail)
    return entry


def audit_page(page: int, per_page: int = 50, action: str | None = None):
    """Return one page of the audit log, newest first, optionally for one action."""
    query = select(AuditLog).order_by(AuditLog.id.desc())
    if action:
        query = query.where(AuditLog.action == action)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def audit_about(target_type: str, target_id: int) -> list[AuditLog]:
    """Return the audit entries whose target is this object, oldest first."""
    return list(
        db.session.scalars(
            select(AuditLog)
            .where(AuditLog.target_type == target_type, AuditLog.target_id == target_id)
            .order_by(AuditLog.id)
        )
    )


def audit_actions() -> list[str]:
    """Return the distinct action names present in the log."""
    return list(db.session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)))


#: Mail subjects by kind, looked up at send time inside the recipient's language; each
#: domain adds the kinds it sends.
MAIL_SUBJECTS = {
    "password_reset": lambda: _("Reset your elearn password"),
    "welcome": lambda: _("Your elearn account"),
}


def send_mail(to_address: str, kind: str, locale: str = "vi", **context) -> OutboxMail:
    """Render mail ``kind`` in ``locale`` and send it, or capture it in the outbox.

    With no SMTP host configured (development, tests) the mail is only stored,
    with status ``captured``, and can be read at /admin/outbox. With SMTP, the
    mail is sent and stored as ``sent`` or, if the server refused it, ``failed``
    with the error, so nothing is lost silently. The caller commits.
    """
    with force_locale(locale):
        subject = MAIL_SUBJECTS[kind]()
        body = render_template(f"mail/{kind}.txt", **context)
    mail = OutboxMail(to_address=to_address, subject=subject, body=body, kind=kind)
    host = current_app.config.get("MAIL_SMTP_HOST")
    if not host:
        mail.status = "captured"
    else:
        try:
            _smtp_send(to_address, subject, body)
            mail.status = "sent"
        except (OSError, smtplib.SMTPException) as exc:
            mail.status = "failed"
            mail.error = str(exc)
            log.warning("mail %s to %s failed: %s", kind, to_address, exc)
    db.session.add(mail)
    return mail


def _smtp_send(to_address: str, subject: str, body: str) -> None:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to_address
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="elearn")
    message.set_content(body)
    with smtplib.SMTP(config["MAIL_SMTP_HOST"], config["MAIL_SMTP_PORT"], timeout=20) as smtp:
        if config["MAIL_SMTP_STARTTLS"]:
            smtp.starttls()
        if config.get("MAIL_SMTP_USER"):
            smtp.login(config["MAIL_SMTP_USER"], config["MAIL_SMTP_PASSWORD"] or "")
        smtp.send_message(message)


def outbox_page(page: int, per_page: int = 50):
    """Return one page of the outbox, newest first."""
    return db.paginate(
        select(OutboxMail).order_by(OutboxMail.id.desc()),
        page=page,
        per_page=per_page,
        error_out=False,
    )


# --- site settings ---------------------------------------------------------------------------


def get_setting(key: str, default: str | None = None) -> str | None:
    """Return the stored value of a site setting, or ``default`` when it was never set."""
    row = db.session.get(SiteSetting, key)
    return default if row is None else row.value


def set_setting(key: str, value: str, actor_id: int | None = None) -> str | None:
    """Store a site setting; return its previous value (None if it was never set).

    The caller audits the change in its own words and commits.
    """
    row = db.session.get(SiteSetting, key)
    old = None if row is None else row.value
    if row is None:
        row = SiteSetting(key=key)
        db.session.add(row)
    row.value, row.updated_at, row.updated_by_id = value, utcnow(), actor_id
    db.session.flush()
    return old
