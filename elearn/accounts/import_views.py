"""Staff imports (bp "staff_import"): upload a file, read its dry run, apply it, see the result.

Every page is for hr and admins; an import is seen only by the person who uploaded it and
by admins (anyone else gets 404, whatever id they type). Small files are checked and
applied within the request; larger ones by jobs, whose progress the page shows
(``static/js/follow.js`` polls ``/status``; without JavaScript a link refreshes the page).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from elearn.accounts import imports, services
from elearn.accounts.forms import StaffImportForm
from elearn.accounts.models import IMPORT_OUTCOMES
from elearn.core.access import Access, access
from elearn.core.forms import ConfirmForm, page_number
from elearn.core.services import NotFound, ServiceError
from elearn.extensions import db
from elearn.jobs.models import Job

bp = Blueprint("staff_import", __name__, url_prefix="/admin/imports")

OUTCOME_LABELS = {
    "error": _l("Errors"),
    "create": _l("New accounts"),
    "update": _l("Updated"),
    "transfer": _l("Transferred"),
    "deactivate": _l("Deactivated"),
    "reactivate": _l("Reactivated"),
    "unchanged": _l("Unchanged"),
    "skipped": _l("Skipped"),
}
#: The outcome of one row, as its badge says.
ROW_LABELS = {
    "error": _l("Error"),
    "create": _l("New account"),
    "update": _l("Update"),
    "transfer": _l("Transfer"),
    "deactivate": _l("Deactivate"),
    "reactivate": _l("Reactivate"),
    "unchanged": _l("Unchanged"),
    "skipped": _l("Skipped"),
}
STATE_LABELS = {
    "checking": _l("Being checked"),
    "checked": _l("Checked, not applied"),
    "applying": _l("Being applied"),
    "applied": _l("Applied"),
    "failed": _l("Failed"),
}


def _import_or_404(import_id: int):
    try:
        return imports.import_for(current_user, import_id)
    except NotFound:
        abort(404)


def _job(record):
    return db.session.get(Job, record.job_id) if record.job_id else None


def _render(template: str, **context):
    return render_template(
        template,
        outcome_labels=OUTCOME_LABELS,
        row_labels=ROW_LABELS,
        state_labels=STATE_LABELS,
        **context,
    )


@bp.route("")
@access(Access.HR)
def index():
    """The visitor's imports (every import for admins), newest first."""
    return _render("accounts/imports.html", records=imports.imports_for(current_user))


def _new_page(form, status: int = 200):
    return _render("accounts/import_new.html", form=form, columns=imports.COLUMNS), status


@bp.route("/new", methods=["GET", "POST"])
@access(Access.HR)
def new():
    """Upload a staff file: it is read and every row checked; nothing changes yet."""
    form = StaffImportForm()
    if not form.validate_on_submit():
        return _new_page(form, 400 if request.method == "POST" else 200)
    upload = form.file.data
    try:
        # Only as many rows as a request checks itself are read here; a job reads the rest.
        record, staff = imports.create_import(
            current_user, upload.filename or "", upload.read(), limit=imports.inline_limit()
        )
        if not staff.complete:
            imports.start_check_job(record)  # commits
            flash(_("The file is being checked; its progress is shown below."), "success")
        else:
            imports.check(record, staff)
            db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        form.file.errors = [str(exc)]
        return _new_page(form, 400)
    return redirect(url_for("staff_import.detail", import_id=record.id))


@bp.route("/<int:import_id>")
@access(Access.HR)
def detail(import_id: int):
    """The dry run (or the result): counts, then every row, errors first."""
    record = _import_or_404(import_id)
    outcome = request.args.get("outcome", "")
    if outcome not in IMPORT_OUTCOMES:
        outcome = ""
    page = db.paginate(
        imports.rows_query(record, outcome or None),
        page=request.args.get("page", 1, type=page_number),
        per_page=50,
        error_out=False,
    )
    return _render(
        "accounts/import.html",
        record=record,
        page=page,
        outcome=outcome,
        job=_job(record),
        confirm_form=ConfirmForm(),
        owner=record.owner,
    )


@bp.route("/<int:import_id>/status")
@access(Access.HR)
def status(import_id: int):
    """The import's state and its job's progress, for the page's polling script."""
    record = _import_or_404(import_id)
    job = _job(record)
    return jsonify(
        state=record.state,
        progress=job.progress if job else None,
        message=(job.message if job else "") or str(STATE_LABELS[record.state]),
    )


@bp.route("/<int:import_id>/apply", methods=["POST"])
@access(Access.HR)
def apply(import_id: int):
    """Carry the checked rows out (planned again against the database as it is now)."""
    record = _import_or_404(import_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not imports.claim(record, current_user):
        flash(_("This import has already been applied or is being applied."), "info")
        return redirect(url_for("staff_import.detail", import_id=record.id))
    if record.total_rows > imports.inline_limit():
        imports.start_apply_job(record, current_user)  # commits
        flash(_("The import is being applied; its progress is shown below."), "success")
        return redirect(url_for("staff_import.detail", import_id=record.id))
    try:
        imports.apply(record, current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("staff_import.detail", import_id=record.id))
    db.session.commit()
    imports.remove_file(record)
    db.session.commit()
    flash(_("The file has been imported."), "success")
    return redirect(url_for("staff_import.detail", import_id=record.id))


@bp.route("/<int:import_id>/errors.csv")
@access(Access.HR)
def errors_csv(import_id: int):
    """Download the rows with errors as CSV (opens in Excel with its accents)."""
    record = _import_or_404(import_id)
    response = Response(
        imports.errors_csv(record).encode("utf-8"), mimetype="text/csv; charset=utf-8"
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="nhap-nhan-su-{record.id}-loi.csv"'
    )
    return response


def _sample_codes() -> list[str]:
    """Unit codes for the sample: the visitor's own units, the deepest first."""
    units = services.units_in_scope(current_user)
    return [u.code for u in sorted(units, key=lambda u: -u.depth)][:4]


@bp.route("/sample.csv")
@access(Access.HR)
def sample_csv():
    """A sample file in UTF-8 CSV, with the visitor's unit codes."""
    response = Response(imports.sample_csv(_sample_codes()), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="mau-nhap-nhan-su.csv"'
    return response


@bp.route("/sample.xlsx")
@access(Access.HR)
def sample_xlsx():
    """The same sample as an Excel workbook."""
    response = Response(
        imports.sample_xlsx(_sample_codes()),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response.headers["Content-Disposition"] = 'attachment; filename="mau-nhap-nhan-su.xlsx"'
    return response
