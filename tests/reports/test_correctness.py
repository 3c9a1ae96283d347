"""Every number on every report equals a brute-force recomputation over the raw rows.

Two worlds: one built through the real services in time order (assignments, a class,
lessons, completions, transfers and two unit merges), where "the unit at completion"
must follow the people; and one of runs spread over two years with grades, due dates
and study time, where every period filter must count exactly.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from elearn.accounts import services as accounts
from elearn.core.clock import due_at, to_local, utcnow
from elearn.courses import services as courses
from elearn.courses.models import Course, Enrolment
from elearn.extensions import db
from elearn.progress import services as progress
from elearn.reports import assignments, classes, queries, services
from elearn.reports.queries import Filters
from tests.reports.conftest import (
    assert_same,
    attributed_unit,
    counts_of,
    in_paths,
    local_year_bounds,
    people_under,
    snapshot,
    visible_runs,
)

MODES = ("current", "completion")


def check_unit_report(viewer, within, filters: Filters, label: str) -> None:
    """The unit report's rows and total against the brute force, for one viewer."""
    scope = queries.scope_of(viewer)
    report = services.unit_report(scope, within, filters)
    snap = snapshot()
    paths = None if scope.everything else list(scope.paths)
    runs = visible_runs(snap, filters.mode, paths, course_id=filters.course_id)
    if within is not None:
        expected_children = [u for u in snap.units.values() if u.parent_id == within.id]
    elif scope.everything:
        expected_children = [u for u in snap.units.values() if u.parent_id is None]
    else:
        expected_children = [u for u in snap.units.values() if u.path in scope.paths]
    rows = {(row.kind, row.key): row for row in report.rows}
    for child in expected_children:
        mine = [
            r
            for r in runs
            if snap.units[attributed_unit(snap, r, filters.mode)].path.startswith(child.path)
        ]
        expected = counts_of(mine, filters.date_from, filters.date_to)
        if not child.active and expected.enrolled == 0:
            assert ("unit", child.id) not in rows, f"{label}: merged {child.code} shown empty"
            continue
        row = rows[("unit", child.id)]
        assert_same(row.counts, expected, f"{label}: {child.code}")
        assert row.counts.people == people_under(snap, child.path), f"{label}: people {child.code}"
    if within is not None:
        direct = [r for r in runs if attributed_unit(snap, r, filters.mode) == within.id]
        expected = counts_of(direct, filters.date_from, filters.date_to)
        placed = sum(1 for u in snap.users.values() if u.active and u.unit_id == within.id)
        if expected.enrolled or placed:
            assert_same(rows[("direct", within.id)].counts, expected, f"{label}: in {within.code}")
            assert rows[("direct", within.id)].counts.people == placed
        else:
            assert ("direct", within.id) not in rows, f"{label}: empty row shown"
        total_runs = [
            r
            for r in runs
            if snap.units[attributed_unit(snap, r, filters.mode)].path.startswith(within.path)
        ]
    else:
        roots = [u.path for u in expected_children]
        total_runs = [
            r for r in runs if in_paths(snap, attributed_unit(snap, r, filters.mode), roots)
        ]
    assert_same(
        report.total, counts_of(total_runs, filters.date_from, filters.date_to), f"{label}: total"
    )


def check_course_report(viewer, within, filters: Filters, label: str) -> None:
    scope = queries.scope_of(viewer)
    report = services.course_report(scope, within, filters)
    snap = snapshot()
    paths = None if scope.everything else list(scope.paths)
    runs = visible_runs(snap, filters.mode, paths)
    if within is not None:
        runs = [
            r
            for r in runs
            if snap.units[attributed_unit(snap, r, filters.mode)].path.startswith(within.path)
        ]
    by_course: dict[int, list] = {}
    for run in runs:
        by_course.setdefault(run.course_id, []).append(run)
    shown = {row.key: row for row in report.rows}
    expected_courses = {
        cid
        for cid, mine in by_course.items()
        if counts_of(mine, filters.date_from, filters.date_to).enrolled
    }
    assert set(shown) == expected_courses, label
    for course_id in expected_courses:
        assert_same(
            shown[course_id].counts,
            counts_of(by_course[course_id], filters.date_from, filters.date_to),
            f"{label}: course {course_id}",
        )


