"""Whole journeys through the site in Chromium, driven only through the UI as people would.

- an instructor builds a course (a page, a video lesson, a quiz from a GIFT file) and
  publishes it; a learner finds it, enrols, reads, watches, passes, downloads the
  certificate, and a visitor checks it at its public address;
- an hr user imports staff, assigns a course to their unit and exports the report;
- a learner who uses only the keyboard enrols, reads and passes a quiz.

The fixtures create the starting accounts and units (``world``) and, for the hr and
keyboard journeys, the published course they start from; everything after that happens
in the browser. The database is read only at the end, to check that what the pages said
is what was stored. Screenshots of the key steps go to test-artifacts/e2e-*.png.
"""

from __future__ import annotations

import csv
import io
import subprocess
import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from elearn.accounts.models import User
from elearn.core.clock import to_local, utcnow
from elearn.courses.models import Course, Enrolment
from elearn.extensions import db
from elearn.media.models import Video
from elearn.progress.models import Certificate
from elearn.quiz.models import Attempt
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD
from tests.media.conftest import _ffmpeg

GIFT = """\
// Three questions for the end-of-course quiz.
$CATEGORY: chuyen-doi-so

::Cấp độ:: Cấp độ cao nhất của quá trình số hóa là gì? {
=Chuyển đổi số
~Số hóa thông tin
~Số hóa quy trình
}

::Dữ liệu:: Dữ liệu là nền tảng của Chính phủ số. {T}

::Viết tắt:: Viết tắt của "công nghệ thông tin" là gì? {=CNTT}
"""

TITLE = "Chuyển đổi số trong cơ quan nhà nước"

PAGE_TEXT = """\
## Vì sao phải chuyển đổi số

Chuyển đổi số giúp **cơ quan nhà nước** phục vụ người dân *nhanh hơn*.

- Dữ liệu dùng chung
- Dịch vụ công trực tuyến
"""


def _wait(page, script: str, timeout: float = 20) -> None:
    """Poll ``script`` until true (wait_for_function would need 'unsafe-eval' under our CSP)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"timed out waiting for {script}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def lecture(tmp_path_factory):
    """A 6 s 320x180 lecture with sound, made with ffmpeg (small, so it converts quickly)."""
    path = tmp_path_factory.mktemp("e2e") / "bài giảng chuyển đổi số.mp4"
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=15:duration=6",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=6",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", str(path),
    )  # fmt: skip
    return path


def _build_course(page, base: str, lecture, tmp_path) -> None:
    """The instructor's part: a course with a page, a video and a GIFT quiz, published."""
    sign_in(page, base, "teacher", PASSWORD)
    nav = page.get_by_role("navigation", name="Menu chính")
    nav.get_by_role("link", name="Giảng dạy").click()
    page.get_by_role("link", name="Khóa học mới").click()
    page.get_by_label("Tên rút gọn (dùng trong địa chỉ)").fill("chuyen-doi-so")
    page.get_by_label("Tên khóa học").fill(TITLE)
    page.get_by_label("Tóm tắt").fill("Những điều cán bộ cần biết về chuyển đổi số.")
    with page.expect_navigation():
        page.get_by_role("button", name="Tạo khóa học").click()
    page.get_by_label("Tên phần mới").fill("Phần 1: Khái niệm")
    with page.expect_navigation():
        page.get_by_role("button", name="Thêm phần").click()

    # A page with formatted text, previewed before saving.
    page.get_by_role("link", name="Thêm bài học vào phần “Phần 1: Khái niệm”").click()
    page.get_by_label("Tên bài học").fill("Chuyển đổi số là gì?")
    page.get_by_label("Nội dung (Markdown)").fill(PAGE_TEXT)
    page.get_by_role("button", name="Xem trước").click()
    preview = page.locator("#preview .lesson-body")
    assert preview.locator("h2").inner_text() == "Vì sao phải chuyển đổi số"
    assert preview.locator("strong").inner_text() == "cơ quan nhà nước"
    assert preview.locator("li").count() == 2
    screenshot(page, "e2e-teach-page-preview")
    with page.expect_navigation():
        page.get_by_role("button", name="Lưu").click()

    # A video lesson: name it, upload the lecture, wait until the page says it is ready.
    page.get_by_role("link", name="Thêm bài giảng video vào “Phần 1: Khái niệm”").click()
    page.get_by_label("Tên bài học").fill("Bài giảng: lộ trình chuyển đổi số")
    page.get_by_label("Nội dung bên cạnh video (Markdown)").fill("Lộ trình **ba bước**.")
    page.get_by_label("Phần video cần xem (phần trăm)").fill("80")  # the completion rule
    with page.expect_navigation():
        page.get_by_role("button", name="Tạo bài và tải bài giảng lên").click()
    page.get_by_label("Tệp video hoặc âm thanh").set_input_files(str(lecture))
    with page.expect_navigation(timeout=60_000):  # the page reloads once the file is checked
        page.get_by_role("button", name="Tải lên", exact=True).click()
    _wait(page, "!!document.querySelector('[data-lecture-state=ready]')", timeout=60)
    assert "Sẵn sàng: học viên có thể xem." in page.locator("[data-lecture-state]").inner_text()
    screenshot(page, "e2e-teach-video-ready")
    page.locator(".breadcrumb a").first.click()

    # The quiz's questions come from a GIFT file imported into the question bank.
    gift = tmp_path / "câu hỏi cuối khóa.gift"
    gift.write_text(GIFT, encoding="utf-8")
    page.get_by_role("link", name="Ngân hàng câu hỏi").click()
    page.locator("#file").set_input_files(str(gift))
    with page.expect_navigation():
        page.get_by_role("button", name="Kiểm tra tệp").click()
    screenshot(page, "e2e-teach-gift-preview")
    with page.expect_navigation():
        page.get_by_role("button", name="Nhập 3 câu hỏi").click()
    page.locator(".breadcrumb a").first.click()
    page.get_by_role("link", name="Thêm bài kiểm tra vào “Phần 1: Khái niệm”").click()
    page.get_by_label("Tên bài kiểm tra").fill("Kiểm tra cuối khóa")
    page.get_by_label("Điểm đạt (%)").fill("60")
    with page.expect_navigation():
        page.get_by_role("button", name="Tạo bài kiểm tra và chọn câu hỏi").click()
    for name in ("Cấp độ", "Dữ liệu", "Viết tắt"):
        page.get_by_label(name).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Thêm các câu hỏi đã đánh dấu").click()
    assert page.locator("table tbody tr").count() == 3
    screenshot(page, "e2e-teach-quiz")
    page.locator(".breadcrumb a").first.click()

    with page.expect_navigation():
        page.get_by_role("button", name="Công bố").click()
    assert "Khóa học đã được công bố." in page.locator(".flashes").inner_text()
    screenshot(page, "e2e-teach-course-published")


