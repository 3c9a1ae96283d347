"""The tamper-evident record: hash-chained progress events, checking them, rebuilding from them.

Every state transition of a learner's runs (started, an activity completed, a grade
changed, the run completed, reset or overridden) is one ``ProgressEvent``. Each event
stores SHA-256 over the previous event's hash and its own fields, per learner, so an
edited, removed or reordered event breaks the chain at that point. ``verify`` walks the
chains; ``fold`` replays events into run state, which ``rebuild`` compares with (and can
write over) the cached state on ``Enrolment``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from elearn.core.clock import utcnow
from elearn.courses.models import Activity, Enrolment, Module
from elearn.extensions import db
from elearn.progress.models import ActivityProgress, ProgressChain, ProgressEvent

GENESIS = "0" * 64
KINDS = (
    "run.started",
    "activity.completed",
    "activity.graded",
    "run.completed",
    "run.reset",
    "run.override",
)


def dumps(value) -> str:
    """Return canonical JSON for an event value ("" for None)."""
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def loads(text: str):
    """Read a value stored by ``dumps``."""
    return json.loads(text) if text else None


def stamp(moment: datetime | None) -> str | None:
    """Return a stored datetime as the ISO text events carry."""
    return moment.isoformat(timespec="microseconds") if moment else None


def digest(event: ProgressEvent) -> str:
    """Return the hash an event must carry, from its previous hash and its fields."""
    body = json.dumps(
        [
            event.user_id,
            event.seq,
            event.enrolment_id,
            event.course_id,
            event.activity_id,
            event.kind,
            event.old_value,
            event.new_value,
            event.actor_id,
            event.reason,
            stamp(event.created_at),
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(f"{event.prev_hash}\n{body}".encode()).hexdigest()


def _head(user_id: int) -> ProgressChain:
    """Return the learner's chain head, locked (FOR UPDATE) until the transaction ends."""
    query = (
        select(ProgressChain)
        .where(ProgressChain.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    head = db.session.scalar(query)
    if head is None:
        try:
            with db.session.begin_nested():  # the first event of two at once: one inserts
                head = ProgressChain(user_id=user_id, seq=0, hash=GENESIS)
                db.session.add(head)
        except IntegrityError:
            head = db.session.scalar(query)
    return head


def append(
    run: Enrolment,
    kind: str,
    *,
    activity_id: int | None = None,
    old=None,
    new=None,
    actor_id: int | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> ProgressEvent:
    """Add an event to the run's learner's chain, in the caller's transaction."""
    if kind not in KINDS:
        raise ValueError(kind)
    head = _head(run.user_id)
    event = ProgressEvent(
        user_id=run.user_id,
        seq=head.seq + 1,
        enrolment_id=run.id,
        course_id=run.course_id,
        activity_id=activity_id,
        kind=kind,
        old_value=dumps(old),
        new_value=dumps(new),
        actor_id=actor_id,
        reason=reason or "",
        created_at=now or utcnow(),
        prev_hash=head.hash,
    )
    event.hash = digest(event)
    head.seq, head.hash = event.seq, event.hash
    db.session.add(event)
    return event


# --- checking the chains ----------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """Where a chain does not hold, and why."""

    user_id: int
    seq: int
    problem: str


def verify(user_ids: Iterable[int] | None = None) -> tuple[int, list[Break]]:
    """Walk the chains (of ``user_ids``, default all); return (events checked, breaks).

    Reads events in seq order per learner, a batch at a time, so memory stays small.
    """
    heads = select(ProgressChain).order_by(ProgressChain.user_id)
    if user_ids is not None:
        heads = heads.where(ProgressChain.user_id.in_(list(user_ids)))
    checked, breaks = 0, []
    for head in db.session.scalars(heads).all():
        expected_seq, previous = 1, GENESIS
        events = db.session.scalars(
            select(ProgressEvent)
            .where(ProgressEvent.user_id == head.user_id)
            .order_by(ProgressEvent.seq)
            .execution_options(yield_per=1000)
        )
        for event in events:
            checked += 1
            if event.seq != expected_seq:
                breaks.append(Break(head.user_id, expected_seq, "missing"))
                expected_seq = event.seq
            if event.prev_hash != previous:
                breaks.append(Break(head.user_id, event.seq, "link"))
            if digest(event) != event.hash:
                breaks.append(Break(head.user_id, event.seq, "altered"))
            previous, expected_seq = event.hash, expected_seq + 1
        if head.seq != expected_seq - 1 or head.hash != previous:
            breaks.append(Break(head.user_id, head.seq, "head"))
    orphans = select(ProgressEvent.user_id).where(
        ProgressEvent.user_id.not_in(select(ProgressChain.user_id))
    )
    if user_ids is not None:
        orphans = orphans.where(ProgressEvent.user_id.in_(list(user_ids)))
    for user_id in db.session.scalars(orphans.distinct()):
        breaks.append(Break(user_id, 0, "head"))
    return checked, breaks


# --- replaying --------------------------------------------------------------------------------


@dataclass
class Replayed:
    """A run's state as its events tell it."""

    status: str = "not_started"
    completed_at: str | None = None
    completed: set[int] = field(default_factory=set)
    grades: dict[int, float | None] = field(default_factory=dict)


def fold(events: Iterable[ProgressEvent]) -> dict[int, Replayed]:
    """Replay events (in seq order) into {run id: Replayed}. Pure: no database."""
    runs: dict[int, Replayed] = {}
    for event in events:
        state = runs.setdefault(event.enrolment_id, Replayed())
        new = loads(event.new_value) or {}
        if event.kind == "run.started" and state.status == "not_started":
            state.status = "in_progress"
        elif event.kind == "activity.completed":
            state.completed.add(event.activity_id)
            if state.status == "not_started":
                state.status = "in_progress"
        elif event.kind == "activity.graded":
            state.grades[event.activity_id] = new.get("grade")
        elif event.kind in ("run.completed", "run.override"):
            state.status, state.completed_at = "completed", new.get("completed_at")
        elif event.kind == "run.reset":
            state.status, state.completed_at = new.get("status", "in_progress"), None
    return runs


def required_query(course_id: int):
    """Return a select of the ids of the course's activities that count toward completion.

    Required, not archived, in a module that is not archived: the one definition used
    by the run cache, the rebuild and the percent.
    """
    return (
        select(Activity.id)
        .join(Module, Module.id == Activity.module_id)
        .where(
            Activity.course_id == course_id,
            Activity.required.is_(True),
            Activity.archived.is_(False),
            Module.archived.is_(False),
        )
    )


def required_ids(course_id: int) -> set[int]:
    """Return the ids of the course's activities that count toward completion."""
    return set(db.session.scalars(required_query(course_id)))


def course_grade(grades: dict[int, float | None], required: set[int]) -> float | None:
    """Return the mean of the graded required activities' grades (None if none)."""
    values = [g for a, g in grades.items() if a in required and g is not None]
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class Difference:
    """A cached value that does not match what the record says."""

    run_id: int
    user_id: int
    field: str
    cached: object
    rebuilt: object


def expected(run: Enrolment, replayed: Replayed, required: set[int]) -> dict[str, object]:
    """Return the cache a run should hold, from its replayed events (time from its rows)."""
    completed = replayed.status == "completed"
    if completed:
        percent = 1.0
    else:
        percent = len(replayed.completed & required) / len(required) if required else 0.0
    time_spent = db.session.scalar(
        select(func.coalesce(func.sum(ActivityProgress.time_spent), 0)).where(
            ActivityProgress.enrolment_id == run.id
        )
    )
    return {
        "status": replayed.status,
        "completed_at": replayed.completed_at,
        "percent": percent,
        "grade": course_grade(replayed.grades, required),
        "time_spent": time_spent,
    }


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(a - b) < 1e-9
    return a == b


def rebuild(*, user_id: int | None = None, fix: bool = False) -> list[Difference]:
    """Compare every run's cached state with its events; with ``fix``, write the events' view.

    Returns the differences found (before fixing). The caller commits.
    """
    runs = select(Enrolment).order_by(Enrolment.user_id, Enrolment.id)
    if user_id is not None:
        runs = runs.where(Enrolment.user_id == user_id)
    differences: list[Difference] = []
    required_by_course: dict[int, set[int]] = {}
    replayed_by_user: dict[int, dict[int, Replayed]] = {}
    for run in db.session.scalars(runs).all():
        if run.user_id not in replayed_by_user:
            replayed_by_user.clear()  # runs come grouped by learner: keep one learner's
            replayed_by_user[run.user_id] = fold(
                db.session.scalars(
                    select(ProgressEvent)
                    .where(ProgressEvent.user_id == run.user_id)
                    .order_by(ProgressEvent.seq)
                )
            )
        replayed = replayed_by_user[run.user_id].get(run.id, Replayed())
        if run.course_id not in required_by_course:
            required_by_course[run.course_id] = required_ids(run.course_id)
        want = expected(run, replayed, required_by_course[run.course_id])
        have = {
            "status": run.status,
            "completed_at": stamp(run.completed_at),
            "percent": run.percent,
            "grade": run.grade,
            "time_spent": run.time_spent,
        }
        for name, value in want.items():
            if not _same(have[name], value):
                differences.append(Difference(run.id, run.user_id, name, have[name], value))
                if fix:
                    if name == "completed_at":
                        value = datetime.fromisoformat(value) if value else None
                    setattr(run, name, value)
    return differences
