"""Plain data of the media domain: what the upload check concludes, disk usage figures."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MediaInfo:
    """A file the check accepted: an ``audio`` or ``video`` lecture.

    ``width``/``height`` are as displayed (rotation applied); 0 for audio. ``hdr`` is true
    for HDR video (PQ or HLG transfer), which the transcoder tone-maps to SDR BT.709.
    """

    kind: str
    duration: float
    container: str
    video_codec: str | None
    audio_codec: str | None
    width: int
    height: int
    rotation: int
    bit_depth: int
    hdr: bool = False


@dataclass(frozen=True)
class CourseUsage:
    """Disk space a course's lectures take, against its quota (bytes).

    ``stored``: the lectures' files (kept originals and every served version);
    ``uploading``: bytes received so far of uploads in progress; ``quota``: the limit
    in force, None for no limit; ``quota_mb``: the course's own setting (None: the site
    default applies, 0: no limit).
    """

    course_id: int
    title: str
    stored: int
    uploading: int
    quota: int | None
    quota_mb: int | None

    @property
    def used(self) -> int:
        """Bytes on disk for the course now."""
        return self.stored + self.uploading

    @property
    def share(self) -> float | None:
        """Used share of the quota (may pass 1.0), or None without a quota."""
        return self.used / self.quota if self.quota else None

    @property
    def near_limit(self) -> bool:
        """True at 90 % of the quota or more."""
        share = self.share
        return share is not None and share >= 0.9


@dataclass(frozen=True)
class UsagePage:
    """One page of courses by disk usage, largest first (shaped for the ``pager`` macro)."""

    items: tuple[CourseUsage, ...]
    page: int
    pages: int
    total: int

    @property
    def has_prev(self) -> bool:
        """Whether a page comes before this one."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """Whether a page comes after this one."""
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        """The number of the page before."""
        return self.page - 1

    @property
    def next_num(self) -> int:
        """The number of the page after."""
        return self.page + 1


@dataclass(frozen=True)
class Recount:
    """What ``media usage --recount`` found: figures fixed and files no row knows.

    ``fixed``: (activity id, stored figure, measured bytes) of each lecture whose figure
    was wrong; ``orphans``: (path relative to the media folder, bytes) of each file or
    folder on disk that belongs to no lecture or upload.
    """

    lectures: int
    fixed: tuple[tuple[int, int, int], ...]
    uploads_fixed: int
    orphans: tuple[tuple[str, int], ...]
