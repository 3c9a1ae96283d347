"""Settings read from ``ELEARN_*`` environment variables, with embedded defaults.

``ELEARN_ENV`` picks the class: ``development`` (default), ``production`` or
``testing``. Every variable is documented once, in ``.env.example``.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The secret used when none is configured; production refuses to start with it.
DEFAULT_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - a marker, refused in production


def _env(name: str, default: str | None = None) -> str | None:
    """Return ``ELEARN_<name>``; an empty value counts as unset."""
    value = os.environ.get(f"ELEARN_{name}")
    return default if value in (None, "") else value


def _flag(name: str, default: bool = False) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _instance_dir() -> Path:
    return Path(_env("INSTANCE_DIR") or Path.cwd() / "instance").resolve()


class Config:
    """Embedded defaults: one machine, SQLite, Huey on SQLite, media on local disk."""

    ENV_NAME = "development"
    INSTANCE_DIR = _instance_dir()
    SECRET_KEY = _env("SECRET_KEY", DEFAULT_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'elearn.db'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    #: Seconds a SQLite writer waits for the lock before giving up.
    SQLITE_BUSY_TIMEOUT = float(_env("SQLITE_BUSY_TIMEOUT", "30"))
    #: How commands and jobs begin SQLite transactions (requests decide by method).
    SQLITE_BEGIN_OUTSIDE_REQUESTS = "BEGIN IMMEDIATE"
    REDIS_URL = _env("REDIS_URL")
    MEDIA_DIR = Path(_env("MEDIA_DIR") or INSTANCE_DIR / "media")
    #: Longest lecture accepted, in seconds (default 3 hours).
    MEDIA_MAX_DURATION = float(_env("MEDIA_MAX_DURATION", str(3 * 3600)))
    #: Largest lecture file accepted, in bytes (default 2 GiB); refused before any byte is stored.
    MEDIA_MAX_UPLOAD_BYTES = int(_env("MEDIA_MAX_UPLOAD_BYTES", str(2 * 1024**3)))
    #: Largest chunk the upload page sends in one request, in bytes (below MAX_REQUEST_BYTES).
    MEDIA_UPLOAD_CHUNK = int(_env("MEDIA_UPLOAD_CHUNK", str(8 * 1024 * 1024)))
    #: Seconds an unfinished upload is kept without a new chunk before it is removed.
    MEDIA_UPLOAD_TTL = int(_env("MEDIA_UPLOAD_TTL", str(24 * 3600)))
    #: x264 preset of the lecture ladder (slower presets: smaller files, longer jobs).
    MEDIA_TRANSCODE_PRESET = _env("MEDIA_TRANSCODE_PRESET", "veryfast")
    #: Threads per encoder; keep below the core count so the site stays responsive.
    MEDIA_TRANSCODE_THREADS = int(_env("MEDIA_TRANSCODE_THREADS", "2"))
    #: When set (e.g. ``/protected-media/``), lecture files are handed to nginx with
    #: X-Accel-Redirect to this internal location instead of being sent by Python.
    MEDIA_ACCEL_PREFIX = _env("MEDIA_ACCEL_PREFIX")
    #: Disk space for lectures of a course without its own quota, in MB (1,048,576 bytes);
    #: 0 means no limit. An admin sets a course's own quota at /admin/storage.
    MEDIA_COURSE_QUOTA_MB = int(_env("MEDIA_COURSE_QUOTA_MB", "20480"))

    #: Seconds after a quiz attempt's deadline in which answers sent in time but delayed
    #: by the network are still accepted; the worker finishes the attempt after it.
    QUIZ_GRACE_SECONDS = int(_env("QUIZ_GRACE_SECONDS", "30"))

    DEMO = _flag("DEMO")
    #: Run jobs inside the request instead of on a worker (tests; never in production).
    JOBS_IMMEDIATE = _flag("JOBS_IMMEDIATE")
    #: Largest request body accepted, in bytes (uploads come in chunks below this).
    MAX_CONTENT_LENGTH = int(_env("MAX_REQUEST_BYTES", str(16 * 1024 * 1024)))

    #: CSRF tokens last as long as the session: a long upload or a lecture watched for
    #: hours must not fail on a token that expired after Flask-WTF's default hour.
    WTF_CSRF_TIME_LIMIT = None

    SECURE_COOKIES = _flag("SECURE_COOKIES", False)
    #: Number of proxies (nginx) in front of the app whose X-Forwarded-* headers are trusted.
    PROXY_COUNT = int(_env("PROXY_COUNT", "0"))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * int(_env("REMEMBER_DAYS", "14"))
    #: Seconds a password reset link stays valid.
    PASSWORD_RESET_MAX_AGE = int(_env("PASSWORD_RESET_MAX_AGE", "3600"))
    #: Seconds a first-sign-in link for a new account stays valid.
    WELCOME_LINK_MAX_AGE = int(_env("WELCOME_LINK_MAX_AGE", str(7 * 24 * 3600)))

    #: Sign-in limits (Flask-Limiter syntax): per username and per client address.
    LOGIN_LIMIT_PER_USER = _env("LOGIN_LIMIT_PER_USER", "5 per minute; 20 per hour")
    LOGIN_LIMIT_PER_IP = _env("LOGIN_LIMIT_PER_IP", "60 per minute")
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = False
    #: Public certificate checks per address (codes cannot be tried in bulk).
    VERIFY_LIMIT = _env("VERIFY_LIMIT", "20 per minute; 200 per day")
    #: Downloads of personal data per signed-in person (each one builds a whole record).
    PERSONAL_DATA_LIMIT = _env("PERSONAL_DATA_LIMIT", "10 per hour")
    #: Open runs a completion-rule change recomputes at once; more go to a job.
    PROGRESS_RECOMPUTE_INLINE = int(_env("PROGRESS_RECOMPUTE_INLINE", "200"))
    #: Training hours a person should reach each year; the people report marks who is short.
    REPORTS_ANNUAL_HOURS = float(_env("REPORTS_ANNUAL_HOURS", "40"))
    #: Report exports with more rows than this are made by a job with a download link.
    REPORTS_EXPORT_INLINE_ROWS = int(_env("REPORTS_EXPORT_INLINE_ROWS", "3000"))
    #: Days an export made by a job stays downloadable.
    REPORTS_EXPORT_DAYS = int(_env("REPORTS_EXPORT_DAYS", "7"))
    #: Reminders: mandatory runs due within this many days get a "due soon" mail.
    REMINDER_DAYS_BEFORE = int(_env("REMINDER_DAYS_BEFORE", "7"))
    #: Local hours (Asia/Ho_Chi_Minh) when no reminder is mailed, "start-end" (e.g. 21-7).
    REMINDER_QUIET_HOURS = _env("REMINDER_QUIET_HOURS", "21-7")
    #: Staff files with more rows than this are checked and applied by a job, with progress.
    IMPORT_INLINE_ROWS = int(_env("IMPORT_INLINE_ROWS", "500"))

    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")

    #: Mail: with no SMTP host, mail goes to the outbox table (read at /admin/outbox).
    MAIL_SMTP_HOST = _env("SMTP_HOST")
    MAIL_SMTP_PORT = int(_env("SMTP_PORT", "587"))
    MAIL_SMTP_USER = _env("SMTP_USER")
    MAIL_SMTP_PASSWORD = _env("SMTP_PASSWORD")
    MAIL_SMTP_STARTTLS = _flag("SMTP_STARTTLS", True)
    MAIL_FROM = _env("MAIL_FROM", "elearn <no-reply@elearn.local>")
    #: Absolute base URL used in links inside mails (and behind proxies).
    BASE_URL = _env("BASE_URL", "http://127.0.0.1:5000")

    LOG_LEVEL = _env("LOG_LEVEL", "INFO")
    #: ``text`` (readable lines) or ``json`` (one object per line, for production).
    LOG_FORMAT = (_env("LOG_FORMAT", "text") or "text").strip().lower()
    #: Log one line per request on ``elearn.access`` (production; gunicorn's own is off).
    ACCESS_LOG = _flag("ACCESS_LOG")
    #: ``/healthz`` fails when the media or instance folder has less free space (bytes).
    HEALTH_MIN_FREE_BYTES = int(_env("HEALTH_MIN_FREE_BYTES", str(512 * 1024 * 1024)))


class DevelopmentConfig(Config):
    """``make run`` on one machine."""


class ProductionConfig(Config):
    """Behind nginx; refuses to start without real secrets (see ``check_production``)."""

    ENV_NAME = "production"
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL")
    SECURE_COOKIES = _flag("SECURE_COOKIES", True)
    PROXY_COUNT = int(_env("PROXY_COUNT", "1"))


class TestingConfig(Config):
    """Tests: CSRF and rate limits stay on unless a test turns them off."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret"  # noqa: S105 - tests only
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    SQLITE_BUSY_TIMEOUT = 10.0
    # Test code reads between requests made by the test client; a deferred
    # transaction there must not hold the write lock against those requests.
    SQLITE_BEGIN_OUTSIDE_REQUESTS = "BEGIN"
    REDIS_URL = None
    DEMO = False
    JOBS_IMMEDIATE = True
    MEDIA_TRANSCODE_PRESET = "ultrafast"
    MEDIA_ACCEL_PREFIX = None
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # noqa: S105 - fast hashes keep tests quick


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def config_from_env() -> type[Config]:
    """Return the config class named by ``ELEARN_ENV``."""
    name = (_env("ENV") or "development").lower()
    if name not in CONFIGS:
        raise RuntimeError(f"ELEARN_ENV must be one of {sorted(CONFIGS)}, not {name!r}")
    return CONFIGS[name]


def check_production(config: dict) -> None:
    """Refuse to run production with the default secret, the demo flag or no database URL."""
    if config.get("ENV_NAME") != "production":
        return
    problems = []
    if config.get("SECRET_KEY") in (None, "", DEFAULT_SECRET_KEY):
        problems.append("ELEARN_SECRET_KEY must be set to a long random value")
    if config.get("DEMO"):
        problems.append("ELEARN_DEMO must be off in production (it creates known passwords)")
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        problems.append("ELEARN_DATABASE_URL must be set")
    if problems:
        raise RuntimeError("Refusing to start in production: " + "; ".join(problems))
