"""What a learner's start page shows: where to continue, what is due, what is done.

Read from the cached run state and one query of progress rows per open run, so the
page costs a handful of queries whatever the size of the record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from elearn.accounts.models import User
from elearn.core.clock import utcnow
from elearn.courses import services as courses
from elearn.courses.models import Activity, Course, Enrolment
from elearn.extensions import db
from elearn.progress import certificates
from elearn.progress.models import ActivityProgress, Certificate


@dataclass
class OpenRun:
    """A run in progress, with where to pick it up."""

    run: Enrolment
    course: Course
    #: The lesson to open next: the one left unfinished, else the first not completed.
    next_activity: Activity | None
    #: Seconds into the next lesson's video to resume at (None: not a video, or start).
    resume_at: float | None
    overdue: bool
    done: int = 0
    total: int = 0


@dataclass
class Dashboard:
    """Everything on the learner's start page."""

    open_runs: list[OpenRun] = field(default_factory=list)
    #: Open runs with a due date, soonest first (overdue ones first of all).
    due: list[OpenRun] = field(default_factory=list)
    completed: list[Enrolment] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)
    #: {run id: its valid certificate}
    certificate_of: dict[int, Certificate] = field(default_factory=dict)


def is_overdue(run: Enrolment, now: datetime | None = None) -> bool:
    """Derived, never stored: an open run whose due moment has passed."""
    return run.status != "completed" and run.due_at is not None and (now or utcnow()) >= run.due_at


def _pick_up(run: Enrolment, course: Course) -> tuple[Activity | None, float | None, int, int]:
    rows = {
        row.activity_id: row
        for row in db.session.scalars(
            select(ActivityProgress).where(ActivityProgress.enrolment_id == run.id)
        )
    }
    sequence = courses.sequence(course)
    required = [a for a in sequence if a.required]
    done = sum(1 for a in required if a.id in rows and rows[a.id].status == "completed")
    last = rows.get(run.last_activity_id) if run.last_activity_id else None
    if last is not None and last.status != "completed":
        target = next((a for a in sequence if a.id == last.activity_id), None)
    else:
        target = None
    if target is None:
        start = 0
        if run.last_activity_id is not None:
            ids = [a.id for a in sequence]
            start = ids.index(run.last_activity_id) + 1 if run.last_activity_id in ids else 0
        ordered = sequence[start:] + sequence[:start]
        target = next(
            (a for a in ordered if a.id not in rows or rows[a.id].status != "completed"), None
        )
    resume = None
    if target is not None and target.id in rows and rows[target.id].position:
        resume = rows[target.id].position
    return target, resume, done, len(required)


def for_user(user: User) -> Dashboard:
    """Build the learner's dashboard."""
    now = utcnow()
    board = Dashboard()
    for run in courses.current_runs(user):
        if run.status == "completed":
            continue
        target, resume, done, total = _pick_up(run, run.course)
        board.open_runs.append(
            OpenRun(run, run.course, target, resume, is_overdue(run, now), done, total)
        )
    board.due = sorted(
        (r for r in board.open_runs if r.run.due_at is not None), key=lambda r: r.run.due_at
    )
    board.completed = list(
        db.session.scalars(
            select(Enrolment)
            .where(Enrolment.user_id == user.id, Enrolment.status == "completed")
            .order_by(Enrolment.completed_at.desc())
        )
    )
    board.certificates = certificates.of_user(user.id)
    board.certificate_of = {
        c.enrolment_id: c for c in reversed(board.certificates) if c.status == "valid"
    }
    return board
