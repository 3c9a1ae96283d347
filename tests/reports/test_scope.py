"""Nothing outside the viewer's scope: hr of one unit and a class organiser, by every door.

Every report page, chart and export is asked with IDs and parameters of another scope;
each answers 404 (or refuses at the role gate), and what is shown or exported never
holds a name or number from outside.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from elearn.core.clock import to_local, utcnow
from elearn.core.models import AuditLog
from elearn.courses.models import Enrolment
from elearn.extensions import db
from elearn.progress import services as progress
from elearn.reports import assignments, classes
from elearn.reports.models import Assignment, TrainingClass


@pytest.fixture
def scene(world, make_course, make_user):
    """A course assigned to everyone; a class in each department; an organiser of one."""
    course = make_course(slug="chung", title="Khóa chung", pages=1)
    everyone = assignments.create_assignment(
        world.admin,
        course_ids=[course.id],
        unit_ids=[world.ministry.id],
        user_ids=[],
        due_on=to_local(utcnow()).date() + timedelta(days=5),
    )
    assignments.apply(everyone)
    b_only = assignments.create_assignment(
        world.hr_b, course_ids=[course.id], unit_ids=[world.dept_b.id], user_ids=[], due_on=None
    )
    assignments.apply(b_only)
    organiser = make_user(world.team_a1, "Vũ Tổ Chức", "tochuc")
    stranger = make_user(world.dept_b, "Trịnh Người Lạ", "nguoila")
    today = to_local(utcnow()).date()

    def open_class(code, unit, people):
        created = classes.create_class(
            world.admin,
            code=code,
            name=f"Lớp {code}",
            description="",
            organiser_unit=unit,
            opens_on=today,
            closes_on=today + timedelta(days=10),
            course_ids=[course.id],
            unit_ids=[],
            user_ids=[p.id for p in people],
        )
        assignments.apply(created.assignment)
        return created

    class_b = open_class("LOP-B", world.dept_b, [world.outsider, world.learner])
    class_a = open_class("LOP-A", world.dept_a, [stranger])
    classes.add_organiser(class_b, world.admin, "tochuc")
    outsider_run = db.session.scalar(
        db.select(Enrolment).where(Enrolment.user_id == world.outsider.id).limit(1)
    )
    progress.override_run(outsider_run, world.admin, "Học tại lớp")
    db.session.commit()
    return {
        "course": course,
        "class_a": class_a,
        "class_b": class_b,
        "b_only": b_only,
        "organiser": organiser,
        "stranger": stranger,
    }


def _client(app, username):
    client = app.test_client()
    response = client.post(
        "/login", data={"username": username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    return client


OUTSIDE_NAMES = ("Đỗ Văn Dũng", "Trịnh Người Lạ", "Vụ B", "Phạm Văn Đức")


def _rows_of(response) -> str:
    """The text of an export (CSV or XLSX)."""
    if response.mimetype == "text/csv":
        return response.get_data().decode("utf-8-sig")
    book = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    return "\n".join(
        " ".join(str(v) for v in row if v is not None)
        for row in book.active.iter_rows(values_only=True)
    )


def test_hr_of_one_unit_gets_404_for_every_other_id(app, world, scene):
    client = _client(app, "hr.a")
    other = world.dept_b.id
    above = world.ministry.id
    for url in (
        f"/reports/units?unit={other}",
        f"/reports/units?unit={above}",
        f"/reports/units/chart.svg?unit={other}",
        f"/reports/units/chart.svg?unit={above}",
        f"/reports/courses?unit={other}",
        f"/reports/courses/chart.svg?unit={other}",
        f"/reports/people?unit={other}",
        f"/reports/people/{world.outsider.id}",
        f"/reports/people/{scene['stranger'].id}",
        f"/classes/{scene['class_b'].id}",
        f"/classes/{scene['class_b'].id}/chart.svg",
        f"/classes/{scene['class_b'].id}/edit",
        f"/assignments/{scene['b_only'].id}",
        "/reports/units?unit=999999",
    ):
        assert client.get(url).status_code == 404, url
    for url, data in (
        (f"/reports/export?unit={other}", {"view": "runs", "format": "csv"}),
        (f"/reports/export?unit={other}", {"view": "units", "format": "xlsx"}),
        (f"/reports/export?unit={above}", {"view": "people", "format": "csv"}),
        (f"/reports/export?class_id={scene['class_b'].id}", {"view": "runs", "format": "csv"}),
        ("/reports/export?class_id=999999", {"view": "runs", "format": "csv"}),
        (f"/classes/{scene['class_b'].id}/participants", {"usernames": "hr.a"}),
        (f"/classes/{scene['class_b'].id}/organisers", {"username": "hr.a"}),
        (f"/classes/{scene['class_b'].id}/cancel", {}),
        (f"/assignments/{scene['b_only'].id}/withdraw", {}),
    ):
        assert client.post(url, data=data).status_code == 404, url
    assert db.session.get(Assignment, scene["b_only"].id).withdrawn_at is None


@pytest.mark.parametrize(
    "url",
    [
        "/reports/units",
        "/reports/units/chart.svg",
        "/reports/courses",
        "/reports/courses/chart.svg",
        "/reports/people",
        "/reports/people?short=1",
        "/reports/units?mode=completion&period=custom&date_from=2020-01-01",
        "/classes",
        "/assignments",
    ],
)
def test_hr_pages_show_nothing_from_other_units(app, world, scene, url):
    page = _client(app, "hr.a").get(url).get_data(as_text=True)
    for name in OUTSIDE_NAMES:
        assert name not in page, (url, name)


@pytest.mark.parametrize("view", ["units", "courses", "people", "runs"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_hr_exports_hold_only_their_units(app, world, scene, view, fmt):
    client = _client(app, "hr.a")
    response = client.post("/reports/export", data={"view": view, "format": fmt})
    assert response.status_code == 200
    text = _rows_of(response)
    for name in OUTSIDE_NAMES:
        assert name not in text
    if view in ("people", "runs"):
        assert "Nguyễn Thị Ánh" in text  # the learner of dept_a is there
    entry = db.session.scalar(
        db.select(AuditLog).where(AuditLog.action == "report.exported").order_by(AuditLog.id.desc())
    )
    assert entry.actor_id == world.hr_a.id
    assert f"{view}.{fmt}" in entry.detail


def test_an_organiser_sees_their_class_from_every_unit_and_nothing_else(app, world, scene):
    client = _client(app, "tochuc")
    class_b, class_a = scene["class_b"], scene["class_a"]
    page = client.get(f"/classes/{class_b.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Đỗ Văn Dũng" in text  # a participant from dept_b, outside the organiser's unit
    assert "Trịnh Người Lạ" not in text  # in another class
    assert client.get(f"/classes/{class_b.id}/chart.svg").status_code == 200
    listing = client.get("/classes").get_data(as_text=True)
    assert "LOP-B" in listing
    assert "LOP-A" not in listing
    for url in (
        f"/classes/{class_a.id}",
        f"/classes/{class_a.id}/chart.svg",
        "/reports/units/chart.svg",
        "/reports/courses/chart.svg",
        f"/reports/people/{world.outsider.id}",
        f"/reports/people/{world.learner.id}",
    ):
        assert client.get(url).status_code == 404, url
    for url in ("/reports/units", "/reports/courses", "/reports/people"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/classes")
    # The class export holds the class's runs only.
    response = client.post(
        f"/reports/export?class_id={class_b.id}", data={"view": "runs", "format": "csv"}
    )
    text = _rows_of(response)
    assert "Đỗ Văn Dũng" in text
    assert "Nguyễn Thị Ánh" in text
    assert text.count("Khóa chung") == 2  # two participants, their class runs only
    for url, data in (
        (f"/reports/export?class_id={class_a.id}", {"view": "runs", "format": "csv"}),
        (f"/reports/export?class_id={class_b.id}", {"view": "units", "format": "csv"}),
        ("/reports/export", {"view": "runs", "format": "csv"}),
        (f"/reports/export?unit={world.dept_a.id}", {"view": "people", "format": "xlsx"}),
    ):
        assert client.post(url, data=data).status_code in (400, 404), url
    # Managing the class is for hr and admins: the role gate refuses an organiser.
    for url in (
        f"/classes/{class_b.id}/edit",
        f"/classes/{class_b.id}/participants",
        f"/classes/{class_b.id}/organisers",
        f"/classes/{class_b.id}/cancel",
    ):
        assert client.post(url, data={}).status_code == 403, url
    assert db.session.get(TrainingClass, class_b.id).assignment.withdrawn_at is None


def test_hr_running_a_class_sees_its_participants_from_other_units(app, world, scene):
    """Hr of the organising unit manage the class, participants from anywhere included."""
    page = _client(app, "hr.a").get(f"/classes/{scene['class_a'].id}").get_data(as_text=True)
    assert "Trịnh Người Lạ" in page
