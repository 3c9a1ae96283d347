"""What surveys hand to other domains (reports): satisfaction figures, frozen.

The satisfaction index follows the satisfaction index of public administration (SIPAS)
that the seeds speak of: the share of Likert answers that are 4 ("satisfied") or 5
("very satisfied"), in percent. The mean is of all Likert answers, on the 1-5 scale.

Figures are withheld (``index``, ``mean`` None, ``items`` empty, ``reason`` set) when the
responses they would come from are fewer than ``threshold``: with one or two
responses the figures would be those people's answers.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Why figures are withheld: no response yet, too few responses, no Likert answers.
NO_RESPONSES = "no_responses"
TOO_FEW = "too_few"
NO_LIKERT = "no_likert"


@dataclass(frozen=True)
class ItemResult:
    """One Likert item's answers: counts of 1..5, their mean and the satisfied share."""

    item_id: int
    activity_id: int
    position: int
    text: str
    #: Answers given (optional items may have fewer than the responses).
    answers: int
    #: How many answered 1, 2, 3, 4, 5 (index 0 is the value 1).
    counts: tuple[int, int, int, int, int]
    mean: float | None
    #: Share of answers that are 4 or 5, in percent (None without answers).
    index: float | None

    def percent(self, value: int) -> float | None:
        """Return the share of answers with ``value`` (1-5), in percent."""
        return 100.0 * self.counts[value - 1] / self.answers if self.answers else None


@dataclass(frozen=True)
class Satisfaction:
    """Satisfaction over some responses (one survey, a course's, a class's)."""

    responses: int
    likert_answers: int
    #: Share of Likert answers that are 4 or 5, in percent; None when withheld.
    index: float | None
    #: Mean of the Likert answers (1-5); None when withheld.
    mean: float | None
    items: tuple[ItemResult, ...]
    #: Least number of responses for figures to be shown.
    threshold: int
    #: "" when shown, else NO_RESPONSES, TOO_FEW or NO_LIKERT.
    reason: str = ""

    @property
    def shown(self) -> bool:
        """Tell whether the figures may be shown."""
        return not self.reason
