"""Building quizzes: the activity and its settings, its questions (slots), overrides.

Results, manual grading, regrading and item statistics are in ``elearn.quiz.results``.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from elearn.accounts.models import OrgUnit, User
from elearn.core.services import AUDIT_LABELS, NotFound, ServiceError, record_audit
from elearn.courses import services as courses
from elearn.courses.models import QUIZ_COMPLETION, Activity, Course, Module
from elearn.extensions import db
from elearn.quiz import types
from elearn.quiz.models import (
    NAVIGATION,
    REVIEW_WHEN,
    Question,
    QuestionCategory,
    Quiz,
    QuizOverride,
    QuizSlot,
)

#: Settings ``update_settings`` accepts, with their defaults (see ``Quiz``).
SETTINGS = {
    "open_at": None,
    "close_at": None,
    "time_limit": None,
    "attempts": 0,
    "grading": "highest",
    "pass_mark": None,
    "shuffle_questions": False,
    "shuffle_answers": True,
    "per_page": 5,
    "navigation": "free",
    "review_marks": "after",
    "review_correct": "after",
    "review_feedback": "after",
}
#: Longest time limit: a working day.
MAX_TIME_LIMIT = 8 * 3600


def add_quiz(
    module: Module,
    title: str,
    markdown: str = "",
    *,
    required: bool = True,
    completion: str = "passed",
    key: str | None = None,
    **settings,
) -> Activity:
    """Append a quiz activity (intro text, settings; questions come next) to a module."""
    _check_completion(completion, settings.get("pass_mark", SETTINGS["pass_mark"]))
    activity = courses.add_page(
        module, title, markdown, required=required, completion=completion, key=key, kind="quiz"
    )
    quiz = Quiz(activity_id=activity.id)
    db.session.add(quiz)
    update_settings(quiz, **{**SETTINGS, **settings})
    db.session.flush()
    return activity


def update_quiz(
    activity: Activity, title: str, markdown: str, *, required: bool, completion: str
) -> None:
    """Change a quiz's title, intro text and completion rule."""
    quiz = db.session.get(Quiz, activity.id)
    _check_completion(completion, quiz.pass_mark)
    courses.update_page(activity, title, markdown, required=required, completion=completion)


def _check_completion(completion: str, pass_mark: float | None) -> None:
    if completion not in QUIZ_COMPLETION:
        raise ServiceError(_l("Choose when the quiz counts as complete."), "completion")
    if completion == "passed" and pass_mark is None:
        raise ServiceError(
            _l("Set a pass mark, or let the quiz complete when an attempt is finished."),
            "pass_mark",
        )


def update_settings(quiz: Quiz, **settings) -> None:
    """Check and store quiz settings (any of ``SETTINGS``); raise ServiceError naming the field."""
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise ValueError(unknown)
    values = {name: settings.get(name, getattr(quiz, name)) for name in SETTINGS}
    check_settings(values)
    activity = db.session.get(Activity, quiz.activity_id)
    if activity is not None and activity.completion == "passed" and values["pass_mark"] is None:
        raise ServiceError(
            _l("Set a pass mark, or let the quiz complete when an attempt is finished."),
            "pass_mark",
        )
    if activity is not None and values["pass_mark"] != quiz.pass_mark:
        courses.completion_changed.send(course_id=activity.course_id)
    for name, value in values.items():
        setattr(quiz, name, value)


