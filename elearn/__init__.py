"""elearn: self-paced online training for Vietnamese civil servants."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from elearn.config import CONFIGS, check_production, config_from_env


def create_app(config: type | dict | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, commands."""
    app = Flask(__name__, instance_relative_config=False)
    register_config(app, config)
    register_extensions(app)
    register_security(app)
    register_blueprints(app)
    register_errors(app)
    register_commands(app)
    return app


def register_config(app: Flask, config: type | dict | None) -> None:
    """Load settings from the environment, then the given overrides."""
    if isinstance(config, dict):
        app.config.from_object(CONFIGS.get(config.get("ENV_NAME", "")) or config_from_env())
        app.config.update(config)
    else:
        app.config.from_object(config or config_from_env())
    check_production(app.config)
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    app.config["SESSION_COOKIE_SECURE"] = app.config["SECURE_COOKIES"]
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SECURE_COOKIES"]
    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)


def register_extensions(app: Flask) -> None:
    """Bind the extension objects of ``elearn.extensions``."""
    from flask_babel import lazy_gettext as _l

    # Import every domain's models so Alembic and the mappers see them.
    from elearn.accounts import models as _accounts_models  # noqa: F401
    from elearn.core import models as _core_models  # noqa: F401
    from elearn.core.database import configure_engine
    from elearn.core.i18n import register_i18n
    from elearn.courses import models as _courses_models  # noqa: F401
    from elearn.extensions import csrf, db, limiter, login_manager, migrate
    from elearn.jobs import models as _jobs_models  # noqa: F401
    from elearn.progress import models as _progress_models  # noqa: F401
    from elearn.reports import models as _reports_models  # noqa: F401
    from elearn.surveys import models as _surveys_models  # noqa: F401

    db.init_app(app)
    with app.app_context():
        configure_engine(app, db.engine)
    migrate.init_app(app, db, directory=str(Path(__file__).parent.parent / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to open this page.")
    login_manager.login_message_category = "info"
    app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"] or "memory://"
    limiter.init_app(app)
    register_i18n(app)
    register_jobs(app)


def register_jobs(app: Flask) -> None:
    """Point the queues at this app and load every domain's job handlers."""
    from elearn import tasks
    from elearn.accounts import tasks as _accounts_tasks  # noqa: F401 - staff imports
    from elearn.courses import tasks as _courses_tasks  # noqa: F401
    from elearn.media import packs as _media_packs  # noqa: F401 - video lessons in packs
    from elearn.media import tasks as _media_tasks  # noqa: F401
    from elearn.quiz import packs as _quiz_packs  # noqa: F401 - question files in packs
    from elearn.quiz import tasks as _quiz_tasks  # noqa: F401

    # Assignments, exports and reminders: job handlers and the worker's periodic chores.
    from elearn.reports import assignments as _assignments  # noqa: F401
    from elearn.reports import classes as _classes  # noqa: F401 - surveys learn a run's class
    from elearn.reports import exports as _exports  # noqa: F401
    from elearn.reports import reminders as _reminders  # noqa: F401
    from elearn.surveys import packs as _surveys_packs  # noqa: F401 - surveys in packs

    tasks.bind(app)


def register_security(app: Flask) -> None:
    """Security headers, request IDs, logging and the access guard."""
    from elearn.core.access import register_access_guard
    from elearn.core.security import configure_logging
    from elearn.core.security import register_security as headers

    configure_logging(app)
    headers(app)
    register_access_guard(app)


def register_blueprints(app: Flask) -> None:
    """Register one blueprint per domain (IDs in URLs are bounded 32-bit integers)."""
    from werkzeug.routing import IntegerConverter

    class BoundedId(IntegerConverter):
        """An id that fits the database's integer; anything larger is simply not found."""

        def __init__(self, url_map, *args, **kwargs):
            kwargs.setdefault("max", 2**31 - 1)
            super().__init__(url_map, *args, **kwargs)

    app.url_map.converters["int"] = BoundedId
    from elearn.accounts.import_views import bp as staff_import_bp
    from elearn.accounts.views import bp as accounts_bp
    from elearn.core.views import bp as core_bp
    from elearn.courses.views import bp as courses_bp
    from elearn.courses.views import teach_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(staff_import_bp)
    app.register_blueprint(courses_bp)
    app.register_blueprint(teach_bp)
    from elearn.jobs.views import bp as jobs_bp
    from elearn.media.views import bp as media_bp
    from elearn.media.views import teach_bp as media_teach_bp

    app.register_blueprint(jobs_bp)
    app.register_blueprint(media_bp)
    app.register_blueprint(media_teach_bp)
    from elearn.quiz.teach_views import bp as quiz_teach_bp
    from elearn.quiz.views import bp as quiz_bp

    app.register_blueprint(quiz_bp)
    app.register_blueprint(quiz_teach_bp)
    from elearn.quiz.learn import bp as quiz_learn_bp

    app.register_blueprint(quiz_learn_bp)
    from elearn.surveys.teach_views import bp as surveys_teach_bp
    from elearn.surveys.views import bp as surveys_bp

    app.register_blueprint(surveys_bp)
    app.register_blueprint(surveys_teach_bp)
    from elearn.progress.views import bp as progress_bp

    app.register_blueprint(progress_bp)
    from elearn.reports.training_views import bp as training_bp
    from elearn.reports.views import bp as reports_bp

    app.register_blueprint(reports_bp)
    app.register_blueprint(training_bp)
    from elearn.privacy.views import bp as privacy_bp

    app.register_blueprint(privacy_bp)


def register_errors(app: Flask) -> None:
    """Error pages."""
    from elearn.core.errors import register_error_handlers

    register_error_handlers(app)


def register_commands(app: Flask) -> None:
    """Register one Click group per domain."""
    from elearn.accounts.cli import accounts_cli
    from elearn.courses.cli import content_cli

    app.cli.add_command(accounts_cli)
    app.cli.add_command(content_cli)
    from elearn.jobs.cli import worker_command
    from elearn.media.cli import media_cli
    from elearn.quiz.cli import quiz_cli

    app.cli.add_command(media_cli)
    app.cli.add_command(quiz_cli)
    from elearn.progress.cli import progress_cli

    app.cli.add_command(progress_cli)
    from elearn.reports.cli import reports_cli

    app.cli.add_command(reports_cli)
    from elearn.ops.cli import ops_group

    app.cli.add_command(ops_group)

    app.cli.add_command(worker_command)
