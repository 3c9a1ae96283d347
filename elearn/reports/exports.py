"""Report exports to CSV and XLSX (openpyxl), with Vietnamese headers, always audited.

The same rows as the pages (``elearn.reports.services``) are written as tables: per
unit, per course, per person (training hours) or per run (who took what, when, with
which result). Small exports are answered at once; more rows than
``REPORTS_EXPORT_INLINE_ROWS`` go to a ``reports.export`` job that writes the file
under the instance folder and links it from the job's page, for its owner only, for
``REPORTS_EXPORT_DAYS`` days. Every export is written to the audit log with its filters
and row count. CSV is UTF-8 with a BOM (Excel reads Vietnamese right) and cells that
start like a formula are prefixed with ' so no spreadsheet runs them.
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from sqlalchemy import select

from elearn.accounts.models import OrgUnit, User
from elearn.core.clock import to_local, utcnow
from elearn.core.services import AUDIT_LABELS, NotFound, ServiceError, record_audit
from elearn.extensions import db
from elearn.jobs import services as jobs
from elearn.reports import queries, services
from elearn.reports.models import ReportExport
from elearn.reports.queries import Filters, Scope

log = logging.getLogger(__name__)

AUDIT_LABELS.update({"report.exported": _l("Report exported")})

VIEWS = ("units", "courses", "people", "runs")
FORMATS = ("xlsx", "csv")
#: Views that list people by name: exports of personal data.
PERSONAL = ("people", "runs")
MIME = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def exports_dir() -> Path:
    """Return the folder where job-made export files are kept."""
    folder = Path(current_app.config["INSTANCE_DIR"]) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- tables ----------------------------------------------------------------------------------


def _percent(value: float | None):
    return None if value is None else round(value * 100, 1)


def _hours(seconds: int) -> float:
    return round(seconds / 3600, 2)


def _counts_headers() -> list[str]:
    return [
        _("Enrolled"),
        _("Not started"),
        _("Learning"),
        _("Completed"),
        _("Overdue"),
        _("Completion rate (%)"),
        _("Pass rate (%)"),
        _("Average grade (%)"),
        _("Study time (hours)"),
    ]


def _counts_cells(counts) -> list:
    return [
        counts.enrolled,
        counts.not_started,
        counts.in_progress,
        counts.completed,
        counts.overdue,
        _percent(counts.completion_rate),
        _percent(counts.pass_rate),
        _percent(counts.average_grade),
        _hours(counts.seconds),
    ]


SOURCES = {"self": _l("Self-enrolled"), "assigned": _l("Assigned"), "class": _l("Class")}
STATUSES = {
    "not_started": _l("Not started"),
    "in_progress": _l("Learning"),
    "completed": _l("Completed"),
}


def table(export: ReportExport, scope: Scope) -> tuple[list[str], Iterator[list]]:
    """Return (headers, rows) of an export, in Vietnamese, computed in ``scope``."""
    filters = filters_of(export)
    within = db.session.get(OrgUnit, export.unit_id) if export.unit_id else None
    if export.view == "units":
        report = services.unit_report(scope, within, filters)
        headers = [_("Unit"), _("Code"), _("People"), *_counts_headers()]
        rows = (
            [row.label, row.note, row.counts.people, *_counts_cells(row.counts)]
            for row in report.rows
        )
        return headers, rows
    if export.view == "courses":
        report = services.course_report(scope, within, filters)
        headers = [_("Course"), *_counts_headers(), _("Satisfaction index (%)")]
        satisfaction = report.extra["satisfaction"]
        return headers, (
            [
                row.label,
                *_counts_cells(row.counts),
                round(satisfaction[row.key].index, 1) if satisfaction[row.key].shown else None,
            ]
            for row in report.rows
        )
    if export.view == "people":
        year = export.year or to_local(utcnow()).year
        headers = [
            _("Full name"),
            _("Username"),
            _("Unit"),
            _("Code"),
            _("Runs"),
            _("Completed"),
            _("Overdue"),
            _("Training hours in %(year)d", year=year),
            _("Yearly minimum (hours)"),
            _("Hours still missing"),
        ]
        return headers, _people_rows(scope, within, filters, year)
    headers = [
        _("Full name"),
        _("Username"),
        _("Unit"),
        _("Code"),
        _("Course"),
        _("Run"),
        _("Source"),
        _("Status"),
        _("Started"),
        _("Due"),
        _("Completed on"),
        _("Overdue"),
        _("Grade (%)"),
        _("Study time (hours)"),
    ]
    return headers, _run_rows(scope, within, filters)


def _people_rows(scope, within, filters, year) -> Iterator[list]:
    page = 1
    while True:
        people, total = services.people_page(scope, within, filters, year, page=page, per_page=500)
        for p in people:
            yield [
                p.full_name,
                p.username,
                p.unit_name,
                p.unit_code,
                p.runs,
                p.completed,
                p.overdue,
                p.hours,
                p.minimum,
                round(p.short, 2),
            ]
        if page * 500 >= total:
            return
        page += 1


def _local(moment):
    return to_local(moment).replace(tzinfo=None) if moment else None


def _run_rows(scope, within, filters) -> Iterator[list]:
    # Labels are translated once, not per row: this loop writes tens of thousands of rows.
    sources = {key: str(label) for key, label in SOURCES.items()}
    statuses = {key: str(label) for key, label in STATUSES.items()}
    yes = _("Yes")
    query = queries.runs_query(scope, filters, within=within)
    for run, person, course, unit in db.session.execute(query.execution_options(yield_per=1000)):
        status = queries.status_in(run, filters)
        yield [
            person.full_name,
            person.username,
            unit.name,
            unit.code,
            course.title,
            run.run,
            sources.get(run.source, run.source),
            statuses[status],
            _local(run.started_at),
            (_local(run.due_at) - timedelta(seconds=1)).date() if run.due_at else None,
            _local(run.completed_at) if status == "completed" else None,
            yes if queries.is_overdue(run, filters) else "",
            _percent(run.grade),
            _hours(run.time_spent),
        ]


def filters_of(export: ReportExport) -> Filters:
    """Return the report filters an export was asked with."""
    return Filters(
        date_from=export.date_from,
        date_to=export.date_to,
        course_id=export.course_id,
        class_id=export.class_id,
        mode=export.mode,
    )


# --- writing ---------------------------------------------------------------------------------


def _cell(value):
    """Keep spreadsheets from running a text cell as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return _cell(str(value))


