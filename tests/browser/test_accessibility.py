"""axe-core (pinned through axe-playwright-python) on every page, at desktop width and 320 px.

To add a page to the scan, add one line to PAGES: (who is signed in, path, name).
``AXE_PAGES=report,class`` scans only the pages whose names contain one of those words.
Paths may use {learner}, {outsider}, {unit}, {mail} and {token}.
A GET endpoint in neither PAGES nor NOT_PAGES (files, JSON, redirects) fails
``test_every_html_page_is_scanned_by_axe``: a new page cannot escape the scan.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from werkzeug.exceptions import NotFound

from elearn.accounts import imports as staff_imports
from elearn.accounts import services as accounts
from elearn.core.models import OutboxMail
from elearn.courses import services as courses
from elearn.extensions import db
from elearn.jobs import services as jobs
from elearn.media import services as media
from elearn.progress import certificates
from elearn.progress import services as progress
from elearn.quiz import attempts as quiz_attempts
from elearn.quiz import authoring as quiz_authoring
from elearn.quiz import results as quiz_results
from elearn.quiz import services as quiz
from elearn.reports import assignments, classes, exports, queries
from elearn.surveys import services as surveys
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD

PAGES = [
    (None, "/", "welcome"),
    (None, "/login", "login"),
    (None, "/forgot", "forgot"),
    (None, "/reset/{token}", "reset"),
    (None, "/reset/not-a-token", "reset-invalid"),
    (None, "/no-such-page", "error-404"),
    ("learner", "/", "home-learner"),
    ("learner", "/account", "account"),
    ("learner", "/account/password", "password"),
    ("learner", "/admin/people", "error-403"),
    ("instructor", "/", "home-instructor"),
    ("hr_a", "/", "home-hr"),
    ("hr_a", "/admin/people", "people"),
    ("hr_a", "/admin/people/new", "person-new"),
    ("hr_a", "/admin/people/{learner}", "person"),
    ("hr_a", "/admin/people/{learner}/edit", "person-edit"),
    ("hr_a", "/admin/units", "units"),
    ("hr_a", "/admin/units/{unit}", "unit-hr"),
    ("admin", "/", "home-admin"),
    ("admin", "/admin/units/{unit}", "unit-admin"),
    ("admin", "/admin/units/new", "unit-new"),
    ("admin", "/admin/people/{learner}", "person-admin"),
    ("admin", "/admin/roles", "roles"),
    ("admin", "/admin/audit", "audit"),
    ("admin", "/admin/privacy", "privacy-admin"),
    ("admin", "/admin/outbox", "outbox"),
    ("admin", "/admin/outbox/{mail}", "outbox-mail"),
    ("admin", "/admin/storage", "storage"),
    ("learner", "/courses", "catalogue"),
    ("learner", "/courses?q=chinh+phu", "catalogue-search"),
    ("learner", "/courses/{slug}", "course-not-enrolled"),
    ("instructor", "/courses/{slug}", "course-staff"),
    ("instructor", "/courses/{slug}/lessons/{activity}", "lesson"),
    ("instructor", "/teach", "teach"),
    ("instructor", "/teach/new", "teach-new"),
    ("instructor", "/teach/{course}", "teach-edit"),
    ("instructor", "/teach/{course}/modules/{module}/pages/new", "page-new"),
    ("instructor", "/teach/{course}/pages/{activity}/edit", "page-edit"),
    ("instructor", "/teach/{course}/pages/{activity}/preview", "page-preview"),
    ("instructor", "/teach/{course}/modules/{module}/videos/new", "video-new"),
    ("instructor", "/teach/{course}/videos/{video}", "teach-video"),
    ("instructor", "/teach/{course}/videos/{video_empty}", "teach-video-empty"),
    ("instructor", "/courses/{slug}/lessons/{video}", "lesson-video"),
    ("instructor", "/teach/{course}/questions", "question-bank"),
    ("instructor", "/teach/{course}/questions/new/multichoice", "question-new-multichoice"),
    ("instructor", "/teach/{course}/questions/new/truefalse", "question-new-truefalse"),
    ("instructor", "/teach/{course}/questions/new/numerical", "question-new-numerical"),
    ("instructor", "/teach/{course}/questions/new/matching", "question-new-matching"),
    ("instructor", "/teach/{course}/questions/{question}/edit", "question-edit"),
    ("instructor", "/teach/{course}/modules/{module}/quizzes/new", "quiz-new"),
    ("instructor", "/teach/{course}/quizzes/{quiz}", "teach-quiz"),
    ("instructor", "/teach/{course}/quizzes/{quiz}/results", "quiz-results"),
    ("instructor", "/teach/{course}/quizzes/{quiz}/attempts/{attempt}", "quiz-attempt"),
    ("instructor", "/teach/{course}/quizzes/{quiz}/statistics", "quiz-statistics"),
    ("outsider", "/courses/{slug}/lessons/{quiz}", "quiz-lesson"),
    ("outsider", "/courses/{slug}/attempts/{attempt}/review", "quiz-review"),
    ("outsider", "/courses/{slug}/attempts/{attempt_open}", "quiz-attempt-page"),
    ("outsider", "/courses/{slug}/attempts/{attempt_open}/summary", "quiz-summary"),
    ("admin", "/teach", "teach-admin"),
    ("admin", "/jobs", "jobs"),
    ("admin", "/jobs/{job}", "job"),
    ("outsider", "/", "dashboard"),
    (None, "/verify", "verify-form"),
    (None, "/verify/{code}", "verify-valid"),
    (None, "/verify/{code_old}", "verify-superseded"),
    (None, "/verify/{code_revoked}", "verify-revoked"),
    (None, "/verify/AAAA-BBBB-CCCC-DDDD", "verify-unknown"),
    ("admin", "/admin/people/{outsider}/record", "learner-record"),
    ("outsider", "/courses/{slug}/lessons/{survey}", "survey-lesson"),
    ("instructor", "/teach/{course}/modules/{module}/surveys/new", "survey-new"),
    ("instructor", "/teach/{course}/surveys/{survey_fresh}", "teach-survey"),
    ("instructor", "/teach/{course}/surveys/{survey}", "teach-survey-answered"),
    ("instructor", "/teach/{course}/surveys/{survey}/results", "survey-results"),
    ("instructor", "/teach/{course}/surveys/{survey_named}/results", "survey-results-named"),
    ("hr_a", "/reports/units", "report-units"),
    ("hr_a", "/reports/units?unit={unit}&period=custom&date_from=2026-13-01", "report-units-drill"),
    ("hr_a", "/reports/courses", "report-courses"),
    ("hr_a", "/reports/people", "report-people"),
    ("hr_a", "/reports/people/{learner}", "report-person"),
    ("hr_a", "/assignments", "assignments"),
    ("hr_a", "/assignments/new", "assignment-new"),
    ("hr_a", "/assignments/{assignment}", "assignment"),
    ("hr_a", "/reports/exports/{export_gone}", "export-gone"),
    ("hr_a", "/classes", "classes"),
    ("admin", "/reports/units?mode=completion&period=2026-H2", "report-units-admin"),
    ("admin", "/classes/new", "class-new"),
    ("admin", "/classes/{training_class}", "class-admin"),
    ("admin", "/classes/{training_class}/edit", "class-edit"),
    ("instructor", "/classes/{training_class}", "class-organiser"),
    ("hr_a", "/admin/imports", "imports"),
    ("hr_a", "/admin/imports/new", "import-new"),
    ("hr_a", "/admin/imports/{staff_import}", "import-dry-run"),
    ("hr_a", "/admin/imports/{staff_import_applied}", "import-result"),
]
QUESTIONS = """\
$CATEGORY: co-ban

