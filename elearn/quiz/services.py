"""The question bank: import from GIFT or Aiken, export, stored questions read back.

Import is all or nothing, or only the valid questions when the instructor asks.

Import is two steps for a person: ``preview()`` reads the file and lists every question
and every problem; ``import_questions()`` writes them. Nothing is written while a file has
problems, unless the instructor chose to import only the valid questions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from elearn.accounts.models import User
from elearn.core.services import AUDIT_LABELS, NotFound, ServiceError, record_audit
from elearn.courses.models import Course
from elearn.extensions import db
from elearn.html import render_text
from elearn.quiz import data as qdata
from elearn.quiz.formats import FormatError, Problem, aiken, decode, gift
from elearn.quiz.models import Question, QuestionCategory

FORMATS = {"gift": gift, "aiken": aiken}
#: Largest question file accepted, in bytes.
MAX_FILE_BYTES = 2 * 1024 * 1024


@dataclass
class Preview:
    """What a file would import: the valid questions and the problems of the others."""

    questions: list[qdata.QuestionData]
    problems: list[Problem]
    text: str


def preview(data: bytes, format_name: str) -> Preview:
    """Read a question file without writing anything; raise FormatError if unreadable."""
    if format_name not in FORMATS:
        raise ServiceError(_l("Choose GIFT or Aiken."), "format")
    if len(data) > MAX_FILE_BYTES:
        raise ServiceError(_l("The file is larger than 2 MB."), "file")
    text = decode(data)  # refuses other encodings with the line of the first bad byte
    questions, problems = FORMATS[format_name].parse_with_errors(text)
    if not questions and not problems:
        raise ServiceError(_l("The file holds no questions."), "file")
    return Preview(questions, problems, text)


def clean_path(path: str) -> str:
    """A category path as stored: parts trimmed, empty parts dropped, at most 255 characters."""
    return "/".join(part.strip() for part in (path or "").split("/") if part.strip())[:255]


def category(course: Course, path: str) -> QuestionCategory:
    """Return (creating it if needed) the category ``path`` of a course's bank."""
    path = clean_path(path)
    found = db.session.scalar(
        select(QuestionCategory).where(
            QuestionCategory.course_id == course.id, QuestionCategory.path == path
        )
    )
    if found is None:
        found = QuestionCategory(course_id=course.id, path=path)
        db.session.add(found)
        db.session.flush()
    return found


def add_question(course: Course, question: qdata.QuestionData, actor: User | None) -> Question:
    """Store one question (already checked by a reader or the editor) in a course's bank."""
    stored = question.to_json()
    stored.pop("line", None)
    row = Question(
        course_id=course.id,
        category_id=category(course, question.category).id,
        type=question.type,
        name=question.name[:255],
        text=question.text,
        text_format=question.text_format,
        html=render_text(question.text, question.text_format),
        data=json.dumps(stored, ensure_ascii=False),
        created_by=actor.id if actor else None,
    )
    db.session.add(row)
    return row


def import_questions(
    course: Course, data: bytes, format_name: str, actor: User | None, only_valid: bool = False
) -> list[Question]:
    """Import a question file into a course's bank (the caller commits).

    With problems in the file nothing is imported (FormatError lists them all), unless
    ``only_valid``: then the valid questions are imported and the others left out.
    """
    result = preview(data, format_name)
    if result.problems and not only_valid:
        raise FormatError(result.problems)
    rows = [add_question(course, question, actor) for question in result.questions]
    db.session.flush()
    record_audit(
        "quiz.imported",
        actor_id=actor.id if actor else None,
        target_type="course",
        target_id=course.id,
        detail=f"{len(rows)} {format_name}",
    )
    return rows


def questions_of(course: Course) -> list[Question]:
    """Return the live questions of a course's bank, by category then in the order added."""
    return list(
        db.session.scalars(
            select(Question)
            .join(QuestionCategory, QuestionCategory.id == Question.category_id)
            .where(Question.course_id == course.id, Question.archived.is_(False))
            .order_by(QuestionCategory.path, Question.id)
        )
    )


def categories_of(course: Course) -> list[tuple[QuestionCategory, int]]:
    """Return a course's categories with how many live questions each holds."""
    counts = (
        select(Question.category_id, func.count().label("n"))
        .where(Question.course_id == course.id, Question.archived.is_(False))
        .group_by(Question.category_id)
        .subquery()
    )
    return [
        (row, n or 0)
        for row, n in db.session.execute(
            select(QuestionCategory, counts.c.n)
            .outerjoin(counts, counts.c.category_id == QuestionCategory.id)
            .where(QuestionCategory.course_id == course.id)
            .order_by(QuestionCategory.path)
        ).all()
    ]


def as_data(question: Question) -> qdata.QuestionData:
    """Rebuild what a stored question says (for grading and export)."""
    stored = json.loads(question.data)
    stored["category"] = db.session.get(QuestionCategory, question.category_id).path
    return qdata.from_json(stored)


def update_question(row: Question, question: qdata.QuestionData) -> None:
    """Replace a stored question with an edited one (same type)."""
    course = db.session.get(Course, row.course_id)
    stored = question.to_json()
    stored.pop("line", None)
    row.category_id = category(course, question.category).id
    row.name, row.text, row.text_format = question.name[:255], question.text, question.text_format
    row.html = render_text(question.text, question.text_format)
    row.data = json.dumps(stored, ensure_ascii=False)


def export_bank(course: Course, format_name: str) -> str:
    """Write a course's bank as GIFT or Aiken (Aiken refuses questions it cannot hold)."""
    if format_name not in FORMATS:
        raise ServiceError(_l("Choose GIFT or Aiken."), "format")
    return FORMATS[format_name].export([as_data(q) for q in questions_of(course)])


def question_in(course: Course, question_id: int) -> Question:
    """Return a live question of ``course``'s bank, else raise NotFound."""
    question = db.session.get(Question, question_id)
    if question is None or question.course_id != course.id or question.archived:
        raise NotFound(_l("Question not found."))
    return question


def remove_question(question: Question) -> None:
    """Take a question out of the bank (kept for attempts that used it)."""
    question.archived = True


AUDIT_LABELS.update({"quiz.imported": _l("Questions imported")})
