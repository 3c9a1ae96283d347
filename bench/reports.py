"""Benchmark the HR reports (issue 7): unit report and drill-down, people page, XLSX exports.

Generates, once per database, 100,000 staff in 2,000 units (20 ministries and provinces,
their departments, their units), 20 published courses and about 2,000,000 runs with their
cached progress (status, percent, grade, study time, dates), about 3 % of people
transferred and two merged units; ``--scale`` multiplies the counts. Later runs on the
same database reuse the data (``--fresh`` drops and rebuilds it). Then it times the report
services in-process for an admin and for hr scoped to the largest ministry (median and
max of ``--repeats`` runs after one warm-up), one page and its chart through the Flask test
client, and shows the query plan of the unit-report aggregate. ``--indexes none`` times
everything again without the report indexes, to show what they buy. Usage:

    .venv/bin/python bench/reports.py --scale 0.02        # small, SQLite file under /tmp
    .venv/bin/python bench/reports.py                     # 100,000 staff, 2,000,000 runs
    .venv/bin/python bench/reports.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1/elearn_bench_reports

Prints Markdown tables (milliseconds).
"""

from __future__ import annotations

import argparse
import contextvars
import io
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

import openpyxl.xml  # noqa: E402
from flask_babel import force_locale  # noqa: E402
from sqlalchemy import event, func, insert, select, text  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from elearn import create_app  # noqa: E402
from elearn.accounts.models import OrgUnit, RoleAssignment, User, UserTransfer  # noqa: E402
from elearn.core.clock import to_local, utcnow  # noqa: E402
from elearn.core.vietnamese import collation_key, fold, person_sort_key  # noqa: E402
from elearn.courses.models import Course, CourseSettings, Enrolment  # noqa: E402
from elearn.extensions import db  # noqa: E402
from elearn.reports import exports, queries, services  # noqa: E402
from elearn.reports.queries import Filters  # noqa: E402

STAFF, UNITS, TOPS, COURSES, RUNS = 100_000, 2_000, 20, 20, 2_000_000
BATCH = 10_000
PASSWORD = "bench-password"  # noqa: S105 - the two bench accounts, in a bench database
ADMIN, HR = "bench-admin", "bench-hr"
DAY = timedelta(days=1)
#: Vietnam has no daylight saving: local time is UTC+7 all year.
UTC_OFFSET = timedelta(hours=7)

MINISTRIES = [
    "Nội vụ",
    "Tư pháp",
    "Tài chính",
    "Y tế",
    "Giáo dục và Đào tạo",
    "Công Thương",
    "Xây dựng",
    "Nông nghiệp và Môi trường",
    "Khoa học và Công nghệ",
    "Văn hóa, Thể thao và Du lịch",
]
PROVINCES = [
    "Hà Nội",
    "Hải Phòng",
    "Đà Nẵng",
    "Huế",
    "Cần Thơ",
    "Nghệ An",
    "Thanh Hóa",
    "Đắk Lắk",
    "Lâm Đồng",
    "Quảng Ninh",
]
FIELDS = [
    "Tổ chức cán bộ",
    "Kế hoạch - Tài chính",
    "Pháp chế",
    "Hợp tác quốc tế",
    "Thi đua - Khen thưởng",
    "Thanh tra",
    "Chuyển đổi số",
    "Văn phòng",
    "Tư pháp",
    "Nội vụ",
    "Giáo dục",
    "Y tế",
    "Xây dựng",
]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Minh", "Thu", "Đức", "Thanh", "Quang", "Ngọc"]
GIVEN = ["An", "Anh", "Ánh", "Bình", "Châu", "Cường", "Dũng", "Đức", "Hà", "Hải", "Hạnh"]
GIVEN += ["Lan", "Long", "Nam", "Phương", "Quân", "Trang", "Tuấn", "Yến"]
COURSE_TITLES = [
    "Chính phủ điện tử",
    "Chuyển đổi số trong cơ quan nhà nước",
    "Cải cách hành chính",
    "An toàn thông tin cơ bản",
    "Dịch vụ công trực tuyến",
    "Kỹ năng soạn thảo văn bản",
    "Phòng, chống tham nhũng",
    "Văn hóa công vụ",
    "Quản lý hồ sơ điện tử",
    "Kỹ năng số cho cán bộ",
    "Dữ liệu mở",
    "Một cửa liên thông",
    "Lưu trữ điện tử",
    "Chữ ký số",
    "Quản trị dữ liệu",
    "Trí tuệ nhân tạo nhập môn",
    "Kỹ năng giao tiếp với người dân",
    "Quản lý dự án công nghệ thông tin",
    "Đánh giá cán bộ",
    "Ngoại ngữ trong công vụ",
]
#: Courses 1..MANDATORY are assigned to nearly everyone (with due dates).
MANDATORY = 8

