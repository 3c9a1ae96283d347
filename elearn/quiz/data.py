"""Questions as read from a file (GIFT, Aiken), before they reach the database.

These dataclasses are what the format parsers produce and the exporters
consume; they import only the standard library so any layer can hold them.

A question is one :class:`QuestionData`. Which of its list fields are used
depends on ``type``:

==================  ==========================================================
``multichoice``     ``answers``: one or more with fraction 1.0 (the ``=``
                    answers), others 0.0 or a partial/negative fraction.
``multiresponse``   ``answers``: several may be right; positive fractions add
                    up to 1.0, wrong choices may carry a negative fraction.
``truefalse``       ``answers``: exactly two, ``"true"`` then ``"false"``; the
                    right one has fraction 1.0. Each answer's feedback is what
                    a learner who picks it sees (see :attr:`QuestionData.correct`).
``shortanswer``     ``answers``: accepted texts, at least one with fraction 1.0.
``numerical``       ``numerical``: accepted values or ranges.
``matching``        ``pairs``: (question text, answer text), at least two.
``essay``           nothing: the learner writes free text.
``description``     nothing: text shown between questions, not graded.
==================  ==========================================================

Fractions are floats in -1.0..1.0 rounded to 7 decimals (``%33.33333%`` in a
file is 0.3333333). ``line`` is the 1-based line of the file where the
question starts. ``to_json()`` gives the plain-dict shape documented in
``docs/question-format.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Every question type a file can hold, as stable slugs.
QUESTION_TYPES = (
    "multichoice",
    "multiresponse",
    "truefalse",
    "shortanswer",
    "numerical",
    "matching",
    "essay",
    "description",
)

#: Text formats of a question's text; "moodle" (Moodle's auto-format) is the default.
TEXT_FORMATS = ("moodle", "html", "plain", "markdown")
DEFAULT_TEXT_FORMAT = "moodle"

#: What a blank ("missing word") looks like inside a question's text.
BLANK = "_____"

#: Types whose choices live in ``answers``.
ANSWER_TYPES = ("multichoice", "multiresponse", "shortanswer")


@dataclass(frozen=True)
class AnswerData:
    """One choice or accepted answer, its fraction of the mark and its feedback."""

    text: str
    fraction: float
    feedback: str = ""

    def to_json(self) -> dict:
        """Return the answer as a plain dict."""
        return {"text": self.text, "fraction": self.fraction, "feedback": self.feedback}


@dataclass(frozen=True)
class NumericalAnswer:
    """An accepted number: ``value`` ± ``tolerance``, or the range ``minimum..maximum``.

    Exactly one form is set: a value answer has ``minimum``/``maximum`` None; a
    range answer has ``value``/``tolerance`` None.
    """

    value: float | None = None
    tolerance: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    fraction: float = 1.0
    feedback: str = ""

    @property
    def is_range(self) -> bool:
        """Whether the answer was given as ``minimum..maximum``."""
        return self.value is None

    def bounds(self) -> tuple[float, float]:
        """Return the lowest and highest accepted number."""
        if self.is_range:
            return self.minimum, self.maximum
        return self.value - self.tolerance, self.value + self.tolerance

    def to_json(self) -> dict:
        """Return the answer as a plain dict (``value``/``tolerance`` or ``min``/``max``)."""
        if self.is_range:
            spec = {"min": self.minimum, "max": self.maximum}
        else:
            spec = {"value": self.value, "tolerance": self.tolerance}
        return {**spec, "fraction": self.fraction, "feedback": self.feedback}


@dataclass(frozen=True, kw_only=True)
class QuestionData:
    """One question as a file describes it (see the module docstring for the fields by type).

    Fields are keyword-only. ``name`` is the title (``::title::`` in GIFT), empty when
    the file gives none.
    ``category`` is the category path in force (``$CATEGORY:`` in GIFT), empty if none.
    ``options`` holds type-independent layout facts; today only ``"blank": True``,
    set when the answers sat inside the sentence (GIFT's missing-word form), in
    which case the text holds :data:`BLANK` where they were.
    """

    type: str
    name: str = ""
    category: str = ""
    text: str
    text_format: str = DEFAULT_TEXT_FORMAT
    general_feedback: str = ""
    answers: list[AnswerData] = field(default_factory=list)
    numerical: list[NumericalAnswer] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    line: int = 0

    @property
    def correct(self) -> bool | None:
        """For true/false, the right value; None for other types."""
        if self.type != "truefalse":
            return None
        return self.answers[0].fraction > 0

    def to_json(self) -> dict:
        """Return the question as plain dicts and lists, with only its type's fields."""
        data = {
            "type": self.type,
            "name": self.name,
            "category": self.category,
            "text": self.text,
            "text_format": self.text_format,
            "general_feedback": self.general_feedback,
            "line": self.line,
        }
        if self.options:
            data["options"] = dict(self.options)
        if self.type in ANSWER_TYPES:
            data["answers"] = [answer.to_json() for answer in self.answers]
        elif self.type == "truefalse":
            data["correct"] = self.correct
            data["feedback_true"] = self.answers[0].feedback
            data["feedback_false"] = self.answers[1].feedback
        elif self.type == "numerical":
            data["numerical"] = [answer.to_json() for answer in self.numerical]
        elif self.type == "matching":
            data["pairs"] = [{"question": q, "answer": a} for q, a in self.pairs]
        return data


def truefalse_answers(correct: bool, feedback_true: str, feedback_false: str) -> list[AnswerData]:
    """Return the two answers of a true/false question, ``true`` first."""
    return [
        AnswerData("true", 1.0 if correct else 0.0, feedback_true),
        AnswerData("false", 0.0 if correct else 1.0, feedback_false),
    ]


def from_json(data: dict) -> QuestionData:
    """Rebuild a question from ``QuestionData.to_json()`` (how the bank stores it)."""
    kind = data["type"]
    answers: list[AnswerData] = []
    numerical: list[NumericalAnswer] = []
    pairs: list[tuple[str, str]] = []
    if kind in ANSWER_TYPES:
        answers = [
            AnswerData(a["text"], a["fraction"], a.get("feedback", "")) for a in data["answers"]
        ]
    elif kind == "truefalse":
        answers = truefalse_answers(
            bool(data["correct"]), data.get("feedback_true", ""), data.get("feedback_false", "")
        )
    elif kind == "numerical":
        numerical = [
            NumericalAnswer(
                value=n.get("value"),
                tolerance=n.get("tolerance"),
                minimum=n.get("min"),
                maximum=n.get("max"),
                fraction=n["fraction"],
                feedback=n.get("feedback", ""),
            )
            for n in data["numerical"]
        ]
    elif kind == "matching":
        pairs = [(p["question"], p["answer"]) for p in data["pairs"]]
    return QuestionData(
        type=kind,
        name=data.get("name", ""),
        category=data.get("category", ""),
        text=data["text"],
        text_format=data.get("text_format", DEFAULT_TEXT_FORMAT),
        general_feedback=data.get("general_feedback", ""),
        answers=answers,
        numerical=numerical,
        pairs=pairs,
        options=dict(data.get("options") or {}),
        line=data.get("line", 0),
    )
