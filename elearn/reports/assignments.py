"""Mandatory assignments: courses that units (with their subtrees) or chosen people must take.

- ``create_assignment`` records the courses, the targets, the due date and an optional
  recurrence, then enrols everyone it covers (``apply``): a person's open run of the
  course is adopted, a completed one satisfies it, otherwise a run starts (source
  ``assigned``, or ``class`` for a training class). Each run is linked to the
  assignment by an ``AssignmentRun`` row, so applying twice enrols nobody twice.
- People who join a target unit later (new accounts, transfers, merges) are enrolled
  when they arrive (``accounts.person_joined``), with ``join_days`` to finish if the
  due date is near or past.
- A refresher (``recur_months``) opens a new run ``join_days`` before the previous
  completion expires, due when it expires (``open_refreshers``, run by the worker).
- Withdrawing stops all of that and makes the runs still open voluntary again (no due
  date); every run and all progress stay.

Who may manage what: hr may assign to units and people inside their subtrees, and see
the assignments whose owner unit lies in their subtrees; admins everything.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, event, false, func, or_, select
from sqlalchemy.orm import Session

from elearn.accounts import services as accounts
from elearn.accounts.models import OrgUnit, User
from elearn.core.clock import due_at, to_local, utcnow
from elearn.core.services import AUDIT_LABELS, NotFound, ServiceError, record_audit
from elearn.courses import services as courses
from elearn.courses.models import Course, Enrolment
from elearn.extensions import db
from elearn.jobs import services as jobs
from elearn.reports.models import (
    Assignment,
    AssignmentCourse,
    AssignmentRun,
    AssignmentTarget,
    TrainingClass,
)

log = logging.getLogger(__name__)

AUDIT_LABELS.update(
    {
        "assignment.created": _l("Courses assigned"),
        "assignment.withdrawn": _l("Assignment withdrawn"),
        "assignment.refreshers": _l("Refresher runs opened"),
    }
)

#: Assignments covering at most this many people are applied in the request; more go
#: to a job with progress.
APPLY_INLINE = 300
#: Longest recurrence accepted, in months.
MAX_RECUR_MONTHS = 120


# --- who may see and manage ------------------------------------------------------------------


def _owner_in_scope(actor: User):
    """Return a predicate: the assignment's owner unit lies in ``actor``'s subtrees."""
    paths = accounts.scope_paths(actor)
    if paths is None:
        return None
    if not paths:
        return Assignment.id.is_(None)
    return or_(*[and_(OrgUnit.path >= p, OrgUnit.path < p[:-1] + "0") for p in paths])


def assignments_for(actor: User, *, include_withdrawn: bool = False) -> list[Assignment]:
    """Return the (non-class) assignments ``actor`` may manage, newest first."""
    query = (
        select(Assignment)
        .join(OrgUnit, OrgUnit.id == Assignment.owner_unit_id)
        .where(Assignment.kind == "assignment")
        .order_by(Assignment.id.desc())
    )
    predicate = _owner_in_scope(actor)
    if predicate is not None:
        query = query.where(predicate)
    if not include_withdrawn:
        query = query.where(Assignment.withdrawn_at.is_(None))
    return list(db.session.scalars(query))


def assignment_for(actor: User, assignment_id: int) -> Assignment:
    """Return an assignment ``actor`` may manage, else raise NotFound."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.kind != "assignment":
        raise NotFound(_l("Assignment not found."))
    owner = db.session.get(OrgUnit, assignment.owner_unit_id)
    if not accounts.unit_in_scope(actor, owner):
        raise NotFound(_l("Assignment not found."))
    return assignment


# --- making one ------------------------------------------------------------------------------


def _check_courses(course_ids: list[int]) -> list[Course]:
    if not course_ids:
        raise ServiceError(_l("Choose at least one course."), "course_ids")
    found = list(db.session.scalars(select(Course).where(Course.id.in_(course_ids))))
    if len(found) != len(set(course_ids)):
        raise ServiceError(_l("Unknown course."), "course_ids")
    drafts = [c.title for c in found if c.status != "published"]
    if drafts:
        raise ServiceError(
            _l("Only published courses can be assigned: %(titles)s.", titles=", ".join(drafts)),
            "course_ids",
        )
    return found


