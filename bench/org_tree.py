"""Benchmark the org tree and people queries at the size of a large ministry or province.

Builds ~6,100 units and 100,000 people, then times the queries HR pages run. Usage:

    .venv/bin/python bench/org_tree.py                       # SQLite file in a temp folder
    .venv/bin/python bench/org_tree.py postgresql+psycopg://postgres@127.0.0.1/elearn_bench

The PostgreSQL database is emptied first. Prints a Markdown table (median of the runs).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from sqlalchemy import func, insert, select  # noqa: E402
from werkzeug.security import check_password_hash, generate_password_hash  # noqa: E402

from bench.harness import analyze, bench_app, timed  # noqa: E402
from elearn.accounts import services  # noqa: E402
from elearn.accounts.models import OrgUnit, RoleAssignment, User  # noqa: E402
from elearn.core.vietnamese import fold, person_sort_key  # noqa: E402
from elearn.extensions import db  # noqa: E402

TOPS, DEPARTMENTS, UNITS, PEOPLE = 100, 10, 5, 100_000
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Minh", "Thu", "Đức", "Thanh", "Quang", "Ngọc"]
GIVEN = [
    "An",
    "Anh",
    "Ánh",
    "Bình",
    "Châu",
    "Cường",
    "Dũng",
    "Đức",
    "Hà",
    "Hải",
    "Hạnh",
    "Lan",
    "Long",
    "Nam",
    "Phương",
    "Quân",
    "Trang",
    "Tuấn",
    "Yến",
]


def build() -> None:
    """Insert the tree and the people with bulk statements (paths computed here)."""
    rng = random.Random(1)
    units, next_id = [], 1
    leaf_ids = []
    for t in range(TOPS):
        top = next_id
        units.append(
            {
                "id": top,
                "code": f"T{t}",
                "name": f"Bộ {t}",
                "kind": "ministry",
                "parent_id": None,
                "path": f"/{top}/",
                "depth": 0,
                "name_sort": "",
                "active": True,
            }
        )
        next_id += 1
        for d in range(DEPARTMENTS):
            dept = next_id
            units.append(
                {
                    "id": dept,
                    "code": f"T{t}.D{d}",
                    "name": f"Vụ {d}",
                    "kind": "department",
                    "parent_id": top,
                    "path": f"/{top}/{dept}/",
                    "depth": 1,
                    "name_sort": "",
                    "active": True,
                }
            )
            next_id += 1
            for u in range(UNITS):
                unit = next_id
                units.append(
                    {
                        "id": unit,
                        "code": f"T{t}.D{d}.U{u}",
                        "name": f"Phòng {u}",
                        "kind": "unit",
                        "parent_id": dept,
                        "path": f"/{top}/{dept}/{unit}/",
                        "depth": 2,
                        "name_sort": "",
                        "active": True,
                    }
                )
                leaf_ids.append(unit)
                next_id += 1
    db.session.execute(insert(OrgUnit), units)
    people = []
    for i in range(PEOPLE):
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        people.append(
            {
                "username": f"u{i}",
                "email": None,
                "full_name": name,
                "name_sort": person_sort_key(name),
                "search_text": " " + fold(f"{name} u{i}"),
                "job_title": "",
                "unit_id": rng.choice(leaf_ids),
                "active": True,
                "auth_nonce": "x",
                "password_hash": None,
            }
        )
    for start in range(0, PEOPLE, 5000):
        db.session.execute(insert(User), people[start : start + 5000])
    hr = db.session.scalar(select(User).where(User.username == "u0"))
    db.session.add(RoleAssignment(user_id=hr.id, role="hr", unit_id=1))
    admin = db.session.scalar(select(User).where(User.username == "u1"))
    db.session.add(RoleAssignment(user_id=admin.id, role="admin", unit_id=None))
    db.session.commit()


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else None
    app = bench_app(url)
    with app.app_context():
        started = time.perf_counter()
        build()
        analyze()
        build_s = time.perf_counter() - started
        hr = db.session.scalar(select(User).where(User.username == "u0"))
        admin = db.session.scalar(select(User).where(User.username == "u1"))
        top = db.session.get(OrgUnit, 1)
        dept = db.session.get(OrgUnit, 2)
        in_scope = db.session.scalar(
            select(func.count()).select_from(services.people_in_scope(hr).subquery())
        )
        rows = [
            (
                f"count people in one ministry's subtree ({in_scope:,} of {PEOPLE:,})",
                timed(
                    lambda: db.session.scalar(
                        select(func.count()).select_from(services.people_in_scope(hr).subquery())
                    )
                ),
            ),
            (
                "first page (50) of that list in Vietnamese name order",
                timed(lambda: db.session.scalars(services.people_in_scope(hr).limit(50)).all()),
            ),
            (
                "same list, search 'nguyen van anh' (diacritics folded)",
                timed(
                    lambda: db.session.scalars(
                        services.people_in_scope(hr, "nguyen van anh").limit(50)
                    ).all()
                ),
            ),
            (
                "admin: first page (50) of all 100,000 people, name order",
                timed(lambda: db.session.scalars(services.people_in_scope(admin).limit(50)).all()),
            ),
            (
                "units in one ministry's subtree (61)",
                timed(lambda: db.session.scalars(services.subtree_query(top)).all()),
            ),
            (
                "move a department (6 units) to another ministry, rolled back",
                timed(lambda: services.move_unit(dept, db.session.get(OrgUnit, 62), hr), runs=10),
            ),
            (
                "move a ministry (61 units) under another, rolled back",
                timed(lambda: services.move_unit(top, db.session.get(OrgUnit, 62), hr), runs=10),
            ),
        ]
    password_hash = generate_password_hash("a-long-password-here")
    rows.append(
        ("check one password (scrypt, the default)", statistics.median(_hash_times(password_hash)))
    )
    print(
        f"database: {'PostgreSQL' if url else 'SQLite (file, WAL)'}; "
        f"{TOPS * (1 + DEPARTMENTS * (1 + UNITS)):,} units, {PEOPLE:,} people; "
        f"built in {build_s:.1f} s\n"
    )
    print("| operation | median ms |\n| --- | ---: |")
    for label, ms in rows:
        print(f"| {label} | {ms:.1f} |")


def _hash_times(password_hash: str) -> list[float]:
    samples = []
    for _ in range(10):
        start = time.perf_counter()
        check_password_hash(password_hash, "a-long-password-here")
        samples.append((time.perf_counter() - start) * 1000)
    return samples


if __name__ == "__main__":
    main()
