"""Certificates over HTTP: download by the owner only, public check, rate limit, admin actions,
the learner's xAPI export.
"""

from __future__ import annotations

import json
import re

import pytest

from elearn.courses import services as courses
from elearn.extensions import db
from elearn.progress import certificates
from elearn.progress import services as progress
from elearn.progress.models import Certificate


@pytest.fixture
def completed(world, make_course):
    course = make_course(pages=1)
    run = courses.enrol(world.learner, course)
    progress.record(run, courses.sequence(course)[0], "viewed")
    db.session.commit()
    [certificate] = certificates.of_run(run)
    return run, certificate


def test_only_the_owner_or_an_admin_downloads_the_pdf(completed, as_user):
    _run, certificate = completed
    url = f"/certificates/{certificate.id}.pdf"
    mine = as_user("learner").get(url)
    assert (mine.status_code, mine.mimetype) == (200, "application/pdf")
    assert mine.data.startswith(b"%PDF")
    assert as_user("outsider").get(url).status_code == 404
    assert as_user("hr_a").get(url).status_code == 404
    assert as_user("admin").get(url).status_code == 200
    again = as_user("learner").get(url, headers={"If-None-Match": mine.headers["ETag"]})
    assert again.status_code == 304


def test_codes_are_unguessable_and_typed_codes_are_forgiving(completed, client):
    _run, certificate = completed
    assert re.fullmatch(r"([2-9A-HJKMNP-Z]{4}-){3}[2-9A-HJKMNP-Z]{4}", certificate.code)
    assert len({certificates.new_code() for _ in range(2000)}) == 2000
    ok = client.get(f"/verify/{certificate.code}")
    assert ok.status_code == 200
    assert "Chứng nhận hợp lệ" in ok.get_data(as_text=True)
    assert "Nguyễn Thị Ánh" in ok.get_data(as_text=True)
    typed = client.get("/verify/" + certificate.code.replace("-", " ").lower())
    assert typed.status_code == 302
    assert typed.headers["Location"].endswith(f"/verify/{certificate.code}")


def test_random_codes_are_not_found_and_are_rate_limited(make_app, world):
    app = make_app(VERIFY_LIMIT="5 per minute")
    client = app.test_client()
    statuses = [client.get(f"/verify/{certificates.new_code()}").status_code for _ in range(7)]
    assert statuses[:5] == [404] * 5
    assert statuses[5:] == [429, 429]
    page = client.get(f"/verify/{certificates.new_code()}").get_data(as_text=True)
    assert "Nguyễn" not in page


def test_revoked_and_superseded_certificates_say_so(completed, world, client, as_user):
    run, certificate = completed
    admin = as_user("admin")
    url = f"/admin/people/{world.learner.id}/certificates/{certificate.id}"
    refused = admin.post(f"{url}/reissue", data={"reason": ""})
    assert refused.status_code == 302
    assert db.session.get(Certificate, certificate.id).status == "valid"
    world.learner.full_name = "Nguyễn Thị Ánh Dương"
    db.session.commit()
    admin.post(f"{url}/reissue", data={"reason": "Đổi họ tên theo quyết định 12/QĐ"})
    old = db.session.get(Certificate, certificate.id)
    new = db.session.get(Certificate, old.replaced_by_id)
    assert (old.status, new.status, new.full_name) == (
        "superseded",
        "valid",
        "Nguyễn Thị Ánh Dương",
    )
    assert "đã được thay thế" in client.get(f"/verify/{old.code}").get_data(as_text=True)
    admin.post(
        f"/admin/people/{world.learner.id}/certificates/{new.id}/revoke",
        data={"reason": "Cấp nhầm"},
    )
    revoked = client.get(f"/verify/{new.code}").get_data(as_text=True)
    assert "đã bị thu hồi" in revoked
    assert "Nguyễn Thị Ánh Dương" not in revoked
    # A revoked certificate is no longer downloadable by its holder.
    assert as_user("learner").get(f"/certificates/{new.id}.pdf").status_code == 404


def test_admin_reset_and_override_over_http(completed, world, as_user, make_course):
    run, certificate = completed
    admin = as_user("admin")
    admin.post(f"/admin/people/{world.learner.id}/runs/{run.id}/reset", data={"reason": ""})
    assert db.session.get(type(run), run.id).status == "completed"
    other = make_course(slug="so-hoa", title="Số hóa", pages=2)
    second = courses.enrol(world.learner, other)
    db.session.commit()
    admin.post(
        f"/admin/people/{world.learner.id}/runs/{second.id}/override",
        data={"reason": "Học tại lớp bồi dưỡng"},
    )
    second = db.session.get(type(run), second.id)
    assert second.status == "completed"
    page = admin.get(f"/admin/people/{world.learner.id}/record").get_data(as_text=True)
    assert "Hồ sơ nguyên vẹn" in page
    assert "Học tại lớp bồi dưỡng" in page
    # Another learner's run through this learner's address is not found.
    assert (
        admin.post(
            f"/admin/people/{world.outsider.id}/runs/{run.id}/override", data={"reason": "x"}
        ).status_code
        == 404
    )


def test_the_learner_exports_their_record_as_xapi(completed, as_user):
    run, _certificate = completed
    response = as_user("learner").get("/my/record.json")
    assert response.status_code == 200
    statements = json.loads(response.data)
    verbs = [s["verb"]["id"].rsplit("/", 1)[-1] for s in statements]
    assert verbs == ["attempted", "completed", "completed"]
    assert {s["actor"]["account"]["name"] for s in statements} == {"learner"}
    assert len({s["id"] for s in statements}) == len(statements)
    assert len({s["context"]["registration"] for s in statements}) == 1
    course_done = statements[-1]
    assert course_done["object"]["definition"]["type"].endswith("/course")
    assert course_done["result"]["completion"] is True
    assert course_done["timestamp"].endswith("Z")
    # The same export twice gives the same statement ids (an LRS ignores duplicates).
    again = json.loads(as_user("learner").get("/my/record.json").data)
    assert [s["id"] for s in again] == [s["id"] for s in statements]
