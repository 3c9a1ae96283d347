"""A survey in Chromium: answered with the keyboard alone, problems first, then completed."""

from __future__ import annotations

from sqlalchemy import func, select

from elearn.courses import services as courses
from elearn.extensions import db
from elearn.surveys import services as surveys
from elearn.surveys.models import SurveyAnswer, SurveyResponse
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_accessibility import _violations
from tests.conftest import PASSWORD


def test_a_learner_answers_a_survey_with_the_keyboard_and_sees_it_completed(
    live_server, page_factory, world
):
    course = courses.create_course(world.instructor, slug="khao-sat", title="Khóa có khảo sát")
    module = courses.add_module(course, "Phần 1")
    activity = surveys.add_survey(module, "Phiếu khảo sát mức độ hài lòng", "Xin cho biết ý kiến.")
    courses.set_status(course, world.instructor, True)
    courses.enrol(world.learner, course)
    db.session.commit()
    items = surveys.items_of(surveys.survey_of(activity))
    page = page_factory(bypass_csp=True)  # axe is injected as a script
    sign_in(page, live_server, world.learner.username, PASSWORD)
    page.goto(f"{live_server}/courses/{course.slug}/lessons/{activity.id}")
    assert page.locator(".survey-privacy").count() == 1
    screenshot(page, "survey-lesson")

    def tab_to(selector: str) -> None:
        for _ in range(80):
            page.keyboard.press("Tab")
            if page.evaluate(f"document.activeElement.matches({selector!r})"):
                return
        raise AssertionError(f"Tab never reached {selector}")

    # Send at once: every required item is named beside it and in the summary.
    tab_to(".survey-form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".error-summary li").count() == 5
    assert page.locator(".survey-item .error-message").count() == 5
    assert _violations(page) == []
    screenshot(page, "survey-problems")
    # The summary's first link leads to the first item's first choice.
    tab_to(".error-summary a")
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == f"#item-{items[0].id}-1"
    # Choose 5, 4, 4, 3, 5: Space takes the first point, each arrow the next one.
    page.goto(f"{live_server}/courses/{course.slug}/lessons/{activity.id}")
    for n, value in enumerate([5, 4, 4, 3, 5]):
        tab_to(f"input[name=item-{items[n].id}]")
        page.keyboard.press("Space")
        for _ in range(value - 1):
            page.keyboard.press("ArrowRight")
        checked = page.evaluate(
            f"document.querySelector('input[name=item-{items[n].id}]:checked').value"
        )
        assert checked == str(value)
    tab_to(f"#item-{items[5].id}")
    page.keyboard.type("Cần thêm bài tập <b>thực hành</b>.")
    tab_to(".survey-form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".flash-success").count() >= 1
    assert page.locator(".survey-done").count() == 1
    assert page.locator(".survey-form").count() == 0
    assert "✓" in page.locator(".lesson .meta").first.inner_text()
    screenshot(page, "survey-sent")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 1
    kept = db.session.scalar(select(SurveyAnswer.text).where(SurveyAnswer.text.is_not(None)))
    assert kept == "Cần thêm bài tập <b>thực hành</b>."
