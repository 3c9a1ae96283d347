"""Log lines as text or JSON, the context they carry, and the app's own access log.

``ELEARN_LOG_FORMAT=text`` (the default) writes one readable line per record;
``json`` writes one JSON object per line for a log collector. Every record carries
the ID of the request it belongs to (``request_id``) or of the job the worker is
running (``job_id``), set by ``ContextFilter``. With ``ELEARN_ACCESS_LOG=1`` the app
logs one line per request on the ``elearn.access`` logger; its extra fields are
``ACCESS_FIELDS``. A user is named by ID only: log files must not collect names or
addresses of people.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask, g, request

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(log_context)s] %(name)s: %(message)s"
#: Extra fields of an access-log record, copied into its JSON object.
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "user_id", "remote_addr")
#: Polled every few seconds by load balancers: a passing answer is not worth a line.
QUIET_ENDPOINTS = frozenset({"core.healthz", "core.readyz"})
#: Endpoints whose URL holds a secret (a password-reset token): logged as their rule.
SECRET_URL_ENDPOINTS = frozenset({"accounts.reset"})

access_log = logging.getLogger("elearn.access")

_job_id: ContextVar[int | None] = ContextVar("elearn_job_id", default=None)


@contextmanager
def job_context(job_id: int) -> Iterator[None]:
    """Tag every record logged inside the block with ``job_id``."""
    token = _job_id.set(job_id)
    try:
        yield
    finally:
        _job_id.reset(token)


def current_job_id() -> int | None:
    """Return the ID of the job this thread is running, if any."""
    return _job_id.get()


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message, ids, extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record's JSON line (tracebacks go in ``exc``, never in ``message``)."""
        moment = datetime.fromtimestamp(record.created, UTC)
        entry: dict = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": _or_none(getattr(record, "request_id", None)),
            "job_id": getattr(record, "job_id", None),
        }
        for field in ACCESS_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _or_none(value: str | None) -> str | None:
    return None if value in (None, "-") else value


def formatter_for(log_format: str) -> logging.Formatter:
    """Return the formatter for ``text`` or ``json``; refuse any other name."""
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    raise RuntimeError(f"ELEARN_LOG_FORMAT must be one of {FORMATS}, not {log_format!r}")


def register_access_log(app: Flask) -> None:
    """Log one line per request on ``elearn.access`` when ``ACCESS_LOG`` is on."""
    if not app.config.get("ACCESS_LOG"):
        return

    def _start_clock():
        g.request_started = time.perf_counter()

    # First, so that a request refused by an earlier hook (CSRF) is timed too.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_clock)

    # Registered before the other after_request hooks, so it runs last and logs the final status.
    @app.after_request
    def _log_request(response):
        if request.endpoint in QUIET_ENDPOINTS and response.status_code == 200:
            return response
        path = request.path
        if request.endpoint in SECRET_URL_ENDPOINTS and request.url_rule is not None:
            path = request.url_rule.rule  # /reset/<token>: a live token must not reach logs
        started = g.get("request_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
        # Flask-Login keeps the loaded user in g; reading current_user here would load it
        # for requests (static files) that never needed it.
        user = g.get("_login_user")
        user_id = user.id if user is not None and user.is_authenticated else None
        access_log.info(
            "%s %s %s %sms",
            request.method,
            path,
            response.status_code,
            duration_ms,
            extra={
                "method": request.method,
                "path": path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "user_id": user_id,
                # ProxyFix (PROXY_COUNT) has already put the client's address here.
                "remote_addr": request.remote_addr,
            },
        )
        return response
