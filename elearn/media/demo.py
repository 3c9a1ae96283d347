"""A short demo video lecture, made locally, so a fresh ``make run`` has a video that plays.

``make_lecture(slides, video_out, captions_out)`` turns (heading, narration) pairs into
an MP4 (H.264 + AAC, 1280x720, 25 fps) of plain title slides and a WebVTT caption file
of the narration. When ``espeak-ng`` is installed each slide is read aloud in
Vietnamese and lasts as long as its reading; otherwise the audio is silent and every
slide lasts ``seconds_per_slide``. ``slides_from_markdown`` picks the slides out of a
course page.

Text reaches ffmpeg's drawtext through files (``textfile=``), never through the filter
graph, so Vietnamese punctuation, colons, quotes and percent signs need no escaping.
The ffmpeg build in Debian draws glyphs without text shaping, so text is normalised to
NFC: precomposed letters render correctly, loose combining marks would not.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
import unicodedata
import wave
from pathlib import Path

import ffmpeg

from elearn.media import transcode

log = logging.getLogger(__name__)

#: Fonts with Vietnamese glyphs, best first; the first one present is used.
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf"),
    Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"),
    Path("/usr/share/fonts/opentype/noto/NotoSans-Bold.otf"),
    Path("/usr/share/fonts/opentype/noto/NotoSans-Regular.otf"),
)
WIDTH, HEIGHT, FPS = 1280, 720, 25
BACKGROUND = "0x1b3a5c"
FOOTER = "elearn · Bài giảng minh hoạ"
#: Seconds of quiet after each narrated slide, so slides do not run into each other.
NARRATION_PAUSE = 0.5
DEFAULT_SECONDS_PER_SLIDE = 6.0
#: Caption cues hold at most this many characters, on at most two lines.
CUE_CHARS = 80
CUE_LINE_CHARS = 42
#: Seconds ffmpeg (or espeak-ng) may run before the demo counts as failed.
TOOL_TIMEOUT = 300

# Heading layout: the first size whose wrapped lines fit is used. Widths are estimated
# per character from DejaVu Sans Bold, rounded up, so the widest lines still fit.
HEADING_SIZES = (64, 56, 48, 40)
HEADING_MAX_LINES = 4
TEXT_WIDTH = 1120


def find_font() -> Path | None:
    """Return the first installed font file with Vietnamese glyphs, or None."""
    return next((font for font in FONT_CANDIDATES if font.is_file()), None)


def _clean(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _ems(text: str) -> float:
    """Estimate the width of ``text`` in ems (font size units) for a bold sans font."""
    width = 0.0
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.combining(char):
            continue  # accents sit on their letter
        if char == " ":
            width += 0.35
        elif char in "mwMW":
            width += 1.05
        elif char.isupper() or char.isdigit():
            width += 0.8
        elif char.isalpha():
            width += 0.68 if char not in "iljtfr" else 0.45
        else:
            width += 0.5
    return width


def _fits(text: str, size: int) -> bool:
    return _ems(text) * size <= TEXT_WIDTH


def _wrap(text: str, size: int, *, split_words: bool = False) -> list[str] | None:
    """Wrap ``text`` into lines that fit; a word too wide gives None, or is split."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and _fits(f"{lines[-1]} {word}", size):
            lines[-1] = f"{lines[-1]} {word}"
            continue
        if not _fits(word, size) and not split_words:
            return None
        lines.append("")
        for char in word:
            if lines[-1] and not _fits(lines[-1] + char, size):
                lines.append("")
            lines[-1] += char
    return lines


def wrap_heading(heading: str) -> tuple[int, list[str]]:
    """Return the font size and the lines that fit ``heading`` on a slide."""
    text = _clean(heading)
    if not text:
        return HEADING_SIZES[0], []
    for size in HEADING_SIZES:
        lines = _wrap(text, size)
        if lines is not None and len(lines) <= HEADING_MAX_LINES:
            return size, lines
    # Too long even at the smallest size: keep what fits and mark the cut.
    size = HEADING_SIZES[-1]
    lines = _wrap(text, size, split_words=True)
    if len(lines) > HEADING_MAX_LINES:
        lines = lines[:HEADING_MAX_LINES]
        last = lines[-1]
        while last and not _fits(f"{last} …", size):
            last = last.rsplit(" ", 1)[0] if " " in last else last[:-1]
        lines[-1] = f"{last} …"
    return size, lines


