"""A learner finds a starter course without typing diacritics, enrols and reads lessons."""

from pathlib import Path

from elearn.accounts.demo import DEMO_PASSWORD, load_demo
from elearn.courses import packs
from elearn.extensions import db
from tests.browser.conftest import screenshot, sign_in

CONTENT = Path(__file__).parents[2] / "content"


def test_demo_learner_finds_enrols_and_reads(live_server, page_factory):
    """What `make run` sets up: the demo accounts and the starter courses."""
    load_demo()
    packs.load_packs(CONTENT)
    db.session.commit()
    page = page_factory()
    sign_in(page, live_server, "hocvien", DEMO_PASSWORD)
    page.get_by_role("link", name="Khóa học").first.click()
    page.get_by_label("Tìm kiếm (có dấu hoặc không dấu)").fill("chinh phu dien tu")
    page.get_by_role("button", name="Tìm kiếm").click()
    results = page.locator(".course-list h2").all_inner_texts()
    # Every word must begin a word of the title, summary or topic; the digital
    # transformation course's summary also speaks of "Chính phủ điện tử".
    assert results[0] == "Chính phủ điện tử và dịch vụ công trực tuyến"
    assert "Cải cách hành chính và ứng dụng CNTT trong thực thi công vụ" not in results
    screenshot(page, "catalogue-search")
    page.get_by_role("link", name="Chính phủ điện tử và dịch vụ công trực tuyến").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng ký học").click()
    # Straight into the first lesson.
    assert page.get_by_role("heading", level=1).inner_text() == "Chính phủ điện tử là gì?"
    assert len(page.locator(".lesson-body").inner_text().split()) > 400
    screenshot(page, "lesson-first")
    page.get_by_role("link", name="Tiếp theo").first.click()
    assert "2" in page.locator(".meta").first.inner_text()
    progress = page.locator("progress").first
    assert int(progress.get_attribute("value")) > 0
    page.get_by_role("link", name="Chính phủ điện tử và dịch vụ công trực tuyến").first.click()
    assert page.locator(".state-completed").count() == 2
    screenshot(page, "course-in-progress")
    page.get_by_role("link", name="Trang chủ").click()
    assert "Chính phủ điện tử và dịch vụ công trực tuyến" in page.locator("main").inner_text()
