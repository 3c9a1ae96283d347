"""Completion: each rule, the course, recomputing after a rule change, admin reset and
override, time spent, and two requests completing the same lesson at once.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from elearn import tasks
from elearn.core.models import AuditLog
from elearn.core.services import ServiceError
from elearn.courses import services as courses
from elearn.courses.models import Activity, Enrolment
from elearn.extensions import db
from elearn.jobs import services as jobs
from elearn.jobs.models import Job
from elearn.media import services as media
from elearn.progress import record as chain
from elearn.progress import services as progress
from elearn.progress.models import ActivityProgress, ProgressChain, ProgressEvent
from elearn.quiz import attempts
from tests.conftest import together
from tests.progress.conftest import (
    build_course,
    certificates_of,
    events_of,
    row_of,
    set_min_grade,
    set_rule,
)

ROUNDS = 5


@pytest.fixture
def lessons(world):
    built = build_course(world.instructor, "chu-ky-so")
    db.session.commit()
    return built


def _lecture(course, *, threshold: float = 0.9, duration: float = 100.0) -> Activity:
    """Add a ready video lesson (no file needed) to the course's first module."""
    module = courses.outline(course)[0][0]
    activity = media.add_video(module, "Bài giảng", "", threshold=threshold)
    video = media.video_of(activity)
    video.version = video.ready_version = 1
    video.state, video.kind, video.duration = "ready", "video", duration
    db.session.flush()
    return activity


def _watch(run, activity, *intervals, duration: float = 100.0, threshold: float = 0.9):
    return progress.record_watch(
        run,
        activity,
        [tuple(i) for i in intervals],
        intervals[-1][1],
        duration=duration,
        threshold=threshold,
    )


def _attempt(quiz: Activity, user, run, right: int):
    """Finish a real attempt at the two-question quiz with ``right`` answers right."""
    attempt = attempts.start(quiz, user, run)
    answers = {}
    for n, row in enumerate(attempts.answers_of(attempt)):
        correct = {"Một": "true", "Hai": "false"}[attempts.question_of(row).name]
        value = correct if n < right else {"true": "false", "false": "true"}[correct]
        answers[row.slot] = (1, [(f"q{row.slot}", value)])
    attempts.save(attempt, answers)
    assert attempts.finish(attempt) is True
    return attempt


def _reload(run: Enrolment) -> Enrolment:
    db.session.flush()  # expiring would drop unflushed changes
    db.session.expire_all()
    return db.session.get(Enrolment, run.id)


# --- each rule -------------------------------------------------------------------------------


def test_a_view_page_completes_on_viewing_and_a_mark_done_page_only_when_done(world, lessons):
    run = courses.enrol(world.learner, lessons.course)
    viewed = progress.record(run, lessons.view_page, "viewed")
    assert (viewed.status, viewed.percent) == ("completed", 1.0)
    assert viewed.completed_at is not None
    opened = progress.record(run, lessons.done_page, "viewed")
    assert (opened.status, opened.completed_at) == ("in_progress", None)
    assert events_of(run, "activity.completed", lessons.done_page) == []
    assert run.percent == pytest.approx(1 / 3)  # of view, done and quiz; not the optional page
    done = progress.record(run, lessons.done_page, "done")
    db.session.commit()
    assert done.status == "completed"
    assert run.percent == pytest.approx(2 / 3)
    assert len(events_of(run, "activity.completed", lessons.done_page)) == 1
    assert [e.kind for e in events_of(run)] == [
        "run.started",
        "activity.completed",
        "activity.completed",
    ]
    with pytest.raises(ValueError, match="clicked"):
        progress.record(run, lessons.done_page, "clicked")