def _check_targets(actor: User, unit_ids: list[int], user_ids: list[int]) -> None:
    if not unit_ids and not user_ids:
        raise ServiceError(_l("Choose at least one unit or one person."), "unit_ids")
    for unit_id in unit_ids:
        unit = db.session.get(OrgUnit, unit_id)
        if unit is None or not unit.active or not accounts.unit_in_scope(actor, unit):
            raise ServiceError(_l("Choose units you manage."), "unit_ids")
    for user_id in user_ids:
        try:
            accounts.get_user_for(actor, user_id)
        except NotFound as exc:
            raise ServiceError(_l("Choose people you manage."), "user_ids") from exc


def people_named(actor: User, usernames: list[str]) -> list[int]:
    """Return the ids of the active people with these usernames whom ``actor`` manages.

    Raise ServiceError naming every username that is unknown or outside the actor's
    units (the same message for both: it must not tell who exists elsewhere).
    """
    if not usernames:
        return []
    found = {
        person.username: person
        for person in db.session.scalars(
            select(User).where(User.username.in_(usernames), User.active.is_(True))
        )
    }
    missing = [
        name
        for name in usernames
        if name not in found or not accounts.unit_in_scope(actor, found[name].unit)
    ]
    if missing:
        raise ServiceError(
            _l(
                "Not found among the active people of your units: %(names)s.",
                names=", ".join(missing[:20]) + (" …" if len(missing) > 20 else ""),
            ),
            "usernames",
        )
    return [found[name].id for name in usernames]


def check_schedule(due_on: date | None, recur_months: int | None, join_days: int) -> None:
    """Refuse a due date in the past, an absurd recurrence or a non-positive grace period."""
    if due_on is not None and due_on < to_local(utcnow()).date():
        raise ServiceError(_l("The due date has already passed."), "due_on")
    if recur_months is not None and not 1 <= recur_months <= MAX_RECUR_MONTHS:
        raise ServiceError(
            _l("Repeat every 1 to %(n)d months, or leave it empty.", n=MAX_RECUR_MONTHS),
            "recur_months",
        )
    if not 1 <= join_days <= 365:
        raise ServiceError(_l("Give from 1 to 365 days."), "join_days")


def build(
    actor: User,
    *,
    kind: str,
    owner_unit: OrgUnit,
    course_ids: list[int],
    unit_ids: list[int],
    user_ids: list[int],
    due_on: date | None,
    recur_months: int | None = None,
    join_days: int = 30,
) -> Assignment:
    """Check and add an assignment row with its courses and targets (not applied yet)."""
    _check_courses(course_ids)
    check_schedule(due_on, recur_months, join_days)
    targets_changed()  # new targets for people who arrive later
    assignment = Assignment(
        kind=kind,
        owner_unit_id=owner_unit.id,
        due_on=due_on,
        recur_months=recur_months,
        join_days=join_days,
        created_by_id=actor.id,
    )
    assignment.courses = [AssignmentCourse(course_id=c) for c in sorted(set(course_ids))]
    assignment.targets = [AssignmentTarget(unit_id=u) for u in sorted(set(unit_ids))] + [
        AssignmentTarget(user_id=u) for u in sorted(set(user_ids))
    ]
    db.session.add(assignment)
    db.session.flush()
    return assignment


def create_assignment(
    actor: User,
    *,
    course_ids: list[int],
    unit_ids: list[int],
    user_ids: list[int],
    due_on: date | None,
    recur_months: int | None = None,
    join_days: int = 30,
) -> Assignment:
    """Assign courses to units (with their subtrees) and people; enrol them (or queue it).

    The owner unit, which decides who may manage it later, is the deepest unit of the
    actor's scope that holds every target (for an admin, the targets' common ancestor).
    """
    _check_targets(actor, unit_ids, user_ids)
    assignment = build(
        actor,
        kind="assignment",
        owner_unit=_owner_unit(actor, unit_ids, user_ids),
        course_ids=course_ids,
        unit_ids=unit_ids,
        user_ids=user_ids,
        due_on=due_on,
        recur_months=recur_months,
        join_days=join_days,
    )
    record_audit(
        "assignment.created",
        actor_id=actor.id,
        target_type="assignment",
        target_id=assignment.id,
        detail=describe(assignment),
    )
    return assignment


def _owner_unit(actor: User, unit_ids: list[int], user_ids: list[int]) -> OrgUnit:
    paths = [db.session.get(OrgUnit, u).path for u in unit_ids]
    paths += [db.session.get(User, u).unit.path for u in user_ids]
    common = _common_prefix(paths)
    mine = accounts.scope_paths(actor)
    if mine is not None and not any(common.startswith(p) for p in mine):
        # Targets in two of the actor's subtrees: the first target's subtree owns it.
        common = next(p for p in mine if paths[0].startswith(p))
    return db.session.get(OrgUnit, int(common.strip("/").split("/")[-1]))