#: Variations timed after the baseline (the schema as the app's migration makes it, with its
#: report indexes). "none" drops the report indexes, to see what they buy.
INDEX_SETS = {
    "none": [
        "DROP INDEX IF EXISTS ix_enrolments_unit_report",
        "DROP INDEX IF EXISTS ix_enrolments_completed_unit_report",
    ],
}


# --- the app and the database ------------------------------------------------------------------


def bench_app(url: str):
    """Return an app on ``url`` with the schema created (existing tables are kept)."""
    instance = Path(tempfile.mkdtemp(prefix="elearn-bench-reports-"))
    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_DIR": instance,
            # Report pages are GET requests, which start deferred (read-only) transactions.
            "SQLITE_BEGIN_OUTSIDE_REQUESTS": "BEGIN",
            "LOG_LEVEL": "WARNING",
            "WTF_CSRF_ENABLED": False,
        }
    )
    with app.app_context():
        db.create_all()
    return app


def analyze() -> None:
    """Refresh planner statistics (and PostgreSQL's visibility map) after a bulk load."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def _insert(model, rows: list[dict]) -> None:
    """Insert ``rows`` with Core executemany statements of ``BATCH`` rows."""
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(model.__table__), rows[start : start + BATCH])


# --- the generator -------------------------------------------------------------------------------


def _split(total: int, parts: int, rng: random.Random, at_least: int = 0) -> list[int]:
    """Return ``parts`` uneven counts summing to ``total`` (each at least ``at_least``)."""
    counts = [at_least] * parts
    weights = [rng.uniform(0.4, 1.6) for _ in range(parts)]
    for i in rng.choices(range(parts), weights, k=total - at_least * parts):
        counts[i] += 1
    return counts


def _unit_row(uid, code, name, kind, parent, created) -> dict:
    return {
        "id": uid,
        "code": code,
        "name": name,
        "kind": kind,
        "parent_id": parent["id"] if parent else None,
        "path": f"{parent['path'] if parent else '/'}{uid}/",
        "depth": parent["depth"] + 1 if parent else 0,
        "name_sort": collation_key(name),
        "active": True,
        "merged_into_id": None,
        "signer_name": "",
        "signer_title": "",
        "created_at": created,
    }


def _tree(rng: random.Random, scale: float, created: datetime):
    """Return (units, tops, departments, leaves) as row dicts, ids in depth-first order."""
    target = max(12, round(UNITS * scale))
    n_tops = max(3, min(TOPS, round(TOPS * min(scale, 1.0) ** 0.5)))
    n_depts = max(2 * n_tops, round((target - n_tops) * 0.09))
    n_leaves = target - n_tops - n_depts
    depts_per_top = _split(n_depts, n_tops, rng, at_least=1)
    leaves_per_dept = _split(n_leaves, n_depts, rng, at_least=1 if n_leaves >= n_depts else 0)
    units, tops, depts, leaves = [], [], [], []
    next_id, d = 1, 0
    for t in range(n_tops):
        province = t % 2 == 1
        names = PROVINCES if province else MINISTRIES
        name = f"{'UBND tỉnh' if province else 'Bộ'} {names[(t // 2) % len(names)]}"
        top = _unit_row(
            next_id, f"B{t + 1:02d}", name, "province" if province else "ministry", None, created
        )
        units.append(top)
        tops.append(top)
        next_id += 1
        for k in range(depts_per_top[t]):
            field = FIELDS[k % len(FIELDS)] + (
                f" {k // len(FIELDS) + 1}" if k >= len(FIELDS) else ""
            )
            dept = _unit_row(
                next_id,
                f"{top['code']}.V{k + 1:02d}",
                f"{'Sở' if province else 'Vụ'} {field}",
                "department",
                top,
                created,
            )
            units.append(dept)
            depts.append(dept)
            next_id += 1
            for j in range(leaves_per_dept[d]):
                leaf = _unit_row(
                    next_id, f"{dept['code']}.P{j + 1:02d}", f"Phòng {j + 1}", "unit", dept, created
                )
                units.append(leaf)
                leaves.append(leaf)
                next_id += 1
            d += 1
    return units, tops, depts, leaves


def _weighted(rng, units, top_weight, spread):
    return [top_weight[u["path"].split("/")[1]] * rng.lognormvariate(0, spread) for u in units]


def _courses(rng: random.Random, created: datetime):
    courses, settings, info = [], [], {}
    for c in range(1, COURSES + 1):
        title = COURSE_TITLES[(c - 1) % len(COURSE_TITLES)]
        if c > len(COURSE_TITLES):
            title += f" {c}"
        minutes = rng.choice([45, 60, 90, 120, 180, 240, 300, 480])
        graded = c % 2 == 0
        due_days = 30 if c > MANDATORY and c % 4 == 1 else None
        courses.append(
            {
                "id": c,
                "slug": f"khoa-{c}",
                "title": title,
                "summary": title,
                "topic": "chuyen-doi-so",
                "estimated_minutes": minutes,
                "status": "published",
                "search_text": " " + fold(title),
                "title_sort": collation_key(title),
                "created_at": created,
                "updated_at": created,
            }
        )
        settings.append(
            {
                "course_id": c,
                "audience_all": True,
                "self_enrol": True,
                "due_days": due_days,
                "require_captions": False,
                "min_grade": 0.5 if graded else None,
            }
        )
        info[c] = (minutes * 60, graded, due_days)
    return courses, settings, info


def _due(start: datetime, days: int) -> datetime:
    """Return the end (UTC) of the local day ``days`` after the local day of ``start``."""
    day = (start + UTC_OFFSET).date() + timedelta(days=days + 1)
    return datetime(day.year, day.month, day.day) - UTC_OFFSET


def generate(scale: float, seed: int) -> dict:
    """Insert the whole data set with bulk Core statements; return what was made."""
    rng = random.Random(seed)
    now = utcnow().replace(microsecond=0)
    created = now - timedelta(days=3 * 365)
    units, tops, depts, leaves = _tree(rng, scale, created)
    top_weight = {str(t["id"]): rng.lognormvariate(0, 0.6) for t in tops}

    # Two merges, done some months ago: a unit into its sibling, its people moved along.
    by_dept: dict[int, list[dict]] = {}
    for leaf in leaves:
        by_dept.setdefault(leaf["parent_id"], []).append(leaf)
    pairs = [ls for ls in by_dept.values() if len(ls) >= 2]
    merges = []  # (merged leaf, into leaf, merged at)
    for k, siblings in enumerate(rng.sample(pairs, min(2, len(pairs)))):
        source, target = rng.sample(siblings, 2)
        merges.append((source, target, now - timedelta(days=150 + 250 * k)))
    _insert(OrgUnit, units)
    for source, target, _at in merges:
        source["active"] = False
        db.session.execute(
            OrgUnit.__table__.update()
            .where(OrgUnit.id == source["id"])
            .values(active=False, merged_into_id=target["id"])
        )

    # People: most in units, some directly in departments and at the top.
    staff = max(50, round(STAFF * scale))
    n_tops_people = round(staff * 0.03)
    n_dept_people = round(staff * 0.12)
    homes = rng.choices(tops, _weighted(rng, tops, top_weight, 0.3), k=n_tops_people)
    homes += rng.choices(depts, _weighted(rng, depts, top_weight, 0.5), k=n_dept_people)
    homes += rng.choices(leaves, _weighted(rng, leaves, top_weight, 0.5), k=staff - len(homes))
    rng.shuffle(homes)
    names = [f"{f} {m} {g}" for f in FAMILY for m in MIDDLE for g in GIVEN]
    sort_keys = {n: person_sort_key(n) for n in names}
    merged_into = {s["id"]: (t["id"], at) for s, t, at in merges}
    active_leaves = [leaf for leaf in leaves if leaf["active"]]
    people, unit_of, moves, transfers = [], {}, {}, []
    for i, home in enumerate(homes, start=1):
        name = rng.choice(names)
        active = rng.random() > 0.02
        unit_id = home["id"]
        if unit_id in merged_into:
            into, at = merged_into[unit_id]
            moves[i] = (at, unit_id)
            transfers.append(
                {
                    "user_id": i,
                    "from_unit_id": unit_id,
                    "to_unit_id": into,
                    "at": at,
                    "by_id": None,
                    "reason": "merge",
                }
            )
            unit_id = into
        elif rng.random() < 0.03:
            source = rng.choice(active_leaves)
            if source["id"] != unit_id:
                at = now - timedelta(days=rng.uniform(1, 700))
                moves[i] = (at, source["id"])
                transfers.append(
                    {
                        "user_id": i,
                        "from_unit_id": source["id"],
                        "to_unit_id": unit_id,
                        "at": at,
                        "by_id": None,
                        "reason": "điều động",
                    }
                )
        unit_of[i] = unit_id
        people.append(
            {
                "id": i,
                "username": f"cb{i:06d}",
                "email": None,
                "full_name": name,
                "name_sort": sort_keys[name],
                "search_text": " " + fold(f"{name} cb{i:06d}"),
                "job_title": "Chuyên viên",
                "unit_id": unit_id,
                "password_hash": None,
                "active": active,
                "locale": None,
                "auth_nonce": "x",
                "created_at": created,
                "deactivated_at": None if active else now - timedelta(days=rng.uniform(1, 300)),
            }
        )
    _insert(User, people)
    _insert(UserTransfer, transfers)
    courses, settings, course_info = _courses(rng, created)
    _insert(Course, courses)
    _insert(CourseSettings, settings)
    db.session.commit()

    # Runs: each person takes most courses, some twice or three times (refreshers).
    target_runs = round(RUNS * scale)
    per_person = target_runs / staff / 1.25  # courses taken per person (1.25 runs each)
    take = [
        rng.uniform(0.75, 1.0) if c <= MANDATORY else rng.uniform(0.3, 1.0)
        for c in range(1, COURSES + 1)
    ]
    factor = per_person / sum(take)
    take = [min(1.0, p * factor) for p in take]
    batch, run_id, started, next_mark = [], 0, time.perf_counter(), target_runs / 10
    two_years = 730 * 86400
    for uid in range(1, staff + 1):
        unit_id = unit_of[uid]
        move = moves.get(uid)
        for c in range(1, COURSES + 1):
            if rng.random() >= take[c - 1]:
                continue
            est, graded, due_days = course_info[c]
            u = rng.random()
            count = 1 if u < 0.8 else 2 if u < 0.95 else 3
            starts = sorted(
                now - timedelta(seconds=rng.uniform(0, two_years)) for _ in range(count)
            )
            for n, start in enumerate(starts, start=1):
                last = n == count
                age = (now - start).days
                if not last or rng.random() < 0.15 + 0.55 * min(1.0, age / 365):
                    status = "completed"
                elif rng.random() < 0.35:
                    status = "not_started"
                else:
                    status = "in_progress"
                if c <= MANDATORY:
                    s = rng.random()
                    source = "assigned" if s < 0.85 else "class" if s < 0.95 else "self"
                else:
                    s = rng.random()
                    source = "self" if s < 0.8 else "assigned" if s < 0.95 else "class"
                due = None
                if source != "self":
                    due = _due(start, rng.choice((30, 60, 90)))
                elif due_days:
                    due = _due(start, due_days)
                completed_at = completed_unit = grade = None
                percent, spent = 0.0, 0
                if status == "completed":
                    limit = starts[n] if not last else now
                    completed_at = start + timedelta(days=rng.expovariate(1 / 15) + 0.02)
                    if completed_at >= limit:
                        completed_at = start + (limit - start) * rng.random()
                    completed_at = completed_at.replace(microsecond=0)
                    completed_unit = unit_id
                    if move and completed_at < move[0]:
                        completed_unit = move[1]
                    percent = 1.0
                    spent = int(est * rng.lognormvariate(0, 0.35))
                    if graded:
                        grade = round(rng.uniform(0.5, 1.0), 3)
                elif status == "in_progress":
                    percent = round(rng.uniform(0.05, 0.95), 3)
                    spent = int(est * percent * rng.lognormvariate(0, 0.35))
                    if graded and rng.random() < 0.7:
                        grade = round(rng.uniform(0.2, 1.0), 3)
                run_id += 1
                batch.append(
                    {
                        "id": run_id,
                        "user_id": uid,
                        "course_id": c,
                        "run": n,
                        "source": source,
                        "unit_id": unit_id,
                        "completed_unit_id": completed_unit,
                        "status": status,
                        "percent": percent,
                        "grade": grade,
                        "time_spent": spent,
                        "started_at": start.replace(microsecond=0),
                        "due_at": due,
                        "completed_at": completed_at,
                        "last_activity_id": None,
                    }
                )
        if len(batch) >= BATCH:
            _insert(Enrolment, batch)
            db.session.commit()
            batch = []
            if run_id >= next_mark:
                next_mark += target_runs / 10
                rate = run_id / (time.perf_counter() - started)
                print(f"  runs: {run_id:,} ({uid:,} of {staff:,} people, {rate:,.0f} rows/s)")
    if batch:
        _insert(Enrolment, batch)

    # The two bench accounts last: their presence marks a complete data set.
    password_hash = generate_password_hash(PASSWORD, "pbkdf2:sha256:1000")
    biggest = _biggest(tops, unit_of)
    for uid, username, role, unit in (
        (staff + 1, ADMIN, "admin", None),
        (staff + 2, HR, "hr", biggest),
    ):
        db.session.execute(
            insert(User),
            [
                {
                    "id": uid,
                    "username": username,
                    "full_name": username,
                    "name_sort": "",
                    "search_text": "",
                    "job_title": "",
                    "unit_id": biggest,
                    "password_hash": password_hash,
                    "active": True,
                    "auth_nonce": "x",
                    "created_at": created,
                }
            ],
        )
        db.session.add(RoleAssignment(user_id=uid, role=role, unit_id=unit))
    db.session.flush()
    if db.engine.dialect.name == "postgresql":
        for table in ("org_units", "users", "courses", "enrolments", "user_transfers"):
            db.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT max(id) FROM {table}))"
                )
            )
    db.session.commit()
    return {"units": len(units), "people": staff, "runs": run_id, "transfers": len(transfers)}


def _biggest(tops: list[dict], unit_of: dict[int, int]) -> int:
    """Return the id of the top unit with the most people (hr's scope: the worst case)."""
    top_of = {}
    for unit in db.session.execute(select(OrgUnit.id, OrgUnit.path)):
        top_of[unit.id] = int(unit.path.split("/")[1])
    counts: dict[int, int] = {}
    for unit_id in unit_of.values():
        counts[top_of[unit_id]] = counts.get(top_of[unit_id], 0) + 1
    return max(counts, key=counts.get)


def ensure_data(scale: float, seed: int, fresh: bool) -> None:
    """Generate the data set unless a complete one is there; print how long it took."""
    if fresh:
        db.drop_all()
        db.create_all()
    marker = db.session.scalar(select(User.id).where(User.username == HR))
    people = db.session.scalar(select(func.count()).select_from(User)) or 0
    if marker is not None:
        expected = max(50, round(STAFF * scale)) + 2
        if people != expected:
            sys.exit(f"the database holds {people - 2:,} staff, not {expected - 2:,}: use --fresh")
        runs = db.session.scalar(select(func.count()).select_from(Enrolment))
        print(f"reusing the data: {people - 2:,} people, {runs:,} runs")
        return
    if people:
        sys.exit("the database holds other or incomplete data: use --fresh to drop it")
    print(f"generating (scale {scale}) ...")
    started = time.perf_counter()
    made = generate(scale, seed)
    loaded = time.perf_counter() - started
    analyze()
    total = time.perf_counter() - started
    print(
        f"generated {made['units']:,} units, {made['people']:,} people, {made['runs']:,} runs, "
        f"{made['transfers']:,} transfers in {loaded:.0f} s, analyzed in {total - loaded:.0f} s"
    )


# --- timing --------------------------------------------------------------------------------------


#: A case whose warm-up takes longer than this many seconds is timed once more, not
#: ``--repeats`` times (a plan that scans millions of rows per unit would take hours).
SLOW = 20.0


def measure(fn, repeats: int):
    """Return (median ms, max ms, last result) of ``fn`` after one warm-up; each rolled back."""
    start = time.perf_counter()
    result = fn()
    db.session.rollback()
    if time.perf_counter() - start > SLOW:
        repeats = 1
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - start) * 1000)
        db.session.rollback()
    return statistics.median(samples), max(samples), result