def write(fmt: str, headers: list[str], rows, target, report=None) -> int:
    """Write a table as CSV or XLSX to the binary file ``target``; return the row count.

    ``report(count)`` is called every 1,000 rows (a job's progress).
    """
    count = 0
    if fmt == "csv":
        text = io.TextIOWrapper(target, encoding="utf-8-sig", newline="")
        writer = csv.writer(text)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([_csv_value(v) for v in row])
            count += 1
            if report and count % 1000 == 0:
                report(count)
        text.flush()
        text.detach()
        return count
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Report"))
    sheet.append(headers)
    for row in rows:
        sheet.append([_cell(v) for v in row])
        count += 1
        if report and count % 1000 == 0:
            report(count)
    book.save(target)
    return count


def filename(export: ReportExport) -> str:
    """Return the name offered for an export's file, e.g. bao-cao-theo-don-vi-2026-12-02.xlsx."""
    names = {
        "units": "bao-cao-theo-don-vi",
        "courses": "bao-cao-theo-khoa-hoc",
        "people": "bao-cao-gio-hoc",
        "runs": "danh-sach-hoc-vien",
    }
    day = to_local(export.created_at or utcnow()).date().isoformat()
    return f"{names[export.view]}-{day}.{export.format}"


def _audit(export: ReportExport, rows: int) -> None:
    detail = (
        f"{export.view}.{export.format}; unit={export.unit_id or '-'} "
        f"course={export.course_id or '-'} class={export.class_id or '-'} "
        f"{export.date_from or ''}..{export.date_to or ''} mode={export.mode} "
        f"year={export.year or '-'}; {rows} rows"
        + ("; personal data" if export.view in PERSONAL else "")
    )
    record_audit(
        "report.exported",
        actor_id=export.owner_id,
        target_type="export",
        target_id=export.id,
        detail=detail,
    )


