"""Background jobs of the media domain: transcoding lectures, removing abandoned uploads."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from elearn.jobs.services import MAINTENANCE, handler
from elearn.media import services


def _failed(job) -> None:
    services.mark_failed(job)


@handler(
    "media.transcode", queue="long", label=_l("Convert a lecture for the web"), on_fail=_failed
)
def transcode_lecture(job, report) -> None:
    """Make the HLS ladder, MP4 and poster of a lecture's newest upload (safe to repeat)."""
    services.run_transcode(job, report)


MAINTENANCE.append(services.clean_abandoned_uploads)
