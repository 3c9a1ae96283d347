"""Demo training administration for ``make run``: an assignment, a class, some progress.

Run by ``flask reports load-demo`` after the demo accounts, starter courses and demo
progress (``ELEARN_DEMO=1``). Idempotent: what exists is left alone. Everything goes
through the services (assignments enrol, the progress service records), so the reports
show real numbers: ``nhansu`` sees their ministry's units, ``giangvien`` organises a
class modelled on the seeds' training class (staff of several units of the ministry,
organised by its training school), and a few learners have answered its survey.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from elearn.accounts.models import OrgUnit, User
from elearn.core.clock import to_local, utcnow
from elearn.courses import services as courses
from elearn.courses.models import Course, Enrolment
from elearn.extensions import db
from elearn.progress import services as progress
from elearn.reports import assignments, classes
from elearn.reports.models import Assignment, AssignmentCourse, AssignmentRun, TrainingClass
from elearn.surveys import services as surveys

CLASS_CODE = "TH-CCHC-2026-01"
CLASS_NAME = (
    "Lớp tập huấn “Ứng dụng công nghệ thông tin, cải cách hành chính trong thực thi công vụ”"
)
REASON = "Dữ liệu mẫu: học trực tiếp tại lớp, có điểm danh."


def _one(model, **where):
    return db.session.scalar(select(model).filter_by(**where))


def load() -> str:
    """Load the demo assignment, class and progress; return what was done."""
    hr, admin = _one(User, username="nhansu"), _one(User, username="quantri")
    teacher = _one(User, username="giangvien")
    ministry = _one(OrgUnit, code="BLDTBXH")
    school = _one(OrgUnit, code="BLDTBXH.TRUONG")
    digital = _one(Course, slug="chuyen-doi-so")
    reform = _one(Course, slug="cai-cach-hanh-chinh")
    egov = _one(Course, slug="chinh-phu-dien-tu")
    if None in (hr, admin, teacher, ministry, school, digital, reform, egov):
        return "demo accounts or starter courses missing: load them first"
    done = []
    today = to_local(utcnow()).date()
    assigned = db.session.scalar(
        select(Assignment)
        .join(AssignmentCourse, AssignmentCourse.assignment_id == Assignment.id)
        .where(Assignment.kind == "assignment", AssignmentCourse.course_id == digital.id)
    )
    if assigned is None:
        assigned = assignments.create_assignment(
            hr,
            course_ids=[digital.id],
            unit_ids=[ministry.id],
            user_ids=[],
            due_on=today + timedelta(days=21),
            recur_months=12,
        )
        assignments.apply(assigned)
        done.append(f"{digital.slug} assigned to {ministry.code}, yearly")
    if _one(TrainingClass, code=CLASS_CODE) is None:
        participants = [
            _one(OrgUnit, code=code).id for code in ("BLDTBXH.VP", "BLDTBXH.TTTT", "BLDTBXH.CBTXH")
        ]
        guests = [u.id for u in (_one(User, username="hocvien2"),) if u is not None]
        training = classes.create_class(
            admin,
            code=CLASS_CODE,
            name=CLASS_NAME,
            description=(
                "Lớp do Trường Đào tạo, bồi dưỡng cán bộ, công chức lao động - xã hội phối hợp "
                "với Văn phòng Bộ và Trung tâm Thông tin tổ chức cho cán bộ làm công tác cải "
                "cách hành chính, công nghệ thông tin của các đơn vị thuộc Bộ."
            ),
            organiser_unit=school,
            opens_on=today - timedelta(days=7),
            closes_on=today + timedelta(days=21),
            course_ids=[reform.id, egov.id],
            unit_ids=participants,
            user_ids=guests,
        )
        assignments.apply(training.assignment)
        classes.add_organiser(training, admin, teacher.username)
        done.append(
            f"class {CLASS_CODE} with {assignments.count_members(training.assignment)} people"
        )
        db.session.flush()
        done.append(_study(training))
    db.session.commit()
    return "demo training: " + (", ".join(d for d in done if d) if done else "already loaded")


def _study(training: TrainingClass) -> str:
    """Give the class's runs some progress, completions and survey answers (seeded)."""
    rng = random.Random(2019)  # noqa: S311 - demo data, seeded: the year of the seeds' class
    admin = _one(User, username="quantri")
    runs = list(
        db.session.scalars(
            select(Enrolment)
            .join(AssignmentRun, AssignmentRun.enrolment_id == Enrolment.id)
            .where(
                AssignmentRun.assignment_id == training.assignment_id,
                Enrolment.status != "completed",
            )
            .order_by(Enrolment.id)
        )
    )
    completed = 0
    for run in runs:
        course = db.session.get(Course, run.course_id)
        lessons = courses.sequence(course)
        roll = rng.random()
        if roll < 0.45:
            for lesson in lessons[: rng.randint(1, 3)]:
                if lesson.type == "page":
                    progress.record(run, lesson, "viewed")
            survey = next((a for a in lessons if a.type == "survey"), None)
            if survey is not None:
                items = surveys.items_of(surveys.survey_of(survey))
                answers = {
                    i.id: str(rng.choice((3, 4, 4, 5, 5))) for i in items if i.kind == "likert"
                }
                surveys.submit(run, survey, answers)
            progress.override_run(run, admin, REASON)
            completed += 1
        elif roll < 0.75:
            progress.record(run, lessons[0], "viewed")
    return f"{completed} class runs completed"
