"""Anonymous surveys: nothing in a response ties it to a person, a run or a moment."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import DateTime, Integer, select, text
from sqlalchemy.exc import OperationalError

from elearn.courses import services as courses
from elearn.extensions import db
from elearn.progress.models import ActivityProgress
from elearn.surveys.models import SurveyAnswer, SurveyResponse
from tests.conftest import PG_URL
from tests.surveys.conftest import answers_for, build, form_of

HEX32 = re.compile(r"^[0-9a-f]{32}$")
#: Columns that may hold a number and what it is (none of them a person or a run).
NUMBERS_ALLOWED = {"activity_id", "course_id", "class_id", "item_id", "value"}


def _answer_over_http(app, built, person, values, comment="Ổn"):
    """Enrol ``person`` and send the survey through the page, as a browser would."""
    run = courses.enrol(person, built.course)
    db.session.commit()
    client = app.test_client()
    client.post("/login", data={"username": person.username, "password": "correct-horse-battery"})
    client.get(f"/courses/{built.course.slug}/lessons/{built.survey.id}")
    response = client.post(
        f"/courses/{built.course.slug}/surveys/{built.survey.id}",
        data=form_of(answers_for(built.items(), values, comment)),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return run


class _Kept(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def survey_log():
    """What the surveys domain logs (the "elearn" logger does not propagate to caplog)."""
    handler = _Kept()
    logger = logging.getLogger("elearn.surveys")
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


@pytest.fixture
def answered(app, world, make_user, survey_log):
    """An anonymous survey answered by the learner and two colleagues through the page."""
    built = build(world.instructor)
    people = [world.learner, make_user(world.team_a1, "Trần Văn Bình", "binh")]
    people.append(make_user(world.team_a1, "Lê Thị Cúc", "cuc"))
    db.session.commit()
    runs = [
        _answer_over_http(app, built, person, values, comment)
        for person, values, comment in zip(
            people,
            ([5, 4, 4, 5, 5], [3, 3, 2, 4, 3], [1, 2, 2, 1, 1]),
            ("Bài giảng hay", "Cần thêm ví dụ", "Video hay bị giật"),
            strict=True,
        )
    ]
    return built, people, runs


def test_an_anonymous_response_holds_no_person_run_or_time(answered, survey_log):
    built, people, runs = answered
    for model in (SurveyResponse, SurveyAnswer):
        table = model.__table__
        rows = db.session.execute(select(table)).mappings().all()
        assert rows
        for row in rows:
            assert HEX32.match(row["id"])
            for column in table.columns:
                value = row[column.name]
                if isinstance(column.type, DateTime):
                    assert value is None, column.name
                if isinstance(column.type, Integer) and column.name not in NUMBERS_ALLOWED:
                    assert value is None, column.name
        assert len({row["id"] for row in rows}) == len(rows)
    assert db.session.scalar(select(SurveyResponse.class_id).limit(1)) is None
    # Only these tables hold what surveys store.
    assert sorted(t for t in db.metadata.tables if t.startswith("survey")) == [
        "survey_answers",
        "survey_items",
        "survey_responses",
        "surveys",
    ]
    # The person's progress says they answered (so they cannot answer twice), nothing more.
    done = db.session.scalars(
        select(ActivityProgress).where(ActivityProgress.activity_id == built.survey.id)
    ).all()
    assert {row.enrolment_id for row in done} == {run.id for run in runs}
    assert {row.status for row in done} == {"completed"}
    # And the log does not say who answered.
    logged = " ".join(survey_log)
    assert "anonymous response" in logged
    for person, run in zip(people, runs, strict=True):
        assert person.username not in logged
        assert f"run {run.id}" not in logged


@pytest.mark.skipif(bool(PG_URL), reason="rowid is SQLite's")
def test_sqlite_keeps_the_responses_without_a_rowid(answered):
    for table in ("survey_responses", "survey_answers"):
        with pytest.raises(OperationalError, match="rowid"):
            db.session.execute(text(f"SELECT rowid FROM {table}"))  # noqa: S608 - fixed names
        db.session.rollback()


def test_the_admins_results_page_shows_figures_and_comments_but_no_names(answered, as_user):
    built, people, _runs = answered
    page = as_user("admin").get(f"/teach/{built.course.id}/surveys/{built.survey.id}/results")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for person in people:
        assert person.full_name not in html
        assert person.username not in html
    assert 'id="named-title"' not in html  # no answers-by-person section
    # 15 answers: 4 or 5 are 5,4,4,5,5 and 4 -> 6 of 15 = 40%.
    assert "<strong>40,0%</strong>" in html
    listed = re.findall(r"<li>(Bài giảng hay|Cần thêm ví dụ|Video hay bị giật)</li>", html)
    by_key = db.session.scalars(
        select(SurveyAnswer.text).where(SurveyAnswer.text.is_not(None)).order_by(SurveyAnswer.id)
    ).all()
    assert listed == by_key  # the random keys' order, not the order they were sent


def test_with_fewer_than_three_responses_no_results_are_shown(app, world, as_user):
    built = build(world.instructor)
    db.session.commit()
    _answer_over_http(app, built, world.learner, [1, 1, 1, 1, 1], "Bí mật của tôi")
    _answer_over_http(app, built, world.outsider, [5, 5, 5, 5, 5], "Ý kiến thứ hai")
    admin = as_user("admin")
    html = admin.get(f"/teach/{built.course.id}/surveys/{built.survey.id}/results").get_data(
        as_text=True
    )
    assert "Bí mật của tôi" not in html
    assert "Ý kiến thứ hai" not in html
    assert "survey-table" not in html
    assert 'class="flash"' in html  # why nothing is shown
    csv = admin.get(f"/teach/{built.course.id}/surveys/{built.survey.id}/results.csv")
    body = csv.get_data(as_text=True)
    assert "Bí mật" not in body
    assert "Số phiếu,2" in body
    assert "từ 3 phiếu" in body


def test_a_named_survey_keeps_and_shows_who_answered_what(app, world, as_user):
    built = build(world.instructor, anonymous=False)
    db.session.commit()
    run = _answer_over_http(app, built, world.learner, [5, 4, 3, 2, 1], "Tên tôi ở đây")
    response = db.session.scalar(select(SurveyResponse))
    assert (response.user_id, response.enrolment_id) == (world.learner.id, run.id)
    assert response.submitted_at is not None
    html = (
        as_user("admin")
        .get(f"/teach/{built.course.id}/surveys/{built.survey.id}/results")
        .get_data(as_text=True)
    )
    assert 'id="named-title"' in html
    assert world.learner.full_name in html
    assert "Tên tôi ở đây" in html


def test_the_learner_is_told_before_answering_what_anonymity_means(app, world, built, as_user):
    courses.enrol(world.learner, built.course)
    db.session.commit()
    html = (
        as_user("learner")
        .get(f"/courses/{built.course.slug}/lessons/{built.survey.id}")
        .get_data(as_text=True)
    )
    notice = html.index('class="survey-privacy"')
    assert notice < html.index('class="survey-form"')
