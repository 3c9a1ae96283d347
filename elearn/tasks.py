"""The job queues: two Huey instances, ``short`` and ``long``.

Storage is chosen from the environment at import: Redis when ``ELEARN_REDIS_URL`` is
set (workers on any machine), else a SQLite file in the instance folder. ``bind(app)``
re-points them at an app's configuration (tests use their own folder). Huey only
carries job ids; the Job rows in ``elearn.jobs`` hold state, progress and leases.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask, has_app_context
from huey import Huey, crontab
from huey.storage import RedisStorage, SqliteStorage

QUEUE_NAMES = ("short", "long")

_app: Flask | None = None


def _storage(redis_url: str | None, instance_dir: Path) -> tuple[type, dict]:
    if redis_url:
        return RedisStorage, {"url": redis_url}
    instance_dir.mkdir(parents=True, exist_ok=True)
    return SqliteStorage, {"filename": str(instance_dir / "jobs.db")}


def _make(name: str) -> Huey:
    storage_class, kwargs = _storage(
        os.environ.get("ELEARN_REDIS_URL") or None,
        Path(os.environ.get("ELEARN_INSTANCE_DIR") or Path.cwd() / "instance"),
    )
    return Huey(f"elearn-{name}", results=False, storage_class=storage_class, **kwargs)


QUEUES: dict[str, Huey] = {name: _make(name) for name in QUEUE_NAMES}


def bind(app: Flask) -> None:
    """Use ``app``'s Redis URL or instance folder for the queues, and run tasks in it."""
    global _app  # the app tasks run in, set once per process
    _app = app
    storage_class, kwargs = _storage(app.config.get("REDIS_URL"), Path(app.config["INSTANCE_DIR"]))
    for queue in QUEUES.values():
        queue.immediate = bool(app.config.get("JOBS_IMMEDIATE"))
        if (queue.storage_class, queue.storage_kwargs) != (storage_class, kwargs):
            queue.storage_class, queue.storage_kwargs = storage_class, kwargs
            queue.storage = queue.create_storage()


def _in_app(func, *args):
    if has_app_context():
        return func(*args)
    if _app is None:
        from elearn import create_app

        bind(create_app())
    app = _app
    with app.app_context():
        return func(*args)


def _run_job(job_id: int) -> None:
    from elearn.core.logs import job_context
    from elearn.jobs import services

    with job_context(job_id):  # every line logged while it runs carries job_id
        _in_app(services.run, job_id)


def _reap() -> None:
    from elearn.jobs import services

    def reap_and_commit():
        from elearn.extensions import db

        services.reap()
        db.session.commit()
        for task in services.MAINTENANCE:
            try:
                task()
                db.session.commit()
            except Exception:  # noqa: BLE001 - one failing chore must not stop the others
                db.session.rollback()
                logging.getLogger(__name__).exception("maintenance task %s failed", task)

    _in_app(reap_and_commit)


RUN_JOB = {name: queue.task(name="run_job")(_run_job) for name, queue in QUEUES.items()}
REAPER = QUEUES["short"].periodic_task(crontab(minute="*"), name="reap_jobs")(_reap)


def enqueue(queue: str, job_id: int) -> None:
    """Put a message for job ``job_id`` on ``queue``."""
    RUN_JOB[queue](job_id)
