"""Report pages' contents: by unit (rolled up the tree), by course, by class, by person.

Each function takes the viewer's ``Scope`` and the ``Filters`` and returns frozen rows
(``elearn.reports.data``) computed by ``elearn.reports.queries``; pages, charts and
exports render the same rows, so they always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from elearn.accounts.models import OrgUnit, User
from elearn.core.clock import from_local, to_local
from elearn.core.services import NotFound
from elearn.courses.models import Course, Enrolment
from elearn.extensions import db
from elearn.reports import queries
from elearn.reports.classes import courses_of
from elearn.reports.data import Counts, PersonHours, Report, Row
from elearn.reports.models import TrainingClass
from elearn.reports.queries import Filters, Scope
from elearn.surveys import services as surveys


def _unit_label(unit: OrgUnit, merged_names: dict[int, str]) -> str:
    if unit.active:
        return unit.code
    into = merged_names.get(unit.merged_into_id or 0, "")
    return _("%(code)s, merged into %(name)s", code=unit.code, name=into)


def report_units(scope: Scope, within: OrgUnit | None) -> list[OrgUnit]:
    """Return the units whose rows a unit report shows: ``within``'s children, or the roots.

    Without ``within``: admins see the top-level units; hr their own scope units.
    """
    if within is not None:
        query = select(OrgUnit).where(OrgUnit.parent_id == within.id)
    elif scope.everything:
        query = select(OrgUnit).where(OrgUnit.parent_id.is_(None))
    else:
        query = select(OrgUnit).where(OrgUnit.path.in_(scope.paths))
    units = list(db.session.scalars(query))
    if within is None and not scope.everything:
        # One hr root inside another's subtree would count twice: keep the outer ones.
        units = [u for u in units if not any(o.id != u.id and o.contains(u) for o in units)]
    return sorted(units, key=lambda u: (not u.active, u.name_sort))


def unit_report(scope: Scope, within: OrgUnit | None, filters: Filters) -> Report:
    """Rows per child unit of ``within`` (or per root), each rolled up over its subtree.

    The first row, when ``within`` is given, counts the people placed in the unit
    itself. Merged units appear while runs are still counted there (completion mode).
    """
    per_unit = queries.aggregate(scope, filters, "unit", within=within)
    people = queries.people_per_unit(within, scope)
    paths = queries.unit_paths(within)
    children = report_units(scope, within)
    merged_names = dict(
        db.session.execute(
            select(OrgUnit.id, OrgUnit.name).where(
                OrgUnit.id.in_({u.merged_into_id for u in children if u.merged_into_id})
            )
        ).all()
    )
    rows = []
    total = Counts(people=0)
    if within is not None:
        direct = _with_people(per_unit.get(within.id, Counts()), people.get(within.id, 0))
        if direct.enrolled or direct.people:  # most upper units have nobody placed in them
            rows.append(
                Row(
                    key=within.id,
                    label=_("Directly in %(name)s", name=within.name),
                    counts=direct,
                    note=within.code,
                    kind="direct",
                )
            )
            total = total + direct
    for child in children:
        counts = queries.roll_up(per_unit, paths, child.path)
        head = sum(n for uid, n in people.items() if paths.get(uid, "").startswith(child.path))
        counts = _with_people(counts, head)
        if not child.active and counts.enrolled == 0:
            continue
        rows.append(
            Row(
                key=child.id,
                label=child.name,
                counts=counts,
                note=_unit_label(child, merged_names),
                kind="unit",
            )
        )
        total = total + counts
    title = within.name if within else _("All my units")
    return Report(title=title, rows=tuple(rows), total=total)


def _with_people(counts: Counts, people: int) -> Counts:
    return Counts(**{**counts.__dict__, "people": people})


def course_report(scope: Scope, within: OrgUnit | None, filters: Filters) -> Report:
    """Rows per course with runs in the scope (and in ``within``'s subtree)."""
    per_course = queries.aggregate(scope, filters, "course", within=within)
    titles = dict(
        db.session.execute(
            select(Course.id, Course.title).where(Course.id.in_(list(per_course)))
        ).all()
    )
    order = dict(
        db.session.execute(
            select(Course.id, Course.title_sort).where(Course.id.in_(list(per_course)))
        ).all()
    )
    rows = tuple(
        Row(key=cid, label=titles[cid], counts=counts, kind="course")
        for cid, counts in sorted(per_course.items(), key=lambda kv: order[kv[0]])
    )
    total = sum((r.counts for r in rows), Counts())
    # Satisfaction is the course's, whoever answered: anonymous answers have no unit.
    satisfaction = {row.key: surveys.satisfaction(course_id=row.key) for row in rows}
    return Report(
        title=within.name if within else _("All my units"),
        rows=rows,
        total=total,
        extra={"satisfaction": satisfaction},
    )


def class_report(training_class: TrainingClass, filters: Filters) -> Report:
    """Rows per course of a class, over its participants' class runs (from any unit)."""
    scope = Scope(class_ids=(training_class.id,))
    class_filters = Filters(
        date_from=filters.date_from,
        date_to=filters.date_to,
        class_id=training_class.id,
        mode=filters.mode,
    )
    per_course = queries.aggregate(scope, class_filters, "course")
    rows = tuple(
        Row(key=c.id, label=c.title, counts=per_course.get(c.id, Counts()), kind="course")
        for c in courses_of(training_class)
    )
    total = sum((r.counts for r in rows), Counts())
    return Report(title=training_class.name, rows=rows, total=total)


@dataclass(frozen=True)
class ParticipantRow:
    """One participant of a class: their unit and their class runs' state per course."""

    user_id: int
    full_name: str
    unit_name: str
    unit_code: str
    #: {course id: (status, overdue, grade)} of the participant's class run.
    runs: dict


def class_participants(training_class: TrainingClass, filters: Filters) -> list[ParticipantRow]:
    """Return every participant with a class run, in Vietnamese name order."""
    scope = Scope(class_ids=(training_class.id,))
    class_filters = Filters(
        class_id=training_class.id,
        mode=filters.mode,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    people: dict[int, ParticipantRow] = {}
    for run, person, course, unit in db.session.execute(
        queries.runs_query(scope, class_filters)
    ).all():
        row = people.get(person.id)
        if row is None:
            row = people[person.id] = ParticipantRow(
                person.id, person.full_name, unit.name, unit.code, {}
            )
        row.runs[course.id] = (
            queries.status_in(run, class_filters),
            queries.is_overdue(run, class_filters),
            run.grade,
        )
    names = dict(
        db.session.execute(select(User.id, User.name_sort).where(User.id.in_(list(people)))).all()
    )
    return sorted(people.values(), key=lambda r: (names.get(r.user_id, ""), r.user_id))


def annual_minimum() -> float:
    """Return the yearly training hours each person should reach (a site setting)."""
    return float(current_app.config["REPORTS_ANNUAL_HOURS"])


def people_page(
    scope: Scope,
    within: OrgUnit | None,
    filters: Filters,
    year: int,
    *,
    page: int = 1,
    per_page: int = 50,
    short_only: bool = False,
):
    """Return (a page of PersonHours, the total count) for people in scope.

    People are those whose current unit lies in ``within`` (or the scope), active, in
    Vietnamese name order. ``short_only`` keeps those under the yearly minimum.
    """
    people = select(User.id).join(OrgUnit, OrgUnit.id == User.unit_id).where(User.active.is_(True))
    if within is not None:
        people = people.where(OrgUnit.path >= within.path, OrgUnit.path < within.subtree_upper)
    if not scope.everything:
        if not scope.paths:
            raise NotFound(_("Unit not found."))
        people = people.where(
            or_(*[and_(OrgUnit.path >= p, OrgUnit.path < p[:-1] + "0") for p in scope.paths])
        )
    minimum = annual_minimum()
    if short_only:
        start, end = _year_bounds(year)
        credited = (
            select(Enrolment.user_id)
            .join(Course, Course.id == Enrolment.course_id)
            .where(Enrolment.completed_at >= start, Enrolment.completed_at < end)
            .group_by(Enrolment.user_id)
            .having(func.coalesce(func.sum(Course.estimated_minutes), 0) >= minimum * 60)
        )
        people = people.where(User.id.not_in(credited))
    total = db.session.scalar(select(func.count()).select_from(people.subquery()))
    ids = list(
        db.session.scalars(
            people.order_by(User.name_sort, User.id).limit(per_page).offset((page - 1) * per_page)
        )
    )
    return person_hours(scope, ids, filters, year), total


def _year_bounds(year: int):
    return from_local(datetime(year, 1, 1)), from_local(datetime(year + 1, 1, 1))


def person_hours(scope: Scope, ids: list[int], filters: Filters, year: int) -> list[PersonHours]:
    """Return PersonHours for the given people, in the order given."""
    if not ids:
        return []
    runs = queries.aggregate(scope, filters, "person", where=[Enrolment.user_id.in_(ids)])
    hours = queries.hours_by_person(ids, year, scope, mode=filters.mode)
    info = {
        uid: (name, username, unit_name, code)
        for uid, name, username, unit_name, code in db.session.execute(
            select(User.id, User.full_name, User.username, OrgUnit.name, OrgUnit.code)
            .join(OrgUnit, OrgUnit.id == User.unit_id)
            .where(User.id.in_(ids))
        )
    }
    minimum = annual_minimum()
    result = []
    for uid in ids:
        counts = runs.get(uid, Counts())
        name, username, unit_name, code = info[uid]
        result.append(
            PersonHours(
                user_id=uid,
                full_name=name,
                username=username,
                unit_name=unit_name,
                unit_code=code,
                runs=counts.enrolled,
                completed=counts.completed,
                overdue=counts.overdue,
                hours=round(hours.get(uid, 0.0), 2),
                minimum=minimum,
            )
        )
    return result


def person_runs(scope: Scope, person: User, filters: Filters) -> list:
    """Return (run, course, unit, status in the period, overdue) per run the scope sees."""
    rows = db.session.execute(queries.runs_query(scope, filters, user_id=person.id)).all()
    return [
        (run, course, unit, queries.status_in(run, filters), queries.is_overdue(run, filters))
        for run, _person, course, unit in rows
    ]


def hours_per_year(scope: Scope, person: User) -> list[tuple[int, float]]:
    """Return [(year, credited hours)] for a person, newest year first (scope applied)."""
    years = set()
    for completed_at in db.session.scalars(
        select(Enrolment.completed_at).where(
            Enrolment.user_id == person.id, Enrolment.completed_at.is_not(None)
        )
    ):
        years.add(to_local(completed_at).year)
    return [
        (year, round(queries.hours_by_person([person.id], year, scope).get(person.id, 0.0), 2))
        for year in sorted(years, reverse=True)
    ]
