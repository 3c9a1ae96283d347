"""Instructors build a course through the pages: create, modules, pages, preview, reorder."""

from sqlalchemy import select

from elearn.courses import services as courses
from elearn.courses.models import Course
from elearn.extensions import db


def _course(slug="moi"):
    return db.session.scalar(select(Course).where(Course.slug == slug))


def test_an_instructor_builds_and_publishes_a_course(as_user, world):
    teacher = as_user("instructor")
    response = teacher.post(
        "/teach/new",
        data={
            "slug": "moi",
            "title": "Khóa học mới",
            "summary": "Tóm tắt",
            "topic": "chuyen-doi-so",
        },
    )
    course = _course()
    assert response.headers["Location"].endswith(f"/teach/{course.id}")
    assert course.status == "draft"
    # Publishing an empty course is refused with a message.
    teacher.post(f"/teach/{course.id}/status", data={"publish": "1"})
    assert _course().status == "draft"
    teacher.post(f"/teach/{course.id}/modules", data={"title": "Phần 1"})
    teacher.post(f"/teach/{course.id}/modules", data={"title": "Phần 2"})
    (first, _), (second, _) = courses.outline(_course())
    # Preview shows the sanitised HTML without saving.
    preview = teacher.post(
        f"/teach/{course.id}/modules/{first.id}/pages/new",
        data={
            "title": "Bài 1",
            "markdown": "## Mục\n\n<script>x()</script>**đậm**",
            "completion": "view",
            "required": "y",
            "preview": "1",
        },
    ).get_data(as_text=True)
    assert "<strong>đậm</strong>" in preview
    assert "<script>x()" not in preview
    assert courses.sequence(_course()) == []
    teacher.post(
        f"/teach/{course.id}/modules/{first.id}/pages/new",
        data={
            "title": "Bài 1",
            "markdown": "Nội dung 1",
            "completion": "view",
            "required": "y",
            "submit": "1",
        },
    )
    teacher.post(
        f"/teach/{course.id}/modules/{first.id}/pages/new",
        data={"title": "Bài 2", "markdown": "Nội dung 2", "completion": "mark_done", "submit": "1"},
    )
    assert [a.title for a in courses.sequence(_course())] == ["Bài 1", "Bài 2"]
    # Reorder: page 2 up, module 2 up.
    page2 = courses.sequence(_course())[1]
    teacher.post(f"/teach/{course.id}/pages/{page2.id}/move", data={"direction": "up"})
    assert [a.title for a in courses.sequence(_course())] == ["Bài 2", "Bài 1"]
    teacher.post(f"/teach/{course.id}/modules/{second.id}/move", data={"direction": "up"})
    assert [m.title for m, _ in courses.outline(_course())] == ["Phần 2", "Phần 1"]
    # Edit a page.
    teacher.post(
        f"/teach/{course.id}/pages/{page2.id}/edit",
        data={"title": "Bài hai", "markdown": "Mới", "completion": "view", "submit": "1"},
    )
    assert courses.sequence(_course())[0].title == "Bài hai"
    assert teacher.get(f"/teach/{course.id}/pages/{page2.id}/preview").status_code == 200
    teacher.post(f"/teach/{course.id}/status", data={"publish": "1"})
    assert _course().status == "published"
    assert "Khóa học mới" in as_user("learner").get("/courses").get_data(as_text=True)


def test_course_settings_restrict_the_audience(as_user, world, make_course):
    course = make_course()
    teacher = as_user("instructor")
    refused = teacher.post(
        f"/teach/{course.id}",
        data={"title": course.title, "summary": "", "topic": "", "audience_units": []},
    )
    assert 'href="#audience_units"' in refused.get_data(as_text=True)  # in the error summary
    assert _course(course.slug).settings.audience_all
    teacher.post(
        f"/teach/{course.id}",
        data={
            "title": course.title,
            "summary": "",
            "topic": "",
            "audience_units": [world.dept_b.id],
        },
    )
    assert [u.code for u in courses.audience_units(_course(course.slug))] == ["BO.B"]
    assert as_user("learner").get(f"/courses/{course.slug}").status_code == 404
    assert as_user("outsider").get(f"/courses/{course.slug}").status_code == 200


