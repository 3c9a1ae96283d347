"""The one path through which every activity type records what a learner did.

``record(run, activity, event)`` updates the activity's progress row and the run's
cached state (status, percent, grade, time spent, completed_at, last activity) in the
caller's transaction. Nothing else writes ActivityProgress or those columns.
Events: ``viewed`` and ``done`` (pages, and opening a video); ``record_watch`` takes a
video's watch report (merged intervals, resume position, the completion threshold);
``record_quiz`` a quiz's final grade and whether it was passed or attempted.

Every state transition is also appended to the learner's hash-chained record
(``elearn.progress.record``) in the same transaction. Each write first locks the run
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite writers queue on ``BEGIN IMMEDIATE``),
so two requests completing the same activity at once give one completion and one event.

A completed run stays completed, even when a rule changes, until an admin resets it
(with a reason); a refresher is a new run that starts at 0%. When a course's rules
change (``courses.services.completion_changed``), its open runs are judged again when
the transaction commits: at once for a few, as a job for many.

Time spent, an estimate: a page earns the time until the learner's next step when
that is under ``IDLE_CUTOFF`` (a longer gap means they left); a video earns the
unique seconds watched; a quiz earns its attempts' durations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, exists, func, or_, select
from sqlalchemy.orm import Session

from elearn.accounts.models import User
from elearn.core.clock import utcnow
from elearn.core.services import AUDIT_LABELS, ServiceError, record_audit, required_reason
from elearn.courses import services as courses
from elearn.courses.models import Activity, CourseSettings, Enrolment
from elearn.extensions import db
from elearn.jobs import services as jobs
from elearn.progress import record as chain
from elearn.progress import watch
from elearn.progress.models import ActivityProgress

log = logging.getLogger(__name__)

EVENTS = ("viewed", "done", "submitted")
#: Fastest playback the player offers; a report may not claim more than this.
MAX_PLAYBACK_RATE = 2.0
#: Seconds of allowance per report (clock differences, a report sent late).
REPORT_SLACK = 15.0
#: Seconds of viewing one report may cover at most (a player offline longer loses the
#: excess; someone who waits a week cannot claim a week of viewing at once).
REPORT_WINDOW = 300.0
#: A gap longer than this between two steps means the learner left: it counts nothing.
IDLE_CUTOFF = 20 * 60
#: Open runs a rule change recomputes in the editor's own transaction; more go to a job.
RECOMPUTE_INLINE = 200

AUDIT_LABELS.update(
    {
        "progress.reset": _l("Course completion reset"),
        "progress.override": _l("Course marked complete by an admin"),
        "progress.exported": _l("Learning record exported (xAPI)"),
    }
)

#: Rules that can complete an activity from what its progress row already holds,
#: {rule: check(activity, row) -> bool}; used when rules change. Activity types
#: register theirs (``register_rule``); ``mark_done`` needs the learner's click.
CHECKS: dict[str, Callable[[Activity, ActivityProgress], bool]] = {
    "view": lambda _activity, _row: True,
}


def register_rule(rule: str, check: Callable[[Activity, ActivityProgress], bool]) -> None:
    """Let an activity type say whether a progress row meets ``rule`` (for recomputation)."""
    CHECKS[rule] = check


def _lock(run: Enrolment) -> None:
    """Hold the run (FOR UPDATE) and reload it: one writer per run at a time."""
    db.session.flush()
    db.session.refresh(run, with_for_update=True)


def _row(run: Enrolment, activity_id: int) -> ActivityProgress | None:
    return db.session.scalar(
        select(ActivityProgress)
        .where(ActivityProgress.enrolment_id == run.id, ActivityProgress.activity_id == activity_id)
        .execution_options(populate_existing=True)
    )


def _touch(run: Enrolment, activity: Activity, now, actor_id: int | None) -> ActivityProgress:
    """Lock the run, credit page time, and return this activity's row (created if new)."""
    if activity.course_id != run.course_id:
        raise ServiceError(_l("This lesson belongs to another course."))
    _lock(run)
    if run.last_activity_id is not None:
        previous = _row(run, run.last_activity_id)
        if previous is not None:
            gap = int((now - previous.last_seen_at).total_seconds())
            kind = db.session.get(Activity, run.last_activity_id).type
            if kind == "page" and 0 < gap <= IDLE_CUTOFF:
                previous.time_spent += gap
            previous.last_seen_at = now
    row = _row(run, activity.id)
    if row is None:
        row = ActivityProgress(
            enrolment_id=run.id,
            activity_id=activity.id,
            status="in_progress",
            percent=0.0,
            time_spent=0,
            first_seen_at=now,
            last_seen_at=now,
        )
        db.session.add(row)
    row.last_seen_at = now
    run.last_activity_id = activity.id
    if run.status == "not_started":
        run.status = "in_progress"
        chain.append(
            run,
            "run.started",
            old={"status": "not_started"},
            new={"status": "in_progress"},
            actor_id=actor_id,
            now=now,
        )
    return row


