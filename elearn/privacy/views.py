"""Personal data pages (bp "privacy"): downloads of one's own data, and retention.

Downloads are POSTs with a CSRF token (a crawler or a prefetch never makes one), rate
limited per person (``PERSONAL_DATA_LIMIT``), audited, and sent as attachments that no
cache keeps.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from elearn.accounts import retention
from elearn.accounts import services as accounts
from elearn.accounts.models import User
from elearn.core.access import Access, access
from elearn.core.actions import perform
from elearn.core.services import NotFound
from elearn.extensions import db, limiter
from elearn.privacy import personal_data
from elearn.privacy.forms import DownloadForm, RetentionForm

bp = Blueprint("privacy", __name__)


def _limit() -> str:
    return current_app.config["PERSONAL_DATA_LIMIT"]


def _limit_key() -> str:
    return f"personal-data:{current_user.get_id()}"


def _download(person: User, back: str) -> Response:
    """Send ``person``'s data in the format the button asked for, audited; else go back."""
    form = DownloadForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(back)
    fmt = form.format.data
    collected = personal_data.collect(person)
    personal_data.record_export(current_user, person, fmt)
    # Commit before drawing: on SQLite this request's transaction holds the write lock,
    # and a long PDF must not keep other writers waiting.
    db.session.commit()
    content, mimetype, name = personal_data.render_collected(collected, fmt)
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/account/personal-data", methods=["POST"])
@access(Access.USER)
@limiter.limit(_limit, key_func=_limit_key)
def download_own():
    """Download one's own data as JSON or PDF."""
    return _download(current_user._get_current_object(), url_for("accounts.account"))


@bp.route("/admin/people/<int:user_id>/personal-data", methods=["POST"])
@access(Access.HR)
@limiter.limit(_limit, key_func=_limit_key)
def download_person(user_id: int):
    """Download a person's data on their behalf (hr within their units, admins)."""
    try:
        person = accounts.get_user_for(current_user, user_id)
    except NotFound:
        abort(404)
    return _download(person, url_for("accounts.person", user_id=person.id))


@bp.route("/admin/privacy", methods=["GET", "POST"])
@access(Access.ADMIN)
def admin():
    """Set the retention period of inactive accounts, after a preview of what it anonymises."""
    current = retention.retention_months()
    form = RetentionForm(data={"months": current})
    proposed = None
    if form.validate_on_submit():
        months = form.months.data or None
        if form.save.data:
            if perform(
                lambda: retention.set_retention_months(months, current_user),
                _("The retention period has been saved."),
                form,
            ):
                return redirect(url_for("privacy.admin"))
        else:
            proposed = months or 0
    shown = proposed if proposed is not None else current
    count, first = retention.preview(shown)
    return render_template(
        "privacy/admin.html",
        form=form,
        current=current,
        proposed=proposed,
        count=count,
        first=first,
    )
