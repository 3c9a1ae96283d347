"""Real people's paths through the site, in Chromium."""

import re

from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD


def test_sign_in_and_sign_out(live_server, page_factory):
    page = page_factory()
    sign_in(page, live_server, "learner", PASSWORD)
    assert page.get_by_role("heading", level=1).inner_text() == "Xin chào, Nguyễn Thị Ánh"
    screenshot(page, "learner-home")
    page.get_by_role("button", name="Đăng xuất").click()
    assert page.url.endswith("/login")


def test_wrong_password_shows_the_error_summary_and_focuses_it(live_server, page_factory):
    page = page_factory()
    sign_in(page, live_server, "learner", "wrong-password")
    summary = page.locator(".error-summary")
    assert "Sai tên đăng nhập hoặc mật khẩu" in summary.inner_text()
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    summary.get_by_role("link").click()
    assert page.evaluate("document.activeElement.id") == "password"
    screenshot(page, "login-error")


def test_forgot_password_through_the_outbox_then_change_language(live_server, page_factory):
    visitor = page_factory()
    visitor.goto(f"{live_server}/login")
    visitor.get_by_role("link", name="Quên mật khẩu?").click()
    visitor.get_by_label("Tên đăng nhập hoặc email").fill("learner")
    visitor.get_by_role("button", name="Gửi đường liên kết cho tôi").click()
    assert visitor.get_by_role("heading", level=1).inner_text() == "Kiểm tra hộp thư của bạn"

    admin = page_factory()
    sign_in(admin, live_server, "admin", PASSWORD)
    admin.get_by_role("link", name="Hộp thư đi").first.click()
    admin.get_by_role("link", name="Đặt lại mật khẩu elearn").first.click()
    body = admin.locator(".mail-body").inner_text()
    link = re.search(r"http://\S+/reset/\S+", body).group(0)
    screenshot(admin, "admin-outbox-mail")

    visitor.goto(link)
    visitor.get_by_label("Mật khẩu mới", exact=True).fill("a-brand-new-secret")
    visitor.get_by_label("Nhập lại mật khẩu mới").fill("a-brand-new-secret")
    visitor.get_by_role("button", name="Đặt mật khẩu").click()
    assert visitor.url.endswith("/login")
    sign_in(visitor, live_server, "learner", "a-brand-new-secret")
    assert "Xin chào" in visitor.get_by_role("heading", level=1).inner_text()

    visitor.get_by_label("Ngôn ngữ").select_option("en")
    visitor.get_by_role("button", name="Đổi").click()
    assert visitor.get_by_role("heading", level=1).inner_text() == "Hello, Nguyễn Thị Ánh"
    assert visitor.locator("html").get_attribute("lang") == "en"
    screenshot(visitor, "learner-home-en")

    # The link was spent.
    again = page_factory()
    again.goto(link)
    assert "đã được sử dụng" in again.locator("main").inner_text()


def test_sign_in_form_focus_order(live_server, page_factory):
    page = page_factory()
    page.goto(f"{live_server}/login")
    order = []
    for _ in range(9):
        page.keyboard.press("Tab")
        order.append(
            page.evaluate(
                "(() => { const e = document.activeElement;"
                " return e.id || e.getAttribute('name') || e.textContent.trim(); })()"
            )
        )
    assert order == [
        "Chuyển đến nội dung chính",
        "elearn" + "Bồi dưỡng cán bộ, công chức",
        "lang-select",
        "Đổi",
        "username",
        "password",
        "remember",
        "Đăng nhập",
        "Quên mật khẩu?",
    ]
    # The skip link moves focus to the main content.
    page.goto(f"{live_server}/login")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_keyboard_only_sign_in(live_server, page_factory):
    page = page_factory()
    page.goto(f"{live_server}/login")
    page.focus("#username")
    page.keyboard.type("learner")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Xin chào" in page.get_by_role("heading", level=1).inner_text()


def test_hr_restricted_to_own_units_in_the_browser(live_server, page_factory, world):
    page = page_factory()
    sign_in(page, live_server, "hr.a", PASSWORD)
    page.get_by_role("link", name="Nhân sự").first.click()
    names = page.locator("tbody tr td:first-child").all_inner_texts()
    assert "Nguyễn Thị Ánh" in names
    assert "Đỗ Văn Dũng" not in names
    screenshot(page, "hr-people")
    response = page.goto(f"{live_server}/admin/people/{world.outsider.id}")
    assert response.status == 404
    assert "Không tìm thấy" in page.locator("h1").inner_text()


def test_deactivating_asks_first(live_server, page_factory, world):
    from elearn.accounts.models import User
    from elearn.extensions import db

    page = page_factory()
    sign_in(page, live_server, "hr.a", PASSWORD)
    page.goto(f"{live_server}/admin/people/{world.learner.id}")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Khóa tài khoản").click()
    assert db.session.get(User, world.learner.id).active  # cancelled: nothing happened
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_role("button", name="Khóa tài khoản").click()
    assert page.locator(".flash").inner_text() == (
        "Tài khoản đã bị khóa; dữ liệu của tài khoản vẫn được lưu giữ."
    )
    db.session.rollback()
    assert not db.session.get(User, world.learner.id).active
    screenshot(page, "hr-person-deactivated")
