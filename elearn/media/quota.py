"""Disk space of lectures: what each course stores, its quota, and the recount.

**Usage.** A course stores the files of its lectures (every video activity, archived or
not): the kept original and each version still served, under ``originals/<activity>``
and ``lectures/<activity>``, plus the chunks received so far of uploads in progress.
Each lecture's bytes are measured from the disk when its files change (an upload is
accepted, a conversion finishes or fails, old versions are removed, a pack loads a new
file) and stored in ``Video.disk_bytes``; uploads in progress count ``Upload.received``.
So the admin page is one SQL aggregate, never a scan of the disk. Sizes are the files'
lengths in bytes (what ``du --apparent-size --bytes`` adds up).
``flask --app wsgi media usage --recount`` measures every lecture again, fixes the
stored figures and lists files on disk that no row knows (orphans).

**Quotas**, in MB of 1,048,576 bytes: a course's ``CourseSettings.media_quota_mb`` when
an admin set one (0: no limit); otherwise the site default ``MEDIA_COURSE_QUOTA_MB``
(0: no limit). An upload is checked when it starts, on its declared size, before any
byte is stored, and again when its last byte is in; it is refused when the course would
then keep more than its quota. What the course would keep: its other lectures, the
version of this lecture served now (it stays served for learners in the middle of it),
the new file, and other uploads in progress (at their declared size when starting, at
what arrived when finishing); the lecture's current original and older outputs are
removed when the new version is ready, so they do not count. A conversion's output
cannot be known before it is made: it is measured when made, so a course may end over
its quota after a conversion; its next uploads are refused until an admin raises the
quota. Nothing already stored is ever removed because of a quota.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, cast, func, select

from elearn.accounts.models import User
from elearn.core import processes
from elearn.core.services import AUDIT_LABELS, ServiceError, record_audit
from elearn.courses.models import Activity, Course, CourseSettings
from elearn.extensions import db
from elearn.media import services
from elearn.media.data import CourseUsage, Recount, UsagePage
from elearn.media.models import Upload, Video

log = logging.getLogger(__name__)

MB = 1024 * 1024
#: Largest quota an admin may set, in MB (about 100 TB: beyond any real volume).
MAX_QUOTA_MB = 100_000_000
#: Folders of the media directory that rows account for.
KNOWN_FOLDERS = ("originals", "lectures", "uploads")


class OverQuota(ServiceError):
    """An upload would take its course over its storage quota (HTTP 413)."""


# --- measuring the disk ----------------------------------------------------------------------


def tree_bytes(path: Path) -> int:
    """Return the bytes of every file below ``path`` (0 when it does not exist).

    Symbolic links are not followed; a file removed while the walk runs is skipped.
    """
    if path.is_file():
        return path.stat().st_size
    total, folders = 0, [path]
    while folders:
        try:
            entries = os.scandir(folders.pop())
        except (FileNotFoundError, NotADirectoryError):
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(Path(entry.path))
                    else:
                        total += entry.stat(follow_symlinks=False).st_size
                except FileNotFoundError:
                    continue
    return total


def lecture_bytes(activity_id: int) -> int:
    """Measure the bytes a lecture's files take now (originals and every output)."""
    return sum(tree_bytes(folder) for folder in services.lecture_folders(activity_id))


def remeasure(video: Video) -> int:
    """Measure a lecture's files again and store the figure (the caller commits)."""
    video.disk_bytes = lecture_bytes(video.activity_id)
    return video.disk_bytes


def size_text(size: int) -> str:
    """Return a size for people in GB, MB or KB, with the locale's decimal mark."""
    return processes.size_text(size)


# --- quotas ----------------------------------------------------------------------------------


def quota_bytes(quota_mb: int | None) -> int | None:
    """Return the limit in force for a course's setting, in bytes; None means no limit."""
    mb = current_app.config["MEDIA_COURSE_QUOTA_MB"] if quota_mb is None else quota_mb
    return mb * MB if mb > 0 else None


