"""``flask --app wsgi worker``: run the job queues in this process."""

from __future__ import annotations

import logging
import signal
import threading
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from elearn import tasks
from elearn.extensions import db
from elearn.jobs import services

log = logging.getLogger(__name__)


@click.command("worker")
@click.option(
    "--queue",
    "queue_name",
    type=click.Choice(["all", *tasks.QUEUE_NAMES]),
    default="all",
    show_default=True,
    help="Which queue(s) to serve.",
)
@click.option(
    "--threads",
    default=2,
    show_default=True,
    help="Worker threads for the short queue (the long queue always has one).",
)
@with_appcontext
def worker_command(queue_name: str, threads: int):
    """Take jobs from the queues until stopped (Ctrl-C or SIGTERM finishes running jobs)."""
    app = current_app._get_current_object()
    tasks.bind(app)
    if app.config.get("JOBS_IMMEDIATE"):
        raise click.ClickException("JOBS_IMMEDIATE is on: jobs already run in the web process.")
    requeued = services.reap()
    db.session.commit()
    names = tasks.QUEUE_NAMES if queue_name == "all" else (queue_name,)
    consumers = [
        tasks.QUEUES[name].create_consumer(
            workers=threads if name == "short" else 1,
            periodic=name == "short",
            worker_type="thread",
            check_worker_health=True,
            # An idle consumer polls at most every 2 s (Huey's default backs off to 10 s),
            # so a conversion starts soon after the instructor's upload.
            max_delay=2.0,
        )
        for name in names
    ]
    for consumer in consumers:
        consumer.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    name, queues = services.process_name(), ",".join(names)
    _beat(name, queues)
    click.echo(f"worker ready: queues {', '.join(names)}; {requeued} job(s) re-queued at start")
    next_beat = time.monotonic() + services.HEARTBEAT_SECONDS
    while not stop.is_set():
        stop.wait(1)
        if time.monotonic() >= next_beat:
            _beat(name, queues)
            next_beat = time.monotonic() + services.HEARTBEAT_SECONDS
    click.echo("worker stopping: letting running jobs finish")
    for consumer in consumers:
        consumer.stop(graceful=True)
    services.forget_worker(name)
    db.session.commit()


def _beat(name: str, queues: str) -> None:
    """Write this worker's heartbeat; a database hiccup is logged, never fatal."""
    try:
        services.beat(name, queues)
        db.session.commit()
    except Exception:  # noqa: BLE001 - the worker keeps serving; /healthz will notice
        db.session.rollback()
        log.warning("worker %s could not record its heartbeat", name, exc_info=True)