def _common_prefix(paths: list[str]) -> str:
    """Return the path of the deepest unit above (or equal to) every path given."""
    parts = [p.strip("/").split("/") for p in paths]
    common: list[str] = []
    for column in zip(*parts, strict=False):
        if len(set(column)) != 1:
            break
        common.append(column[0])
    if not common:  # targets in different trees: the first one's top unit owns it
        common = parts[0][:1]
    return "/" + "/".join(common) + "/"


def describe(assignment: Assignment) -> str:
    """Return a one-line account of an assignment for the audit log."""
    titles = db.session.scalars(
        select(Course.slug)
        .join(AssignmentCourse, AssignmentCourse.course_id == Course.id)
        .where(AssignmentCourse.assignment_id == assignment.id)
    )
    units = db.session.scalars(
        select(OrgUnit.code)
        .join(AssignmentTarget, AssignmentTarget.unit_id == OrgUnit.id)
        .where(AssignmentTarget.assignment_id == assignment.id)
    )
    people = sum(1 for t in assignment.targets if t.user_id)
    return (
        f"{', '.join(titles)} -> {', '.join(units) or '-'} + {people} people; "
        f"due {assignment.due_on or '-'}; every {assignment.recur_months or '-'} months"
    )


# --- enrolling -------------------------------------------------------------------------------


def members_query(assignment: Assignment):
    """Return a select of the ids of active people an assignment covers now."""
    unit_ids = [t.unit_id for t in assignment.targets if t.unit_id]
    user_ids = [t.user_id for t in assignment.targets if t.user_id]
    conditions = []
    if unit_ids:
        ranges = [
            and_(OrgUnit.path >= u.path, OrgUnit.path < u.subtree_upper)
            for u in db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(unit_ids)))
        ]
        conditions.append(or_(*ranges))
    if user_ids:
        conditions.append(User.id.in_(user_ids))
    return (
        select(User.id)
        .join(OrgUnit, OrgUnit.id == User.unit_id)
        .where(User.active.is_(True), or_(false(), *conditions))
        .order_by(User.id)
    )


def count_members(assignment: Assignment) -> int:
    """Return how many active people an assignment covers now."""
    return db.session.scalar(select(func.count()).select_from(members_query(assignment).subquery()))


def _due_for_newcomer(assignment: Assignment, today: date) -> date | None:
    """A late joiner gets the due date, or ``join_days`` from today if that is later."""
    if assignment.due_on is None:
        return None
    return max(assignment.due_on, today + timedelta(days=assignment.join_days))


def _source(assignment: Assignment) -> str:
    return "class" if assignment.kind == "class" else "assigned"


def enrol_person(assignment: Assignment, person: User, due_on: date | None) -> int:
    """Enrol one person in each course of an assignment they are not linked to yet.

    Return how many runs were linked. Safe to call again: linked courses are skipped.
    """
    linked = set(
        db.session.scalars(
            select(AssignmentRun.course_id).where(
                AssignmentRun.assignment_id == assignment.id, AssignmentRun.user_id == person.id
            )
        )
    )
    count = 0
    for link in assignment.courses:
        if link.course_id in linked:
            continue
        course = db.session.get(Course, link.course_id)
        if course.status != "published":
            continue  # taken back to draft since: nothing to take now
        run, _created = courses.assigned_run(
            person,
            course,
            source=_source(assignment),
            due=due_at(due_on) if due_on else None,
        )
        db.session.add(
            AssignmentRun(
                assignment_id=assignment.id,
                enrolment_id=run.id,
                user_id=person.id,
                course_id=course.id,
                cycle=1,
            )
        )
        count += 1
    if count:
        db.session.flush()
    return count


def apply(assignment: Assignment, report=None) -> int:
    """Enrol everyone the assignment covers; return how many runs were linked.

    ``report(fraction, message)`` is called every 100 people (a job's progress).
    """
    if assignment.withdrawn_at is not None:
        return 0
    ids = list(db.session.scalars(members_query(assignment)))
    linked = 0
    for n, user_id in enumerate(ids, 1):
        linked += enrol_person(assignment, db.session.get(User, user_id), assignment.due_on)
        if report is not None and (n % 100 == 0 or n == len(ids)):
            report(
                n / len(ids),
                gettext("%(done)d of %(total)d people enrolled", done=n, total=len(ids)),
            )
    log.info("assignment %s: %s runs linked for %s people", assignment.id, linked, len(ids))
    return linked


