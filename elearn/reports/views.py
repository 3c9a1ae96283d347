"""Report pages (bp "reports"): by unit with drill-down, by course, by person, exports, charts.

Every page works inside the viewer's scope (``queries.scope_of``): a unit, person or
class outside it is a 404, whatever is typed into the URL or the export form.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_percent
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from elearn.accounts import services as accounts
from elearn.accounts.models import OrgUnit
from elearn.core.access import Access, access
from elearn.core.forms import page_number
from elearn.core.services import NotFound, ServiceError
from elearn.courses.models import Course
from elearn.extensions import db
from elearn.reports import charts, classes, exports, queries, services
from elearn.reports.forms import (
    ExportForm,
    FilterForm,
    period_choices,
    period_dates,
    year_choices,
)
from elearn.reports.queries import Filters

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.app_template_filter("pct")
def _pct(value: float | None) -> str:
    """Format a share (0.0-1.0) as a percentage the local way; "–" for none."""
    return "–" if value is None else format_percent(value, "#,##0.0%")


# --- filters and scope -----------------------------------------------------------------------


def _scope():
    return queries.scope_of(current_user)


def _unit_or_404(unit_id: int | None) -> OrgUnit | None:
    if not unit_id:
        return None
    try:
        return accounts.get_unit_for(current_user, unit_id)
    except NotFound:
        abort(404)


def _course_choices(scope) -> list[SelectChoice]:
    """Courses that have runs (published or once published), for the course filter."""
    return [SelectChoice(0, _("All courses"))] + [
        SelectChoice(c.id, c.title)
        for c in db.session.scalars(
            select(Course).where(Course.status == "published").order_by(Course.title_sort)
        )
    ]


def _read_filters(scope, *, with_units: bool = True):
    """Return (form, Filters, unit) from the query string.

    A unit outside the viewer's scope is a 404 whatever else is asked; other bad values
    are shown beside their field and the report falls back to no filter.
    """
    unit = _unit_or_404(request.args.get("unit", type=int))
    if unit is None and not scope.everything:
        roots = services.report_units(scope, None)
        if len(roots) == 1:
            unit = roots[0]  # hr of one subtree: reports open at its top unit
    form = FilterForm(request.args)
    units = accounts.units_in_scope(current_user) if with_units and scope.has_units else []
    if unit is not None and unit not in units:
        units = [*units, unit]  # a merged unit, or a chart that needs no list
    form.unit.choices = [SelectChoice(0, _("All my units"))] + [
        SelectChoice(u.id, f"{'— ' * u.depth}{u.name} ({u.code})") for u in units
    ]
    form.course.choices = _course_choices(scope)
    form.period.choices = period_choices()
    if unit is not None:
        form.unit.data = unit.id
    if not form.validate():
        return form, Filters(), unit
    start, end = period_dates(form.period.data or "", form.date_from.data, form.date_to.data)
    filters = Filters(
        date_from=start,
        date_to=end,
        course_id=form.course.data or None,
        mode=form.mode.data or "current",
    )
    return form, filters, unit


def _need_units(scope):
    """Organisers (no unit scope) have only class reports."""
    if not scope.has_units:
        return redirect(url_for("training.classes_index"))
    return None


#: Query-string arguments that report pages carry over to drill-down links and exports.
FILTER_ARGS = ("unit", "course", "period", "date_from", "date_to", "mode", "year", "short", "page")


def _query_args(**changes) -> dict:
    """Return the current filters as URL arguments, with ``changes`` (None removes one)."""
    args = {k: v for k, v in request.args.items() if k in FILTER_ARGS and v not in ("", None)}
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return args


@bp.app_context_processor
def _report_helpers():
    return {
        "report_args": _query_args,
        "source_label": lambda source: str(exports.SOURCES.get(source, source)),
        "status_label": lambda status: str(exports.STATUSES.get(status, status)),
    }


# --- pages -----------------------------------------------------------------------------------


@bp.route("")
@access(Access.REPORTS)
def index():
    """The reports start: the unit report (or the class list for organisers)."""
    return redirect(url_for("reports.units"))


@bp.route("/units")
@access(Access.REPORTS)
def units():
    """Runs per unit, rolled up the tree, with drill-down to sub-units and people."""
    scope = _scope()
    if (away := _need_units(scope)) is not None:
        return away
    form, filters, unit = _read_filters(scope)
    report = services.unit_report(scope, unit, filters)
    return render_template(
        "reports/units.html",
        form=form,
        report=report,
        unit=unit,
        ancestors=_visible_ancestors(unit),
        export_form=ExportForm(view="units"),
        chart=charts.bar_chart(report, _("Completion by unit: %(name)s", name=report.title)),
        chart_url=url_for("reports.units_chart", **_query_args(unit=unit.id if unit else None)),
    )


def _visible_ancestors(unit: OrgUnit | None) -> list[OrgUnit]:
    """The units above ``unit`` that the viewer may open (for the breadcrumb)."""
    if unit is None:
        return []
    return [u for u in accounts.ancestors_of(unit) if accounts.unit_in_scope(current_user, u)]


@bp.route("/units/chart.svg")
@access(Access.REPORTS)
def units_chart():
    """The unit report as an SVG bar chart (same scope and filters as the page)."""
    scope = _scope()
    if not scope.has_units:
        abort(404)
    _form, filters, unit = _read_filters(scope, with_units=False)
    report = services.unit_report(scope, unit, filters)
    title = _("Completion by unit: %(name)s", name=report.title)
    return svg_response(charts.bar_chart(report, title))


def svg_response(document: str) -> Response:
    """Answer with an SVG chart, never cached (it holds the viewer's numbers)."""
    response = Response(document, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/courses")
@access(Access.REPORTS)
def courses():
    """Runs per course, inside the viewer's units (or one unit's subtree)."""
    scope = _scope()
    if (away := _need_units(scope)) is not None:
        return away
    form, filters, unit = _read_filters(scope)
    report = services.course_report(scope, unit, filters)
    return render_template(
        "reports/courses.html",
        form=form,
        report=report,
        unit=unit,
        export_form=ExportForm(view="courses"),
        chart=charts.bar_chart(report, _("Completion by course: %(name)s", name=report.title)),
        chart_url=url_for("reports.courses_chart", **_query_args(unit=unit.id if unit else None)),
    )


@bp.route("/courses/chart.svg")
@access(Access.REPORTS)
def courses_chart():
    """The course report as an SVG bar chart."""
    scope = _scope()
    if not scope.has_units:
        abort(404)
    _form, filters, unit = _read_filters(scope, with_units=False)
    report = services.course_report(scope, unit, filters)
    title = _("Completion by course: %(name)s", name=report.title)
    return svg_response(charts.bar_chart(report, title))


@bp.route("/people")
@access(Access.REPORTS)
def people():
    """People with their runs and training hours in a year, against the yearly minimum."""
    scope = _scope()
    if (away := _need_units(scope)) is not None:
        return away
    form, filters, unit = _read_filters(scope)
    years = year_choices()
    year = request.args.get("year", type=int)
    if year not in years:
        year = years[0]
    short_only = bool(request.args.get("short"))
    page_no = request.args.get("page", 1, type=page_number)
    rows, total = services.people_page(
        scope, unit, filters, year, page=page_no, short_only=short_only
    )
    return render_template(
        "reports/people.html",
        form=form,
        unit=unit,
        rows=rows,
        total=total,
        page_no=page_no,
        pages=max(1, -(-total // 50)),
        year=year,
        years=years,
        short_only=short_only,
        minimum=services.annual_minimum(),
        export_form=ExportForm(view="people"),
    )


@bp.route("/people/<int:user_id>")
@access(Access.REPORTS)
def person(user_id: int):
    """One person's runs and training hours per year."""
    scope = _scope()
    if not scope.has_units:
        abort(404)
    try:
        person = accounts.get_user_for(current_user, user_id)
    except NotFound:
        abort(404)
    return render_template(
        "reports/person.html",
        person=person,
        runs=services.person_runs(scope, person, Filters()),
        years=services.hours_per_year(scope, person),
        minimum=services.annual_minimum(),
    )


# --- exports ---------------------------------------------------------------------------------


@bp.route("/export", methods=["POST"])
@access(Access.REPORTS)
def export():
    """Export what a report page shows: the file at once, or a job for large exports."""
    scope = _scope()
    form = ExportForm()
    if not form.validate_on_submit():
        abort(400)
    view = form.view.data
    class_id = request.args.get("class_id", type=int)
    if class_id is not None:
        try:
            classes.class_for(current_user, class_id)
        except NotFound:
            abort(404)
        if view != "runs":
            abort(400)
        # A class export covers the class's runs, wherever its participants work.
        scope = queries.Scope(class_ids=(class_id,))
        filters, unit = Filters(class_id=class_id), None
    else:
        if not scope.has_units:
            abort(404)
        _form, filters, unit = _read_filters(scope)
    years = year_choices()
    year = request.args.get("year", type=int)
    try:
        record = exports.request_export(
            current_user,
            scope,
            view=view,
            fmt=form.format.data,
            filters=filters,
            within=unit,
            year=year if year in years else years[0],
        )
    except NotFound:
        abort(404)
    except ServiceError:
        abort(400)
    if exports.size_of(record, scope) > current_app.config["REPORTS_EXPORT_INLINE_ROWS"]:
        job = exports.start_job(record)
        return redirect(url_for("jobs.detail", job_id=job.id))
    data = exports.make_now(record, scope)
    db.session.commit()
    return Response(
        data,
        mimetype=exports.MIME[record.format],
        headers={
            "Content-Disposition": f'attachment; filename="{record.filename}"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.route("/exports/<int:export_id>")
@access(Access.REPORTS)
def download(export_id: int):
    """Download a file made by an export job (only by the person who asked for it)."""
    try:
        record = exports.export_for(current_user, export_id)
    except NotFound:
        abort(404)
    if record.key is None:
        return render_template("reports/export_gone.html", export=record), 410
    path = exports.exports_dir() / record.key
    if not path.exists():
        abort(404)
    response = send_file(
        path,
        mimetype=exports.MIME[record.format],
        as_attachment=True,
        download_name=record.filename,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
