"""Jobs: at-least-once work with progress, retries, failures, the reaper and a real worker."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from elearn import tasks
from elearn.core.clock import utcnow
from elearn.core.services import ServiceError
from elearn.courses import services as courses
from elearn.courses.models import PageContent
from elearn.extensions import db
from elearn.jobs import services as jobs
from elearn.jobs.models import Job, WorkerHeartbeat

ROOT = Path(__file__).parents[2]


@pytest.fixture
def flaky_handlers():
    """Handlers that fail, registered for one test."""
    calls = {"boom": 0, "refused": 0}

    @jobs.handler("test.boom")
    def boom(job, report):
        calls["boom"] += 1
        report(0.5, "half way")
        raise RuntimeError("disk full")

    @jobs.handler("test.refused")
    def refused(job, report):
        calls["refused"] += 1
        raise ServiceError("the file is not a video")

    yield calls
    jobs.HANDLERS.pop("test.boom")
    jobs.HANDLERS.pop("test.refused")


def test_admin_rerenders_every_page_as_a_job(as_user, world, make_course):
    make_course(pages=3)
    for page in db.session.scalars(select(PageContent)):
        page.html = "<p>stale</p>"
    db.session.commit()
    admin = as_user("admin")
    response = admin.post("/teach/rerender")
    job = db.session.scalar(select(Job))
    assert response.headers["Location"].endswith(f"/jobs/{job.id}")
    assert (job.state, job.progress, job.attempts, job.owner_id) == ("done", 1.0, 1, world.admin.id)
    assert all(p.html != "<p>stale</p>" for p in db.session.scalars(select(PageContent)))
    page = admin.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "Hiển thị lại toàn bộ bài học" in page
    assert "✓ đã xong" in page


def test_a_failing_job_is_retried_then_marked_failed(app, world, flaky_handlers):
    job = jobs.start("test.boom", owner_id=world.admin.id, max_attempts=3)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert flaky_handlers["boom"] == 3
    assert (job.state, job.attempts, job.error) == ("failed", 3, "disk full")


def test_a_refused_job_fails_at_once_with_its_message(app, world, flaky_handlers):
    job = jobs.start("test.refused", owner_id=world.admin.id)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert flaky_handlers["refused"] == 1
    assert (job.state, job.error) == ("failed", "the file is not a video")


def test_the_reaper_reruns_a_job_whose_worker_died(app, world, make_course):
    make_course()
    job = Job(
        kind="content.rerender",
        state="running",
        attempts=1,
        lease_expires_at=utcnow() - timedelta(seconds=5),
        owner_id=world.admin.id,
    )
    db.session.add(job)
    db.session.commit()
    assert jobs.reap() == 1  # immediate mode: the re-queued job runs right away
    db.session.commit()
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert (job.state, job.attempts) == ("done", 2)


def test_a_job_held_by_a_live_worker_is_not_taken_twice(app, world):
    job = Job(
        kind="content.rerender",
        state="running",
        attempts=1,
        lease_expires_at=utcnow() + timedelta(minutes=5),
    )
    db.session.add(job)
    db.session.commit()
    jobs.run(job.id)  # a duplicate queue message
    db.session.expire_all()
    assert db.session.get(Job, job.id).attempts == 1
    assert jobs.reap() == 0


def test_a_job_of_a_killed_worker_is_taken_up_before_its_lease_runs_out(app, world, make_course):
    """A `kill -9` leaves a job running with minutes of lease: the reaper sees the process gone."""
    make_course()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that existed on this machine and is gone now
    host = jobs.process_name().rpartition(":")[0]
    lease = utcnow() + timedelta(minutes=9)
    orphan = Job(
        kind="content.rerender",
        state="running",
        attempts=1,
        lease_expires_at=lease,
        worker=f"{host}:{dead.pid}",
        owner_id=world.admin.id,
    )
    alive = Job(
        kind="content.rerender",
        state="running",
        attempts=1,
        lease_expires_at=lease,
        worker=jobs.process_name(),
    )
    # On another machine: dead when its heartbeat is stale, else trusted until the lease ends.
    silent = Job(
        kind="content.rerender",
        state="running",
        attempts=1,
        lease_expires_at=lease,
        worker="web-7:4242",
        owner_id=world.admin.id,
    )
    beating = Job(
        kind="content.rerender",
        state="running",
        attempts=1,
        lease_expires_at=lease,
        worker="web-8:4242",
    )
    db.session.add_all([orphan, alive, silent, beating])
    db.session.add_all(
        [
            WorkerHeartbeat(
                name="web-7:4242", queues="long", seen_at=utcnow() - timedelta(minutes=3)
            ),
            WorkerHeartbeat(name="web-8:4242", queues="long", seen_at=utcnow()),
        ]
    )
    db.session.commit()
    assert jobs.reap() == 2
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Job, orphan.id).state == "done"  # immediate mode: ran again at once
    assert db.session.get(Job, silent.id).state == "done"
    assert db.session.get(Job, alive.id).state == "running"
    assert db.session.get(Job, beating.id).state == "running"


def test_people_see_only_their_own_jobs(as_user, world):
    job = jobs.start("content.rerender", owner_id=world.instructor.id)
    assert as_user("instructor").get(f"/jobs/{job.id}").status_code == 200
    assert as_user("learner").get(f"/jobs/{job.id}").status_code == 404
    assert as_user("admin").get(f"/jobs/{job.id}").status_code == 200
    assert f"/jobs/{job.id}" not in as_user("learner").get("/jobs").get_data(as_text=True)


REDIS_URL = os.environ.get("ELEARN_TEST_REDIS_URL")


@pytest.mark.parametrize(
    "broker",
    [
        "sqlite",
        pytest.param(
            "redis",
            marks=pytest.mark.skipif(not REDIS_URL, reason="set ELEARN_TEST_REDIS_URL (CI does)"),
        ),
    ],
)
def test_a_real_worker_process_runs_queued_jobs(make_app, world, broker):
    """The worker command, a separate process, takes a job from the SQLite or Redis queue."""
    if broker == "redis":
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
    app = make_app(JOBS_IMMEDIATE=False, REDIS_URL=REDIS_URL if broker == "redis" else None)
    with app.app_context():
        module = courses.add_module(courses.create_course(None, slug="k", title="K"), "P")
        courses.add_page(module, "Bài", "## Một")
        db.session.commit()
        job = jobs.start("content.rerender", owner_id=None)
        job_id = job.id
    env = {
        **os.environ,
        "ELEARN_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "ELEARN_INSTANCE_DIR": str(app.config["INSTANCE_DIR"]),
        "ELEARN_ENV": "development",
        "ELEARN_DEMO": "0",
        "ELEARN_LOG_LEVEL": "INFO",
    }
    env.pop("ELEARN_REDIS_URL", None)
    if broker == "redis":
        env["ELEARN_REDIS_URL"] = REDIS_URL
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
        state = None
        while time.monotonic() < deadline:
            with app.app_context():
                state = db.session.scalar(select(Job.state).where(Job.id == job_id))
                db.session.remove()
            if state in ("done", "failed"):
                break
            time.sleep(0.5)
        assert state == "done"
    finally:
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=30)[0]
    assert worker.returncode == 0, output
    assert "worker ready" in output
    with app.app_context():
        tasks.bind(make_app())  # back to immediate mode for the tests that follow
