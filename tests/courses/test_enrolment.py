"""Enrolment runs and the progress service: percent, completion, a second run."""

import pytest

from elearn.core.services import ServiceError
from elearn.courses import services as courses
from elearn.courses.models import Course, Enrolment
from elearn.extensions import db
from elearn.progress import services as progress
from elearn.progress.models import ActivityProgress


def test_reading_every_page_completes_the_run(world, make_course, as_user):
    course = make_course(pages=2)
    client = as_user("learner")
    response = client.post(f"/courses/{course.slug}/enrol")
    first, second = courses.sequence(course)
    assert response.headers["Location"].endswith(f"/lessons/{first.id}")
    client.get(response.headers["Location"])
    run = courses.current_run(world.learner, course)
    assert (run.status, run.percent) == ("in_progress", 0.5)
    page = client.get(f"/courses/{course.slug}/lessons/{second.id}").get_data(as_text=True)
    assert "Nội dung bài 2" in page
    db.session.expire_all()
    run = courses.current_run(world.learner, course)
    assert (run.status, run.percent) == ("completed", 1.0)
    assert run.completed_at is not None


def test_lessons_need_an_enrolment(world, make_course, as_user):
    course = make_course()
    activity = courses.sequence(course)[0]
    response = as_user("learner").get(f"/courses/{course.slug}/lessons/{activity.id}")
    assert response.status_code == 302
    assert db.session.scalar(db.select(ActivityProgress)) is None


def test_mark_done_pages_complete_only_when_marked(world, make_course, as_user):
    course = make_course(pages=1)
    activity = courses.sequence(course)[0]
    activity.completion = "mark_done"
    db.session.commit()
    client = as_user("learner")
    client.post(f"/courses/{course.slug}/enrol")
    client.get(f"/courses/{course.slug}/lessons/{activity.id}")
    assert courses.current_run(world.learner, course).percent == 0.0
    client.post(f"/courses/{course.slug}/lessons/{activity.id}/done")
    db.session.expire_all()
    assert courses.current_run(world.learner, course).status == "completed"


def test_optional_pages_do_not_count(world, make_course):
    course = make_course(pages=2)
    first, second = courses.sequence(course)
    second.required = False
    run = courses.enrol(world.learner, course)
    progress.record(run, first, "viewed")
    assert run.status == "completed"


def test_a_second_run_starts_at_zero_and_the_first_stays(world, make_course, as_user):
    course = make_course(pages=1)
    run = courses.enrol(world.learner, course)
    progress.record(run, courses.sequence(course)[0], "viewed")
    db.session.commit()
    with pytest.raises(ServiceError):
        courses.enrol(world.outsider, course) and courses.enrol(world.outsider, course)
    db.session.rollback()
    second = courses.enrol(world.learner, course)
    db.session.commit()
    assert (second.run, second.status, second.percent) == (2, "not_started", 0.0)
    runs = db.session.scalars(
        db.select(Enrolment).where(Enrolment.user_id == world.learner.id).order_by(Enrolment.run)
    ).all()
    assert [(r.run, r.status) for r in runs] == [(1, "completed"), (2, "not_started")]
    page = as_user("learner").get(f"/courses/{course.slug}").get_data(as_text=True)
    assert "Lượt học 1" in page
    assert "Lượt học 2" in page


def test_cannot_enrol_twice_in_a_running_course(world, make_course):
    course = make_course()
    courses.enrol(world.learner, course)
    with pytest.raises(ServiceError):
        courses.enrol(world.learner, course)


def test_progress_of_another_course_is_refused(world, make_course):
    one, other = make_course("mot", "Một"), make_course("hai", "Hai")
    run = courses.enrol(world.learner, one)
    with pytest.raises(ServiceError):
        progress.record(run, courses.sequence(other)[0], "viewed")


def test_self_enrolment_due_date_is_the_end_of_a_local_day(world, make_course):
    course = make_course()
    course.settings.due_days = 30
    run = courses.enrol(world.learner, course)
    assert (run.due_at.hour, run.due_at.minute) == (17, 0)  # 00:00 in Hà Nội