def _complete(run: Enrolment, row: ActivityProgress, now, actor_id, reason: str = "") -> None:
    if row.status == "completed":
        return
    old = {"status": row.status, "percent": row.percent}
    row.status, row.percent, row.completed_at = "completed", 1.0, now
    chain.append(
        run,
        "activity.completed",
        activity_id=row.activity_id,
        old=old,
        new={"status": "completed", "completed_at": chain.stamp(now)},
        actor_id=actor_id,
        reason=reason,
        now=now,
    )


def record(
    run: Enrolment, activity: Activity, event: str, *, actor_id: int | None = None
) -> ActivityProgress:
    """Record ``event`` for ``activity`` in ``run`` and refresh the run's cached state."""
    if event not in EVENTS:
        raise ValueError(event)
    now = utcnow()
    actor_id = run.user_id if actor_id is None else actor_id
    row = _touch(run, activity, now, actor_id)
    # "done" completes a page only: a quiz or a video completes by its own rule, a
    # survey when its answers are sent ("submitted", called by the survey service).
    if (
        (event == "done" and activity.completion in ("view", "mark_done"))
        or (event == "viewed" and activity.completion == "view")
        or (event == "submitted" and activity.completion == "submitted")
    ):
        _complete(run, row, now, actor_id)
    db.session.flush()
    _refresh_run(run, now, actor_id)
    return row


class WatchRefused(ServiceError):
    """A watch report that cannot be true (the view answers 400 and keeps nothing)."""