def test_marking_a_quiz_or_a_video_done_does_not_complete_it(world, lessons, as_user):
    lecture = _lecture(lessons.course)
    db.session.commit()
    client = as_user("learner")
    client.post(f"/courses/{lessons.course.slug}/enrol")
    for activity in (lessons.quiz, lecture, lessons.done_page):
        client.post(f"/courses/{lessons.course.slug}/lessons/{activity.id}/done")
    run = courses.current_run(world.learner, lessons.course)
    assert row_of(run, lessons.quiz).status == "in_progress"
    assert row_of(run, lecture).status == "in_progress"
    assert row_of(run, lessons.done_page).status == "completed"
    assert {e.activity_id for e in events_of(run, "activity.completed")} == {lessons.done_page.id}


def test_optional_activities_do_not_count_toward_percent_or_completion(world, lessons):
    run = courses.enrol(world.learner, lessons.course)
    progress.record(run, lessons.optional_page, "viewed")
    assert row_of(run, lessons.optional_page).status == "completed"
    assert (run.status, run.percent) == ("in_progress", 0.0)
    progress.record(run, lessons.view_page, "viewed")
    progress.record(run, lessons.done_page, "done")
    assert run.percent == pytest.approx(2 / 3)
    set_rule(lessons.quiz, required=False)  # now only the two pages count
    db.session.commit()
    run = _reload(run)
    assert (run.status, run.percent) == ("completed", 1.0)


def test_a_video_completes_when_the_unique_seconds_reach_its_threshold(world, lessons, clock):
    lecture = _lecture(lessons.course, threshold=0.9)
    run = courses.enrol(world.learner, lessons.course)
    progress.record(run, lecture, "viewed")  # opening a video does not complete it
    db.session.commit()
    assert row_of(run, lecture).status == "in_progress"
    clock.advance(5)
    with pytest.raises(progress.WatchRefused):  # 60 s of viewing cannot happen in 5 s
        _watch(run, lecture, (0, 60))
    db.session.rollback()
    run = _reload(run)
    assert row_of(run, lecture).watched == ""
    clock.advance(30)
    row = _watch(run, lecture, (0, 50))
    clock.advance(25)
    row = _watch(run, lecture, (40, 60), (95, 100))  # a replay and a seek to the end
    assert (row.status, row.percent) == ("in_progress", pytest.approx(0.65))
    clock.advance(20)
    row = _watch(run, lecture, (60, 84.5))
    assert row.status == "in_progress"  # 89.5 s of 100: just under 90%
    clock.advance(5)
    row = _watch(run, lecture, (84, 85))
    db.session.commit()
    assert (row.status, row.percent) == ("completed", 1.0)
    assert len(events_of(run, "activity.completed", lecture)) == 1


def test_a_quiz_completes_when_passed_or_when_attempted_by_its_rule(world, lessons):
    run = courses.enrol(world.learner, lessons.course)
    progress.record_quiz(run, lessons.quiz, 0.4, passed=False, attempted=True)
    row = row_of(run, lessons.quiz)
    assert (row.status, row.grade, run.grade) == ("in_progress", 0.4, 0.4)
    graded = events_of(run, "activity.graded", lessons.quiz)
    assert [chain.loads(e.new_value) for e in graded] == [{"grade": 0.4, "passed": False}]
    progress.record_quiz(run, lessons.quiz, 0.8, passed=True, attempted=True)
    assert (row.status, row.grade) == ("completed", 0.8)
    assert len(events_of(run, "activity.graded", lessons.quiz)) == 2
    # The same grade again is no new event; a lower one keeps the quiz complete.
    progress.record_quiz(run, lessons.quiz, 0.8, passed=True, attempted=True)
    progress.record_quiz(run, lessons.quiz, 0.5, passed=False, attempted=True)
    assert (row.status, row.grade, run.grade) == ("completed", 0.5, 0.5)
    assert len(events_of(run, "activity.graded", lessons.quiz)) == 3
    assert len(events_of(run, "activity.completed", lessons.quiz)) == 1
    with pytest.raises(ServiceError):
        progress.record_quiz(run, lessons.view_page, 1.0, passed=True, attempted=True)

    other = build_course(world.instructor, "chu-ky-so-2")
    set_rule(other.quiz, completion="attempted")
    db.session.commit()
    second = courses.enrol(world.learner, other.course)
    progress.record_quiz(second, other.quiz, 0.1, passed=False, attempted=True)
    assert row_of(second, other.quiz).status == "completed"