def _stored_by_course():
    return (
        select(
            Activity.course_id.label("course_id"),
            func.sum(Video.disk_bytes).label("bytes"),
        )
        .join(Activity, Activity.id == Video.activity_id)
        .group_by(Activity.course_id)
        .subquery()
    )


def _uploading_by_course(column):
    return (
        select(Activity.course_id.label("course_id"), func.sum(column).label("bytes"))
        .join(Activity, Activity.id == Upload.activity_id)
        .group_by(Activity.course_id)
        .subquery()
    )


def _usage_select():
    """Courses with their stored and uploading bytes and quota setting, largest first."""
    stored = _stored_by_course()
    uploading = _uploading_by_course(Upload.received)
    stored_bytes = cast(func.coalesce(stored.c.bytes, 0), BigInteger)
    uploading_bytes = cast(func.coalesce(uploading.c.bytes, 0), BigInteger)
    return (
        select(
            Course.id,
            Course.title,
            stored_bytes.label("stored"),
            uploading_bytes.label("uploading"),
            CourseSettings.media_quota_mb,
        )
        .outerjoin(CourseSettings, CourseSettings.course_id == Course.id)
        .outerjoin(stored, stored.c.course_id == Course.id)
        .outerjoin(uploading, uploading.c.course_id == Course.id)
        .order_by((stored_bytes + uploading_bytes).desc(), Course.title_sort, Course.id)
    )


def _usage(row) -> CourseUsage:
    return CourseUsage(
        course_id=row.id,
        title=row.title,
        stored=int(row.stored),
        uploading=int(row.uploading),
        quota=quota_bytes(row.media_quota_mb),
        quota_mb=row.media_quota_mb,
    )


def usage_of(course: Course) -> CourseUsage:
    """Return what a course's lectures take on disk and its quota."""
    row = db.session.execute(_usage_select().where(Course.id == course.id)).one()
    return _usage(row)


def usage_page(page: int, per_page: int = 50) -> UsagePage:
    """Return one page of every course by disk usage, largest first."""
    total = db.session.scalar(select(func.count(Course.id))) or 0
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    rows = db.session.execute(_usage_select().limit(per_page).offset((page - 1) * per_page))
    return UsagePage(items=tuple(_usage(r) for r in rows), page=page, pages=pages, total=total)


def media_totals() -> tuple[int, int]:
    """Return the bytes of every lecture's files and of every upload in progress."""
    stored = db.session.scalar(select(func.coalesce(func.sum(Video.disk_bytes), 0)))
    uploading = db.session.scalar(select(func.coalesce(func.sum(Upload.received), 0)))
    return int(stored), int(uploading)


def _uploads_of_course(course_id: int, column, exclude: str | None) -> int:
    query = (
        select(func.coalesce(func.sum(column), 0))
        .join(Activity, Activity.id == Upload.activity_id)
        .where(Activity.course_id == course_id)
    )
    if exclude is not None:
        query = query.where(Upload.id != exclude)
    return int(db.session.scalar(query))


def check_upload(activity: Activity, video: Video, size: int, upload_id: str | None = None):
    """Refuse a file of ``size`` bytes that would take the course over its quota.

    ``upload_id`` is None when the upload starts (other uploads count at their declared
    size: they have reserved it) and the finishing upload's id at the end (the others
    count at what arrived). The module docstring says what the course would keep.

    Raises:
        OverQuota: with a message naming the usage, the quota and who can raise it.
    """
    usage = usage_of(db.session.get(Course, activity.course_id))
    if usage.quota is None:
        return
    others = _uploads_of_course(
        usage.course_id, Upload.size if upload_id is None else Upload.received, upload_id
    )
    served = (
        tree_bytes(services.output_dir(video, video.ready_version)) if video.ready_version else 0
    )
    kept = usage.stored - video.disk_bytes + served
    if kept + others + size <= usage.quota:
        return
    log.info(
        "course %s: upload of %s bytes refused (uses %s of %s)",
        usage.course_id,
        size,
        usage.used,
        usage.quota,
    )
    raise OverQuota(
        _l(
            "This file would take the course over its storage quota: the course's lectures "
            "take %(usage)s of the %(quota)s it may use, and this file needs %(size)s. "
            "Only a site administrator can raise the quota; ask one to do it, then upload "
            "the file again. Nothing already uploaded was lost.",
            usage=size_text(usage.used),
            quota=size_text(usage.quota),
            size=size_text(size),
        )
    )


