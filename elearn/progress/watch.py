"""Watched intervals of a video: parsing reports, merging, and the completion rule.

Pure functions (no database), so the rules can be tested exhaustively with hypothesis.
An interval is ``(start, end)`` in seconds of the lecture, ``start < end``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

Interval = tuple[float, float]

#: Intervals closer than this are joined: the player closes and reopens an interval at
#: each report, with a fraction of a second between the two.
JOIN_GAP = 0.5
#: A report may reach this far past the end (players overshoot the last frame).
END_SLACK = 1.0
#: Most intervals one report may carry (a real one holds a few).
MAX_INTERVALS = 200


class BadReport(ValueError):
    """A heartbeat that cannot be true or cannot be read."""


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Return the union of ``intervals``: sorted, disjoint, gaps wider than ``JOIN_GAP``."""
    merged: list[list[float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1] + JOIN_GAP:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def seconds(intervals: Iterable[Interval]) -> float:
    """Return the seconds covered by already merged ``intervals``."""
    return sum(end - start for start, end in intervals)


def share(intervals: list[Interval], duration: float) -> float:
    """Return the watched share of the lecture, 0.0 to 1.0."""
    if duration <= 0:
        return 0.0
    return min(1.0, seconds(intervals) / duration)


def completes(intervals: list[Interval], duration: float, threshold: float) -> bool:
    """Tell whether merged ``intervals`` complete a lecture of ``duration`` seconds."""
    return duration > 0 and seconds(intervals) >= threshold * duration - 1e-9


def parse(raw: str, duration: float) -> list[Interval]:
    """Read a report's JSON list of ``[start, end]`` pairs; raise BadReport if impossible.

    Negative times, times past the end, reversed pairs, non-numbers and oversized lists
    are refused whole: nothing of a bad report is kept.
    """
    try:
        data = json.loads(raw or "[]")
    except (ValueError, RecursionError) as exc:
        raise BadReport("not JSON") from exc
    if not isinstance(data, list) or len(data) > MAX_INTERVALS:
        raise BadReport("not a list of intervals")
    intervals = []
    for item in data:
        if not (isinstance(item, list) and len(item) == 2):
            raise BadReport("an interval is not a pair")
        start, end = item
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in item):
            raise BadReport("an interval holds a non-number")
        try:
            if not (math.isfinite(start) and math.isfinite(end)):
                raise BadReport("an interval is not finite")
        except OverflowError as exc:  # an integer too large for a float
            raise BadReport("an interval is not finite") from exc
        if start < 0 or end > duration + END_SLACK or end < start:
            raise BadReport("an interval lies outside the lecture")
        start, end = min(float(start), duration), min(float(end), duration)
        if end > start:
            intervals.append((start, end))
    return intervals


def parse_position(raw: str | None, duration: float) -> float | None:
    """Read the resume position; None when absent; BadReport when impossible."""
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except (ValueError, OverflowError) as exc:
        raise BadReport("position is not a number") from exc
    if not math.isfinite(value) or value < 0 or value > duration + END_SLACK:
        raise BadReport("position lies outside the lecture")
    return min(value, duration)


def dumps(intervals: list[Interval]) -> str:
    """Store merged intervals compactly (centiseconds are enough)."""
    return json.dumps([[round(s, 2), round(e, 2)] for s, e in intervals], separators=(",", ":"))


def loads(stored: str | None) -> list[Interval]:
    """Read intervals stored by ``dumps``."""
    return [(float(s), float(e)) for s, e in json.loads(stored or "[]")]
