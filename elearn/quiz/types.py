"""Question types: one class per type, in a registry, each grading a response on the server.

A response always names choices by their index in the question as stored (never by the
position they were shown at), so shuffling choices can never change a grade: the page
shows ``order(question, seed)`` and maps what was picked back to stored indices.

Responses by type:

=================  ===============================================================
``multichoice``    ``int``: index of the chosen answer (None: unanswered)
``multiresponse``  ``list[int]``: indices of the ticked answers
``truefalse``      ``bool``
``shortanswer``    ``str`` as typed
``numerical``      ``str`` as typed ("3,14" and "3.14" both read as 3.14) or a number
``matching``       ``dict[int, str]``: pair index → the answer text chosen for it
``essay``          ``str``: graded by the instructor
``description``    nothing: not graded
=================  ===============================================================

Adding a type means one class here (with its ``slug``) and its parser/editor parts.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

from elearn.quiz.data import QuestionData


@dataclass(frozen=True)
class Grade:
    """The outcome of grading one response.

    ``fraction`` is 0.0 to 1.0 of the question's mark, None when a person must grade it
    (essays) or when nothing is graded (descriptions). ``state`` is ``correct``,
    ``partial``, ``wrong``, ``unanswered``, ``needs_grading`` or ``ungraded``.
    """

    fraction: float | None
    state: str
    feedback: str = ""


def state_of(fraction: float) -> str:
    """``correct``, ``partial`` or ``wrong`` for a fraction of the mark."""
    if fraction >= 1 - 1e-9:
        return "correct"
    return "partial" if fraction > 1e-9 else "wrong"


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


def normalise_text(text: str, case_sensitive: bool = False) -> str:
    """NFC, collapsed whitespace and (unless asked) case-folded: how typed answers compare.

    Vietnamese typed with any input method (precomposed or combining marks) matches.
    """
    text = " ".join(unicodedata.normalize("NFC", text or "").split())
    return text if case_sensitive else text.casefold()


def parse_number(typed) -> float | None:
    """Read a typed number: "3,14", "3.14", " 1 000 " and "1e3" all work; None if not one."""
    if isinstance(typed, int | float) and not isinstance(typed, bool):
        try:
            value = float(typed)
        except OverflowError:
            return None
        return value if value == value and abs(value) != float("inf") else None
    text = "".join(str(typed or "").split())[:100]
    if not text:
        return None
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # Vietnamese decimal comma
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


#: Longest typed answer graded; anything longer is cut (no answer needs more).
MAX_TYPED = 2000


def _wildcard_match(pattern: str, typed: str) -> bool:
    """Match ``typed`` against ``pattern`` where ``*`` is any text, in linear time.

    (A regular expression would backtrack for seconds on long input and many stars.)
    """
    pieces = pattern.split("*")
    if len(pieces) == 1:
        return pattern == typed
    first, last = pieces[0], pieces[-1]
    if not (typed.startswith(first) and typed.endswith(last)):
        return False
    position, end = len(first), len(typed) - len(last)
    for piece in pieces[1:-1]:
        found = typed.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return position <= end


def _index(value) -> int | None:
    """A stored choice index from a response, or None if it is not one."""
    try:
        index = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return index if index >= 0 else None


class QuestionType:
    """Base class: how one type of question is shown and graded."""

    slug: str = ""
    #: Whether the type takes part in the quiz's marks.
    graded: bool = True

    def choices(self, question: QuestionData) -> list:
        """Return the things a learner picks from, in stored order (may be shuffled)."""
        return []

    def grade(self, question: QuestionData, response) -> Grade:
        """Grade ``response`` (see the module docstring for its shape by type)."""
        raise NotImplementedError


class MultiChoice(QuestionType):
    """One answer; its fraction is the mark (partial and negative fractions allowed)."""

    slug = "multichoice"

    def choices(self, question):
        """Return what the learner picks from, in stored order."""
        return list(range(len(question.answers)))

    def grade(self, question, response):
        """Grade as the class docstring says."""
        if response is None or response == "":
            return Grade(0.0, "unanswered")
        index = _index(response)
        if index is None or index >= len(question.answers):
            return Grade(0.0, "wrong")
        answer = question.answers[index]
        fraction = _clamp(answer.fraction)
        return Grade(fraction, state_of(fraction), answer.feedback)


class MultiResponse(QuestionType):
    """Several answers; the fractions of the ticked ones add up, clamped to 0..1."""

    slug = "multiresponse"

    def choices(self, question):
        """Return what the learner picks from, in stored order."""
        return list(range(len(question.answers)))

    def grade(self, question, response):
        """Grade as the class docstring says."""
        values = response if isinstance(response, list | tuple | set) else [response]
        indices = [_index(v) for v in values if v not in (None, "")]
        if not indices:
            return Grade(0.0, "unanswered")
        if any(i is None or i >= len(question.answers) for i in indices):
            return Grade(0.0, "wrong")
        picked = sorted(set(indices))
        fraction = _clamp(sum(question.answers[i].fraction for i in picked))
        feedback = " ".join(
            question.answers[i].feedback for i in picked if question.answers[i].feedback
        )
        return Grade(fraction, state_of(fraction), feedback)


class TrueFalse(QuestionType):
    """True or false; each side has its own feedback."""

    slug = "truefalse"

    def grade(self, question, response):
        """Grade as the class docstring says."""
        if response is None or response == "":
            return Grade(0.0, "unanswered")
        if isinstance(response, str):
            response = response.strip().lower() in ("true", "1", "đúng", "t")
        answer = question.answers[0 if response else 1]
        fraction = _clamp(answer.fraction)
        return Grade(fraction, state_of(fraction), answer.feedback)


class ShortAnswer(QuestionType):
    """Typed text matched against accepted answers (``*`` is a wildcard); best fraction wins."""

    slug = "shortanswer"

    def grade(self, question, response):
        """Grade as the class docstring says."""
        case = bool(question.options.get("case_sensitive"))
        typed = normalise_text(str(response or "")[:MAX_TYPED], case)
        if not typed:
            return Grade(0.0, "unanswered")
        best = None
        for answer in question.answers:
            if _wildcard_match(normalise_text(answer.text, case), typed) and (
                best is None or answer.fraction > best.fraction
            ):
                best = answer
        if best is None:
            return Grade(0.0, "wrong")
        fraction = _clamp(best.fraction)
        return Grade(fraction, state_of(fraction), best.feedback)


class Numerical(QuestionType):
    """A typed number inside an accepted value ± tolerance or range; best fraction wins."""

    slug = "numerical"

    def grade(self, question, response):
        """Grade as the class docstring says."""
        if response is None or str(response).strip() == "":
            return Grade(0.0, "unanswered")
        value = parse_number(response)
        if value is None:
            return Grade(0.0, "wrong")
        best = None
        for answer in question.numerical:
            low, high = answer.bounds()
            if low - 1e-12 <= value <= high + 1e-12 and (
                best is None or answer.fraction > best.fraction
            ):
                best = answer
        if best is None:
            return Grade(0.0, "wrong")
        fraction = _clamp(best.fraction)
        return Grade(fraction, state_of(fraction), best.feedback)


class Matching(QuestionType):
    """Each left item is matched to a right one; the mark is the share matched right."""

    slug = "matching"

    def choices(self, question):
        """Return what the learner picks from, in stored order."""
        return sorted({right for _left, right in question.pairs})

    def grade(self, question, response):
        """Grade as the class docstring says."""
        response = response if isinstance(response, dict) else {}
        if not any(str(v or "").strip() for v in response.values()):
            return Grade(0.0, "unanswered")
        right = 0
        for index, (_left, answer) in enumerate(question.pairs):
            chosen = response.get(index, response.get(str(index)))
            if chosen is not None and normalise_text(str(chosen), True) == normalise_text(
                answer, True
            ):
                right += 1
        fraction = right / len(question.pairs) if question.pairs else 0.0
        return Grade(fraction, state_of(fraction))


class Essay(QuestionType):
    """Free text, graded by the instructor."""

    slug = "essay"

    def grade(self, question, response):
        """Grade as the class docstring says."""
        if not str(response or "").strip():
            return Grade(0.0, "unanswered")
        return Grade(None, "needs_grading")


class Description(QuestionType):
    """Text between questions; not graded."""

    slug = "description"
    graded = False

    def grade(self, question, response):
        """Grade as the class docstring says."""
        return Grade(None, "ungraded")


REGISTRY: dict[str, QuestionType] = {
    kind.slug: kind()
    for kind in (
        MultiChoice,
        MultiResponse,
        TrueFalse,
        ShortAnswer,
        Numerical,
        Matching,
        Essay,
        Description,
    )
}


def grade(question: QuestionData, response) -> Grade:
    """Grade a response to ``question`` with its type's rules."""
    return REGISTRY[question.type].grade(question, response)


def order(question: QuestionData, seed: int | str) -> list:
    """Return the question's choices in the order one attempt shows them.

    The same seed (e.g. the attempt and question ids) always gives the same order, so a
    page reload does not reshuffle; grading never depends on it.
    """
    shown = list(REGISTRY[question.type].choices(question))
    # Not a secret: the order only has to be stable per attempt.
    random.Random(f"{seed}:{question.type}:{question.text}").shuffle(shown)  # noqa: S311
    return shown


GRADING_METHODS = ("highest", "average", "first", "last")


def final_grade(method: str, grades: list[float]) -> float | None:
    """Combine the grades of a learner's finished attempts (in the order taken)."""
    if method not in GRADING_METHODS:
        raise ValueError(method)
    if not grades:
        return None
    if method == "highest":
        return max(grades)
    if method == "average":
        return sum(grades) / len(grades)
    return grades[0] if method == "first" else grades[-1]