def _detached(obj):
    db.session.expunge(obj)
    return obj


def targets():
    """Return (admin, hr, ministry, department, leaf): hr's ministry and its largest parts."""
    admin = db.session.scalar(select(User).where(User.username == ADMIN))
    hr = db.session.scalar(select(User).where(User.username == HR))
    # Load their roles before they are detached.
    assert admin.is_admin
    assert hr.is_hr
    ministry = db.session.scalar(
        select(OrgUnit)
        .join(RoleAssignment, RoleAssignment.unit_id == OrgUnit.id)
        .where(RoleAssignment.user_id == hr.id)
    )
    people = dict(
        db.session.execute(
            select(OrgUnit.path, func.count(User.id))
            .join(User, User.unit_id == OrgUnit.id)
            .group_by(OrgUnit.path)
        ).all()
    )

    def largest_child(parent):
        children = db.session.scalars(
            select(OrgUnit).where(OrgUnit.parent_id == parent.id, OrgUnit.active.is_(True))
        )
        return max(
            children, key=lambda u: sum(n for p, n in people.items() if p.startswith(u.path))
        )

    department = largest_child(ministry)
    leaf = largest_child(department)
    return tuple(_detached(x) for x in (admin, hr, ministry, department, leaf))


def last_half(today: date) -> tuple[date, date]:
    """Return the latest whole half-year before ``today`` (the report's H1/H2 periods)."""
    if today.month >= 7:
        return date(today.year, 1, 1), date(today.year, 6, 30)
    return date(today.year - 1, 7, 1), date(today.year - 1, 12, 31)


