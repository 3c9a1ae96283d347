"""The one path through which every activity type records what a learner did.

``record(run, activity, event)`` updates the activity's progress row and the run's
cached state (status, percent, time spent, completed_at, last activity) in the
caller's transaction. Nothing else writes ActivityProgress or those columns.
Events: ``viewed`` and ``done`` (pages, and opening a video); ``record_watch`` takes a
video's watch report (merged intervals, resume position, the completion threshold);
``record_quiz`` a quiz's final grade and whether it was passed or attempted.
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
from elearn.progress import watch
from elearn.progress.models import ActivityProgress

log = logging.getLogger(__name__)

EVENTS = ("viewed", "done")
#: Fastest playback the player offers; a report may not claim more than this.
MAX_PLAYBACK_RATE = 2.0
#: Seconds of allowance per report (clock differences, a report sent late).
REPORT_SLACK = 15.0
#: Seconds of viewing one report may cover at most (a player offline longer loses the
#: excess; someone who waits a week cannot claim a week of viewing at once).
REPORT_WINDOW = 300.0
#: Seconds counted at most between two events, so an open tab does not count as study.
MAX_COUNTED_GAP = 30 * 60


def _touch(run: Enrolment, activity: Activity, now) -> ActivityProgress:
    """Credit time to the activity the learner was on and return this activity's row.

    Time spent: the gap since the run's previous event is credited to the activity
    the learner was on, when it is under ``MAX_COUNTED_GAP``.
    """
    if activity.course_id != run.course_id:
        raise ServiceError(_l("This lesson belongs to another course."))
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
    run.last_activity_id = activity.id
    return row


def record(run: Enrolment, activity: Activity, event: str) -> ActivityProgress:
    """Record ``event`` for ``activity`` in ``run`` and refresh the run's cached state."""
    if event not in EVENTS:
        raise ValueError(event)
    now = utcnow()
    row = _touch(run, activity, now)
    completes = event == "done" or (event == "viewed" and activity.completion == "view")
    if completes and row.status != "completed":
        row.status, row.percent, row.completed_at = "completed", 1.0, now
    db.session.flush()
    _refresh_run(run, now)
    return row


class WatchRefused(ServiceError):
    """A watch report that cannot be true (the view answers 400 and keeps nothing)."""


def watch_state(
    run: Enrolment | None, activity: Activity, *, lock: bool = False
) -> ActivityProgress | None:
    """Return the run's progress row for a video (None before the first visit).

    ``lock`` holds the row (FOR UPDATE) so two reports at once on PostgreSQL do not
    overwrite each other's intervals.
    """
    if run is None:
        return None
    query = select(ActivityProgress).where(
        ActivityProgress.enrolment_id == run.id, ActivityProgress.activity_id == activity.id
    )
    return db.session.scalar(query.with_for_update() if lock else query)


def record_watch(
    run: Enrolment,
    activity: Activity,
    intervals: list[watch.Interval],
    position: float | None,
    *,
    duration: float,
    threshold: float,
) -> ActivityProgress:
    """Merge a watch report into the run's progress for a video.

    Reports are idempotent: duplicates, overlaps and out-of-order reports merge into the
    same union. A report that claims more new seconds than could have been played since
    the last accepted one (at ``MAX_PLAYBACK_RATE``, over at most ``REPORT_WINDOW``,
    plus ``REPORT_SLACK``) is refused
    whole. The activity completes when the unique seconds reach ``threshold`` of the
    duration; seeking to the end does not.
    """
    if activity.completion != "watch":
        raise WatchRefused(_l("This lesson has no video to watch."))
    now = utcnow()
    existing = watch_state(run, activity, lock=True)
    before = watch.loads(existing.watched) if existing else []
    after = watch.merge([*before, *intervals])
    gained = watch.seconds(after) - watch.seconds(before)
    if gained > 0:
        since = (existing.reported_at or existing.first_seen_at) if existing else now
        elapsed = min(max(0.0, (now - since).total_seconds()), REPORT_WINDOW)
        allowed = elapsed * MAX_PLAYBACK_RATE + REPORT_SLACK
        if gained > allowed:
            log.warning(
                "watch report refused: run %s activity %s claims %.0f s new in %.0f s allowed",
                run.id,
                activity.id,
                gained,
                allowed,
            )
            raise WatchRefused(_l("This report claims more viewing than time allows."))
    row = _touch(run, activity, now)
    row.watched = watch.dumps(after)
    if position is not None:
        row.position = position
    row.reported_at = now
    if row.status != "completed":
        row.percent = watch.share(after, duration)
        if watch.completes(after, duration, threshold):
            row.status, row.percent, row.completed_at = "completed", 1.0, now
    db.session.flush()
    _refresh_run(run, now)
    return row


def record_quiz(
    run: Enrolment, activity: Activity, grade: float | None, *, passed: bool, attempted: bool
) -> ActivityProgress:
    """Record a quiz's final grade for a run (after an attempt is graded or regraded).

    The activity completes when the quiz is passed (rule ``passed``) or when an attempt
    was finished (rule ``attempted``). A completed activity stays completed; its grade
    follows the quiz's grading method.
    """
    if activity.type != "quiz":
        raise ServiceError(_l("This lesson is not a quiz."))
    now = utcnow()
    row = _touch(run, activity, now)
    row.grade = grade
    completes = (activity.completion == "passed" and passed) or (
        activity.completion == "attempted" and attempted
    )
    if completes and row.status != "completed":
        row.status, row.percent, row.completed_at = "completed", 1.0, now
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
