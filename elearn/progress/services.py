"""The one path through which every activity type records what a learner did.

``record(run, activity, event)`` updates the activity's progress row and the run's
cached state (status, percent, time spent, completed_at, last activity) in the
caller's transaction. Nothing else writes ActivityProgress or those columns.
Events now: ``viewed`` and ``done`` (pages); video and quiz add theirs later.
A completed run stays completed; a refresher is a new run that starts at 0%.
"""

from __future__ import annotations

import logging

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from elearn.core.clock import utcnow
from elearn.core.services import ServiceError
from elearn.courses.models import Activity, Enrolment, Module
from elearn.extensions import db
from elearn.progress.models import ActivityProgress

log = logging.getLogger(__name__)

EVENTS = ("viewed", "done")
#: Seconds counted at most between two events, so an open tab does not count as study.
MAX_COUNTED_GAP = 30 * 60


def record(run: Enrolment, activity: Activity, event: str) -> ActivityProgress:
    """Record ``event`` for ``activity`` in ``run`` and refresh the run's cached state.

    Time spent: the gap since the run's previous event is credited to the activity
    the learner was on, when it is under ``MAX_COUNTED_GAP``.
    """
    if event not in EVENTS:
        raise ValueError(event)
    if activity.course_id != run.course_id:
        raise ServiceError(_l("This lesson belongs to another course."))
    now = utcnow()
    if run.last_activity_id is not None:
        previous = db.session.scalar(
            select(ActivityProgress).where(
                ActivityProgress.enrolment_id == run.id,
                ActivityProgress.activity_id == run.last_activity_id,
            )
        )
        if previous is not None:
            gap = int((now - previous.last_seen_at).total_seconds())
            if 0 < gap <= MAX_COUNTED_GAP:
                previous.time_spent += gap
            previous.last_seen_at = now
    row = db.session.scalar(
        select(ActivityProgress).where(
            ActivityProgress.enrolment_id == run.id, ActivityProgress.activity_id == activity.id
        )
    )
    if row is None:
        row = ActivityProgress(
            enrolment_id=run.id, activity_id=activity.id, first_seen_at=now, last_seen_at=now
        )
        db.session.add(row)
    row.last_seen_at = now
    completes = event == "done" or (event == "viewed" and activity.completion == "view")
    if completes and row.status != "completed":
        row.status, row.percent, row.completed_at = "completed", 1.0, now
    run.last_activity_id = activity.id
    db.session.flush()
    _refresh_run(run, now)
    return row


def _refresh_run(run: Enrolment, now) -> None:
    """Recompute the run's cache from its progress rows with two aggregates."""
    required = (
        select(func.count())
        .select_from(Activity)
        .join(Module, Module.id == Activity.module_id)
        .where(
            Activity.course_id == run.course_id,
            Activity.required.is_(True),
            Activity.archived.is_(False),
            Module.archived.is_(False),
        )
    )
    done = (
        select(func.count())
        .select_from(ActivityProgress)
        .join(Activity, Activity.id == ActivityProgress.activity_id)
        .join(Module, Module.id == Activity.module_id)
        .where(
            ActivityProgress.enrolment_id == run.id,
            ActivityProgress.status == "completed",
            Activity.required.is_(True),
            Activity.archived.is_(False),
            Module.archived.is_(False),
        )
    )
    total, completed = db.session.scalar(required), db.session.scalar(done)
    run.time_spent = db.session.scalar(
        select(func.coalesce(func.sum(ActivityProgress.time_spent), 0)).where(
            ActivityProgress.enrolment_id == run.id
        )
    )
    if run.status == "completed":
        return  # a completed run stays completed (issue 6 adds admin resets)
    run.percent = completed / total if total else 0.0
    if total and completed >= total:
        run.status, run.completed_at, run.percent = "completed", now, 1.0
        log.info("run %s of course %s completed", run.id, run.course_id)
    else:
        run.status = "in_progress"


def states(run: Enrolment | None) -> dict[int, str]:
    """Return {activity id: status} for a run (empty without one)."""
    if run is None:
        return {}
    return dict(
        db.session.execute(
            select(ActivityProgress.activity_id, ActivityProgress.status).where(
                ActivityProgress.enrolment_id == run.id
            )
        ).all()
    )
