"""Quiz attempts in Chromium: offline across two pages, the deadline with the tab closed,
a double submit, and the whole attempt with the keyboard alone.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from elearn.core.clock import utcnow
from elearn.courses import services as courses
from elearn.extensions import db
from elearn.quiz import attempts, authoring, services
from elearn.quiz.models import Attempt
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD, PG_URL

BANK = """\
::Cấp độ:: Cấp độ cao nhất của quá trình số hóa là gì? {
=Chuyển đổi số
~Số hóa thông tin
~Số hóa quy trình
}

::Dữ liệu:: Dữ liệu là nền tảng của Chính phủ số. {T}

::Viết tắt:: Viết tắt của công nghệ thông tin là gì? {=CNTT}

::Năm:: Nghị quyết 17/NQ-CP được ban hành năm nào? {#2019}
"""


@pytest.fixture
def server(app, world, make_app):
    """A live server whose deadline grace is one second."""
    if PG_URL:
        pytest.skip("browser tests run in the SQLite pass")
    served = make_app(QUIZ_GRACE_SECONDS=1)
    app.config["QUIZ_GRACE_SECONDS"] = 1  # the sweep below runs in the test's app
    httpd = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def quiz(world):
    """Four questions, two per page, in fixed order; the learner enrolled."""
    course = courses.create_course(world.instructor, slug="kiem-tra", title="Kiểm tra số hóa")
    module = courses.add_module(course, "Phần 1")
    services.import_questions(course, BANK.encode(), "gift", world.instructor)
    activity = authoring.add_quiz(
        module, "Bài kiểm tra", "Làm bài.", pass_mark=0.5, per_page=2, shuffle_answers=False
    )
    authoring.add_questions(
        authoring.quiz_in(course, activity.id)[1], services.questions_of(course)
    )
    courses.set_status(course, world.instructor, True)
    courses.enrol(world.learner, course)
    db.session.commit()
    return course, activity


def _wait(page, script: str, timeout: float = 10.0):
    """Poll a page expression until truthy (wait_for_function would need eval in the CSP)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if page.evaluate(script):
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {script}")


SAVED = "document.getElementById('quiz-saved').textContent.includes('Đã lưu tất cả')"


def _start(page, server, course, activity):
    sign_in(page, server, "learner", PASSWORD)
    page.goto(f"{server}/courses/{course.slug}/lessons/{activity.id}")
    with page.expect_navigation():
        page.get_by_role("button", name="Bắt đầu làm bài").click()
    db.session.rollback()
    return db.session.scalar(select(Attempt).order_by(Attempt.id.desc()))


def _responses(attempt_id: int) -> dict[str, object]:
    db.session.rollback()
    attempt = db.session.get(Attempt, attempt_id)
    return {
        attempts.question_of(a).name: attempts.response_of(a) for a in attempts.answers_of(attempt)
    }


def test_answers_given_offline_on_two_pages_reach_the_server(server, page_factory, quiz):
    course, activity = quiz
    page = page_factory()
    attempt = _start(page, server, course, activity)
    page.get_by_label("Chuyển đổi số").check()
    _wait(page, SAVED)
    page.context.set_offline(True)
    page.get_by_label("Đúng", exact=True).check()
    page.get_by_role("button", name="Trang sau").click()  # no request needed to change page
    page.get_by_label("Câu trả lời của anh/chị").first.fill("CNTT")
    page.get_by_label("Câu trả lời của anh/chị").nth(1).fill("2019")
    page.get_by_label("Câu trả lời của anh/chị").nth(1).blur()
    _wait(page, "document.getElementById('quiz-saved').textContent.includes('chưa được lưu')")
    screenshot(page, "quiz-offline")
    held = _responses(attempt.id)
    assert held["Cấp độ"] == 0
    assert held["Dữ liệu"] is None
    assert held["Năm"] in (None, "")
    # Reloading is impossible offline, but the answers sit in localStorage too.
    kept = page.evaluate(f"JSON.parse(localStorage.getItem('elearn-quiz-{attempt.id}')).pending")
    assert len(kept) == 3
    page.context.set_offline(False)
    _wait(page, SAVED, timeout=20)
    assert _responses(attempt.id) == {
        "Cấp độ": 0,
        "Dữ liệu": True,
        "Viết tắt": "CNTT",
        "Năm": "2019",
    }


def test_the_deadline_passes_with_the_tab_closed(server, page_factory, quiz):
    course, activity = quiz
    page = page_factory()
    attempt = _start(page, server, course, activity)
    deadline = utcnow() + timedelta(seconds=4)
    db.session.get(Attempt, attempt.id).deadline_at = deadline
    db.session.commit()
    page.get_by_label("Chuyển đổi số").check()
    _wait(page, SAVED)
    page.context.close()  # the learner closes the browser
    time.sleep(max(0.0, (deadline - utcnow()).total_seconds()) + 1.5)  # deadline + 1 s grace
    # The worker's periodic sweep (run every minute by the job queue) finishes it.
    attempts._sweep()  # noqa: SLF001
    db.session.rollback()
    done = db.session.get(Attempt, attempt.id)
    assert (done.state, done.finished_by) == ("finished", "deadline")
    assert done.finished_at == deadline
    assert done.marks == 1.0


def test_the_whole_attempt_by_keyboard_and_a_double_submit_grades_once(server, page_factory, quiz):
    course, activity = quiz
    page = page_factory()
    attempt = _start(page, server, course, activity)

    def tab_to(selector: str) -> None:
        for _ in range(80):
            page.keyboard.press("Tab")
            if page.evaluate(f"document.activeElement.matches({selector!r})"):
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("input[type=radio]")  # the first choice of question 1
    page.keyboard.press("Space")
    tab_to("input[type=radio][value=true]")
    page.keyboard.press("Space")
    tab_to(".quiz-page:not([hidden]) button[name=goto]")
    page.keyboard.press("Enter")
    _wait(page, "!document.getElementById('quiz-page-1').hidden")
    assert page.evaluate("document.activeElement.id") == "quiz-page-1-title"
    tab_to("#quiz-page-1 input[type=text]")
    page.keyboard.type("cntt")
    tab_to("#q3-answer")
    page.keyboard.type("2019")
    tab_to(".quiz-page:not([hidden]) button[value=summary]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Mọi câu hỏi đều đã được trả lời" in page.content()
    screenshot(page, "quiz-summary")
    # A double submit: two posts of the form at once (as a double click or a flaky link
    # resending would), then Enter on the focused button. One grade.
    tab_to("#submit-form button")
    statuses = page.evaluate(
        """() => {
        const f = document.getElementById('submit-form');
        const post = () => fetch(f.action, {method: 'POST', body: new FormData(f)});
        return Promise.all([post(), post()]).then(rs => rs.map(r => r.status));
        }"""
    )
    assert statuses == [200, 200]  # both followed the redirect to the review
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state()
    screenshot(page, "quiz-review")
    db.session.rollback()
    finished = db.session.scalars(select(Attempt)).all()
    assert [(a.id, a.state) for a in finished] == [(attempt.id, "finished")]
    assert finished[0].marks == 4.0
    assert "Đạt" in page.content()
