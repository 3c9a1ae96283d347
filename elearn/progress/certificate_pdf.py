"""A certificate of completion drawn as a one-page A4 landscape PDF, in Vietnamese.

The caller passes what the certificate says (:class:`CertificateData`, frozen when
the certificate was issued) and gets the PDF bytes from :func:`render`. The page:
a thin double border; the title; the learner's name, unit, course, hours; the date,
issuer and signer at the bottom right; a QR code of the public verification address
at the bottom left, with the code and the address printed under it.

Long text never overflows: each paragraph is measured first and set at the largest
size (from its own list of sizes and line counts) at which it fits; the middle block
is then centred in the space between the title and the bottom row. Every field may
be as long as its database column (255 characters) and still fit.

The same data always gives the same bytes: the PDF's creation date is the completion
date (local midnight), and nothing else in the file depends on the clock.

The fonts are DejaVu Sans and DejaVu Sans Bold, shipped in ``fonts/`` (see its
``LICENSE``); they have every precomposed Vietnamese letter, so NFC text needs no
shaping engine. This module is the only user of segno, and of fpdf2 besides
``elearn/privacy/pdf.py`` (a person's data, drawn with these fonts).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time
from io import BytesIO
from pathlib import Path

import segno
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from elearn.core.clock import LOCAL_TZ

FONT_DIR = Path(__file__).with_name("fonts")
FAMILY = "DejaVuSans"

TITLE = "GIẤY CHỨNG NHẬN"
SUBTITLE = "HOÀN THÀNH KHÓA HỌC"
CERTIFY = "Chứng nhận ông/bà"
UNIT = "Đơn vị: {unit}"
COMPLETED = "Đã hoàn thành khóa học"
HOURS = "Thời lượng: {hours} giờ"
DATE = "Ngày {day} tháng {month} năm {year}"
CODE = "Mã xác minh: {code}"
SCAN = "Quét mã QR hoặc mở {url} để kiểm tra."
META_TITLE = "Giấy chứng nhận hoàn thành khóa học: {course}"
META_SUBJECT = "Chứng nhận {name} hoàn thành khóa học {course}. Mã xác minh: {code}."

# Page geometry, in millimetres (A4 landscape).
PAGE_W, PAGE_H = 297.0, 210.0
FRAME_OUTER = 10.0  # inset of the outer border line
FRAME_INNER = 12.5  # inset of the inner border line
BODY_X, BODY_W = 30.0, 237.0  # the centred text column
MIDDLE_TOP, MIDDLE_BOTTOM = 52.0, 138.0  # where the name-to-hours block is centred
BOTTOM_TOP, BOTTOM_END = 142.0, 194.0  # the QR code and signature row
#: The QR code image (x, y, side), quiet zone included.
QR_BOX = (24.0, BOTTOM_TOP, 36.0)
QR_BORDER = 4  # modules of quiet zone: the minimum readers need
CAPTION_W = 100.0  # width of the code and address under the QR code
SIGN_X, SIGN_W = 152.0, 118.0  # the signature column
SIGN_SPACE = (10.0, 22.0)  # least and most room left for a signature and seal

NAVY = (22, 52, 96)
GOLD = (170, 135, 60)
INK = (33, 33, 33)
MUTED = (85, 85, 85)

LINE_SPACING = 1.25  # line height as a multiple of the font size
PT = 25.4 / 72  # millimetres per point

#: Sizes to try for each kind of paragraph: (most lines, largest size, smallest size),
#: in order of preference. The name prefers one line at a smaller size over wrapping;
#: the course title prefers wrapping over shrinking. The last entry of each is small
#: enough for 255 characters.
NAME_FIT = ((1, 26, 14), (2, 14, 10), (3, 10, 6))
COURSE_FIT = ((3, 17, 12), (4, 12, 8), (6, 8, 6))
UNIT_FIT = ((1, 12.5, 10), (2, 10, 7), (3, 7, 6))
SIGN_FIT = ((1, 11, 9), (2, 9, 7), (4, 7, 5.5))
SIGNER_FIT = ((1, 12, 9.5), (2, 9.5, 7), (4, 7, 5.5))
CAPTION_FIT = ((3, 7.5, 6.5), (5, 6.5, 5))


@dataclass(frozen=True)
class CertificateData:
    """What a certificate says, as frozen when it was issued.

    Attributes:
        full_name: The learner's name, NFC (may be long).
        unit_name: The learner's unit, e.g. ``Vụ Tổ chức cán bộ``; may be empty.
        course_title: The course title, up to 255 characters; wraps as needed.
        hours: Training hours, e.g. 1.5; None leaves the line out.
        completed_on: Local date of completion.
        issuer_name: The issuing (organising) unit.
        signer_name: Who signs; empty leaves only the issuer in the signature block.
        signer_title: The signer's position, e.g. ``Hiệu trưởng``; may be empty.
        code: The verification code, e.g. ``K7QM-3XZP-9RTA-WD2E``.
        verify_url: The public address that verifies ``code``; the QR code holds it.
    """

    full_name: str
    unit_name: str
    course_title: str
    hours: float | None
    completed_on: date
    issuer_name: str
    signer_name: str
    signer_title: str
    code: str
    verify_url: str


@dataclass(frozen=True)
class _Paragraph:
    """A piece of text broken into the lines it will be printed as, at a given size."""

    lines: tuple[str, ...]
    style: str
    size: float
    color: tuple[int, int, int]
    gap: float = 0.0  # space above it

    @property
    def line_height(self) -> float:
        return self.size * PT * LINE_SPACING

    @property
    def height(self) -> float:
        return self.gap + len(self.lines) * self.line_height


def render(data: CertificateData) -> bytes:
    """Return the certificate as PDF bytes."""
    name = _clean(data.full_name)
    course = _clean(data.course_title)
    issuer = _clean(data.issuer_name)
    pdf = _new_document()
    pdf.set_title(META_TITLE.format(course=course))
    pdf.set_subject(META_SUBJECT.format(name=name, course=course, code=_clean(data.code)))
    if issuer:
        pdf.set_author(issuer)
    pdf.set_creation_date(datetime.combine(data.completed_on, time.min, tzinfo=LOCAL_TZ))
    pdf.add_page()
    _draw_frame(pdf)
    _draw_title(pdf)
    _draw_middle(pdf, data, name, course)
    _draw_qr(pdf, data)
    _draw_signature(pdf, data, issuer)
    return bytes(pdf.output())


def _new_document() -> FPDF:
    pdf = FPDF(orientation="landscape", unit="mm", format="A4")
    pdf.add_font(FAMILY, "", FONT_DIR / "DejaVuSans.ttf")
    pdf.add_font(FAMILY, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
    pdf.set_creator("elearn")
    pdf.set_lang("vi")
    pdf.set_auto_page_break(False)  # one page, always: the layout is fitted instead
    pdf.set_margins(FRAME_INNER, FRAME_INNER, FRAME_INNER)
    pdf.c_margin = 0  # measured widths are then the printed widths
    return pdf


def _clean(text: str) -> str:
    """Return ``text`` in NFC, on one line, with single spaces.

    Decomposed marks would print apart from their letters without a shaping engine,
    and a stray newline would break the layout.
    """
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def _hours_text(hours: float) -> str:
    """Return hours the Vietnamese way: ``1,5``, ``2``, ``0,25``."""
    return f"{hours:.2f}".rstrip("0").rstrip(".").replace(".", ",")


def _date_text(day: date) -> str:
    """Return ``Ngày 05 tháng 02 năm 2026``.

    As in official documents (Nghị định 30/2020/NĐ-CP), days below 10 and the months
    1 and 2 take a leading zero.
    """
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return DATE.format(day=f"{day.day:02d}", month=month, year=day.year)


@dataclass(frozen=True)
class _Words:
    """Text in one font style with what wrapping needs: the width of each letter at 1 pt.

    Without a shaping engine fpdf2 neither kerns nor joins, so a string is exactly as
    wide as its letters, and widths scale with the size: text is measured once and then
    wrapped at any size with arithmetic alone.
    """

    words: tuple[str, ...]
    widths: tuple[float, ...]  # of each word
    letters: dict[str, float]

    @classmethod
    def of(cls, pdf: FPDF, text: str, style: str) -> _Words:
        pdf.set_font(FAMILY, style, 1)
        letters = {letter: pdf.get_string_width(letter) for letter in set(text) | {" "}}
        words = tuple(text.split(" "))
        return cls(words, tuple(sum(letters[c] for c in word) for word in words), letters)


def _measure(
    pdf: FPDF,
    text: str,
    *,
    style: str,
    width: float,
    fit: tuple[tuple[int, float, float], ...],
    color: tuple[int, int, int],
    gap: float = 0.0,
) -> _Paragraph:
    """Return ``text`` set at the first size in ``fit`` at which it takes few enough lines.

    Within each entry of ``fit`` the largest size that fits is found by bisection on a
    half-point grid (a smaller size never needs more lines). Wrapped lines are then
    balanced: set in the narrowest box (to 1 mm) that keeps their number, so that a
    title on two lines does not leave one word alone on the second.
    """
    words = _Words.of(pdf, text, style)
    for max_lines, largest, smallest in fit:
        low, high = round(smallest * 2), round(largest * 2)  # in half points
        if len(_wrap(words, low / 2, width)) > max_lines:
            continue
        while low < high:  # the largest size that fits lies in [low, high]
            middle = (low + high + 1) // 2
            if len(_wrap(words, middle / 2, width)) <= max_lines:
                low = middle
            else:
                high = middle - 1
        break
    size = low / 2  # the last entry's smallest size if none fits: past the design
    lines = _wrap(words, size, width)
    if len(lines) > 1:
        narrow, wide = int(width / len(lines)), int(width)  # ``wide`` keeps the count
        while narrow < wide:
            middle = (narrow + wide) // 2
            if len(_wrap(words, size, middle)) == len(lines):
                wide = middle
            else:
                narrow = middle + 1
        lines = _wrap(words, size, wide)
    return _Paragraph(lines, style, size, color, gap)


def _wrap(text: _Words, size: float, width: float) -> tuple[str, ...]:
    """Return ``text`` at ``size`` broken greedily into lines no wider than ``width``.

    Lines break at spaces; a word wider than the box on its own breaks between letters.
    """
    limit = width / size + 1e-9  # widths are at 1 pt
    space = text.letters[" "]
    lines: list[str] = []
    line, used = "", 0.0
    for word, word_width in zip(text.words, text.widths, strict=True):
        if line and used + space + word_width <= limit:
            line, used = f"{line} {word}", used + space + word_width
            continue
        if line:
            lines.append(line)
        line, used = word, word_width
        while used > limit and len(line) > 1:
            cut, head = 1, text.letters[line[0]]
            while cut < len(line) - 1 and head + text.letters[line[cut]] <= limit:
                head += text.letters[line[cut]]
                cut += 1
            lines.append(line[:cut])
            line, used = line[cut:], used - head
    lines.append(line)
    return tuple(lines)


def _draw(
    pdf: FPDF, paragraph: _Paragraph, x: float, y: float, width: float, align: Align = Align.C
) -> float:
    """Draw ``paragraph`` in the column of ``width`` at ``x``; return the y below it."""
    pdf.set_font(FAMILY, paragraph.style, paragraph.size)
    pdf.set_text_color(*paragraph.color)
    pdf.set_xy(x, y + paragraph.gap)
    for line in paragraph.lines:
        pdf.cell(
            width,
            paragraph.line_height,
            text=line,
            align=align,
            new_x=XPos.LEFT,
            new_y=YPos.NEXT,
        )
    return y + paragraph.height


def _draw_frame(pdf: FPDF) -> None:
    pdf.set_draw_color(*NAVY)
    pdf.set_line_width(0.7)
    outer = PAGE_W - 2 * FRAME_OUTER, PAGE_H - 2 * FRAME_OUTER
    pdf.rect(FRAME_OUTER, FRAME_OUTER, *outer)
    pdf.set_line_width(0.25)
    inner = PAGE_W - 2 * FRAME_INNER, PAGE_H - 2 * FRAME_INNER
    pdf.rect(FRAME_INNER, FRAME_INNER, *inner)


def _draw_title(pdf: FPDF) -> None:
    y = _draw(pdf, _Paragraph((TITLE,), "B", 30, NAVY), BODY_X, 22.0, BODY_W)
    y = _draw(pdf, _Paragraph((SUBTITLE,), "", 14, GOLD, gap=1.0), BODY_X, y, BODY_W)
    pdf.set_draw_color(*GOLD)
    pdf.set_line_width(0.4)
    pdf.line(PAGE_W / 2 - 25, y + 3, PAGE_W / 2 + 25, y + 3)


def _draw_middle(pdf: FPDF, data: CertificateData, name: str, course: str) -> None:
    def measure(text: str, style: str, fit, color, gap: float) -> _Paragraph:
        return _measure(pdf, text, style=style, width=BODY_W, fit=fit, color=color, gap=gap)

    paragraphs = [
        measure(CERTIFY, "", ((1, 13, 13),), MUTED, 0.0),
        measure(name, "B", NAME_FIT, NAVY, 2.0),
    ]
    unit = _clean(data.unit_name)
    if unit:
        paragraphs.append(measure(UNIT.format(unit=unit), "", UNIT_FIT, INK, 1.5))
    paragraphs += [
        measure(COMPLETED, "", ((1, 13, 13),), MUTED, 5.0),
        measure(course, "B", COURSE_FIT, NAVY, 1.5),
    ]
    if data.hours is not None:
        hours = HOURS.format(hours=_hours_text(data.hours))
        paragraphs.append(measure(hours, "", ((1, 12, 12),), INK, 3.0))
    total = sum(p.height for p in paragraphs)
    y = MIDDLE_TOP + max(0.0, (MIDDLE_BOTTOM - MIDDLE_TOP - total) / 2)
    for paragraph in paragraphs:
        y = _draw(pdf, paragraph, BODY_X, y, BODY_W)


def _qr_png(url: str) -> tuple[BytesIO, int]:
    """Return the QR code of ``url`` as a PNG, and its width in modules with the border."""
    qr = segno.make(url, error="m", micro=False, boost_error=False)
    png = BytesIO()
    qr.save(png, kind="png", scale=8, border=QR_BORDER)
    png.seek(0)
    return png, qr.symbol_size(border=QR_BORDER)[0]


def _draw_qr(pdf: FPDF, data: CertificateData) -> None:
    x, y, side = QR_BOX
    png, modules = _qr_png(data.verify_url)
    pdf.image(png, x=x, y=y, w=side, h=side)
    # Line the caption up with the code's dark modules, but keep it out of the quiet zone.
    left = x + side * QR_BORDER / modules
    code = _Paragraph((CODE.format(code=_clean(data.code)),), "B", 8.5, INK, gap=0.5)
    y = _draw(pdf, code, left, y + side, CAPTION_W, align=Align.L)
    scan = _measure(
        pdf,
        SCAN.format(url=data.verify_url),
        style="",
        width=CAPTION_W,
        fit=CAPTION_FIT,
        color=MUTED,
        gap=0.5,
    )
    _draw(pdf, scan, left, y, CAPTION_W, align=Align.L)


def _draw_signature(pdf: FPDF, data: CertificateData, issuer: str) -> None:
    def measure(text: str, fit, gap: float, style: str = "B") -> _Paragraph:
        return _measure(pdf, text, style=style, width=SIGN_W, fit=fit, color=INK, gap=gap)

    top = [measure(_date_text(data.completed_on), ((1, 11.5, 11.5),), 0.0, style="")]
    if issuer:
        top.append(measure(issuer, SIGN_FIT, 2.0))
    signer = _clean(data.signer_name)
    # Positions are written in capitals in a Vietnamese signature block.
    title = _clean(data.signer_title).upper()
    if signer and title:
        top.append(measure(title, SIGN_FIT, 0.5))
    y = BOTTOM_TOP
    for paragraph in top:
        y = _draw(pdf, paragraph, SIGN_X, y, SIGN_W)
    if signer:
        name = measure(signer, SIGNER_FIT, 0.0)
        space = min(max(BOTTOM_END - y - name.height, SIGN_SPACE[0]), SIGN_SPACE[1])
        _draw(pdf, name, SIGN_X, y + space, SIGN_W)