def _sentences(text: str) -> list[str]:
    return [part for part in re.split(r"(?<=[.!?…;])\s+", _clean(text)) if part]


def caption_chunks(narration: str) -> list[str]:
    """Split narration into cue texts of at most CUE_CHARS characters and two lines."""
    chunks: list[str] = []
    for sentence in _sentences(narration):
        current = ""
        for word in sentence.split(" "):
            candidate = f"{current} {word}".strip()
            fits = (
                len(candidate) <= CUE_CHARS and len(textwrap.wrap(candidate, CUE_LINE_CHARS)) <= 2
            )
            if current and not fits:
                chunks.append(current)
                current = word
            else:
                current = candidate
        if current:
            chunks.append(current)
    return chunks


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def webvtt(slides: list[tuple[str, str]], durations: list[float]) -> str:
    """Return WebVTT captions: each slide's narration over that slide's time."""
    cues = ["WEBVTT", ""]
    start = 0.0
    for (_heading, narration), duration in zip(slides, durations, strict=True):
        chunks = caption_chunks(narration)
        total = sum(len(chunk) for chunk in chunks)
        at = start
        for index, chunk in enumerate(chunks):
            # Time is shared by length: a long cue stays up longer, as it takes longer to say.
            last = index == len(chunks) - 1
            end = start + duration if last else at + duration * len(chunk) / total
            lines = "\n".join(textwrap.wrap(chunk, CUE_LINE_CHARS))
            cues += [f"{_timestamp(at)} --> {_timestamp(end)}", lines, ""]
            at = end
        start += duration
    return "\n".join(cues)


def _run(command: list[str]) -> None:
    try:
        subprocess.run(  # noqa: S603 - fixed programs, arguments built here, no shell
            command, capture_output=True, timeout=TOOL_TIMEOUT, check=True
        )
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode("utf-8", "replace")[-500:]
        raise RuntimeError(f"{command[0]} failed making the demo lecture: {detail}") from exc
    except (subprocess.TimeoutExpired, OSError) as exc:
        raise RuntimeError(f"{command[0]} failed making the demo lecture: {exc}") from exc


def _narrate(text: str, wav: Path, script: Path) -> float:
    """Have espeak-ng read ``text`` into ``wav``; return its length in seconds."""
    # From a file, so a narration that starts with "-" is not taken for an option.
    script.write_text(text, encoding="utf-8")
    _run(["espeak-ng", "-v", "vi", "-s", "150", "-w", str(wav), "-f", str(script)])
    with wave.open(str(wav), "rb") as reading:
        return reading.getnframes() / reading.getframerate()


def _text_file(work: Path, name: str, text: str) -> str:
    path = work / name
    path.write_text(text, encoding="utf-8")  # no trailing newline: drawtext would draw it
    return str(path)


def _silence(wav: Path, seconds: float) -> None:
    """Write ``seconds`` of silence to ``wav`` (mono, 16-bit)."""
    with wave.open(str(wav), "wb") as writing:
        writing.setnchannels(1)
        writing.setsampwidth(2)
        writing.setframerate(22050)
        writing.writeframes(bytes(2 * math.ceil(seconds * 22050)))


