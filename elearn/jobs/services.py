"""Start, run, report on and reap background jobs.

A domain registers a handler: ``@handler("content.rerender")`` on a function
``(job, report)``. ``start()`` writes the Job row, commits it (a worker must be able to
see it) and puts its id on the queue. The worker's ``run()`` claims the row with an
atomic UPDATE, calls the handler, and records the outcome. ``report(fraction, message)``
saves progress and renews the lease. ``reap()`` re-queues jobs whose lease expired
(their worker died) and jobs queued long ago that no worker ever took.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, event, func, or_, select, update
from sqlalchemy.orm import Session

from elearn.core.clock import utcnow
from elearn.core.processes import pid_alive
from elearn.core.services import AUDIT_LABELS, NotFound, ServiceError
from elearn.extensions import db
from elearn.jobs.models import Job, WorkerHeartbeat

log = logging.getLogger(__name__)

#: Seconds a claimed job may go without reporting before the reaper takes it back.
LEASE_SECONDS = 600
#: A queued job nobody took for this long is put on the queue again.
STALE_QUEUED = timedelta(minutes=10)


@dataclass(frozen=True)
class Handler:
    """What runs a kind of job, and on which queue."""

    func: Callable
    queue: str
    label: object
    #: ``(job)`` called in the transaction that marks the job failed for good.
    on_fail: Callable | None = None
    #: ``(job) -> (label, url) or None``: what the finished job made, for its page.
    result: Callable | None = None


HANDLERS: dict[str, Handler] = {}
#: Functions run by the worker's periodic reaper after it re-queued lost jobs
#: (e.g. removing abandoned uploads); each must be cheap and safe to run every minute.
MAINTENANCE: list[Callable[[], object]] = []


def handler(
    kind: str,
    *,
    queue: str = "short",
    label=None,
    on_fail: Callable | None = None,
    result: Callable | None = None,
):
    """Register the function that runs jobs of ``kind`` (what to do if it fails, what it made)."""

    def register(func: Callable) -> Callable:
        HANDLERS[kind] = Handler(func, queue, label or kind, on_fail, result)
        return func

    return register


def result_of(job: Job) -> tuple[str, str] | None:
    """Return (label, url) of what a finished job made, if its kind says so."""
    found = HANDLERS.get(job.kind)
    if job.state != "done" or found is None or found.result is None:
        return None
    return found.result(job)


def _gave_up(job: Job) -> None:
    found = HANDLERS.get(job.kind)
    if found and found.on_fail:
        found.on_fail(job)


def label(kind: str) -> str:
    """Return the readable name of a kind of job."""
    found = HANDLERS.get(kind)
    return str(found.label) if found else kind


def _new_job(kind, owner_id, target_type, target_id, max_attempts) -> Job:
    """Add a queued Job row for a registered kind (not yet flushed or queued)."""
    if kind not in HANDLERS:
        raise ServiceError(_l("Unknown kind of job."))
    job = Job(
        kind=kind,
        queue=HANDLERS[kind].queue,
        owner_id=owner_id,
        target_type=target_type,
        target_id=target_id,
        max_attempts=max_attempts,
    )
    db.session.add(job)
    return job


def start(
    kind: str,
    *,
    owner_id: int | None,
    target_type: str | None = None,
    target_id: int | None = None,
    max_attempts: int = 3,
    prepare: Callable[[Job], None] | None = None,
) -> Job:
    """Create a job and queue it. Commits: the row must exist before a worker looks.

    ``prepare(job)`` runs after the row has its id and before the commit, so the caller
    can point its own rows at the job in the same transaction.
    """
    from elearn import tasks

    job = _new_job(kind, owner_id, target_type, target_id, max_attempts)
    if prepare is not None:
        db.session.flush()
        prepare(job)
    db.session.commit()
    log.info("job %s (%s) queued on %s", job.id, kind, job.queue)
    tasks.enqueue(job.queue, job.id)
    return job


def start_after_commit(
    kind: str,
    *,
    owner_id: int | None,
    target_type: str | None = None,
    target_id: int | None = None,
    max_attempts: int = 3,
) -> Job:
    """Create a job in the caller's transaction; it goes on the queue once that commits.

    For services that must not commit their caller's work. If the queue message is lost
    (the process dies between commit and enqueue), ``reap()`` re-queues the job.
    """
    job = _new_job(kind, owner_id, target_type, target_id, max_attempts)
    db.session.flush()
    db.session.info.setdefault(_TO_QUEUE, []).append((job.queue, job.id))
    return job


_TO_QUEUE = "jobs_to_queue"


@event.listens_for(Session, "after_commit")
def _queue_committed(session) -> None:
    from elearn import tasks

    for queue, job_id in session.info.pop(_TO_QUEUE, []):
        log.info("job %s queued on %s", job_id, queue)
        if tasks.QUEUES[queue].immediate and has_app_context():
            # Immediate mode runs the job here: give it its own session, not this one
            # (which has just committed and can run no more SQL in this hook).
            with current_app.app_context():
                tasks.enqueue(queue, job_id)
        else:
            tasks.enqueue(queue, job_id)


@event.listens_for(Session, "after_rollback")
def _forget_uncommitted(session) -> None:
    session.info.pop(_TO_QUEUE, None)


def _claim(job_id: int) -> Job | None:
    """Take the job if it is queued or its lease ran out; return it, else None."""
    now = utcnow()
    claimed = db.session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            or_(Job.state == "queued", and_(Job.state == "running", Job.lease_expires_at < now)),
        )
        .values(
            state="running",
            attempts=Job.attempts + 1,
            started_at=now,
            error=None,
            lease_expires_at=now + timedelta(seconds=LEASE_SECONDS),
            worker=process_name(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return db.session.get(Job, job_id, populate_existing=True) if claimed else None


def run(job_id: int) -> None:
    """Run one job in this process (called by the worker for each queue message)."""
    job = _claim(job_id)
    if job is None:
        log.info("job %s is not waiting (done, failed or taken); skipping", job_id)
        return
    found = HANDLERS.get(job.kind)

    def report(fraction: float, message: str = "") -> None:
        """Save progress and renew the lease (commits)."""
        job.progress = max(0.0, min(1.0, fraction))
        job.message = message[:500]
        job.lease_expires_at = utcnow() + timedelta(seconds=LEASE_SECONDS)
        db.session.commit()

    try:
        if found is None:
            raise ServiceError(_l("This kind of job is unknown to this version."))
        found.func(job, report)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the job
        db.session.rollback()
        job = db.session.get(Job, job_id, populate_existing=True)
        log.exception("job %s (%s) failed on attempt %s", job.id, job.kind, job.attempts)
        if job.attempts < job.max_attempts and not isinstance(exc, ServiceError):
            job.state, job.lease_expires_at = "queued", None
            job.error = str(exc)[:2000]
            db.session.commit()
            from elearn import tasks

            tasks.enqueue(job.queue, job.id)
        else:
            job.state, job.finished_at, job.lease_expires_at = "failed", utcnow(), None
            job.error = str(exc)[:2000] or exc.__class__.__name__
            _gave_up(job)
            db.session.commit()
        return
    job.state, job.progress, job.finished_at, job.lease_expires_at = "done", 1.0, utcnow(), None
    db.session.commit()
    log.info("job %s (%s) done", job.id, job.kind)


def process_name() -> str:
    """``hostname:pid`` of this process: how jobs and heartbeats name their worker."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _worker_dead(name: str | None, stale: set[str]) -> bool:
    """True when the process ``name`` is known to be gone (never guess: else the lease decides)."""
    if not name:
        return False
    host, _sep, pid = name.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        return not pid_alive(int(pid))
    return name in stale