def check_people(viewer, within, filters: Filters, year: int, label: str) -> None:
    scope = queries.scope_of(viewer)
    rows, total = services.people_page(scope, within, filters, year, per_page=1000)
    snap = snapshot()
    paths = None if scope.everything else list(scope.paths)
    expected_people = [
        u
        for u in snap.users.values()
        if u.active
        and (paths is None or in_paths(snap, u.unit_id, paths))
        and (within is None or snap.units[u.unit_id].path.startswith(within.path))
    ]
    assert total == len(expected_people), label
    assert {r.user_id for r in rows} == {u.id for u in expected_people}, label
    runs = visible_runs(snap, filters.mode, paths)
    start, end = local_year_bounds(year)
    for row in rows:
        mine = [r for r in runs if r.user_id == row.user_id]
        counts = counts_of(mine, filters.date_from, filters.date_to)
        assert (row.runs, row.completed, row.overdue) == (
            counts.enrolled,
            counts.completed,
            counts.overdue,
        ), f"{label}: {row.username}"
        minutes = sum(
            snap.courses[r.course_id].estimated_minutes or 0
            for r in mine
            if r.completed_at is not None and start <= r.completed_at < end
        )
        assert row.hours == pytest.approx(round(minutes / 60, 2)), f"{label}: hours {row.username}"


# --- world 1: real services, people moving, units merging ------------------------------------


@pytest.fixture
def moving_world(world, make_course, make_user):
    """Units, people, assignments and a class; then lessons, completions, moves, merges."""
    rng = random.Random(7)
    w = world
    team_a2 = accounts.create_unit("BO.A.2", "Phòng A2", "unit", w.dept_a, None)
    team_b1 = accounts.create_unit("BO.B.1", "Phòng B1", "unit", w.dept_b, None)
    dept_c = accounts.create_unit("BO.C", "Vụ C", "department", w.ministry, None)
    team_c1 = accounts.create_unit("BO.C.1", "Phòng C1", "unit", dept_c, None)
    units = [w.dept_a, w.team_a1, team_a2, w.dept_b, team_b1, dept_c, team_c1]
    people = [make_user(rng.choice(units), f"Học Viên {n}", f"hv{n}") for n in range(36)]
    db.session.commit()
    course_1 = make_course(slug="k1", title="Khóa một", pages=2)
    course_2 = make_course(slug="k2", title="Khóa hai", pages=2)
    course_3 = make_course(slug="k3", title="Khóa ba", pages=2)
    for course, minutes in ((course_1, 90), (course_2, 240), (course_3, 600)):
        course.estimated_minutes = minutes
    due = to_local(utcnow()).date() + timedelta(days=20)
    everyone = assignments.create_assignment(
        w.admin, course_ids=[course_1.id], unit_ids=[w.ministry.id], user_ids=[], due_on=due
    )
    assignments.apply(everyone)
    dept = assignments.create_assignment(
        w.hr_a, course_ids=[course_2.id], unit_ids=[w.dept_a.id], user_ids=[], due_on=due
    )
    assignments.apply(dept)
    chosen = [p.id for p in people if p.unit_id in (w.dept_b.id, team_b1.id, team_c1.id)][:8]
    training = classes.create_class(
        w.admin,
        code="TH-01",
        name="Lớp tập huấn",
        description="",
        organiser_unit=w.dept_a,
        opens_on=to_local(utcnow()).date(),
        closes_on=due,
        course_ids=[course_3.id, course_1.id],
        unit_ids=[team_c1.id],
        user_ids=chosen,
    )
    assignments.apply(training.assignment)
    db.session.commit()

    def study(fraction_done: float, fraction_started: float) -> None:
        for run in db.session.scalars(db.select(Enrolment).where(Enrolment.status != "completed")):
            roll = rng.random()
            if roll < fraction_done:
                progress.override_run(run, w.admin, "Học tại lớp")
            elif roll < fraction_done + fraction_started:
                page = courses.sequence(db.session.get(Course, run.course_id))[0]
                progress.record(run, page, "viewed")
        db.session.commit()

    study(0.25, 0.2)
    for person in rng.sample(people, 12):
        target = rng.choice([u for u in units if u.id != person.unit_id])
        accounts.transfer_user(person, target, w.admin, "Điều động")
    db.session.commit()
    study(0.25, 0.2)
    accounts.merge_unit(team_a2, w.team_a1, w.admin, "Sáp nhập phòng")
    accounts.merge_unit(dept_c, w.dept_b, w.admin, "Sáp nhập vụ")
    db.session.commit()
    newcomer = make_user(w.team_a1, "Người Mới", "nguoimoi")  # enrolled by both assignments
    db.session.commit()
    study(0.2, 0.2)
    # One run past due and not completed, one completed late: overdue counts must see both.
    late = db.session.scalars(
        db.select(Enrolment).where(Enrolment.status != "completed").limit(2)
    ).all()
    for run in late:
        run.due_at = utcnow() - timedelta(days=3)
    db.session.commit()
    return {"training": training, "newcomer": newcomer, "dept_c": dept_c, "team_a2": team_a2}


