"""Question file formats (GIFT, Aiken): what they share — problems, errors, decoding.

Each format module offers the same functions:

* ``read(data: bytes)`` decodes a file (:func:`decode`) and parses it;
* ``parse(text)`` returns the questions or raises :class:`FormatError`;
* ``parse_with_errors(text)`` returns ``(questions, problems)``, the valid
  questions and every problem found, without raising;
* ``export(questions)`` writes questions back to text.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from elearn.core.services import ServiceError
from elearn.core.vietnamese import nfc

_BOM = "\ufeff"


@dataclass(frozen=True)
class Problem:
    """Why one question (or the file) was refused.

    ``question`` is the 1-based number of the question in the file, None for
    problems with the file as a whole; ``line`` is 1-based; ``title`` is the
    question's title when it has one; ``message`` is a lazy translatable string.
    """

    question: int | None
    line: int
    message: object
    title: str = ""


class FormatError(ServiceError):
    """A question file was refused; ``problems`` lists every reason found."""

    def __init__(self, problems: list[Problem]):
        super().__init__(_l("The file has %(count)d problem(s).", count=len(problems)))
        self.problems = problems


def decode(data: bytes) -> str:
    """Return the text of a UTF-8 file (BOM optional), with LF line ends and in NFC.

    Raises:
        FormatError: the bytes are not UTF-8 text, or contain a NUL byte.
    """
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise FormatError(
            [Problem(None, line, _l("The file contains a NUL byte: it is not a text file."))]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = _l("The file is not UTF-8 text. Save it as UTF-8 and try again.")
        raise FormatError([Problem(None, line, message)]) from None
    return normalise(text)


def normalise(text: str) -> str:
    """Return ``text`` without a BOM, with LF line ends and in Unicode NFC."""
    text = text.removeprefix(_BOM)
    return nfc(text.replace("\r\n", "\n").replace("\r", "\n"))


def check(questions: list, problems: list[Problem]) -> list:
    """Return ``questions``, or raise :class:`FormatError` if there were problems."""
    if problems:
        raise FormatError(problems)
    return questions
