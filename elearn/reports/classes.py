"""Training classes (lớp bồi dưỡng): named runs of courses for participants, between dates.

A class is organised by a unit (e.g. a ministry's training school) and its courses and
participants (units with their subtrees, or people from any unit) are an assignment of
kind ``class``, due on the closing date: enrolling, late joiners and the class's runs
work as for any assignment. Organisers hold the ``organiser`` role scoped to the class:
they see the class's page and report (its participants, from whichever unit), nothing
else. The class is managed by admins and by hr of the organising unit's subtree;
participants chosen by hr must be in hr's own units.
"""

from __future__ import annotations

import logging
import re
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select

from elearn.accounts import services as accounts
from elearn.accounts.models import OrgUnit, RoleAssignment, User
from elearn.core.clock import due_at
from elearn.core.services import AUDIT_LABELS, NotFound, ServiceError, record_audit
from elearn.core.vietnamese import collation_key, nfc
from elearn.courses.models import Course, Enrolment
from elearn.extensions import db
from elearn.reports import assignments
from elearn.reports.models import (
    AssignmentCourse,
    AssignmentRun,
    AssignmentTarget,
    TrainingClass,
)
from elearn.surveys import services as surveys

log = logging.getLogger(__name__)

AUDIT_LABELS.update(
    {
        "class.created": _l("Training class created"),
        "class.updated": _l("Training class changed"),
        "class.participants": _l("Class participants added"),
        "class.participant_removed": _l("Class participant removed"),
        "class.organiser_added": _l("Class organiser added"),
        "class.organiser_removed": _l("Class organiser removed"),
        "class.cancelled": _l("Training class cancelled"),
    }
)

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


# --- who may see and manage ------------------------------------------------------------------


def organised_by(user: User) -> set[int]:
    """Return the ids of the classes ``user`` organises."""
    return set(
        db.session.scalars(
            select(RoleAssignment.class_id).where(
                RoleAssignment.user_id == user.id,
                RoleAssignment.role == "organiser",
                RoleAssignment.class_id.is_not(None),
            )
        )
    )


def may_manage(user: User, training_class: TrainingClass) -> bool:
    """Admins and hr of the organising unit's subtree may change a class."""
    unit = db.session.get(OrgUnit, training_class.organiser_unit_id)
    return user.is_admin or (user.is_hr and accounts.unit_in_scope(user, unit))


def classes_for(user: User) -> list[TrainingClass]:
    """Return the classes ``user`` may see (manage or organise), newest opening first."""
    query = select(TrainingClass).order_by(TrainingClass.opens_on.desc(), TrainingClass.id.desc())
    if not user.is_admin:
        conditions = [TrainingClass.id.in_(organised_by(user))]
        paths = accounts.scope_paths(user) or []
        if paths:
            conditions.append(
                TrainingClass.organiser_unit_id.in_(
                    select(OrgUnit.id).where(
                        or_(*[and_(OrgUnit.path >= p, OrgUnit.path < p[:-1] + "0") for p in paths])
                    )
                )
            )
        query = query.where(or_(*conditions))
    return list(db.session.scalars(query))


def class_for(user: User, class_id: int) -> TrainingClass:
    """Return a class ``user`` may see, else raise NotFound."""
    training_class = db.session.get(TrainingClass, class_id)
    if training_class is None or not (
        may_manage(user, training_class) or class_id in organised_by(user)
    ):
        raise NotFound(_l("Class not found."))
    return training_class


def managed_class(user: User, class_id: int) -> TrainingClass:
    """Return a class ``user`` may change; organisers and others get NotFound/Forbidden."""
    training_class = class_for(user, class_id)
    if not may_manage(user, training_class):
        raise NotFound(_l("Class not found."))
    return training_class


# --- creating and changing -------------------------------------------------------------------


def _check_fields(code: str, name: str, opens_on: date, closes_on: date, exclude_id=None) -> None:
    if not CODE_RE.match(code or ""):
        raise ServiceError(
            _l("A class code has letters, digits, dots, dashes or underscores, without spaces."),
            "code",
        )
    clash = select(TrainingClass.id).where(func.lower(TrainingClass.code) == code.lower())
    if exclude_id is not None:
        clash = clash.where(TrainingClass.id != exclude_id)
    if db.session.scalar(clash):
        raise ServiceError(_l("Another class already has the code %(code)s.", code=code), "code")
    if not name.strip():
        raise ServiceError(_l("A class needs a name."), "name")
    if opens_on is None or closes_on is None:
        raise ServiceError(_l("Give the opening and closing dates."), "opens_on")
    if closes_on < opens_on:
        raise ServiceError(_l("The class cannot close before it opens."), "closes_on")


