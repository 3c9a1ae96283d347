"""Time what a completion costs: the completing write (events + certificate), the PDF, the check.

In-process, on a fresh SQLite file (or the database URL given): one course of 10 pages,
N learners each reading every page (the tenth view completes the run: chain events,
run cache, certificate), then PDF renders and ``/verify/<code>`` requests through the
test client, and ``flask progress verify``'s chain walk over everything. Usage:

    .venv/bin/python bench/certificates.py [--learners 200] [DATABASE_URL]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from elearn import create_app
from elearn.accounts import services as accounts
from elearn.accounts.models import RoleAssignment
from elearn.config import TestingConfig
from elearn.courses import services as courses
from elearn.extensions import db
from elearn.progress import certificates, record
from elearn.progress import services as progress
from elearn.progress.models import Certificate


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"p50 {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?")
    parser.add_argument("--learners", type=int, default=200)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    config = {k: getattr(TestingConfig, k) for k in dir(TestingConfig) if k.isupper()}
    config.update(
        SQLALCHEMY_DATABASE_URI=args.url or f"sqlite:///{folder / 'bench.db'}",
        INSTANCE_DIR=folder,
        MEDIA_DIR=folder / "media",
        VERIFY_LIMIT="1000000 per minute",
    )
    app = create_app(config)
    with app.app_context():
        db.drop_all()
        db.create_all()
        unit = accounts.create_unit("BO", "Bộ Nội vụ", "ministry", None, None)
        teacher = accounts.create_user("Giảng Viên", "giangvien", unit, password=None)
        db.session.add(RoleAssignment(user_id=teacher.id, role="instructor", unit_id=unit.id))
        course = courses.create_course(teacher, slug="c", title="Cải cách hành chính")
        module = courses.add_module(course, "Phần 1")
        for n in range(10):
            courses.add_page(module, f"Bài {n}", "Nội dung.")
        courses.set_status(course, teacher, True)
        people = [
            accounts.create_user(f"Nguyễn Văn Học {n}", f"hocvien{n}", unit, password=None)
            for n in range(args.learners)
        ]
        db.session.commit()
        steps, completing = [], []
        for person in people:
            run = courses.enrol(person, course)
            db.session.commit()
            for activity in courses.sequence(course):
                start = time.perf_counter()
                progress.record(run, activity, "viewed")
                db.session.commit()
                took = time.perf_counter() - start
                (completing if run.status == "completed" else steps).append(took)
        codes = [c.code for c in db.session.scalars(db.select(Certificate))]
        renders = []
        for certificate in db.session.scalars(db.select(Certificate).limit(30)):
            start = time.perf_counter()
            certificates.pdf(certificate)
            renders.append(time.perf_counter() - start)
        client = app.test_client()
        checks = []
        for code in codes:
            start = time.perf_counter()
            assert client.get(f"/verify/{code}").status_code == 200
            checks.append(time.perf_counter() - start)
        start = time.perf_counter()
        checked, breaks = record.verify()
        walk = time.perf_counter() - start
        assert not breaks
        start = time.perf_counter()
        assert record.rebuild() == []
        rebuild = time.perf_counter() - start
    print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('://')[0]}")
    print(f"lesson view (commit included): {_ms(steps)}")
    print(f"completing view (events, run, certificate): {_ms(completing)}")
    print(f"certificate PDF: {_ms(renders)}")
    print(f"/verify/<code>: {_ms(checks)}")
    print(f"chain walk: {checked} events in {walk:.2f} s")
    print(f"rebuild: {len(codes)} runs in {rebuild:.2f} s")


if __name__ == "__main__":
    main()
