"""An hr user imports their staff in Chromium: upload, read the dry run, apply, see the result.

Selectors use ids, URLs and data from the file rather than UI text, so the test reads the
same in Vietnamese and English.
"""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from elearn.accounts import imports
from elearn.accounts.models import StaffImport, User
from elearn.extensions import db
from elearn.jobs.models import Job
from tests.accounts.test_import import VI_HEADERS, encode
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_accessibility import _violations
from tests.conftest import PASSWORD

ROWS = [
    VI_HEADERS,
    ["Hoàng Văn Nam", "hoang.van.nam", "nam@example.vn", "BO.A.1", "Chuyên viên", "", ""],
    ["Trần Thị Bích", "", "bich.tran@example.vn", "BO.A", "Văn thư", "", ""],
    ["Lê Văn Sai", "le.van.sai", "", "KHONG.CO", "", "", ""],
    ["Nguyễn Thị Ánh", "learner", "", "BO.A", "Phó phòng", "", ""],
]


def test_hr_imports_a_staff_file_with_the_keyboard(live_server, page_factory, world, tmp_path):
    path = tmp_path / "Danh sách nhân sự.csv"
    path.write_bytes(encode(ROWS, "cp1258"))
    page = page_factory()
    page.on("dialog", lambda dialog: dialog.accept())  # "Apply the changes …?"
    sign_in(page, live_server, "hr.a", PASSWORD)
    page.goto(f"{live_server}/admin/people")
    page.locator('a[href="/admin/imports/new"]').focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.locator("#file").set_input_files(str(path))
    page.locator("#file").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # The dry run: the bad row first, with its line and unit code; its summary has focus.
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    first = page.locator("table.import-rows tbody tr").first
    assert first.locator("td").first.inner_text() == "4"
    assert "KHONG.CO" in first.inner_text()
    assert page.locator("table.import-rows tbody tr").count() == 4
    assert db.session.scalar(select(User).where(User.username == "hoang.van.nam")) is None
    screenshot(page, "import-dry-run")

    apply = page.locator("form[action$='/apply'] button")
    apply.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    db.session.commit()  # see what the server committed
    record = db.session.scalar(select(StaffImport).order_by(StaffImport.id.desc()))
    assert record.state == "applied"
    assert (record.create_count, record.transfer_count, record.error_count) == (2, 1, 1)
    assert page.locator("form[action$='/apply']").count() == 0
    assert page.locator(".import-badge-create").count() == 2
    learner = db.session.get(User, world.learner.id)
    assert (learner.unit_id, learner.job_title) == (world.dept_a.id, "Phó phòng")
    screenshot(page, "import-result")

    narrow = page_factory(width=320)
    sign_in(narrow, live_server, "hr.a", PASSWORD)
    narrow.goto(f"{live_server}/admin/imports/{record.id}")
    assert (
        narrow.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        <= 0
    )
    screenshot(narrow, "import-result-320")


def test_the_page_follows_a_job_and_shows_the_result(live_server, page_factory, world):
    """A file checked by a job: the page shows its progress, then reloads with the dry run."""
    record, staff = imports.create_import(world.hr_a, "lon.csv", encode(ROWS))
    job = Job(kind="accounts.import_check", state="running", progress=0.4, message="40%",
              owner_id=world.hr_a.id, target_type="staff_import", target_id=record.id)  # fmt: skip
    db.session.add(job)
    db.session.flush()
    record.job_id = job.id
    db.session.commit()
    page = page_factory(bypass_csp=False)
    sign_in(page, live_server, "hr.a", PASSWORD)
    page.goto(f"{live_server}/admin/imports/{record.id}")
    assert page.locator("progress").get_attribute("value") == "40"
    assert page.locator("[role=status][data-follow-message]").count() == 1
    screenshot(page, "import-progress")
    accessibility = page_factory(bypass_csp=True)
    sign_in(accessibility, live_server, "hr.a", PASSWORD)
    accessibility.goto(f"{live_server}/admin/imports/{record.id}")
    assert _violations(accessibility) == []

    db.session.rollback()  # end the test's read snapshot; the server wrote since
    job = db.session.get(Job, job.id)
    job.progress, job.message = 0.8, "Kiểm tra 80%"
    db.session.commit()
    expect(page.locator("progress")).to_have_attribute("value", "80")
    expect(page.locator("[data-follow-message]")).to_contain_text("Kiểm tra 80%")
    imports.check(db.session.get(StaffImport, record.id), staff)
    job = db.session.get(Job, job.id)
    job.state, job.progress = "done", 1.0
    db.session.commit()
    page.wait_for_selector("table.import-rows", timeout=15_000)
    assert page.locator("progress").count() == 0
    assert "KHONG.CO" in page.locator("table.import-rows").inner_text()
