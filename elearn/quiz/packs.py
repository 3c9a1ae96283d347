"""Question files in content packs: ``questions: questions.gift`` in a course file.

Loading adds the file's questions that the course's bank does not have yet (matched by
category and title, or text when untitled), so loading again adds nothing and questions
edited on the site stay.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from elearn.courses import packs
from elearn.courses.models import Course
from elearn.extensions import db
from elearn.quiz import services
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


packs.QUESTION_LOADER = load_questions
packs.QUESTION_EXPORTER = export_questions
packs.QUESTION_CHECKER = check_file