def test_instructors_edit_only_their_own_courses(as_user, world, make_course, make_user):
    course = make_course()
    other = make_user(
        world.dept_b, "Giảng Viên Khác", "teacher2", roles=[("instructor", world.dept_b)]
    )
    db.session.commit()
    client = as_user(None)
    client.post("/login", data={"username": other.username, "password": "correct-horse-battery"})
    assert client.get(f"/teach/{course.id}").status_code == 404
    assert client.post(f"/teach/{course.id}/status", data={"publish": "0"}).status_code == 404
    assert _course(course.slug).status == "published"
    assert course.title not in client.get("/teach").get_data(as_text=True)


def test_duplicate_or_bad_short_names_are_shown_beside_the_field(as_user, world, make_course):
    make_course("trung")
    teacher = as_user("instructor")
    for slug in ("trung", "Có Dấu"):
        html = teacher.post("/teach/new", data={"slug": slug, "title": "X"}).get_data(as_text=True)
        assert 'href="#slug"' in html


def test_rerender_command_renders_pages_again(runner, world, make_course):
    from elearn.courses.models import PageContent

    make_course()
    page = db.session.scalar(select(PageContent).order_by(PageContent.activity_id))
    page.html, page.rendered_with = "<p>stale</p>", 0
    db.session.commit()
    result = runner.invoke(args=["content", "rerender"])
    assert "2" in result.output
    db.session.expire_all()
    page = db.session.scalar(select(PageContent).order_by(PageContent.activity_id))
    assert page.html.startswith("<h2>Mục 1</h2>")
    assert page.rendered_with >= 1


def test_instructors_share_a_course(as_user, world, make_course, make_user):
    course = make_course()
    colleague = make_user(
        world.dept_b, "Đồng Nghiệp", "colleague", roles=[("instructor", world.dept_b)]
    )
    db.session.commit()
    teacher = as_user("instructor")
    page = teacher.post(
        f"/teach/{course.id}/staff", data={"username": "no.such.person"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "no.such.person" in page  # refused with a message naming it
    teacher.post(f"/teach/{course.id}/staff", data={"username": "COLLEAGUE"})
    assert [s.user.username for s in courses.staff_of(course)] == ["teacher", "colleague"]
    client = as_user(None)
    client.post(
        "/login", data={"username": colleague.username, "password": "correct-horse-battery"}
    )
    assert client.get(f"/teach/{course.id}").status_code == 200
    # Removing down to one instructor works; removing the last is refused.
    mine = next(s for s in courses.staff_of(course) if s.user.username == "teacher")
    teacher.post(f"/teach/{course.id}/staff/{mine.id}/remove")
    assert [s.user.username for s in courses.staff_of(course)] == ["colleague"]
    last = courses.staff_of(course)[0]
    client.post(f"/teach/{course.id}/staff/{last.id}/remove")
    assert [s.user.username for s in courses.staff_of(course)] == ["colleague"]


def test_only_the_progress_service_writes_progress():
    """A guard on the design: no other module creates progress rows or sets run state."""
    import re
    from pathlib import Path

    root = Path(__file__).parents[2] / "elearn"
    offenders = []
    for path in root.rglob("*.py"):
        if path.parts[-2:] in (
            ("progress", "services.py"),
            ("progress", "models.py"),
            ("progress", "record.py"),  # rebuild: replays events into the same columns
        ):
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(
            r"ActivityProgress\(|\.percent\s*=(?!=)|\.completed_at\s*=(?!=)"
            r"|run\.status\s*=(?!=)",
            text,
        ):
            offenders.append(str(path.relative_to(root)))
    assert offenders == []
