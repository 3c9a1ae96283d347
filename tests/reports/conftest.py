"""Brute-force recomputation of every report number, in plain Python over raw rows.

Nothing here calls the report code: runs, people, units and transfers are read as
plain rows and each number is computed again from the definitions in
``elearn.reports.data``, so the SQL aggregates are checked against an independent
implementation. A run's unit "at completion" is found from the transfer history,
not from the column the progress service fills.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from elearn.accounts.models import OrgUnit, User, UserTransfer
from elearn.core.clock import due_at, from_local, to_local, utcnow
from elearn.courses.models import Course, Enrolment
from elearn.extensions import db
from elearn.reports.data import Counts
from elearn.reports.models import AssignmentRun, TrainingClass


@dataclass
class Snapshot:
    """Every row the reports read, loaded once."""

    runs: list[Enrolment]
    users: dict[int, User]
    units: dict[int, OrgUnit]
    courses: dict[int, Course]
    transfers: dict[int, list[UserTransfer]]
    class_runs: dict[int, set[int]]


def snapshot() -> Snapshot:
    db.session.expire_all()
    transfers: dict[int, list[UserTransfer]] = {}
    for t in db.session.scalars(select(UserTransfer).order_by(UserTransfer.at, UserTransfer.id)):
        transfers.setdefault(t.user_id, []).append(t)
    class_runs: dict[int, set[int]] = {}
    for class_id, enrolment_id in db.session.execute(
        select(TrainingClass.id, AssignmentRun.enrolment_id).join(
            AssignmentRun, AssignmentRun.assignment_id == TrainingClass.assignment_id
        )
    ):
        class_runs.setdefault(class_id, set()).add(enrolment_id)
    return Snapshot(
        runs=list(db.session.scalars(select(Enrolment))),
        users={u.id: u for u in db.session.scalars(select(User))},
        units={u.id: u for u in db.session.scalars(select(OrgUnit))},
        courses={c.id: c for c in db.session.scalars(select(Course))},
        transfers=transfers,
        class_runs=class_runs,
    )


def unit_at(snap: Snapshot, user_id: int, moment: datetime) -> int:
    """The person's unit at ``moment``, replayed from their transfers."""
    history = snap.transfers.get(user_id, [])
    unit = history[0].from_unit_id if history else snap.users[user_id].unit_id
    for transfer in history:
        if transfer.at <= moment:
            unit = transfer.to_unit_id
    return unit


def attributed_unit(snap: Snapshot, run: Enrolment, mode: str) -> int:
    if mode == "completion" and run.completed_at is not None:
        return unit_at(snap, run.user_id, run.completed_at)
    return snap.users[run.user_id].unit_id


def bounds(date_from: date | None, date_to: date | None):
    start = from_local(datetime.combine(date_from, time.min)) if date_from else None
    end = due_at(date_to) if date_to else None
    return start, end


def counts_of(runs: list[Enrolment], date_from=None, date_to=None, now=None) -> Counts:
    """Counts of runs by the definitions in elearn.reports.data, one run at a time."""
    now = now or utcnow()
    start, end = bounds(date_from, date_to)
    cutoff = min(end, now) if end else now
    enrolled = not_started = completed = overdue = graded = passed = seconds = 0
    grade_sum = 0.0
    for run in runs:
        if end is not None and not run.started_at < end:
            continue
        if start is not None and run.completed_at is not None and run.completed_at < start:
            continue
        enrolled += 1
        done = run.completed_at is not None and (end is None or run.completed_at < end)
        completed += done
        not_started += run.status == "not_started"
        late = run.due_at is not None and run.due_at < cutoff
        if late and (run.completed_at is None or run.completed_at >= cutoff):
            overdue += 1
        if run.grade is not None:
            graded += 1
            grade_sum += run.grade
            passed += done
        seconds += run.time_spent
    return Counts(
        enrolled=enrolled,
        not_started=not_started,
        completed=completed,
        overdue=overdue,
        graded=graded,
        passed=passed,
        grade_sum=grade_sum,
        seconds=seconds,
    )


def in_paths(snap: Snapshot, unit_id: int, paths) -> bool:
    return any(snap.units[unit_id].path.startswith(p) for p in paths)


def visible_runs(snap: Snapshot, mode: str, paths=None, class_ids=(), course_id=None):
    """Runs a scope may see: unit paths (None = everything) or classes."""
    result = []
    for run in snap.runs:
        if course_id is not None and run.course_id != course_id:
            continue
        unit = attributed_unit(snap, run, mode)
        seen = paths is None or in_paths(snap, unit, paths)
        seen = seen or any(run.id in snap.class_runs.get(c, set()) for c in class_ids)
        if seen:
            result.append(run)
    return result


def people_under(snap: Snapshot, path: str) -> int:
    return sum(
        1 for u in snap.users.values() if u.active and snap.units[u.unit_id].path.startswith(path)
    )


def assert_same(actual: Counts, expected: Counts, where: str) -> None:
    for name in ("enrolled", "not_started", "completed", "overdue", "graded", "passed", "seconds"):
        assert getattr(actual, name) == getattr(expected, name), f"{where}: {name}"
    assert abs(actual.grade_sum - expected.grade_sum) < 1e-6, f"{where}: grade_sum"


def local_year_bounds(year: int):
    return from_local(datetime(year, 1, 1)), from_local(datetime(year + 1, 1, 1))


def year_of(moment: datetime) -> int:
    return to_local(moment).year


@pytest.fixture
def days_ago():
    """Return a naive UTC moment this many days (and hours) before now."""
    now = utcnow()

    def at(days: float) -> datetime:
        return now - timedelta(days=days)

    return at
