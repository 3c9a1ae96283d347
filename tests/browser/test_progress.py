"""Completing a course, downloading the certificate, checking it, revoking it (Chromium)."""

import subprocess

from elearn.courses import services as courses
from elearn.extensions import db
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD


def test_completion_certificate_verification_and_revocation(
    live_server, page_factory, world, tmp_path
):
    course = courses.create_course(
        world.instructor, slug="cai-cach", title="Cải cách hành chính", estimated_minutes=90
    )
    module = courses.add_module(course, "Phần 1")
    courses.add_page(module, "Bài 1", "## Mục 1\n\nNội dung bài 1.")
    courses.add_page(module, "Bài 2", "Nội dung bài 2.")
    courses.set_status(course, world.instructor, True)
    db.session.commit()

    learner = page_factory()
    sign_in(learner, live_server, world.learner.username, PASSWORD)
    learner.goto(f"{live_server}/courses/cai-cach")
    with learner.expect_navigation():
        learner.get_by_role("button", name="Đăng ký học").click()
    # The dashboard says where to pick up: the second lesson.
    learner.get_by_role("link", name="Trang chủ").click()
    learner.get_by_role("link", name="Học tiếp: Bài 2").click()
    assert learner.get_by_role("heading", level=1).inner_text() == "Bài 2"
    learner.get_by_role("link", name="Trang chủ").click()
    completed = learner.get_by_role("region", name="Đã hoàn thành")
    assert "Cải cách hành chính" in completed.inner_text()
    screenshot(learner, "dashboard-completed")

    with learner.expect_download() as download:
        learner.get_by_role("link", name="Tải về (PDF) Cải cách hành chính").click()
    pdf = tmp_path / "chung-nhan.pdf"
    download.value.save_as(pdf)
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Nguyễn Thị Ánh" in text
    assert "Cải cách hành chính" in text
    code = completed.locator("code").first.inner_text()
    assert code in text

    visitor = page_factory()
    visitor.goto(f"{live_server}/verify")
    visitor.get_by_label("Mã xác minh").fill(code.replace("-", "").lower())
    visitor.keyboard.press("Enter")
    visitor.wait_for_url(f"**/verify/{code}")
    assert visitor.get_by_role("heading", name="Chứng nhận hợp lệ").is_visible()
    assert "Nguyễn Thị Ánh" in visitor.locator("main").inner_text()
    screenshot(visitor, "verify-valid")

    admin = page_factory()
    sign_in(admin, live_server, world.admin.username, PASSWORD)
    admin.goto(f"{live_server}/admin/people/{world.learner.id}/record")
    assert "Hồ sơ nguyên vẹn" in admin.locator("main").inner_text()
    admin.locator("summary", has_text="Thu hồi").click()  # opens the <details>
    admin.get_by_role("textbox", name="Lý do").last.fill("Cấp nhầm người")
    with admin.expect_navigation():
        admin.get_by_role("button", name="Thu hồi").click()
    assert "Đã thu hồi chứng nhận." in admin.locator("main").inner_text()
    screenshot(admin, "learner-record-revoked")

    visitor.reload()
    assert visitor.get_by_role("heading", name="Chứng nhận đã bị thu hồi").is_visible()
    screenshot(visitor, "verify-revoked")
