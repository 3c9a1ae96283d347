"""Certificate PDFs, checked with real tools: the text poppler extracts, the QR code
zbar decodes, and where the text lands on the page.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import unicodedata
from dataclasses import replace
from datetime import date
from itertools import combinations
from pathlib import Path

import pytest

from elearn.progress import certificate_pdf
from elearn.progress.certificate_pdf import CertificateData, render

BASE = CertificateData(
    full_name="Nguyễn Thị Phương Thảo Quỳnh Anh",
    unit_name="Vụ Tổ chức cán bộ",
    course_title="Kỹ năng ứng dụng công nghệ thông tin trong thực thi công vụ",
    hours=1.5,
    completed_on=date(2026, 11, 23),
    issuer_name="Trường Bồi dưỡng cán bộ, công chức",
    signer_name="Trần Văn Bình",
    signer_title="Hiệu trưởng",
    code="K7QM-3XZP-9RTA-WD2E",
    verify_url="http://127.0.0.1:5000/verify/K7QM-3XZP-9RTA-WD2E",
)

VOWELS = "aăâeêioôơuưy"
#: ngang (none), huyền, sắc, hỏi, ngã, nặng
TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
LONG_TITLE = (
    "Bồi dưỡng kiến thức, kỹ năng quản lý nhà nước theo tiêu chuẩn ngạch chuyên viên chính "
    "dành cho cán bộ, công chức các bộ, ngành và địa phương năm 2026: chuyển đổi số, "
    "cải cách hành chính và đạo đức công vụ"
)
LONG_NAME = "Tôn Nữ Hoàng Thị Phương Thảo Quỳnh Anh Ngọc Diệp Bảo Châu Minh Nguyệt"
PT_PER_MM = 72 / 25.4


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def tone_name(vowel: str) -> str:
    """A name with ``vowel`` under every tone, in capitals and in small letters, and Đ/đ."""
    forms = [nfc(vowel + tone) for tone in TONES]
    return "Đặng " + " ".join(form.upper() for form in forms) + " " + "đ" + " đ".join(forms)


def make(**fields) -> CertificateData:
    return replace(BASE, **fields)


def tool(name: str) -> str:
    """Return the tool's name, or skip (fail in CI) when it is not installed."""
    if shutil.which(name) is None:
        message = f"{name} is not installed (apt-get install poppler-utils zbar-tools)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return name


def run(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, check=True)
    return result.stdout.decode("utf-8")


@pytest.fixture
def write(tmp_path):
    """Render a certificate into a file; return its path."""
    count = 0

    def write(data: CertificateData) -> Path:
        nonlocal count
        count += 1
        path = tmp_path / f"certificate-{count}.pdf"
        path.write_bytes(render(data))
        return path

    return write


def text_of(pdf: Path) -> str:
    """Return the PDF's text in reading order, in NFC."""
    return nfc(run(tool("pdftotext"), "-enc", "UTF-8", str(pdf), "-"))


def flat(text: str) -> str:
    """Return ``text`` with every run of whitespace (line breaks too) as one space."""
    return " ".join(text.split())


def lines_of(pdf: Path) -> list[str]:
    return [line.strip() for line in text_of(pdf).splitlines()]