def _draw_headings(video, work: Path, slides, starts: list[float], font: Path):
    """Draw each slide's heading on ``video`` during that slide's time."""
    for index, ((heading, _narration), start, end) in enumerate(
        zip(slides, starts, starts[1:], strict=False)
    ):
        size, lines = wrap_heading(heading)
        line_height = round(size * 1.3)
        # Baselines of the heading lines, the block centred a little above the middle.
        first = (HEIGHT - 60) // 2 - (len(lines) * line_height) // 2 + round(size * 0.95)
        # Half a frame of margin: the boundary frame belongs to the next slide only.
        shown = f"gte(t,{start - 0.5 / FPS:.3f})*lt(t,{end - 0.5 / FPS:.3f})"
        for number, line in enumerate(lines):
            video = video.filter(
                "drawtext",
                fontfile=str(font),
                textfile=_text_file(work, f"slide{index}-line{number}.txt", line),
                expansion="none",
                fontsize=size,
                fontcolor="white",
                x="(w-text_w)/2",
                # Placing by baseline keeps lines evenly spaced whatever their accents.
                y=f"{first + number * line_height}-ascent",
                enable=shown,
            )
    return video


def make_lecture(
    slides: list[tuple[str, str]],
    video_out: Path,
    captions_out: Path,
    *,
    font: Path | None = None,
    seconds_per_slide: float | None = None,
) -> float:
    """Write a demo lecture of ``slides`` to ``video_out`` and its captions; return its length.

    The video is one ffmpeg run: a plain background for the whole lecture, each
    heading drawn during its slide's time, and the slides' audio joined end to end.

    Args:
        slides: (heading, narration) pairs, in Vietnamese.
        video_out: the MP4 to write; replaced in one step, never left half-written.
        captions_out: the WebVTT file to write.
        font: a font file with Vietnamese glyphs; by default ``find_font()``.
        seconds_per_slide: how long each slide lasts when there is no narration
            (default 6 s); ignored for slides that espeak-ng reads aloud.

    Returns:
        The lecture's length in seconds.

    Raises:
        ValueError: ``slides`` is empty.
        RuntimeError: no usable font, or ffmpeg or espeak-ng failed.
    """
    if not slides:
        raise ValueError("a lecture needs at least one slide")
    font = font or find_font()
    if font is None or not font.is_file():
        raise RuntimeError(
            "No font with Vietnamese letters was found for the demo lecture; "
            "install one with:  apt-get install -y fonts-dejavu-core"
        )
    silent_seconds = seconds_per_slide or DEFAULT_SECONDS_PER_SLIDE
    speaker = shutil.which("espeak-ng")
    with tempfile.TemporaryDirectory(prefix="elearn-demo-") as tmp:
        work = Path(tmp)
        durations: list[float] = []
        wavs: list[Path] = []
        for index, (_heading, narration) in enumerate(slides):
            wav = work / f"slide{index}.wav"
            if speaker and _clean(narration):
                spoken = _narrate(_clean(narration), wav, work / f"slide{index}-narration.txt")
                seconds = spoken + NARRATION_PAUSE
            else:
                seconds = silent_seconds
            # Whole frames, so sound and picture change slide together and the sum is exact.
            durations.append(math.ceil(round(seconds * FPS, 6)) / FPS)
            wavs.append(wav)
        total = sum(durations)
        starts = [sum(durations[:index]) for index in range(len(slides) + 1)]

        if speaker:
            pieces = []
            for wav, seconds in zip(wavs, durations, strict=True):
                if not wav.exists():
                    _silence(wav, seconds)  # a slide with nothing to say
                pieces.append(
                    ffmpeg.input(str(wav))
                    .audio.filter("aresample", 44100)
                    .filter("apad", whole_dur=seconds)
                    .filter("atrim", end=seconds)
                )
            audio = ffmpeg.concat(*pieces, v=0, a=1) if len(pieces) > 1 else pieces[0]
        else:
            audio = ffmpeg.input("anullsrc=r=44100:cl=mono", format="lavfi", t=total).audio

        background = ffmpeg.input(
            f"color=c={BACKGROUND}:s={WIDTH}x{HEIGHT}:r={FPS}", format="lavfi", t=total
        ).video
        video = (
            _draw_headings(background, work, slides, starts, font)
            .filter("drawbox", x=0, y=HEIGHT - 70, w=WIDTH, h=2, color="white@0.35", t="fill")
            .filter(
                "drawtext",
                fontfile=str(font),
                textfile=_text_file(work, "footer.txt", _clean(FOOTER)),
                expansion="none",
                fontsize=26,
                fontcolor="white@0.8",
                x=48,
                y=f"{HEIGHT - 26}-ascent",
            )
            .filter("setsar", 1)
        )
        partial = video_out.with_name(f".{video_out.name}.partial-{os.getpid()}")
        command = ffmpeg.output(
            video,
            audio,
            str(partial),
            format="mp4",
            vcodec="libx264",
            preset="veryfast",
            tune="stillimage",
            pix_fmt="yuv420p",
            r=FPS,
            acodec="aac",
            audio_bitrate="96k",
            ar=44100,
            ac=2,
            t=total,
            movflags="+faststart",
        ).compile()
        # Global options go first; after the output name ffmpeg would call them "trailing".
        command = [command[0], "-v", "error", "-y", "-nostdin", *command[1:]]
        video_out.parent.mkdir(parents=True, exist_ok=True)
        try:
            transcode.run_ffmpeg(command, TOOL_TIMEOUT)  # transcode.py owns running ffmpeg
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    partial.replace(video_out)
    captions_partial = captions_out.with_name(f".{captions_out.name}.partial-{os.getpid()}")
    captions_partial.write_text(webvtt(slides, durations), encoding="utf-8")
    captions_partial.replace(captions_out)
    log.info("made demo lecture %s: %d slides, %.1f s", video_out.name, len(slides), total)
    return round(total, 3)


