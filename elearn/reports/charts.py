"""Charts drawn on the server as SVG: one stacked bar per report row.

Each bar splits the row's runs into completed, learning and not started, with the
completion rate and the number overdue written beside it. The SVG carries a <title>
and <desc> (its accessible name and description); pages show it inline, above the table
of the same numbers, so nothing is only in the picture. No script, no CSS: presentation
attributes only (the Content-Security-Policy allows no inline style).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from flask_babel import format_percent
from flask_babel import gettext as _
from markupsafe import Markup

from elearn.reports.data import Report

#: Colours that keep 3:1 contrast against white and against each other's neighbours.
COLOURS = {"completed": "#1d6b34", "in_progress": "#0b4f8a", "not_started": "#8a939d"}
LABEL_WIDTH = 260
BAR_WIDTH = 360
ROW_HEIGHT = 30
TEXT_WIDTH = 230
MAX_ROWS = 40


def _description() -> str:
    """Say what the bars are and where the numbers are."""
    return _(
        "Completed, learning and not started runs per row; the same numbers are in the "
        "table below the chart."
    )


def _shorten(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart(report: Report, title: str, element_id: str = "chart") -> Markup:
    """Return SVG with one stacked bar per row of ``report`` (at most 40).

    Pages put it inline (the report is computed once per page); the chart URLs serve the
    same markup as a file. Every text in it is escaped here.
    """
    rows = report.rows[:MAX_ROWS]
    legend_height = 34
    height = legend_height + ROW_HEIGHT * max(1, len(rows)) + 10
    width = LABEL_WIDTH + BAR_WIDTH + TEXT_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{element_id}-title {element_id}-desc" '
        'font-family="DejaVu Sans, Noto Sans, Arial, sans-serif" font-size="13">',
        f'<title id="{element_id}-title">{escape(title)}</title>',
        f'<desc id="{element_id}-desc">{escape(_description())}</desc>',
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ]
    x = 0
    for key, label in (
        ("completed", _("Completed")),
        ("in_progress", _("Learning")),
        ("not_started", _("Not started")),
    ):
        parts.append(f'<rect x="{x}" y="8" width="14" height="14" fill="{COLOURS[key]}"/>')
        parts.append(f'<text x="{x + 20}" y="20" fill="#1b1f24">{escape(label)}</text>')
        x += 30 + 9 * len(label)
    if not rows:
        parts.append(
            f'<text x="0" y="{legend_height + 20}" fill="#1b1f24">{escape(_("No runs."))}</text>'
        )
    for index, row in enumerate(rows):
        y = legend_height + index * ROW_HEIGHT
        counts = row.counts
        parts.append(
            f'<text x="0" y="{y + 19}" fill="#1b1f24">{escape(_shorten(row.label))}</text>'
        )
        parts.append(
            f'<rect x="{LABEL_WIDTH}" y="{y + 5}" width="{BAR_WIDTH}" height="20" '
            'fill="#ffffff" stroke="#4a525c"/>'
        )
        start = LABEL_WIDTH
        for key, value in (
            ("completed", counts.completed),
            ("in_progress", counts.in_progress),
            ("not_started", counts.not_started),
        ):
            if counts.enrolled and value:
                span = BAR_WIDTH * value / counts.enrolled
                parts.append(
                    f'<rect x="{start:.1f}" y="{y + 5}" width="{span:.1f}" height="20" '
                    f'fill="{COLOURS[key]}"/>'
                )
                start += span
        rate = counts.completion_rate
        text = format_percent(rate, "#,##0.0%") if rate is not None else "–"
        if counts.overdue:
            text += " · " + _("%(n)d overdue", n=counts.overdue)
        parts.append(
            f'<text x="{LABEL_WIDTH + BAR_WIDTH + 8}" y="{y + 19}" fill="#1b1f24">'
            f"{escape(text)}</text>"
        )
    parts.append("</svg>")
    return Markup("\n".join(parts))  # noqa: S704 - built here, every text escaped
