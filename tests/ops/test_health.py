"""/healthz, /readyz and ``ops health``: each check passes, and each failure is named."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from elearn.core.clock import utcnow
from elearn.extensions import db
from elearn.jobs.models import WorkerHeartbeat
from tests.conftest import PG_URL

ROOT = Path(__file__).parents[2]
#: Nothing listens on port 1: connections are refused at once.
DEAD_REDIS = "redis://127.0.0.1:1/0"
DEAD_DATABASE = "postgresql+psycopg://elearn@127.0.0.1:1/elearn"


def _answer(client, url="/healthz"):
    response = client.get(url)
    assert response.headers["Cache-Control"] == "no-store"
    return response.status_code, response.get_json()


def test_healthz_passes_when_every_check_passes(app, client, tmp_path):
    """Does a healthy embedded site answer 200 with every check and only numbers?"""
    status, body = _answer(client)
    assert status == 200
    assert body["status"] == "ok"
    assert body["failing"] == []
    checks = body["checks"]
    assert set(checks) == {"database", "redis", "disk", "worker"}
    assert checks["database"]["status"] == "ok"
    assert checks["database"]["latency_ms"] >= 0
    assert checks["redis"] == {"status": "not configured"}
    assert checks["worker"] == {"status": "immediate"}
    free = shutil.disk_usage(tmp_path).free
    assert abs(checks["disk"]["instance_free_bytes"] - free) < 1024**3
    assert checks["disk"]["min_free_bytes"] == app.config["HEALTH_MIN_FREE_BYTES"]
    raw = client.get("/healthz").get_data(as_text=True)
    assert str(tmp_path) not in raw  # public: no paths


def test_an_unreachable_database_fails_health_and_readiness(app, make_app):
    client = make_app(SQLALCHEMY_DATABASE_URI=DEAD_DATABASE).test_client()
    status, body = _answer(client)
    assert (status, body["failing"]) == (503, ["database"])
    assert body["checks"]["database"] == {"status": "unreachable"}
    assert "127.0.0.1" not in json.dumps(body)
    status, body = _answer(client, "/readyz")
    assert status == 503
    assert body["checks"]["database"]["status"] == "unreachable"


def test_an_unreachable_redis_fails_health(app, client):
    app.config["REDIS_URL"] = DEAD_REDIS
    started = time.monotonic()
    status, body = _answer(client)
    assert time.monotonic() - started < 5
    assert (status, body["failing"]) == (503, ["redis"])
    assert body["checks"]["redis"] == {"status": "unreachable"}


@pytest.mark.skipif(
    not os.environ.get("ELEARN_TEST_REDIS_URL"), reason="set ELEARN_TEST_REDIS_URL (CI does)"
)
def test_a_reachable_redis_passes(app, client):
    app.config["REDIS_URL"] = os.environ["ELEARN_TEST_REDIS_URL"]
    status, body = _answer(client)
    assert status == 200
    assert body["checks"]["redis"]["status"] == "ok"


def test_too_little_free_disk_fails_health(app, client):
    app.config["HEALTH_MIN_FREE_BYTES"] = shutil.disk_usage(app.config["INSTANCE_DIR"]).free * 2
    status, body = _answer(client)
    assert (status, body["failing"]) == (503, ["disk"])
    assert body["checks"]["disk"]["status"] == "low"


@pytest.mark.parametrize(
    ("seen_ago", "status", "worker_status"),
    [(None, 503, "missing"), (timedelta(minutes=5), 503, "stale"), (timedelta(0), 200, "ok")],
)
def test_the_worker_check_follows_the_newest_heartbeat(
    app, client, seen_ago, status, worker_status
):
    """With jobs on a worker, health needs a heartbeat from the last 90 s."""
    app.config["JOBS_IMMEDIATE"] = False
    if seen_ago is not None:
        seen = utcnow() - seen_ago
        db.session.add(WorkerHeartbeat(name="w1:1", queues="short", started_at=seen, seen_at=seen))
        db.session.commit()
    answered, body = _answer(client)
    assert (answered, body["checks"]["worker"]["status"]) == (status, worker_status)
    if status == 503:
        assert body["failing"] == ["worker"]
    if seen_ago is not None:
        assert body["checks"]["worker"]["age_seconds"] >= seen_ago.total_seconds() - 1
        assert body["checks"]["worker"]["workers"] == (1 if status == 200 else 0)


@pytest.fixture
def migrations():
    """The migration scripts: head revision and the one before it."""
    script = ScriptDirectory(str(ROOT / "migrations"))
    head = script.get_current_head()
    return head, script.get_revision(head).down_revision


@pytest.fixture
def alembic_version(app):
    """Return a function that stamps the test database; the table goes afterwards."""

    def stamp(revision: str) -> None:
        db.session.execute(
            text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL)")
        )
        db.session.execute(text("DELETE FROM alembic_version"))
        db.session.execute(text("INSERT INTO alembic_version VALUES (:rev)"), {"rev": revision})
        db.session.commit()

    db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.session.commit()
    yield stamp
    db.session.rollback()
    db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.session.commit()


def test_readyz_needs_the_schema_at_the_newest_migration(client, alembic_version, migrations):
    head, previous = migrations
    status, body = _answer(client, "/readyz")
    assert (status, body["checks"]["schema"]["status"]) == (503, "not migrated")
    alembic_version(previous)
    status, body = _answer(client, "/readyz")
    assert (status, body["failing"], body["checks"]["schema"]["status"]) == (
        503,
        ["schema"],
        "outdated",
    )
    alembic_version(head)
    status, body = _answer(client, "/readyz")
    assert (status, body["status"]) == (200, "ok")


def test_ops_health_prints_the_report_and_exits_1_when_unhealthy(app, runner):
    result = runner.invoke(args=["ops", "health"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("healthy")
    assert "database  ok" in result.output
    app.config["HEALTH_MIN_FREE_BYTES"] = shutil.disk_usage(app.config["INSTANCE_DIR"]).free * 2
    result = runner.invoke(args=["ops", "health"])
    assert result.exit_code == 1
    assert "unhealthy: disk" in result.output
    result = runner.invoke(args=["ops", "health", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["failing"] == ["disk"]


def _heartbeat_of(pid: int) -> WorkerHeartbeat | None:
    db.session.rollback()  # read what the worker committed since
    return db.session.scalar(
        select(WorkerHeartbeat).where(WorkerHeartbeat.name.endswith(f":{pid}"))
    )


def test_a_real_worker_keeps_a_heartbeat_while_it_runs(app, client):
    """The worker command writes its row at start and removes it when stopped."""
    if not PG_URL:
        db.session.commit()  # the worker process must see the schema
    env = {
        **os.environ,
        "ELEARN_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "ELEARN_INSTANCE_DIR": str(app.config["INSTANCE_DIR"]),
        "ELEARN_ENV": "development",
        "ELEARN_DEMO": "0",
        "ELEARN_JOBS_IMMEDIATE": "0",
        "ELEARN_LOG_LEVEL": "INFO",
        "ELEARN_LOG_FORMAT": "json",
    }
    env.pop("ELEARN_REDIS_URL", None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--queue", "short"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        row = None
        while row is None and time.monotonic() < deadline and worker.poll() is None:
            row = _heartbeat_of(worker.pid)
            time.sleep(0.3)
        assert row is not None, "no heartbeat from the worker"
        assert row.queues == "short"
        assert utcnow() - row.seen_at < timedelta(seconds=30)
        app.config["JOBS_IMMEDIATE"] = False
        status, body = _answer(client)
        assert (status, body["checks"]["worker"]["status"]) == (200, "ok")
    finally:
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=30)[0]
    assert worker.returncode == 0, output
    assert _heartbeat_of(worker.pid) is None
    logged = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(
        entry["logger"] == "elearn.jobs.services" and "started on short" in entry["message"]
        for entry in logged
    ), output
