"""Security headers, request IDs and the log format that carries them.

The Content-Security-Policy allows no inline script or style: every page keeps
its JavaScript and CSS in files under ``static/``. Later features must live with
that (no ``style=`` attributes, no ``onclick=``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import Flask, g, has_request_context, request

from elearn.core.logs import current_job_id, formatter_for, register_access_log

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        # hls.js feeds the <video> through a blob: MediaSource and transmuxes in a blob: worker.
        "media-src 'self' blob:",
        "worker-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def local_path(target: str | None, default: str = "/") -> str:
    """Return ``target`` if it is a path on this site, else ``default`` (no open redirects).

    Browsers drop tabs and newlines from URLs and treat a backslash as a slash, so
    "/<tab>/evil.example" would leave the site: any control character, whitespace or
    backslash makes the target unsafe, as does a scheme or a host.
    """
    if not target:
        return default
    for form in (target, unquote(target)):  # judge the decoded form too
        if not form.startswith("/") or form.startswith("//"):
            return default
        if any(ch.isspace() or ord(ch) < 32 or ch in "\\\x7f" for ch in form):
            return default
        parts = urlsplit(form)
        if parts.scheme or parts.netloc:
            return default
    return target


def current_request_id() -> str | None:
    """Return the ID of the request being served, if any."""
    if has_request_context():
        return g.get("request_id")
    return None


class RequestIdFilter(logging.Filter):
    """Put ``request_id`` ("-" outside requests) and ``job_id`` (or None) on every record.

    ``log_context`` is what the text format shows in brackets: the request ID, else
    ``job <id>`` in the worker, else "-".
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the IDs; never drop a record."""
        record.request_id = current_request_id() or "-"
        record.job_id = current_job_id()
        if record.request_id != "-" or record.job_id is None:
            record.log_context = record.request_id
        else:
            record.log_context = f"job {record.job_id}"
        return True


def configure_logging(app: Flask) -> None:
    """Log to stderr, as text or JSON (``LOG_FORMAT``), with the request or job ID."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter_for(app.config["LOG_FORMAT"]))
    handler.addFilter(RequestIdFilter())
    package_logger = logging.getLogger("elearn")
    package_logger.handlers[:] = [handler]
    package_logger.setLevel(app.config["LOG_LEVEL"])
    package_logger.propagate = False
    app.logger.handlers[:] = [handler]
    register_access_log(app)


@lru_cache(maxsize=512)
def _static_version(static_dir: str, filename: str) -> str | None:
    """Return a short digest of a static file's content, or None when it is not there."""
    path = Path(static_dir) / filename
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return None


def register_static_versions(app: Flask) -> None:
    """Add ``?v=<content digest>`` to every ``url_for('static', ...)``.

    A changed file gets a new URL, so nginx can let browsers keep static files for a year
    (``immutable``) and a deploy never serves a page with last release's script. Digests
    are cached per process: a deploy restarts the processes.
    """

    @app.url_defaults
    def _version_static(endpoint, values):
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = _static_version(app.static_folder, values["filename"])
            if version:
                values["v"] = version


def register_security(app: Flask) -> None:
    """Give every request an ID and every response the security headers."""
    register_static_versions(app)

    def _assign_request_id():
        # nginx may pass its own $request_id so both logs share one ID; anything odd is replaced.
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex

    # First of all before-request hooks: a request refused by CSRF protection (registered
    # earlier, with the extensions) must still carry its ID into the log and the response.
    app.before_request_funcs.setdefault(None, []).insert(0, _assign_request_id)

    @app.after_request
    def _set_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if g.get("request_id"):
            headers["X-Request-ID"] = g.request_id
        if response.mimetype == "text/html":
            # Pages can show personal data; never let a shared proxy keep them.
            headers.setdefault("Cache-Control", "no-store")
        return response