def test_real_attempts_complete_the_quiz_once_its_grade_passes(world, lessons):
    run = courses.enrol(world.learner, lessons.course)
    db.session.commit()
    _attempt(lessons.quiz, world.learner, run, right=1)
    db.session.commit()
    row = row_of(run, lessons.quiz)
    assert (row.status, row.grade) == ("in_progress", 0.5)  # under the pass mark of 0.6
    _attempt(lessons.quiz, world.learner, run, right=2)
    db.session.commit()
    db.session.refresh(row)
    assert (row.status, row.grade) == ("completed", 1.0)  # grading method: highest
    assert _reload(run).grade == 1.0


def test_an_optional_quiz_grade_does_not_count_in_the_course_grade(world, lessons):
    set_rule(lessons.quiz, required=False)
    db.session.commit()
    run = courses.enrol(world.learner, lessons.course)
    progress.record_quiz(run, lessons.quiz, 0.3, passed=False, attempted=True)
    assert row_of(run, lessons.quiz).grade == 0.3
    assert run.grade is None


# --- the course ------------------------------------------------------------------------------


def test_completing_every_required_activity_completes_the_run_with_one_certificate(world, lessons):
    run = courses.enrol(world.learner, lessons.course)
    progress.record(run, lessons.view_page, "viewed")
    progress.record(run, lessons.done_page, "done")
    assert run.status == "in_progress"
    assert certificates_of(run) == []
    progress.record_quiz(run, lessons.quiz, 0.9, passed=True, attempted=True)
    db.session.commit()
    run = _reload(run)
    assert (run.status, run.percent, run.grade) == ("completed", 1.0, 0.9)
    assert run.completed_at is not None
    # Later steps leave the completion as it is: one event, one certificate.
    progress.record(run, lessons.view_page, "viewed")
    progress.record(run, lessons.optional_page, "viewed")
    progress.record_quiz(run, lessons.quiz, 1.0, passed=True, attempted=True)
    db.session.commit()
    completed = events_of(run, "run.completed")
    assert len(completed) == 1
    assert chain.loads(completed[0].new_value)["completed_at"] == chain.stamp(run.completed_at)
    (certificate,) = certificates_of(run, status=None)
    assert certificate.status == "valid"
    assert (certificate.full_name, certificate.course_title) == ("Nguyễn Thị Ánh", "Chữ ký số")
    assert certificate.completed_at == run.completed_at
    assert chain.rebuild() == []


def test_a_least_grade_holds_completion_back_until_the_grade_reaches_it(world, lessons):
    set_min_grade(lessons.course, world.instructor, 0.8)
    db.session.commit()
    run = courses.enrol(world.learner, lessons.course)
    progress.record(run, lessons.view_page, "viewed")
    progress.record(run, lessons.done_page, "done")
    progress.record_quiz(run, lessons.quiz, 0.7, passed=True, attempted=True)
    db.session.commit()
    assert row_of(run, lessons.quiz).status == "completed"
    assert (run.status, run.grade) == ("in_progress", 0.7)
    assert events_of(run, "run.completed") == []
    assert certificates_of(run) == []
    progress.record_quiz(run, lessons.quiz, 0.8, passed=True, attempted=True)
    db.session.commit()
    assert (run.status, run.percent, run.grade) == ("completed", 1.0, 0.8)
    assert len(certificates_of(run)) == 1
    with pytest.raises(ServiceError) as refused:
        set_min_grade(lessons.course, world.instructor, 1.5)
    assert refused.value.field == "min_grade"


# --- judging runs again after a rule change --------------------------------------------------


