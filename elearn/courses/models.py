"""Courses, their modules and activities, page content, audiences and enrolment runs.

Authored content (Course, Module, Activity, PageContent), per-course settings
(CourseSettings, CourseAudience) and learner state (Enrolment here, and
ActivityProgress in ``progress``) live in separate tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from elearn.core.clock import utcnow
from elearn.core.database import binary_string
from elearn.extensions import db

ACTIVITY_TYPES = ("page", "video", "quiz", "survey")
#: ``view``: opened; ``mark_done``: the learner says so; ``watch``: a video watched to
#: its threshold (``elearn.progress.watch``); ``passed``: a quiz's final grade reaches
#: its pass mark; ``attempted``: a quiz attempt was finished; ``submitted``: a survey
#: was answered and sent.
COMPLETION_RULES = ("view", "mark_done", "watch", "passed", "attempted", "submitted")
QUIZ_COMPLETION = ("passed", "attempted")
PAGE_COMPLETION = ("view", "mark_done")
SURVEY_COMPLETION = ("submitted",)


class Course(db.Model):
    """A course as authored: title, summary, topic, structure below it."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable identifier used in URLs and content packs.
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    summary: Mapped[str] = mapped_column(Text, default="")
    #: Topic slug, one of ``elearn.courses.services.TOPICS``.
    topic: Mapped[str] = mapped_column(String(40), index=True, default="")
    estimated_minutes: Mapped[int | None]
    #: ``draft`` (only staff see it) or ``published``.
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    #: Title, summary and topic folded for search, with a leading space (word starts).
    search_text: Mapped[str] = mapped_column(Text, default="")
    title_sort: Mapped[str] = mapped_column(binary_string(600), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    settings: Mapped[CourseSettings] = relationship(back_populates="course", uselist=False)
    modules: Mapped[list[Module]] = relationship(
        back_populates="course", order_by="Module.position"
    )
    sources: Mapped[list[CourseSource]] = relationship(order_by="CourseSource.position")


class CourseSettings(db.Model):
    """How a course is offered: who may see it, self-enrolment, default due period."""

    __tablename__ = "course_settings"

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), primary_key=True)
    #: True: every signed-in person sees it; False: only the units in CourseAudience.
    audience_all: Mapped[bool] = mapped_column(default=True)
    self_enrol: Mapped[bool] = mapped_column(default=True)
    #: Days a self-enrolled run has before it is due; None means no due date.
    due_days: Mapped[int | None]
    #: Videos without a caption track are not shown to learners and block publishing.
    require_captions: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    #: Least course grade (share of the full mark, averaged over required graded
    #: activities) a run needs to complete; None means no minimum.
    min_grade: Mapped[float | None]
    #: The organising unit that issues the course's certificates (its signer signs);
    #: None means the top unit of the learner's tree.
    issuer_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    #: Disk space the course's lectures may take, in MB of 1,048,576 bytes (set by an
    #: admin): None means the site default ``MEDIA_COURSE_QUOTA_MB``, 0 means no limit
    #: (``elearn.media.quota``).
    media_quota_mb: Mapped[int | None]

    course: Mapped[Course] = relationship(back_populates="settings")


class CourseAudience(db.Model):
    """A unit (with everything below it) that may see a restricted course."""

    __tablename__ = "course_audiences"

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True, index=True)


class CourseSource(db.Model):
    """A source document a course takes its facts from (shown on the course page)."""

    __tablename__ = "course_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    file: Mapped[str] = mapped_column(String(255), default="")
    title: Mapped[str] = mapped_column(String(500))
    date: Mapped[str] = mapped_column(String(20), default="")


class Module(db.Model):
    """An ordered section of a course."""

    __tablename__ = "modules"
    __table_args__ = (UniqueConstraint("course_id", "key", name="uq_modules_course_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    #: Stable within the course (content packs match on it).
    key: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(default=0)
    #: Removed from the course but kept, because learners' progress may point at it.
    archived: Mapped[bool] = mapped_column(default=False)

    course: Mapped[Course] = relationship(back_populates="modules")
    activities: Mapped[list[Activity]] = relationship(
        back_populates="module", order_by="Activity.position"
    )


class Activity(db.Model):
    """One thing a learner does: read a page (and later watch a video, take a quiz...)."""

    __tablename__ = "activities"
    __table_args__ = (UniqueConstraint("course_id", "key", name="uq_activities_course_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"), index=True)
    key: Mapped[str] = mapped_column(String(80))
    #: One of ACTIVITY_TYPES.
    type: Mapped[str] = mapped_column(String(16), default="page")
    title: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(default=0)
    #: Counts toward course completion.
    required: Mapped[bool] = mapped_column(default=True)
    #: When the activity counts as complete: one of COMPLETION_RULES.
    completion: Mapped[str] = mapped_column(String(16), default="view")
    archived: Mapped[bool] = mapped_column(default=False)

    module: Mapped[Module] = relationship(back_populates="activities")
    page: Mapped[PageContent | None] = relationship(uselist=False, back_populates="activity")


class PageContent(db.Model):
    """The Markdown of a page and the sanitised HTML made from it when saved."""

    __tablename__ = "page_contents"

    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), primary_key=True)
    markdown: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    #: ``elearn.html.ALLOWLIST_VERSION`` the HTML was made with.
    rendered_with: Mapped[int] = mapped_column(default=0)

    activity: Mapped[Activity] = relationship(back_populates="page")


#: The columns the HR reports read, led by the run's unit and its unit at completion.
REPORT_COLUMNS = (
    "unit_id",
    "completed_unit_id",
    "started_at",
    "completed_at",
    "due_at",
    "status",
    "grade",
    "time_spent",
    "course_id",
)


class Enrolment(db.Model):
    """One run of a course by one person; a refresher is a new run, old runs stay.

    ``status``, ``percent``, ``time_spent`` and ``completed_at`` are a cache kept by
    ``elearn.progress.services`` in the same transaction as each change.
    """

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id", "run", name="uq_enrolments_user_course_run"),
        # HR reports group runs by unit and read only these columns: covering indexes let
        # both databases answer a unit's report from the index alone (bench/reports.py).
        Index("ix_enrolments_unit_report", *REPORT_COLUMNS),
        # Completion mode: completed runs by the unit they were completed in.
        Index(
            "ix_enrolments_completed_unit_report",
            *REPORT_COLUMNS[1:],
            sqlite_where=text("completed_unit_id IS NOT NULL"),
            postgresql_where=text("completed_unit_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    #: 1 for the first run of this course by this person, 2 for the next, ...
    run: Mapped[int] = mapped_column(default=1)
    #: Why the run exists: ``self`` (the learner enrolled), ``assigned`` (a mandatory
    #: assignment by hr) or ``class`` (a training class).
    source: Mapped[str] = mapped_column(String(16), default="self")
    #: The learner's current unit, a copy kept in step by ``elearn.courses.services`` when
    #: people move or units merge, so reports group runs without joining every person.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    #: The learner's unit when the run was completed (reports may count completions there).
    completed_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    #: ``not_started``, ``in_progress`` or ``completed``.
    status: Mapped[str] = mapped_column(String(16), default="not_started", index=True)
    #: Completion ratio of required activities, 0.0 to 1.0.
    percent: Mapped[float] = mapped_column(default=0.0)
    #: Course grade: mean of the required graded activities' grades so far (None: none yet).
    grade: Mapped[float | None]
    #: Estimated seconds of study (``elearn.progress.services``: time spent).
    time_spent: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: End of the due day (UTC), or None.
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    last_activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))

    course: Mapped[Course] = relationship()
