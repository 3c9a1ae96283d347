"""Shared by the survey tests: a published course ending with a survey, and helpers."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from elearn.courses import services as courses
from elearn.courses.models import Activity, Course
from elearn.extensions import db
from elearn.surveys import services as surveys


@dataclass
class Built:
    """A published course: one page (completed by viewing), then a survey."""

    course: Course
    page: Activity
    survey: Activity

    def items(self):
        return surveys.items_of(surveys.survey_of(self.survey))


def build(instructor, slug="khao-sat", *, anonymous=True, required=True, items=None) -> Built:
    """Create and publish the course (the caller commits)."""
    course = courses.create_course(instructor, slug=slug, title="Khóa có khảo sát")
    module = courses.add_module(course, "Phần 1")
    page = courses.add_page(module, "Bài 1", "Nội dung bài 1.")
    survey = surveys.add_survey(
        module,
        "Phiếu khảo sát",
        "Xin cho biết ý kiến.",
        required=required,
        anonymous=anonymous,
        items=items,
    )
    courses.set_status(course, instructor, True)
    db.session.flush()
    return Built(course, page, survey)


@pytest.fixture
def built(world) -> Built:
    result = build(world.instructor)
    db.session.commit()
    return result


def answers_for(items, values, comment="Tốt") -> dict[int, str]:
    """Map the items to answers: Likert items take ``values`` in turn, comments ``comment``."""
    values = iter(values)
    out = {}
    for item in items:
        if item.kind == "likert":
            value = next(values, None)
            if value is not None:  # fewer values: the last Likert items are left empty
                out[item.id] = str(value)
        elif comment is not None:
            out[item.id] = comment
    return out


def form_of(answers: dict[int, str]) -> dict[str, str]:
    """The answers as the form posts them."""
    return {f"item-{item_id}": value for item_id, value in answers.items()}
