"""Exports (inline and by job, audited, owner-only) and reminders (once per run and due date)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook

from elearn.accounts import services as accounts
from elearn.core.clock import due_at, from_local, to_local, utcnow
from elearn.core.models import AuditLog, OutboxMail
from elearn.courses import services as courses
from elearn.courses.models import Enrolment
from elearn.extensions import db
from elearn.jobs.models import Job
from elearn.progress import services as progress
from elearn.reports import assignments, exports, reminders
from elearn.reports.models import Reminder, ReminderDigest, ReportExport
from tests.conftest import login


@pytest.fixture
def assigned(world, make_course, make_user):
    course = make_course(slug="bat-buoc", title="An toàn thông tin", pages=1)
    for n in range(5):
        make_user(world.team_a1, f"Nhân Viên {n}", f"nv{n}")
    assignment = assignments.create_assignment(
        world.hr_a,
        course_ids=[course.id],
        unit_ids=[world.dept_a.id],
        user_ids=[],
        due_on=to_local(utcnow()).date() + timedelta(days=3),
    )
    assignments.apply(assignment)
    db.session.commit()
    return course


# --- exports ---------------------------------------------------------------------------------


def test_a_large_export_is_made_by_a_job_and_only_its_owner_downloads_it(
    app, world, assigned, as_user
):
    app.config["REPORTS_EXPORT_INLINE_ROWS"] = 2
    client = as_user("hr_a")
    response = client.post("/reports/export", data={"view": "runs", "format": "xlsx"})
    assert response.status_code == 302
    job_url = response.headers["Location"]
    job = db.session.scalar(db.select(Job).order_by(Job.id.desc()))
    assert job.kind == "reports.export"
    assert job.state == "done"
    status = client.get(f"/jobs/{job.id}/status").get_json()
    assert status["state"] == "done"
    assert status["progress"] == 1.0
    assert as_user("hr_b").get(f"/jobs/{job.id}/status").status_code == 404
    page = client.get(job_url).get_data(as_text=True)
    export = db.session.scalar(db.select(ReportExport).where(ReportExport.job_id == job.id))
    download = f"/reports/exports/{export.id}"
    assert download in page
    file = client.get(download)
    assert file.status_code == 200
    assert "attachment" in file.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(file.get_data()), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("Họ và tên", "Tên đăng nhập")  # Vietnamese headers
    assert len(rows) == 1 + 7  # hr_a, the learner and five colleagues
    assert as_user("hr_b").get(download).status_code == 404
    assert as_user("admin").get(download).status_code == 404  # personal file, owner only
    audit = db.session.scalar(
        db.select(AuditLog).where(
            AuditLog.action == "report.exported", AuditLog.target_id == export.id
        )
    )
    assert "runs.xlsx" in audit.detail
    assert "7 rows" in audit.detail
    assert "personal data" in audit.detail
    # Past its date the file is removed; the page says so and the audit stays.
    exports.remove_expired(now=utcnow() + timedelta(days=30))
    db.session.commit()
    gone = client.get(download)
    assert gone.status_code == 410
    assert not list(exports.exports_dir().iterdir())


def test_csv_exports_are_excel_friendly_and_never_run_formulas(app, world, assigned, as_user):
    person = world.learner
    person.full_name = '=HYPERLINK("http://x")'
    db.session.commit()
    response = as_user("hr_a").post("/reports/export", data={"view": "runs", "format": "csv"})
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads Vietnamese right
    text = raw.decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    assert text.splitlines()[0].startswith("Họ và tên,Tên đăng nhập,")
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_a_second_run_of_the_export_job_replaces_its_file(app, world, assigned):
    record = exports.request_export(
        world.hr_a,
        exports.queries.scope_of(world.hr_a),
        view="runs",
        fmt="csv",
        filters=exports.queries.Filters(),
        within=None,
    )
    db.session.commit()
    exports.start_job(record)
    first = db.session.get(ReportExport, record.id).key
    job = db.session.get(Job, record.job_id)
    exports._export_job(job, lambda *_: None)  # at-least-once: the worker ran it again
    second = db.session.get(ReportExport, record.id).key
    assert first != second
    assert [p.name for p in exports.exports_dir().iterdir()] == [second]


# --- reminders -------------------------------------------------------------------------------


def test_reminders_go_once_per_run_and_due_date_with_a_digest_for_hr(app, world, assigned):
    course = assigned
    overdue_run = db.session.scalar(
        db.select(Enrolment).where(Enrolment.user_id == world.learner.id)
    )
    overdue_run.due_at = utcnow() - timedelta(days=2)
    done = db.session.scalar(
        db.select(Enrolment).join(Enrolment.course).where(Enrolment.user_id == world.hr_a.id)
    )
    progress.override_run(done, world.admin, "Đã học")
    voluntary = courses.enrol(world.outsider, course)  # self-enrolled: never reminded
    voluntary.due_at = utcnow() + timedelta(days=1)
    db.session.commit()
    result = reminders.send_reminders()
    db.session.commit()
    assert result == {"reminders": 6, "mails": 6, "digests": 1}
    mails = list(db.session.scalars(db.select(OutboxMail).where(OutboxMail.kind == "reminder")))
    learner_mail = next(m for m in mails if m.to_address == world.learner.email)
    assert "An toàn thông tin" in learner_mail.body
    assert world.outsider.email not in {m.to_address for m in mails}
    assert world.hr_a.email not in {m.to_address for m in mails}  # completed
    [digest] = db.session.scalars(db.select(OutboxMail).where(OutboxMail.kind == "reminder_digest"))
    assert digest.to_address == world.hr_a.email
    assert "Nguyễn Thị Ánh" in digest.body
    assert db.session.scalar(db.select(db.func.count()).select_from(ReminderDigest)) == 1
    assert db.session.scalar(
        db.select(AuditLog).where(AuditLog.action == "reminders.sent")
    ).detail.startswith("6 runs")
    # Again the same day: nothing more.
    assert reminders.send_reminders() == {"reminders": 0, "mails": 0, "digests": 0}
    db.session.commit()
    # A new due date is a new reminder.
    overdue_run = db.session.get(Enrolment, overdue_run.id)
    overdue_run.due_at = due_at(to_local(utcnow()).date() + timedelta(days=2))
    db.session.commit()
    assert reminders.send_reminders()["reminders"] == 1
    db.session.commit()
    kinds = {
        r.kind
        for r in db.session.scalars(db.select(Reminder).where(Reminder.user_id == world.learner.id))
    }
    assert kinds == {"overdue", "due_soon"}


def _local(hour: int) -> datetime:
    return from_local(
        datetime.combine(to_local(utcnow()).date(), datetime.min.time()).replace(hour=hour)
    )


def test_quiet_hours_and_one_reminder_job_a_day(app, world):
    app.config["REMINDER_QUIET_HOURS"] = "21-7"
    assert reminders.is_quiet(_local(22))
    assert reminders.is_quiet(_local(6))
    assert not reminders.is_quiet(_local(7))
    assert reminders.maybe_start(_local(23)) is None
    job = reminders.maybe_start(_local(8))
    assert job is not None
    db.session.commit()  # queued after commit: runs at once in tests
    assert reminders.maybe_start(_local(9)) is None


def test_deactivated_people_get_no_reminder(app, world, assigned):
    accounts.set_active(world.learner, False, world.admin)
    db.session.commit()
    reminders.send_reminders()
    db.session.commit()
    assert world.learner.email not in set(
        db.session.scalars(db.select(OutboxMail.to_address).where(OutboxMail.kind == "reminder"))
    )


def test_the_reminder_mail_is_in_the_learners_language(app, world, assigned, client):
    login(client, "learner")
    client.post("/language", data={"locale": "en", "next": "/"})
    reminders.send_reminders()
    db.session.commit()
    mail = db.session.scalar(
        db.select(OutboxMail).where(OutboxMail.to_address == world.learner.email)
    )
    assert mail.subject == "Courses you must complete"