def check_settings(values: dict) -> None:
    """Raise ServiceError (naming the field) if a full set of quiz settings is not valid."""
    open_at: datetime | None = values["open_at"]
    close_at: datetime | None = values["close_at"]
    if open_at and close_at and close_at <= open_at:
        raise ServiceError(_l("The quiz must close after it opens."), "close_at")
    limit = values["time_limit"]
    if limit is not None and not 60 <= limit <= MAX_TIME_LIMIT:
        raise ServiceError(_l("The time limit must be from 1 to 480 minutes."), "time_limit")
    if not 0 <= values["attempts"] <= 100:
        raise ServiceError(_l("Attempts allowed must be from 0 (unlimited) to 100."), "attempts")
    if values["grading"] not in types.GRADING_METHODS:
        raise ServiceError(_l("Choose a grading method."), "grading")
    mark = values["pass_mark"]
    if mark is not None and not 0 < mark <= 1:
        raise ServiceError(_l("The pass mark must be above 0 and at most 100%."), "pass_mark")
    if not 0 <= values["per_page"] <= 100:
        raise ServiceError(_l("Questions per page must be from 0 (all) to 100."), "per_page")
    if values["navigation"] not in NAVIGATION:
        raise ServiceError(_l("Choose free or sequential navigation."), "navigation")
    for name in ("review_marks", "review_correct", "review_feedback"):
        if values[name] not in REVIEW_WHEN:
            raise ServiceError(_l("Choose when learners see this."), name)


def quiz_in(course: Course, activity_id: int) -> tuple[Activity, Quiz]:
    """Return a quiz activity of ``course`` and its settings, else raise NotFound."""
    activity = courses.activity_in(course, activity_id)
    quiz = db.session.get(Quiz, activity.id) if activity.type == "quiz" else None
    if quiz is None:
        raise NotFound(_l("Quiz not found."))
    return activity, quiz


def slots_of(quiz: Quiz) -> list[QuizSlot]:
    """Return a quiz's slots in order."""
    return list(
        db.session.scalars(
            select(QuizSlot)
            .where(QuizSlot.activity_id == quiz.activity_id)
            .order_by(QuizSlot.position, QuizSlot.id)
        )
    )


def _next_position(quiz: Quiz) -> int:
    return (
        db.session.scalar(
            select(func.coalesce(func.max(QuizSlot.position), 0)).where(
                QuizSlot.activity_id == quiz.activity_id
            )
        )
        + 1
    )


def _mark(mark: float) -> float:
    if not 0 < mark <= 100:
        raise ServiceError(_l("A question's mark must be above 0 and at most 100."), "mark")
    return float(mark)


def add_questions(quiz: Quiz, questions: list[Question], mark: float = 1.0) -> list[QuizSlot]:
    """Add chosen questions of the course's bank (those not in the quiz yet) to a quiz."""
    activity = db.session.get(Activity, quiz.activity_id)
    have = {s.question_id for s in slots_of(quiz)}
    position = _next_position(quiz)
    added = []
    for question in questions:
        if question.course_id != activity.course_id or question.archived:
            raise NotFound(_l("Question not found."))
        if question.id in have:
            continue
        slot = QuizSlot(
            activity_id=quiz.activity_id,
            position=position,
            question_id=question.id,
            mark=_mark(mark),
        )
        db.session.add(slot)
        added.append(slot)
        have.add(question.id)
        position += 1
    db.session.flush()
    return added


def add_random(quiz: Quiz, category: QuestionCategory, count: int, mark: float = 1.0) -> QuizSlot:
    """Add a slot drawing ``count`` random questions from a category for each attempt."""
    activity = db.session.get(Activity, quiz.activity_id)
    if category.course_id != activity.course_id:
        raise NotFound(_l("Category not found."))
    available = db.session.scalar(
        select(func.count())
        .select_from(Question)
        .where(
            Question.category_id == category.id,
            Question.archived.is_(False),
            Question.type != "description",
        )
    )
    if not 1 <= count <= available:
        raise ServiceError(
            _l(
                "The category holds %(n)d questions: draw from 1 to %(n)d.",
                n=available,
            ),
            "count",
        )
    slot = QuizSlot(
        activity_id=quiz.activity_id,
        position=_next_position(quiz),
        category_id=category.id,
        count=count,
        mark=_mark(mark),
    )
    db.session.add(slot)
    db.session.flush()
    return slot


def slot_in(quiz: Quiz, slot_id: int) -> QuizSlot:
    """Return a slot of ``quiz``, else raise NotFound."""
    slot = db.session.get(QuizSlot, slot_id)
    if slot is None or slot.activity_id != quiz.activity_id:
        raise NotFound(_l("Question not found."))
    return slot


