"""Report numbers as SQL aggregates over the runs' cached state, always inside a scope.

Every report reads ``enrolments`` (the run cache kept by the progress service) with one
GROUP BY per page: by the run's unit, course, person or class. A run belongs to a unit
either by the learner's current unit (``Enrolment.unit_id``) or, when asked, by their
unit when they completed it (``completed_unit_id``; runs not completed use the current
unit). Rolling unit numbers up the tree happens on the few grouped rows, never on runs.

A ``Scope`` says what a viewer may see: everything (admins), the runs of units in some
subtrees (hr), or the runs of some training classes (a class's page, for its organisers
and the hr running it). Every query takes one, so nothing outside it is ever counted.
The definitions of the numbers are in ``elearn.reports.data``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import and_, case, false, func, literal, or_, select

from elearn.accounts import services as accounts
from elearn.accounts.models import OrgUnit, User
from elearn.core.clock import due_at, from_local, utcnow
from elearn.courses.models import Course, Enrolment
from elearn.extensions import db
from elearn.reports.data import Counts
from elearn.reports.models import AssignmentRun, TrainingClass

MODES = ("current", "completion")


@dataclass(frozen=True)
class Scope:
    """What a viewer may see: everything, some unit subtrees, some classes' runs."""

    everything: bool = False
    #: Materialised paths of the subtrees whose runs and people may be seen (hr).
    paths: tuple[str, ...] = ()
    #: Training classes whose runs may be seen (organisers, and hr running them).
    class_ids: tuple[int, ...] = ()

    @property
    def has_units(self) -> bool:
        """Tell whether unit reports make sense for this viewer."""
        return self.everything or bool(self.paths)


def scope_of(user: User) -> Scope:
    """Return the report scope of ``user``: everything (admins) or their hr subtrees.

    Organisers see their classes on the class pages, which build a class scope of their
    own (``Scope(class_ids=...)``); unit, course and person reports are for hr and admins.
    """
    if user.is_admin:
        return Scope(everything=True)
    return Scope(paths=tuple(accounts.scope_paths(user) or ()))


@dataclass(frozen=True)
class Filters:
    """Which runs a report counts, besides the scope."""

    date_from: date | None = None
    date_to: date | None = None
    course_id: int | None = None
    class_id: int | None = None
    #: ``current`` unit of the learner, or their unit at ``completion``.
    mode: str = "current"

    @property
    def start(self) -> datetime | None:
        """The period's first instant (naive UTC), or None."""
        return from_local(datetime.combine(self.date_from, time.min)) if self.date_from else None

    @property
    def end(self) -> datetime | None:
        """The instant the period ends (exclusive, naive UTC), or None."""
        return due_at(self.date_to) if self.date_to else None


def _path_ranges(column, paths: Iterable[str]):
    return or_(*[and_(column >= p, column < p[:-1] + "0") for p in paths])


def unit_column(mode: str):
    """Return the column a run's unit is read from in ``mode``."""
    if mode == "completion":
        return func.coalesce(Enrolment.completed_unit_id, Enrolment.unit_id)
    return Enrolment.unit_id


def class_runs(class_ids: Iterable[int]):
    """Return a select of the ids of runs made by the given classes."""
    return (
        select(AssignmentRun.enrolment_id)
        .join(TrainingClass, TrainingClass.assignment_id == AssignmentRun.assignment_id)
        .where(TrainingClass.id.in_(list(class_ids)))
    )


def _visible(scope: Scope):
    """Return the predicate of runs ``scope`` may see (the query joins the run's unit)."""
    if scope.everything:
        return None
    parts = []
    if scope.paths:
        parts.append(_path_ranges(OrgUnit.path, scope.paths))
    if scope.class_ids:
        parts.append(Enrolment.id.in_(class_runs(scope.class_ids)))
    return or_(*parts) if parts else false()


