"""Time the staff import with 10,000 rows: reading, the dry run, applying, and again.

On a fresh database: a ministry with 20 departments of 5 units each and one hr user for
all of it; a file of 10,000 people (half with an email, 50 bad rows) read as CSV and as
XLSX; the dry run; applying it as the job does (a commit every 500 rows, welcome mails
in the outbox); the same file again (all unchanged); then a file in which every job title
changed and 1,000 people moved to another unit. Usage:

    .venv/bin/python bench/imports.py                       # SQLite file in a temp folder
    .venv/bin/python bench/imports.py postgresql+psycopg://postgres@127.0.0.1/elearn_bench

The database is emptied first. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from sqlalchemy import func, select  # noqa: E402

from bench.harness import analyze, bench_app  # noqa: E402
from elearn.accounts import imports  # noqa: E402
from elearn.accounts import services as accounts  # noqa: E402
from elearn.accounts.models import RoleAssignment, User  # noqa: E402
from elearn.extensions import db  # noqa: E402

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Minh", "Thu", "Đức", "Thanh", "Quang", "Ngọc", "Hữu"]
GIVEN = ["An", "Ánh", "Bình", "Châu", "Cường", "Dũng", "Hà", "Hải", "Hạnh", "Lượng", "Yến"]
HEADERS = [c.vi for c in imports.COLUMNS]


def build_tree() -> tuple[User, list[str]]:
    """Return the hr user and the unit codes people go to."""
    ministry = accounts.create_unit("BO", "Bộ Thử Nghiệm", "ministry", None, None)
    codes = []
    for d in range(20):
        dept = accounts.create_unit(f"BO.V{d}", f"Vụ {d}", "department", ministry, None)
        for u in range(5):
            unit = accounts.create_unit(f"BO.V{d}.P{u}", f"Phòng {d}.{u}", "unit", dept, None)
            codes.append(unit.code)
    hr = accounts.create_user("Lê Thị Hạnh", "nhansu", ministry)
    db.session.add(RoleAssignment(user_id=hr.id, role="hr", unit_id=ministry.id))
    db.session.commit()
    return hr, codes


def people(n: int, codes: list[str], title: str = "Chuyên viên", moved: int = 0) -> list[list]:
    """Return the header and ``n`` rows (every 200th is bad); the first ``moved`` move unit."""
    rng = random.Random(1)
    rows = [HEADERS]
    for i in range(n):
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        code = codes[(i + (1 if i < moved else 0)) % len(codes)]
        row = [name, f"nv{i:05d}", f"nv{i:05d}@bo.example.vn" if i % 2 else "", code, title, "", ""]
        if i % 200 == 7:
            row[3] = "KHONG.CO"
        rows.append(row)
    return rows


def as_csv(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def as_xlsx(rows: list[list]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def check_and_apply(hr: User, data: bytes, name: str) -> tuple[float, float, str]:
    """Return (dry-run seconds, apply seconds, the applied counts)."""

    def check():
        record, staff = imports.create_import(hr, name, data)
        imports.check(record, staff)
        db.session.commit()
        return record

    checking, record = timed(check)

    def apply():
        imports.claim(record, hr)
        imports.apply(record, hr, lambda done, total: db.session.commit())
        db.session.commit()

    applying, _none = timed(apply)
    analyze()
    return checking, applying, imports.summary(record)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?")
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    app = bench_app(args.url)
    with app.app_context():
        hr, codes = build_tree()
        rows = people(args.rows, codes)
        csv_data, xlsx_data = as_csv(rows), as_xlsx(rows)
        read_csv, staff = timed(lambda: imports.read_file(csv_data))
        read_xlsx, _staff = timed(lambda: imports.read_file(xlsx_data))
        assert len(staff.rows) == args.rows
        first = check_and_apply(hr, csv_data, "nhan-su.csv")
        again = check_and_apply(hr, csv_data, "nhan-su.csv")
        changed = as_csv(people(args.rows, codes, title="Chuyên viên chính", moved=1_000))
        third = check_and_apply(hr, changed, "nhan-su-moi.csv")
        users = db.session.scalar(select(func.count()).select_from(User))
        print(f"{db.engine.dialect.name}, {args.rows} rows ({users} accounts at the end)\n")
        print("| step | seconds | outcome |")
        print("| --- | ---: | --- |")
        print(f"| read CSV ({len(csv_data) // 1024} KiB) | {read_csv:.2f} | |")
        print(f"| read XLSX ({len(xlsx_data) // 1024} KiB) | {read_xlsx:.2f} | |")
        for label, (checking, applying, summary) in (
            ("new people", first),
            ("same file again", again),
            ("every title changed, 1,000 moved", third),
        ):
            print(f"| dry run: {label} | {checking:.2f} | |")
            print(f"| apply: {label} | {applying:.2f} | {summary} |")


if __name__ == "__main__":
    main()
