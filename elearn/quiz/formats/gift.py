"""Moodle's GIFT question format: read it into :class:`QuestionData`, write it back.

A file is a series of blocks separated by blank lines; lines starting with
``//`` are comments. A block starting with ``$CATEGORY: path`` sets the category
of the questions after it. A question is::

    ::title:: [format] text before { answers } text after

The shape of the answers decides the type: ``{}`` essay, ``{T}``/``{FALSE}``
true/false, ``{#...}`` numerical, ``{=a -> b ...}`` matching, ``{=a ~b}``
multiple choice, ``{~%50%a ~%50%b ~c}`` (no ``=``) multiple answers, ``{=a =b}``
short answer; no braces at all is a description. When text follows the closing
brace, the answers were a "missing word": the text keeps :data:`BLANK` there.

Parsing happens in two steps: :func:`_blocks` cuts the file into blocks of
numbered lines, then :class:`_QuestionReader` finds the title, format, text and
answer block and hands the answers to one builder per type. Problems are
collected, never raised one by one, so a teacher sees every mistake at once.
See ``docs/question-format.md`` for the refusals and the JSON shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from elearn.quiz.data import (
    BLANK,
    DEFAULT_TEXT_FORMAT,
    TEXT_FORMATS,
    AnswerData,
    NumericalAnswer,
    QuestionData,
    truefalse_answers,
)
from elearn.quiz.formats import Problem, check, decode, normalise

#: Characters a backslash makes literal (``\\n`` is a newline; ``\\\\`` a backslash).
_ESCAPABLE = "~=#{}:\\"
_CATEGORY = "$CATEGORY:"
_FORMAT_TAG = re.compile(r"\[([A-Za-z]+)\]")
_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_TRUE_WORDS = {"T": True, "TRUE": True, "F": False, "FALSE": False}
#: How far positive weights of a multiple-answer question may stray from 100%.
_SUM_SLACK = 1e-4


def read(data: bytes) -> list[QuestionData]:
    """Decode a GIFT file (UTF-8, BOM and CRLF allowed) and parse it.

    Raises:
        FormatError: the file is not UTF-8 text or a question is malformed.
    """
    return parse(decode(data))


def parse(text: str) -> list[QuestionData]:
    """Return the questions of a GIFT text, or raise FormatError listing every problem."""
    return check(*parse_with_errors(text))


def parse_with_errors(text: str) -> tuple[list[QuestionData], list[Problem]]:
    """Return the valid questions of a GIFT text and the problems of the others."""
    questions, problems = [], []
    category = ""
    number = 0
    for block in _blocks(normalise(text)):
        first = block.lines[0][1].lstrip()
        if first.startswith(_CATEGORY):
            category = first[len(_CATEGORY) :].strip()
            block = _Block(block.lines[1:])
            if not block.lines:
                continue
        number += 1
        reader = _QuestionReader(block, number, category)
        question = reader.read()
        if reader.problems:
            problems.extend(reader.problems)
        else:
            questions.append(question)
    return questions, problems


# -- Tokenizing -----------------------------------------------------------------------------


@dataclass
class _Block:
    """The comment-free lines of one block, each with its 1-based line number."""

    lines: list[tuple[int, str]]

    @property
    def text(self) -> str:
        return "\n".join(content for _, content in self.lines)

    def line_at(self, offset: int) -> int:
        """Return the file line holding character ``offset`` of :attr:`text`."""
        return self.lines[self.text.count("\n", 0, offset)][0]


def _blocks(text: str) -> Iterator[_Block]:
    """Yield the blocks of a file: runs of non-blank lines, comment lines left out."""
    lines: list[tuple[int, str]] = []
    for number, content in enumerate(text.split("\n"), start=1):
        if not content.strip():
            if lines:
                yield _Block(lines)
            lines = []
        elif not content.lstrip().startswith("//"):
            lines.append((number, content))
    if lines:
        yield _Block(lines)


def _find(text: str, target: str, start: int = 0) -> int:
    """Return the index of the first unescaped ``target`` at or after ``start``, or -1."""
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text.startswith(target, i):
            return i
        else:
            i += 1
    return -1


def _split(text: str, markers: str, offset: int) -> list[tuple[str | None, str, int]]:
    """Cut ``text`` before each unescaped marker character.

    Returns ``(marker, piece, offset)`` triples; the first has marker None and
    holds whatever came before the first marker; ``offset`` is where the piece
    starts in the question block.
    """
    pieces = []
    marker, start, i = None, 0, 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in markers:
            pieces.append((marker, text[start:i], offset + start))
            marker, start = text[i], i + 1
        i += 1
    pieces.append((marker, text[start:], offset + start))
    return pieces


def unescape(text: str) -> str:
    r"""Return GIFT text with its escapes (``\~ \= \# \{ \} \: \\ \n``) resolved."""
    out = []
    i = 0
    while i < len(text):
        pair = text[i : i + 2]
        if pair == "\\n":
            out.append("\n")
            i += 2
        elif len(pair) == 2 and pair[0] == "\\" and pair[1] in _ESCAPABLE:
            out.append(pair[1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def escape(text: str) -> str:
    """Return text with GIFT's special characters escaped and newlines written as backslash-n."""
    return "".join("\\" + c if c in _ESCAPABLE else "\\n" if c == "\n" else c for c in text)


# -- Reading one question -------------------------------------------------------------------


class _QuestionReader:
    """Read one question block into a QuestionData, collecting problems on the way."""

    def __init__(self, block: _Block, number: int, category: str):
        self.block = block
        self.text = block.text
        self.number = number
        self.category = category
        self.title = ""
        self.problems: list[Problem] = []

    def problem(self, message, offset: int | None = None) -> None:
        """Record a problem at ``offset`` of the block (its first line if None)."""
        line = self.block.lines[0][0] if offset is None else self.block.line_at(offset)
        self.problems.append(Problem(self.number, line, message, self.title))

    def read(self) -> QuestionData | None:
        """Return the question, or None when it has problems."""
        text = self.text
        start = len(text) - len(text.lstrip())
        if text.startswith("::", start):
            end = _find(text, "::", start + 2)
            if end < 0:
                self.problem(_l("The title is not closed with ::."), start)
                return None
            self.title = unescape(text[start + 2 : end]).strip()
            start = end + 2
        parts = self._answer_block(start)
        if parts is None:
            return None
        before, answers, after, answers_at = parts
        text_format, before = self._text_format(before, start)
        question_text = self._question_text(before, answers, after)
        if not question_text:
            self.problem(_l("The question has no text."))
        no_answers = {"type": "description"}
        fields = no_answers if answers is None else self._answers(answers, answers_at)
        if self.problems or fields is None:
            return None
        return QuestionData(
            name=self.title,
            category=self.category,
            text=question_text,
            text_format=text_format,
            options={"blank": True} if answers is not None and after.strip() else {},
            line=self.block.lines[0][0],
            **fields,
        )

    def _answer_block(self, start: int):
        """Split the question at its braces: (before, answers or None, after, answers offset)."""
        text = self.text
        opening, closing = _find(text, "{", start), _find(text, "}", start)
        if opening < 0 or 0 <= closing < opening:
            if closing >= 0:
                self.problem(_l("A } has no matching {."), closing)
                return None
            return text[start:], None, "", 0
        nested = _find(text, "{", opening + 1)
        if closing < 0 or 0 <= nested < closing:
            self.problem(_l("The answer block is not closed: a { has no matching }."), opening)
            return None
        extra = [i for i in (_find(text, "{", closing), _find(text, "}", closing + 1)) if i >= 0]
        if extra:
            self.problem(_l("A question can have only one answer block { … }."), min(extra))
            return None
        return text[start:opening], text[opening + 1 : closing], text[closing + 1 :], opening + 1

    def _text_format(self, before: str, start: int) -> tuple[str, str]:
        """Return the text format named by a leading ``[tag]`` and the text without it."""
        stripped = before.lstrip()
        match = _FORMAT_TAG.match(stripped)
        if not match:
            return DEFAULT_TEXT_FORMAT, before
        name = match.group(1).lower()
        if name not in TEXT_FORMATS:
            message = _l(
                "Unknown text format [%(name)s]; use [html], [moodle], [plain] or [markdown].",
                name=match.group(1),
            )
            self.problem(message, start + len(before) - len(stripped))
        return name, stripped[match.end() :]

    @staticmethod
    def _question_text(before: str, answers: str | None, after: str) -> str:
        """Return the question's text, with BLANK where answers sat inside a sentence."""
        if answers is not None and after.strip():
            return (unescape(before).lstrip() + BLANK + unescape(after)).rstrip()
        return unescape(before).strip()

    def _answers(self, raw: str, offset: int) -> dict | None:
        """Return the type and answer fields of QuestionData for the inside of the braces."""
        general = ""
        at = _find(raw, "####")
        if at >= 0:
            general = unescape(raw[at + 4 :]).strip()
            raw = raw[:at]
        content = raw.strip()
        offset += len(raw) - len(raw.lstrip())
        if not content:
            fields = {"type": "essay"}
        elif content.startswith("#"):
            fields = self._numerical(content[1:], offset + 1)
        elif content.split("#", 1)[0].strip().upper() in _TRUE_WORDS and not _has_marker(content):
            fields = self._truefalse(content, offset)
        else:
            fields = self._choices(content, offset)
        if fields is None:
            return None
        return {**fields, "general_feedback": general}

    # -- Builders, one per answer shape -----------------------------------------------------

    def _truefalse(self, content: str, offset: int) -> dict | None:
        """Read ``T``/``TRUE``/``F``/``FALSE`` with optional ``#wrong feedback#right feedback``."""
        parts = [unescape(piece).strip() for _, piece, _ in _split(content, "#", offset)]
        if len(parts) > 3:
            self.problem(
                _l(
                    "A true/false answer is T, TRUE, F or FALSE, "
                    "followed by at most two feedbacks: #wrong#right."
                ),
                offset,
            )
            return None
        correct = _TRUE_WORDS[parts[0].upper()]
        wrong, right = (parts[1:] + ["", ""])[:2]
        feedback_true, feedback_false = (right, wrong) if correct else (wrong, right)
        return {
            "type": "truefalse",
            "answers": truefalse_answers(correct, feedback_true, feedback_false),
        }

    def _choices(self, content: str, offset: int) -> dict | None:
        """Read ``=``/``~`` answers: multiple choice, multiple answers, short answer or matching."""
        pieces = _split(content, "=~", offset)
        lead = pieces.pop(0)
        if lead[1].strip() or not pieces:
            self.problem(
                _l("Cannot tell the question type: start each answer with = or ~."), offset
            )
            return None
        markers = {marker for marker, _, _ in pieces}
        if "~" in markers:
            return self._multichoice(pieces, single="=" in markers)
        if any("->" in piece for _, piece, _ in pieces):
            return self._matching(pieces)
        return self._shortanswer(pieces)

    def _multichoice(self, pieces, single: bool) -> dict | None:
        """Build a multiple choice (some ``=``) or multiple answer (only ``~``) question."""
        answers = [self._answer(marker, piece, at) for marker, piece, at in pieces]
        if None in answers:
            return None
        at = pieces[0][2]
        if len(answers) < 2:
            self.problem(_l("Multiple choice needs at least two answers."), at)
        positive = sum(answer.fraction for answer in answers if answer.fraction > 0)
        best = max(answer.fraction for answer in answers)
        if (single and best < 1) or positive == 0:
            self.problem(
                _l(
                    "Multiple choice has no right answer: "
                    "mark one with = or give answers a positive %weight%."
                ),
                at,
            )
        elif not single and abs(positive - 1) > _SUM_SLACK:
            total = f"{positive * 100:.5f}".rstrip("0").rstrip(".")
            self.problem(
                _l(
                    "The positive weights add up to %(total)s%%, not 100%%.",
                    total=total,
                ),
                at,
            )
        return {"type": "multichoice" if single else "multiresponse", "answers": answers}

    def _shortanswer(self, pieces) -> dict | None:
        """Build a short answer question: every answer starts with ``=``."""
        answers = [self._answer(marker, piece, at) for marker, piece, at in pieces]
        if None in answers:
            return None
        self._check_marks([answer.fraction for answer in answers], pieces[0][2])
        return {"type": "shortanswer", "answers": answers}

    def _matching(self, pieces) -> dict | None:
        """Build a matching question from ``=question -> answer`` pairs."""
        pairs = []
        for _, piece, at in pieces:
            left, arrow, right = piece.partition("->")
            pair = (unescape(left).strip(), unescape(right).strip())
            if not arrow:
                self.problem(_l("Every matching answer must be a pair: =question -> answer."), at)
            elif not all(pair):
                self.problem(
                    _l(
                        "The matching pair “%(pair)s” needs text on both sides of ->.",
                        pair=unescape(piece).strip(),
                    ),
                    at,
                )
            pairs.append(pair)
        if len(pairs) < 2:
            self.problem(_l("Matching needs at least two pairs."), pieces[0][2])
        return {"type": "matching", "pairs": pairs}

    def _numerical(self, body: str, offset: int) -> dict | None:
        """Build a numerical question: ``#value:tolerance``, ``#min..max`` or ``# =... =...``."""
        if not body.strip():
            self.problem(_l("A numerical question needs at least one answer."), offset)
            return None
        if body.lstrip().startswith("="):
            pieces = _split(body, "=", offset)[1:]
        else:
            pieces = [(None, body, offset)]
        answers = [self._numerical_answer(piece, at) for _, piece, at in pieces]
        if None in answers:
            return None
        self._check_marks([answer.fraction for answer in answers], offset)
        return {"type": "numerical", "numerical": answers}

    # -- Pieces shared by the builders ------------------------------------------------------

    def _answer(self, marker: str, piece: str, at: int) -> AnswerData | None:
        """Read one ``=``/``~`` answer: optional ``%weight%``, text, optional ``#feedback``."""
        fraction, body = self._weight(piece, at, 1.0 if marker == "=" else 0.0)
        if fraction is None:
            return None
        text, feedback = _feedback(body)
        if not text:
            self.problem(_l("An answer is empty."), at)
            return None
        return AnswerData(text, fraction, feedback)

    def _numerical_answer(self, piece: str, at: int) -> NumericalAnswer | None:
        """Read one numerical answer: weight, ``value[:tolerance]`` or ``min..max``, feedback."""
        fraction, body = self._weight(piece, at, 1.0)
        if fraction is None:
            return None
        spec, feedback = _feedback(body)
        if ".." in spec:
            low, high = (self._number(part, at) for part in spec.split("..", 1))
            if low is None or high is None:
                return None
            if low > high:
                self.problem(
                    _l(
                        "The range %(low)s..%(high)s ends below where it starts.",
                        low=_format_number(low),
                        high=_format_number(high),
                    ),
                    at,
                )
                return None
            return NumericalAnswer(minimum=low, maximum=high, fraction=fraction, feedback=feedback)
        value_text, _, tolerance_text = spec.partition(":")
        value = self._number(value_text, at)
        tolerance = self._number(tolerance_text, at) if tolerance_text else 0.0
        if value is None or tolerance is None:
            return None
        if tolerance < 0:
            self.problem(_l("The tolerance after : must not be negative."), at)
            return None
        return NumericalAnswer(
            value=value, tolerance=tolerance, fraction=fraction, feedback=feedback
        )

    def _weight(self, piece: str, at: int, default: float) -> tuple[float | None, str]:
        """Split a leading ``%weight%`` off an answer; return (fraction, rest)."""
        body = piece.strip()
        if not body.startswith("%"):
            return default, body
        end = body.find("%", 1)
        number = body[1:end] if end > 0 else ""
        if _NUMBER.fullmatch(number) and -100 <= float(number) <= 100:
            return round(float(number) / 100, 7), body[end + 1 :]
        shown = body[: end + 1] if end > 0 else body.split()[0]
        self.problem(
            _l("The weight %(weight)s is not a number from -100 to 100.", weight=shown), at
        )
        return None, body

    def _number(self, text: str, at: int) -> float | None:
        """Return ``text`` as a number, or record a problem."""
        text = text.strip()
        if _NUMBER.fullmatch(text):
            return float(text)
        self.problem(
            _l("“%(value)s” is not a number; write numbers like 3.14, with a dot.", value=text),
            at,
        )
        return None

    def _check_marks(self, fractions: list[float], at: int) -> None:
        """Refuse negative weights and require a full-mark answer (short answer, numerical)."""
        if min(fractions) < 0:
            self.problem(_l("Only multiple choice answers can have a negative weight."), at)
        elif max(fractions) < 1:
            self.problem(_l("No answer gets full marks: mark one with = and no weight."), at)


def _has_marker(content: str) -> bool:
    """Whether ``content`` has an unescaped ``=`` or ``~`` (so it is not true/false)."""
    return len(_split(content, "=~", 0)) > 1


def _feedback(body: str) -> tuple[str, str]:
    """Split ``text#feedback`` at the first unescaped ``#``; both parts unescaped and trimmed."""
    at = _find(body, "#")
    text, feedback = (body, "") if at < 0 else (body[:at], body[at + 1 :])
    return unescape(text).strip(), unescape(feedback).strip()


# -- Writing --------------------------------------------------------------------------------


def export(questions: Iterable[QuestionData]) -> str:
    """Return questions as GIFT text, with a ``$CATEGORY:`` line whenever the category changes.

    ``parse(export(questions))`` gives the same questions back (except ``line``).
    """
    chunks = []
    category = ""
    for question in questions:
        if question.category != category:
            category = question.category
            chunks.append(f"{_CATEGORY} {category}".rstrip())
        chunks.append(_export_question(question))
    return "\n\n".join(chunks) + "\n" if chunks else ""


def _export_question(question: QuestionData) -> str:
    """Return one question as GIFT (one or more lines, never a blank one)."""
    head = f"::{escape(question.name)}:: " if question.name else ""
    # A tag is also needed when the text itself starts like a tag or a comment.
    if question.text_format != DEFAULT_TEXT_FORMAT or question.text.startswith(("[", "//")):
        head += f"[{question.text_format}]"
    if question.type == "description":
        return head + escape(question.text)
    answers = _export_answers(question)
    if question.general_feedback:
        answers.append("####" + escape(question.general_feedback))
    if question.options.get("blank") and BLANK in question.text:
        before, after = question.text.split(BLANK, 1)
        return head + escape(before) + "{" + " ".join(answers) + "}" + escape(after)
    if len(answers) < 2:
        return head + escape(question.text) + " {" + "".join(answers) + "}"
    return head + escape(question.text) + " {\n" + "\n".join(answers) + "\n}"


def _export_answers(question: QuestionData) -> list[str]:
    """Return the answer lines of a question (without general feedback)."""
    kind = question.type
    if kind == "truefalse":
        right, wrong = question.answers if question.correct else question.answers[::-1]
        word = "TRUE" if question.correct else "FALSE"
        feedbacks = [escape(wrong.feedback), escape(right.feedback)]
        while feedbacks and not feedbacks[-1]:
            feedbacks.pop()
        return ["#".join([word, *feedbacks])]
    if kind == "numerical":
        return _export_numerical(question.numerical)
    if kind == "matching":
        return [f"={escape(left)} -> {escape(right)}" for left, right in question.pairs]
    return [_export_answer(kind, answer) for answer in question.answers]


def _export_answer(kind: str, answer: AnswerData) -> str:
    """Return one ``=``/``~`` answer with its weight and feedback."""
    if kind == "multiresponse" or (kind == "multichoice" and answer.fraction != 1):
        marker, implied = "~", 0.0
    else:
        marker, implied = "=", 1.0
    # A text starting with % would read as a weight, so its weight is then written out.
    explicit = answer.fraction != implied or answer.text.startswith("%")
    line = marker + (_format_weight(answer.fraction) if explicit else "")
    line += escape(answer.text)
    return line + ("#" + escape(answer.feedback) if answer.feedback else "")


def _export_numerical(answers: list[NumericalAnswer]) -> list[str]:
    """Return numerical answers: ``#3.14:0.01`` for one full-mark answer, else ``=`` lines."""
    lines = []
    for answer in answers:
        if answer.is_range:
            spec = f"{_format_number(answer.minimum)}..{_format_number(answer.maximum)}"
        else:
            spec = f"{_format_number(answer.value)}:{_format_number(answer.tolerance)}"
        weight = "" if answer.fraction == 1 else _format_weight(answer.fraction)
        feedback = "#" + escape(answer.feedback) if answer.feedback else ""
        lines.append(weight + spec + feedback)
    if len(lines) == 1 and answers[0].fraction == 1:
        return ["#" + lines[0]]
    return ["#", *("=" + line for line in lines)]


def _format_weight(fraction: float) -> str:
    """Return ``%50%`` for 0.5 (up to five decimals of a percent)."""
    return "%" + f"{fraction * 100:.5f}".rstrip("0").rstrip(".") + "%"


def _format_number(value: float) -> str:
    """Return a number as short as Python writes it, without a useless ``.0``."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
