"""Reminders of mandatory courses: one mail per learner, one digest per hr, once a day.

Once a local day, at the end of the quiet hours (``REMINDER_QUIET_HOURS``, Asia/Ho_Chi_Minh),
the worker's chore starts a ``reports.remind`` job. It mails each learner one message
listing their mandatory runs (assigned or class) that are overdue or due within
``REMINDER_DAYS_BEFORE`` days, never twice for the same run and due date (a ``Reminder``
row per pair, unique), then mails each hr person one digest of the reminders sent that
day in their units (a ``ReminderDigest`` per person and day, unique). Every mail goes
through ``core.services.send_mail`` and so has an outbox entry; the run is audited.
Deactivated people and runs already completed get nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from elearn.accounts.models import OrgUnit, RoleAssignment, User
from elearn.core.clock import from_local, to_local, utcnow
from elearn.core.services import AUDIT_LABELS, MAIL_SUBJECTS, record_audit, send_mail
from elearn.courses.models import Course, Enrolment
from elearn.extensions import db
from elearn.jobs import services as jobs
from elearn.jobs.models import Job
from elearn.reports.models import Reminder, ReminderDigest

log = logging.getLogger(__name__)

AUDIT_LABELS.update({"reminders.sent": _l("Reminders mailed")})
MAIL_SUBJECTS.update(
    {
        "reminder": lambda: _("Courses you must complete"),
        "reminder_digest": lambda: _("Reminders sent today in your units"),
    }
)


def quiet_hours() -> tuple[int, int]:
    """Return (start, end) local hours of the quiet time, from ``REMINDER_QUIET_HOURS``."""
    text = current_app.config.get("REMINDER_QUIET_HOURS") or ""
    start, _sep, end = text.partition("-")
    try:
        return int(start) % 24, int(end) % 24
    except ValueError:
        return 0, 0


def is_quiet(now: datetime | None = None) -> bool:
    """Tell whether it is quiet time now in Asia/Ho_Chi_Minh (no reminders mailed)."""
    hour = to_local(now or utcnow()).hour
    start, end = quiet_hours()
    if start == end:
        return False
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end


def due_runs(now: datetime):
    """Return a select of (Enrolment, User, Course) to remind about now.

    Mandatory (assigned or class), not completed, of an active person, overdue or due
    within the reminder window, and not yet reminded for this due date.
    """
    soon = now + timedelta(days=current_app.config["REMINDER_DAYS_BEFORE"])
    reminded = select(Reminder.id).where(
        Reminder.enrolment_id == Enrolment.id, Reminder.due_at == Enrolment.due_at
    )
    return (
        select(Enrolment, User, Course)
        .join(User, User.id == Enrolment.user_id)
        .join(Course, Course.id == Enrolment.course_id)
        .where(
            Enrolment.source.in_(("assigned", "class")),
            Enrolment.status != "completed",
            Enrolment.due_at.is_not(None),
            Enrolment.due_at < soon,
            User.active.is_(True),
            ~reminded.exists(),
        )
        .order_by(User.id, Enrolment.due_at, Enrolment.id)
    )


def send_reminders(now: datetime | None = None, report=None) -> dict[str, int]:
    """Mail today's reminders and digests; return counts (the caller commits).

    Safe to run twice: a run and due date already reminded is skipped, a digest already
    sent today is not sent again.
    """
    now = now or utcnow()
    per_person: dict[int, list] = defaultdict(list)
    people: dict[int, User] = {}
    for run, person, course in db.session.execute(due_runs(now)).all():
        per_person[person.id].append((run, course))
        people[person.id] = person
    mails = reminders = 0
    total = len(per_person) or 1
    for n, (user_id, runs) in enumerate(per_person.items(), 1):
        person = people[user_id]
        overdue = [(r, c) for r, c in runs if r.due_at < now]
        upcoming = [(r, c) for r, c in runs if r.due_at >= now]
        mail = None
        if person.email:
            mail = send_mail(
                person.email,
                "reminder",
                locale=person.locale or "vi",
                person=person,
                overdue=overdue,
                upcoming=upcoming,
                base_url=current_app.config["BASE_URL"],
            )
            db.session.flush()
            mails += 1
        for run, _course in runs:
            db.session.add(
                Reminder(
                    enrolment_id=run.id,
                    user_id=user_id,
                    due_at=run.due_at,
                    kind="overdue" if run.due_at < now else "due_soon",
                    sent_at=now,
                    mail_id=mail.id if mail else None,
                )
            )
            reminders += 1
        db.session.flush()
        if report and n % 50 == 0:
            report(n / total * 0.8, _("%(n)d people reminded", n=n))
    digests = send_digests(to_local(now).date(), now)
    if reminders or digests:
        record_audit(
            "reminders.sent",
            detail=f"{reminders} runs, {mails} learner mails, {digests} hr digests",
        )
    log.info("reminders: %s runs, %s mails, %s digests", reminders, mails, digests)
    return {"reminders": reminders, "mails": mails, "digests": digests}


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = from_local(datetime.combine(day, datetime.min.time()))
    return start, start + timedelta(days=1)


def send_digests(day: date, now: datetime) -> int:
    """Mail each hr person the reminders sent on ``day`` in their units; return how many.

    One digest per person and day; the units are grouped, people listed under them.
    """
    start, end = _day_bounds(day)
    sent_today = db.session.execute(
        select(Reminder, User, OrgUnit, Course)
        .join(User, User.id == Reminder.user_id)
        .join(OrgUnit, OrgUnit.id == User.unit_id)
        .join(Enrolment, Enrolment.id == Reminder.enrolment_id)
        .join(Course, Course.id == Enrolment.course_id)
        .where(Reminder.sent_at >= start, Reminder.sent_at < end)
        .order_by(OrgUnit.path, User.name_sort)
    ).all()
    if not sent_today:
        return 0
    already = set(
        db.session.scalars(select(ReminderDigest.user_id).where(ReminderDigest.day == day))
    )
    count = 0
    hr_roles = db.session.execute(
        select(RoleAssignment.user_id, OrgUnit.path)
        .join(OrgUnit, OrgUnit.id == RoleAssignment.unit_id)
        .join(User, User.id == RoleAssignment.user_id)
        .where(RoleAssignment.role == "hr", User.active.is_(True))
    ).all()
    scopes: dict[int, list[str]] = defaultdict(list)
    for user_id, path in hr_roles:
        scopes[user_id].append(path)
    for hr_id, paths in scopes.items():
        if hr_id in already:
            continue
        mine = [row for row in sent_today if any(row[2].path.startswith(p) for p in paths)]
        if not mine:
            continue
        hr = db.session.get(User, hr_id)
        units: dict[int, tuple[OrgUnit, list]] = {}
        for reminder, person, unit, course in mine:
            units.setdefault(unit.id, (unit, []))[1].append((reminder, person, course))
        mail = None
        if hr.email:
            mail = send_mail(
                hr.email,
                "reminder_digest",
                locale=hr.locale or "vi",
                person=hr,
                units=list(units.values()),
                count=len(mine),
                day=day,
            )
            db.session.flush()
        try:
            with db.session.begin_nested():
                db.session.add(
                    ReminderDigest(
                        user_id=hr_id,
                        day=day,
                        reminders=len(mine),
                        sent_at=now,
                        mail_id=mail.id if mail else None,
                    )
                )
        except IntegrityError:  # another run of the job sent it meanwhile
            continue
        count += 1
    return count


def _remind_job(job, report) -> None:
    send_reminders(report=report)
    db.session.commit()


jobs.handler("reports.remind", label=_l("Mail reminders of mandatory courses"))(_remind_job)


def maybe_start(now: datetime | None = None) -> Job | None:
    """Start today's reminders job if it is not quiet time and none ran today (a chore)."""
    now = now or utcnow()
    if is_quiet(now):
        return None
    start, _end = _day_bounds(to_local(now).date())
    ran = db.session.scalar(
        select(Job.id).where(
            Job.kind == "reports.remind",
            or_(Job.created_at >= start, Job.state.in_(("queued", "running"))),
        )
    )
    if ran is not None:
        return None
    return jobs.start_after_commit("reports.remind", owner_id=None)


jobs.MAINTENANCE.append(maybe_start)
