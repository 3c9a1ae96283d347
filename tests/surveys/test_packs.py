"""Surveys in content packs: checked with file and line, loaded, reloaded, exported."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from elearn.courses import packs
from elearn.courses import services as courses
from elearn.courses.models import Course
from elearn.extensions import db
from elearn.surveys import services as surveys
from tests.surveys.conftest import answers_for

COURSE = """\
format: 1
slug: co-khao-sat
title: Khóa có khảo sát
summary: Tóm tắt
topic: chuyen-doi-so
modules:
  - key: m1
    title: Phần một
    activities:
      - key: m1-p1
        type: page
        title: Bài một
        file: pages/01.md
      - key: ks
        type: survey
        title: Khảo sát
        file: pages/02.md
        required: false
{survey}"""
SURVEY = """\
        survey:
          anonymous: {anonymous}
          items:
            - likert: {first}
            - likert: Bài giảng dễ hiểu
              required: false
            - comment: Ý kiến khác
"""

ITEMS_START = "        survey:\n          items:\n"


def _write(root: Path, survey: str = "", **fields) -> Path:
    folder = root / "co-khao-sat"
    (folder / "pages").mkdir(parents=True, exist_ok=True)
    if survey == "" and fields:
        survey = SURVEY.format(**{"anonymous": "true", "first": "Nội dung tốt", **fields})
    (folder / "course.yaml").write_text(COURSE.format(survey=survey), encoding="utf-8")
    (folder / "pages" / "01.md").write_text("Nội dung.", encoding="utf-8")
    (folder / "pages" / "02.md").write_text("Xin cho biết ý kiến.", encoding="utf-8")
    return folder


def _survey():
    course = db.session.scalar(select(Course).where(Course.slug == "co-khao-sat"))
    activity = courses.sequence(course)[-1]
    return course, activity, surveys.survey_of(activity)


def _items(survey):
    return [(i.kind, i.text, i.required) for i in surveys.items_of(survey)]


def test_a_survey_loads_reloads_without_change_and_exports_the_same(app, tmp_path, world):
    folder = _write(tmp_path, anonymous="false")
    packs.load_packs(folder)
    db.session.commit()
    course, activity, survey = _survey()
    assert (activity.type, activity.completion, activity.required) == ("survey", "submitted", False)
    assert survey.anonymous is False
    expected = [
        ("likert", "Nội dung tốt", True),
        ("likert", "Bài giảng dễ hiểu", False),
        ("comment", "Ý kiến khác", False),
    ]
    assert _items(survey) == expected
    ids = [i.id for i in surveys.items_of(survey)]
    packs.load_packs(folder)
    db.session.commit()
    assert [i.id for i in surveys.items_of(survey)] == ids  # nothing replaced
    exported = packs.export_pack(course, tmp_path / "out")
    entry = yaml.safe_load((exported / "course.yaml").read_text(encoding="utf-8"))["modules"][0][
        "activities"
    ][1]
    assert entry["type"] == "survey"
    assert entry["completion"] == "submitted"
    assert entry["survey"] == {
        "anonymous": False,
        "items": [
            {"likert": "Nội dung tốt"},
            {"likert": "Bài giảng dễ hiểu", "required": False},
            {"comment": "Ý kiến khác"},
        ],
    }
    again = packs.read_pack(exported)
    assert again.modules[0].pages[1].survey["items"] == expected


def test_without_items_a_survey_gets_the_standard_ones(app, tmp_path, world):
    packs.load_packs(_write(tmp_path))
    db.session.commit()
    _course, _activity, survey = _survey()
    assert _items(survey) == list(surveys.STANDARD_ITEMS)
    assert survey.anonymous is True


def test_an_answered_survey_keeps_its_items_and_anonymity_but_takes_corrected_texts(
    app, tmp_path, world
):
    folder = _write(tmp_path, anonymous="true")
    packs.load_packs(folder)
    course, activity, survey = _survey()
    unanswered = _write(tmp_path, anonymous="true", first="Nội dung rất tốt")
    packs.load_packs(unanswered)  # nobody answered: the pack's items replace the old ones
    assert _items(survey)[0] == ("likert", "Nội dung rất tốt", True)
    run = courses.enrol(world.learner, course)
    surveys.submit(run, activity, answers_for(surveys.items_of(survey), [4, 4]))
    db.session.commit()
    ids = [i.id for i in surveys.items_of(survey)]
    packs.load_packs(_write(tmp_path, anonymous="false", first="Nội dung (sửa chính tả)"))
    assert [i.id for i in surveys.items_of(survey)] == ids
    assert _items(survey)[0] == ("likert", "Nội dung (sửa chính tả)", True)
    assert survey.anonymous is True
    changed = SURVEY.format(anonymous="true", first="Khác").replace(
        "            - comment: Ý kiến khác\n", ""
    )
    packs.load_packs(_write(tmp_path, changed))  # a different set of items: kept as it was
    assert [i.id for i in surveys.items_of(survey)] == ids


@pytest.mark.parametrize(
    ("survey", "line", "message"),
    [
        ("        survey: [1]\n", 14, "'survey' must be a mapping"),
        ("        survey:\n          rating: 5\n", 20, "unknown survey setting 'rating'"),
        ("        survey:\n          anonymous: maybe\n", 20, "'anonymous' must be true or false"),
        ("        survey:\n          min_responses: 2\n", 20, "'min_responses' must be"),
        ("        survey:\n          items: []\n", 20, "'items' must list at least one item"),
        (
            ITEMS_START + "            - likert: Một\n            - rating: Hai\n",
            22,
            "unknown item key 'rating'",
        ),
        (
            ITEMS_START + "            - likert: Một\n              comment: Hai\n",
            21,
            "each item is 'likert: text' or 'comment: text'",
        ),
        (
            ITEMS_START + "            - comment: ''\n",
            21,
            "the comment item needs a text",
        ),
        (
            ITEMS_START + "            - likert: Một\n              required: 1\n",
            21,
            "'required' must be true or false",
        ),
        ("        completion: view\n", 14, "a survey's 'completion' is submitted"),
    ],
)
def test_a_broken_survey_is_refused_naming_the_file_and_line(
    app, tmp_path, world, survey, line, message
):
    folder = _write(tmp_path, survey)
    with pytest.raises(packs.PackError) as refused:
        packs.read_pack(folder)
    assert f"course.yaml:{line}: {message}" in str(refused.value)
