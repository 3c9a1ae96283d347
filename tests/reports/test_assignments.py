"""Mandatory assignments: who gets enrolled, late joiners, refreshers, withdrawal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from elearn.accounts import services as accounts
from elearn.core.clock import due_at, to_local, utcnow
from elearn.core.models import AuditLog
from elearn.core.services import ServiceError
from elearn.courses import services as courses
from elearn.courses.models import Enrolment
from elearn.extensions import db
from elearn.progress import services as progress
from elearn.progress.models import ActivityProgress
from elearn.reports import assignments
from elearn.reports.models import AssignmentRun


def today():
    return to_local(utcnow()).date()


def runs_of(person, course):
    return list(
        db.session.scalars(
            db.select(Enrolment)
            .where(Enrolment.user_id == person.id, Enrolment.course_id == course.id)
            .order_by(Enrolment.run)
        )
    )


@pytest.fixture
def course(make_course):
    return make_course(slug="bat-buoc", title="Khóa bắt buộc", pages=2)


def assign(actor, course, *, units=(), people=(), due_in=30, **kwargs):
    assignment = assignments.create_assignment(
        actor,
        course_ids=[course.id],
        unit_ids=[u.id for u in units],
        user_ids=[p.id for p in people],
        due_on=today() + timedelta(days=due_in) if due_in is not None else None,
        **kwargs,
    )
    assignments.apply(assignment)
    db.session.commit()
    return assignment


def test_a_unit_assignment_enrols_everyone_below_it_with_the_due_date(world, course):
    assign(world.hr_a, course, units=[world.dept_a])
    [run] = runs_of(world.learner, course)  # in team_a1, below dept_a
    assert run.source == "assigned"
    assert run.due_at == due_at(today() + timedelta(days=30))
    assert runs_of(world.hr_a, course)  # hr_a sits in dept_a
    assert runs_of(world.outsider, course) == []  # dept_b
    entry = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "assignment.created"))
    assert "bat-buoc" in entry.detail
    assert entry.actor_id == world.hr_a.id


def test_applying_twice_enrols_nobody_twice(world, course):
    assignment = assign(world.hr_a, course, units=[world.dept_a])
    assignments.apply(assignment)
    assignments.apply(assignment)
    db.session.commit()
    assert len(runs_of(world.learner, course)) == 1
    links = db.session.scalar(
        db.select(db.func.count())
        .select_from(AssignmentRun)
        .where(AssignmentRun.assignment_id == assignment.id)
    )
    assert links == 2  # hr_a and learner


def test_an_open_run_is_adopted_and_a_completed_one_satisfies(world, course, make_user):
    done = make_user(world.team_a1, "Đã Học", "dahoc")
    db.session.commit()
    open_run = courses.enrol(world.learner, course)
    finished = courses.enrol(done, course)
    progress.override_run(finished, world.admin, "Học tại lớp")
    db.session.commit()
    assign(world.hr_a, course, units=[world.dept_a], due_in=10)
    [adopted] = runs_of(world.learner, course)
    assert adopted.id == open_run.id
    assert adopted.source == "assigned"
    assert adopted.due_at == due_at(today() + timedelta(days=10))
    [kept] = runs_of(done, course)
    assert kept.id == finished.id
    assert kept.status == "completed"
    assert kept.due_at is None


def test_people_joining_later_are_enrolled_with_days_to_finish(world, course, make_user):
    assign(world.hr_a, course, units=[world.dept_a], due_in=3, join_days=30)
    newcomer = make_user(world.team_a1, "Người Mới", "moi")
    db.session.commit()
    [run] = runs_of(newcomer, course)
    assert run.due_at == due_at(today() + timedelta(days=30))  # later of the two dates
    accounts.transfer_user(world.outsider, world.team_a1, world.admin, "Điều động")
    db.session.commit()
    assert len(runs_of(world.outsider, course)) == 1


def test_moving_within_the_assigned_subtree_does_not_enrol_again(world, course):
    assign(world.hr_a, course, units=[world.dept_a])
    accounts.transfer_user(world.learner, world.dept_a, world.admin, "")
    db.session.commit()
    assert len(runs_of(world.learner, course)) == 1


def test_withdrawing_keeps_progress_and_makes_open_runs_voluntary(world, course):
    assignment = assign(world.hr_a, course, units=[world.dept_a])
    [run] = runs_of(world.learner, course)
    page = courses.sequence(course)[0]
    progress.record(run, page, "viewed")
    db.session.commit()
    released = assignments.withdraw(assignment, world.hr_a, "Đổi kế hoạch")
    db.session.commit()
    assert released == 2
    run = db.session.get(Enrolment, run.id)
    assert (run.source, run.due_at, run.status) == ("self", None, "in_progress")
    assert db.session.scalar(
        db.select(ActivityProgress).where(ActivityProgress.enrolment_id == run.id)
    )
    with pytest.raises(ServiceError):
        assignments.withdraw(assignment, world.hr_a)
    # Nobody joins a withdrawn assignment.
    accounts.transfer_user(world.outsider, world.team_a1, world.admin, "")
    db.session.commit()
    assert runs_of(world.outsider, course) == []


def test_a_run_held_by_another_assignment_stays_mandatory(world, course):
    first = assign(world.hr_a, course, units=[world.dept_a])
    assign(world.admin, course, people=[world.learner], due_in=40)
    assignments.withdraw(first, world.hr_a)
    db.session.commit()
    [run] = runs_of(world.learner, course)
    assert run.source == "assigned"
    assert run.due_at is not None


def test_a_yearly_refresher_opens_a_new_run_before_the_completion_expires(world, course):
    assign(world.hr_a, course, people=[world.learner], recur_months=12, join_days=30)
    [first] = runs_of(world.learner, course)
    progress.override_run(first, world.admin, "Học tại lớp")
    db.session.commit()
    assert assignments.open_refreshers() == 0  # a year is far off
    completed = utcnow() - timedelta(days=340)
    first.completed_at = completed  # as if completed 340 days ago
    db.session.commit()
    assert assignments.open_refreshers() == 1
    db.session.commit()
    assert assignments.open_refreshers() == 0  # once per cycle
    db.session.commit()
    old, new = runs_of(world.learner, course)
    assert (old.run, old.status, new.run, new.status) == (1, "completed", 2, "not_started")
    expiry = to_local(completed).date().replace(year=to_local(completed).year + 1)
    assert new.due_at == due_at(expiry)
    assert new.source == "assigned"


def test_hr_cannot_assign_outside_their_units_or_to_unknown_people(world, course):
    with pytest.raises(ServiceError) as refused:
        assignments.create_assignment(
            world.hr_a, course_ids=[course.id], unit_ids=[world.dept_b.id], user_ids=[], due_on=None
        )
    assert refused.value.field == "unit_ids"
    with pytest.raises(ServiceError) as caught:
        assignments.people_named(world.hr_a, ["learner", "outsider", "khong-co"])
    assert "outsider" in str(caught.value)
    assert "khong-co" in str(caught.value)
    assert "learner" not in str(caught.value).split(":")[-1]


def test_only_published_courses_and_sane_dates(world, course, make_course):
    draft = make_course(slug="nhap", title="Bản nháp", publish=False)
    with pytest.raises(ServiceError) as refused:
        assign(world.admin, draft, units=[world.ministry])
    assert refused.value.field == "course_ids"
    assert "Bản nháp" in str(refused.value)
    with pytest.raises(ServiceError) as refused:
        assign(world.admin, course, units=[world.ministry], due_in=-1)
    assert refused.value.field == "due_on"
    with pytest.raises(ServiceError):
        assign(world.admin, course, units=[world.ministry], recur_months=0)


def test_many_people_go_to_a_job_that_reports_progress(app, world, course, make_user, monkeypatch):
    monkeypatch.setattr(assignments, "APPLY_INLINE", 3)
    for n in range(6):
        make_user(world.team_a1, f"Người {n}", f"nguoi{n}")
    db.session.commit()
    assignment = assignments.create_assignment(
        world.hr_a, course_ids=[course.id], unit_ids=[world.dept_a.id], user_ids=[], due_on=None
    )
    db.session.flush()
    job = assignments.apply_or_queue(assignment, world.hr_a)
    db.session.refresh(job)
    assert job.state == "done"
    assert job.progress == 1.0
    assert "8" in job.message  # "8 of 8 people enrolled", in the UI language
    assert len(runs_of(world.learner, course)) == 1


def test_a_new_assignment_reaches_people_created_later_in_the_same_transaction(
    world, course, make_user
):
    """What the newcomer check remembers within a transaction is forgotten when it changes."""
    first = make_user(world.team_a1, "Người Thứ Nhất", "thu.nhat")  # nothing to take yet
    assignment = assignments.create_assignment(
        world.hr_a, course_ids=[course.id], unit_ids=[world.dept_a.id], user_ids=[], due_on=None
    )
    second = make_user(world.team_a1, "Người Thứ Hai", "thu.hai")
    assert len(runs_of(second, course)) == 1
    assert runs_of(first, course) == []  # not applied yet: only newcomers so far
    assignments.withdraw(assignment, world.hr_a)
    third = make_user(world.team_a1, "Người Thứ Ba", "thu.ba")
    db.session.commit()
    assert runs_of(third, course) == []
