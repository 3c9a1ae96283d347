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