def test_home_page_lists_my_courses_with_progress(world, make_course, as_user):
    course = make_course(pages=2)
    client = as_user("learner")
    client.post(f"/courses/{course.slug}/enrol")
    client.get(f"/courses/{course.slug}/lessons/{courses.sequence(course)[0].id}")
    home = client.get("/").get_data(as_text=True)
    assert course.title in home
    assert 'value="50"' in home


def test_due_day_is_shown_as_the_last_day_not_the_next(world, make_course, as_user):
    from datetime import timedelta

    from elearn.core.clock import to_local, utcnow

    course = make_course()
    course.settings.due_days = 30
    db.session.commit()
    client = as_user("learner")
    client.post(f"/courses/{course.slug}/enrol")
    expected = (to_local(utcnow()) + timedelta(days=30)).strftime("%d/%m/%Y")
    assert f"hết ngày {expected}" in client.get(f"/courses/{course.slug}").get_data(as_text=True)


def test_finishing_the_last_page_congratulates(world, make_course, as_user):
    course = make_course(pages=1)
    client = as_user("learner")
    client.post(f"/courses/{course.slug}/enrol")
    page = client.get(f"/courses/{course.slug}/lessons/{courses.sequence(course)[0].id}")
    assert "Chúc mừng! Bạn đã hoàn thành khóa học." in page.get_data(as_text=True)


def test_archived_modules_do_not_count_and_cannot_be_reached(world, make_course, as_user):
    from elearn.courses.models import Module

    course = make_course(pages=1)
    hidden = courses.add_module(course, "Phần bỏ")
    hidden_page = courses.add_page(hidden, "Bài bỏ", "x")
    hidden.archived = True
    db.session.commit()
    run = courses.enrol(world.learner, course)
    progress.record(run, courses.sequence(course)[0], "viewed")
    assert run.status == "completed"  # the archived module's page is not required
    db.session.commit()
    teacher = as_user("instructor")
    assert teacher.get(f"/courses/{course.slug}/lessons/{hidden_page.id}").status_code == 404
    assert (
        teacher.post(
            f"/teach/{course.id}/modules/{hidden.id}/pages/new",
            data={"title": "Mới", "submit": "1"},
        ).status_code
        == 404
    )
    assert (
        teacher.post(
            f"/teach/{course.id}/modules/{hidden.id}/move", data={"direction": "up"}
        ).status_code
        == 404
    )
    assert db.session.get(Module, hidden.id).archived


def test_publishing_needs_a_page_that_counts(world, make_course):
    course = make_course(pages=1, publish=False)
    courses.sequence(course)[0].required = False
    with pytest.raises(ServiceError):
        courses.set_status(course, world.instructor, True)


def test_two_enrolments_at_once_give_a_message_not_an_error(world, make_course, monkeypatch):
    course = make_course()
    courses.enrol(world.learner, course)
    db.session.commit()
    # The second request read "no run yet" before the first one committed.
    monkeypatch.setattr(courses, "current_run", lambda user, course: None)
    with pytest.raises(ServiceError):
        courses.enrol(world.learner, course)
    db.session.rollback()
    assert len(courses.runs_of(world.learner, course)) == 1


def test_course_staff_alone_may_not_create_courses(world, make_course, make_user, as_user):
    course = make_course()
    make_user(world.team_a1, "Trợ Giảng", "assistant")
    courses.add_staff(course, "assistant")
    db.session.commit()
    client = as_user(None)
    client.post("/login", data={"username": "assistant", "password": "correct-horse-battery"})
    assert client.get(f"/teach/{course.id}").status_code == 200  # edits its own course
    page = client.post(
        "/teach/new", data={"slug": "cua-toi", "title": "Của tôi"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Chỉ giảng viên của đơn vị" in page
    assert db.session.scalar(db.select(Course).where(Course.slug == "cua-toi")) is None
