"""A person's data as a readable PDF in Vietnamese: A4 landscape, one table per section.

Drawn from the same :class:`~elearn.privacy.data.PersonalData` as the JSON download,
with fpdf2 and the DejaVu Sans fonts the certificates use (``progress/fonts``), which
hold every precomposed Vietnamese letter. Tables flow over as many pages as they
need, repeating their header row; every page is numbered. Text is always Vietnamese,
like the certificate, whatever the language of the page that asked for it.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

from fpdf import FPDF, FontFace
from fpdf.enums import TableCellFillMode, XPos, YPos

from elearn.core.clock import to_local
from elearn.privacy.data import PersonalData
from elearn.progress.certificate_pdf import FAMILY, FONT_DIR

NAVY = (22, 52, 96)
HEAD_FILL = (226, 232, 240)
STRIPE = (246, 248, 251)
MARGIN = 12.0

STATUS = {"not_started": "chưa bắt đầu", "in_progress": "đang học", "completed": "đã hoàn thành"}
SOURCE = {"self": "tự đăng ký", "assigned": "được giao", "class": "lớp bồi dưỡng"}
ATTEMPT = {"in_progress": "đang làm", "finished": "đã nộp"}
CERTIFICATE = {"valid": "còn hiệu lực", "revoked": "đã thu hồi", "superseded": "đã được thay thế"}
ROLE = {
    "instructor": "Giảng viên",
    "hr": "Tổ chức cán bộ",
    "admin": "Quản trị viên",
    "organiser": "Tổ chức lớp",
}
NONE = "Không có."


class _Document(FPDF):
    """An FPDF whose pages carry the title and a page number."""

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(85, 85, 85)
        self.cell(0, 5, f"Dữ liệu cá nhân — trang {self.page_no()}/{{nb}}", align="C")


def _text(value) -> str:
    """Return ``value`` as one NFC line ("—" for nothing)."""
    if value is None or value == "":
        return "—"
    return " ".join(unicodedata.normalize("NFC", str(value)).split())


def _when(moment: datetime | None) -> str:
    return to_local(moment).strftime("%H:%M %d/%m/%Y") if moment else "—"


def _day(moment: datetime | None) -> str:
    return to_local(moment).strftime("%d/%m/%Y") if moment else "—"


def _due(moment: datetime | None) -> str:
    """A due instant is the end of a local day: show that day, as the pages do."""
    return _day(moment - timedelta(seconds=1)) if moment else "—"


def _percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{round(ratio * 100)}%"


def _duration(seconds: int) -> str:
    minutes = int(seconds or 0) // 60
    hours, minutes = divmod(minutes, 60)
    return f"{hours} giờ {minutes} phút" if hours else f"{minutes} phút"


def render(personal: PersonalData) -> bytes:
    """Return the PDF of one person's data."""
    pdf = _Document(orientation="landscape", unit="mm", format="A4")
    pdf.add_font(FAMILY, "", FONT_DIR / "DejaVuSans.ttf")
    pdf.add_font(FAMILY, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
    profile = personal.profile
    pdf.set_title(f"Dữ liệu cá nhân: {_text(profile.full_name)}")
    pdf.set_creator("elearn")
    pdf.set_lang("vi")
    pdf.set_creation_date(to_local(personal.generated_at))
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 18)
    pdf.set_text_color(*NAVY)
    pdf.cell(0, 10, "DỮ LIỆU CÁ NHÂN", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", 10)
    pdf.set_text_color(33, 33, 33)
    pdf.multi_cell(
        0,
        5,
        f"Dữ liệu hệ thống elearn lưu về {_text(profile.full_name)}, lập lúc "
        f"{_when(personal.generated_at)}, theo Nghị định 13/2023/NĐ-CP về bảo vệ dữ liệu "
        "cá nhân. Bản JSON cùng nội dung dùng được cho máy đọc.",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    roles = ", ".join(
        ["Học viên"]
        + [
            f"{ROLE.get(r.role, r.role)} ({r.unit or r.course or 'toàn hệ thống'})"
            for r in profile.roles
        ]
    )
    _section(pdf, "Thông tin tài khoản")
    _table(
        pdf,
        ("Mục", "Nội dung"),
        (60, 213),
        [
            ("Họ và tên", profile.full_name),
            ("Tên đăng nhập", profile.username),
            ("Thư điện tử", profile.email),
            ("Đơn vị", f"{profile.unit} ({profile.unit_code})"),
            ("Chức vụ", profile.job_title),
            ("Vai trò", roles),
            ("Ngôn ngữ giao diện", {"vi": "Tiếng Việt", "en": "English"}.get(profile.language)),
            ("Trạng thái", "đang hoạt động" if profile.active else "đã khóa"),
            ("Tạo tài khoản", _when(profile.created_at)),
            ("Đăng nhập gần nhất", _when(profile.last_login_at)),
            ("Khóa tài khoản", _when(profile.deactivated_at)),
        ],
    )
    _section(pdf, "Các lượt học")
    _table(
        pdf,
        (
            "Khóa học",
            "Lượt",
            "Trạng thái",
            "Nguồn",
            "Bắt đầu",
            "Hạn",
            "Hoàn thành",
            "Tiến độ",
            "Thời gian học",
            "Điểm",
        ),
        (70, 12, 27, 25, 23, 23, 23, 18, 30, 22),
        [
            (
                r.course,
                r.run,
                STATUS.get(r.status, r.status),
                SOURCE.get(r.source, r.source),
                _day(r.started_at),
                _due(r.due_at),
                _day(r.completed_at),
                _percent(r.progress),
                _duration(r.time_spent_seconds),
                _percent(r.grade),
            )
            for r in personal.runs
        ],
    )
    _section(pdf, "Bài kiểm tra")
    _table(
        pdf,
        ("Khóa học", "Bài kiểm tra", "Lần", "Trạng thái", "Bắt đầu", "Nộp bài", "Điểm"),
        (75, 70, 12, 24, 34, 34, 24),
        [
            (
                a.course,
                a.quiz,
                a.number,
                ATTEMPT.get(a.state, a.state),
                _when(a.started_at),
                _when(a.finished_at),
                _percent(a.grade),
            )
            for a in personal.quiz_attempts
        ],
    )
    _section(pdf, "Trả lời khảo sát (khảo sát không ẩn danh)")
    _table(
        pdf,
        ("Khóa học", "Khảo sát", "Gửi lúc", "Câu hỏi", "Trả lời"),
        (55, 45, 33, 75, 65),
        [
            (
                s.course,
                s.survey,
                _when(s.submitted_at),
                s.item,
                f"{s.value}/5" if s.value is not None else s.text,
            )
            for s in personal.survey_answers
        ],
    )
    _section(pdf, "Giấy chứng nhận")
    _table(
        pdf,
        (
            "Mã xác minh",
            "Khóa học",
            "Họ và tên trên giấy",
            "Hoàn thành",
            "Trạng thái",
            "Địa chỉ xác minh",
        ),
        (42, 68, 45, 24, 30, 64),
        [
            (
                c.code,
                c.course,
                c.full_name,
                _day(c.completed_at),
                CERTIFICATE.get(c.status, c.status),
                c.verify_url,
            )
            for c in personal.certificates
        ],
    )
    _section(pdf, "Nhật ký các thao tác về tài khoản")
    _table(
        pdf,
        ("Thời điểm", "Thao tác", "Người thực hiện", "Chi tiết", "Địa chỉ IP"),
        (34, 70, 50, 89, 30),
        [(_when(e.at), e.description, e.actor, e.detail, e.ip) for e in personal.audit],
    )
    return bytes(pdf.output())


def _section(pdf: FPDF, title: str) -> None:
    pdf.ln(4)
    if pdf.will_page_break(22):  # a heading never ends a page alone
        pdf.add_page()
    pdf.set_font(FAMILY, "B", 13)
    pdf.set_text_color(*NAVY)
    pdf.cell(0, 8, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(33, 33, 33)


def _table(pdf: FPDF, headings: tuple[str, ...], widths: tuple[float, ...], rows) -> None:
    rows = list(rows)
    pdf.set_font(FAMILY, "", 8.5)
    if not rows:
        pdf.cell(0, 6, NONE, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    with pdf.table(
        col_widths=widths,
        width=sum(widths),
        align="LEFT",
        text_align="LEFT",
        line_height=4.5,
        padding=1.2,
        headings_style=FontFace(emphasis="BOLD", fill_color=HEAD_FILL, color=NAVY),
        cell_fill_color=STRIPE,
        cell_fill_mode=TableCellFillMode.ROWS,
        repeat_headings=1,
        borders_layout="SINGLE_TOP_LINE",
    ) as table:
        table.row([_text(h) for h in headings])
        for row in rows:
            table.row([_text(value) for value in row])