def test_switching_mark_done_to_view_completes_the_runs_that_viewed_it(world, lessons):
    set_rule(lessons.quiz, required=False)
    db.session.commit()
    viewed = courses.enrol(world.learner, lessons.course)
    progress.record(viewed, lessons.view_page, "viewed")
    progress.record(viewed, lessons.done_page, "viewed")
    not_viewed = courses.enrol(world.outsider, lessons.course)
    progress.record(not_viewed, lessons.view_page, "viewed")
    db.session.commit()
    assert (viewed.status, viewed.percent) == ("in_progress", 0.5)
    set_rule(lessons.done_page, completion="view")
    assert _reload(viewed).status == "in_progress"  # judged when the change commits
    db.session.commit()
    viewed, not_viewed = _reload(viewed), _reload(not_viewed)
    assert (viewed.status, viewed.percent) == ("completed", 1.0)
    assert len(certificates_of(viewed)) == 1
    (completed,) = events_of(viewed, "activity.completed", lessons.done_page)
    assert (completed.actor_id, completed.reason) == (None, "rules changed")
    assert (not_viewed.status, not_viewed.percent) == ("in_progress", 0.5)
    assert chain.rebuild() == []


def test_a_new_required_page_lowers_open_runs_and_leaves_completed_runs_completed(
    world, make_course
):
    course = make_course(pages=2)
    first, second = courses.sequence(course)
    done = courses.enrol(world.learner, course)
    progress.record(done, first, "viewed")
    progress.record(done, second, "viewed")
    half = courses.enrol(world.outsider, course)
    progress.record(half, first, "viewed")
    db.session.commit()
    assert (done.status, half.percent) == ("completed", 0.5)
    courses.add_page(course.modules[0], "Bài 3", "Nội dung mới.")
    db.session.commit()
    done, half = _reload(done), _reload(half)
    assert (half.status, half.percent) == ("in_progress", pytest.approx(1 / 3))
    assert (done.status, done.percent) == ("completed", 1.0)
    assert len(certificates_of(done)) == 1
    assert events_of(done, "run.reset") == []
    assert chain.rebuild() == []


def test_lowering_a_video_threshold_completes_runs_that_already_watched_enough(
    world, lessons, clock
):
    for page in (lessons.done_page, lessons.quiz):
        set_rule(page, required=False)
    lecture = _lecture(lessons.course, threshold=0.9)
    db.session.commit()
    enough = courses.enrol(world.learner, lessons.course)
    short = courses.enrol(world.outsider, lessons.course)
    for run in (enough, short):
        progress.record(run, lessons.view_page, "viewed")
        progress.record(run, lecture, "viewed")
    clock.advance(60)
    _watch(enough, lecture, (0, 80))
    _watch(short, lecture, (0, 60))
    db.session.commit()
    assert (enough.status, row_of(enough, lecture).percent) == ("in_progress", 0.8)
    media.update_video(lecture, lecture.title, "", threshold=0.75)
    db.session.commit()
    enough, short = _reload(enough), _reload(short)
    assert row_of(enough, lecture).status == "completed"
    assert (enough.status, len(certificates_of(enough))) == ("completed", 1)
    assert row_of(short, lecture).status == "in_progress"
    assert (short.status, short.percent) == ("in_progress", 0.5)


def test_raising_the_least_grade_does_not_take_back_a_completion(world, lessons):
    set_min_grade(lessons.course, world.instructor, 0.6)
    db.session.commit()
    done = courses.enrol(world.learner, lessons.course)
    waiting = courses.enrol(world.outsider, lessons.course)
    for run in (done, waiting):
        progress.record(run, lessons.view_page, "viewed")
        progress.record(run, lessons.done_page, "done")
    progress.record_quiz(done, lessons.quiz, 0.7, passed=True, attempted=True)
    db.session.commit()
    _attempt(lessons.quiz, world.outsider, waiting, right=1)  # 0.5: under the pass mark
    db.session.commit()
    assert done.status == "completed"
    set_min_grade(lessons.course, world.instructor, 0.9)
    db.session.commit()
    done = _reload(done)
    assert (done.status, done.percent, done.grade) == ("completed", 1.0, 0.7)
    assert len(certificates_of(done)) == 1
    assert events_of(done, "run.reset") == []
    # Rules loosened: the open run whose attempt and grade now suffice completes.
    waiting = _reload(waiting)
    assert (row_of(waiting, lessons.quiz).status, waiting.status) == ("in_progress", "in_progress")
    set_rule(lessons.quiz, completion="attempted")
    set_min_grade(lessons.course, world.instructor, 0.5)
    db.session.commit()
    waiting = _reload(waiting)
    assert (waiting.status, waiting.grade) == ("completed", 0.5)
    assert chain.rebuild() == []


