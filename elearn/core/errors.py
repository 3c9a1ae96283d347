"""Error pages in the user's language, with the request ID and no traceback."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, InternalServerError

from elearn.core.services import Forbidden, NotFound, record_audit
from elearn.extensions import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Access denied"), _l("You do not have permission to open this page.")),
    404: (_l("Page not found"), _l("The page does not exist or you may not see it.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    413: (
        _l("Too large"),
        _l("What you sent is larger than this site accepts. Send a smaller file."),
    ),
    429: (
        _l("Too many attempts"),
        _l("There were too many attempts in a short time. Wait a minute and try again."),
    ),
    503: (
        _l("Briefly unavailable"),
        _l(
            "The connection to the database was interrupted for a moment, so this was not "
            "done. Nothing saved before is lost: go back and try again."
        ),
    ),
    500: (
        _l("Something went wrong"),
        _l("An unexpected error occurred. It has been logged; please try again later."),
    ),
}
CSRF_MESSAGE = _l(
    "The form had expired or was not sent from this site. Reload the page and "
    "send it again; nothing was changed."
)


def render_error(code: int, message=None):
    """Render the error page for ``code``.

    The page's layout shows the signed-in person, which may need the database; when the
    database is what failed, a plain page with the same message is sent instead (never a
    server's bare "Internal Server Error").
    """
    title, default = MESSAGES.get(code, MESSAGES[500])
    try:
        return render_template(
            "errors/error.html", code=code, title=title, message=message or default
        ), code
    except Exception:  # noqa: BLE001 - the last resort must not fail
        log.warning("the error page could not be rendered; sending the plain one", exc_info=True)
        db.session.remove()
        page = (
            '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            f"<title>{escape(str(title))}</title></head><body><main><h1>{escape(str(title))}</h1>"
            f'<p>{escape(str(message or default))}</p><p><a href="/">elearn</a></p>'
            "</main></body></html>"
        )
        return page, code


def register_error_handlers(app: Flask) -> None:
    """Answer every HTTP error and unexpected exception with our own page."""

    @app.errorhandler(CSRFError)
    def _csrf(_error):
        return render_error(400, CSRF_MESSAGE)

    @app.errorhandler(NotFound)
    def _not_found(error):
        return render_error(404, str(error))

    @app.errorhandler(Forbidden)
    def _forbidden(error):
        return render_error(403, str(error))

    @app.errorhandler(429)
    def _too_many(error):
        if request.endpoint == "accounts.login":
            db.session.rollback()
            record_audit(
                "auth.login_limited", detail=f"username={request.form.get('username', '')[:64]}"
            )
            db.session.commit()
        return render_error(429)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code and error.code < 400:
            return error
        return render_error(error.code or 500)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return _http(error)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection died under us: drop it, go on
            log.warning("rollback failed after an error; the session is discarded")
            db.session.remove()
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            # The database dropped the connection (a restart, a failover, an operator): the
            # pool has thrown it away and the next request gets a fresh one.
            log.warning("database connection lost during %s %s", request.method, request.path)
            return render_error(503)
        log.exception(
            "unhandled error for %s %s (user %s)",
            request.method,
            request.path,
            getattr(current_user, "id", None),
        )
        return render_error(InternalServerError.code)