def reap() -> int:
    """Re-queue jobs whose worker died and jobs that no worker took; return how many.

    A worker killed outright (out of memory, a machine restart, ``kill -9``) leaves its
    jobs ``running``. They are taken up again as soon as the reaper knows the worker is
    gone: on this machine when its process no longer exists, on another when its
    heartbeat is older than ``HEARTBEAT_STALE``; otherwise when the lease runs out.
    """
    from elearn import tasks

    now = utcnow()
    stale = set(
        db.session.scalars(
            select(WorkerHeartbeat.name).where(WorkerHeartbeat.seen_at < now - HEARTBEAT_STALE)
        )
    )
    running = db.session.scalars(
        select(Job).where(Job.state == "running", Job.lease_expires_at >= now)
    )
    orphaned = {job.id for job in running if _worker_dead(job.worker, stale)}
    lost = list(
        db.session.scalars(
            select(Job).where(
                or_(
                    and_(Job.state == "running", Job.lease_expires_at < now),
                    and_(Job.state == "queued", Job.created_at < now - STALE_QUEUED),
                    Job.id.in_(orphaned),
                )
            )
        )
    )
    for job in lost:
        if job.state == "running" and job.attempts >= job.max_attempts:
            job.state, job.finished_at = "failed", now
            job.error = "The worker stopped while running this job, too many times."
            _gave_up(job)
            continue
        job.state, job.lease_expires_at = "queued", None
        job.created_at = now  # counts as freshly queued
    db.session.flush()
    for job in lost:
        if job.state == "queued":
            tasks.enqueue(job.queue, job.id)
    if lost:
        log.warning("reaper re-queued %s job(s)", len(lost))
    return len(lost)


def jobs_for(user, limit: int = 100) -> list[Job]:
    """Return the jobs ``user`` may see (admins: all), newest first."""
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if not user.is_admin:
        query = query.where(Job.owner_id == user.id)
    return list(db.session.scalars(query))


def job_for(user, job_id: int) -> Job:
    """Return one job ``user`` may see, else raise NotFound."""
    job = db.session.get(Job, job_id)
    if job is None or not (user.is_admin or job.owner_id == user.id):
        raise NotFound(_l("Job not found."))
    return job


#: Seconds between two heartbeats of a worker's main loop.
HEARTBEAT_SECONDS = 15
#: A worker on another machine whose heartbeat is older than this is taken for dead.
HEARTBEAT_STALE = timedelta(seconds=90)
#: A heartbeat row not renewed for this long belongs to a dead worker and is removed.
HEARTBEAT_FORGET = timedelta(days=1)


def beat(name: str, queues: str) -> None:
    """Record that worker ``name`` (``hostname:pid``) serving ``queues`` is alive now."""
    now = utcnow()
    row = db.session.get(WorkerHeartbeat, name)
    if row is None:
        db.session.add(WorkerHeartbeat(name=name, queues=queues, started_at=now, seen_at=now))
        log.info("worker %s started on %s", name, queues)
    else:
        row.queues, row.seen_at = queues, now
    db.session.execute(
        delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < now - HEARTBEAT_FORGET)
    )
    db.session.flush()


def forget_worker(name: str) -> None:
    """Remove worker ``name``'s heartbeat (it stops cleanly)."""
    db.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.name == name))
    db.session.flush()


def heartbeats(since: datetime) -> tuple[datetime | None, int]:
    """Return when a worker was last seen, and how many workers were seen since ``since``."""
    seen, count = db.session.execute(
        select(
            func.max(WorkerHeartbeat.seen_at),
            func.count(WorkerHeartbeat.name).filter(WorkerHeartbeat.seen_at >= since),
        )
    ).one()
    return seen, count


AUDIT_LABELS.update({"job.started": _l("Background job started")})
