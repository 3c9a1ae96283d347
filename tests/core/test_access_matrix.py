"""Every route declares who may use it; every route is requested as every kind of visitor.

A route added without ``@access(...)`` fails ``test_every_route_declares_access``.
A new route with URL arguments needs a sample value in ``_sample_args``.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import url_for

from elearn import create_app
from elearn.accounts import imports as staff_imports
from elearn.accounts import services as accounts
from elearn.accounts.models import RoleAssignment
from elearn.core.access import Access, declared_access
from elearn.core.models import OutboxMail
from elearn.courses import services as courses
from elearn.extensions import db
from elearn.jobs import services as jobs
from elearn.media import services as media
from elearn.progress import certificates
from elearn.progress import services as progress
from elearn.quiz import attempts as quiz_attempts
from elearn.quiz import authoring as quiz_authoring
from elearn.quiz import services as quiz
from elearn.reports import assignments, exports, queries
from elearn.reports import classes as training
from elearn.surveys import services as surveys
from tests.conftest import _config_dict

VISITORS = ["anonymous", "learner", "instructor", "hr_other", "hr_unit", "admin"]
WORLD_NAME = {
    "learner": "learner",
    "instructor": "instructor",
    "hr_other": "hr_b",
    "hr_unit": "hr_a",
    "admin": "admin",
}
ALLOWED = {200, 302, 400}
#: Routes about one person's own object (the sample belongs to the instructor): whoever
#: else may pass the gate gets 404.
OWN_OBJECT = {
    "jobs.detail": {"instructor", "admin"},
    "jobs.status": {"instructor", "admin"},
    # The sample attempt is the outsider's (none of the visitors): 404 to everyone.
    **{f"quiz.{name}": set() for name in ("attempt", "save", "summary", "submit", "review")},
    # The sample certificate is the outsider's: only an admin may download another's.
    "progress.certificate_pdf": {"admin"},
    # The sample staff import is hr_a's: its uploader and admins only.
    **{
        f"staff_import.{name}": {"hr_unit", "admin"}
        for name in ("detail", "status", "apply", "errors_csv")
    },
    # The sample export is hr_a's: personal data, for the person who asked only.
    "reports.download": {"hr_unit"},
}
#: Routes where the object decides beyond the gate (visitor: answer). The learner is not
#: enrolled in the sample course, so gets no lecture files; nobody here has a run to
#: report watching for; uploads belong to the instructor who started them.
BY_OBJECT = {
    "media.lecture_file": {"learner": "403"},
    "media.caption_file": {"learner": "403"},
    "media.report_watch": {v: "403" for v in VISITORS if v != "anonymous"},
    "teach_media.upload_offset": {"admin": "404"},
    "teach_media.upload_chunk": {"admin": "404"},
    # The instructor (asked earlier) removed the sample question; it is gone for the admin.
    "teach_quiz.remove": {"admin": "404"},
    # Likewise the sample quiz's slot and override.
    "teach_quizzes.remove_slot": {"admin": "404"},
    "teach_quizzes.remove_override": {"admin": "404"},
    # The sample run and certificate are the outsider's, not the sample user's (learner).
    **{
        f"progress.{name}": {"admin": "404"}
        for name in ("reset_run", "override_run", "revoke_certificate", "reissue_certificate")
    },
}
# Tests build the schema with create_all, never stamped by Alembic: no process is ready.
BY_OBJECT["core.readyz"] = dict.fromkeys(VISITORS, "503")
#: Routes whose ``activity_id`` must be a quiz (the default sample is a video lesson).
QUIZ_ROUTES = ("teach_quizzes.",)
#: Routes whose ``activity_id`` must be a survey (the outsider has answered the sample, so
#: its items can no longer change: those routes refuse with a message).
SURVEY_ROUTES = ("teach_surveys.", "surveys.")
#: Routes whose normal answer is a redirect to the sign-in page.
ENDS_AT_LOGIN = {"accounts.logout"}


def _routes():
    app = create_app(_config_dict(SQLALCHEMY_DATABASE_URI="sqlite://"))
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append(
                pytest.param(rule.endpoint, rule.rule, method, id=f"{method} {rule.rule}")
            )
    return routes


def _sample_args(world):
    instructor_role = db.session.scalar(
        db.select(RoleAssignment).where(RoleAssignment.user_id == world.instructor.id)
    )
    mail = OutboxMail(
        to_address="x@example.vn", subject="s", body="b", kind="welcome", status="captured"
    )
    db.session.add(mail)
    db.session.commit()
    course = courses.create_course(world.instructor, slug="mau", title="Khóa học mẫu")
    module = courses.add_module(course, "Phần 1")
    courses.add_page(module, "Bài 1", "Nội dung")
    lesson = media.add_video(module, "Bài giảng", "")
    video = media.video_of(lesson)
    video.version = video.ready_version = 1
    video.state, video.kind, video.duration = "ready", "video", 10.0
    poster = media.output_dir(video, 1) / "poster.jpg"
    poster.parent.mkdir(parents=True)
    poster.write_bytes(b"\xff\xd8 not really a jpeg")
    caption = media.add_caption(
        lesson, world.instructor, "vi", b"WEBVTT\n\n00:01.000 --> 00:02.000\nXin chao\n", "vi.vtt"
    )
    upload = media.start_upload(lesson, world.instructor, "bai-giang.mp4", 1000)
    [question] = quiz.import_questions(course, "Dữ liệu là nền tảng. {T}".encode(), "gift", None)
    sample_quiz = quiz_authoring.add_quiz(module, "Kiểm tra", "", completion="attempted")
    settings = quiz_attempts.quiz_of(sample_quiz)
    [slot] = quiz_authoring.add_questions(settings, [question])
    override = quiz_authoring.add_override(
        settings, world.instructor, unit=world.dept_b, extra_attempts=1
    )
    courses.set_status(course, world.instructor, True)
    # The outsider (none of the visitors) made the sample attempt, so the learner stays
    # unenrolled (see BY_OBJECT).
    attempt = quiz_attempts.start(
        sample_quiz, world.outsider, courses.enrol(world.outsider, course)
    )
    quiz_attempts.finish(attempt)
    outsider_run = courses.current_run(world.outsider, course)
    sample_survey = surveys.add_survey(module, "Khảo sát", "")
    survey_items = surveys.items_of(surveys.survey_of(sample_survey))
    surveys.submit(
        outsider_run, sample_survey, {i.id: "5" for i in survey_items if i.kind == "likert"}
    )
    progress.override_run(outsider_run, world.admin, "Học tại lớp")
    [certificate] = certificates.of_run(outsider_run)
    db.session.commit()
    # hr_a (hr_unit) assigns the course to someone of their department (none of the
    # visitors, who stay unenrolled: see BY_OBJECT) and opens a class there; hr_b
    # (hr_other) must find neither.
    member = accounts.create_user("Thành Viên Mẫu", "thanh.vien", world.team_a1)
    assignment = assignments.create_assignment(
        world.hr_a, course_ids=[course.id], unit_ids=[], user_ids=[member.id], due_on=None
    )
    assignments.apply(assignment)
    sample_class = training.create_class(
        world.admin,
        code="LOP-MAU",
        name="Lớp mẫu",
        description="",
        organiser_unit=world.dept_a,
        opens_on=date.today(),
        closes_on=date.today() + timedelta(days=7),
        course_ids=[course.id],
        unit_ids=[],
        user_ids=[member.id],
    )
    assignments.apply(sample_class.assignment)
    organiser = training.add_organiser(sample_class, world.admin, world.outsider.username)
    [organiser_role] = training.organisers_of(sample_class)
    export = exports.request_export(
        world.hr_a,
        queries.scope_of(world.hr_a),
        view="runs",
        fmt="csv",
        filters=queries.Filters(),
        within=None,
    )
    db.session.commit()
    exports.start_job(export)
    staff_import, staff = staff_imports.create_import(
        world.hr_a, "nhan-su.csv", staff_imports.sample_csv([world.team_a1.code])
    )
    staff_imports.check(staff_import, staff)
    db.session.commit()
    assert organiser.id == world.outsider.id  # none of the visitors organises it
    return {
        "slug": course.slug,
        "course_id": course.id,  # the instructor created it, so is its staff
        "staff_id": courses.staff_of(course)[0].id,
        "job_id": jobs.start("content.rerender", owner_id=world.instructor.id).id,
        "module_id": module.id,
        "activity_id": lesson.id,  # a video lesson: its routes and the page routes work
        "version": 1,
        "name": "poster.jpg",
        "caption_id": caption.id,
        "upload_id": upload.id,
        "question_id": question.id,
        "quiz_activity_id": sample_quiz.id,  # for QUIZ_ROUTES' activity_id
        "survey_activity_id": sample_survey.id,  # for SURVEY_ROUTES' activity_id
        "item_id": survey_items[0].id,
        "slot_id": slot.id,
        "override_id": override.id,
        "attempt_id": attempt.id,
        "kind": "multichoice",
        "user_id": world.learner.id,  # in hr_unit's subtree, outside hr_other's
        "unit_id": world.team_a1.id,
        "mail_id": mail.id,
        "assignment_id": instructor_role.id,
        "token": accounts.make_reset_token(world.learner),
        "run_id": outsider_run.id,
        "certificate_id": certificate.id,
        "course_assignment_id": assignment.id,
        "class_id": sample_class.id,
        "target_id": sample_class.assignment.targets[0].id,
        "role_id": organiser_role.id,
        "export_id": export.id,
        "import_id": staff_import.id,
        "code": certificate.code,
    }


def expected(level: Access, visitor: str, has_object: bool) -> str:
    """Return "ok", "login" (redirect to sign-in), 403 or 404."""
    if level is Access.PUBLIC:
        return "ok"
    if visitor == "anonymous":
        return "login"
    if level is Access.USER:
        return "ok"
    if level is Access.INSTRUCTOR:
        return "ok" if visitor in ("instructor", "admin") else "403"
    if level in (Access.HR, Access.REPORTS):  # no visitor here organises a class
        if visitor in ("learner", "instructor"):
            return "403"
        if visitor == "hr_other" and has_object:
            return "404"
        return "ok"
    return "ok" if visitor == "admin" else "403"


def test_every_route_declares_access(app):
    missing = [
        rule.rule for rule in app.url_map.iter_rules() if declared_access(rule.endpoint) is None
    ]
    assert missing == []


def test_an_undeclared_route_is_refused_to_everyone(make_app, world):
    app = make_app(WTF_CSRF_ENABLED=False)

    @app.route("/forgotten")
    def forgotten():
        return "should not be reachable"

    with app.test_request_context():
        pass
    client = app.test_client()
    client.post("/login", data={"username": "admin", "password": "correct-horse-battery"})
    assert client.get("/forgotten").status_code == 403


@pytest.mark.parametrize(("endpoint", "rule", "method"), _routes())
def test_access_matrix(app, world, as_user, endpoint, rule, method):
    level = declared_access(endpoint)
    samples = _sample_args(world)
    url_rule = next(r for r in app.url_map.iter_rules() if r.rule == rule)
    missing = set(url_rule.arguments) - set(samples)
    assert not missing, f"add sample values for {missing} to _sample_args"
    args = {a: samples[a] for a in url_rule.arguments}
    if "activity_id" in args and endpoint.startswith(QUIZ_ROUTES):
        args["activity_id"] = samples["quiz_activity_id"]
    if "activity_id" in args and endpoint.startswith(SURVEY_ROUTES):
        args["activity_id"] = samples["survey_activity_id"]
    with app.test_request_context():
        url = url_for(endpoint, **args)
    has_object = bool(
        set(url_rule.arguments) & {"user_id", "unit_id", "class_id", "course_assignment_id"}
    )
    outcomes = {}
    for visitor in VISITORS:
        client = as_user(WORLD_NAME.get(visitor))
        response = client.open(url, method=method, data={})
        want = expected(level, visitor, has_object)
        if want == "ok" and endpoint in OWN_OBJECT and visitor not in OWN_OBJECT[endpoint]:
            want = "404"
        if want == "ok" and visitor in BY_OBJECT.get(endpoint, {}):
            want = BY_OBJECT[endpoint][visitor]
        location = response.headers.get("Location", "")
        if want == "login":
            ok = response.status_code == 302 and "/login" in location
        elif want == "ok":
            ok = response.status_code in ALLOWED and not (
                level is not Access.PUBLIC
                and "/login" in location
                and endpoint not in ENDS_AT_LOGIN
            )
        else:
            ok = response.status_code == int(want)
        outcomes[visitor] = (want, response.status_code, location)
        assert ok, f"{method} {url} as {visitor}: expected {want}, got {outcomes[visitor]}"