# --- slides from a course page ----------------------------------------------------------------

_MARKUP = (
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images: keep the alt text
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links: keep the link text
    (re.compile(r"<[^>]+>"), ""),  # inline HTML
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),  # bold
    (re.compile(r"(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])"), r"\2"),  # italics
    (re.compile(r"`([^`]*)`"), r"\1"),  # code
)


def _plain(markdown: str) -> str:
    """Return one line of Markdown as plain text."""
    text = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", markdown)  # list marker
    text = re.sub(r"^\s*>\s?", "", text)  # quote marker
    for pattern, replacement in _MARKUP:
        text = pattern.sub(replacement, text)
    return _clean(text)


def _first_sentence(paragraph: str) -> str:
    sentence = re.split(r"(?<=[.!?…])\s+", paragraph, maxsplit=1)[0].rstrip()
    # A paragraph that introduces a list ends in a colon; spoken, it is a sentence.
    sentence = re.sub(r"\s*:$", ".", sentence)
    return sentence if sentence[-1:] in ".!?…" else f"{sentence}."


def slides_from_markdown(title: str, markdown: str, max_slides: int = 4) -> list[tuple[str, str]]:
    """Return demo slides for a page: its title, then one per ``## `` heading.

    A heading's narration is the heading followed by the first sentence of the
    paragraph under it, without Markdown markup. At most ``max_slides`` slides,
    the title slide included.
    """
    title = _clean(title)
    slides = [(title, title)]
    sections: list[tuple[str, list[str]]] = []
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif fenced:
            continue
        elif line.startswith("## "):
            sections.append((_plain(line[3:].strip().rstrip("#")), []))
        elif sections and line.startswith("#"):
            sections.append(("", []))  # another level of heading ends the paragraph search
        elif sections:
            sections[-1][1].append(line)
    for heading, lines in sections:
        if len(slides) >= max_slides:
            break
        if not heading:
            continue
        paragraph = " ".join(_plain(line) for line in _first_paragraph(lines))
        spoken = heading if heading[-1:] in ".!?…" else f"{heading}."
        if paragraph:
            spoken = f"{spoken} {_first_sentence(paragraph)}"
        slides.append((heading, spoken))
    return slides


def _first_paragraph(lines: list[str]) -> list[str]:
    paragraph: list[str] = []
    for line in lines:
        if line.strip():
            paragraph.append(line)
        elif paragraph:
            break
    return paragraph
