"""Question files and quizzes in content packs.

``questions: questions.gift`` in a course file: loading adds the file's questions that
the course's bank does not have yet (matched by category and title, or text when
untitled), so loading again adds nothing and questions edited on the site stay.

A ``type: quiz`` activity has a ``quiz:`` mapping (docs/content-format.md): its settings
(time limit in minutes, attempts, grading, pass mark as a share, per page, shuffles,
navigation, review options) and ``category`` (the bank category its questions come
from) with ``random: N`` to draw N per attempt, or every question of it in order. The
questions are set when the quiz is first loaded; later loads update the settings only,
so attempts already taken keep their meaning.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from elearn.core.services import ServiceError
from elearn.courses import packs
from elearn.courses.models import Activity, Course, Module
from elearn.extensions import db
from elearn.quiz import authoring, services
from elearn.quiz.formats import gift
from elearn.quiz.models import Question, QuestionCategory


def check_file(path: Path) -> None:
    """Raise FormatError if a pack's question file has any problem."""
    gift.read(path.read_bytes())


def _key(category: str, name: str, text: str) -> tuple[str, str]:
    """How a pack's question is recognised in the bank: category and title (or its text)."""
    return services.clean_path(category), (name or "")[:255] or text


def load_questions(course: Course, path: Path) -> int:
    """Add the questions of a pack's GIFT file the bank lacks; return how many were added."""
    have = {
        _key(category, name, text)
        for category, name, text in db.session.execute(
            select(QuestionCategory.path, Question.name, Question.text)
            .join(Question, Question.category_id == QuestionCategory.id)
            .where(Question.course_id == course.id)
        ).all()
    }
    added = 0
    for question in gift.read(path.read_bytes()):
        key = _key(question.category, question.name, question.text)
        if key in have:
            continue
        have.add(key)
        services.add_question(course, question, None)
        added += 1
    db.session.flush()
    return added


def export_questions(course: Course, target: Path) -> str | None:
    """Write the bank into an exported pack as questions.gift; None if the bank is empty."""
    if not services.questions_of(course):
        return None
    (target / "questions.gift").write_text(services.export_bank(course, "gift"), encoding="utf-8")
    return "questions.gift"


#: ``quiz:`` keys of a pack and how each becomes a setting.
_SETTINGS = {
    "time_limit": lambda v: None if v in (None, 0) else int(v) * 60,
    "attempts": int,
    "grading": str,
    "pass_mark": lambda v: None if v is None else float(v),
    "per_page": int,
    "shuffle_questions": bool,
    "shuffle_answers": bool,
    "navigation": str,
    "review_marks": str,
    "review_correct": str,
    "review_feedback": str,
}
_KEYS = {*_SETTINGS, "category", "random", "mark"}


def _settings(spec: dict) -> dict:
    return {name: convert(spec[name]) for name, convert in _SETTINGS.items() if name in spec}


def check_quiz(spec: dict) -> str | None:
    """Return what is wrong with a pack's ``quiz:`` mapping, or None."""
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        return f"unknown quiz setting '{unknown[0]}' (one of {', '.join(sorted(_KEYS))})"
    if not isinstance(spec.get("category"), str):
        return "a quiz needs 'category': the bank category its questions come from"
    random = spec.get("random")
    if random is not None and (not isinstance(random, int) or random < 1):
        return "'random' must be how many questions to draw (1 or more)"
    try:
        settings = _settings(spec)
    except (TypeError, ValueError):
        return "quiz settings must be numbers or words as docs/content-format.md shows"
    probe = authoring.SETTINGS | settings
    try:
        authoring.check_settings(probe)
    except ServiceError as exc:
        return str(exc)
    return None


def load_quiz(activity: Activity | None, module: Module, page: packs.PageData) -> Activity:
    """Create or update a pack's quiz; its questions are set on the first load only."""
    spec = page.quiz
    settings = _settings(spec)
    course = module.course
    if activity is None:
        activity = authoring.add_quiz(
            module,
            page.title,
            page.markdown,
            required=page.required,
            completion=page.completion,
            key=page.key,
            **settings,
        )
    else:
        quiz = db.session.get(authoring.Quiz, activity.id)
        authoring.update_settings(quiz, **settings)
        authoring.update_quiz(
            activity,
            page.title,
            page.markdown,
            required=page.required,
            completion=page.completion,
        )
    quiz = db.session.get(authoring.Quiz, activity.id)
    if not authoring.slots_of(quiz):
        category = services.category(course, spec["category"])
        mark = float(spec.get("mark", 1.0))
        if spec.get("random"):
            authoring.add_random(quiz, category, spec["random"], mark)
        else:
            questions = [q for q in services.questions_of(course) if q.category_id == category.id]
            if not questions:
                raise packs.PackError(
                    f"{page.file}: the bank has no questions in category '{spec['category']}'"
                )
            authoring.add_questions(quiz, questions, mark)
    return activity


def export_quiz(activity: Activity) -> dict:
    """The ``quiz:`` mapping of a quiz in an exported pack."""
    quiz = db.session.get(authoring.Quiz, activity.id)
    spec: dict = {}
    slots = authoring.slots_of(quiz)
    if slots:
        first = slots[0]
        category_id = first.category_id or db.session.get(Question, first.question_id).category_id
        spec["category"] = db.session.get(QuestionCategory, category_id).path
        if first.category_id:
            spec["random"] = first.count
        if first.mark != 1.0:
            spec["mark"] = first.mark
    for name in _SETTINGS:
        value = getattr(quiz, name)
        if name == "time_limit" and value:
            value //= 60
        spec[name] = value
    return spec


packs.QUIZ_CHECKER = check_quiz
packs.QUIZ_LOADER = load_quiz
packs.QUIZ_EXPORTER = export_quiz
packs.QUESTION_LOADER = load_questions
packs.QUESTION_EXPORTER = export_questions
packs.QUESTION_CHECKER = check_file
