"""Staff imports: reading every encoding, the dry run's reasons, applying, scope, jobs, pages."""

from __future__ import annotations

import csv
import io
import unicodedata

import openpyxl
import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from elearn.accounts import imports
from elearn.accounts import services as accounts
from elearn.accounts.models import (
    RoleAssignment,
    StaffImport,
    StaffImportRow,
    User,
    UserTransfer,
)
from elearn.core.models import AuditLog, OutboxMail
from elearn.courses import services as courses
from elearn.extensions import db
from elearn.jobs.models import Job
from tests.conftest import csrf_token_from

# --- making files the way Excel does --------------------------------------------------------

VI_HEADERS = ["Họ và tên", "Tên đăng nhập", "Email", "Mã đơn vị", "Chức vụ", "Vai trò", "Nghỉ việc"]
EN_HEADERS = ["Full name", "Username", "E-mail", "Unit code", "Job title", "Roles", "Left"]
KINDS = ["utf8", "utf8-bom", "utf8-nfd", "cp1258", "utf16", "xlsx"]
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def to_cp1258(text: str) -> bytes:
    """Encode as Excel does on a Vietnamese Windows: letters precomposed, tones combining."""
    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        base, *marks = unicodedata.normalize("NFD", char)
        quality = "".join(m for m in marks if m not in _TONES)
        out += unicodedata.normalize("NFC", base + quality).encode("cp1258")
        out += "".join(m for m in marks if m in _TONES).encode("cp1258")
    return bytes(out)


