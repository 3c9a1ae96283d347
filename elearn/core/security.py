"""Security headers, request IDs and the log format that carries them.

The Content-Security-Policy allows no inline script or style: every page keeps
its JavaScript and CSS in files under ``static/``. Later features must live with
that (no ``style=`` attributes, no ``onclick=``).
"""

from __future__ import annotations

import logging
import re
import uuid
from urllib.parse import unquote, urlsplit

from flask import Flask, g, has_request_context, request

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
    """Put ``request_id`` on every log record ("-" outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the ID; never drop a record."""
        record.request_id = current_request_id() or "-"
        return True


def configure_logging(app: Flask) -> None:
    """Log to stderr with the request ID in every line."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    )
    handler.addFilter(RequestIdFilter())
    package_logger = logging.getLogger("elearn")
    package_logger.handlers[:] = [handler]
    package_logger.setLevel(app.config["LOG_LEVEL"])
    package_logger.propagate = False
    app.logger.handlers[:] = [handler]


def register_security(app: Flask) -> None:
    """Give every request an ID and every response the security headers."""

    @app.before_request
    def _assign_request_id():
        # nginx may pass its own $request_id so both logs share one ID; anything odd is replaced.
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex

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