def test_an_instructor_builds_a_course_and_a_learner_completes_it(
    live_server, page_factory, world, lecture, tmp_path
):
    teacher = page_factory()
    _build_course(teacher, live_server, lecture, tmp_path)

    learner = page_factory()
    errors = []
    learner.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(learner, live_server, "learner", PASSWORD)
    menu = learner.get_by_role("navigation", name="Menu chính")
    menu.get_by_role("link", name="Khóa học").click()
    learner.get_by_label("Tìm kiếm (có dấu hoặc không dấu)").fill("chuyen doi so")
    learner.get_by_role("button", name="Tìm kiếm").click()
    learner.get_by_role("link", name=TITLE).click()
    with learner.expect_navigation():
        learner.get_by_role("button", name="Đăng ký học").click()

    # The page lesson opens first, formatted as written.
    assert learner.get_by_role("heading", level=1).inner_text() == "Chuyển đổi số là gì?"
    body = learner.locator(".lesson-body")
    assert body.locator("h2").inner_text() == "Vì sao phải chuyển đổi số"
    assert body.locator("strong").inner_text() == "cơ quan nhà nước"
    screenshot(learner, "e2e-learner-page")

    # The video, at double speed, watched to the end.
    learner.get_by_role("link", name="Tiếp theo: Bài giảng: lộ trình chuyển đổi số →").click()
    _wait(learner, "!!document.querySelector('[data-player]').dataset.engine")
    learner.get_by_label("Tốc độ").select_option("2")
    # The player's own key (k) rather than a click: headless Chromium's native controls
    # do not reliably play on a click at the centre of the picture.
    learner.locator("video").focus()
    learner.keyboard.press("k")
    _wait(learner, "document.querySelector('video').ended", timeout=30)
    # The report sent at the end says so (earlier ones said "Đã xem: n%").
    expect(learner.locator("[data-player-status]")).to_have_text("Đã hoàn thành bài học.")
    screenshot(learner, "e2e-learner-video-watched")

    # The quiz, passed.
    learner.get_by_role("link", name="Tiếp theo: Kiểm tra cuối khóa →").click()
    with learner.expect_navigation():
        learner.get_by_role("button", name="Bắt đầu làm bài").click()
    learner.get_by_label("Chuyển đổi số", exact=True).check()
    learner.get_by_label("Đúng", exact=True).check()
    learner.get_by_label("Câu trả lời của anh/chị").fill("CNTT")
    screenshot(learner, "e2e-learner-quiz")
    with learner.expect_navigation():
        learner.get_by_role("button", name="Kết thúc bài làm…").click()
    with learner.expect_navigation():
        learner.get_by_role("button", name="Nộp bài và kết thúc").click()
    assert "Đạt" in learner.locator("main").inner_text()
    screenshot(learner, "e2e-learner-quiz-review")

    # Completed: the review page points to the certificate on the home page; then its
    # public address, signed out.
    learner.get_by_role("link", name="Bạn đã hoàn thành khóa học này").click()
    completed = learner.get_by_role("region", name="Đã hoàn thành")
    assert TITLE in completed.inner_text()
    screenshot(learner, "e2e-learner-completed")
    with learner.expect_download() as download:
        # The link's name tells which course: "Tải về (PDF)" and the title, hidden.
        completed.get_by_role("link", name=f"Tải về (PDF) {TITLE}").click()
    pdf = tmp_path / "chung-nhan.pdf"
    download.value.save_as(pdf)
    text = subprocess.run(
        ["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Nguyễn Thị Ánh" in text
    url = next(word for word in text.split() if word.startswith(f"{live_server}/verify/"))
    visitor = page_factory()
    visitor.goto(url)
    assert visitor.get_by_role("heading", name="Chứng nhận hợp lệ").is_visible()
    assert "Nguyễn Thị Ánh" in visitor.locator("main").inner_text()
    screenshot(visitor, "e2e-verify-valid")
    assert errors == []

    # What the pages said is what was stored.
    db.session.rollback()
    course = db.session.scalar(select(Course).where(Course.slug == "chuyen-doi-so"))
    assert course.status == "published"
    run = db.session.scalar(select(Enrolment).where(Enrolment.user_id == world.learner.id))
    assert (run.course_id, run.status) == (course.id, "completed")
    attempt = db.session.scalar(select(Attempt))
    assert (attempt.state, attempt.marks) == ("finished", 3.0)
    video = db.session.scalar(select(Video))
    assert video.state == "ready"
    certificate = db.session.scalar(select(Certificate))
    assert certificate.code in url


STAFF = [
    ["Họ và tên", "Tên đăng nhập", "Email", "Mã đơn vị", "Chức vụ", "Vai trò", "Nghỉ việc"],
    ["Hoàng Văn Nam", "hoang.van.nam", "nam@example.vn", "BO.A.1", "Chuyên viên", "", ""],
    ["Trần Thị Bích", "tran.thi.bich", "bich@example.vn", "BO.A.1", "Văn thư", "", ""],
]


def test_hr_imports_staff_assigns_a_course_and_exports_the_report(
    live_server, page_factory, world, make_course, tmp_path
):
    make_course(slug="an-toan-thong-tin", title="An toàn thông tin")  # the starting catalogue
    staff = tmp_path / "Danh sách nhân sự Phòng A1.csv"
    staff.write_text("\n".join(",".join(row) for row in STAFF) + "\n", encoding="utf-8-sig")
    page = page_factory()
    sign_in(page, live_server, "hr.a", PASSWORD)

    # Import: the dry run changes nothing; applying creates the two accounts.
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Nhân sự").click()
    page.get_by_role("link", name="Nhập danh sách nhân sự").click()
    page.get_by_label("Tệp danh sách nhân sự (CSV hoặc XLSX)").set_input_files(str(staff))
    with page.expect_navigation():
        page.get_by_role("button", name="Kiểm tra tệp").click()
    rows = page.locator("table.import-rows tbody tr")
    assert rows.count() == 2
    assert "Hoàng Văn Nam" in rows.first.inner_text() + rows.last.inner_text()
    assert db.session.scalar(select(User).where(User.username == "hoang.van.nam")) is None
    screenshot(page, "e2e-hr-import-dry-run")
    page.once("dialog", lambda dialog: dialog.accept())  # "Apply the changes …?"
    with page.expect_navigation():
        page.get_by_role("button", name="Áp dụng 2 thay đổi").click()
    assert page.locator(".import-badge-create").count() == 2
    screenshot(page, "e2e-hr-import-applied")

    # Assign the course to Phòng A1, due in 30 days.
    nav = page.get_by_role("navigation", name="Menu chính")
    nav.get_by_role("link", name="Báo cáo").click()
    page.get_by_role("link", name="Giao khóa học").first.click()
    page.get_by_role("link", name="Giao khóa học").last.click()
    page.get_by_label("Khóa học").select_option(label="An toàn thông tin")
    page.get_by_label("Đơn vị (cùng mọi đơn vị trực thuộc)").select_option(
        label="— — Phòng A1 (BO.A.1)"
    )
    due = to_local(utcnow()).date() + timedelta(days=30)
    page.get_by_label("Hạn hoàn thành").fill(due.isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Giao", exact=True).click()
    assert "Đã lưu việc giao khóa học" in page.locator(".flashes").inner_text()
    screenshot(page, "e2e-hr-assigned")

    # The report for the course and the unit lists the new staff, not started, due.
    nav.get_by_role("link", name="Báo cáo").click()
    page.get_by_role("link", name="Theo cá nhân").click()
    page.get_by_label("Đơn vị").select_option(label="— — Phòng A1 (BO.A.1)")
    page.get_by_label("Khóa học").select_option(label="An toàn thông tin")
    with page.expect_navigation():
        page.get_by_role("button", name="Hiển thị").click()
    shown = {
        row.locator("th a").inner_text(): row.locator("td.num").first.inner_text()
        for row in page.locator("main table tbody tr").all()
    }
    # Everyone of Phòng A1, the two new people included, has one run of the course.
    assert shown == {"Nguyễn Thị Ánh": "1", "Trần Thị Bích": "1", "Hoàng Văn Nam": "1"}
    screenshot(page, "e2e-hr-report")
    page.get_by_label("Xuất báo cáo này").select_option("csv")
    with page.expect_download() as download:
        page.get_by_role("button", name="Xuất tệp").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".csv"
    header, *lines = csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig")))
    assert header[:2] == ["Họ và tên", "Tên đăng nhập"]
    exported = {line[1]: line for line in lines}
    assert set(exported) == {"learner", "tran.thi.bich", "hoang.van.nam"}
    nam_row = ["Hoàng Văn Nam", "hoang.van.nam", "Phòng A1", "BO.A.1", "1"]  # one run
    assert exported["hoang.van.nam"][:5] == nam_row

    db.session.rollback()
    nam = db.session.scalar(select(User).where(User.username == "hoang.van.nam"))
    assert (nam.unit_id, nam.job_title) == (world.team_a1.id, "Chuyên viên")
    runs = db.session.scalars(select(Enrolment).where(Enrolment.user_id == nam.id)).all()
    # A due date is stored as the end of that local day.
    assert [to_local(r.due_at - timedelta(seconds=1)).date() for r in runs] == [due]


KEYBOARD_BANK = """\
::Cấp độ:: Cấp độ cao nhất của quá trình số hóa là gì? {
~Số hóa thông tin
=Chuyển đổi số
~Số hóa quy trình
}

::Dữ liệu:: Dữ liệu là nền tảng của Chính phủ số. {T}

::Viết tắt:: Viết tắt của "công nghệ thông tin" là gì? {=CNTT}
"""


@pytest.fixture
def reading_course(world):
    """The starting catalogue: a published course with a page and a two-page quiz."""
    from elearn.courses import services as courses
    from elearn.quiz import authoring, services

    course = courses.create_course(world.instructor, slug="an-toan", title="An toàn thông tin")
    module = courses.add_module(course, "Phần 1")
    courses.add_page(module, "Mật khẩu mạnh", "## Quy tắc\n\nMật khẩu dài **ít nhất 12 ký tự**.")
    services.import_questions(course, KEYBOARD_BANK.encode(), "gift", world.instructor)
    activity = authoring.add_quiz(
        module, "Kiểm tra", "Ba câu hỏi.", pass_mark=0.6, per_page=2, shuffle_answers=False
    )
    settings = authoring.quiz_in(course, activity.id)[1]
    authoring.add_questions(settings, services.questions_of(course))
    courses.set_status(course, world.instructor, True)
    db.session.commit()
    return course


FOCUSED = """() => {
    const e = document.activeElement;
    const style = getComputedStyle(e);
    const rect = e.getBoundingClientRect();
    return {
        tag: e.tagName.toLowerCase(),
        id: e.id,
        text: (e.getAttribute('aria-label') || e.textContent || e.value || '').trim(),
        ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
        shown: rect.width > 0 && rect.height > 0 && rect.bottom > 0 && rect.right > 0,
    };
}"""


def test_a_keyboard_only_learner_enrols_reads_and_passes_the_quiz(
    live_server, page_factory, world, reading_course
):
    page = page_factory()
    keys = page.keyboard

    def focused() -> dict:
        return page.evaluate(FOCUSED)

    def tab_to(selector: str, backwards: bool = False, limit: int = 60) -> dict:
        """Press Tab (or Shift+Tab) until ``selector`` has focus; check that it shows."""
        for _ in range(limit):
            keys.press("Shift+Tab" if backwards else "Tab")
            if page.evaluate(f"document.activeElement.matches({selector!r})"):
                where = focused()
                assert where["ring"], f"no focus ring on {where}"
                assert where["shown"], f"focus off screen on {where}"
                return where
        raise AssertionError(f"Tab never reached {selector}")

    def follow(selector: str) -> None:
        tab_to(selector)
        with page.expect_navigation():
            keys.press("Enter")

    page.goto(f"{live_server}/login")
    skip = tab_to(".skip-link")
    assert skip["text"] == "Chuyển đến nội dung chính"
    tab_to("#username")
    keys.type("learner")
    keys.press("Tab")
    keys.type(PASSWORD)
    with page.expect_navigation():
        keys.press("Enter")
    assert page.get_by_role("heading", level=1).inner_text() == "Xin chào, Nguyễn Thị Ánh"

    follow(".main-nav a[href='/courses']")
    tab_to("input[type=search], input[name=q]")
    keys.type("an toan")
    with page.expect_navigation():
        keys.press("Enter")
    follow("main a[href='/courses/an-toan']")
    enrol = tab_to("form[action$='/enrol'] button")
    assert enrol["text"] == "Đăng ký học"
    screenshot(page, "e2e-keyboard-enrol-focused")
    with page.expect_navigation():
        keys.press("Enter")

    # The first lesson; the skip link takes focus past the menus into the lesson.
    assert page.get_by_role("heading", level=1).inner_text() == "Mật khẩu mạnh"
    tab_to(".skip-link")
    keys.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    nxt = tab_to("a[rel=next]")
    assert nxt["text"] == "Tiếp theo: Kiểm tra →"
    with page.expect_navigation():
        keys.press("Enter")
    follow("form[action$='/start'] button")

    # Page 1 of the quiz: arrow keys choose within a radio group, Space ticks.
    tab_to("input[type=radio]")
    keys.press("ArrowDown")  # from "Số hóa thông tin" to the right answer
    assert page.get_by_label("Chuyển đổi số", exact=True).is_checked()
    tab_to("input[type=radio][value=true]")
    keys.press("Space")
    assert page.get_by_label("Đúng", exact=True).is_checked()
    tab_to(".quiz-page:not([hidden]) button[name=goto]")
    keys.press("Enter")  # the next page shows without a request; focus goes to its title
    _wait(page, "document.activeElement.id === 'quiz-page-1-title'")
    assert focused()["text"] == "Trang 2 / 2"
    tab_to(".quiz-page:not([hidden]) input[type=text]")
    keys.type("cntt")
    finish = tab_to(".quiz-page:not([hidden]) button[value=summary]")
    assert finish["text"] == "Kết thúc bài làm…"
    back = tab_to(".quiz-page:not([hidden]) button[name=goto]", backwards=True)
    assert back["text"] == "← Trang trước"  # Shift+Tab walks the same order backwards
    screenshot(page, "e2e-keyboard-quiz-focus")
    tab_to(".quiz-page:not([hidden]) button[value=summary]")
    with page.expect_navigation():
        keys.press("Enter")
    assert "Mọi câu hỏi đều đã được trả lời" in page.locator("main").inner_text()
    follow("#submit-form button")

    # The review: its title names the page, and the news is in a status message.
    assert page.title() == "Xem lại · Kiểm tra · elearn"
    assert page.get_by_role("heading", level=1).inner_text() == "Lần làm bài 1: xem lại"
    status = page.get_by_role("status").first.inner_text()
    assert status == "Chúc mừng! Bạn đã hoàn thành khóa học."
    assert "Đạt" in page.locator("main").inner_text()
    screenshot(page, "e2e-keyboard-review")

    db.session.rollback()
    run = db.session.scalar(select(Enrolment).where(Enrolment.user_id == world.learner.id))
    assert run.status == "completed"
    attempt = db.session.scalar(select(Attempt))
    assert (attempt.state, attempt.marks) == ("finished", 3.0)