@pytest.mark.parametrize("mode", MODES)
def test_unit_reports_equal_the_brute_force_after_moves_and_merges(world, moving_world, mode):
    filters = Filters(mode=mode)
    cases = [
        (world.admin, None),
        (world.admin, world.ministry),
        (world.admin, world.dept_a),
        (world.admin, world.team_a1),
        (world.hr_a, None),
        (world.hr_a, world.dept_a),
        (world.hr_b, None),
        (world.hr_b, world.dept_b),
    ]
    for viewer, within in cases:
        label = f"{viewer.username} in {within.code if within else 'all'} ({mode})"
        check_unit_report(viewer, within, filters, label)
        check_course_report(viewer, within, filters, label)
    today = to_local(utcnow()).date()
    for viewer, within in cases[:3] + cases[5:6]:
        check_unit_report(
            viewer,
            within,
            Filters(date_from=today, date_to=today, mode=mode),
            f"today {viewer.username}",
        )
        check_unit_report(
            viewer,
            within,
            Filters(date_to=today - timedelta(days=1), mode=mode),
            f"until yesterday {viewer.username}",
        )


def test_completion_mode_counts_runs_where_people_were(world, moving_world):
    """Some completions happened in units people later left: the two modes differ there."""
    snap = snapshot()
    moved = [
        r
        for r in snap.runs
        if r.completed_at is not None
        and attributed_unit(snap, r, "completion") != attributed_unit(snap, r, "current")
    ]
    assert moved, "the scenario must complete runs before people moved"
    merged = moving_world["team_a2"]
    report = services.unit_report(
        queries.scope_of(world.admin), world.dept_a, Filters(mode="completion")
    )
    if any(attributed_unit(snap, r, "completion") == merged.id for r in snap.runs):
        row = next(r for r in report.rows if r.key == merged.id)
        assert "BO.A.2" in row.note  # shown as merged, with its code


def test_people_and_hours_equal_the_brute_force(world, moving_world):
    year = to_local(utcnow()).year
    for viewer, within in ((world.admin, None), (world.hr_a, world.dept_a), (world.hr_b, None)):
        for mode in MODES:
            check_people(viewer, within, Filters(mode=mode), year, f"{viewer.username} {mode}")


def test_class_report_counts_its_participants_from_every_unit(world, moving_world):
    training = moving_world["training"]
    report = services.class_report(training, Filters())
    snap = snapshot()
    runs = [r for r in snap.runs if r.id in snap.class_runs[training.id]]
    for row in report.rows:
        assert_same(
            row.counts, counts_of([r for r in runs if r.course_id == row.key]), f"class {row.key}"
        )
    assert {p.user_id for p in services.class_participants(training, Filters())} == {
        r.user_id for r in runs
    }


