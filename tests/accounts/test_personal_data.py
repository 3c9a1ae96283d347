"""A person's own data (Decree 13/2023): JSON and PDF downloads, who may ask, the audit."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from elearn.core.models import AuditLog
from elearn.core.services import record_audit
from elearn.core.vietnamese import nfc
from elearn.courses import services as courses
from elearn.courses.models import Course
from elearn.extensions import db
from elearn.progress import certificates
from elearn.progress import services as progress
from elearn.quiz import attempts, authoring
from elearn.quiz import services as quiz_bank
from elearn.surveys import services as surveys
from tests.conftest import PASSWORD, csrf_token_from

BANK = "::Một:: Dịch vụ công trực tuyến mức độ 4 cho phép nộp hồ sơ qua mạng. {T}\n"


@dataclass
class Taken:
    """What one person did in one course."""

    course: Course
    certificate_code: str
    named_comment: str
    anonymous_comment: str


def take_course(world, person, slug: str, title: str, words: str) -> Taken:
    """Build a course (page, quiz, a named and an anonymous survey); ``person`` takes it all."""
    course = courses.create_course(world.instructor, slug=slug, title=title, topic="chinh-phu-so")
    module = courses.add_module(course, "Phần 1")
    page = courses.add_page(module, "Khái niệm", "Nội dung.")
    quiz_bank.import_questions(course, BANK.encode(), "gift", world.instructor)
    quiz = authoring.add_quiz(module, f"Kiểm tra {words}", "", pass_mark=0.5)
    authoring.add_questions(attempts.quiz_of(quiz), quiz_bank.questions_of(course))
    named = surveys.add_survey(module, f"Khảo sát có tên {words}", anonymous=False)
    hidden = surveys.add_survey(module, "Khảo sát ẩn danh", anonymous=True)
    courses.set_status(course, world.instructor, True)
    run = courses.enrol(person, course)
    progress.record(run, page, "viewed")
    attempt = attempts.start(quiz, person, run)
    attempts.finish(attempt)
    named_comment, anonymous_comment = f"Rất bổ ích {words}", f"Bí mật ẩn danh {words}"
    for activity, comment in ((named, named_comment), (hidden, anonymous_comment)):
        items = surveys.items_of(surveys.survey_of(activity))
        answers = {i.id: ("5" if i.kind == "likert" else comment) for i in items}
        surveys.submit(run, activity, answers)
    progress.override_run(run, world.admin, "Học tại lớp")
    [certificate] = certificates.of_run(run)
    db.session.commit()
    return Taken(course, certificate.code, named_comment, anonymous_comment)


@pytest.fixture
def taken(world):
    """The learner's course and the outsider's, each taken in full."""
    mine = take_course(world, world.learner, "chu-ky-so", "Chữ ký số cho cán bộ", "của Ánh")
    theirs = take_course(
        world, world.outsider, "dich-vu-cong", "Dịch vụ công trực tuyến", "của Dũng"
    )
    return mine, theirs


def exports_of(person) -> list[AuditLog]:
    return list(
        db.session.scalars(
            select(AuditLog).where(
                AuditLog.action == "personal_data.export", AuditLog.target_id == person.id
            )
        )
    )


def test_the_json_holds_this_persons_data_and_nobody_elses(world, taken, as_user):
    mine, theirs = taken
    response = as_user("learner").post("/account/personal-data", data={"format": "json"})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    document = json.loads(body)
    assert document["format"] == "elearn.personal-data/1"
    assert document["generated_at"].endswith("Z")
    profile = document["profile"]
    assert (profile["full_name"], profile["username"]) == ("Nguyễn Thị Ánh", "learner")
    assert (profile["email"], profile["unit"]) == (world.learner.email, "Phòng A1")
    assert [r["course"] for r in document["runs"]] == ["Chữ ký số cho cán bộ"]
    assert document["runs"][0]["status"] == "completed"
    assert [(a["quiz"], a["state"]) for a in document["quiz_attempts"]] == [
        ("Kiểm tra của Ánh", "finished")
    ]
    assert document["quiz_attempts"][0]["grade"] is not None
    texts = [a["text"] for a in document["survey_answers"] if a["text"]]
    assert texts == [mine.named_comment]
    assert {a["survey"] for a in document["survey_answers"]} == {"Khảo sát có tên của Ánh"}
    assert [c["code"] for c in document["certificates"]] == [mine.certificate_code]
    assert document["certificates"][0]["verify_url"].endswith(f"/verify/{mine.certificate_code}")
    assert {"user.created", "auth.login"} <= {e["action"] for e in document["audit"]}
    # Anonymous answers are nobody's; the other person's records never appear.
    for foreign in (
        mine.anonymous_comment,
        theirs.course.title,
        theirs.certificate_code,
        theirs.named_comment,
        "Đỗ Văn Dũng",
        "outsider",
    ):
        assert foreign not in body
    [entry] = exports_of(world.learner)
    assert (entry.actor_id, entry.target_type) == (world.learner.id, "user")
    assert "json" in entry.detail
    assert "personal data" in entry.detail


def pdf_text(tmp_path, content: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils)")
    path = tmp_path / "du-lieu.pdf"
    path.write_bytes(content)
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    return nfc(result.stdout.decode("utf-8"))


def test_the_pdf_reads_in_vietnamese_and_its_tables_run_over_pages(world, taken, as_user, tmp_path):
    mine, theirs = taken
    # Many audit entries about the account: the last table must flow over several pages.
    for n in range(120):
        record_audit(
            "user.updated",
            actor_id=world.hr_a.id,
            target_type="user",
            target_id=world.learner.id,
            detail=f"thay đổi số {n}",
        )
    db.session.commit()
    response = as_user("learner").post("/account/personal-data", data={"format": "pdf"})
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].endswith('.pdf"')
    text = pdf_text(tmp_path, response.data)
    flat = " ".join(text.split())
    assert "DỮ LIỆU CÁ NHÂN" in text
    assert "Nguyễn Thị Ánh" in flat
    assert "Chữ ký số cho cán bộ" in flat
    assert "Kiểm tra của Ánh" in flat
    assert mine.certificate_code in flat
    assert mine.named_comment in flat
    assert theirs.course.title not in flat
    assert mine.anonymous_comment not in flat
    pages = text.split("\f")
    assert len([p for p in pages if p.strip()]) >= 3
    # The header row is repeated on the pages the audit table continues on.
    assert sum("Người thực hiện" in page for page in pages) >= 2
    assert "thay đổi số 0" in flat
    assert "thay đổi số 119" in flat
    assert "pdf" in exports_of(world.learner)[0].detail


def test_get_is_refused_and_a_post_needs_the_csrf_token(make_app, world, taken):
    app = make_app()  # CSRF on, as in production
    client = app.test_client()
    page = client.get("/login")
    client.post(
        "/login",
        data={
            "username": "learner",
            "password": PASSWORD,
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        },
    )
    assert client.get("/account/personal-data").status_code == 405
    assert client.post("/account/personal-data", data={"format": "json"}).status_code == 400
    assert exports_of(world.learner) == []
    account = client.get("/account").get_data(as_text=True)
    assert 'action="/account/personal-data"' in account
    token = csrf_token_from(account)
    response = client.post("/account/personal-data", data={"format": "json", "csrf_token": token})
    assert response.status_code == 200
    assert json.loads(response.data)["profile"]["username"] == "learner"
    assert len(exports_of(world.learner)) == 1


def test_an_unknown_format_explains_and_downloads_nothing(world, as_user):
    world.learner.locale = "en"  # the message, whatever the state of the catalog
    client = as_user("learner")
    response = client.post("/account/personal-data", data={"format": "docx"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account")
    assert "Choose JSON or PDF." in client.get("/account").get_data(as_text=True)
    assert exports_of(world.learner) == []


def test_hr_downloads_for_people_of_their_units_only(world, taken, as_user):
    mine, _theirs = taken
    url = f"/admin/people/{world.learner.id}/personal-data"
    page = as_user("hr_a").get(f"/admin/people/{world.learner.id}").get_data(as_text=True)
    assert f'action="{url}"' in page
    response = as_user("hr_a").post(url, data={"format": "json"})
    assert response.status_code == 200
    document = json.loads(response.data)
    assert document["profile"]["username"] == "learner"
    assert [c["code"] for c in document["certificates"]] == [mine.certificate_code]
    [entry] = exports_of(world.learner)
    assert entry.actor_id == world.hr_a.id
    assert "by staff" in entry.detail
    assert "personal data" in entry.detail
    assert as_user("hr_b").post(url, data={"format": "json"}).status_code == 404
    assert as_user("learner").post(url, data={"format": "json"}).status_code == 403
    assert len(exports_of(world.learner)) == 1
    assert as_user("admin").post(url, data={"format": "pdf"}).status_code == 200


def test_downloads_are_rate_limited_per_person(make_app, world):
    app = make_app(WTF_CSRF_ENABLED=False, PERSONAL_DATA_LIMIT="2 per minute")
    learner, other = app.test_client(), app.test_client()
    learner.post("/login", data={"username": "learner", "password": PASSWORD})
    other.post("/login", data={"username": "outsider", "password": PASSWORD})
    statuses = [
        learner.post("/account/personal-data", data={"format": "json"}).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert other.post("/account/personal-data", data={"format": "json"}).status_code == 200


def test_other_peoples_addresses_in_the_audit_are_left_out(app, world, as_user):
    """An hr editing the account, a stranger asking for its reset: their addresses are theirs."""
    learner = world.learner.id
    for actor, address, action in (
        (world.hr_a.id, "203.0.113.66", "user.updated"),
        (None, "203.0.113.67", "auth.reset_requested"),
        (learner, "198.51.100.7", "auth.login"),
    ):
        with app.test_request_context(environ_base={"REMOTE_ADDR": address}):
            record_audit(action, actor_id=actor, target_type="user", target_id=learner)
    db.session.commit()
    body = as_user("learner").post("/account/personal-data", data={"format": "json"})
    audit = json.loads(body.get_data(as_text=True))["audit"]
    assert "198.51.100.7" in {e["ip"] for e in audit if e["action"] == "auth.login"}
    assert "203.0.113.66" not in body.get_data(as_text=True)
    assert "203.0.113.67" not in body.get_data(as_text=True)