def apply_or_queue(assignment: Assignment, actor: User):
    """Apply at once when few people are covered, else start a job; return the job or None.

    Commits (a job's row must exist before a worker looks for it).
    """
    if count_members(assignment) <= APPLY_INLINE:
        apply(assignment)
        db.session.commit()
        return None
    return jobs.start(
        "reports.apply_assignment",
        owner_id=actor.id,
        target_type="assignment",
        target_id=assignment.id,
    )


@jobs.handler("reports.apply_assignment", label=_l("Enrol people in assigned courses"))
def _apply_job(job, report) -> None:
    assignment = db.session.get(Assignment, job.target_id)
    if assignment is None:
        raise ServiceError(_l("Assignment not found."))
    apply(assignment, report)
    db.session.commit()


@accounts.person_joined.connect
def _enrol_newcomer(_sender=None, *, user_id: int, unit_id: int, from_unit_id) -> None:
    """Enrol a person arriving in a unit in what the unit (or a unit above it) must take."""
    unit = db.session.get(OrgUnit, unit_id)
    above = courses.ancestor_ids(unit)
    before = courses.ancestor_ids(db.session.get(OrgUnit, from_unit_id)) if from_unit_id else []
    new_ids = tuple(u for u in above if u not in before)
    if not new_ids:
        return
    found = [db.session.get(Assignment, i) for i in _assignments_targeting(new_ids)]
    if not found:
        return
    person = db.session.get(User, user_id)
    if not person.active:
        return
    today = to_local(utcnow()).date()
    for assignment in found:
        if _class_closed(assignment, today):
            continue
        enrol_person(assignment, person, _due_for_newcomer(assignment, today))


_TARGETING = "reports_assignments_targeting"


def _assignments_targeting(unit_ids: tuple[int, ...]) -> list[int]:
    """Return the ids of active assignments targeting any of these units.

    Remembered for the rest of the transaction: a staff import creating thousands of
    people in a few units asks the same question thousands of times.
    """
    cache = db.session.info.setdefault(_TARGETING, {})
    if unit_ids not in cache:
        cache[unit_ids] = list(
            db.session.scalars(
                select(Assignment.id)
                .join(AssignmentTarget, AssignmentTarget.assignment_id == Assignment.id)
                .where(AssignmentTarget.unit_id.in_(unit_ids), Assignment.withdrawn_at.is_(None))
                .distinct()
                .order_by(Assignment.id)
            )
        )
    return cache[unit_ids]