def qr_of(pdf: Path) -> str:
    """Return what a QR reader finds on page 1 rendered at 150 dpi."""
    tool("pdftoppm")
    zbarimg = tool("zbarimg")
    prefix = pdf.with_suffix("")
    run("pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(prefix))
    found = subprocess.run(
        [zbarimg, "--raw", "-q", "-Sdisable", "-Sqrcode.enable", f"{prefix}.png"],
        capture_output=True,
        check=False,
    )
    assert found.returncode == 0, "no QR code found"
    return found.stdout.decode("utf-8").removesuffix("\n")


def info_of(pdf: Path) -> dict[str, str]:
    out = run(tool("pdfinfo"), "-isodates", "-enc", "UTF-8", str(pdf))
    pairs = (line.split(":", 1) for line in out.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def boxes_of(pdf: Path) -> list[tuple[str, float, float, float, float]]:
    """Return each printed line's text and box (x0, y0, x1, y1, in points from the top)."""
    xhtml = run(tool("pdftotext"), "-bbox-layout", "-enc", "UTF-8", str(pdf), "-")
    found = re.finditer(
        r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</line>',
        xhtml,
        re.DOTALL,
    )
    return [
        (" ".join(re.findall(r">([^<]*)</word>", m[5])), *map(float, m.groups()[:4])) for m in found
    ]


def apart(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Whether two boxes (x0, y0, x1, y1) do not overlap, give or take half a point.

    The slack is there because pdftotext's glyph boxes are the font's full ascent and
    descent, which touch between lines set solid.
    """
    slack = 0.5
    return (
        a[2] <= b[0] + slack or b[2] <= a[0] + slack or a[3] <= b[1] + slack or b[3] <= a[1] + slack
    )


def test_tone_names_cover_every_vowel_with_every_tone_in_both_cases():
    letters = set("".join(tone_name(vowel) for vowel in VOWELS))
    expected = {nfc(v + t) for v in VOWELS for t in TONES}
    assert expected | {form.upper() for form in expected} | {"Đ", "đ"} <= letters


@pytest.mark.parametrize(
    "name",
    [
        *(pytest.param(tone_name(vowel), id=vowel) for vowel in VOWELS),
        "Đặng Thị Ưng Ỷ",
        "Nguyễn Thị Phương Thảo Quỳnh Anh",
        "Trương Vĩnh Ký",
        "Lê Quý Đôn",
        "Phạm Thị Kiều Oanh",
        "Huỳnh Tấn Phát",
    ],
)
def test_the_learners_name_is_extracted_exactly_on_one_line(write, name):
    assert name == nfc(name)
    assert name in lines_of(write(make(full_name=name)))


def test_a_decomposed_name_is_printed_composed(write):
    """Does a name typed in NFD come out as the NFC name (so marks sit on their letters)?"""
    name = "Đặng Thị Ưng Ỷ"
    pdf = write(make(full_name=unicodedata.normalize("NFD", name)))
    assert name in run(tool("pdftotext"), "-enc", "UTF-8", str(pdf), "-").splitlines()


def test_the_certificate_says_what_was_completed_by_whom(write):
    text = text_of(write(BASE))
    lines = text.splitlines()
    for label in ("GIẤY CHỨNG NHẬN", "Chứng nhận ông/bà", "Đã hoàn thành khóa học"):
        assert label in lines
    assert BASE.course_title in flat(text)
    assert "Đơn vị: Vụ Tổ chức cán bộ" in lines
    assert "Thời lượng: 1,5 giờ" in lines
    assert "Ngày 23 tháng 11 năm 2026" in lines
    assert BASE.issuer_name in lines
    assert "HIỆU TRƯỞNG" in lines
    assert BASE.signer_name in lines
    assert f"Mã xác minh: {BASE.code}" in lines
    assert f"Quét mã QR hoặc mở {BASE.verify_url} để kiểm tra." in flat(text)


def test_the_qr_code_holds_the_verification_address(write):
    assert qr_of(write(BASE)) == BASE.verify_url


def test_a_long_title_and_a_long_name_still_fit_on_one_page(write):
    assert len(LONG_TITLE) > 200
    pdf = write(make(full_name=LONG_NAME, course_title=LONG_TITLE))
    assert info_of(pdf)["Pages"] == "1"
    text = text_of(pdf)
    assert LONG_NAME in flat(text)
    assert LONG_TITLE in flat(text)
    assert qr_of(pdf) == BASE.verify_url


def test_every_field_at_its_longest_stays_inside_the_frame_without_overlapping(write):
    """Every field as long as its column (255) and a longer address: nothing collides."""

    def long(words: str) -> str:
        return (words * 20)[:255].strip()

    url = "https://daotao.truongboiduongcanbo.gov.vn/chung-chi/xac-minh/K7QM-3XZP-9RTA-WD2E"
    data = make(
        full_name=long("Tôn Nữ Hoàng Thị Phương Thảo "),
        unit_name=long("Vụ Tổ chức cán bộ, Bộ Nội vụ, "),
        course_title=long("Bồi dưỡng quản lý nhà nước chương trình chuyên viên chính "),
        hours=1234.75,
        issuer_name=long("Trường Bồi dưỡng cán bộ, công chức Bộ Nội vụ "),
        signer_name=long("Nguyễn Hoàng Trần Văn Bình "),
        signer_title=long("Phó Hiệu trưởng phụ trách "),
        verify_url=url,
    )
    pdf = write(data)
    assert info_of(pdf)["Pages"] == "1"
    boxes = boxes_of(pdf)
    frame = certificate_pdf.FRAME_INNER * PT_PER_MM
    width, height = 297 * PT_PER_MM, 210 * PT_PER_MM
    for text, x0, y0, x1, y1 in boxes:
        assert frame < x0 < x1 < width - frame, text
        assert frame < y0 < y1 < height - frame, text
    qr_x, qr_y, qr_side = (value * PT_PER_MM for value in certificate_pdf.QR_BOX)
    qr = ("QR code", qr_x, qr_y, qr_x + qr_side, qr_y + qr_side)
    for a, b in combinations([*boxes, qr], 2):
        assert apart(a[1:], b[1:]), f"{a[0]!r} overlaps {b[0]!r}"
    text = flat(text_of(pdf))
    for field in (data.full_name, data.course_title, data.issuer_name, data.signer_name):
        assert field in text
    assert qr_of(pdf) == url


def test_without_hours_or_signer_those_lines_are_left_out(write):
    lines = lines_of(write(make(hours=None, signer_name="", unit_name="")))
    assert not any(line.startswith(("Thời lượng", "Đơn vị")) for line in lines)
    assert BASE.issuer_name in lines
    assert "HIỆU TRƯỞNG" not in lines
    assert BASE.signer_name not in lines


def test_a_signer_without_a_title_signs_under_the_issuer(write):
    lines = lines_of(write(make(signer_title="")))
    assert BASE.issuer_name in lines
    assert BASE.signer_name in lines
    assert "HIỆU TRƯỞNG" not in lines


@pytest.mark.parametrize(
    ("hours", "shown"), [(1.5, "1,5"), (2.0, "2"), (0.25, "0,25"), (40, "40"), (12.75, "12,75")]
)
def test_hours_are_written_with_a_decimal_comma(write, hours, shown):
    assert f"Thời lượng: {shown} giờ" in lines_of(write(make(hours=hours)))


@pytest.mark.parametrize(
    ("day", "shown"),
    [
        (date(2026, 11, 23), "Ngày 23 tháng 11 năm 2026"),
        (date(2026, 2, 5), "Ngày 05 tháng 02 năm 2026"),
        (date(2027, 3, 9), "Ngày 09 tháng 3 năm 2027"),
        (date(2026, 12, 31), "Ngày 31 tháng 12 năm 2026"),
    ],
)
def test_the_date_is_written_as_in_official_documents(write, day, shown):
    assert shown in lines_of(write(make(completed_on=day)))


def test_metadata_names_the_issuer_and_the_completion_date(write):
    info = info_of(write(BASE))
    assert info["Author"] == BASE.issuer_name
    assert BASE.course_title in info["Title"]
    assert BASE.full_name in info["Subject"]
    assert BASE.code in info["Subject"]
    assert info["CreationDate"] == "2026-11-23T00:00:00+07"
    assert info["Page size"].startswith("841.89 x 595.28")


def test_the_same_data_gives_the_same_bytes():
    first = render(BASE)
    assert first.startswith(b"%PDF-")
    assert render(BASE) == first
    assert render(make(code="ABCD-EFGH-JKMN-PQRS")) != first
