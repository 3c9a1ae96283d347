"""Background jobs of the courses domain."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from elearn.courses import services
from elearn.jobs.services import handler


@handler("content.rerender", label=_l("Re-render every page"))
def rerender_pages(job, report) -> None:
    """Render every page's Markdown again with the current allowlist (safe to repeat)."""
    services.rerender_pages(report)
