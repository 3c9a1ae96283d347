"""Security headers, CSRF, error pages, request IDs and the append-only audit log."""

import re
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from elearn.core.access import Access, access
from elearn.core.models import AuditLog
from elearn.core.services import record_audit
from elearn.extensions import db
from tests.conftest import PASSWORD, csrf_token_from

TEMPLATES = Path(__file__).parents[2] / "elearn" / "templates"


@pytest.fixture
def csrf_client(make_app, world):
    """A client of an app with CSRF on, as in production."""
    app = make_app()
    return app.test_client()


def test_every_response_carries_the_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP here


def test_hsts_is_sent_over_https_behind_the_proxy(make_app):
    app = make_app(PROXY_COUNT=1)
    response = app.test_client().get(
        "/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    )
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_static_files_are_same_origin_and_no_template_has_inline_code():
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|\son[a-z]+=|<style", re.I)
    offenders = [
        str(p.relative_to(TEMPLATES))
        for p in TEMPLATES.rglob("*.html")
        if inline.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_post_without_csrf_token_is_refused_with_a_clear_page(csrf_client):
    response = csrf_client.post("/login", data={"username": "learner", "password": PASSWORD})
    assert response.status_code == 400
    assert "Biểu mẫu đã hết hạn" in response.get_data(as_text=True)
    assert csrf_client.get("/account").status_code == 302  # not signed in


def test_post_with_csrf_token_works(csrf_client):
    token = csrf_token_from(csrf_client.get("/login").get_data(as_text=True))
    response = csrf_client.post(
        "/login", data={"username": "learner", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_every_form_posts_a_csrf_token(as_user, world):
    """Forms rendered for an admin all carry the token (the app under test has CSRF off,
    but hidden_tag() still renders it when enabled: check the templates instead).
    """
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        for form in re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", text, re.S):
            assert "hidden_tag()" in form or "csrf_token()" in form, template.name


def test_oversized_request_gets_the_413_page(make_app):
    app = make_app(MAX_CONTENT_LENGTH=1024, WTF_CSRF_ENABLED=False)
    response = app.test_client().post("/login", data={"username": "x" * 4096, "password": "y"})
    assert response.status_code == 413
    body = response.get_data(as_text=True)
    assert "Dữ liệu quá lớn" in body
    assert "<html" in body


def test_not_found_page_is_translated_and_shows_the_request_id(client):
    response = client.get("/no/such/page", headers={"X-Request-ID": "abc12345-from-nginx"})
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Không tìm thấy trang" in body
    assert "abc12345-from-nginx" in body
    assert response.headers["X-Request-ID"] == "abc12345-from-nginx"


def test_a_hostile_request_id_is_replaced(client):
    response = client.get("/login", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_unexpected_errors_show_no_traceback_and_are_logged_with_the_request_id(make_app, capsys):
    app = make_app()

    @app.route("/boom")
    @access(Access.PUBLIC)
    def boom():
        raise ValueError("secret internals")

    response = app.test_client().get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internals" not in body
    assert "Traceback" not in body
    request_id = response.headers["X-Request-ID"]
    assert request_id in body
    log_line = next(
        line for line in capsys.readouterr().err.splitlines() if "unhandled error" in line
    )
    assert f"[{request_id}]" in log_line


def test_a_dropped_database_connection_gets_a_clear_503_page(make_app, world):
    """The database ended the connection mid-request (a restart, a failover): say so."""
    app = make_app()

    @app.route("/dropped")
    @access(Access.PUBLIC)
    def dropped():
        db.session.execute(text("SELECT 1"))
        raise DBAPIError(
            "SELECT 1",
            {},
            OSError("server closed the connection unexpectedly"),
            connection_invalidated=True,
        )

    @app.route("/broken")
    @access(Access.PUBLIC)
    def broken():
        raise DBAPIError("SELECT 1", {}, OSError("syntax"), connection_invalidated=False)

    response = app.test_client().get("/dropped")
    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "Kết nối tới cơ sở dữ liệu vừa bị gián đoạn" in body
    assert "server closed" not in body
    assert "Traceback" not in body
    # Any other database error is still a plain 500.
    assert app.test_client().get("/broken").status_code == 500


def test_the_error_page_survives_a_database_that_fails_again(make_app, world, monkeypatch):
    """Rollback and the page's layout both fail: still the 503 message, never a bare 500."""
    app = make_app()

    @app.route("/dropped-twice")
    @access(Access.PUBLIC)
    def dropped_twice():
        monkeypatch.setattr(db.session, "rollback", _fail)
        monkeypatch.setattr("elearn.core.errors.render_template", _fail)
        raise DBAPIError("SELECT 1", {}, OSError("gone"), connection_invalidated=True)

    def _fail(*_args, **_kwargs):
        raise DBAPIError("ROLLBACK", {}, OSError("gone again"), connection_invalidated=True)

    response = app.test_client().get("/dropped-twice")
    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "Kết nối tới cơ sở dữ liệu vừa bị gián đoạn" in body
    assert "gone" not in body


def test_error_pages_follow_the_chosen_language(client):
    client.post("/language", data={"locale": "en", "next": "/"})
    assert "Page not found" in client.get("/nothing-here").get_data(as_text=True)


def test_audit_log_is_append_only(app, world):
    entry = record_audit("test.action", detail="first")
    db.session.commit()
    entry.detail = "rewritten"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditLog, entry.id))
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()


def test_audit_records_who_what_when_and_where(as_user, world):
    as_user(None).post(
        "/login",
        data={"username": "learner", "password": "wrong-one"},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    admin = as_user("admin")
    admin.post(
        f"/admin/people/{world.learner.id}/roles",
        data={"role": "instructor", "unit_id": world.dept_a.id},
    )
    failed = db.session.scalar(select(AuditLog).where(AuditLog.action == "auth.login_failed"))
    assert failed.ip == "198.51.100.7"
    assert failed.request_id
    granted = db.session.scalar(select(AuditLog).where(AuditLog.action == "role.assigned"))
    assert granted.actor_id == world.admin.id
    assert granted.target_id == world.learner.id
    assert "instructor" in granted.detail
    page = admin.get("/admin/audit?action=role.assigned").get_data(as_text=True)
    assert "instructor @ BO.A" in page
    assert "auth.login_failed" not in page.split("<tbody>")[1]


def test_audit_page_names_people_and_actions(as_user, world):
    admin = as_user("admin")
    admin.post(f"/admin/people/{world.learner.id}/active", data={"active": "0"})
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "Khóa tài khoản" in page  # the action's label, not only its code
    assert "Quản Trị Viên" in page  # who did it
    assert "Nguyễn Thị Ánh" in page  # to whom


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "/\t/evil.example",
        "/%09/evil.example",
        "/\\evil.example",
        "https://evil.example",
        "/\n/x",
        "/ /evil.example",
    ],
)
def test_redirect_targets_stay_on_the_site(client, world, target):
    """Login's ?next= and the language switch's next field."""
    response = client.post(
        f"/login?next={target}", data={"username": "learner", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    response = client.post("/language", data={"locale": "vi", "next": target})
    assert response.headers["Location"] == "/"


def test_huge_ids_and_page_numbers_are_not_errors(as_user, world):
    admin = as_user("admin")
    assert admin.get("/admin/people/99999999999999999999999").status_code == 404
    assert admin.get("/admin/people?page=99999999999999999999999").status_code == 200
    assert admin.get("/courses/x/lessons/99999999999999999999").status_code == 404
