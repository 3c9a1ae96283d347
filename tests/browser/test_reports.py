"""hr assigns a course, reads the report, drills down and exports; an organiser's class page."""

from __future__ import annotations

from datetime import timedelta

from openpyxl import load_workbook

from elearn.core.clock import to_local, utcnow
from elearn.courses import services as courses
from elearn.extensions import db
from elearn.progress import services as progress
from elearn.reports import assignments, classes
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD


def _chart_drawn(page) -> bool:
    """Tell whether the page shows its chart: an inline SVG with a name and drawn bars."""
    svg = page.locator(".report-chart svg")
    box = svg.bounding_box()
    return (
        svg.get_attribute("role") == "img"
        and bool(page.get_by_role("img").first.get_attribute("aria-labelledby"))
        and svg.locator("rect").count() > 3
        and box is not None
        and box["width"] > 300
    )


def test_hr_assigns_a_course_then_reports_drills_down_and_exports(
    live_server, page_factory, world, make_course, tmp_path
):
    course = make_course(slug="an-toan-thong-tin", title="An toàn thông tin")
    page = page_factory()
    sign_in(page, live_server, "hr.a", PASSWORD)
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Báo cáo").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Báo cáo theo đơn vị: Vụ A"
    page.get_by_role("link", name="Giao khóa học").first.click()
    page.get_by_role("link", name="Giao khóa học").last.click()
    page.get_by_label("Khóa học").select_option(label="An toàn thông tin")
    page.get_by_label("Đơn vị (cùng mọi đơn vị trực thuộc)").select_option(
        label="— — Phòng A1 (BO.A.1)"
    )
    due = to_local(utcnow()).date() + timedelta(days=30)
    page.get_by_label("Hạn hoàn thành").fill(due.isoformat())
    page.get_by_role("button", name="Giao", exact=True).click()
    assert (
        "Đã lưu việc giao khóa học và ghi danh mọi người." in page.locator(".flashes").inner_text()
    )
    screenshot(page, "assignment-created")

    # The learner of Phòng A1 studies one lesson; the report shows it.
    run = courses.current_run(world.learner, course)
    progress.record(run, courses.sequence(course)[0], "viewed")
    db.session.commit()

    page.get_by_role("link", name="Báo cáo", exact=True).click()
    assert _chart_drawn(page)
    row = page.locator("tbody tr", has_text="Phòng A1")
    assert row.locator("td").nth(1).inner_text() == "1"  # enrolled
    # Drill down by keyboard.
    page.get_by_role("link", name="Phòng A1").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/reports/units?unit=*")
    assert page.get_by_role("heading", level=1).inner_text() == "Báo cáo theo đơn vị: Phòng A1"
    assert _chart_drawn(page)
    screenshot(page, "report-drilled-down")

    with page.expect_download() as download:
        page.get_by_label("Xuất mọi lượt học (ai, khóa nào, tình trạng, ngày, điểm)").select_option(
            "xlsx"
        )
        page.locator("form.export-form", has_text="Xuất mọi lượt học").get_by_role(
            "button", name="Xuất tệp"
        ).click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    rows = list(load_workbook(saved, read_only=True).active.iter_rows(values_only=True))
    assert rows[0][0] == "Họ và tên"
    assert [r[0] for r in rows[1:]] == ["Nguyễn Thị Ánh"]
    assert rows[1][7] == "Đang học"


def test_an_organiser_follows_a_class_across_units(live_server, page_factory, world, make_course):
    course = make_course(slug="cai-cach", title="Cải cách hành chính")
    today = to_local(utcnow()).date()
    training = classes.create_class(
        world.admin,
        code="TH-CCHC-01",
        name="Lớp tập huấn cải cách hành chính",
        description="",
        organiser_unit=world.dept_a,
        opens_on=today,
        closes_on=today + timedelta(days=10),
        course_ids=[course.id],
        unit_ids=[],
        user_ids=[world.learner.id, world.outsider.id],
    )
    assignments.apply(training.assignment)
    classes.add_organiser(training, world.admin, world.instructor.username)
    db.session.commit()
    page = page_factory()
    sign_in(page, live_server, world.instructor.username, PASSWORD)
    page.get_by_role("link", name="Báo cáo").click()
    assert page.url.endswith("/classes")
    page.get_by_role("link", name="Lớp tập huấn cải cách hành chính").click()
    participants = page.locator("table", has_text="Họ và tên").inner_text()
    assert "Nguyễn Thị Ánh" in participants
    assert "Đỗ Văn Dũng" in participants  # from another department
    assert _chart_drawn(page)
    assert page.get_by_role("button", name="Hủy lớp").count() == 0  # organisers only look
    screenshot(page, "class-organiser-view")