def request_export(
    owner: User, scope: Scope, *, view: str, fmt: str, filters: Filters, within, year=None
) -> ReportExport:
    """Record an export request (the caller makes it now or starts a job)."""
    if view not in VIEWS or fmt not in FORMATS:
        raise ServiceError(_l("Unknown kind of export."))
    if view in ("units", "people") and not scope.has_units and within is None:
        raise NotFound(_l("Unit not found."))
    export = ReportExport(
        owner_id=owner.id,
        view=view,
        format=fmt,
        unit_id=within.id if within else None,
        course_id=filters.course_id,
        class_id=filters.class_id,
        date_from=filters.date_from,
        date_to=filters.date_to,
        mode=filters.mode,
        year=year,
    )
    db.session.add(export)
    db.session.flush()
    export.filename = filename(export)
    return export


def size_of(export: ReportExport, scope: Scope) -> int:
    """Return about how many rows an export will have (to choose: now, or a job)."""
    within = db.session.get(OrgUnit, export.unit_id) if export.unit_id else None
    if export.view == "runs":
        return queries.count_runs(scope, filters_of(export), within=within)
    if export.view == "people":
        _page, total = services.people_page(
            scope, within, filters_of(export), export.year or 2000, per_page=1
        )
        return total
    return 0


def make_now(export: ReportExport, scope: Scope) -> bytes:
    """Write the export in memory and audit it; return the file's bytes."""
    buffer = io.BytesIO()
    with force_locale("vi"):  # the files always speak Vietnamese
        headers, rows = table(export, scope)
        export.rows = write(export.format, headers, rows, buffer)
    _audit(export, export.rows)
    return buffer.getvalue()


def start_job(export: ReportExport):
    """Queue a job that writes the export's file (commits)."""
    return jobs.start(
        "reports.export",
        owner_id=export.owner_id,
        target_type="export",
        target_id=export.id,
        prepare=lambda job: setattr(export, "job_id", job.id),
    )


def _export_result(job):
    export = db.session.scalar(select(ReportExport).where(ReportExport.job_id == job.id))
    if export is None or export.key is None:
        return None
    return _("Download %(name)s", name=export.filename), url_for(
        "reports.download", export_id=export.id
    )


@jobs.handler("reports.export", label=_l("Report export"), result=_export_result)
def _export_job(job, report) -> None:
    export = db.session.get(ReportExport, job.target_id)
    owner = db.session.get(User, export.owner_id)
    scope = queries.scope_of(owner)
    total = max(1, size_of(export, scope))
    key = f"{export.id}-{secrets.token_hex(12)}.{export.format}"
    path = exports_dir() / key
    partial = path.with_suffix(".partial")
    with force_locale("vi"):
        headers, rows = table(export, scope)
        with partial.open("wb") as target:
            count = write(
                export.format,
                headers,
                rows,
                target,
                report=lambda n: report(n / total, _("%(n)d rows written", n=n)),
            )
    partial.replace(path)
    if export.key and export.key != key:  # a second run of the job: drop the first file
        (exports_dir() / export.key).unlink(missing_ok=True)
    export.key, export.rows = key, count
    export.expires_at = utcnow() + timedelta(days=current_app.config["REPORTS_EXPORT_DAYS"])
    _audit(export, count)
    db.session.commit()
    log.info("export %s: %s rows to %s", export.id, count, key)


def export_for(user: User, export_id: int) -> ReportExport:
    """Return an export ``user`` asked for, else raise NotFound."""
    export = db.session.get(ReportExport, export_id)
    if export is None or export.owner_id != user.id:
        raise NotFound(_l("Export not found."))
    return export


def remove_expired(now=None) -> int:
    """Delete the files of exports past their date; return how many (rows stay, audited)."""
    now = now or utcnow()
    removed = 0
    for export in db.session.scalars(
        select(ReportExport).where(ReportExport.key.is_not(None), ReportExport.expires_at < now)
    ):
        (exports_dir() / export.key).unlink(missing_ok=True)
        export.key = None
        removed += 1
    return removed


jobs.MAINTENANCE.append(remove_expired)
