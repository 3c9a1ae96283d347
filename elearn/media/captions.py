"""Caption files: turn an uploaded WebVTT or SRT file into clean UTF-8 WebVTT.

``parse(data)`` reads the bytes of an upload and returns WebVTT text ready to store:
a ``WEBVTT`` header, then one cue per block (optional identifier, a
``HH:MM:SS.mmm --> HH:MM:SS.mmm`` line with any cue settings, the cue text), with a
blank line between cues and Unix line endings.

What is accepted:

- WebVTT (first line ``WEBVTT``), with ``MM:SS.mmm`` or ``HH:MM:SS.mmm`` times. Cue
  identifiers and cue settings (``align:start``) are kept; NOTE, STYLE and REGION
  blocks and the header's metadata lines are dropped.
- SRT, recognised by its content: a numeric counter above the first time line, or a
  first time line written with a comma (``00:00:01,000``). Counters are dropped, and
  so is anything after the end time (SRT's ``X1:`` position hints are not WebVTT).
- UTF-8 with or without a BOM; anything else is read as Windows-1258, the legacy
  Vietnamese code page, which writes tones as combining marks. The text is then
  normalised to NFC so "Chính phủ số" compares and searches like typed text.

Anything else raises ``CaptionError`` with a message naming the line (1-based, as in
the uploaded file) that needs fixing. Cue text is kept as written, markup included:
the browser renders cue text as text. Only a ``-->`` inside cue text is replaced by
an arrow, since in WebVTT it would start a new cue.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from flask_babel import lazy_gettext as _l

from elearn.core.services import ServiceError

log = logging.getLogger(__name__)

#: Largest upload accepted; an hour of dense captions is about 100 KB.
MAX_BYTES = 2 * 1024 * 1024

_TIME = {
    "vtt": re.compile(r"(?:([0-9]+):)?([0-5][0-9]):([0-5][0-9])\.([0-9]{3})"),
    "srt": re.compile(r"([0-9]+):([0-5][0-9]):([0-5][0-9]),([0-9]{3})"),
}
_EXAMPLE = {"vtt": "00:00:01.000 --> 00:00:04.000", "srt": "00:00:01,000 --> 00:00:04,000"}
_HEADER = re.compile(r"WEBVTT(?:[ \t]|$)")
_COUNTER = re.compile(r"[0-9]+")
#: A line that starts like a time line, so it opens a new cue even without a blank
#: line before it (a common slip in hand-edited SRT files).
_TIME_LINE = re.compile(r"[ \t]*[0-9]+:[0-9:.,]*[ \t]*-->")
_NOT_A_CUE = re.compile(r"(?:NOTE|STYLE|REGION)(?:[ \t]|$)")
#: Control characters other than tab and newline (e.g. the DOS end-of-file mark).
_CONTROL = re.compile(r"[\x01-\x08\x0b-\x1f\x7f]")


class CaptionError(ServiceError):
    """The caption file cannot be used; the message says why, and on which line."""


def parse(data: bytes, filename: str = "") -> str:
    """Return the captions in ``data`` as clean WebVTT text.

    Args:
        data: the uploaded file's bytes.
        filename: the uploaded file's name, only used in the log.

    Raises:
        CaptionError: the file is too large, empty, not WebVTT or SRT, or has a bad cue.
    """
    lines = _decode(data, filename).split("\n")
    kind = _kind(lines)
    blocks = _blocks(lines, kind)
    if kind == "vtt":
        blocks[0] = _after_header(blocks[0])
    cues = [cue for cue in (_cue(block, kind) for block in blocks if block) if cue]
    if not cues:
        raise CaptionError(_l("The file holds no captions."))
    return "WEBVTT\n\n" + "\n\n".join(cues) + "\n"


def _decode(data: bytes, filename: str) -> str:
    """Return the file's text: NFC, Unix line endings, no control characters."""
    if len(data) > MAX_BYTES:
        raise CaptionError(
            _l("The caption file is larger than %(mb)d MB.", mb=MAX_BYTES // (1024 * 1024))
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1258")
        except UnicodeDecodeError:
            raise CaptionError(_l("This is not a caption file (WebVTT or SRT).")) from None
        log.info("Caption file %r is not UTF-8; read it as Windows-1258", filename)
    if "\x00" in text:  # binary, or UTF-16
        raise CaptionError(_l("This is not a caption file (WebVTT or SRT)."))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", _CONTROL.sub("", text))
    if not text.strip():
        raise CaptionError(_l("The file is empty."))
    return text


def _kind(lines: list[str]) -> str:
    """Tell whether the text is WebVTT (``"vtt"``) or SRT (``"srt"``), else refuse it."""
    first, second = ([line.strip() for line in lines if line.strip()] + [""])[:2]
    if _HEADER.match(first):
        return "vtt"
    if _COUNTER.fullmatch(first) and "-->" in second:
        return "srt"
    if "-->" in first and "," in first.partition("-->")[0]:
        return "srt"
    raise CaptionError(_l("This is not a caption file (WebVTT or SRT)."))


def _blocks(lines: list[str], kind: str) -> list[list[tuple[int, str]]]:
    """Split the text into blocks of ``(line number, line)``, at blank lines."""
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            if current:
                blocks.append(current)
                current = []
            continue
        if _TIME_LINE.match(line) and any("-->" in text for _, text in current[:2]):
            # A second time line in one block: the blank line before it is missing.
            carry = []
            if kind == "srt" and _COUNTER.fullmatch(current[-1][1].strip()):
                carry = [current.pop()]
            blocks.append(current)
            current = carry
        current.append((number, line))
    if current:
        blocks.append(current)
    return blocks


def _after_header(block: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Return the cue, if any, written in the header block without a blank line before it."""
    for index, (_, line) in enumerate(block):
        if "-->" in line and index > 0:
            return block[index:]
    return []


def _cue(block: list[tuple[int, str]], kind: str) -> str | None:
    """Return one block as a WebVTT cue, or None for a block that is not a cue."""
    first = block[0][1].strip()
    if kind == "vtt" and _NOT_A_CUE.match(first):
        return None
    if "-->" in first:
        identifier, (number, timing), text = "", block[0], block[1:]
    elif len(block) > 1 and "-->" in block[1][1]:
        identifier, (number, timing), text = first, block[1], block[2:]
    else:
        raise CaptionError(
            _l(
                "Line %(line)d: expected the cue times, like “%(example)s”.",
                line=block[0][0],
                example=_EXAMPLE[kind],
            )
        )
    times = _times(number, timing, kind)
    lines = [line.rstrip().replace("-->", "→") for _, line in text]
    if not lines:
        return None  # an empty cue shows nothing
    head = [identifier] if kind == "vtt" and identifier else []
    return "\n".join([*head, times, *lines])


def _times(number: int, line: str, kind: str) -> str:
    """Return a time line rewritten as ``start --> end [settings]`` in WebVTT form."""
    left, _, right = line.partition("-->")
    end_text, *rest = right.split(None, 1) or [""]
    start = _milliseconds(number, left.strip() or line.strip(), kind)
    end = _milliseconds(number, end_text or line.strip(), kind)
    if end <= start:
        raise CaptionError(_l("Line %(line)d: a cue ends before it starts.", line=number))
    result = f"{_format(start)} --> {_format(end)}"
    if kind == "vtt" and rest:
        # Settings are "name:value" words; anything else would make the line invalid.
        settings = [word for word in rest[0].split() if ":" in word and "-->" not in word]
        result = " ".join([result, *settings])
    return result


def _milliseconds(number: int, text: str, kind: str) -> int:
    """Return a cue time in milliseconds, or refuse it naming its line."""
    match = _TIME[kind].fullmatch(text)
    if not match:
        raise CaptionError(
            _l("Line %(line)d: the cue time “%(text)s” is not valid.", line=number, text=text)
        )
    hours, minutes, seconds, millis = (int(part or 0) for part in match.groups())
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis


def _format(milliseconds: int) -> str:
    """Return a time as WebVTT's ``HH:MM:SS.mmm``."""
    seconds, millis = divmod(milliseconds, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"