::Một:: Cấp độ cao nhất là? {=Chuyển đổi số ~Số hóa thông tin}

::Hai:: Dữ liệu là nền tảng của Chính phủ số. {T}

::Ba:: Ghép. {=Chính phủ số -> dịch vụ công =Kinh tế số -> thương mại điện tử}
"""
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = [1280, 320]


@pytest.fixture
def sample_ids(world, make_user):
    accounts.request_password_reset("learner", "http://127.0.0.1")
    db.session.commit()
    mail = db.session.scalar(db.select(OutboxMail))
    course = courses.create_course(
        world.instructor,
        slug="chinh-phu-so",
        title="Chính phủ số",
        summary="Tóm tắt",
        topic="chinh-phu-so",
    )
    module = courses.add_module(course, "Phần 1")
    page = courses.add_page(module, "Bài 1", "## Mục\n\nNội dung **đậm**.\n\n- một\n- hai")
    courses.add_page(module, "Bài 2", "Nội dung hai.")
    video = media.add_video(module, "Bài giảng", "## Lời bài giảng\n\nNội dung.")
    lecture = media.video_of(video)
    lecture.version = lecture.ready_version = 1
    lecture.state, lecture.kind, lecture.duration = "ready", "video", 75.0
    lecture.original_name, lecture.rungs = "bài giảng.mp4", "240p,360p"
    # 95 of its 100 MB: the storage page flags the course and draws its meter.
    lecture.disk_bytes, course.settings.media_quota_mb = 95 * 1024 * 1024, 100
    media.add_caption(
        video, world.instructor, "vi", "WEBVTT\n\n00:01.000 --> 00:02.000\nChào\n".encode(), "a"
    )
    empty = media.add_video(module, "Bài giảng chưa có tệp", "")
    questions = quiz.import_questions(course, QUESTIONS.encode(), "gift", world.instructor)
    sample_quiz = quiz_authoring.add_quiz(
        module, "Bài kiểm tra", "Làm bài trong 15 phút.", completion="passed", pass_mark=0.5
    )
    settings = quiz_attempts.quiz_of(sample_quiz)
    quiz_authoring.add_questions(settings, questions)
    quiz_authoring.add_override(
        settings, world.instructor, user=world.outsider, extra_minutes=10, reason="Ốm"
    )
    courses.set_status(course, world.instructor, True)
    # The outsider's finished attempt (the learner stays unenrolled: "course-not-enrolled").
    attempt = quiz_attempts.start(
        sample_quiz, world.outsider, courses.enrol(world.outsider, course)
    )
    quiz_attempts.finish(attempt)
    quiz_results.store_statistics(sample_quiz)
    attempt_open = quiz_attempts.start(
        sample_quiz, world.outsider, courses.current_run(world.outsider, course)
    )
    # The outsider's dashboard: this run overdue, another course completed (certificates).
    courses.current_run(world.outsider, course).due_at = datetime(2026, 1, 31, 17)
    done = []
    for slug in ("cai-cach", "so-hoa"):
        other = courses.create_course(world.instructor, slug=slug, title=f"Khóa {slug}")
        courses.add_page(courses.add_module(other, "Phần 1"), "Bài 1", "Nội dung.")
        courses.set_status(other, world.instructor, True)
        run = courses.enrol(world.outsider, other)
        progress.override_run(run, world.admin, "Học tại lớp bồi dưỡng")
        done.append(certificates.of_run(run)[0])
    renewed = certificates.reissue(done[0], world.admin, "Đổi họ tên")
    certificates.revoke(done[1], world.admin, "Cấp nhầm")
    # Surveys: one not answered yet, one anonymous and one named, each answered by three
    # people (not the outsider, whose lesson shows the form).
    fresh = surveys.add_survey(module, "Khảo sát mới", "")
    sample_survey = surveys.add_survey(module, "Phiếu khảo sát", "Xin cho biết ý kiến.")
    named = surveys.add_survey(module, "Khảo sát có tên", "", anonymous=False, required=False)
    for n, values in enumerate(([5, 4, 4, 5, 5], [3, 4, 2, 4, 3], [4, 5, 5, 3, 4])):
        run = courses.enrol(make_user(world.dept_b, f"Học Viên {n}"), course)
        for activity in (sample_survey, named):
            items = surveys.items_of(surveys.survey_of(activity))
            answers = {i.id: str(v) for i, v in zip(items, values, strict=False)}
            answers[items[-1].id] = "Cần thêm ví dụ thực tế <b>ở cơ sở</b>."
            surveys.submit(run, activity, answers)
    # hr_a assigns the course to their department; a class of the department's people and
    # the outsider, organised by the instructor.
    assignment = assignments.create_assignment(
        world.hr_a,
        course_ids=[course.id],
        unit_ids=[world.dept_a.id],
        user_ids=[],
        due_on=date.today() + timedelta(days=20),
        recur_months=12,
    )
    assignments.apply(assignment)
    training = classes.create_class(
        world.admin,
        code="TH-2026-01",
        name="Lớp tập huấn cải cách hành chính",
        description="Lớp cho cán bộ làm công tác cải cách hành chính.",
        organiser_unit=world.dept_a,
        opens_on=date.today(),
        closes_on=date.today() + timedelta(days=14),
        course_ids=[course.id],
        unit_ids=[world.team_a1.id],
        user_ids=[world.outsider.id],
    )
    assignments.apply(training.assignment)
    classes.add_organiser(training, world.admin, world.instructor.username)
    db.session.commit()
    # Two staff imports of hr_a, each with a row naming an unknown unit: one checked, one applied.
    staff_files = []
    for name in ("nhan-su.csv", "nhan-su-thang-5.xlsx"):
        data = staff_imports.sample_csv([world.team_a1.code, "KHONG.CO"])
        staff_files.append(staff_imports.create_import(world.hr_a, name, data)[0])
        staff_imports.check(staff_files[-1])
    staff_imports.claim(staff_files[1], world.hr_a)
    staff_imports.apply(staff_files[1], world.hr_a)
    # An export whose file is no longer kept (its download page says so).
    gone = exports.request_export(
        world.hr_a,
        queries.scope_of(world.hr_a),
        view="runs",
        fmt="csv",
        filters=queries.Filters(),
        within=None,
    )
    db.session.commit()
    return {
        "learner": world.learner.id,
        "outsider": world.outsider.id,
        "unit": world.dept_a.id,
        "mail": mail.id,
        "token": accounts.make_reset_token(world.learner),
        "slug": course.slug,
        "course": course.id,
        "module": module.id,
        "activity": page.id,
        "video": video.id,
        "video_empty": empty.id,
        "job": jobs.start("content.rerender", owner_id=world.admin.id).id,
        "quiz": sample_quiz.id,
        "question": questions[0].id,
        "attempt": attempt.id,
        "attempt_open": attempt_open.id,
        "code": renewed.code,
        "code_old": done[0].code,
        "code_revoked": done[1].code,
        "survey": sample_survey.id,
        "survey_named": named.id,
        "survey_fresh": fresh.id,
        "assignment": assignment.id,
        "training_class": training.id,
        "staff_import": staff_files[0].id,
        "staff_import_applied": staff_files[1].id,
        "export_gone": gone.id,
    }


def _violations(page) -> list[str]:
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])}x, e.g. {v['nodes'][0]['html'][:120]})"
        for v in results.response["violations"]
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_pages_have_no_wcag_violations(live_server, page_factory, sample_ids, world, width):
    failures = {}
    pages_by_user: dict[str | None, list] = {}
    only = os.environ.get("AXE_PAGES", "")  # e.g. AXE_PAGES=report,class: just those pages
    for who, path, name in PAGES:
        if not only or any(part in name for part in only.split(",")):
            pages_by_user.setdefault(who, []).append((path, name))
    for who, entries in pages_by_user.items():
        page = page_factory(width=width, bypass_csp=True)  # axe is injected as a script
        if who:
            sign_in(page, live_server, getattr(world, who).username, PASSWORD)
        for path, name in entries:
            page.goto(live_server + path.format(**sample_ids))
            found = _violations(page)
            if found:
                failures[f"{name} {path}"] = found
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                failures.setdefault(f"{name} {path}", []).append(
                    f"page scrolls sideways by {overflow}px"
                )
            screenshot(page, f"{width}-{name}")
    assert failures == {}


def test_a_form_with_errors_has_no_violations(live_server, page_factory):
    page = page_factory(bypass_csp=True)
    sign_in(page, live_server, "learner", "wrong")
    assert page.locator(".error-summary").count() == 1
    assert _violations(page) == []


def test_the_question_import_preview_has_no_violations(
    live_server, page_factory, sample_ids, tmp_path
):
    """The preview is the answer to a POST: upload a file with one broken question, then scan."""
    path = tmp_path / "cau-hoi.gift"
    path.write_text(QUESTIONS + "\n::Bốn:: Không có đáp án đúng {~một ~hai}\n", encoding="utf-8")
    page = page_factory(bypass_csp=True)
    sign_in(page, live_server, "teacher", PASSWORD)
    page.goto(f"{live_server}/teach/{sample_ids['course']}/questions")
    page.locator("#file").set_input_files(str(path))
    with page.expect_navigation():
        page.get_by_role("button", name="Kiểm tra tệp").click()
    assert "Bốn" in page.locator(".error-summary").inner_text()
    assert _violations(page) == []
    screenshot(page, "question-import-preview")


#: GET endpoints that are not HTML pages, so axe has nothing to check; each says why.
#: Every other GET endpoint must be scanned: a new page needs a line in PAGES.
NOT_PAGES = {
    "static": "CSS, JavaScript, fonts",
    "reports.index": "redirects to the unit report",
    # JSON for scripts and monitors
    "core.healthz": "JSON health report",
    "core.readyz": "JSON readiness report",
    "jobs.status": "JSON progress of a job (follow.js)",
    "staff_import.status": "JSON progress of an import (follow.js)",
    "teach_media.video_status": "JSON state of a conversion",
    "teach_media.upload_offset": "JSON offset of a resumable upload (upload.js)",
    "progress.my_record": "xAPI JSON download",
    "progress.learner_xapi": "xAPI JSON download",
    # Files
    "progress.certificate_pdf": "PDF certificate",
    "media.lecture_file": "HLS playlists, segments, MP4 and poster of a lecture",
    "media.caption_file": "WebVTT captions",
    "staff_import.errors_csv": "CSV of the rows an import left out",
    "staff_import.sample_csv": "sample staff file (CSV)",
    "staff_import.sample_xlsx": "sample staff file (Excel)",
    "teach_quiz.export": "GIFT or Aiken file of the question bank",
    "teach_quizzes.results_csv": "CSV of a quiz's results",
    "teach_surveys.results_csv": "CSV of a survey's results",
    "reports.units_chart": "SVG chart (also inline in the page)",
    "reports.courses_chart": "SVG chart (also inline in the page)",
    "training.class_chart": "SVG chart (also inline in the page)",
}


def _scanned_endpoints(app) -> set[str]:
    """Return the endpoints the paths of PAGES lead to (placeholders filled with 1)."""
    adapter = app.url_map.bind("127.0.0.1")
    found = set()
    for _who, path, _name in PAGES:
        concrete = re.sub(r"\{\w+\}", "1", path.split("?")[0])
        try:
            endpoint, _args = adapter.match(concrete, method="GET")
        except NotFound:
            continue  # the 404 page: no endpoint of its own
        found.add(endpoint)
    return found


def test_every_html_page_is_scanned_by_axe(app):
    """Is every GET endpoint either in PAGES or listed (with a reason) as not a page?"""
    scanned = _scanned_endpoints(app)
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if "GET" in (r.methods or ())}
    missing = sorted(endpoints - scanned - NOT_PAGES.keys())
    assert missing == [], "add these pages to PAGES (or to NOT_PAGES if they are not HTML)"
    assert scanned & NOT_PAGES.keys() == set()  # a listed exception that is a page after all
