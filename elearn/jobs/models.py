"""The Job row that makes queued work visible, retryable and at-least-once; worker heartbeats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from elearn.core.clock import utcnow
from elearn.extensions import db

STATES = ("queued", "running", "done", "failed")


class Job(db.Model):
    """One piece of background work and what became of it.

    States:
    - ``queued``: waiting for a worker (Huey holds a message for it).
    - ``running``: a worker claimed it and holds a lease until ``lease_expires_at``;
      it renews the lease each time it reports progress.
    - ``done``: finished.
    - ``failed``: gave up after ``max_attempts``; ``error`` says why, for a person.
    A running job whose worker died (its process is gone, its heartbeat stopped, or at
    the latest its lease expired) is put back to ``queued`` by the reaper, so every job
    runs at least once; handlers are written to run twice.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Handler name, e.g. ``content.rerender``.
    kind: Mapped[str] = mapped_column(String(64), index=True)
    #: ``short`` or ``long``: long jobs never hold up short ones.
    queue: Mapped[str] = mapped_column(String(16), default="short")
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None]
    #: Completion ratio, 0.0 to 1.0.
    progress: Mapped[float] = mapped_column(default=0.0)
    #: The last status line the handler reported.
    message: Mapped[str] = mapped_column(String(500), default="")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    lease_expires_at: Mapped[datetime | None] = mapped_column(index=True)
    #: ``hostname:pid`` of the process that claimed it last: when that process is gone
    #: (same machine) or its heartbeat stopped (another machine), the reaper does not wait
    #: for the lease to run out.
    worker: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class WorkerHeartbeat(db.Model):
    """A worker process that is (or was lately) alive.

    The worker writes its row at start and every ``HEARTBEAT_SECONDS`` from its main
    loop, and deletes it on a clean stop; ``/healthz`` reads the newest ``seen_at``. A
    row left by a worker that was killed stops being renewed and is pruned after a day.
    Kept in the database so it works across machines on either database.
    """

    __tablename__ = "worker_heartbeats"

    #: ``hostname:pid`` of the worker process.
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: The queues it serves, comma-separated (``short,long``).
    queues: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