def test_many_open_runs_are_judged_again_by_a_job(app, world, make_course, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks, "enqueue", lambda queue, job_id: queued.append(job_id))
    app.config["PROGRESS_RECOMPUTE_INLINE"] = 1  # "many" is more than one here
    course = make_course(pages=2)
    first, second = courses.sequence(course)
    set_rule(second, completion="mark_done")
    db.session.commit()
    runs = [courses.enrol(person, course) for person in (world.learner, world.outsider)]
    for run in runs:
        progress.record(run, first, "viewed")
        progress.record(run, second, "viewed")
    db.session.commit()
    set_rule(second, completion="view")
    db.session.commit()
    job = db.session.scalar(select(Job).where(Job.kind == "progress.recompute"))
    assert job is not None
    assert (job.state, job.target_type, job.target_id) == ("queued", "course", course.id)
    assert queued == [job.id]
    assert {_reload(run).status for run in runs} == {"in_progress"}  # nothing judged inline
    jobs.run(job.id)
    db.session.expire_all()
    assert db.session.get(Job, job.id).state == "done"
    assert {db.session.get(Enrolment, run.id).status for run in runs} == {"completed"}
    assert chain.rebuild() == []


def test_a_few_open_runs_are_judged_inline_without_a_job(app, world, make_course):
    course = make_course(pages=2)
    first, second = courses.sequence(course)
    set_rule(second, completion="mark_done")
    run = courses.enrol(world.learner, course)
    progress.record(run, second, "viewed")
    progress.record(run, first, "viewed")
    db.session.commit()
    set_rule(second, completion="view")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0
    assert _reload(run).status == "completed"


def test_a_rolled_back_rule_change_judges_nothing(world, make_course):
    course = make_course(pages=2)
    first, second = courses.sequence(course)
    set_rule(second, completion="mark_done")
    run = courses.enrol(world.learner, course)
    progress.record(run, first, "viewed")
    progress.record(run, second, "viewed")
    db.session.commit()
    set_rule(second, completion="view")
    db.session.rollback()  # the editor's request failed: the pending course is forgotten
    # Change the rule behind the service's back: only a remembered course would be judged.
    db.session.execute(update(Activity).where(Activity.id == second.id).values(completion="view"))
    db.session.commit()
    assert _reload(run).status == "in_progress"


# --- admin reset and override ----------------------------------------------------------------


def _complete(run, lessons):
    progress.record(run, lessons.view_page, "viewed")
    progress.record(run, lessons.done_page, "done")
    progress.record_quiz(run, lessons.quiz, 1.0, passed=True, attempted=True)


