"""Learner state per activity and run, the event record, certificates (progress.services writes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, ForeignKey, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from elearn.core.clock import utcnow
from elearn.extensions import db


class ActivityProgress(db.Model):
    """What one run has done in one activity."""

    __tablename__ = "activity_progress"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "activity_id", name="uq_activity_progress_run_activity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), index=True)
    #: ``in_progress`` or ``completed``.
    status: Mapped[str] = mapped_column(String(16), default="in_progress")
    #: Completion ratio of this activity, 0.0 to 1.0.
    percent: Mapped[float] = mapped_column(default=0.0)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    time_spent: Mapped[int] = mapped_column(default=0)
    #: Video: the merged intervals watched, as JSON (``elearn.progress.watch``).
    watched: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: Video: where to resume, in seconds.
    position: Mapped[float | None]
    #: Quiz: the final grade (share of the full mark) by the quiz's grading method.
    grade: Mapped[float | None]
    #: Video: when the last watch report was accepted (the real-time check counts from it).
    reported_at: Mapped[datetime | None]


class ProgressEvent(db.Model):
    """One state transition of a learner's record: append-only, hash-chained per learner.

    ``hash`` is SHA-256 over the previous event's hash and this event's fields
    (``elearn.progress.record``), so editing, removing or reordering an event breaks
    the chain. Database triggers refuse UPDATE and DELETE on this table.
    """

    __tablename__ = "progress_events"
    __table_args__ = (UniqueConstraint("user_id", "seq", name="uq_progress_events_user_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The learner whose record this is.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: 1, 2, 3, ... per learner.
    seq: Mapped[int]
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))
    #: ``run.started``, ``activity.completed``, ``activity.graded``, ``run.completed``,
    #: ``run.grade``, ``run.reset``, ``run.override``.
    kind: Mapped[str] = mapped_column(String(32))
    #: Canonical JSON of the value before and after ("" when there is none).
    old_value: Mapped[str] = mapped_column(Text, default="")
    new_value: Mapped[str] = mapped_column(Text, default="")
    #: Who caused it: the learner, or the instructor or admin acting (None: the system).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ProgressChain(db.Model):
    """The head of a learner's event chain; appending locks this row."""

    __tablename__ = "progress_chains"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64))


#: Refuse UPDATE and DELETE of progress events on both databases (created with the table).
_APPEND_ONLY = {
    "sqlite": [
        "CREATE TRIGGER progress_events_no_update BEFORE UPDATE ON progress_events "
        "BEGIN SELECT RAISE(ABORT, 'progress_events is append-only'); END",
        "CREATE TRIGGER progress_events_no_delete BEFORE DELETE ON progress_events "
        "BEGIN SELECT RAISE(ABORT, 'progress_events is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION progress_events_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'progress_events is append-only'; END $$",
        "CREATE TRIGGER progress_events_append_only BEFORE UPDATE OR DELETE ON progress_events "
        "FOR EACH ROW EXECUTE FUNCTION progress_events_append_only()",
    ],
}

for _dialect, _statements in _APPEND_ONLY.items():
    for _statement in _statements:
        event.listen(
            ProgressEvent.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect)
        )


class Certificate(db.Model):
    """A certificate of completion of one run, with what it says frozen at issue.

    ``status``: ``valid``, ``revoked`` (``revoked_at``, ``reason``) or ``superseded``
    (re-issued, e.g. after a change of name; ``replaced_by_id`` is the new one).
    """

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The public verification code, e.g. ``K7QM-3XZP-9RTA-WD2E`` (about 79 random bits).
    code: Mapped[str] = mapped_column(String(32), unique=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    status: Mapped[str] = mapped_column(String(16), default="valid")
    full_name: Mapped[str] = mapped_column(String(255))
    unit_name: Mapped[str] = mapped_column(String(255), default="")
    course_title: Mapped[str] = mapped_column(String(255))
    hours: Mapped[float | None]
    completed_at: Mapped[datetime]
    issuer_name: Mapped[str] = mapped_column(String(255), default="")
    signer_name: Mapped[str] = mapped_column(String(255), default="")
    signer_title: Mapped[str] = mapped_column(String(255), default="")
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
