"""What ``/healthz``, ``/readyz`` and ``flask --app wsgi ops health`` report.

Health (``health()``): the database answers ``SELECT 1``; Redis answers PING when it is
configured; the media and instance folders have at least ``HEALTH_MIN_FREE_BYTES``
free; a job worker wrote its heartbeat in the last ``WORKER_STALE_SECONDS`` (or jobs
run inside the web process, ``JOBS_IMMEDIATE``). Readiness (``readiness()``): the
database answers and its schema is at the newest Alembic revision of ``migrations/``,
so a load balancer can take a process out while the schema is being upgraded.

The reports are public and polled often: each check is one cheap call with a short
timeout, and a report holds only statuses and numbers (no paths, names or errors;
those go to the log).
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import redis
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from elearn.core.clock import utcnow
from elearn.extensions import db
from elearn.jobs import services as jobs

log = logging.getLogger(__name__)

#: A worker whose newest heartbeat is older than this is taken for dead (it beats every 15 s).
WORKER_STALE_SECONDS = int(jobs.HEARTBEAT_STALE.total_seconds())
#: Seconds Redis may take to connect or to answer PING.
REDIS_TIMEOUT = 1.0

_redis_clients: dict[str, redis.Redis] = {}


@dataclass(frozen=True)
class Check:
    """The outcome of one check: whether it passed, a one-word status and some numbers."""

    ok: bool
    status: str
    numbers: dict[str, float | int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Return the check as it appears in the JSON report."""
        return {"status": self.status, **self.numbers}


@dataclass(frozen=True)
class Report:
    """Named checks; healthy when every one passed."""

    checks: dict[str, Check]

    @property
    def ok(self) -> bool:
        """Tell whether every check passed."""
        return all(check.ok for check in self.checks.values())

    @property
    def failing(self) -> list[str]:
        """Return the names of the checks that failed."""
        return [name for name, check in self.checks.items() if not check.ok]

    def as_dict(self) -> dict:
        """Return the JSON report: overall status, failing check names, each check."""
        return {
            "status": "ok" if self.ok else "failing",
            "failing": self.failing,
            "checks": {name: check.as_dict() for name, check in self.checks.items()},
        }


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def check_database() -> Check:
    """Run ``SELECT 1`` and time it."""
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("health: the database did not answer (%s)", error.__class__.__name__)
        return Check(False, "unreachable")
    return Check(True, "ok", {"latency_ms": _ms_since(started)})


def check_redis(url: str | None) -> Check:
    """PING Redis at ``url``; without a URL there is nothing to check (embedded tier)."""
    if not url:
        return Check(True, "not configured")
    client = _redis_clients.get(url)
    if client is None:
        client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
        _redis_clients[url] = client
    started = time.perf_counter()
    try:
        client.ping()
    except (redis.RedisError, OSError) as error:
        log.warning("health: Redis did not answer (%s)", error.__class__.__name__)
        return Check(False, "unreachable")
    return Check(True, "ok", {"latency_ms": _ms_since(started)})


def _existing(path: Path) -> Path:
    """Return ``path`` or its nearest existing parent (a folder made on first use)."""
    path = Path(path)
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def check_disk(folders: dict[str, Path], min_free: int) -> Check:
    """Measure free bytes under each folder; fail when one has less than ``min_free``."""
    numbers: dict[str, float | int] = {}
    try:
        for label, folder in folders.items():
            numbers[f"{label}_free_bytes"] = shutil.disk_usage(_existing(folder)).free
    except OSError as error:
        log.warning("health: free disk space unreadable (%s)", error.__class__.__name__)
        return Check(False, "unreadable")
    numbers["min_free_bytes"] = min_free
    ok = all(free >= min_free for label, free in numbers.items() if label != "min_free_bytes")
    return Check(ok, "ok" if ok else "low", numbers)


def check_worker(immediate: bool) -> Check:
    """Age of the newest worker heartbeat; jobs run in the web process need no worker."""
    if immediate:
        return Check(True, "immediate")
    now = utcnow()
    try:
        seen, live = jobs.heartbeats(now - timedelta(seconds=WORKER_STALE_SECONDS))
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("health: worker heartbeats unreadable (%s)", error.__class__.__name__)
        return Check(False, "unknown")
    if seen is None:
        return Check(False, "missing", {"workers": 0})
    age = max(0.0, (now - seen).total_seconds())
    ok = age <= WORKER_STALE_SECONDS
    return Check(ok, "ok" if ok else "stale", {"age_seconds": round(age, 1), "workers": live})


@lru_cache(maxsize=4)
def migration_heads(directory: str) -> frozenset[str]:
    """Return the head revisions of the migrations in ``directory`` (read once per process)."""
    return frozenset(ScriptDirectory(directory).get_heads())


def check_schema() -> Check:
    """Compare the database's ``alembic_version`` with the migrations' head."""
    heads = migration_heads(str(current_app.extensions["migrate"].directory))
    try:
        current = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    except SQLAlchemyError:
        db.session.rollback()
        return Check(False, "not migrated")
    if current == heads:
        return Check(True, "ok")
    return Check(False, "not migrated" if not current else "outdated")


def health() -> Report:
    """Run every health check with the app's settings."""
    config = current_app.config
    folders = {"media": config["MEDIA_DIR"], "instance": config["INSTANCE_DIR"]}
    return Report(
        {
            "database": check_database(),
            "redis": check_redis(config.get("REDIS_URL")),
            "disk": check_disk(folders, config["HEALTH_MIN_FREE_BYTES"]),
            "worker": check_worker(bool(config.get("JOBS_IMMEDIATE"))),
        }
    )


def readiness() -> Report:
    """Tell whether this process can serve: database reachable, schema at the head."""
    database = check_database()
    schema = check_schema() if database.ok else Check(False, "unknown")
    return Report({"database": database, "schema": schema})
