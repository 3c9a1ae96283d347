"""A survey's settings and items (authored content), and the responses learners send.

An anonymous survey's ``SurveyResponse`` holds no person, run, time or sequence: its
key is 32 random hex digits and, on SQLite, both response tables are ``WITHOUT
ROWID`` (stored in key order, so even the hidden rowid gives no order). That the
person answered is known only from their progress row (written by
``elearn.progress``), which never says what they answered. A named survey's response
also keeps the person, the run and the time.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from elearn.extensions import db

ITEM_KINDS = ("likert", "comment")
#: The five points of a Likert item, stored as 1 to 5.
SCALE = (1, 2, 3, 4, 5)
#: Longest comment kept, in characters (after line ends are made single characters).
MAX_COMMENT = 2000


def random_key() -> str:
    """Return a new 32-hex-digit key that says nothing about when the row was made."""
    return secrets.token_hex(16)


class Survey(db.Model):
    """The settings of a survey activity (its title and intro are the activity's page)."""

    __tablename__ = "surveys"

    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), primary_key=True)
    #: Responses keep no person, run or time; fixed once the first response exists.
    anonymous: Mapped[bool] = mapped_column(default=True)
    #: Results (index, distributions, comments) are shown only from this many responses,
    #: so that one response cannot be read as one known person's answers.
    min_responses_shown: Mapped[int] = mapped_column(default=3)


class SurveyItem(db.Model):
    """One item of a survey: a 1-5 satisfaction scale or a free comment."""

    __tablename__ = "survey_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("surveys.activity_id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    #: One of ITEM_KINDS.
    kind: Mapped[str] = mapped_column(String(16), default="likert")
    text: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(default=True)


class SurveyResponse(db.Model):
    """One submitted survey. Anonymous: who, which run and when are all NULL."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        # Named responses: one per run even without the run lock (NULLs never collide).
        UniqueConstraint("activity_id", "enrolment_id", name="uq_survey_responses_run"),
        {"sqlite_with_rowid": False},
    )

    #: Random, never a counter, so keys give no order.
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_key)
    activity_id: Mapped[int] = mapped_column(ForeignKey("surveys.activity_id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    #: The training class of the run when it was submitted (``CLASS_OF_RUN``).
    class_id: Mapped[int | None] = mapped_column(ForeignKey("training_classes.id"), index=True)
    #: Named surveys only.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Named surveys only.
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id"))
    #: Named surveys only.
    submitted_at: Mapped[datetime | None]


class SurveyAnswer(db.Model):
    """The answer to one item in one response: a value 1-5 (Likert) or a text (comment)."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        CheckConstraint("value IS NULL OR (value >= 1 AND value <= 5)", name="value_on_scale"),
        {"sqlite_with_rowid": False},
    )

    #: Random, like the response's.
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_key)
    response_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("survey_responses.id"), index=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("survey_items.id"), index=True)
    value: Mapped[int | None]
    text: Mapped[str | None] = mapped_column(Text)
