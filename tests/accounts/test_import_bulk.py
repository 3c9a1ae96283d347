"""The must-show: 10,000 rows in four files of mixed encodings, with exactly 50 bad rows.

The dry runs list exactly those 50 (line and reason); applying creates the people; applying
the same files again changes nothing.
"""

from __future__ import annotations

import random
import time

from sqlalchemy import func, select

from elearn.accounts import imports
from elearn.accounts import services as accounts
from elearn.accounts.models import StaffImportRow, User
from elearn.core.models import OutboxMail
from elearn.extensions import db
from tests.accounts.test_import import EN_HEADERS, VI_HEADERS, encode, snapshot

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Minh", "Thu", "Đức", "Thanh", "Quang", "Ngọc", "Hữu", "Thủy"]
GIVEN = ["An", "Ánh", "Bình", "Châu", "Cường", "Dũng", "Hà", "Hải", "Hạnh", "Lượng", "Ẩn"]
#: (kind of file, headers, rows in it)
FILES = [
    ("utf8-bom", VI_HEADERS),
    ("cp1258", VI_HEADERS),
    ("utf16", EN_HEADERS),
    ("xlsx", EN_HEADERS),
]
PER_FILE = 2_500
#: How each bad row is spoiled, and the reason the dry run must give.
SPOILERS = [
    ("unknown_unit", lambda r, w: r.__setitem__(3, "KHONG.CO")),
    ("unit_out_of_scope", lambda r, w: r.__setitem__(3, "BO.B")),
    ("merged_unit", lambda r, w: r.__setitem__(3, "BO.A.9")),
    ("missing_unit", lambda r, w: r.__setitem__(3, "")),
    ("bad_email", lambda r, w: r.__setitem__(2, "khong-phai-email@")),
    ("bad_username", lambda r, w: r.__setitem__(1, "có dấu")),
    ("missing_name", lambda r, w: r.__setitem__(0, "")),
    ("no_identity", lambda r, w: (r.__setitem__(1, ""), r.__setitem__(2, ""))),
    ("roles_not_allowed", lambda r, w: r.__setitem__(5, "giảng viên")),
    ("unknown_role", lambda r, w: r.__setitem__(5, "thủ quỹ")),
    # Other people's accounts (each named once: twice would be a duplicate in the file).
    ("email_taken", lambda r, w: r.__setitem__(2, _others(w).pop(0).email)),
    ("person_out_of_scope", lambda r, w: r.__setitem__(1, _others(w).pop().username)),
    ("bad_left", lambda r, w: r.__setitem__(6, "có lẽ")),
]


_OTHERS: list = []


def _others(world) -> list:
    """People outside hr_a's units, handed out one by one."""
    if not _OTHERS:
        _OTHERS.extend([world.outsider, world.hr_b, world.admin, world.instructor] * 2)
    return _OTHERS


def _files(world):
    """Return [(kind, bytes)] and the expected {(file index, line, reason)} of bad rows."""
    rng = random.Random(7)
    _OTHERS.clear()
    bad_at = set(rng.sample(range(PER_FILE * len(FILES)), 50))
    expected = set()
    files = []
    n = 0
    for index, (kind, headers) in enumerate(FILES):
        rows = [headers]
        for line in range(2, PER_FILE + 2):
            name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
            username = f"nv{n:05d}"
            email = f"{username}@bo.example.vn" if n % 2 else ""
            unit = "BO.A.1" if n % 3 else "BO.A"
            row = [name, username, email, unit, "Chuyên viên", "", ""]
            if n in bad_at:
                reason, spoil = SPOILERS[len(expected) % len(SPOILERS)]
                spoil(row, world)
                expected.add((index, line, reason))
            rows.append(row)
            n += 1
        files.append((kind, encode(rows, kind)))
    return files, expected


def test_ten_thousand_rows_fifty_bad_dry_run_then_apply_twice(world):
    merged = accounts.create_unit("BO.A.9", "Phòng A9", "unit", world.dept_a, None)
    accounts.merge_unit(merged, world.team_a1, world.admin, "sáp nhập")
    db.session.commit()
    files, expected = _files(world)
    assert len(expected) == 50

    started = time.perf_counter()
    records, found = [], set()
    for index, (kind, data) in enumerate(files):
        record, staff = imports.create_import(world.hr_a, f"phan-{index}.{kind}", data)
        imports.check(record, staff)
        db.session.commit()
        records.append(record)
        found |= {
            (index, line, reason)
            for line, reason in db.session.execute(
                select(StaffImportRow.line, StaffImportRow.reason).where(
                    StaffImportRow.import_id == record.id, StaffImportRow.outcome == "error"
                )
            )
        }
    checked = time.perf_counter()
    assert found == expected
    assert sum(r.total_rows for r in records) == 10_000
    assert sum(r.create_count for r in records) == 9_950

    for record in records:
        assert imports.claim(record, world.hr_a)
        imports.apply(record, world.hr_a, lambda done, total: db.session.commit())
        db.session.commit()
    applied = time.perf_counter()
    created = db.session.scalar(select(func.count()).where(User.username.like("nv%")))
    assert created == 9_950
    with_email = db.session.scalar(
        select(func.count()).where(User.username.like("nv%"), User.email.is_not(None))
    )
    assert with_email == db.session.scalar(
        select(func.count()).select_from(OutboxMail).where(OutboxMail.kind == "welcome")
    )
    first = snapshot()

    for index, (kind, data) in enumerate(files):
        record, staff = imports.create_import(world.hr_a, f"phan-{index}.{kind}", data)
        imports.check(record, staff)
        assert record.to_do == 0
        assert record.error_count == len([e for e in expected if e[0] == index])
        assert imports.claim(record, world.hr_a)
        imports.apply(record, world.hr_a, lambda done, total: db.session.commit())
        db.session.commit()
    assert snapshot() == first
    print(f"\ndry runs {checked - started:.1f} s, apply {applied - checked:.1f} s")
