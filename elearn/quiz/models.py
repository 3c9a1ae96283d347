"""The question bank: categories of questions per course.

A question's type-specific parts (answers with fractions and feedback, numerical
ranges, matching pairs, options) are stored as the JSON of ``QuestionData`` in
``data``; ``html`` is its text rendered and sanitised when saved.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from elearn.core.clock import utcnow
from elearn.core.database import binary_string
from elearn.extensions import db


class QuestionCategory(db.Model):
    """A folder of questions in a course's bank, named by a path like ``chuong-1/co-ban``."""

    __tablename__ = "question_categories"
    __table_args__ = (
        UniqueConstraint("course_id", "path", name="uq_question_categories_course_path"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    #: "" is the course's default category.
    path: Mapped[str] = mapped_column(binary_string(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Question(db.Model):
    """One question of a course's bank."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("question_categories.id"), index=True)
    #: One of ``elearn.quiz.data.QUESTION_TYPES``.
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255), default="")
    text: Mapped[str] = mapped_column(Text)
    text_format: Mapped[str] = mapped_column(String(16), default="moodle")
    #: The text rendered and sanitised when saved (``elearn.html.render_text``).
    html: Mapped[str] = mapped_column(Text, default="")
    #: ``QuestionData.to_json()``: answers, numerical answers, pairs, feedback, options.
    data: Mapped[str] = mapped_column(Text)
    #: Removed from the bank but kept: attempts may point at it.
    archived: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- quizzes ---------------------------------------------------------------------------------

#: When a learner may see each part of a finished attempt.
REVIEW_WHEN = ("never", "after", "closed")
NAVIGATION = ("free", "sequential")


class Quiz(db.Model):
    """The settings of a quiz activity (``Activity.type == "quiz"``).

    Times are naive UTC. ``time_limit`` is in seconds (None: no limit); ``attempts``
    0 means unlimited; ``pass_mark`` is a share of the full mark (None: no pass mark).
    ``review_*`` say when a learner sees marks, the right answers and feedback: never,
    right after the attempt, or only once the quiz has closed.
    """

    __tablename__ = "quizzes"

    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), primary_key=True)
    open_at: Mapped[datetime | None]
    close_at: Mapped[datetime | None]
    time_limit: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(default=0)
    grading: Mapped[str] = mapped_column(String(16), default="highest")
    pass_mark: Mapped[float | None]
    shuffle_questions: Mapped[bool] = mapped_column(default=False)
    shuffle_answers: Mapped[bool] = mapped_column(default=True)
    #: Questions per page; 0 puts them all on one page.
    per_page: Mapped[int] = mapped_column(default=5)
    navigation: Mapped[str] = mapped_column(String(16), default="free")
    review_marks: Mapped[str] = mapped_column(String(8), default="after")
    review_correct: Mapped[str] = mapped_column(String(8), default="after")
    review_feedback: Mapped[str] = mapped_column(String(8), default="after")
    #: Bumped when slots or settings that shape attempts change (statistics go stale).
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class QuizSlot(db.Model):
    """One place in a quiz: a chosen question, or ``count`` random ones from a category."""

    __tablename__ = "quiz_slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("quizzes.activity_id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("question_categories.id"))
    #: Random slots: how many questions to draw.
    count: Mapped[int] = mapped_column(default=1)
    #: Marks each question of the slot is worth.
    mark: Mapped[float] = mapped_column(default=1.0)


class QuizOverride(db.Model):
    """More time, more attempts or a later close date for one learner or a unit's people.

    A learner's own override wins; otherwise the most generous of the overrides of the
    units above them applies, part by part.
    """

    __tablename__ = "quiz_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("quizzes.activity_id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    extra_minutes: Mapped[int] = mapped_column(default=0)
    extra_attempts: Mapped[int] = mapped_column(default=0)
    close_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(String(255), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attempt(db.Model):
    """One attempt at a quiz by one learner in one enrolment run.

    ``deadline_at`` (start + time limit, or the close date, whichever is first; with the
    learner's override) is when answers stop being accepted, plus a short grace; the
    worker's sweep finishes attempts past it. ``grade`` is the share of the full mark,
    None while an essay waits for the instructor.
    """

    __tablename__ = "quiz_attempts"
    __table_args__ = (
        UniqueConstraint("activity_id", "user_id", "number", name="uq_quiz_attempts_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("quizzes.activity_id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    number: Mapped[int] = mapped_column(default=1)
    #: ``in_progress``, ``finishing`` (claimed by one submit) or ``finished``.
    state: Mapped[str] = mapped_column(String(16), default="in_progress", index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[datetime | None] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]
    #: ``learner``, ``deadline`` (the sweep) or ``closed``.
    finished_by: Mapped[str | None] = mapped_column(String(16))
    #: Sequential navigation: the furthest page reached (earlier pages are locked).
    page: Mapped[int] = mapped_column(default=0)
    marks: Mapped[float | None]
    max_marks: Mapped[float] = mapped_column(default=0.0)
    grade: Mapped[float | None]
    needs_grading: Mapped[bool] = mapped_column(default=False)


class AttemptAnswer(db.Model):
    """One question of an attempt: a snapshot of it as shown, the response, its grade.

    ``question`` is the question's JSON when the attempt began (so later edits do not
    change what was asked); a regrade replaces it with the corrected question.
    ``seq`` is the browser's counter: a save only replaces an older one, so answers
    queued offline and delivered out of order end as the learner left them.
    """

    __tablename__ = "quiz_attempt_answers"
    __table_args__ = (UniqueConstraint("attempt_id", "slot", name="uq_quiz_answers_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempts.id"), index=True)
    slot: Mapped[int]
    page: Mapped[int] = mapped_column(default=0)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    question: Mapped[str] = mapped_column(Text)
    mark: Mapped[float] = mapped_column(default=1.0)
    response: Mapped[str | None] = mapped_column(Text)
    seq: Mapped[int] = mapped_column(default=0)
    saved_at: Mapped[datetime | None]
    fraction: Mapped[float | None]
    #: ``elearn.quiz.types.Grade.state`` after grading.
    state: Mapped[str | None] = mapped_column(String(16))
    #: A person's grade and comment (essays, or a manual change).
    comment: Mapped[str] = mapped_column(Text, default="")
    graded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    graded_at: Mapped[datetime | None]


class QuizStatistics(db.Model):
    """Item statistics of a quiz, computed by the ``quiz.statistics`` job (JSON)."""

    __tablename__ = "quiz_statistics"

    activity_id: Mapped[int] = mapped_column(ForeignKey("quizzes.activity_id"), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    data: Mapped[str] = mapped_column(Text, default="{}")
