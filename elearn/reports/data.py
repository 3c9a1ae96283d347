"""What report queries hand to pages, charts and exports: frozen rows of numbers (stdlib only).

How each number is defined, for a report period [start, end] (whole local days; no
period means from the beginning until now), where *cut-off* is the earlier of the end
of the period and now:

- **enrolled**: runs started on or before the end and not completed before the start;
- **completed**: of those, completed on or before the end;
- **not started**: of those, not yet started today (no lesson opened);
- **in progress**: enrolled − completed − not started (a run completed after the period
  counts as in progress in it);
- **overdue**: not completed by the cut-off although due before it;
- **graded**: runs with a course grade; **passed**: graded and completed;
- **average grade**: mean course grade of the graded runs; **time**: study time summed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Counts:
    """Numbers of one report row."""

    enrolled: int = 0
    not_started: int = 0
    completed: int = 0
    overdue: int = 0
    graded: int = 0
    passed: int = 0
    grade_sum: float = 0.0
    seconds: int = 0
    #: Active people the row covers (unit rows); None where it does not apply.
    people: int | None = None

    @property
    def in_progress(self) -> int:
        """Runs neither completed nor unstarted."""
        return self.enrolled - self.completed - self.not_started

    @property
    def completion_rate(self) -> float | None:
        """Completed share of the enrolled runs (None without runs)."""
        return self.completed / self.enrolled if self.enrolled else None

    @property
    def pass_rate(self) -> float | None:
        """Passed share of the graded runs (None without grades)."""
        return self.passed / self.graded if self.graded else None

    @property
    def average_grade(self) -> float | None:
        """Mean course grade, 0.0-1.0 (None without grades)."""
        return self.grade_sum / self.graded if self.graded else None

    @property
    def hours(self) -> float:
        """Study time in hours."""
        return self.seconds / 3600

    def __add__(self, other: Counts) -> Counts:
        people = None
        if self.people is not None or other.people is not None:
            people = (self.people or 0) + (other.people or 0)
        return Counts(
            enrolled=self.enrolled + other.enrolled,
            not_started=self.not_started + other.not_started,
            completed=self.completed + other.completed,
            overdue=self.overdue + other.overdue,
            graded=self.graded + other.graded,
            passed=self.passed + other.passed,
            grade_sum=self.grade_sum + other.grade_sum,
            seconds=self.seconds + other.seconds,
            people=people,
        )


@dataclass(frozen=True)
class Row:
    """One line of a report: what it is about, a link to drill into, its numbers."""

    key: int | None
    label: str
    counts: Counts
    #: A code or short note shown beside the label (a unit's code, "merged into ...").
    note: str = ""
    #: What the key is: ``unit`` (drill down), ``direct`` (people of the unit itself),
    #: ``course``, ``person`` or ``class``.
    kind: str = ""


@dataclass(frozen=True)
class Report:
    """A whole report: its rows, their total, and what it is of."""

    title: str
    rows: tuple[Row, ...]
    total: Counts
    #: Filters in words, for headings and export files.
    described: str = ""
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PersonHours:
    """Training hours of one person in one year against the yearly minimum."""

    user_id: int
    full_name: str
    username: str
    unit_name: str
    unit_code: str
    runs: int
    completed: int
    overdue: int
    hours: float
    minimum: float

    @property
    def short(self) -> float:
        """Hours still missing to reach the minimum (0 when reached)."""
        return max(0.0, self.minimum - self.hours)