def _measures(filters: Filters, now: datetime):
    """Return the aggregate columns of a Counts, in its field order."""
    end = filters.end
    cutoff = min(end, now) if end else now
    done = Enrolment.completed_at.is_not(None)
    if end is not None:
        done = and_(done, Enrolment.completed_at < end)
    late = and_(
        Enrolment.due_at < cutoff,
        or_(Enrolment.completed_at.is_(None), Enrolment.completed_at >= cutoff),
    )
    graded = Enrolment.grade.is_not(None)

    def count_if(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return (
        func.count(),
        count_if(Enrolment.status == "not_started"),
        count_if(done),
        count_if(late),
        count_if(graded),
        count_if(and_(graded, done)),
        func.coalesce(func.sum(Enrolment.grade), 0.0),
        func.coalesce(func.sum(Enrolment.time_spent), 0),
    )


def _in_period(filters: Filters):
    conditions = []
    if filters.end is not None:
        conditions.append(Enrolment.started_at < filters.end)
    if filters.start is not None:
        conditions.append(
            or_(Enrolment.completed_at.is_(None), Enrolment.completed_at >= filters.start)
        )
    if filters.course_id is not None:
        conditions.append(Enrolment.course_id == filters.course_id)
    if filters.class_id is not None:
        conditions.append(Enrolment.id.in_(class_runs([filters.class_id])))
    return conditions


#: What ``aggregate`` groups by, given the column a part of the query reads units from.
GROUPS = {
    "unit": lambda unit_id: unit_id,
    "course": lambda _unit_id: Enrolment.course_id,
    "person": lambda _unit_id: Enrolment.user_id,
    "all": lambda _unit_id: literal(1),
}


def _unit_parts(mode: str) -> list[tuple]:
    """Return (unit column, condition) pairs that together cover every run once.

    In completion mode a run counts in ``completed_unit_id`` when it has one, else in
    ``unit_id``. Written as two plain joins rather than one join on COALESCE(...), each
    part can use its own index (``ix_enrolments_unit_report``, and the partial
    ``ix_enrolments_completed_unit_report``): one join on the expression reads every run.
    """
    if mode == "completion":
        return [
            (Enrolment.unit_id, Enrolment.completed_unit_id.is_(None)),
            (Enrolment.completed_unit_id, Enrolment.completed_unit_id.is_not(None)),
        ]
    return [(Enrolment.unit_id, None)]


def aggregate(
    scope: Scope,
    filters: Filters,
    by: str,
    *,
    within: OrgUnit | None = None,
    where: Iterable = (),
    now: datetime | None = None,
) -> dict:
    """Return {key: Counts} for the runs ``scope`` may see, grouped ``by`` a key of GROUPS.

    ``within`` limits to runs of that unit's subtree (by the mode's unit).
    """
    measures = _measures(filters, now or utcnow())
    visible = _visible(scope)
    result: dict = {}
    for unit_id, part in _unit_parts(filters.mode):
        group = GROUPS[by](unit_id)
        query = (
            select(group, *measures)
            .select_from(Enrolment)
            .join(OrgUnit, OrgUnit.id == unit_id)
            .where(*_in_period(filters), *where)
            .group_by(group)
        )
        if part is not None:
            query = query.where(part)
        if visible is not None:
            query = query.where(visible)
        if within is not None:
            query = query.where(OrgUnit.path >= within.path, OrgUnit.path < within.subtree_upper)
        for key, *numbers in db.session.execute(query):
            enrolled, not_started, completed, overdue, graded, passed, grade_sum, seconds = numbers
            counts = Counts(
                enrolled=int(enrolled),
                not_started=int(not_started),
                completed=int(completed),
                overdue=int(overdue),
                graded=int(graded),
                passed=int(passed),
                grade_sum=float(grade_sum or 0.0),
                seconds=int(seconds or 0),
            )
            result[key] = result[key] + counts if key in result else counts
    return result


def people_per_unit(within: OrgUnit | None, scope: Scope) -> dict[int, int]:
    """Return {unit id: active people whose current unit it is} in a subtree and scope."""
    query = (
        select(User.unit_id, func.count())
        .join(OrgUnit, OrgUnit.id == User.unit_id)
        .where(User.active.is_(True))
        .group_by(User.unit_id)
    )
    if within is not None:
        query = query.where(OrgUnit.path >= within.path, OrgUnit.path < within.subtree_upper)
    if not scope.everything:
        query = query.where(_path_ranges(OrgUnit.path, scope.paths) if scope.paths else false())
    return dict(db.session.execute(query).all())


def roll_up(per_unit: dict[int, Counts], paths: dict[int, str], root_path: str) -> Counts:
    """Return the sum of the counts of every unit whose path lies under ``root_path``."""
    total = Counts()
    for unit_id, counts in per_unit.items():
        path = paths.get(unit_id)
        if path is not None and path.startswith(root_path):
            total = total + counts
    return total


def unit_paths(within: OrgUnit | None) -> dict[int, str]:
    """Return {unit id: path} for a subtree (merged units included), or the whole tree."""
    query = select(OrgUnit.id, OrgUnit.path)
    if within is not None:
        query = query.where(OrgUnit.path >= within.path, OrgUnit.path < within.subtree_upper)
    return dict(db.session.execute(query).all())


def hours_by_person(
    user_ids: list[int], year: int, scope: Scope, *, mode: str = "current"
) -> dict[int, float]:
    """Return {user id: credited training hours in ``year``} (Asia/Ho_Chi_Minh).

    A completed run credits its course's estimated length in the year it was completed.
    """
    if not user_ids:
        return {}
    start = from_local(datetime(year, 1, 1))
    end = from_local(datetime(year + 1, 1, 1))
    query = (
        select(Enrolment.user_id, func.coalesce(func.sum(Course.estimated_minutes), 0))
        .join(Course, Course.id == Enrolment.course_id)
        .join(OrgUnit, OrgUnit.id == unit_column(mode))
        .where(
            Enrolment.user_id.in_(user_ids),
            Enrolment.completed_at >= start,
            Enrolment.completed_at < end,
        )
        .group_by(Enrolment.user_id)
    )
    visible = _visible(scope)
    if visible is not None:
        query = query.where(visible)
    return {uid: float(minutes) / 60 for uid, minutes in db.session.execute(query)}


def runs_query(scope: Scope, filters: Filters, *, within: OrgUnit | None = None, user_id=None):
    """Return a select of (Enrolment, User, Course, unit OrgUnit) rows, one per run.

    For the person page and the per-run export, in unit, name and course order.
    """
    unit_id = unit_column(filters.mode)
    query = (
        select(Enrolment, User, Course, OrgUnit)
        .join(User, User.id == Enrolment.user_id)
        .join(Course, Course.id == Enrolment.course_id)
        .join(OrgUnit, OrgUnit.id == unit_id)
        .where(*_in_period(filters))
    )
    visible = _visible(scope)
    if visible is not None:
        query = query.where(visible)
    if within is not None:
        query = query.where(OrgUnit.path >= within.path, OrgUnit.path < within.subtree_upper)
    if user_id is not None:
        query = query.where(Enrolment.user_id == user_id)
    return query.order_by(OrgUnit.path, User.name_sort, User.id, Course.title_sort, Enrolment.run)


def count_runs(scope: Scope, filters: Filters, *, within: OrgUnit | None = None) -> int:
    """Return how many runs ``runs_query`` would give (to choose an export job or not)."""
    counts = aggregate(scope, filters, "all", within=within)
    return sum(c.enrolled for c in counts.values())


def is_overdue(run: Enrolment, filters: Filters, now: datetime | None = None) -> bool:
    """Tell whether a run counts as overdue in a report with ``filters`` (as the SQL does)."""
    now = now or utcnow()
    cutoff = min(filters.end, now) if filters.end else now
    return (
        run.due_at is not None
        and run.due_at < cutoff
        and (run.completed_at is None or run.completed_at >= cutoff)
    )


def status_in(run: Enrolment, filters: Filters) -> str:
    """Return a run's status as a report with ``filters`` counts it (see reports.data)."""
    if run.completed_at is not None and (filters.end is None or run.completed_at < filters.end):
        return "completed"
    return "not_started" if run.status == "not_started" else "in_progress"
