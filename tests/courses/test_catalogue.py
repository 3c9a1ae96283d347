"""The catalogue: search without diacritics on both databases, topics, audiences."""

import pytest

from elearn.courses import services as courses
from elearn.extensions import db


def _titles(user, search="", topic=""):
    return [c.title for c in db.session.scalars(courses.catalogue(user, search, topic))]


@pytest.fixture
def three_courses(make_course):
    make_course("chinh-phu-dien-tu", "Chính phủ điện tử và dịch vụ công", topic="chinh-phu-so")
    make_course(
        "chuyen-doi-so", "Chuyển đổi số", topic="chuyen-doi-so", summary="Dữ liệu và nền tảng số"
    )
    make_course(
        "cai-cach",
        "Cải cách hành chính",
        topic="cai-cach-hanh-chinh",
        summary="Một cửa, đơn giản hóa thủ tục",
    )


@pytest.mark.parametrize(
    "typed",
    [
        "chinh phu dien tu",
        "CHÍNH PHỦ",
        "Chinh Phu",
        "điện tử",
        "DIEN TU",
        "dịch vụ công",
        "dien tu chinh phu",
        "phu",
    ],
)
def test_search_ignores_marks_case_and_word_order(world, three_courses, typed):
    """Runs on SQLite and (in CI) PostgreSQL."""
    assert _titles(world.learner, typed) == ["Chính phủ điện tử và dịch vụ công"]


def test_d_matches_the_stroked_d(world, three_courses):
    assert _titles(world.learner, "don gian hoa") == ["Cải cách hành chính"]
    assert _titles(world.learner, "du lieu") == ["Chuyển đổi số"]


def test_search_matches_word_starts_not_the_middle_of_words(world, three_courses):
    assert _titles(world.learner, "hinh") == []  # inside "chính", "hành chính"


def test_topic_filter(world, three_courses):
    assert _titles(world.learner, topic="chuyen-doi-so") == ["Chuyển đổi số"]


def test_catalogue_lists_in_vietnamese_title_order(world, three_courses):
    assert _titles(world.learner) == [
        "Cải cách hành chính",
        "Chính phủ điện tử và dịch vụ công",
        "Chuyển đổi số",
    ]


def test_drafts_stay_out_of_the_catalogue(world, make_course, as_user):
    make_course("nhap", "Bản nháp", publish=False)
    assert _titles(world.learner) == []
    assert as_user("learner").get("/courses/nhap").status_code == 404
    assert as_user("instructor").get("/courses/nhap").status_code == 200  # its staff


def test_restricted_course_is_invisible_outside_its_units(world, make_course, as_user):
    course = make_course("rieng", "Khóa riêng của Vụ A")
    course.settings.audience_all = False
    courses.set_audience(course, [world.dept_a.id])
    db.session.commit()
    assert _titles(world.learner) == ["Khóa riêng của Vụ A"]  # team A1 is below dept A
    assert _titles(world.outsider) == []
    outsider = as_user("outsider")
    assert outsider.get("/courses/rieng").status_code == 404
    assert outsider.post("/courses/rieng/enrol").status_code == 404
    activity = courses.sequence(course)[0]
    assert outsider.get(f"/courses/rieng/lessons/{activity.id}").status_code == 404
    assert "Khóa riêng" not in outsider.get("/courses").get_data(as_text=True)
    assert "Khóa riêng" in as_user("learner").get("/courses").get_data(as_text=True)


def test_catalogue_page_searches(as_user, three_courses):
    page = as_user("learner").get("/courses?q=chuyen+doi").get_data(as_text=True)
    results = page.split('class="course-list"')[1].split("</ul>")[0]
    assert "Chuyển đổi số" in results
    assert "Cải cách hành chính" not in results


def test_a_restricted_course_follows_its_unit_through_a_merge(world, make_course, as_user):
    from elearn.accounts import services as accounts

    course = make_course("rieng", "Khóa riêng của Vụ A")
    course.settings.audience_all = False
    courses.set_audience(course, [world.dept_a.id])
    db.session.commit()
    accounts.merge_unit(world.dept_a, world.dept_b, world.admin)
    db.session.commit()
    assert [u.code for u in courses.audience_units(course)] == ["BO.B"]
    assert as_user("learner").get("/courses/rieng").status_code == 200  # team A1 is under B now
    assert as_user("outsider").get("/courses/rieng").status_code == 200  # B itself