def activity_state(
    run: Enrolment | None, activity: Activity, *, lock: bool = False
) -> ActivityProgress | None:
    """Return the run's progress row for an activity (None before the first visit).

    ``lock`` holds the run (FOR UPDATE on PostgreSQL; SQLite writers queue on BEGIN
    IMMEDIATE) until the transaction ends, so two requests at once act one after the
    other: two watch reports do not overwrite each other's intervals, two survey submits
    store one response.
    """
    if run is None:
        return None
    if lock:
        _lock(run)
    return _row(run, activity.id)


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
    duration; seeking to the end does not. Its time spent is the unique seconds watched.
    """
    if activity.completion != "watch":
        raise WatchRefused(_l("This lesson has no video to watch."))
    now = utcnow()
    existing = activity_state(run, activity, lock=True)
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
    row = _touch(run, activity, now, run.user_id)
    row.watched = watch.dumps(after)
    row.time_spent = int(watch.seconds(after))
    if position is not None:
        row.position = position
    row.reported_at = now
    if row.status != "completed":
        row.percent = watch.share(after, duration)
        if watch.completes(after, duration, threshold):
            _complete(run, row, now, run.user_id)
    db.session.flush()
    _refresh_run(run, now, run.user_id)
    return row


def record_quiz(
    run: Enrolment,
    activity: Activity,
    grade: float | None,
    *,
    passed: bool,
    attempted: bool,
    time_spent: int | None = None,
    actor_id: int | None = None,
    reason: str = "",
) -> ActivityProgress:
    """Record a quiz's final grade for a run (after an attempt is graded or regraded).

    The activity completes when the quiz is passed (rule ``passed``) or when an attempt
    was finished (rule ``attempted``). A completed activity stays completed; its grade
    follows the quiz's grading method, and each change of grade is an event.
    ``time_spent`` is the seconds of all the run's attempts; ``actor_id`` who caused
    the change (default the learner; an instructor grading by hand, say).
    """
    if activity.type != "quiz":
        raise ServiceError(_l("This lesson is not a quiz."))
    now = utcnow()
    actor_id = run.user_id if actor_id is None else actor_id
    row = _touch(run, activity, now, actor_id)
    if row.grade != grade:
        chain.append(
            run,
            "activity.graded",
            activity_id=activity.id,
            old=None if row.grade is None else {"grade": row.grade},
            new={"grade": grade, "passed": passed},
            actor_id=actor_id,
            reason=reason,
            now=now,
        )
        row.grade = grade
    if time_spent is not None:
        row.time_spent = time_spent
    if (activity.completion == "passed" and passed) or (
        activity.completion == "attempted" and attempted
    ):
        _complete(run, row, now, actor_id, reason)
    db.session.flush()
    _refresh_run(run, now, actor_id)
    return row


def _refresh_run(run: Enrolment, now, actor_id: int | None, reason: str = "") -> None:
    """Recompute the run's cache from its progress rows with a few aggregates."""
    in_course = chain.required_query(run.course_id).scalar_subquery()
    total = db.session.scalar(
        select(func.count()).select_from(chain.required_query(run.course_id).subquery())
    )
    mine = select(ActivityProgress).where(ActivityProgress.enrolment_id == run.id)
    completed = db.session.scalar(
        select(func.count()).select_from(
            mine.where(
                ActivityProgress.status == "completed", ActivityProgress.activity_id.in_(in_course)
            ).subquery()
        )
    )
    run.grade = db.session.scalar(
        select(func.avg(ActivityProgress.grade)).where(
            ActivityProgress.enrolment_id == run.id,
            ActivityProgress.grade.is_not(None),
            ActivityProgress.activity_id.in_(in_course),
        )
    )
    if run.grade is not None:
        run.grade = float(run.grade)
    run.time_spent = db.session.scalar(
        select(func.coalesce(func.sum(ActivityProgress.time_spent), 0)).where(
            ActivityProgress.enrolment_id == run.id
        )
    )
    if run.status == "completed":
        return  # a completed run stays completed until an admin resets it
    run.percent = completed / total if total else 0.0
    if total and completed >= total and _grade_enough(run):
        _complete_run(run, now, actor_id, reason)


def _grade_enough(run: Enrolment) -> bool:
    minimum = db.session.scalar(
        select(CourseSettings.min_grade).where(CourseSettings.course_id == run.course_id)
    )
    return minimum is None or (run.grade is not None and run.grade >= minimum - 1e-9)


def _complete_run(run: Enrolment, now, actor_id, reason: str = "", kind="run.completed") -> None:
    from elearn.progress import certificates  # certificates read the run's course and unit

    run.status, run.completed_at, run.percent = "completed", now, 1.0
    # Where the learner was when they completed: units merge and people move later.
    run.completed_unit_id = db.session.scalar(select(User.unit_id).where(User.id == run.user_id))
    chain.append(
        run,
        kind,
        old={"status": "in_progress"},
        new={"status": "completed", "completed_at": chain.stamp(now), "grade": run.grade},
        actor_id=actor_id,
        reason=reason,
        now=now,
    )
    certificates.issue(run)
    log.info("run %s of course %s completed", run.id, run.course_id)


# --- admin actions ---------------------------------------------------------------------------


def reset_run(run: Enrolment, actor, reason: str) -> None:
    """Take a completed run out of completion and judge it again by the current rules.

    Activities already completed stay completed; the run's certificates are revoked.
    If the run still meets every rule it completes again at once (with a new
    certificate); otherwise it is in progress until it does.
    """
    from elearn.progress import certificates

    reason = required_reason(reason, _l("Give a reason: it is kept in the learner's record."))
    _lock(run)
    if run.status != "completed":
        raise ServiceError(_l("Only a completed run can be reset."))
    now = utcnow()
    old = {"status": run.status, "completed_at": chain.stamp(run.completed_at)}
    run.status, run.completed_at, run.completed_unit_id = "in_progress", None, None
    chain.append(
        run,
        "run.reset",
        old=old,
        new={"status": "in_progress"},
        actor_id=actor.id,
        reason=reason,
        now=now,
    )
    certificates.revoke_run(run, actor, reason)
    record_audit(
        "progress.reset", actor_id=actor.id, target_type="run", target_id=run.id, detail=reason
    )
    db.session.flush()
    _refresh_run(run, now, actor.id, reason)