def targets_changed() -> None:
    """Forget what ``_assignments_targeting`` remembered (targets or withdrawals changed)."""
    db.session.info.pop(_TARGETING, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_targeting(session) -> None:
    session.info.pop(_TARGETING, None)


def _class_closed(assignment: Assignment, today: date) -> bool:
    """A class that has closed takes no newcomers."""
    if assignment.kind != "class":
        return False
    closes = db.session.scalar(
        select(TrainingClass.closes_on).where(TrainingClass.assignment_id == assignment.id)
    )
    return closes is not None and closes < today


# --- withdrawing and refreshers --------------------------------------------------------------


def withdraw(assignment: Assignment, actor: User, reason: str = "") -> int:
    """Withdraw an assignment: no more enrolments; open runs become voluntary.

    A run also linked to another active assignment stays mandatory. Returns how many
    runs were released. Nothing is deleted.
    """
    if assignment.withdrawn_at is not None:
        raise ServiceError(_l("This assignment has already been withdrawn."))
    assignment.withdrawn_at, assignment.withdrawn_by_id = utcnow(), actor.id
    targets_changed()
    assignment.withdraw_reason = (reason or "").strip()[:500]
    db.session.flush()
    _seen, released = release_open_runs(assignment)
    record_audit(
        "assignment.withdrawn",
        actor_id=actor.id,
        target_type="assignment",
        target_id=assignment.id,
        detail=f"{released} open runs released; {assignment.withdraw_reason}",
    )
    return released


def release_open_runs(
    assignment: Assignment, *, people: set[int] | None = None, unlink: bool = False
) -> tuple[int, int]:
    """Make an assignment's open runs voluntary again; return (runs seen, runs released).

    Only the runs of ``people`` when given; ``unlink`` also removes their links (they
    leave the assignment). A run that another active assignment also holds stays
    mandatory. Completed runs are never touched.
    """
    held_elsewhere = (
        select(AssignmentRun.enrolment_id)
        .join(Assignment, Assignment.id == AssignmentRun.assignment_id)
        .where(Assignment.withdrawn_at.is_(None), Assignment.id != assignment.id)
    )
    query = (
        select(AssignmentRun, Enrolment)
        .join(Enrolment, Enrolment.id == AssignmentRun.enrolment_id)
        .where(AssignmentRun.assignment_id == assignment.id, Enrolment.status != "completed")
    )
    if people is not None:
        query = query.where(AssignmentRun.user_id.in_(people))
    held = set(
        db.session.scalars(
            held_elsewhere.where(
                AssignmentRun.enrolment_id.in_(query.with_only_columns(Enrolment.id))
            )
        )
    )
    seen = released = 0
    for link, run in db.session.execute(query).all():
        if unlink:
            db.session.delete(link)
        if run.id not in held:
            courses.release_run(run)
            released += 1
        seen += 1
    return seen, released


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def open_refreshers(now=None) -> int:
    """Open the refresher runs that are due to open; return how many (the caller commits).

    For each recurring assignment, each person's newest linked run that is completed
    gets a new run ``join_days`` before the completion expires (completion date +
    ``recur_months``), due on that expiry date. Safe to run every minute: a cycle's
    link is unique.
    """
    now = now or utcnow()
    today = to_local(now).date()
    opened = 0
    for assignment in db.session.scalars(
        select(Assignment).where(
            Assignment.recur_months.is_not(None), Assignment.withdrawn_at.is_(None)
        )
    ):
        newest = (
            select(
                AssignmentRun.user_id,
                AssignmentRun.course_id,
                func.max(AssignmentRun.cycle).label("cycle"),
            )
            .where(AssignmentRun.assignment_id == assignment.id)
            .group_by(AssignmentRun.user_id, AssignmentRun.course_id)
            .subquery()
        )
        rows = db.session.execute(
            select(AssignmentRun, Enrolment)
            .join(
                newest,
                and_(
                    newest.c.user_id == AssignmentRun.user_id,
                    newest.c.course_id == AssignmentRun.course_id,
                    newest.c.cycle == AssignmentRun.cycle,
                ),
            )
            .join(Enrolment, Enrolment.id == AssignmentRun.enrolment_id)
            .where(
                AssignmentRun.assignment_id == assignment.id,
                Enrolment.status == "completed",
            )
        ).all()
        for link, run in rows:
            expires = _add_months(to_local(run.completed_at).date(), assignment.recur_months)
            if today < expires - timedelta(days=assignment.join_days):
                continue
            person = db.session.get(User, link.user_id)
            course = db.session.get(Course, link.course_id)
            if not person.active or course.status != "published":
                continue
            fresh, _created = courses.assigned_run(
                person, course, source=_source(assignment), due=due_at(expires), new_run=True
            )
            db.session.add(
                AssignmentRun(
                    assignment_id=assignment.id,
                    enrolment_id=fresh.id,
                    user_id=person.id,
                    course_id=course.id,
                    cycle=link.cycle + 1,
                )
            )
            opened += 1
    if opened:
        db.session.flush()
        record_audit("assignment.refreshers", detail=f"{opened} refresher runs opened")
        log.info("opened %s refresher runs", opened)
    return opened


def _refreshers_chore() -> None:
    open_refreshers()


jobs.MAINTENANCE.append(_refreshers_chore)


def runs_summary(assignment: Assignment) -> dict[str, int]:
    """Return counts of the assignment's linked runs by status, and how many are overdue."""
    now = utcnow()
    late = and_(Enrolment.status != "completed", Enrolment.due_at < now)
    row = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Enrolment.status == "not_started", 1), else_=0)), 0),
            func.coalesce(func.sum(case((Enrolment.status == "in_progress", 1), else_=0)), 0),
            func.coalesce(func.sum(case((Enrolment.status == "completed", 1), else_=0)), 0),
            func.coalesce(func.sum(case((late, 1), else_=0)), 0),
        )
        .select_from(Enrolment)
        .join(AssignmentRun, AssignmentRun.enrolment_id == Enrolment.id)
        .where(AssignmentRun.assignment_id == assignment.id)
    ).one()
    keys = ("total", "not_started", "in_progress", "completed", "overdue")
    return dict(zip(keys, (int(v) for v in row), strict=True))