def table_text(rows: list[list[str]], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def xlsx(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def encode(rows: list[list[str]], kind: str = "utf8") -> bytes:
    """Return ``rows`` (header first) as a file of ``kind`` (one of KINDS)."""
    if kind == "utf8":
        return table_text(rows).encode("utf-8")
    if kind == "utf8-bom":
        return b"\xef\xbb\xbf" + table_text(rows).encode("utf-8")
    if kind == "utf8-nfd":  # macOS and some input methods write decomposed accents
        return unicodedata.normalize("NFD", table_text(rows)).encode("utf-8")
    if kind == "cp1258":
        return to_cp1258(table_text(rows, ";"))
    if kind == "utf16":  # Excel's "Unicode text"
        return table_text(rows, "\t").encode("utf-16")
    if kind == "xlsx":
        return xlsx(rows)
    raise ValueError(kind)


def snapshot() -> tuple:
    """Everything an import may change, in a comparable form."""
    users = db.session.execute(
        select(
            User.id,
            User.username,
            User.email,
            User.full_name,
            User.job_title,
            User.unit_id,
            User.active,
            User.auth_nonce,
        )
    ).all()
    transfers = db.session.execute(
        select(UserTransfer.user_id, UserTransfer.from_unit_id, UserTransfer.to_unit_id)
    ).all()
    roles = db.session.execute(
        select(RoleAssignment.user_id, RoleAssignment.role, RoleAssignment.unit_id)
    ).all()
    mails = db.session.scalar(select(func.count()).select_from(OutboxMail))
    return sorted(users), sorted(transfers), sorted(roles, key=str), mails


def by_line(plans) -> dict[int, tuple[str, str]]:
    return {p.line: (p.outcome, p.reason) for p in plans}


def upload(client, data: bytes, name: str = "nhan-su.csv"):
    return client.post(
        "/admin/imports/new",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def newest_import() -> StaffImport:
    return db.session.scalar(select(StaffImport).order_by(StaffImport.id.desc()))


# --- reading ----------------------------------------------------------------------------------

#: Every tone (ngang, huyền, hỏi, ngã, sắc, nặng) and ă â đ ê ô ơ ư.
PEOPLE = [
    ["Nguyễn Thị Ánh", "nguyen.thi.anh", "anh.nguyen@example.vn", "BO.A", "Chuyên viên", "", ""],
    ["Trần Văn Bình", "", "binh.tran@example.vn", "BO.A.1", "Kỹ sư công nghệ", "", ""],
    ["Phạm Thủy Tiên", "pham.thuy.tien", "", "BO.A.1", "Văn thư", "", ""],
    ["Đặng Hữu Lượng", "dang.huu.luong", "luong@example.vn", "BO.A", "Trưởng phòng", "", ""],
    ["Vũ Ngọc Ẩn", "vu.ngoc.an", "", "BO.A", "", "", "x"],
]


@pytest.mark.parametrize("headers", [VI_HEADERS, EN_HEADERS], ids=["vi", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_encoding_and_header_language_reads_the_same_people(app, kind, headers):
    staff = imports.read_file(encode([headers, *PEOPLE], kind))
    expected = [
        imports.StaffRow(line, *(unicodedata.normalize("NFC", cell) for cell in row))
        for line, row in enumerate(PEOPLE, start=2)
    ]
    assert staff.rows == expected
    assert staff.ignored == []
    assert all(unicodedata.is_normalized("NFC", r.full_name) for r in staff.rows)
    assert staff.rows[0].full_name == "Nguyễn Thị Ánh"


@pytest.mark.parametrize(
    ("kind", "how"),
    [
        ("utf8", "CSV UTF-8, “,”"),
        ("utf8-bom", "CSV UTF-8 BOM, “,”"),
        ("cp1258", "CSV Windows-1258, “;”"),
        ("utf16", "CSV UTF-16, TAB"),
        ("xlsx", "XLSX"),
    ],
)
def test_the_file_says_how_it_was_read(app, kind, how):
    assert imports.read_file(encode([VI_HEADERS, *PEOPLE], kind)).format == how


def test_title_rows_blank_rows_and_unknown_columns(app):
    rows = [
        ["DANH SÁCH CÁN BỘ, CÔNG CHỨC NĂM 2026"],
        [],
        ["STT", "Họ tên", "Thư điện tử", "Mã ĐV", "Ghi chú"],
        ["1", "  Nguyễn   Thị Ánh ", "anh@example.vn", "BO.A", "mới"],
        [],
        ["2", "Trần Văn\u200b Bình", "binh@example.vn", "BO.A.1", ""],
    ]
    staff = imports.read_file(encode(rows, "utf8"))
    assert [(r.line, r.full_name, r.email, r.unit_code) for r in staff.rows] == [
        (4, "Nguyễn Thị Ánh", "anh@example.vn", "BO.A"),
        (6, "Trần Văn Bình", "binh@example.vn", "BO.A.1"),
    ]
    assert staff.ignored == ["STT", "Ghi chú"]


def test_xlsx_numbers_and_booleans_become_text(app):
    data = xlsx(
        [["Họ và tên", "Tên đăng nhập", "Mã đơn vị", "Nghỉ việc"], ["An", 12345, "BO.A", True]]
    )
    [row] = imports.read_file(data).rows
    assert (row.username, row.left) == ("12345", "1")


def _damaged_xlsx() -> bytes:
    data = bytearray(xlsx([VI_HEADERS, PEOPLE[0]]))
    data[200:400] = b"\x00" * 200
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        (b"  \r\n \r\n", "empty"),
        (b";;;\r\n", "empty"),
        ("Họ và tên,Email,Mã đơn vị\r\n".encode(), "no people"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV or XLSX"),
        (b"%PDF-1.7\n", "not a CSV or XLSX"),
        (b"PK\x03\x04" + b"\x01" * 50, "damaged"),
        ("Họ và tên,Email,Chức vụ\r\nAn,an@example.vn,x\r\n".encode(), "Mã đơn vị"),
        ("Email,Mã đơn vị\r\nan@example.vn,BO.A\r\n".encode(), "Họ và tên"),
        ("Họ và tên,Mã đơn vị,Chức vụ\r\nAn,BO.A,x\r\n".encode(), "Tên đăng nhập"),
        ("Họ và tên,Email,Mã đơn vị,Email\r\nAn,a@b.vn,BO.A,c@d.vn\r\n".encode(), "twice"),
        ("Tên,Đơn vị\r\nAn,BO.A\r\n".encode(), "Họ và tên"),
        (b"\xff\xfe" + "Họ và tên".encode("utf-16-le") + b"\x00\xd8", "Unicode"),
    ],
    ids=[
        "empty", "blank", "only-delimiters", "header-only", "xls", "png", "pdf", "bad-zip",
        "no-unit", "no-name", "no-identity", "twice", "unknown-headers", "bad-utf16",
    ],
)  # fmt: skip
def test_file_level_errors_say_what_is_wrong(app, data, says):
    with force_locale("en"), pytest.raises(imports.FileError) as refused:
        imports.read_file(data)
    assert says in str(refused.value)


def test_a_damaged_xlsx_is_refused(app):
    with force_locale("en"), pytest.raises(imports.FileError, match="damaged"):
        imports.read_file(_damaged_xlsx())


def test_a_docx_is_not_taken_for_a_spreadsheet(app):
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with force_locale("en"), pytest.raises(imports.FileError, match="not a CSV or XLSX"):
        imports.read_file(buffer.getvalue())


@pytest.mark.parametrize("kind", ["utf8", "xlsx"])
def test_a_limited_read_says_whether_it_read_everything(app, kind):
    rows = [VI_HEADERS] + [[f"Người {n}", f"nguoi{n}", "", "BO.A", "", "", ""] for n in range(5)]
    data = encode(rows, kind)
    assert imports.read_file(data, limit=5).complete
    partial = imports.read_file(data, limit=3)
    assert not partial.complete
    assert [r.line for r in partial.rows] == [2, 3, 4]
    assert imports.read_file(data).complete


def test_too_many_rows_are_refused(app, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    rows = [VI_HEADERS] + [[f"Người {n}", f"nguoi{n}", "", "BO.A", "", "", ""] for n in range(4)]
    with force_locale("en"), pytest.raises(imports.FileError, match="more than 3"):
        imports.read_file(encode(rows))


# --- the dry run ------------------------------------------------------------------------------


def _row(name="", username="", email="", unit="", title="", roles="", left=""):
    return [name, username, email, unit, title, roles, left]


@pytest.fixture
def merged_unit(world):
    """BO.A.2, merged into Phòng A1 (BO.A.1)."""
    unit = accounts.create_unit("BO.A.2", "Phòng A2", "unit", world.dept_a, None)
    accounts.merge_unit(unit, world.team_a1, world.admin, "sáp nhập")
    db.session.commit()
    return unit


def test_the_dry_run_gives_every_bad_row_its_line_and_reason(world, make_user, merged_unit):
    make_user(world.dept_a, "Quản Trị Hai", "admin2", roles=[("admin", None)])
    db.session.commit()
    rows = [
        VI_HEADERS,
        _row("Hoàng Văn Nam", "hoang.van.nam", "nam@example.vn", "BO.A.1"),  # 2
        _row("A" * 256, "dai.qua", "", "BO.A"),  # 3
        _row("Ngô Thị Lan", "lan.ngo", "", "BO.A", left="có lẽ"),  # 4
        _row("Ngô Thị Lan", "", "", "BO.A"),  # 5
        _row("Ngô Thị Lan", "Lan Anh", "", "BO.A"),  # 6
        _row("Ngô Thị Lan", "", "lan@@example", "BO.A"),  # 7
        _row("", "lan.ngo", "", "BO.A"),  # 8
        _row("Ngô Thị Lan", "lan.ngo2", "", ""),  # 9
        _row("Ngô Thị Lan", "lan.ngo3", "", "BO.A", roles="thủ quỹ"),  # 10
        _row("Ngô Thị Lan", "lan.ngo4", "", "BO.A", roles="quản trị"),  # 11
        _row("Hoàng Văn Nam", "hoang.van.nam", "", "BO.A"),  # 12
        _row("Hoàng Nam", "hoang.nam", "NAM@example.vn", "BO.A"),  # 13
        _row("Ngô Thị Lan", "lan.ngo5", "", "KHONG.CO"),  # 14
        _row("Ngô Thị Lan", "lan.ngo6", "", "bo.a.2"),  # 15
        _row("Ngô Thị Lan", "lan.ngo7", "", "BO.B"),  # 16
        _row("Ngô Thị Lan", "lan.ngo8", "", "BO.A", roles="giảng viên"),  # 17
        _row("Người Mới", "nguoi.moi", world.outsider.email, "BO.A"),  # 18
        _row("Đỗ Văn Dũng", "outsider", "", "BO.A"),  # 19
        _row("Quản Trị Hai", "admin2", "", "BO.A"),  # 20
        _row("Lê Thị Hạnh", "hr.a", "", "BO.A", left="x"),  # 21
        _row("Không Ai", "khong.ai", "", "", left="x"),  # 22
        _row("Nguyễn Thị Ánh", "learner", "", "BO.A.1"),  # 23
        _row("Người Học", "", "hoc@example.vn", "BO.A.1", roles="học viên"),  # 24
    ]
    plans = imports.plan_rows(imports.read_file(encode(rows)).rows, world.hr_a)
    assert by_line(plans) == {
        2: ("create", ""),
        3: ("error", "too_long"),
        4: ("error", "bad_left"),
        5: ("error", "no_identity"),
        6: ("error", "bad_username"),
        7: ("error", "bad_email"),
        8: ("error", "missing_name"),
        9: ("error", "missing_unit"),
        10: ("error", "unknown_role"),
        11: ("error", "admin_role"),
        12: ("error", "duplicate"),
        13: ("error", "duplicate"),
        14: ("error", "unknown_unit"),
        15: ("error", "merged_unit"),
        16: ("error", "unit_out_of_scope"),
        17: ("error", "roles_not_allowed"),
        18: ("error", "email_taken"),
        19: ("error", "person_out_of_scope"),
        20: ("error", "admin_account"),
        21: ("error", "self"),
        22: ("skipped", "not_found"),
        23: ("unchanged", ""),
        24: ("create", ""),
    }
    messages = {p.line: p.message for p in plans}
    assert "2" in messages[12]
    assert "2" in messages[13]
    assert "Phòng A1" in messages[15]
    assert "BO.A.1" in messages[15]
    assert "KHONG.CO" in messages[14]
    # Nothing about the other account is told, beyond that the email is taken.
    assert "outsider" not in messages[18]
    assert world.outsider.full_name not in messages[18]
    assert all(p.message for p in plans if p.outcome == "error")
    # A new account without a username gets one from its email.
    assert [p.username for p in plans if p.line == 24] == ["hoc"]


def test_the_dry_run_changes_nothing(world):
    before = snapshot()
    data = encode([VI_HEADERS, _row("Hoàng Văn Nam", "nam", "nam@example.vn", "BO.A")])
    record, staff = imports.create_import(world.hr_a, "a.csv", data)
    imports.check(record, staff)
    db.session.commit()
    assert snapshot() == before
    assert record.state == "checked"
    assert record.create_count == 1


def test_the_dry_run_loads_units_and_people_in_a_few_queries(world):
    from sqlalchemy import event

    rows = [VI_HEADERS] + [
        _row(f"Người {n}", f"nguoi{n}", f"nguoi{n}@example.vn", "BO.A.1") for n in range(300)
    ]
    staff = imports.read_file(encode(rows))
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        imports.plan_rows(staff.rows, world.hr_a)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) <= 8


def test_derived_usernames_avoid_taken_and_named_ones(world, make_user):
    make_user(world.dept_a, "Có Sẵn", "tuan")
    db.session.commit()
    rows = [
        VI_HEADERS,
        _row("Nguyễn Tuấn", "", "tuan@a.example.vn", "BO.A"),
        _row("Lê Tuấn", "", "tuan@b.example.vn", "BO.A"),
        _row("Tuấn Hai", "tuan2", "", "BO.A"),
        _row("Ng", "", "ng@bnv.gov.vn", "BO.A"),
    ]
    plans = imports.plan_rows(imports.read_file(encode(rows)).rows, world.hr_a)
    assert [p.username for p in plans] == ["tuan3", "tuan4", "tuan2", "ng.bnv"]


def test_only_admins_give_roles_and_never_admin(world):
    rows = [
        VI_HEADERS,
        _row("Hoàng Văn Nam", "nam", "", "BO.A", roles="nhân sự; giảng viên"),
        _row("Nguyễn Thị Ánh", "learner", "", "BO.A.1", roles="hr, instructor"),
    ]
    data = encode(rows)
    record, staff = imports.create_import(world.admin, "roles.csv", data)
    imports.check(record, staff)
    assert imports.claim(record, world.admin)
    imports.apply(record, world.admin)
    db.session.commit()
    nam = db.session.scalar(select(User).where(User.username == "nam"))
    held = {(r.role, r.unit_id) for r in accounts.roles_of(nam)}
    assert held == {("hr", world.dept_a.id), ("instructor", world.dept_a.id)}
    learner_roles = {(r.role, r.unit_id) for r in accounts.roles_of(world.learner)}
    assert learner_roles == {("hr", world.team_a1.id), ("instructor", world.team_a1.id)}
    again, staff = imports.create_import(world.admin, "roles.csv", data)
    imports.check(again, staff)
    assert again.unchanged_count == 2
    assert again.to_do == 0


# --- applying ---------------------------------------------------------------------------------


@pytest.fixture
def staff_world(world, make_user, make_course):
    """People for an import: one to transfer, one who left (with a course run), one to
    bring back.
    """
    leaver = make_user(world.team_a1, "Đinh Văn Hải", "dinh.van.hai")
    course = make_course()
    courses.enrol(leaver, course)
    returning = make_user(world.dept_a, "Mai Thị Lan", "mai.thi.lan", email="lan.mai@example.vn")
    accounts.set_active(returning, False, world.admin)
    db.session.commit()
    return {"leaver": leaver, "returning": returning, "course": course}


def _staff_file(world) -> bytes:
    return encode(
        [
            VI_HEADERS,
            _row("Hoàng Văn Nam", "hoang.van.nam", "nam@example.vn", "BO.A.1", "Chuyên viên"),
            _row("Trần Thị Bích", "", "bich.tran@example.vn", "BO.A"),
            _row("Phùng Văn Khỏe", "phung.van.khoe", "", "BO.A.1"),
            _row("Nguyễn Thị Ánh", "learner", "", "BO.A", "Phó phòng"),
            _row("Đinh Văn Hải", "dinh.van.hai", "", "BO.A.1", left="x"),
            _row("Mai Thị Lan", "", "lan.mai@example.vn", "BO.A"),
            _row("Không Ai", "khong.ai", "", "", left="đã nghỉ"),
            _row("Sai Đơn Vị", "sai.don.vi", "", "BO.B"),
        ],
        "cp1258",
    )


def test_applying_creates_transfers_deactivates_reactivates_and_mails(world, staff_world, as_user):
    hr = as_user("hr_a")
    response = upload(hr, _staff_file(world), "Danh sách T5.csv")
    assert response.status_code == 302
    record = newest_import()
    page = hr.get(response.headers["Location"]).get_data(as_text=True)
    assert "BO.B" in page
    assert "Sai Đơn Vị" in page
    assert record.state == "checked"
    assert record.counts == {
        "error": 1, "create": 3, "update": 0, "transfer": 1, "deactivate": 1,
        "reactivate": 1, "unchanged": 0, "skipped": 1,
    }  # fmt: skip
    stored = imports._file_path(record.file_key)
    assert stored.exists()
    mails_before = db.session.scalar(select(func.count()).select_from(OutboxMail))

    assert hr.post(f"/admin/imports/{record.id}/apply").status_code == 302
    db.session.refresh(record)
    assert record.state == "applied"
    assert record.applied_by_id == world.hr_a.id
    assert record.file_key == ""
    assert not stored.exists()
    # New accounts; the one named by email got a username from it.
    bich = db.session.scalar(select(User).where(User.email == "bich.tran@example.vn"))
    assert bich.username == "bich.tran"
    assert bich.unit_id == world.dept_a.id
    khoe = db.session.scalar(select(User).where(User.username == "phung.van.khoe"))
    assert khoe.email is None
    assert khoe.password_hash is None
    # Welcome links only for new accounts with an email.
    mails = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()[mails_before:]
    assert sorted(m.to_address for m in mails) == ["bich.tran@example.vn", "nam@example.vn"]
    assert all(m.kind == "welcome" and "/reset/" in m.body for m in mails)
    # The transfer is recorded with the file's name; the job title changed.
    learner = db.session.get(User, world.learner.id)
    assert (learner.unit_id, learner.job_title) == (world.dept_a.id, "Phó phòng")
    [move] = accounts.transfers_of(learner)
    assert (move.from_unit_id, move.to_unit_id) == (world.team_a1.id, world.dept_a.id)
    assert "Danh sách T5.csv" in move.reason
    assert move.by_id == world.hr_a.id
    # The leaver is deactivated; their run is kept.
    leaver = db.session.get(User, staff_world["leaver"].id)
    assert not leaver.active
    assert leaver.deactivated_at is not None
    assert courses.current_run(leaver, staff_world["course"]) is not None
    assert db.session.get(User, staff_world["returning"].id).active
    # Audited: the import and each change.
    actions = db.session.scalars(select(AuditLog.action)).all()
    assert actions.count("import.checked") == 1
    assert actions.count("import.applied") == 1
    assert actions.count("user.created") >= 3
    assert "user.transferred" in actions
    assert "user.deactivated" in actions
    assert "user.reactivated" in actions
    applied = db.session.scalar(select(AuditLog).where(AuditLog.action == "import.applied"))
    assert applied.actor_id == world.hr_a.id
    assert "create 3" in applied.detail

    # The same file again: every row unchanged (or skipped, or the same error).
    before = snapshot()
    upload(hr, _staff_file(world), "Danh sách T5.csv")
    again = newest_import()
    assert again.to_do == 0
    assert (again.unchanged_count, again.skipped_count, again.error_count) == (6, 1, 1)
    page = hr.get(f"/admin/imports/{again.id}").get_data(as_text=True)
    assert f"/admin/imports/{again.id}/apply" not in page
    assert hr.post(f"/admin/imports/{again.id}/apply").status_code == 302
    assert snapshot() == before


def test_applying_plans_again_against_the_database_as_it_is_then(world, make_user):
    data = encode([VI_HEADERS, _row("Hoàng Văn Nam", "hoang.van.nam", "", "BO.A")])
    record, staff = imports.create_import(world.hr_a, "a.csv", data)
    imports.check(record, staff)
    db.session.commit()
    assert record.create_count == 1
    # Meanwhile someone made that account in another hr's unit.
    make_user(world.dept_b, "Hoàng Văn Nam", "hoang.van.nam")
    db.session.commit()
    assert imports.claim(record, world.hr_a)
    imports.apply(record, world.hr_a)
    db.session.commit()
    row = db.session.scalar(select(StaffImportRow).where(StaffImportRow.import_id == record.id))
    assert (row.outcome, row.reason) == ("error", "person_out_of_scope")
    assert record.counts["error"] == 1
    assert record.create_count == 0
    moved = db.session.scalar(select(User).where(User.username == "hoang.van.nam"))
    assert moved.unit_id == world.dept_b.id


def test_an_account_taken_while_applying_fails_only_its_row(world, make_user, monkeypatch):
    rows = [VI_HEADERS] + [_row(f"Người {n}", f"nguoi{n}", "", "BO.A.1") for n in range(3)]
    record, staff = imports.create_import(world.hr_a, "a.csv", encode(rows))
    imports.check(record, staff)
    assert imports.claim(record, world.hr_a)
    make_user(world.dept_b, "Người Khác", "nguoi1")
    db.session.commit()
    # As if the other account had been made between planning and creating.
    monkeypatch.setattr(imports, "_load_people", lambda usernames, emails: ({}, {}))
    imports.apply(record, world.hr_a)
    db.session.commit()
    rows = db.session.scalars(
        select(StaffImportRow)
        .where(StaffImportRow.import_id == record.id)
        .order_by(StaffImportRow.line)
    ).all()
    assert [(r.line, r.outcome, r.reason) for r in rows] == [
        (2, "create", ""), (3, "error", "refused"), (4, "create", ""),
    ]  # fmt: skip
    assert record.create_count == 2
    assert record.error_count == 1
    assert db.session.scalar(select(User).where(User.username == "nguoi1")).unit_id == (
        world.dept_b.id
    )


def test_an_import_is_applied_once_even_if_asked_twice(world):
    data = encode([VI_HEADERS, _row("Hoàng Văn Nam", "nam", "", "BO.A")])
    record, staff = imports.create_import(world.hr_a, "a.csv", data)
    imports.check(record, staff)
    db.session.commit()
    assert imports.claim(record, world.hr_a)
    assert not imports.claim(record, world.hr_a)
    imports.apply(record, world.hr_a)
    imports.apply(record, world.hr_a)  # a second run finds it applied
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(User.username == "nam")) == 1


def test_an_apply_that_died_halfway_finishes_when_run_again(world, monkeypatch):
    monkeypatch.setattr(imports, "BATCH", 2)
    rows = [VI_HEADERS] + [_row(f"Người {n}", f"nguoi{n}", "", "BO.A.1") for n in range(5)]
    record, staff = imports.create_import(world.hr_a, "a.csv", encode(rows))
    imports.check(record, staff)
    assert imports.claim(record, world.hr_a)
    db.session.commit()

    def crash(done, total):
        db.session.commit()
        raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        imports.apply(record, world.hr_a, crash)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(User.username.like("nguoi%"))) == 2
    record = db.session.get(StaffImport, record.id)
    assert record.state == "applying"
    imports.apply(record, world.hr_a, lambda done, total: db.session.commit())
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(User.username.like("nguoi%"))) == 5
    # The rows done by the first attempt still say what was done.
    assert record.create_count == 5
    assert record.unchanged_count == 0


# --- scope and pages --------------------------------------------------------------------------


def test_another_hr_cannot_open_or_apply_an_import(world, as_user):
    hr_a = as_user("hr_a")
    upload(hr_a, encode([VI_HEADERS, _row("Hoàng Văn Nam", "nam", "", "BO.A")]))
    record = newest_import()
    hr_b = as_user("hr_b")
    for url in ("", "/status", "/errors.csv"):
        assert hr_b.get(f"/admin/imports/{record.id}{url}").status_code == 404
    assert hr_b.post(f"/admin/imports/{record.id}/apply").status_code == 404
    assert hr_b.get(f"/admin/imports/{record.id + 1000}").status_code == 404
    assert "nhan-su.csv" not in hr_b.get("/admin/imports").get_data(as_text=True)
    assert db.session.get(StaffImport, record.id).state == "checked"
    admin = as_user("admin")
    assert admin.get(f"/admin/imports/{record.id}").status_code == 200
    assert "nhan-su.csv" in admin.get("/admin/imports").get_data(as_text=True)
    assert "nhan-su.csv" in hr_a.get("/admin/imports").get_data(as_text=True)


def test_hr_cannot_touch_people_outside_their_units_through_rows(world, as_user, make_user):
    other = make_user(world.dept_b, "Vũ Thị Mai", "vu.thi.mai", email="mai.vu@example.vn")
    before = snapshot()
    hr = as_user("hr_a")
    rows = [
        VI_HEADERS,
        _row("Đỗ Văn Dũng", "outsider", "", "BO.A", "Đổi chức vụ"),  # move someone in
        _row("Phạm Văn Đức", "hr.b", "", "BO.B", left="x"),  # deactivate someone there
        _row("Người Mới", "nguoi.moi", "", "BO.B"),  # add someone there
        _row("Vũ Thị Mai", "", other.email, "BO.B", "Đổi chức vụ"),  # edit someone there
    ]
    upload(hr, encode(rows))
    record = newest_import()
    reasons = db.session.scalars(
        select(StaffImportRow.reason)
        .where(StaffImportRow.import_id == record.id)
        .order_by(StaffImportRow.line)
    ).all()
    assert reasons == ["person_out_of_scope", "person_out_of_scope", "unit_out_of_scope",
                       "unit_out_of_scope"]  # fmt: skip
    assert record.error_count == 4
    assert record.to_do == 0
    assert hr.post(f"/admin/imports/{record.id}/apply").status_code == 302
    assert snapshot() == before


def test_the_pages_show_the_dry_run_filtered_and_paginated(world, as_user):
    hr = as_user("hr_a")
    rows = [VI_HEADERS] + [_row(f"Người {n}", f"nguoi{n}", "", "BO.A.1") for n in range(60)]
    rows.append(_row("Sai", "sai", "", "KHONG.CO"))
    upload(hr, encode(rows))
    record = newest_import()
    page = hr.get(f"/admin/imports/{record.id}").get_data(as_text=True)
    # The error comes first, with its line; 50 rows per page.
    assert page.index("KHONG.CO") < page.index("nguoi0")
    assert page.count("<tr") == 51
    assert "page=2" in page
    errors_only = hr.get(f"/admin/imports/{record.id}?outcome=error").get_data(as_text=True)
    assert "KHONG.CO" in errors_only
    assert "nguoi0" not in errors_only
    assert hr.get(f"/admin/imports/{record.id}?outcome=nonsense").status_code == 200
    assert hr.get("/admin/imports/new").status_code == 200
    people = hr.get("/admin/people").get_data(as_text=True)
    assert 'href="/admin/imports/new"' in people


def test_a_refused_file_shows_why_and_keeps_nothing(world, as_user, app):
    hr = as_user("hr_a")
    response = upload(hr, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "cu.xls")
    assert response.status_code == 400
    assert ".xls" in response.get_data(as_text=True)
    assert hr.post("/admin/imports/new", data={}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(StaffImport)) == 0
    folder = imports.imports_dir()
    assert not folder.exists() or not any(folder.iterdir())


def test_errors_download_as_csv_for_excel(world, as_user):
    hr = as_user("hr_a")
    rows = [
        VI_HEADERS,
        _row('=HYPERLINK("http://x")', "nam", "", "KHONG.CO"),
        _row("Lê Văn Tâm", "tam", "sai@", "BO.A"),
        _row("Đúng", "dung", "", "BO.A"),
    ]
    upload(hr, encode(rows))
    record = newest_import()
    response = hr.get(f"/admin/imports/{record.id}/errors.csv")
    assert response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert lines[0] == ["Dòng", "Tên đăng nhập hoặc email", "Họ và tên", "Mã đơn vị", "Lỗi"]
    assert [line[0] for line in lines[1:]] == ["2", "3"]
    assert lines[1][2].startswith("'=")
    assert "sai@" in lines[2][4]


def test_the_samples_check_cleanly_for_the_visitor(world, as_user):
    hr = as_user("hr_a")
    for url in ("/admin/imports/sample.csv", "/admin/imports/sample.xlsx"):
        response = hr.get(url)
        assert response.status_code == 200
        assert "attachment" in response.headers["Content-Disposition"]
        staff = imports.read_file(response.get_data())
        plans = imports.plan_rows(staff.rows, world.hr_a)
        assert {p.outcome for p in plans} == {"create", "skipped"}, [p.message for p in plans]


def test_the_status_answers_for_the_page_script(world, as_user):
    hr = as_user("hr_a")
    upload(hr, encode([VI_HEADERS, _row("Hoàng Văn Nam", "nam", "", "BO.A")]))
    record = newest_import()
    status = hr.get(f"/admin/imports/{record.id}/status").get_json()
    assert (status["state"], status["progress"]) == ("checked", None)
    assert status["message"]


# --- jobs -------------------------------------------------------------------------------------


def test_large_files_are_checked_and_applied_by_jobs_with_progress(world, as_user, app):
    app.config["IMPORT_INLINE_ROWS"] = 3
    hr = as_user("hr_a")
    rows = [VI_HEADERS] + [_row(f"Người {n}", f"nguoi{n}", "", "BO.A.1") for n in range(5)]
    upload(hr, encode(rows))
    record = newest_import()
    check_job = db.session.get(Job, record.job_id)
    assert (check_job.kind, check_job.state, check_job.progress) == (
        "accounts.import_check", "done", 1.0,
    )  # fmt: skip
    assert check_job.owner_id == world.hr_a.id
    assert check_job.target_id == record.id
    assert record.state == "checked"
    assert record.create_count == 5

    hr.post(f"/admin/imports/{record.id}/apply")
    db.session.refresh(record)
    apply_job = db.session.get(Job, record.job_id)
    assert (apply_job.kind, apply_job.state) == ("accounts.import_apply", "done")
    assert record.state == "applied"
    assert record.file_key == ""
    assert db.session.scalar(select(func.count()).where(User.username.like("nguoi%"))) == 5
    # At least once: the job run again changes nothing.
    before = snapshot()
    imports.run_apply(record.id, world.hr_a.id, lambda *_: None)
    imports.run_check(record.id, lambda *_: None)
    assert snapshot() == before


def test_a_file_too_large_for_a_job_fails_with_its_reason(world, as_user, app, monkeypatch):
    app.config["IMPORT_INLINE_ROWS"] = 2
    monkeypatch.setattr(imports, "MAX_ROWS", 4)
    hr = as_user("hr_a")
    rows = [VI_HEADERS] + [_row(f"Người {n}", f"nguoi{n}", "", "BO.A.1") for n in range(5)]
    upload(hr, encode(rows, "xlsx"))
    record = newest_import()
    assert record.state == "failed"
    assert "4" in record.error
    assert db.session.get(Job, record.job_id).state == "failed"
    page = hr.get(f"/admin/imports/{record.id}").get_data(as_text=True)
    assert record.error in page
    assert "/apply" not in page


def test_the_page_shows_progress_while_a_job_runs(world, as_user):
    data = encode([VI_HEADERS, _row("Hoàng Văn Nam", "nam", "", "BO.A")])
    record, _staff = imports.create_import(world.hr_a, "lon.csv", data)
    db.session.commit()
    page = as_user("hr_a").get(f"/admin/imports/{record.id}").get_data(as_text=True)
    assert "<progress" in page
    assert 'role="status"' in page
    assert f'data-follow-url="/admin/imports/{record.id}/status"' in page
    assert "js/follow.js" in page


def test_reports_progress_through_the_job(world, monkeypatch):
    monkeypatch.setattr(imports, "BATCH", 2)
    rows = [VI_HEADERS] + [_row(f"Người {n}", f"nguoi{n}", "", "BO.A.1") for n in range(5)]
    record, _staff = imports.create_import(world.hr_a, "a.csv", encode(rows))
    checking, applying = [], []
    imports.run_check(record.id, lambda f, m: checking.append((f, m)))
    assert len(checking) == 2
    assert record.state == "checked"
    assert imports.claim(record, world.hr_a)
    imports.run_apply(record.id, world.hr_a.id, lambda f, m: applying.append((f, m)))
    fractions = [f for f, _m in applying]
    assert fractions == sorted(fractions)
    assert len(applying) == 3
    assert any("4" in m and "5" in m for _f, m in applying)


def test_a_job_that_gives_up_marks_the_import_failed(world):
    from elearn.accounts import tasks

    record, _staff = imports.create_import(world.hr_a, "a.csv", encode([VI_HEADERS, PEOPLE[0]]))
    job = Job(kind="accounts.import_check", target_type="staff_import", target_id=record.id,
              error="boom")  # fmt: skip
    tasks._failed(job)
    assert (record.state, record.error) == ("failed", "boom")


def test_old_files_are_removed_by_the_maintenance_chore(world):
    from datetime import timedelta

    from elearn.core.clock import utcnow

    data = encode([VI_HEADERS, PEOPLE[0]])
    old, _staff = imports.create_import(world.hr_a, "a.csv", data)
    old.created_at = utcnow() - timedelta(days=imports.KEEP_DAYS + 1)
    fresh, _staff = imports.create_import(world.hr_a, "b.csv", data)
    old_path, fresh_path = imports._file_path(old.file_key), imports._file_path(fresh.file_key)
    assert imports.clean_old_files() == 1
    assert not old_path.exists()
    assert fresh_path.exists()
    assert old.file_key == ""


# --- CSRF and the command line ----------------------------------------------------------------


def test_the_forms_need_their_csrf_token(make_app, world):
    app = make_app()  # CSRF on
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": "hr.a", "password": "correct-horse-battery",
                                "csrf_token": token})  # fmt: skip
    data = encode([VI_HEADERS, _row("Hoàng Văn Nam", "nam", "", "BO.A")])
    assert upload(client, data).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(StaffImport)) == 0
    token = csrf_token_from(client.get("/admin/imports/new").get_data(as_text=True))
    response = client.post(
        "/admin/imports/new",
        data={"file": (io.BytesIO(data), "a.csv"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    record = newest_import()
    assert client.post(f"/admin/imports/{record.id}/apply").status_code == 400
    assert db.session.get(StaffImport, record.id).state == "checked"


def test_the_command_checks_and_applies_a_file(world, runner, tmp_path):
    path = tmp_path / "nhan-su.xlsx"
    path.write_bytes(
        encode(
            [
                VI_HEADERS,
                _row("Hoàng Văn Nam", "hoang.van.nam", "nam@example.vn", "BO.A.1"),
                _row("Sai", "sai", "", "KHONG.CO"),
            ],
            "xlsx",
        )
    )
    result = runner.invoke(args=["accounts", "import", str(path), "--as", "hr.a"])
    assert result.exit_code == 0, result.output
    assert "create 1" in result.output
    assert "error 1" in result.output
    assert "line 3: sai:" in result.output
    assert "[unknown_unit]" in result.output
    assert db.session.scalar(select(func.count()).where(User.username == "hoang.van.nam")) == 0

    result = runner.invoke(args=["accounts", "import", str(path), "--as", "hr.a", "--apply"])
    assert result.exit_code == 0, result.output
    assert "Applied: error 1, create 1" in result.output
    assert db.session.scalar(select(func.count()).where(User.username == "hoang.van.nam")) == 1

    refused = runner.invoke(args=["accounts", "import", str(path), "--as", "learner"])
    assert refused.exit_code == 1
    assert "not an active hr user" in refused.output
    bad = tmp_path / "cu.xls"
    bad.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 10)
    result = runner.invoke(args=["accounts", "import", str(bad), "--as", "hr.a"])
    assert result.exit_code == 1
    assert ".xls" in result.output
