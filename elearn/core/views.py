"""Home page per role, language switch, health and readiness checks, audit log and outbox."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from elearn.accounts import services as accounts
from elearn.core import services
from elearn.core.access import Access, access
from elearn.core.forms import page_number
from elearn.core.models import OutboxMail
from elearn.core.security import local_path
from elearn.extensions import db, limiter
from elearn.ops import health
from elearn.progress import dashboard

bp = Blueprint("core", __name__)

MAIL_STATUS = {"captured": _l("kept, not sent"), "sent": _l("sent"), "failed": _l("failed")}


@bp.app_context_processor
def _mail_labels():
    return {"status_label": lambda status: MAIL_STATUS.get(status, status)}


@bp.route("/")
@access(Access.PUBLIC)
def home():
    """The start page: a welcome for visitors, a page per role for signed-in people."""
    if not current_user.is_authenticated:
        return render_template("core/welcome.html")
    managed = (
        accounts.count_units_in_scope(current_user)
        if (current_user.is_hr or current_user.is_admin)
        else 0
    )
    return render_template(
        "core/home.html",
        managed_unit_count=managed,
        roles=accounts.roles_of(current_user),
        board=dashboard.for_user(current_user),
    )


@bp.route("/language", methods=["POST"])
@access(Access.PUBLIC)
def set_language():
    """Switch the UI language; remembered for the session and on the account."""
    locale = request.form.get("locale", "")
    if locale not in current_app.config["LANGUAGES"]:
        abort(400)
    session["locale"] = locale
    if current_user.is_authenticated:
        accounts.set_locale(current_user, locale)
        db.session.commit()
    return redirect(local_path(request.form.get("next")))


def _report_response(report: health.Report):
    response = jsonify(report.as_dict())
    response.status_code = 200 if report.ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/healthz")
@access(Access.PUBLIC)
@limiter.exempt
def healthz():
    """Report database, Redis, disk and worker checks: 200 when all pass, else 503."""
    return _report_response(health.health())


@bp.route("/readyz")
@access(Access.PUBLIC)
@limiter.exempt
def readyz():
    """Answer 200 when this process can serve (database up, schema migrated), else 503."""
    return _report_response(health.readiness())


@bp.route("/admin/audit")
@access(Access.ADMIN)
def audit():
    """The audit log, newest first, filterable by action."""
    action = request.args.get("action") or None
    page = services.audit_page(request.args.get("page", 1, type=page_number), action=action)
    user_names, unit_names = accounts.names_by_id(
        {e.target_id for e in page.items if e.target_type == "user"},
        {e.target_id for e in page.items if e.target_type == "unit"},
    )
    return render_template(
        "core/audit.html",
        page=page,
        action=action,
        actions=services.audit_actions(),
        label=services.audit_label,
        user_names=user_names,
        unit_names=unit_names,
    )


@bp.route("/admin/outbox")
@access(Access.ADMIN)
def outbox():
    """Mails the platform sent or captured."""
    return render_template(
        "core/outbox.html",
        page=services.outbox_page(request.args.get("page", 1, type=page_number)),
        smtp=bool(current_app.config.get("MAIL_SMTP_HOST")),
    )


@bp.route("/admin/outbox/<int:mail_id>")
@access(Access.ADMIN)
def outbox_mail(mail_id: int):
    """One mail, as the recipient would read it."""
    return render_template("core/outbox_mail.html", mail=db.get_or_404(OutboxMail, mail_id))
