"""Learner state per activity and enrolment run; written only by progress.services."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
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