def remove_slot(slot: QuizSlot) -> None:
    """Take a question (or random draw) out of a quiz; attempts already made keep theirs."""
    db.session.delete(slot)


def move_slot(quiz: Quiz, slot: QuizSlot, direction: int) -> None:
    """Move a slot one place up (-1) or down (+1)."""
    slots = slots_of(quiz)
    index = slots.index(slot)
    other = index + direction
    if 0 <= other < len(slots):
        slots[index], slots[other] = slots[other], slots[index]
    for position, item in enumerate(slots, start=1):
        item.position = position


def set_mark(slot: QuizSlot, mark: float) -> None:
    """Change what each question of a slot is worth (new attempts use it)."""
    slot.mark = _mark(mark)


def total_questions(quiz: Quiz) -> int:
    """How many questions an attempt will hold."""
    return sum(1 if s.question_id else s.count for s in slots_of(quiz))


def add_override(
    quiz: Quiz,
    actor: User,
    *,
    user: User | None = None,
    unit: OrgUnit | None = None,
    extra_minutes: int = 0,
    extra_attempts: int = 0,
    close_at: datetime | None = None,
    reason: str = "",
) -> QuizOverride:
    """Give one learner, or everyone in a unit (and below), more time, attempts or days."""
    if (user is None) == (unit is None):
        raise ServiceError(_l("Choose a learner or a unit."), "who")
    if not 0 <= extra_minutes <= MAX_TIME_LIMIT // 60:
        raise ServiceError(_l("Extra time must be from 0 to 480 minutes."), "extra_minutes")
    if not 0 <= extra_attempts <= 100:
        raise ServiceError(_l("Extra attempts must be from 0 to 100."), "extra_attempts")
    if not (extra_minutes or extra_attempts or close_at):
        raise ServiceError(
            _l("Give extra time, extra attempts or a later close date."), "extra_minutes"
        )
    if close_at and quiz.open_at and close_at <= quiz.open_at:
        raise ServiceError(_l("The quiz must close after it opens."), "close_at")
    override = QuizOverride(
        activity_id=quiz.activity_id,
        user_id=user.id if user else None,
        unit_id=unit.id if unit else None,
        extra_minutes=extra_minutes,
        extra_attempts=extra_attempts,
        close_at=close_at,
        reason=reason.strip()[:255],
        created_by=actor.id,
    )
    db.session.add(override)
    db.session.flush()
    record_audit(
        "quiz.override",
        actor_id=actor.id,
        target_type="activity",
        target_id=quiz.activity_id,
        detail=f"{'user ' + user.username if user else 'unit ' + unit.code}: "
        f"+{extra_minutes} min, +{extra_attempts} attempts, close {close_at or '-'}",
    )
    return override


def overrides_of(quiz: Quiz) -> list[QuizOverride]:
    """Return a quiz's overrides, newest first."""
    return list(
        db.session.scalars(
            select(QuizOverride)
            .where(QuizOverride.activity_id == quiz.activity_id)
            .order_by(QuizOverride.id.desc())
        )
    )


def override_in(quiz: Quiz, override_id: int) -> QuizOverride:
    """Return an override of ``quiz``, else raise NotFound."""
    override = db.session.get(QuizOverride, override_id)
    if override is None or override.activity_id != quiz.activity_id:
        raise NotFound(_l("Override not found."))
    return override


def remove_override(override: QuizOverride, actor: User) -> None:
    """Delete an override (attempts already started keep their deadline)."""
    record_audit(
        "quiz.override_removed",
        actor_id=actor.id,
        target_type="activity",
        target_id=override.activity_id,
        detail=str(override.id),
    )
    db.session.delete(override)


AUDIT_LABELS.update(
    {
        "quiz.override": _l("Quiz override given"),
        "quiz.override_removed": _l("Quiz override removed"),
    }
)