def _export(owner, scope, view, within):
    record = exports.request_export(
        owner, scope, view=view, fmt="xlsx", filters=Filters(), within=within
    )
    with force_locale("vi"):
        headers, rows = exports.table(record, scope)
        return exports.write("xlsx", headers, rows, io.BytesIO())


def _rows_only(owner, scope, within) -> int:
    """Read and format a runs export's rows without writing a file (the database's share)."""
    record = exports.request_export(
        owner, scope, view="runs", fmt="xlsx", filters=Filters(), within=within
    )
    with force_locale("vi"):
        _headers, rows = exports.table(record, scope)
        return sum(1 for _row in rows)


def cases(ministry, department, leaf, today: date):
    """Return [(label, fn(viewer, scope) -> size)]: what a page or an export computes."""
    start, end = last_half(today)
    variants = (
        ("", Filters()),
        (", completion mode", Filters(mode="completion")),
        (f", {start:%m/%Y}-{end:%m/%Y}", Filters(date_from=start, date_to=end)),
    )
    levels = (
        ("top (all my units)", None),
        (f"ministry {ministry.code} (drill-down)", ministry),
        (f"department {department.code}", department),
        (f"unit {leaf.code}", leaf),
    )
    result = []
    for suffix, filters in variants:
        for name, within in levels:
            result.append(
                (
                    f"unit report, {name}{suffix}",
                    lambda _v, s, w=within, f=filters: services.unit_report(s, w, f).total.enrolled,
                )
            )
    result += [
        (
            "course report, all my units",
            lambda _v, s: services.course_report(s, None, Filters()).total.enrolled,
        ),
        (
            f"course report, department {department.code}",
            lambda _v, s: services.course_report(s, department, Filters()).total.enrolled,
        ),
        (
            f"people page 1 (50, hours in {today.year}), department {department.code}",
            lambda _v, s: services.people_page(s, department, Filters(), today.year)[1],
        ),
        (
            f"XLSX export, runs, department {department.code}",
            lambda v, s: _export(v, s, "runs", department),
        ),
        (
            f"runs export rows without the file (query, cell values), {department.code}",
            lambda v, s: _rows_only(v, s, department),
        ),
        ("XLSX export, unit view, top", lambda v, s: _export(v, s, "units", None)),
    ]
    return result