def test_reset_needs_a_reason_and_reopens_a_run_the_rules_no_longer_complete(world, lessons):
    run = courses.enrol(world.learner, lessons.course)
    _complete(run, lessons)
    db.session.commit()
    (certificate,) = certificates_of(run)
    courses.add_page(courses.outline(lessons.course)[0][0], "Bài mới", "Quy định mới.")
    db.session.commit()
    run = _reload(run)
    assert run.status == "completed"  # a rule change never takes a completion back
    for reason in ("", "   "):
        with pytest.raises(ServiceError) as refused:
            progress.reset_run(run, world.admin, reason)
        assert refused.value.field == "reason"
    db.session.rollback()
    run = _reload(run)
    assert run.status == "completed"
    progress.reset_run(run, world.admin, "Quy định mới năm 2025")
    db.session.commit()
    run = _reload(run)
    assert (run.status, run.completed_at, run.percent) == ("in_progress", None, 0.75)
    db.session.refresh(certificate)
    assert (certificate.status, certificate.reason) == ("revoked", "Quy định mới năm 2025")
    assert certificates_of(run) == []
    (reset,) = events_of(run, "run.reset")
    assert (reset.actor_id, reset.reason) == (world.admin.id, "Quy định mới năm 2025")
    assert chain.loads(reset.new_value) == {"status": "in_progress"}
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "progress.reset"))
    assert (audit.actor_id, audit.target_type, audit.target_id) == (world.admin.id, "run", run.id)
    assert audit.detail == "Quy định mới năm 2025"
    with pytest.raises(ServiceError):  # only a completed run can be reset
        progress.reset_run(run, world.admin, "lần nữa")
    db.session.rollback()
    assert chain.rebuild() == []
    assert chain.verify()[1] == []


def test_a_reset_run_that_still_meets_the_rules_completes_again_with_a_new_certificate(
    world, lessons
):
    run = courses.enrol(world.learner, lessons.course)
    _complete(run, lessons)
    db.session.commit()
    (old,) = certificates_of(run)
    progress.reset_run(run, world.admin, "Cấp lại sau khi sửa dữ liệu")
    db.session.commit()
    run = _reload(run)
    assert run.status == "completed"
    assert [e.kind for e in events_of(run)][-2:] == ["run.reset", "run.completed"]
    (new,) = certificates_of(run)
    assert new.id != old.id
    assert [c.status for c in certificates_of(run, status=None)] == ["revoked", "valid"]
    assert chain.rebuild() == []


def test_override_completes_an_incomplete_run_with_a_reason_and_a_certificate(world, lessons):
    run = courses.enrol(world.learner, lessons.course)
    progress.record(run, lessons.view_page, "viewed")
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        progress.override_run(run, world.admin, "")
    assert refused.value.field == "reason"
    progress.override_run(run, world.admin, "Đã học lớp tập trung")
    db.session.commit()
    run = _reload(run)
    assert (run.status, run.percent) == ("completed", 1.0)
    (override,) = events_of(run, "run.override")
    assert (override.actor_id, override.reason) == (world.admin.id, "Đã học lớp tập trung")
    assert events_of(run, "run.completed") == []
    assert len(certificates_of(run)) == 1
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "progress.override"))
    assert (audit.actor_id, audit.target_id) == (world.admin.id, run.id)
    with pytest.raises(ServiceError):
        progress.override_run(run, world.admin, "lần nữa")
    db.session.rollback()
    assert chain.rebuild() == []


# --- time spent ------------------------------------------------------------------------------


def test_time_spent_counts_page_dwell_under_the_idle_cutoff_and_unique_video_seconds(
    world, make_course, clock
):
    course = make_course(pages=3)
    first, second, third = courses.sequence(course)
    lecture = _lecture(course)
    db.session.commit()
    run = courses.enrol(world.learner, course)
    progress.record(run, first, "viewed")
    clock.advance(120)
    progress.record(run, second, "viewed")  # first: 120 s
    clock.advance(progress.IDLE_CUTOFF + 1)
    progress.record(run, third, "viewed")  # second: nothing, the learner had left
    clock.advance(progress.IDLE_CUTOFF)
    progress.record(run, lecture, "viewed")  # third: exactly the cutoff still counts
    clock.advance(60)
    _watch(run, lecture, (0, 50))
    clock.advance(30)
    _watch(run, lecture, (0, 50), (40, 70))  # a replay counts once
    clock.advance(300)
    progress.record(run, first, "viewed")  # after a video: its time is the seconds watched
    clock.advance(45)
    progress.record(run, first, "viewed")  # reloading the page
    db.session.commit()
    spent = {a.id: row_of(run, a).time_spent for a in (first, second, third, lecture)}
    assert spent == {
        first.id: 165,
        second.id: 0,
        third.id: progress.IDLE_CUTOFF,
        lecture.id: 70,
    }
    assert run.time_spent == 165 + progress.IDLE_CUTOFF + 70
    assert chain.rebuild() == []


