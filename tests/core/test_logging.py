"""Log lines: JSON objects with request or job IDs, the access log, tracebacks kept out of pages."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from elearn.core.access import Access, access
from elearn.jobs import services as jobs
from tests.conftest import login


def _json_lines(text: str) -> list[dict]:
    """Parse every line of ``text``; a line that is not a JSON object fails the test."""
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all(isinstance(entry, dict) for entry in entries)
    return entries


def test_a_form_refused_by_csrf_is_logged_with_its_request_id_and_time(capsys, make_app):
    app = make_app(LOG_FORMAT="json", ACCESS_LOG=True)  # CSRF protection on
    capsys.readouterr()
    response = app.test_client().post("/login", data={"username": "x", "password": "y"})
    assert response.status_code == 400
    entries = _json_lines(capsys.readouterr().err)
    access_line = next(e for e in entries if e["logger"] == "elearn.access")
    assert access_line["request_id"] == response.headers["X-Request-ID"]
    assert access_line["status"] == 400
    assert access_line["duration_ms"] >= 0


def test_json_access_lines_carry_the_request_id_and_the_user_id(capsys, world, make_app):
    app = make_app(WTF_CSRF_ENABLED=False, LOG_FORMAT="json", ACCESS_LOG=True, PROXY_COUNT=1)
    client = app.test_client()
    login(client, world.learner.username)
    capsys.readouterr()
    response = client.get("/?q=x", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 200
    entries = _json_lines(capsys.readouterr().err)
    access_line = next(e for e in entries if e["logger"] == "elearn.access")
    assert access_line["request_id"] == response.headers["X-Request-ID"]
    assert (access_line["method"], access_line["path"], access_line["status"]) == ("GET", "/", 200)
    assert access_line["user_id"] == world.learner.id
    assert access_line["remote_addr"] == "203.0.113.9"
    assert access_line["duration_ms"] >= 0
    assert access_line["level"] == "INFO"
    assert access_line["job_id"] is None
    assert datetime.fromisoformat(access_line["time"]).utcoffset().total_seconds() == 0
    line = json.dumps(access_line, ensure_ascii=False)
    assert world.learner.full_name not in line
    assert world.learner.email not in line


def test_no_access_log_unless_turned_on(capsys, make_app):
    app = make_app(LOG_FORMAT="json")
    capsys.readouterr()
    assert app.test_client().get("/login").status_code == 200
    err = capsys.readouterr().err
    assert all(e["logger"] != "elearn.access" for e in _json_lines(err))


def test_passing_health_polls_are_not_logged_but_failing_ones_are(capsys, make_app):
    app = make_app(LOG_FORMAT="json", ACCESS_LOG=True)
    client = app.test_client()
    capsys.readouterr()
    assert client.get("/healthz").status_code == 200
    assert not [e for e in _json_lines(capsys.readouterr().err) if e["logger"] == "elearn.access"]
    app.config["HEALTH_MIN_FREE_BYTES"] = 2**62
    assert client.get("/healthz").status_code == 503
    logged = [e for e in _json_lines(capsys.readouterr().err) if e["logger"] == "elearn.access"]
    assert [(e["path"], e["status"]) for e in logged] == [("/healthz", 503)]


def test_an_unexpected_error_logs_its_traceback_in_exc_and_not_in_the_page(capsys, make_app):
    app = make_app(LOG_FORMAT="json", ACCESS_LOG=True)

    @app.route("/boom")
    @access(Access.PUBLIC)
    def boom():
        raise ValueError("secret internals")

    capsys.readouterr()
    response = app.test_client().get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internals" not in body
    entries = _json_lines(capsys.readouterr().err)
    error = next(e for e in entries if e["logger"] == "elearn.core.errors")
    assert error["level"] == "ERROR"
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert "Traceback" in error["exc"]
    assert "ValueError: secret internals" in error["exc"]
    assert "Traceback" not in error["message"]
    access_line = next(e for e in entries if e["logger"] == "elearn.access")
    assert (access_line["status"], access_line["path"]) == (500, "/boom")


def test_lines_logged_by_a_job_carry_its_job_id(capsys, world, make_app):
    make_app(LOG_FORMAT="json")  # jobs run at once (JOBS_IMMEDIATE), outside any request
    capsys.readouterr()
    job = jobs.start("content.rerender", owner_id=world.admin.id)
    done = [
        e
        for e in _json_lines(capsys.readouterr().err)
        if e["message"] == f"job {job.id} (content.rerender) done"
    ]
    assert len(done) == 1
    assert (done[0]["job_id"], done[0]["request_id"]) == (job.id, None)


def test_text_lines_name_the_job_in_brackets(capsys, world, make_app):
    make_app()
    capsys.readouterr()
    job = jobs.start("content.rerender", owner_id=world.admin.id)
    done = next(line for line in capsys.readouterr().err.splitlines() if "done" in line)
    assert f"[job {job.id}]" in done


def test_an_unknown_log_format_refuses_to_start(make_app):
    with pytest.raises(RuntimeError, match="ELEARN_LOG_FORMAT"):
        make_app(LOG_FORMAT="xml")


def test_a_password_reset_token_never_reaches_the_access_log(capsys, make_app):
    app = make_app(WTF_CSRF_ENABLED=False, LOG_FORMAT="json", ACCESS_LOG=True)
    capsys.readouterr()
    app.test_client().get("/reset/a-live-looking-token-1234567890")
    text = capsys.readouterr().err
    assert "a-live-looking-token-1234567890" not in text
    access_line = next(e for e in _json_lines(text) if e["logger"] == "elearn.access")
    assert access_line["path"] == "/reset/<token>"