def _check_participants(actor: User, unit_ids: list[int], user_ids: list[int]) -> None:
    """Admins choose anyone; hr only units and people of their own subtrees."""
    for unit_id in unit_ids:
        unit = db.session.get(OrgUnit, unit_id)
        if unit is None or not unit.active or not accounts.unit_in_scope(actor, unit):
            raise ServiceError(_l("Choose units you manage."), "unit_ids")
    for user_id in user_ids:
        try:
            accounts.get_user_for(actor, user_id)
        except NotFound as exc:
            raise ServiceError(_l("Choose people you manage."), "user_ids") from exc


def create_class(
    actor: User,
    *,
    code: str,
    name: str,
    description: str,
    organiser_unit: OrgUnit,
    opens_on: date,
    closes_on: date,
    course_ids: list[int],
    unit_ids: list[int],
    user_ids: list[int],
) -> TrainingClass:
    """Create a class and its assignment (not applied yet: see ``assignments.apply``)."""
    code, name = (code or "").strip(), nfc((name or "").strip())
    _check_fields(code, name, opens_on, closes_on)
    if not organiser_unit.active or not accounts.unit_in_scope(actor, organiser_unit):
        raise ServiceError(_l("Choose an organising unit you manage."), "organiser_unit_id")
    if not unit_ids and not user_ids:
        raise ServiceError(_l("Choose at least one unit or one person."), "unit_ids")
    _check_participants(actor, unit_ids, user_ids)
    assignment = assignments.build(
        actor,
        kind="class",
        owner_unit=organiser_unit,
        course_ids=course_ids,
        unit_ids=unit_ids,
        user_ids=user_ids,
        due_on=closes_on,
    )
    training_class = TrainingClass(
        code=code,
        name=name,
        name_sort=collation_key(name),
        description=nfc((description or "").strip()),
        organiser_unit_id=organiser_unit.id,
        opens_on=opens_on,
        closes_on=closes_on,
        assignment_id=assignment.id,
        created_by_id=actor.id,
    )
    db.session.add(training_class)
    db.session.flush()
    record_audit(
        "class.created",
        actor_id=actor.id,
        target_type="class",
        target_id=training_class.id,
        detail=f"{code} {name}; {assignments.describe(assignment)}",
    )
    return training_class


def update_class(
    training_class: TrainingClass,
    actor: User,
    *,
    name: str,
    description: str,
    opens_on: date,
    closes_on: date,
) -> None:
    """Rename a class or move its dates; open runs follow a new closing date."""
    name = nfc((name or "").strip())
    _check_fields(training_class.code, name, opens_on, closes_on, exclude_id=training_class.id)
    old = f"{training_class.name}; {training_class.opens_on} - {training_class.closes_on}"
    training_class.name, training_class.name_sort = name, collation_key(name)
    training_class.description = nfc((description or "").strip())
    training_class.opens_on = opens_on
    if closes_on != training_class.closes_on:
        training_class.closes_on = closes_on
        training_class.assignment.due_on = closes_on
        for run in db.session.scalars(
            select(Enrolment)
            .join(AssignmentRun, AssignmentRun.enrolment_id == Enrolment.id)
            .where(
                AssignmentRun.assignment_id == training_class.assignment_id,
                Enrolment.status != "completed",
            )
        ):
            run.due_at = due_at(closes_on)
    record_audit(
        "class.updated",
        actor_id=actor.id,
        target_type="class",
        target_id=training_class.id,
        detail=f"{old} -> {name}; {opens_on} - {closes_on}",
    )


def add_participants(
    training_class: TrainingClass, actor: User, unit_ids: list[int], user_ids: list[int]
) -> int:
    """Add units (with their subtrees) or people; return how many targets were new."""
    if not unit_ids and not user_ids:
        raise ServiceError(_l("Choose at least one unit or one person."), "unit_ids")
    _check_participants(actor, unit_ids, user_ids)
    assignment = training_class.assignment
    have = {(t.unit_id, t.user_id) for t in assignment.targets}
    added = 0
    for unit_id in sorted(set(unit_ids)):
        if (unit_id, None) not in have:
            assignment.targets.append(AssignmentTarget(unit_id=unit_id))
            added += 1
    for user_id in sorted(set(user_ids)):
        if (None, user_id) not in have:
            assignment.targets.append(AssignmentTarget(user_id=user_id))
            added += 1
    db.session.flush()
    assignments.targets_changed()
    if added:
        record_audit(
            "class.participants",
            actor_id=actor.id,
            target_type="class",
            target_id=training_class.id,
            detail=f"+{len(set(unit_ids))} units, +{len(set(user_ids))} people",
        )
    return added