def time_cases(viewers, case_list, repeats: int) -> dict:
    """Return {label: {viewer name: (median, max, size)}}."""
    results: dict[str, dict] = {}
    for label, fn in case_list:
        for name, user in viewers:
            scope = queries.scope_of(user)
            results.setdefault(label, {})[name] = measure(
                lambda f=fn, u=user, s=scope: f(u, s), repeats
            )
        print(
            f"  {label}: " + ", ".join(f"{n} {r[0]:.0f} ms" for n, r in results[label].items()),
            flush=True,
        )
    return results


def time_http(app, viewers, department, repeats: int) -> dict:
    """Time GET /reports/units (and its chart) through the test client, signed in."""
    results: dict[str, dict] = {}
    db.session.commit()
    for name, user in viewers:
        client = app.test_client()

        def call(method, url, client=client, **kw):
            # A fresh context: the request gets its own app context and database session.
            return contextvars.Context().run(getattr(client, method), url, **kw)

        response = call("post", "/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 302, response.status_code
        pages = [("GET /reports/units (top)", "/reports/units")]
        pages.append(
            (
                f"GET /reports/units?unit= department {department.code}",
                f"/reports/units?unit={department.id}",
            )
        )
        pages.append(
            (
                f"GET /reports/units/chart.svg?unit= department {department.code}",
                f"/reports/units/chart.svg?unit={department.id}",
            )
        )
        for label, url in pages:

            def get(url=url):
                response = call("get", url)
                assert response.status_code == 200, response.status_code
                return len(response.data)

            results.setdefault(label, {})[name] = measure(get, repeats)
    for label, by_viewer in results.items():
        print(f"  {label}: " + ", ".join(f"{n} {r[0]:.0f} ms" for n, r in by_viewer.items()))
    return results


# --- plans and indexes ---------------------------------------------------------------------------


def captured_sql(marker: str, fn, *args):
    """Return (statement, parameters) of the first query on runs holding ``marker``."""
    seen = []

    def hook(_conn, _cursor, statement, parameters, _context, _many):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", hook)
    try:
        fn(*args)
    finally:
        event.remove(db.engine, "before_cursor_execute", hook)
        db.session.rollback()
    return next((s, p) for s, p in seen if marker in s and "FROM enrolments" in s)


def explain(statement: str, parameters) -> list[str]:
    """Return the plan of a statement: EXPLAIN QUERY PLAN, or EXPLAIN ANALYZE on PostgreSQL."""
    conn = db.session.connection()
    if db.engine.dialect.name == "postgresql":
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        lines = [r[0] for r in rows]
    else:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        depth = {0: 0}
        lines = []
        for node, parent, _unused, detail in rows:
            depth[node] = depth.get(parent, 0) + 1
            lines.append("  " * (depth[node] - 1) + detail)
    db.session.rollback()
    return lines


def show_plans(viewers, ministry, department, *, sql: bool = False) -> None:
    """Print the plans of the unit and course aggregates and of the runs export query."""
    admin, hr = viewers[0][1], viewers[1][1]
    admin_scope, hr_scope = queries.scope_of(admin), queries.scope_of(hr)
    code = department.code
    unit_report, course_report = services.unit_report, services.course_report
    plans = [
        ("unit report, admin, top", "GROUP BY", unit_report, admin_scope, None, Filters()),
        (
            "unit report, hr, top (their ministry)",
            "GROUP BY",
            unit_report,
            hr_scope,
            None,
            Filters(),
        ),
        (
            f"unit report, hr, department {code}",
            "GROUP BY",
            unit_report,
            hr_scope,
            department,
            Filters(),
        ),
        (
            f"unit report, hr, department {code}, completion mode",
            "GROUP BY",
            unit_report,
            hr_scope,
            department,
            Filters(mode="completion"),
        ),
        (
            f"course report, hr, department {code}",
            "GROUP BY",
            course_report,
            hr_scope,
            department,
            Filters(),
        ),
        (
            f"runs export, hr, department {code}",
            "ORDER BY",
            _first_run,
            hr_scope,
            department,
            Filters(),
        ),
    ]
    for label, marker, fn, *args in plans:
        statement, parameters = captured_sql(marker, fn, *args)
        print(f"\nplan: {label}\n```")
        print("\n".join(explain(statement, parameters)))
        print("```")
        if sql and fn is unit_report and args[1] is department and args[2].mode == "current":
            print(f"SQL:\n```sql\n{statement}\n```\n{parameters}")


def _first_run(scope, within, filters):
    return db.session.execute(queries.runs_query(scope, filters, within=within)).first()


def reset_indexes() -> None:
    """Give ``enrolments`` the indexes the app's models define.

    An older bench database gets those added since it was generated; a variation that
    dropped them gets them back.
    """
    for index in Enrolment.__table__.indexes:
        index.create(db.engine, checkfirst=True)
    db.session.commit()


def create_indexes(names: list[str]) -> float:
    """Apply the variations ``names`` and analyze; return the seconds it took."""
    started = time.perf_counter()
    for name in names:
        for statement in INDEX_SETS[name]:
            db.session.execute(text(statement))
    db.session.commit()
    analyze()
    return time.perf_counter() - started


def index_sizes() -> str:
    """Describe the sizes of the enrolments table and its indexes (PostgreSQL only)."""
    if db.engine.dialect.name != "postgresql":
        return ""
    rows = db.session.execute(
        text(
            "SELECT c.relname, pg_size_pretty(pg_relation_size(c.oid)) FROM pg_class c "
            "WHERE c.relname = 'enrolments' OR c.oid IN "
            "(SELECT indexrelid FROM pg_index WHERE indrelid = 'enrolments'::regclass) "
            "ORDER BY pg_relation_size(c.oid) DESC"
        )
    ).all()
    db.session.rollback()
    return ", ".join(f"{name} {size}" for name, size in rows)


# --- output --------------------------------------------------------------------------------------


def print_table(title: str, results: dict, viewers=("admin", "hr")) -> None:
    print(f"\n{title}\n")
    head = " | ".join(f"{v} median | {v} max" for v in viewers)
    print(f"| operation | rows / runs / bytes | {head} |")
    print("| --- | ---: |" + " ---: | ---: |" * len(viewers))
    for label, by_viewer in results.items():
        sizes = "/".join(f"{by_viewer[v][2]:,}" for v in viewers if v in by_viewer)
        if "export" in label and "unit view" not in label:
            rates = (by_viewer[v][2] / by_viewer[v][0] * 1000 for v in viewers if v in by_viewer)
            sizes += " (" + "/".join(f"{r:,.0f}" for r in rates) + " rows/s)"
        cells = " | ".join(
            f"{by_viewer[v][0]:,.0f} | {by_viewer[v][1]:,.0f}" if v in by_viewer else "– | –"
            for v in viewers
        )
        print(f"| {label} | {sizes} | {cells} |")


def print_comparison(configs: dict, viewer: str) -> None:
    names = list(configs)
    print(f"\nmedian ms by index set ({viewer})\n")
    print("| operation | " + " | ".join(names) + " |")
    print("| --- |" + " ---: |" * len(names))
    for label in configs[names[0]]:
        cells = [configs[n].get(label, {}).get(viewer) for n in names]
        print(f"| {label} | " + " | ".join(f"{c[0]:,.0f}" if c else "–" for c in cells) + " |")


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    xml = "lxml" if openpyxl.xml.LXML else "et_xmlfile (no lxml)"
    return f"{os.cpu_count()} cores ({model}), load average {load}; openpyxl writes with {xml}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: sqlite:////tmp/elearn-bench-reports-<scale>.db",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100,000 staff")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs after one warm-up")
    parser.add_argument("--fresh", action="store_true", help="drop the tables and regenerate")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument(
        "--plans-only", action="store_true", help="show the query plans with each index set"
    )
    parser.add_argument(
        "--indexes",
        default="",
        help="variations to time after the baseline, comma-separated "
        f"({', '.join(INDEX_SETS)}: without the report indexes); default none",
    )
    args = parser.parse_args()
    url = args.database_url or f"sqlite:////tmp/elearn-bench-reports-{args.scale:g}.db"
    app = bench_app(url)
    with app.app_context():
        print(f"database: {db.engine.dialect.name} ({db.engine.url.render_as_string()})")
        ensure_data(args.scale, args.seed, args.fresh)
        if args.generate_only:
            return
        reset_indexes()
        analyze()
        admin, hr, ministry, department, leaf = targets()
        viewers = [("admin", admin), ("hr", hr)]
        today = to_local(utcnow()).date()
        case_list = cases(ministry, department, leaf, today)
        index_keys = [n for n in args.indexes.split(",") if n]
        if args.plans_only:
            show_plans(viewers, ministry, department, sql=True)
            for key in index_keys:
                reset_indexes()
                print(f"\nwith index set {key} (created in {create_indexes(key.split('+')):.1f} s)")
                show_plans(viewers, ministry, department)
            reset_indexes()
            return
        print(f"machine: {machine()}")
        print("\nbaseline (the schema as the models make it)")
        configs = {"baseline": time_cases(viewers, case_list, args.repeats)}
        http = time_http(app, viewers, department, args.repeats)
        show_plans(viewers, ministry, department, sql=True)
        sizes = {"baseline": index_sizes()}
        for key in index_keys:
            reset_indexes()
            seconds = create_indexes(key.split("+"))
            print(f"\nwith index set {key} (created in {seconds:.1f} s)")
            # The XLSX writing does not touch the database: time the file once, at baseline.
            no_files = [(label, fn) for label, fn in case_list if not label.startswith("XLSX")]
            configs[key] = time_cases(viewers, no_files, args.repeats)
            configs[key].update(time_http(app, viewers, department, args.repeats))
            sizes[key] = index_sizes()
            show_plans(viewers, ministry, department)
        reset_indexes()
        print(f"\nmachine after timing: {machine()}")
        configs["baseline"].update(http)
        print_table("## baseline", configs["baseline"])
        for key in list(configs)[1:]:
            print_table(f"## with {key}", configs[key])
        for viewer in ("admin", "hr"):
            print_comparison(configs, viewer)
        for key, described in sizes.items():
            if described:
                print(f"\nsizes ({key}): {described}")


if __name__ == "__main__":
    main()
