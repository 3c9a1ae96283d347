"""Mandatory training (assignments), training classes, reminders and export files.

An ``Assignment`` says: these courses must be taken by these targets (units with their
whole subtrees, or chosen people) by a due date, optionally again every N months. A
training class (``TrainingClass``, lớp bồi dưỡng) is a named run of courses with dates
and an organising unit; its courses and participants are an assignment of kind
``class``, so the same code enrols both and people who join a target unit later are
enrolled too. ``AssignmentRun`` links each enrolment run an assignment made (or adopted)
to it, one per person, course and cycle.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from elearn.core.clock import utcnow
from elearn.extensions import db

ASSIGNMENT_KINDS = ("assignment", "class")


class Assignment(db.Model):
    """Courses some units or people must take, by a due date, perhaps again and again.

    Withdrawing (``withdrawn_at``) stops enrolling newcomers and clears the due date of
    runs still open; every run and all progress stay.
    """

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``assignment`` (made by hr) or ``class`` (the courses of a training class).
    kind: Mapped[str] = mapped_column(String(16), default="assignment")
    #: The unit in whose name it was made; hr of that unit's subtree may manage it.
    owner_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    #: The last day (local) to complete; None means no due date.
    due_on: Mapped[date | None]
    #: Days given to a person who joins a target unit after the due date has passed.
    join_days: Mapped[int] = mapped_column(default=30)
    #: A refresher: months after each completion when a new run opens (None: once).
    recur_months: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdraw_reason: Mapped[str] = mapped_column(Text, default="")

    courses: Mapped[list[AssignmentCourse]] = relationship(
        cascade="all, delete-orphan", order_by="AssignmentCourse.course_id"
    )
    targets: Mapped[list[AssignmentTarget]] = relationship(
        cascade="all, delete-orphan", order_by="AssignmentTarget.id"
    )


class AssignmentCourse(db.Model):
    """One course of an assignment."""

    __tablename__ = "assignment_courses"

    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), primary_key=True, index=True)


class AssignmentTarget(db.Model):
    """Who must take an assignment: a unit with everything below it, or one person."""

    __tablename__ = "assignment_targets"
    __table_args__ = (
        CheckConstraint("(unit_id IS NULL) <> (user_id IS NULL)", name="unit_or_person"),
        UniqueConstraint("assignment_id", "unit_id", "user_id", name="uq_assignment_targets"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)


class AssignmentRun(db.Model):
    """An enrolment run that an assignment made or adopted, for one person and course.

    ``cycle`` is 1 for the first run and grows by one with each refresher.
    """

    __tablename__ = "assignment_runs"
    __table_args__ = (
        UniqueConstraint(
            "assignment_id", "user_id", "course_id", "cycle", name="uq_assignment_runs_cycle"
        ),
    )

    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolments.id"), primary_key=True, index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    cycle: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrainingClass(db.Model):
    """A training class (lớp bồi dưỡng): courses for participants, between two dates.

    Its courses and participants are its ``assignment`` (kind ``class``, due on the
    closing date). Organisers hold the ``organiser`` role scoped to the class.
    """

    __tablename__ = "training_classes"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short code people quote, e.g. ``TH-CCHC-2019-01``.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    #: The unit that runs it (e.g. a ministry's training school).
    organiser_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    opens_on: Mapped[date]
    closes_on: Mapped[date]
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Vietnamese collation key of the name.
    name_sort: Mapped[str] = mapped_column(String(600), default="")

    assignment: Mapped[Assignment] = relationship()


class Reminder(db.Model):
    """A reminder mailed about one run and its due date: never a second for the same pair."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("enrolment_id", "due_at", name="uq_reminders_run_due"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    due_at: Mapped[datetime]
    #: ``due_soon`` or ``overdue`` (what the run was when the mail went out).
    kind: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_mails.id"))


class ReminderDigest(db.Model):
    """The daily summary mailed to one hr person about reminders sent in their units."""

    __tablename__ = "reminder_digests"
    __table_args__ = (UniqueConstraint("user_id", "day", name="uq_reminder_digests_user_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: The local (Asia/Ho_Chi_Minh) day it covers.
    day: Mapped[date]
    reminders: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_mails.id"))


class ReportExport(db.Model):
    """A report export asked for by one person: what it covers, and its file once made.

    Small exports are made in the request and only recorded here; large ones by a job
    (``job_id``), whose file is kept under the instance folder by ``key`` until
    ``expires_at`` and downloadable only by the person who asked.
    """

    __tablename__ = "report_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: ``units``, ``courses``, ``people`` or ``runs``.
    view: Mapped[str] = mapped_column(String(16))
    #: ``xlsx`` or ``csv``.
    format: Mapped[str] = mapped_column(String(8))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"))
    class_id: Mapped[int | None] = mapped_column(ForeignKey("training_classes.id"))
    date_from: Mapped[date | None]
    date_to: Mapped[date | None]
    #: ``current`` or ``completion`` (which unit a run counts in).
    mode: Mapped[str] = mapped_column(String(16), default="current")
    #: The year of training hours (people view).
    year: Mapped[int | None]
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    #: Storage key of the file made by the job (random); None until made or once removed.
    key: Mapped[str | None] = mapped_column(String(80), unique=True)
    #: The name offered to the browser, e.g. ``bao-cao-theo-don-vi-2026-12-02.xlsx``.
    filename: Mapped[str] = mapped_column(String(255), default="")
    rows: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