def remove_participant(training_class: TrainingClass, actor: User, target_id: int) -> int:
    """Remove a unit or person from a class; return how many runs left the class.

    People no longer covered leave the class: their runs not yet completed are unlinked
    and, unless another assignment holds them, become voluntary. Completed runs stay in
    the class's record (they did take it there). No progress is lost.
    """
    assignment = training_class.assignment
    target = db.session.get(AssignmentTarget, target_id)
    if target is None or target.assignment_id != assignment.id:
        raise NotFound(_l("Participant not found."))
    label = (
        db.session.get(OrgUnit, target.unit_id).code
        if target.unit_id
        else db.session.get(User, target.user_id).username
    )
    assignment.targets.remove(target)
    db.session.flush()
    assignments.targets_changed()
    still = set(db.session.scalars(assignments.members_query(assignment)))
    linked = set(
        db.session.scalars(
            select(AssignmentRun.user_id).where(AssignmentRun.assignment_id == assignment.id)
        )
    )
    left, _released = assignments.release_open_runs(assignment, people=linked - still, unlink=True)
    record_audit(
        "class.participant_removed",
        actor_id=actor.id,
        target_type="class",
        target_id=training_class.id,
        detail=f"{label}; {left} runs left the class",
    )
    return left


def add_organiser(training_class: TrainingClass, actor: User, username: str) -> User:
    """Make the named person an organiser of the class (no-op if already)."""
    person = db.session.scalar(
        select(User).where(
            User.username == accounts.normalize_username(username or ""), User.active.is_(True)
        )
    )
    if person is None:
        raise ServiceError(
            _l("No active account has the username %(name)s.", name=username), "username"
        )
    exists = db.session.scalar(
        select(RoleAssignment.id).where(
            RoleAssignment.user_id == person.id,
            RoleAssignment.role == "organiser",
            RoleAssignment.class_id == training_class.id,
        )
    )
    if exists is None:
        db.session.add(
            RoleAssignment(
                user_id=person.id,
                role="organiser",
                class_id=training_class.id,
                created_by_id=actor.id,
            )
        )
        db.session.flush()
        person.forget_roles()
        record_audit(
            "class.organiser_added",
            actor_id=actor.id,
            target_type="class",
            target_id=training_class.id,
            detail=person.username,
        )
    return person


def remove_organiser(training_class: TrainingClass, actor: User, assignment_id: int) -> None:
    """Take the organiser role on this class away from someone."""
    role = db.session.get(RoleAssignment, assignment_id)
    if role is None or role.class_id != training_class.id or role.role != "organiser":
        raise NotFound(_l("Role not found."))
    username = role.user.username
    db.session.delete(role)
    db.session.flush()
    record_audit(
        "class.organiser_removed",
        actor_id=actor.id,
        target_type="class",
        target_id=training_class.id,
        detail=username,
    )


def organisers_of(training_class: TrainingClass) -> list[RoleAssignment]:
    """Return the organiser roles of a class, by name."""
    return list(
        db.session.scalars(
            select(RoleAssignment)
            .join(User, User.id == RoleAssignment.user_id)
            .where(
                RoleAssignment.class_id == training_class.id,
                RoleAssignment.role == "organiser",
            )
            .order_by(User.name_sort)
        )
    )


def cancel(training_class: TrainingClass, actor: User, reason: str = "") -> int:
    """Cancel a class: its open runs become voluntary; everything done stays."""
    released = assignments.withdraw(training_class.assignment, actor, reason)
    record_audit(
        "class.cancelled",
        actor_id=actor.id,
        target_type="class",
        target_id=training_class.id,
        detail=f"{training_class.code}; {reason}",
    )
    return released


def courses_of(training_class: TrainingClass) -> list[Course]:
    """Return the class's courses, in title order."""
    return list(
        db.session.scalars(
            select(Course)
            .join(AssignmentCourse, AssignmentCourse.course_id == Course.id)
            .where(AssignmentCourse.assignment_id == training_class.assignment_id)
            .order_by(Course.title_sort)
        )
    )


def targets_of(training_class: TrainingClass) -> tuple[list, list]:
    """Return the class's participant targets: ([(target, unit)], [(target, person)])."""
    units, people = [], []
    for target in training_class.assignment.targets:
        if target.unit_id:
            units.append((target, db.session.get(OrgUnit, target.unit_id)))
        else:
            people.append((target, db.session.get(User, target.user_id)))
    units.sort(key=lambda pair: pair[1].name_sort)
    people.sort(key=lambda pair: pair[1].name_sort)
    return units, people


def run_class_id(run: Enrolment) -> int | None:
    """Return the class a run was made for, if any (a survey records it with answers)."""
    return db.session.scalar(
        select(TrainingClass.id)
        .join(AssignmentRun, AssignmentRun.assignment_id == TrainingClass.assignment_id)
        .where(AssignmentRun.enrolment_id == run.id)
        .limit(1)
    )


surveys.CLASS_OF_RUN.append(run_class_id)