def _quota_label(quota_mb: int | None) -> str:
    if quota_mb is None:
        return "default"
    return "no limit" if quota_mb == 0 else f"{quota_mb} MB"


def set_quota(course: Course, actor: User, quota_mb: int | None) -> None:
    """Set a course's quota in MB (None: the site default; 0: no limit), audited."""
    if quota_mb is not None and not 0 <= quota_mb <= MAX_QUOTA_MB:
        raise ServiceError(
            _l("The quota must be a whole number of MB from 0 to %(max)d.", max=MAX_QUOTA_MB),
            "quota_mb",
        )
    if course.settings is None:
        course.settings = CourseSettings()
    old = course.settings.media_quota_mb
    if old == quota_mb:
        return
    course.settings.media_quota_mb = quota_mb
    record_audit(
        "media.quota",
        actor_id=actor.id,
        target_type="course",
        target_id=course.id,
        detail=f"{course.slug}: {_quota_label(old)} → {_quota_label(quota_mb)}",
    )
    db.session.flush()


# --- the recount -----------------------------------------------------------------------------


def _known_names() -> set[str]:
    """Return the paths (relative to the media folder) that rows account for."""
    known = {
        f"{folder}/{i}"
        for i in db.session.scalars(select(Video.activity_id))
        for folder in ("originals", "lectures")
    }
    for upload_id in db.session.scalars(select(Upload.id)):
        for path in (services.upload_part(upload_id), services.checking_path(upload_id)):
            known.add(f"uploads/{path.name}")
    return known


def _candidates(root: Path) -> list[Path]:
    """Return the activity folders, upload files and stray entries of the media folder."""
    found = []
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        if entry.name in KNOWN_FOLDERS and entry.is_dir():
            found.extend(sorted(entry.iterdir()))
        else:
            found.append(entry)
    return found


def recount() -> Recount:
    """Measure every lecture and upload again, fix wrong figures, find orphans (commits).

    The disk is walked outside any transaction (a long walk must not hold SQLite's
    write lock); a figure found wrong is measured again inside the writing transaction,
    so a conversion that finished during the walk is not overwritten with an old size.
    The rows are read again after the walk, so files of a lecture or upload created
    meanwhile are not taken for orphans. Orphans are only reported: an operator decides
    whether to delete them.
    """
    root = services.media_dir()
    stored = dict(db.session.execute(select(Video.activity_id, Video.disk_bytes)).all())
    db.session.commit()
    measured = {activity_id: lecture_bytes(activity_id) for activity_id in stored}
    candidates = _candidates(root)
    fixed = []
    for activity_id in [a for a, size in measured.items() if size != stored[a]]:
        video = db.session.get(Video, activity_id)
        if video is None:
            continue
        old = video.disk_bytes
        if remeasure(video) != old:
            fixed.append((activity_id, old, video.disk_bytes))
            log.info(
                "lecture %s: disk figure %s fixed to %s bytes", activity_id, old, video.disk_bytes
            )
    uploads_fixed = 0
    for upload in db.session.scalars(select(Upload)):
        part = services.part_path(upload)
        if part.is_file() and part.stat().st_size != upload.received:
            upload.received = part.stat().st_size
            uploads_fixed += 1
    known = _known_names()
    db.session.commit()
    orphans = []
    for path in candidates:
        relative = path.relative_to(root).as_posix()
        if relative not in known and path.exists():
            orphans.append((relative, tree_bytes(path)))
    return Recount(
        lectures=len(stored),
        fixed=tuple(fixed),
        uploads_fixed=uploads_fixed,
        orphans=tuple(orphans),
    )


AUDIT_LABELS["media.quota"] = _l("Course storage quota changed")
