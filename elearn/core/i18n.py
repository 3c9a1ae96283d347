"""UI language and local formats: Vietnamese by default, English second.

The language comes from the signed-in person's saved choice, else the
visitor's session (set by the language switcher), else Vietnamese. Times are
stored in UTC and shown in Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Flask, current_app, has_request_context, session
from flask_babel import (
    format_date,
    format_datetime,
    format_decimal,
    format_timedelta,
    get_locale,
)
from flask_login import current_user

from elearn.extensions import babel

_DATETIME_PATTERNS = {"vi": "HH:mm dd/MM/yyyy", "en": "d MMM yyyy, HH:mm"}
_DATE_PATTERNS = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}


def select_locale() -> str:
    """Return the language for this request."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def local_datetime(value: datetime | None) -> str:
    """Format a stored UTC datetime in local time, the local way."""
    if value is None:
        return ""
    return format_datetime(value, _DATETIME_PATTERNS.get(str(get_locale()), "medium"))


def local_date(value) -> str:
    """Format a date (or datetime) the local way."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, _DATE_PATTERNS.get(str(get_locale()), "medium"))
    return format_date(value, _DATE_PATTERNS.get(str(get_locale()), "medium"))


def iso_date(value: str) -> str:
    """Format an ISO date string (as written in content packs) the local way."""
    try:
        return local_date(date.fromisoformat(value))
    except (TypeError, ValueError):
        return value


def due_day(value: datetime | None) -> str:
    """Format a stored due instant (the end of a local day) as that day, the local way."""
    if value is None:
        return ""
    return local_date(value - timedelta(seconds=1))


def register_i18n(app: Flask) -> None:
    """Bind Flask-Babel and the template filters."""
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=lambda: app.config["BABEL_DEFAULT_TIMEZONE"],
    )
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["due_day"] = due_day
    app.jinja_env.filters["iso_date"] = iso_date
    app.jinja_env.filters["number"] = format_decimal
    app.jinja_env.filters["duration"] = lambda delta: format_timedelta(delta, threshold=1.5)
    app.jinja_env.add_extension("jinja2.ext.do")

    @app.context_processor
    def _language_context():
        return {"current_locale": str(get_locale()), "languages": app.config["LANGUAGES"]}
