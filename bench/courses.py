"""Benchmark the catalogue, course outline and the progress service at a ministry's scale.

300 published courses × 5 modules × 4 pages (6,000 pages), 5,000 learners with 4 runs
each (20,000 runs) and 100,000 activity-progress rows. Usage:

    .venv/bin/python bench/courses.py                       # SQLite file in a temp folder
    .venv/bin/python bench/courses.py postgresql+psycopg://postgres@127.0.0.1/elearn_bench
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from sqlalchemy import insert, select  # noqa: E402

from bench.harness import analyze, bench_app, timed  # noqa: E402
from elearn.accounts.models import OrgUnit, User  # noqa: E402
from elearn.core.clock import utcnow  # noqa: E402
from elearn.core.vietnamese import collation_key, fold  # noqa: E402
from elearn.courses import services  # noqa: E402
from elearn.courses.models import (  # noqa: E402
    Activity,
    Course,
    CourseSettings,
    Enrolment,
    Module,
    PageContent,
)
from elearn.extensions import db  # noqa: E402
from elearn.progress import services as progress  # noqa: E402
from elearn.progress.models import ActivityProgress  # noqa: E402

COURSES, MODULES, PAGES, LEARNERS, RUNS_EACH = 300, 5, 4, 5_000, 4
WORDS = [
    "chính phủ",
    "điện tử",
    "chuyển đổi số",
    "dịch vụ công",
    "cải cách",
    "hành chính",
    "dữ liệu",
    "an toàn thông tin",
    "một cửa",
    "văn bản",
    "hồ sơ",
    "kỹ năng số",
]


def build() -> None:
    rng = random.Random(3)
    db.session.execute(
        insert(OrgUnit),
        [
            {
                "id": 1,
                "code": "B",
                "name": "Bộ",
                "kind": "ministry",
                "path": "/1/",
                "depth": 0,
                "name_sort": "",
                "active": True,
            }
        ],
    )
    courses, settings, modules, activities, pages = [], [], [], [], []
    aid = mid = 0
    for c in range(1, COURSES + 1):
        title = f"Khóa {c}: " + " ".join(rng.sample(WORDS, 3))
        courses.append(
            {
                "id": c,
                "slug": f"k{c}",
                "title": title,
                "summary": title,
                "topic": "chuyen-doi-so",
                "status": "published",
                "search_text": " " + fold(title),
                "title_sort": collation_key(title),
            }
        )
        settings.append({"course_id": c, "audience_all": True, "self_enrol": True})
        for m in range(MODULES):
            mid += 1
            modules.append(
                {
                    "id": mid,
                    "course_id": c,
                    "key": f"m{m}",
                    "title": f"Phần {m}",
                    "position": m,
                    "archived": False,
                }
            )
            for p in range(PAGES):
                aid += 1
                activities.append(
                    {
                        "id": aid,
                        "course_id": c,
                        "module_id": mid,
                        "key": f"p{aid}",
                        "type": "page",
                        "title": f"Bài {p}",
                        "position": p,
                        "required": True,
                        "completion": "view",
                        "archived": False,
                    }
                )
                pages.append(
                    {"activity_id": aid, "markdown": "x", "html": "<p>x</p>", "rendered_with": 1}
                )
    for model, rows in (
        (Course, courses),
        (CourseSettings, settings),
        (Module, modules),
        (Activity, activities),
        (PageContent, pages),
    ):
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(model), rows[start : start + 5000])
    users = [
        {
            "id": u,
            "username": f"u{u}",
            "full_name": f"Người {u}",
            "name_sort": "",
            "search_text": "",
            "job_title": "",
            "unit_id": 1,
            "active": True,
            "auth_nonce": "x",
        }
        for u in range(1, LEARNERS + 1)
    ]
    db.session.execute(insert(User), users)
    runs, progress_rows, rid = [], [], 0
    now = utcnow()
    for u in range(1, LEARNERS + 1):
        for c in rng.sample(range(1, COURSES + 1), RUNS_EACH):
            rid += 1
            runs.append(
                {
                    "id": rid,
                    "user_id": u,
                    "course_id": c,
                    "run": 1,
                    "source": "self",
                    "status": "in_progress",
                    "percent": 0.25,
                    "time_spent": 0,
                    "started_at": now,
                }
            )
            first = (c - 1) * MODULES * PAGES + 1
            for a in range(first, first + 5):
                progress_rows.append(
                    {
                        "enrolment_id": rid,
                        "activity_id": a,
                        "status": "completed",
                        "percent": 1.0,
                        "first_seen_at": now,
                        "last_seen_at": now,
                        "completed_at": now,
                        "time_spent": 60,
                    }
                )
    for model, rows in ((Enrolment, runs), (ActivityProgress, progress_rows)):
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(model), rows[start : start + 5000])
    db.session.commit()


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else None
    app = bench_app(url)
    with app.app_context():
        started = time.perf_counter()
        build()
        analyze()
        build_s = time.perf_counter() - started
        learner = db.session.get(User, 1)
        course = db.session.get(Course, 150)
        run = db.session.scalar(select(Enrolment).where(Enrolment.user_id == 1))
        run_course = db.session.get(Course, run.course_id)
        activities = services.sequence(run_course)
        step = iter(range(10_000))
        rows = [
            (
                "catalogue, first page (20) of 300 courses",
                timed(lambda: db.session.scalars(services.catalogue(learner).limit(20)).all()),
            ),
            (
                "catalogue search 'chuyen doi so du lieu' (diacritics folded)",
                timed(
                    lambda: db.session.scalars(
                        services.catalogue(learner, "chuyen doi so du lieu").limit(20)
                    ).all()
                ),
            ),
            ("course outline (5 modules, 20 pages)", timed(lambda: services.outline(course))),
            ("home: a learner's current runs", timed(lambda: services.current_runs(learner))),
            (
                "progress.record 'viewed' + run cache refresh, committed",
                timed(
                    lambda: progress.record(run, activities[6 + next(step) % 14], "viewed"),
                    commit=True,
                ),
            ),
        ]
    print(
        f"database: {'PostgreSQL' if url else 'SQLite (file, WAL)'}; {COURSES} courses, "
        f"{COURSES * MODULES * PAGES:,} pages, {LEARNERS * RUNS_EACH:,} runs, "
        f"{LEARNERS * RUNS_EACH * 5:,} progress rows; built in {build_s:.1f} s\n"
    )
    print("| operation | median ms |\n| --- | ---: |")
    for label, ms in rows:
        print(f"| {label} | {ms:.1f} |")


if __name__ == "__main__":
    main()