def test_a_newcomer_is_enrolled_by_every_assignment_covering_the_unit(world, moving_world):
    newcomer = moving_world["newcomer"]
    titles = {
        r.course.slug
        for r in db.session.scalars(db.select(Enrolment).where(Enrolment.user_id == newcomer.id))
    }
    assert titles == {"k1", "k2"}


# --- world 2: two years of runs, every period ------------------------------------------------


@pytest.fixture
def dated_world(world, make_course, make_user):
    """300 runs over two years: starts, completions, due dates, grades and time at random."""
    rng = random.Random(11)
    w = world
    units = [w.dept_a, w.team_a1, w.dept_b]
    people = [make_user(rng.choice(units), f"Cán Bộ {n}", f"cb{n}") for n in range(40)]
    course_list = [make_course(slug=f"d{n}", title=f"Khóa {n}", pages=1) for n in range(4)]
    for n, course in enumerate(course_list):
        course.estimated_minutes = 60 * (n + 1) + 15
    now = utcnow()
    for _ in range(300):
        person = rng.choice(people)
        course = rng.choice(course_list)
        started = now - timedelta(days=rng.uniform(0, 700), hours=rng.uniform(0, 24))
        status = rng.choice(["not_started", "in_progress", "completed", "completed"])
        completed = None
        if status == "completed":
            completed = min(now, started + timedelta(days=rng.uniform(0, 200)))
        previous = db.session.scalar(
            db.select(db.func.max(Enrolment.run)).where(
                Enrolment.user_id == person.id, Enrolment.course_id == course.id
            )
        )
        db.session.add(
            Enrolment(
                user_id=person.id,
                course_id=course.id,
                run=(previous or 0) + 1,
                source=rng.choice(["self", "assigned", "class"]),
                status=status,
                started_at=started,
                completed_at=completed,
                due_at=due_at(to_local(started).date() + timedelta(days=rng.randint(5, 120)))
                if rng.random() < 0.7
                else None,
                grade=rng.choice([None, round(rng.random(), 3)])
                if status != "not_started"
                else None,
                time_spent=rng.randint(0, 20_000) if status != "not_started" else 0,
                unit_id=person.unit_id,
                completed_unit_id=person.unit_id if completed else None,
            )
        )
        db.session.flush()
    db.session.commit()
    return people


def _periods():
    today = to_local(utcnow()).date()
    year = today.year
    return [
        (None, None),
        (date(year, 1, 1), date(year, 12, 31)),
        (date(year - 1, 1, 1), date(year - 1, 6, 30)),
        (date(year - 1, 7, 1), date(year - 1, 12, 31)),
        (today - timedelta(days=90), today),
        (None, today - timedelta(days=200)),
        (today - timedelta(days=30), None),
        (today, today),
    ]


@pytest.mark.parametrize("period", _periods())
def test_every_period_counts_exactly(world, dated_world, period):
    date_from, date_to = period
    for mode in MODES:
        filters = Filters(date_from=date_from, date_to=date_to, mode=mode)
        for viewer, within in (
            (world.admin, None),
            (world.admin, world.ministry),
            (world.hr_a, world.dept_a),
        ):
            label = f"{period} {mode} {viewer.username}"
            check_unit_report(viewer, within, filters, label)
            check_course_report(viewer, within, filters, label)


def test_course_filter_and_yearly_hours(world, dated_world):
    course = db.session.scalar(db.select(Course).where(Course.slug == "d2"))
    check_unit_report(world.admin, world.ministry, Filters(course_id=course.id), "one course")
    year = to_local(utcnow()).year
    for y in (year, year - 1):
        check_people(world.admin, None, Filters(), y, f"hours {y}")
        check_people(world.hr_a, world.dept_a, Filters(), y, f"hours {y} hr")
