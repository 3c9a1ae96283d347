"""Training classes: courses and participants from any unit, organisers, dates, changes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from elearn.accounts import services as accounts
from elearn.core.clock import due_at, to_local, utcnow
from elearn.core.models import AuditLog
from elearn.core.services import NotFound, ServiceError
from elearn.courses import services as courses
from elearn.courses.models import Enrolment
from elearn.extensions import db
from elearn.progress import services as progress
from elearn.reports import assignments, classes
from elearn.reports.models import AssignmentRun
from elearn.surveys import services as surveys


def today():
    return to_local(utcnow()).date()


@pytest.fixture
def two_courses(make_course):
    return [make_course(slug="ung-dung-cntt", title="Ứng dụng CNTT"), make_course(slug="cchc")]


def open_class(actor, organiser_unit, course_list, *, units=(), people=(), code="TH-2026-01"):
    created = classes.create_class(
        actor,
        code=code,
        name="Lớp tập huấn ứng dụng CNTT, cải cách hành chính",
        description="80 học viên từ 34 đơn vị",
        organiser_unit=organiser_unit,
        opens_on=today(),
        closes_on=today() + timedelta(days=14),
        course_ids=[c.id for c in course_list],
        unit_ids=[u.id for u in units],
        user_ids=[p.id for p in people],
    )
    assignments.apply(created.assignment)
    db.session.commit()
    return created


def class_runs(training_class):
    return list(
        db.session.scalars(
            db.select(Enrolment)
            .join(AssignmentRun, AssignmentRun.enrolment_id == Enrolment.id)
            .where(AssignmentRun.assignment_id == training_class.assignment_id)
        )
    )


def test_a_class_enrols_people_from_many_units_in_each_course(world, two_courses):
    training = open_class(
        world.admin, world.dept_a, two_courses, units=[world.team_a1], people=[world.outsider]
    )
    runs = class_runs(training)
    assert {(r.user_id, r.course_id) for r in runs} == {
        (p.id, c.id) for p in (world.learner, world.outsider) for c in two_courses
    }
    assert {r.source for r in runs} == {"class"}
    assert {r.due_at for r in runs} == {due_at(training.closes_on)}
    assert db.session.scalar(db.select(AuditLog).where(AuditLog.action == "class.created"))


def test_hr_opens_classes_only_for_their_units_and_people(world, two_courses):
    with pytest.raises(ServiceError) as refused:
        open_class(world.hr_a, world.dept_b, two_courses, people=[world.learner])
    assert refused.value.field == "organiser_unit_id"
    with pytest.raises(ServiceError) as refused:
        open_class(world.hr_a, world.dept_a, two_courses, people=[world.outsider])
    assert refused.value.field == "user_ids"
    with pytest.raises(ServiceError) as refused:
        classes.create_class(
            world.admin,
            code="X",
            name="X",
            description="",
            organiser_unit=world.dept_a,
            opens_on=today(),
            closes_on=today() - timedelta(days=1),
            course_ids=[two_courses[0].id],
            unit_ids=[world.dept_a.id],
            user_ids=[],
        )
    open_class(world.admin, world.dept_a, two_courses, people=[world.learner])
    with pytest.raises(ServiceError) as refused:
        open_class(world.admin, world.dept_a, two_courses, people=[world.learner])
    assert refused.value.field == "code"


def test_a_new_closing_date_moves_the_open_runs_due_date(world, two_courses):
    training = open_class(world.admin, world.dept_a, two_courses, people=[world.learner])
    first = class_runs(training)[0]
    progress.override_run(first, world.admin, "Học tại lớp")
    db.session.commit()
    later = today() + timedelta(days=30)
    classes.update_class(
        training, world.admin, name="Lớp mới", description="", opens_on=today(), closes_on=later
    )
    db.session.commit()
    runs = {r.id: r for r in class_runs(training)}
    assert runs[first.id].due_at == due_at(today() + timedelta(days=14))  # completed: as it was
    assert {r.due_at for r in runs.values() if r.id != first.id} == {due_at(later)}


def test_removing_a_participant_keeps_their_progress_and_completed_runs(world, two_courses):
    training = open_class(world.admin, world.dept_a, two_courses, people=[world.learner])
    done, open_run = sorted(class_runs(training), key=lambda r: r.course_id)
    progress.override_run(done, world.admin, "Học tại lớp")
    db.session.commit()
    [target] = training.assignment.targets
    left = classes.remove_participant(training, world.admin, target.id)
    db.session.commit()
    assert left == 1
    assert [r.id for r in class_runs(training)] == [done.id]  # the class keeps what was done
    open_run = db.session.get(Enrolment, open_run.id)
    assert (open_run.source, open_run.due_at) == ("self", None)


def test_organisers_see_only_their_class(world, two_courses, make_user):
    organiser = make_user(world.dept_b, "Tổ Chức", "tochuc")
    mine = open_class(world.admin, world.dept_a, two_courses, people=[world.learner])
    other = open_class(world.admin, world.dept_a, two_courses, people=[world.learner], code="B")
    classes.add_organiser(mine, world.admin, "tochuc")
    db.session.commit()
    assert classes.class_for(organiser, mine.id) == mine
    with pytest.raises(NotFound):
        classes.class_for(organiser, other.id)
    with pytest.raises(NotFound):
        classes.managed_class(organiser, mine.id)
    assert classes.classes_for(organiser) == [mine]
    assert set(classes.classes_for(world.hr_a)) == {mine, other}  # run by hr_a's unit
    assert classes.classes_for(world.hr_b) == []
    with pytest.raises(ServiceError):
        classes.add_organiser(mine, world.admin, "khong-co-ai")
    [role] = classes.organisers_of(mine)
    classes.remove_organiser(mine, world.admin, role.id)
    db.session.commit()
    organiser.forget_roles()
    with pytest.raises(NotFound):
        classes.class_for(organiser, mine.id)


def test_late_joiners_enter_an_open_class_but_not_a_closed_one(world, two_courses, make_user):
    training = open_class(world.admin, world.dept_a, two_courses, units=[world.team_a1])
    newcomer = make_user(world.team_a1, "Người Mới", "moi")
    db.session.commit()
    assert len([r for r in class_runs(training) if r.user_id == newcomer.id]) == 2
    training.closes_on = today() - timedelta(days=1)
    db.session.commit()
    accounts.transfer_user(world.outsider, world.team_a1, world.admin, "")
    db.session.commit()
    assert not [r for r in class_runs(training) if r.user_id == world.outsider.id]


def test_cancelling_releases_open_runs(world, two_courses):
    training = open_class(world.admin, world.dept_a, two_courses, people=[world.learner])
    assert classes.cancel(training, world.admin, "Hoãn") == 2
    db.session.commit()
    assert {r.source for r in class_runs(training)} == {"self"}
    with pytest.raises(ServiceError):
        classes.cancel(training, world.admin)


def test_a_run_knows_its_class_for_the_survey(world, two_courses):
    training = open_class(world.admin, world.dept_a, two_courses, people=[world.learner])
    run = class_runs(training)[0]
    assert classes.run_class_id(run) == training.id
    assert surveys.class_of(run) == training.id


def test_the_class_page_and_course_report_show_the_satisfaction_index(
    world, make_course, make_user, as_user
):
    course = make_course(slug="khao-sat", title="Khóa có khảo sát", pages=1)
    module = courses.outline(course)[0][0]
    survey = surveys.add_survey(module, "Phiếu khảo sát", "", items=[("likert", "Nội dung", True)])
    people = [make_user(world.team_a1, f"Học Viên {n}", f"hv{n}") for n in range(4)]
    db.session.commit()
    training = open_class(world.admin, world.dept_a, [course], people=people)
    [item] = surveys.items_of(surveys.survey_of(survey))
    for person, value in zip(people, (5, 4, 2, 5), strict=True):
        run = courses.current_run(person, course)
        surveys.submit(run, survey, {item.id: str(value)})
    db.session.commit()
    page = as_user("admin").get(f"/classes/{training.id}").get_data(as_text=True)
    assert "75%" in page  # 3 of 4 answers are 4 or 5
    report = as_user("hr_a").get("/reports/courses").get_data(as_text=True)
    assert "75,0%" in report
