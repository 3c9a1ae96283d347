"""Demo progress for ``make run``: something to continue, something overdue, a certificate.

Run by ``flask progress load-demo`` after the demo accounts and starter courses are
loaded (``ELEARN_DEMO=1``). Idempotent: a learner who already has a run of a course is
left alone. Everything goes through the progress service, so the record and its hash
chain are real; the completed course is an admin's override, with its reason.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from elearn.accounts.models import OrgUnit, User
from elearn.core.clock import due_at, to_local, utcnow
from elearn.courses import services as courses
from elearn.courses.models import Course
from elearn.extensions import db
from elearn.progress import services as progress

ISSUER = ("BLDTBXH.TRUONG", "Trần Minh Đức", "Hiệu trưởng")


def _course(slug: str) -> Course | None:
    return db.session.scalar(select(Course).where(Course.slug == slug))


def _user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def load() -> str:
    """Load the demo progress; return what was done."""
    done = []
    school = db.session.scalar(select(OrgUnit).where(OrgUnit.code == ISSUER[0]))
    admin, learner = _user("quantri"), _user("hocvien")
    starters = [_course(s) for s in ("chinh-phu-dien-tu", "chuyen-doi-so", "cai-cach-hanh-chinh")]
    if school is None or admin is None or learner is None or None in starters:
        return "demo accounts or starter courses missing: load them first"
    if not school.signer_name:
        school.signer_name, school.signer_title = ISSUER[1], ISSUER[2]
        done.append("signer")
    for course in starters:
        if course.settings.issuer_unit_id is None:
            course.settings.issuer_unit_id = school.id
    reading, overdue, completed = starters
    today = to_local(utcnow()).date()
    if courses.current_run(learner, reading) is None:
        run = courses.enrol(learner, reading)
        run.due_at = due_at(today + timedelta(days=10))
        for activity in courses.sequence(reading)[:2]:
            progress.record(run, activity, "viewed")
        done.append(f"{learner.username} reading {reading.slug}")
    if courses.current_run(learner, overdue) is None:
        run = courses.enrol(learner, overdue, source="assigned")
        run.due_at = due_at(today - timedelta(days=3))
        done.append(f"{learner.username} overdue in {overdue.slug}")
    if courses.current_run(learner, completed) is None:
        run = courses.enrol(learner, completed, source="assigned")
        progress.record(run, courses.sequence(completed)[0], "viewed")
        progress.override_run(
            run, admin, "Dữ liệu mẫu: đã học lớp bồi dưỡng trực tiếp tại Trường, có điểm danh."
        )
        done.append(f"{learner.username} completed {completed.slug}")
    db.session.commit()
    return "demo progress: " + (", ".join(done) if done else "already loaded")
