"""Retention of inactive accounts: the period, the preview, anonymisation and what survives it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from elearn.accounts import retention
from elearn.accounts import tasks as account_tasks
from elearn.accounts.models import User
from elearn.core.clock import utcnow
from elearn.core.models import AuditLog, OutboxMail
from elearn.core.services import get_setting
from elearn.courses import services as courses
from elearn.extensions import db
from elearn.jobs.models import Job
from elearn.progress import certificates
from elearn.progress import services as progress

DAY = timedelta(days=1)


class Clock:
    """A controllable utcnow for the retention rule."""

    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, days: float) -> None:
        self.now += timedelta(days=days)


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(retention, "utcnow", fake)
    return fake


@pytest.fixture
def people(world, make_user, clock):
    """Accounts of every kind of (in)activity, a year being the period under test."""
    now = clock.now
    old_login = make_user(world.team_a1, "Trần Văn Cũ", "tran.cu")
    old_login.last_login_at = now - 400 * DAY
    old_login.active, old_login.deactivated_at = False, now - 370 * DAY
    never = make_user(world.team_a1, "Lý Thị Chưa", "ly.chua")
    never.created_at = now - 500 * DAY
    never.active, never.deactivated_at = False, now - 450 * DAY
    # Still on the staff: kept however long since they signed in (or came back).
    staying = make_user(world.team_a1, "Phan Văn Ở", "phan.o")
    staying.last_login_at, staying.created_at = now - 700 * DAY, now - 900 * DAY
    returned = make_user(world.team_a1, "Đỗ Thị Về", "do.ve")  # reactivated after leave
    returned.last_login_at, returned.created_at = now - 600 * DAY, now - 900 * DAY
    gone = make_user(world.dept_b, "Võ Văn Nghỉ", "vo.nghi")
    gone.active, gone.deactivated_at = False, now - 380 * DAY
    gone.last_login_at = now - 390 * DAY
    recent = make_user(world.team_a1, "Hồ Thị Mới", "ho.moi")
    recent.last_login_at = now - 30 * DAY
    recent.created_at = now - 900 * DAY
    world.admin.last_login_at = now - 800 * DAY
    for person in (world.hr_a, world.hr_b, world.instructor, world.learner, world.outsider):
        person.last_login_at = now - 10 * DAY
    db.session.commit()
    return {
        "old_login": old_login,
        "never": never,
        "gone": gone,
        "recent": recent,
        "staying": staying,
        "returned": returned,
    }


def anonymised_entries() -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == "user.anonymised")))


def test_accounts_past_the_period_are_anonymised_and_audited(world, people, clock):
    assert retention.apply_retention() == []  # no period: accounts are kept forever
    retention.set_retention_months(12, world.admin)
    db.session.commit()
    expired = {people[k].id for k in ("old_login", "never", "gone")}
    assert set(retention.apply_retention()) == expired
    db.session.commit()
    for key in ("old_login", "never", "gone"):
        person = db.session.get(User, people[key].id)
        assert person.full_name == f"Người dùng đã ẩn danh #{person.id}"
        assert person.username.startswith("an-danh-")
        assert (person.email, person.job_title, person.password_hash) == (None, "", None)
        assert not person.active
        assert person.anonymised_at == clock.now
        assert "nguoi dung da an danh" in person.search_text
    assert len({db.session.get(User, i).username for i in expired}) == 3
    entries = anonymised_entries()
    assert {e.target_id for e in entries} == expired
    for entry in entries:  # no name, username or email in the entry
        assert entry.detail == f"#{entry.target_id}"
    # Admins and everyone still on the staff (signed in lately or long ago, or back from
    # leave) are untouched.
    admin = db.session.get(User, world.admin.id)
    assert (admin.full_name, admin.anonymised_at) == ("Quản Trị Viên", None)
    for key, name in (
        ("recent", "Hồ Thị Mới"),
        ("staying", "Phan Văn Ở"),
        ("returned", "Đỗ Thị Về"),
    ):
        assert db.session.get(User, people[key].id).full_name == name
    assert db.session.get(User, world.learner.id).full_name == "Nguyễn Thị Ánh"
    # Running again changes nothing; a year after someone leaves, their turn comes.
    assert retention.apply_retention() == []
    leaver = db.session.get(User, people["recent"].id)
    leaver.active, leaver.deactivated_at = False, clock.now
    db.session.commit()
    clock.advance(340)
    assert retention.apply_retention() == []
    clock.advance(30)
    assert retention.apply_retention() == [leaver.id]


def test_the_dry_run_changes_nothing(world, people, runner):
    retention.set_retention_months(12, world.admin)
    db.session.commit()
    result = runner.invoke(args=["accounts", "apply-retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "3 account(s)" in result.output
    assert f"#{people['never'].id}" in result.output
    db.session.expire_all()
    assert db.session.get(User, people["never"].id).full_name == "Lý Thị Chưa"
    assert anonymised_entries() == []
    result = runner.invoke(args=["accounts", "apply-retention"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(User, people["never"].id).anonymised_at is not None
    assert len(anonymised_entries()) == 3


def test_mail_and_names_are_erased_but_the_training_record_stays(
    world, people, make_course, as_user, client
):
    course = make_course(pages=1)
    person = people["old_login"]
    old_email = person.email
    run = courses.enrol(person, course)
    progress.record(run, courses.sequence(course)[0], "viewed")
    db.session.add(
        OutboxMail(
            to_address=old_email,
            subject="s",
            body="Kính gửi Trần Văn Cũ",
            kind="welcome",
            status="captured",
        )
    )
    db.session.commit()
    [certificate] = certificates.of_run(run)
    assert certificate.full_name == "Trần Văn Cũ"
    retention.set_retention_months(12, world.admin)
    retention.apply_retention()
    db.session.commit()
    anonymous = f"Người dùng đã ẩn danh #{person.id}"
    db.session.expire_all()
    assert db.session.get(type(run), run.id).status == "completed"
    assert db.session.get(type(certificate), certificate.id).code == certificate.code
    assert (
        db.session.scalar(select(OutboxMail.id).where(OutboxMail.to_address == old_email)) is None
    )
    # The public check shows the anonymised name, and the certificate is still valid.
    page = client.get(f"/verify/{certificate.code}")
    assert page.status_code == 200
    assert anonymous in page.get_data(as_text=True)
    assert "Trần Văn Cũ" not in page.get_data(as_text=True)
    # Reports and people pages still work and count the run.
    hr = as_user("hr_a")
    for url in (
        "/reports/units",
        "/reports/courses",
        "/reports/people",
        f"/reports/people/{person.id}",
        f"/admin/people/{person.id}",
        "/admin/people?inactive=1",
    ):
        response = hr.get(url)
        assert response.status_code == 200, url
        assert "Trần Văn Cũ" not in response.get_data(as_text=True), url
    assert anonymous in hr.get(f"/reports/people/{person.id}").get_data(as_text=True)
    export = hr.post("/reports/export", data={"view": "runs", "format": "csv"})
    assert export.status_code == 200
    assert anonymous in export.get_data(as_text=True)
    admin = as_user("admin")
    for url in (f"/admin/people/{person.id}/record", "/admin/audit", "/admin/privacy"):
        assert admin.get(url).status_code == 200, url
    assert (
        admin.post(f"/admin/people/{person.id}/personal-data", data={"format": "pdf"}).status_code
        == 200
    )


def test_the_admin_page_previews_then_saves_the_period(world, people, as_user):
    admin = as_user("admin")
    page = admin.get("/admin/privacy").get_data(as_text=True)
    assert "Trần Văn Cũ" not in page  # no period yet: nothing to list
    preview = admin.post("/admin/privacy", data={"months": "12", "preview": "1"})
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert "3 tài khoản" in text or "3 account(s)" in text
    listed = text.split("<tbody>")[1].split("</tbody>")[0]
    for name in ("Trần Văn Cũ", "Lý Thị Chưa", "Võ Văn Nghỉ"):
        assert name in listed
    for name in ("Hồ Thị Mới", "Phan Văn Ở", "Đỗ Thị Về", "Quản Trị Viên", "Nguyễn Thị Ánh"):
        assert name not in listed
    assert get_setting(retention.SETTING) is None  # a preview saves nothing
    assert admin.post("/admin/privacy", data={"months": "12", "save": "1"}).status_code == 302
    assert retention.retention_months() == 12
    [entry] = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "privacy.retention_set")
    ).all()
    assert (entry.actor_id, entry.detail) == (world.admin.id, "- -> 12 months")
    assert "Trần Văn Cũ" in admin.get("/admin/privacy").get_data(as_text=True)
    # Bad input is refused beside the field and changes nothing.
    for bad in ("-3", "abc", "5000"):
        response = admin.post("/admin/privacy", data={"months": bad, "save": "1"})
        assert response.status_code == 200
        assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert retention.retention_months() == 12
    # Empty means forever.
    admin.post("/admin/privacy", data={"months": "", "save": "1"})
    assert retention.retention_months() is None
    assert as_user("hr_a").get("/admin/privacy").status_code == 403


def test_the_worker_anonymises_once_a_day(world, people):
    assert account_tasks.maybe_start_retention() is None  # no period, no job
    retention.set_retention_months(12, world.admin)
    db.session.commit()
    job = account_tasks.maybe_start_retention()
    db.session.commit()  # the job is queued on commit; tests run it at once
    assert job is not None
    db.session.expire_all()
    assert db.session.get(Job, job.id).state == "done"
    assert db.session.get(User, people["gone"].id).anonymised_at is not None
    assert account_tasks.maybe_start_retention() is None  # once a local day
