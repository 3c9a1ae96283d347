"""Surveys as services: completion, one response per run, checks, locking, the figures."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from elearn.core.services import ServiceError
from elearn.courses import services as courses
from elearn.extensions import db
from elearn.progress import services as progress
from elearn.reports import classes as training
from elearn.surveys import services as surveys
from elearn.surveys.data import NO_RESPONSES, TOO_FEW
from elearn.surveys.models import SurveyAnswer, SurveyResponse
from tests.surveys.conftest import answers_for, build

#: Two Likert items (the second optional) and an optional comment.
ITEMS = [
    ("likert", "Nội dung khóa học", True),
    ("likert", "Nền tảng học trực tuyến", False),
    ("comment", "Ý kiến khác", False),
]


def _responses(activity) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(SurveyResponse)
        .where(SurveyResponse.activity_id == activity.id)
    )


def _respond(built, make_user, unit, values, comment="Tốt"):
    person = make_user(unit)
    run = courses.enrol(person, built.course)
    surveys.submit(run, built.survey, answers_for(built.items(), values, comment))
    return run


# --- completion ------------------------------------------------------------------------------


def test_sending_the_last_required_activity_completes_the_survey_and_the_course(world, built):
    run = courses.enrol(world.learner, built.course)
    progress.record(run, built.page, "viewed")
    progress.record(run, built.survey, "viewed")
    progress.record(run, built.survey, "done")  # only sending completes a survey
    assert progress.states(run)[built.survey.id] == "in_progress"
    assert (run.status, run.percent) == ("in_progress", 0.5)
    surveys.submit(run, built.survey, answers_for(built.items(), [5, 4, 4, 5, 5]))
    assert progress.states(run)[built.survey.id] == "completed"
    assert (run.status, run.percent) == ("completed", 1.0)
    assert surveys.submitted(run, built.survey)


def test_a_run_answers_once_and_a_refresher_run_answers_again(world, built):
    run = courses.enrol(world.learner, built.course)
    progress.record(run, built.page, "viewed")
    answers = answers_for(built.items(), [5, 4, 4, 5, 5])
    surveys.submit(run, built.survey, answers)
    with pytest.raises(surveys.AlreadySubmitted):
        surveys.submit(run, built.survey, answers)
    assert _responses(built.survey) == 1
    refresher = courses.enrol(world.learner, built.course)  # the first run is completed
    assert refresher.run == 2
    surveys.submit(refresher, built.survey, answers)
    assert _responses(built.survey) == 2


def test_a_survey_of_another_course_is_refused(world, built):
    other = build(world.instructor, "khoa-khac")
    run = courses.enrol(world.learner, other.course)
    with pytest.raises(ServiceError):
        surveys.submit(run, built.survey, {})


# --- checking answers ------------------------------------------------------------------------


def test_missing_required_answers_are_named_and_nothing_is_stored(world):
    built = build(world.instructor, items=ITEMS)
    run = courses.enrol(world.learner, built.course)
    likert, optional, comment = built.items()
    with pytest.raises(surveys.AnswersInvalid) as refused:
        surveys.submit(run, built.survey, {optional.id: "3"})
    assert set(refused.value.errors) == {likert.id}
    assert _responses(built.survey) == 0
    assert not surveys.submitted(run, built.survey)
    surveys.submit(run, built.survey, {likert.id: "4", comment.id: "  "})  # optional ones empty
    stored = db.session.scalars(select(SurveyAnswer)).all()
    assert [(a.item_id, a.value, a.text) for a in stored] == [(likert.id, 4, None)]


@pytest.mark.parametrize("value", ["0", "6", "abc", "4.5", "-1", "1e0", "\uff14", "3 4"])
def test_a_value_off_the_scale_is_refused(world, value):
    built = build(world.instructor, items=ITEMS)
    run = courses.enrol(world.learner, built.course)
    likert, optional, _comment = built.items()
    with pytest.raises(surveys.AnswersInvalid) as refused:
        surveys.submit(run, built.survey, {likert.id: "3", optional.id: value})
    assert set(refused.value.errors) == {optional.id}
    assert _responses(built.survey) == 0


def test_answers_to_items_the_survey_does_not_have_are_refused(world, built):
    other = build(world.instructor, "khoa-khac")
    run = courses.enrol(world.learner, built.course)
    answers = answers_for(built.items(), [5, 5, 5, 5, 5])
    answers[other.items()[0].id] = "1"  # an item of another survey
    with pytest.raises(surveys.AnswersInvalid) as refused:
        surveys.submit(run, built.survey, answers)
    assert None in refused.value.errors
    assert _responses(built.survey) == 0


def test_comments_are_kept_as_plain_text_up_to_2000_characters(world):
    built = build(world.instructor, items=ITEMS)
    likert, _optional, comment = built.items()
    run = courses.enrol(world.learner, built.course)
    with pytest.raises(surveys.AnswersInvalid) as refused:
        surveys.submit(run, built.survey, {likert.id: "4", comment.id: "x" * 2001})
    assert set(refused.value.errors) == {comment.id}
    # A browser sends line ends as CRLF: each counts as one character, as maxlength does.
    text = ("a" * 99 + "\r\n") * 19 + "a" * 97 + "\x00<b>"  # 2,000 once cleaned
    surveys.submit(run, built.survey, {likert.id: "4", comment.id: text})
    kept = db.session.scalar(select(SurveyAnswer.text).where(SurveyAnswer.item_id == comment.id))
    assert "\r" not in kept
    assert "\x00" not in kept
    assert len(kept) == 2000
    assert kept.endswith("<b>")  # markup is text, escaped wherever it is shown


# --- building and locking --------------------------------------------------------------------


def test_a_new_survey_has_the_standard_satisfaction_items(world, built):
    items = built.items()
    assert [i.kind for i in items] == ["likert"] * 5 + ["comment"]
    assert [i.required for i in items] == [True] * 5 + [False]
    assert built.survey.completion == "submitted"
    assert built.survey.type == "survey"


def test_items_can_be_edited_until_someone_answers_then_only_their_text(world, built):
    survey = surveys.survey_of(built.survey)
    first, second, *_rest = built.items()
    surveys.move_item(survey, second, -1)
    surveys.update_item(survey, first, "Sửa câu hỏi", False)
    added = surveys.add_item(survey, "likert", "Câu mới", True)
    surveys.remove_item(survey, added)
    assert [i.id for i in built.items()][:2] == [second.id, first.id]
    surveys.update_survey(
        built.survey, "Phiếu", "", required=True, anonymous=False, min_responses_shown=3
    )
    run = courses.enrol(world.learner, built.course)
    surveys.submit(run, built.survey, answers_for(built.items(), [5, 5, 5, 5, 5]))
    for change in (
        lambda: surveys.add_item(survey, "likert", "Câu mới", True),
        lambda: surveys.remove_item(survey, first),
        lambda: surveys.move_item(survey, first, 1),
        lambda: surveys.update_item(survey, first, "Sửa câu hỏi", True),
        lambda: surveys.update_survey(
            built.survey, "Phiếu", "", required=True, anonymous=True, min_responses_shown=3
        ),
    ):
        with pytest.raises(ServiceError):
            change()
    surveys.update_item(survey, first, "Sửa lỗi chính tả", False)  # texts may be corrected
    surveys.update_survey(
        built.survey,
        "Phiếu sửa",
        "Giới thiệu",
        required=False,
        anonymous=False,
        min_responses_shown=5,
    )
    assert (first.text, survey.min_responses_shown) == ("Sửa lỗi chính tả", 5)


def test_a_survey_keeps_one_item_and_shows_results_from_three_responses(world, built):
    survey = surveys.survey_of(built.survey)
    with pytest.raises(ServiceError):
        surveys.update_survey(
            built.survey, "Phiếu", "", required=True, anonymous=True, min_responses_shown=2
        )
    items = built.items()
    for item in items[1:]:
        surveys.remove_item(survey, item)
    with pytest.raises(ServiceError):
        surveys.remove_item(survey, items[0])
    with pytest.raises(ServiceError):
        surveys.add_item(survey, "rating", "?", True)
    with pytest.raises(ServiceError):
        surveys.add_item(survey, "likert", "   ", True)


def test_the_database_refuses_a_value_off_the_scale(world, built):
    run = courses.enrol(world.learner, built.course)
    response = surveys.submit(run, built.survey, answers_for(built.items(), [5, 5, 5, 5, 5]))
    db.session.add(SurveyAnswer(response_id=response.id, item_id=built.items()[0].id, value=6))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


# --- figures ---------------------------------------------------------------------------------


def test_index_mean_and_distribution_match_hand_computed_numbers(world, make_user):
    built = build(world.instructor, items=ITEMS)
    for values in ([5, 4], [4, 2], [3, 5], [1]):  # the last leaves the optional item
        _respond(built, make_user, world.team_a1, values)
    result = surveys.satisfaction(activity_id=built.survey.id)
    assert (result.responses, result.likert_answers, result.reason) == (4, 7, "")
    # 4 of 7 answers are 4 or 5; the answers sum to 24.
    assert result.index == pytest.approx(100 * 4 / 7)
    assert result.mean == pytest.approx(24 / 7)
    first, second = result.items
    assert (first.counts, first.answers) == ((1, 0, 1, 1, 1), 4)
    assert (first.mean, first.index) == (pytest.approx(13 / 4), pytest.approx(50.0))
    assert first.percent(5) == pytest.approx(25.0)
    assert (second.counts, second.answers) == ((0, 1, 0, 1, 1), 3)
    assert (second.mean, second.index) == (pytest.approx(11 / 3), pytest.approx(200 / 3))


def test_figures_are_withheld_below_the_threshold(world, make_user):
    built = build(world.instructor, items=ITEMS)
    assert surveys.satisfaction(activity_id=built.survey.id).reason == NO_RESPONSES
    for values in ([5, 4], [4, 2]):
        _respond(built, make_user, world.team_a1, values)
    result = surveys.satisfaction(activity_id=built.survey.id)
    assert (result.responses, result.index, result.mean, result.items) == (2, None, None, ())
    assert (result.reason, result.threshold, result.shown) == (TOO_FEW, 3, False)
    assert "3" in surveys.reason_text(result)
    _respond(built, make_user, world.team_a1, [3, 3])
    assert surveys.satisfaction(activity_id=built.survey.id).shown
    survey = surveys.survey_of(built.survey)
    surveys.update_survey(
        built.survey, "Phiếu", "", required=True, anonymous=True, min_responses_shown=4
    )
    assert survey.min_responses_shown == 4
    assert surveys.satisfaction(activity_id=built.survey.id).reason == TOO_FEW
    with pytest.raises(ValueError, match="survey"):
        surveys.satisfaction()


def _training_class(world, course, code: str) -> int:
    """A training class for the responses to point at (nobody enrolled through it)."""
    today = date.today()
    created = training.create_class(
        world.admin,
        code=code,
        name=f"Lớp {code}",
        description="",
        organiser_unit=world.dept_a,
        opens_on=today,
        closes_on=today + timedelta(days=7),
        course_ids=[course.id],
        unit_ids=[world.dept_b.id],
        user_ids=[],
    )
    return created.id


def test_a_course_index_covers_its_surveys_and_a_class_index_its_runs(
    world, make_user, monkeypatch
):
    built = build(world.instructor, items=ITEMS)
    second = surveys.add_survey(
        courses.add_module(built.course, "Phần 2"),
        "Khảo sát giữa khóa",
        items=[("likert", "Tiến độ", True)],
    )
    db.session.flush()
    seven_id, eight_id = (_training_class(world, built.course, code) for code in ("L7", "L8"))
    classes: dict[int, int] = {}
    monkeypatch.setattr(
        surveys, "CLASS_OF_RUN", [lambda _run: None, lambda run: classes.get(run.user_id)]
    )
    plan = [  # (class, answers to the first survey, answer to the second)
        (seven_id, [5, 5], 4),
        (seven_id, [4, 1], 2),
        (seven_id, [2, 3], 5),
        (eight_id, [1, 1], 1),
        (eight_id, [5, 4], 5),
        (None, [3, 3], 3),
    ]
    for class_id, first_values, second_value in plan:
        person = make_user(world.team_a1)
        if class_id:
            classes[person.id] = class_id
        run = courses.enrol(person, built.course)
        surveys.submit(run, built.survey, answers_for(built.items(), first_values))
        surveys.submit(
            run, second, answers_for(surveys.items_of(surveys.survey_of(second)), [second_value])
        )
    stored = db.session.scalars(select(SurveyResponse.class_id)).all()
    assert sorted(stored, key=str) == sorted([seven_id] * 6 + [eight_id] * 4 + [None] * 2, key=str)
    course = surveys.satisfaction(course_id=built.course.id)
    # 18 answers; 4 or 5: 5,5,4 | 4 | 5 | - | 5,4,5 | -  -> 8
    assert (course.responses, course.likert_answers) == (12, 18)
    assert course.index == pytest.approx(800 / 18)
    assert course.mean == pytest.approx(57 / 18)
    assert [r.text for r in course.items] == [
        "Nội dung khóa học",
        "Nền tảng học trực tuyến",
        "Tiến độ",
    ]
    seven = surveys.satisfaction(class_id=seven_id)
    # class 7: 5,5,4, 4,1,2, 2,3,5 -> 9 answers, 5 of them 4 or 5, sum 31
    assert (seven.responses, seven.likert_answers) == (6, 9)
    assert seven.index == pytest.approx(500 / 9)
    assert seven.mean == pytest.approx(31 / 9)
    one_survey = surveys.satisfaction(activity_id=second.id, class_id=eight_id)
    assert (one_survey.responses, one_survey.reason) == (2, TOO_FEW)
    assert surveys.satisfaction(course_id=built.course.id, class_id=eight_id).responses == 4


def test_without_a_class_hook_responses_have_no_class(world, built):
    run = courses.enrol(world.learner, built.course)
    surveys.submit(run, built.survey, answers_for(built.items(), [5, 5, 5, 5, 5]))
    assert db.session.scalar(select(SurveyResponse.class_id)) is None