def override_run(run: Enrolment, actor, reason: str) -> None:
    """Mark a run complete although its rules are not met (e.g. trained in a classroom)."""
    reason = required_reason(reason, _l("Give a reason: it is kept in the learner's record."))
    _lock(run)
    if run.status == "completed":
        raise ServiceError(_l("This run is already complete."))
    _complete_run(run, utcnow(), actor.id, reason, kind="run.override")
    record_audit(
        "progress.override", actor_id=actor.id, target_type="run", target_id=run.id, detail=reason
    )


# --- recomputation after a rule change -------------------------------------------------------


def recompute_run(run: Enrolment, *, actor_id: int | None = None, reason: str = "") -> bool:
    """Judge an open run again by its course's current rules; return whether it changed."""
    _lock(run)
    if run.status == "completed":  # stays completed; its grade follows the required set
        grade = run.grade
        _refresh_run(run, utcnow(), actor_id, reason)
        return run.grade != grade
    before = (run.status, run.percent, run.grade)
    now = utcnow()
    rows = db.session.execute(
        select(ActivityProgress, Activity)
        .join(Activity, Activity.id == ActivityProgress.activity_id)
        .where(ActivityProgress.enrolment_id == run.id, ActivityProgress.status != "completed")
    ).all()
    for row, activity in rows:
        check = CHECKS.get(activity.completion)
        if check is not None and check(activity, row):
            _complete(run, row, now, actor_id, reason)
    db.session.flush()
    _refresh_run(run, now, actor_id, reason)
    return (run.status, run.percent, run.grade) != before


def open_runs(course_id: int):
    """Return a query of the ids of the course's runs a rule change may affect.

    Runs not completed, and completed runs with a grade (their course grade follows
    the set of required activities).
    """
    graded = exists().where(
        ActivityProgress.enrolment_id == Enrolment.id, ActivityProgress.grade.is_not(None)
    )
    return select(Enrolment.id).where(
        Enrolment.course_id == course_id, or_(Enrolment.status != "completed", graded)
    )


def recompute_course(course_id: int, report=None) -> int:
    """Judge every open run of a course again; return how many changed (the caller commits)."""
    ids = list(db.session.scalars(open_runs(course_id).order_by(Enrolment.id)))
    changed = 0
    for n, run_id in enumerate(ids, 1):
        run = db.session.get(Enrolment, run_id)
        if recompute_run(run, reason="rules changed"):
            changed += 1
        if report is not None and n % 100 == 0:
            report(n / len(ids), f"{n}/{len(ids)}")
    log.info("course %s: %s of %s open runs changed by new rules", course_id, changed, len(ids))
    return changed


@jobs.handler("progress.recompute", label=_l("Recompute course progress"))
def _recompute_job(job, report) -> None:
    recompute_course(job.target_id, report)
    db.session.commit()


_PENDING = "progress_recompute"


@courses.completion_changed.connect
def _on_completion_changed(_sender=None, *, course_id: int) -> None:
    """Remember the course; its open runs are judged again when the transaction commits."""
    db.session.info.setdefault(_PENDING, set()).add(course_id)


@event.listens_for(Session, "before_commit")
def _recompute_pending(session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending or not has_app_context() or session is not db.session():
        return
    limit = current_app.config.get("PROGRESS_RECOMPUTE_INLINE", RECOMPUTE_INLINE)
    for course_id in sorted(pending):
        count = session.scalar(select(func.count()).select_from(open_runs(course_id).subquery()))
        if count == 0:
            continue
        if count <= limit:
            recompute_course(course_id)
        else:
            jobs.start_after_commit(
                "progress.recompute", owner_id=None, target_type="course", target_id=course_id
            )
    session.flush()


@event.listens_for(Session, "after_rollback")
def _forget_pending(session) -> None:
    session.info.pop(_PENDING, None)


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
