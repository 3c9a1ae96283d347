"""Building and marking quizzes over HTTP: settings checked field by field, questions
added, moved and removed, overrides for a learner or a unit, grading an essay, regrading,
statistics, the CSV, and 404 for instructors who are not the course's staff.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from elearn.accounts import services as accounts
from elearn.courses.models import Activity
from elearn.extensions import db
from elearn.jobs.models import Job
from elearn.quiz import attempts, authoring, services
from elearn.quiz.models import QuestionCategory, Quiz, QuizOverride, QuizSlot, QuizStatistics
from tests.conftest import login
from tests.quiz.test_results import (
    BANK,
    answer_named,
    correct_truefalse,
    make_quiz,
    progress_of,
    take,
)

VALID = {
    "title": "Kiểm tra cuối khóa",
    "markdown": "Bài kiểm tra 10 câu.",
    "required": "y",
    "completion": "passed",
    "open_at": "2030-01-10T08:00",
    "close_at": "2030-01-20T17:00",
    "time_limit": "30",
    "attempts": "2",
    "grading": "highest",
    "pass_mark": "70",
    "shuffle_answers": "y",
    "per_page": "5",
    "navigation": "free",
    "review_marks": "after",
    "review_correct": "closed",
    "review_feedback": "after",
}


@pytest.fixture
def course(world, make_course):
    accounts.set_locale(world.instructor, "en")  # compare the English messages
    course = make_course()
    services.import_questions(course, BANK.encode(), "gift", world.instructor)
    db.session.commit()
    return course


@pytest.fixture
def q(course):
    return {item.name: item for item in services.questions_of(course)}


def quiz_url(activity, tail=""):
    return f"/teach/{activity.course_id}/quizzes/{activity.id}{tail}"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_creating_a_quiz_stores_its_settings_in_utc(as_user, course):
    teacher = as_user("instructor")
    module = course.modules[0]
    new = f"/teach/{course.id}/modules/{module.id}/quizzes/new"
    assert teacher.get(new).status_code == 200
    response = teacher.post(new, data=VALID)
    assert response.status_code == 302
    activity = db.session.scalar(select(Activity).where(Activity.type == "quiz"))
    assert response.headers["Location"].endswith(quiz_url(activity))
    quiz = db.session.get(Quiz, activity.id)
    assert quiz.open_at == datetime(2030, 1, 10, 1, 0)  # 08:00 in Hà Nội
    assert (quiz.time_limit, quiz.attempts, quiz.pass_mark) == (1800, 2, pytest.approx(0.7))
    assert (quiz.review_correct, quiz.shuffle_questions) == ("closed", False)
    page = teacher.get(quiz_url(activity)).get_data(as_text=True)
    assert 'value="2030-01-10T08:00"' in page  # shown in local time again
    edit = teacher.get(f"/teach/{course.id}").get_data(as_text=True)
    assert quiz_url(activity) in edit
    assert f"/teach/{course.id}/modules/{module.id}/quizzes/new" in edit


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"close_at": "2030-01-09T08:00"}, "The quiz must close after it opens."),
        ({"pass_mark": ""}, "Set a pass mark, or let the quiz complete"),
        ({"time_limit": "600"}, "Enter a number from 1 to 480."),
        ({"open_at": "mai"}, "Enter a date and a time."),
        ({"title": ""}, "This field is required."),
    ],
)
def test_bad_settings_give_the_fields_message_and_save_nothing(as_user, course, change, message):
    teacher = as_user("instructor")
    response = teacher.post(
        f"/teach/{course.id}/modules/{course.modules[0].id}/quizzes/new",
        data={**VALID, **change},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert 'aria-invalid="true"' in html
    assert count(Quiz) == 0
    assert db.session.scalar(select(Activity).where(Activity.type == "quiz")) is None


def test_settings_can_switch_completion_and_pass_mark_together(as_user, course):
    activity = make_quiz(course, [])
    teacher = as_user("instructor")
    response = teacher.post(
        quiz_url(activity), data={**VALID, "completion": "attempted", "pass_mark": ""}
    )
    assert response.status_code == 302
    assert db.session.get(Quiz, activity.id).pass_mark is None
    back = teacher.post(quiz_url(activity), data={**VALID, "pass_mark": "80"})
    assert back.status_code == 302
    assert db.session.get(Activity, activity.id).completion == "passed"
    assert db.session.get(Quiz, activity.id).pass_mark == pytest.approx(0.8)
    refused = teacher.post(quiz_url(activity), data={**VALID, "close_at": "2029-01-01T00:00"})
    assert refused.status_code == 400
    assert "The quiz must close after it opens." in refused.get_data(as_text=True)


def test_questions_are_added_moved_and_removed(as_user, course, q):
    activity = make_quiz(course, [])
    teacher = as_user("instructor")
    page = teacher.get(quiz_url(activity)).get_data(as_text=True)
    assert "Cấp độ" in page
    assert "add-q-" in page
    added = teacher.post(
        quiz_url(activity, "/slots/add"),
        data={"add-questions": [q["Cấp độ"].id, q["Dữ liệu"].id], "add-mark": "2"},
    )
    assert added.status_code == 302
    category = db.session.get(QuestionCategory, q["Viết tắt"].category_id)
    random = teacher.post(
        quiz_url(activity, "/slots/random"),
        data={"random-category": category.id, "random-count": "2", "random-mark": "1,5"},
    )
    assert random.status_code == 302
    quiz = db.session.get(Quiz, activity.id)
    slots = authoring.slots_of(quiz)
    assert [(s.question_id, s.mark) for s in slots[:2]] == [
        (q["Cấp độ"].id, 2.0),
        (q["Dữ liệu"].id, 2.0),
    ]
    assert (slots[2].category_id, slots[2].count, slots[2].mark) == (category.id, 2, 1.5)

    first, second, draw = (s.id for s in slots)
    assert (
        teacher.post(quiz_url(activity, f"/slots/{draw}/move"), data={"direction": "up"})
    ).status_code == 302
    assert [s.id for s in authoring.slots_of(quiz)] == [first, draw, second]
    teacher.post(quiz_url(activity, f"/slots/{first}/mark"), data={"mark": "3"})
    assert db.session.get(QuizSlot, first).mark == 3.0
    assert teacher.post(quiz_url(activity, f"/slots/{draw}/remove")).status_code == 302
    assert [s.id for s in authoring.slots_of(quiz)] == [first, second]
    html = teacher.get(quiz_url(activity)).get_data(as_text=True)
    assert "2 random questions from" not in html


def test_adding_nothing_or_too_many_random_questions_is_explained(as_user, course, q):
    activity = make_quiz(course, [])
    teacher = as_user("instructor")
    none = teacher.post(quiz_url(activity, "/slots/add"), data={"add-mark": "1"})
    assert none.status_code == 400
    assert "Tick at least one question." in none.get_data(as_text=True)
    category = q["Cấp độ"].category_id
    many = teacher.post(
        quiz_url(activity, "/slots/random"),
        data={"random-category": category, "random-count": "50", "random-mark": "1"},
    )
    assert many.status_code == 400
    assert "draw from 1 to 5" in many.get_data(as_text=True)
    assert count(QuizSlot) == 0


def test_overrides_for_a_learner_and_a_unit(as_user, world, course):
    activity = make_quiz(course, [])
    teacher = as_user("instructor")
    url = quiz_url(activity, "/overrides/add")
    by_user = teacher.post(
        url,
        data={
            "override-username": "learner",
            "override-extra_minutes": "15",
            "override-extra_attempts": "0",
            "override-reason": "Giấy khám bệnh",
        },
    )
    assert by_user.status_code == 302
    by_unit = teacher.post(
        url,
        data={
            "override-unit_code": "BO.B",
            "override-extra_minutes": "0",
            "override-extra_attempts": "1",
            "override-close_at": "2030-02-01T17:00",
        },
    )
    assert by_unit.status_code == 302
    rows = {(o.user_id, o.unit_id): o for o in db.session.scalars(select(QuizOverride))}
    assert rows[(world.learner.id, None)].extra_minutes == 15
    unit = rows[(None, world.dept_b.id)]
    assert (unit.extra_attempts, unit.close_at) == (1, datetime(2030, 2, 1, 10, 0))
    page = teacher.get(quiz_url(activity)).get_data(as_text=True)
    assert "Giấy khám bệnh" in page
    assert "Vụ B" in page

    none = {"override-extra_minutes": "0", "override-extra_attempts": "0"}
    both = teacher.post(
        url, data={**none, "override-username": "learner", "override-unit_code": "BO.B"}
    )
    assert "Give either a username or a unit code." in both.get_data(as_text=True)
    unknown = teacher.post(
        url, data={**none, "override-username": "ai-do", "override-extra_minutes": "5"}
    )
    assert unknown.status_code == 400
    assert "No account has this username." in unknown.get_data(as_text=True)
    nothing = teacher.post(url, data={**none, "override-username": "learner"})
    assert "Give extra time, extra attempts or a later close date." in nothing.get_data(
        as_text=True
    )
    assert count(QuizOverride) == 2

    removed = teacher.post(quiz_url(activity, f"/overrides/{unit.id}/remove"))
    assert removed.status_code == 302
    assert count(QuizOverride) == 1


def test_other_instructors_and_learners_get_404_or_403(app, as_user, world, course, make_user):
    activity = make_quiz(course, [])
    slot = authoring.add_questions(
        db.session.get(Quiz, activity.id), services.questions_of(course)[:1]
    )[0]
    make_user(world.ministry, "Giảng Viên Khác", "gv.khac", roles=[("instructor", world.ministry)])
    db.session.commit()
    other = app.test_client()
    login(other, "gv.khac")
    for url in [
        quiz_url(activity),
        quiz_url(activity, "/results"),
        quiz_url(activity, "/results.csv"),
        quiz_url(activity, "/statistics"),
        f"/teach/{course.id}/modules/{course.modules[0].id}/quizzes/new",
    ]:
        assert other.get(url).status_code == 404, url
    assert other.post(quiz_url(activity, f"/slots/{slot.id}/remove")).status_code == 404
    assert other.post(quiz_url(activity, "/regrade")).status_code == 404
    assert count(QuizSlot) == 1
    assert as_user("learner").get(quiz_url(activity)).status_code == 403
    # A page lesson is not a quiz.
    page = course.modules[0].activities[0]
    assert as_user("instructor").get(quiz_url(page)).status_code == 404


def test_grading_an_essay_over_http_updates_grade_and_progress(as_user, world, course, q):
    activity = make_quiz(course, [q["Dữ liệu"], q["Tự luận"]], pass_mark=0.75)
    attempt = take(activity, world.learner, {"Dữ liệu": "true", "Tự luận": "Cổng dịch vụ công"})
    essay = answer_named(attempt, "Tự luận")
    teacher = as_user("instructor")
    url = quiz_url(activity, f"/attempts/{attempt.id}")
    page = teacher.get(url).get_data(as_text=True)
    assert "Cổng dịch vụ công" in page
    assert "needs grading" in page
    too_many = teacher.post(url, data={"slot": essay.slot, f"s{essay.slot}-marks": "2"})
    assert too_many.status_code == 400
    assert "Give from 0 to 1 marks." in too_many.get_data(as_text=True)
    done = teacher.post(
        url,
        data={"slot": essay.slot, f"s{essay.slot}-marks": "0,5", f"s{essay.slot}-comment": "Tốt"},
    )
    assert done.status_code == 302
    db.session.refresh(attempt)
    assert attempt.grade == pytest.approx(0.75)
    row = progress_of(activity, world.learner)
    assert (row.grade, row.status) == (pytest.approx(0.75), "completed")
    results_page = teacher.get(quiz_url(activity, "/results")).get_data(as_text=True)
    assert "Nguyễn Thị Ánh" in results_page
    assert "75" in results_page
    assert teacher.post(url, data={"slot": "99"}).status_code == 404


def test_regrade_over_http_runs_the_job_and_changes_grades(as_user, world, course, q):
    activity = make_quiz(course, [q["Dữ liệu"]])
    attempt = take(activity, world.learner, {"Dữ liệu": "false"})
    assert attempt.grade == 0.0
    correct_truefalse(q["Dữ liệu"], False)
    teacher = as_user("instructor")
    response = teacher.post(quiz_url(activity, "/regrade"))
    assert response.status_code == 302
    job = db.session.scalar(select(Job).where(Job.kind == "quiz.regrade"))
    assert (job.state, job.target_id) == ("done", activity.id)
    db.session.refresh(attempt)
    assert attempt.grade == 1.0
    assert progress_of(activity, world.learner).status == "completed"
    page = teacher.get(quiz_url(activity, "/results")).get_data(as_text=True)
    assert f"/jobs/{job.id}" in page


def test_statistics_are_computed_by_a_job_and_shown(as_user, world, course, q, make_user):
    activity = make_quiz(course, [q["Cấp độ"], q["Dữ liệu"]])
    teacher = as_user("instructor")
    assert "have not been computed" in teacher.get(quiz_url(activity, "/statistics")).get_data(
        as_text=True
    )
    take(activity, world.learner, {"Cấp độ": "0", "Dữ liệu": "true"})
    take(activity, make_user(world.team_a1), {"Cấp độ": "1", "Dữ liệu": "true"})
    assert teacher.post(quiz_url(activity, "/statistics")).status_code == 302
    assert db.session.get(QuizStatistics, activity.id).attempts == 2
    html = teacher.get(quiz_url(activity, "/statistics")).get_data(as_text=True)
    assert "Chuyển đổi số" in html
    assert "Số hóa thông tin" in html
    assert "Facility index" in html
    assert '<th scope="row">' in html


def test_the_csv_download(as_user, world, course, q):
    activity = make_quiz(course, [q["Dữ liệu"]])
    take(activity, world.learner, {"Dữ liệu": "true"})
    response = as_user("instructor").get(quiz_url(activity, "/results.csv"))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8")
    assert "Họ và tên" in text
    assert "Nguyễn Thị Ánh" in text
    assert "100,0" in text


def test_an_attempt_belongs_to_its_quiz(as_user, world, course, q):
    first = make_quiz(course, [q["Dữ liệu"]])
    second = make_quiz(course, [q["Cấp độ"]])
    attempt = take(first, world.learner, {"Dữ liệu": "true"})
    teacher = as_user("instructor")
    assert teacher.get(quiz_url(first, f"/attempts/{attempt.id}")).status_code == 200
    assert teacher.get(quiz_url(second, f"/attempts/{attempt.id}")).status_code == 404
    assert attempts.quiz_of(first)