def test_quiz_time_is_the_time_its_attempts_took(world, lessons):
    run = courses.enrol(world.learner, lessons.course)
    progress.record_quiz(run, lessons.quiz, 0.5, passed=False, attempted=True, time_spent=420)
    assert row_of(run, lessons.quiz).time_spent == 420
    assert run.time_spent == 420


# --- two requests at once --------------------------------------------------------------------


def test_two_requests_marking_the_same_page_done_at_once_complete_it_once(
    world, make_course, as_user
):
    course = make_course(pages=ROUNDS)
    pages = courses.sequence(course)
    for page in pages:
        set_rule(page, completion="mark_done")
    run = courses.enrol(world.learner, course)
    db.session.commit()
    clients = [as_user("learner"), as_user("learner")]
    for page in pages:
        db.session.commit()  # end this thread's read transaction before the requests
        url = f"/courses/{course.slug}/lessons/{page.id}/done"
        answers = together(*(lambda c=c, u=url: c.post(u).status_code for c in clients))
        assert answers == [302, 302]
        db.session.rollback()
        db.session.expire_all()
        rows = db.session.scalar(
            select(func.count())
            .select_from(ActivityProgress)
            .where(ActivityProgress.enrolment_id == run.id, ActivityProgress.activity_id == page.id)
        )
        assert rows == 1
        assert len(events_of(run, "activity.completed", page)) == 1
    run = db.session.get(Enrolment, run.id)
    assert (run.status, run.percent) == ("completed", 1.0)
    assert len(events_of(run, "run.completed")) == 1
    assert len(events_of(run, "run.started")) == 1
    assert len(certificates_of(run)) == 1
    assert [e.seq for e in events_of(run)] == list(range(1, ROUNDS + 3))
    assert chain.verify() == (ROUNDS + 2, [])
    assert chain.rebuild() == []


def test_one_learners_steps_in_two_courses_at_once_make_one_unbroken_chain(
    make_app, world, make_course, make_user
):
    """Two runs of one learner append to one chain: its first event (the chain's head is
    created) and a later one (the head is locked) at the same moment.
    """
    worker = make_app(SQLITE_BEGIN_OUTSIDE_REQUESTS="BEGIN IMMEDIATE", SQLITE_BUSY_TIMEOUT=30.0)
    courses_ = [make_course(slug=f"khoa-{n}", title=f"Khóa {n}", pages=2) for n in range(2)]
    pages = [[a.id for a in courses.sequence(course)] for course in courses_]
    learners = []

    def view(run_id, activity_id):
        with worker.app_context():
            run = db.session.get(Enrolment, run_id)
            progress.record(run, db.session.get(Activity, activity_id), "viewed")
            db.session.commit()
            return run.status

    for _ in range(ROUNDS):
        person = make_user(world.team_a1)
        learners.append(person)
        runs = [courses.enrol(person, course).id for course in courses_]
        db.session.commit()
        for step, status in enumerate(("in_progress", "completed")):
            calls = [lambda r=r, a=a[step]: view(r, a) for r, a in zip(runs, pages, strict=True)]
            assert together(*calls) == [status, status]
        db.session.rollback()
    for person in learners:
        events = list(
            db.session.scalars(
                select(ProgressEvent)
                .where(ProgressEvent.user_id == person.id)
                .order_by(ProgressEvent.seq)
            )
        )
        assert [e.seq for e in events] == list(range(1, 9))  # 4 events per course
        assert db.session.get(ProgressChain, person.id).seq == 8
    assert chain.verify([p.id for p in learners]) == (8 * ROUNDS, [])
    assert chain.rebuild() == []
