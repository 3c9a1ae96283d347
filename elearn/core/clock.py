"""Time: stored in UTC, shown in Asia/Ho_Chi_Minh; a due date ends at local midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def utcnow() -> datetime:
    """Return the current time as a naive UTC datetime (how the database stores it)."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_local(moment: datetime) -> datetime:
    """Return a stored (naive UTC) datetime as an aware Asia/Ho_Chi_Minh datetime."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_TZ)


def from_local(moment: datetime) -> datetime:
    """Return a local (Asia/Ho_Chi_Minh) datetime as it is stored: naive UTC.

    A naive ``moment`` is read as local time, which is what a datetime-local input gives.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment.astimezone(UTC).replace(tzinfo=None)


def due_at(day: date) -> datetime:
    """Return the naive UTC instant at which a due date ends: the end of that local day.

    A course "due 30/6" is still on time at 23:59 in Hà Nội, which is 16:59 UTC.
    """
    local_end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=LOCAL_TZ)
    return local_end.astimezone(UTC).replace(tzinfo=None)


def is_overdue(day: date, now: datetime | None = None) -> bool:
    """Tell whether a due date has passed at ``now`` (naive UTC, default the current time)."""
    return (now or utcnow()) >= due_at(day)
