"""Shared by the progress tests: a controllable clock and courses with every kind of rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from elearn.core.clock import utcnow
from elearn.courses import services as courses
from elearn.courses.models import Activity, Course, Enrolment
from elearn.extensions import db
from elearn.progress import services as progress
from elearn.progress.models import ActivityProgress, Certificate, ProgressEvent
from elearn.quiz import attempts, authoring
from elearn.quiz import services as quiz_bank

#: Two questions: answering one right gives 0.5, both 1.0.
BANK = """\
::Một:: Dịch vụ công trực tuyến mức độ 4 cho phép nộp hồ sơ qua mạng. {T}

::Hai:: Chữ ký số chỉ dùng được trên giấy. {F}
"""


class Clock:
    """A controllable utcnow for the progress service."""

    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(progress, "utcnow", fake)
    return fake


@dataclass
class Lessons:
    """A published course: a page completed by viewing, one by marking it done, a quiz
    (``passed``, pass mark 0.6, with a two-question bank) and an optional page.
    """

    course: Course
    view_page: Activity
    done_page: Activity
    quiz: Activity
    optional_page: Activity


def build_course(instructor, slug: str, *, title: str = "Chữ ký số") -> Lessons:
    """Create and publish a course with every page rule and a quiz (the caller commits)."""
    course = courses.create_course(instructor, slug=slug, title=title, topic="chinh-phu-so")
    module = courses.add_module(course, "Phần 1")
    view_page = courses.add_page(module, "Khái niệm", "Chữ ký số là gì.")
    done_page = courses.add_page(module, "Thực hành", "Ký một văn bản.", completion="mark_done")
    quiz_bank.import_questions(course, BANK.encode(), "gift", instructor)
    quiz = authoring.add_quiz(module, "Kiểm tra", "Trả lời hai câu.", pass_mark=0.6)
    authoring.add_questions(attempts.quiz_of(quiz), quiz_bank.questions_of(course))
    optional_page = courses.add_page(module, "Đọc thêm", "Tài liệu tham khảo.", required=False)
    courses.set_status(course, instructor, True)
    db.session.flush()
    return Lessons(course, view_page, done_page, quiz, optional_page)


def set_rule(activity: Activity, completion: str | None = None, required: bool | None = None):
    """Change a page's completion rule or whether it counts, as the page editor does."""
    courses.update_page(
        activity,
        activity.title,
        activity.page.markdown,
        required=activity.required if required is None else required,
        completion=completion or activity.completion,
    )


def set_min_grade(course: Course, actor, value: float | None) -> None:
    """Change only the course's least grade, as the course editor does."""
    courses.update_course(
        course,
        actor,
        title=course.title,
        summary=course.summary,
        topic=course.topic,
        estimated_minutes=course.estimated_minutes,
        audience_all=True,
        audience_unit_ids=[],
        due_days=course.settings.due_days,
        min_grade=value,
    )


def events_of(run: Enrolment, kind: str | None = None, activity=None) -> list[ProgressEvent]:
    query = select(ProgressEvent).where(ProgressEvent.enrolment_id == run.id)
    if kind is not None:
        query = query.where(ProgressEvent.kind == kind)
    if activity is not None:
        query = query.where(ProgressEvent.activity_id == activity.id)
    return list(db.session.scalars(query.order_by(ProgressEvent.seq)))


def row_of(run: Enrolment, activity: Activity) -> ActivityProgress | None:
    return db.session.scalar(
        select(ActivityProgress).where(
            ActivityProgress.enrolment_id == run.id, ActivityProgress.activity_id == activity.id
        )
    )


def certificates_of(run: Enrolment, status: str | None = "valid") -> list[Certificate]:
    query = select(Certificate).where(Certificate.enrolment_id == run.id)
    if status is not None:
        query = query.where(Certificate.status == status)
    return list(db.session.scalars(query.order_by(Certificate.id)))
