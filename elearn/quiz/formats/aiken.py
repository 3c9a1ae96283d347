"""The Aiken question format: multiple choice only, one right answer, plain text.

A question is its text (one or more lines), then its options, each on its own
line as ``A. text`` or ``A) text`` with letters running A, B, C… in order, then
``ANSWER: X``. Blank lines between questions are optional. Nothing else is
possible: no titles, categories, feedback or partial credit, so exporting a
question that needs them is refused rather than silently trimmed (answer
feedback, which Aiken has no place for, is the exception: it is dropped).

Questions read from Aiken are ``multichoice`` with ``text_format`` ``plain``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from elearn.quiz.data import AnswerData, QuestionData
from elearn.quiz.formats import FormatError, Problem, check, decode, normalise

_OPTION = re.compile(r"([A-Z])[.)]\s+(\S.*)")
_ANSWER = re.compile(r"ANSWER:(.*)")
#: What an option's text must look like to be written on one line and read back the same.
_OPTION_TEXT = re.compile(r"\S(.*\S)?")
_LETTERS = string.ascii_uppercase
TEXT_FORMAT = "plain"


def read(data: bytes) -> list[QuestionData]:
    """Decode an Aiken file (UTF-8, BOM and CRLF allowed) and parse it.

    Raises:
        FormatError: the file is not UTF-8 text or a question is malformed.
    """
    return parse(decode(data))


def parse(text: str) -> list[QuestionData]:
    """Return the questions of an Aiken text, or raise FormatError listing every problem."""
    return check(*parse_with_errors(text))


def parse_with_errors(text: str) -> tuple[list[QuestionData], list[Problem]]:
    """Return the valid questions of an Aiken text and the problems of the others."""
    questions, problems = [], []
    for number, draft in enumerate(_drafts(normalise(text)), start=1):
        question = draft.build(number)
        if draft.problems:
            problems.extend(draft.problems)
        else:
            questions.append(question)
    return questions, problems


@dataclass
class _Draft:
    """The lines of one question as they are read, and what was wrong with them."""

    line: int
    text: list[str] = field(default_factory=list)
    options: list[tuple[int, str, str]] = field(default_factory=list)  # (line, letter, text)
    answer: tuple[int, str] | None = None  # (line, text after "ANSWER:")
    problems: list[tuple[int, object]] = field(default_factory=list)

    def build(self, number: int) -> QuestionData | None:
        """Check the draft; return its question, turning its problems into Problems."""
        self._check()
        self.problems = [Problem(number, line, message) for line, message in self.problems]
        if self.problems:
            return None
        correct = self.answer[1].strip()
        answers = [
            AnswerData(text, 1.0 if letter == correct else 0.0) for _, letter, text in self.options
        ]
        return QuestionData(
            type="multichoice",
            text="\n".join(self.text),
            text_format=TEXT_FORMAT,
            answers=answers,
            line=self.line,
        )

    def _check(self) -> None:
        if not self.text:
            self.problems.append((self.line, _l("The question has no text.")))
        for index, (line, letter, _) in enumerate(self.options):
            expected = _LETTERS[index] if index < len(_LETTERS) else "?"
            if letter != expected:
                message = _l(
                    "Option %(found)s should be %(expected)s: "
                    "letters run A, B, C… in order, each once.",
                    found=letter,
                    expected=expected,
                )
                self.problems.append((line, message))
                break
        if len(self.options) < 2:
            self.problems.append((self.line, _l("A question needs at least two options.")))
        if self.answer is None:
            self.problems.append((self.line, _l("The question has no ANSWER: line.")))
            return
        line, letter = self.answer[0], self.answer[1].strip()
        if len(letter) != 1 or letter not in _LETTERS:
            message = _l("ANSWER: must name one option letter, such as ANSWER: B.")
            self.problems.append((line, message))
        elif letter not in {option_letter for _, option_letter, _ in self.options}:
            message = _l("ANSWER: %(letter)s is not one of the options.", letter=letter)
            self.problems.append((line, message))


def _drafts(text: str) -> list[_Draft]:
    """Cut the text into question drafts: text lines, option lines, then ANSWER.

    A question ends at its ``ANSWER:`` line; a blank line also ends it (then
    without an answer, which :meth:`_Draft.build` refuses).
    """
    drafts: list[_Draft] = []
    draft = None
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            draft = None
            continue
        if draft is None:
            draft = _Draft(number)
            drafts.append(draft)
        option, answer = _OPTION.fullmatch(line), _ANSWER.match(line)
        if answer:
            draft.answer = (number, answer.group(1))
            draft = None
        elif option:
            draft.options.append((number, option.group(1), option.group(2).strip()))
        elif draft.options:
            message = _l('Expected an option such as "C. …" or the ANSWER: line here.')
            draft.problems.append((number, message))
        else:
            draft.text.append(line)
    return drafts


def export(questions: Iterable[QuestionData]) -> str:
    """Return multiple choice questions as Aiken text.

    Raises:
        FormatError: a question cannot be written in Aiken; each problem names it.
    """
    chunks, problems = [], []
    for number, question in enumerate(questions, start=1):
        message = _unwritable(question)
        if message is None:
            chunks.append(_export_question(question))
        else:
            problems.append(Problem(number, question.line, message, question.name))
    if problems:
        raise FormatError(problems)
    return "\n\n".join(chunks) + "\n" if chunks else ""


def _unwritable(question: QuestionData) -> object | None:
    """Return why a question cannot be written as Aiken, or None if it can."""
    if question.type != "multichoice":
        return _l(
            "Aiken holds only multiple choice questions with one right answer; "
            "this is a %(type)s question.",
            type=question.type,
        )
    fractions = sorted(answer.fraction for answer in question.answers)
    if not fractions or fractions[-1] != 1 or any(fraction != 0 for fraction in fractions[:-1]):
        return _l("Aiken cannot hold partial credit: one answer must be right, the others 0%.")
    if len(question.answers) > len(_LETTERS):
        return _l("Aiken cannot hold more than 26 options.")
    bad_option = any(not _OPTION_TEXT.fullmatch(answer.text) for answer in question.answers)
    if bad_option or any(_looks_special(line) for line in question.text.split("\n")):
        return _l(
            "Aiken cannot hold empty options, line breaks in options, blank lines in "
            "the question, or question lines that look like an option or ANSWER:."
        )
    return None


def _looks_special(line: str) -> bool:
    """Whether a line of question text would not read back as question text."""
    line = line.strip()
    return not line or bool(_OPTION.fullmatch(line) or _ANSWER.match(line))


def _export_question(question: QuestionData) -> str:
    """Return one question: text, lettered options, ANSWER line."""
    lines = [line.strip() for line in question.text.split("\n")]
    right = "A"
    for letter, answer in zip(_LETTERS, question.answers, strict=False):
        lines.append(f"{letter}. {answer.text}")
        if answer.fraction == 1:
            right = letter
    lines.append(f"ANSWER: {right}")
    return "\n".join(lines)
