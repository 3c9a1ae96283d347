"""Video lectures: the activity, resumable uploads, the transcode job, captions, access.

Upload protocol (the teach views speak it as JSON, ``static/js/upload.js`` drives it):

1. ``start_upload`` checks the name's type, the declared size against
   ``MEDIA_MAX_UPLOAD_BYTES`` and the free disk space, and returns an Upload;
2. ``write_chunk`` appends a chunk at the offset the server has, streaming it to disk in
   small pieces (never the whole chunk in memory); a repeated or out-of-date chunk gets
   the server's offset back, so a dropped connection resumes where it stopped;
3. when the last byte is in, ``finish_upload`` runs the ffprobe check (refused files are
   deleted with a message for the person) and starts the ``media.transcode`` job.

Uploads untouched for ``MEDIA_UPLOAD_TTL`` are removed with their chunks by
``clean_abandoned_uploads`` (run by the worker's periodic maintenance).
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from elearn.accounts.models import User
from elearn.core.clock import utcnow
from elearn.core.processes import remove_dead_partials, size_text
from elearn.core.services import AUDIT_LABELS, NotFound, ServiceError, record_audit
from elearn.core.vietnamese import nfc
from elearn.courses import services as courses
from elearn.courses.models import Activity, Course, Module
from elearn.extensions import db
from elearn.media import captions as caption_files
from elearn.media import transcode
from elearn.media.models import Caption, Upload, Video
from elearn.progress import services as progress
from elearn.progress import watch

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = ("mp4", "mov", "mkv", "webm", "avi", "m4v")
AUDIO_EXTENSIONS = ("mp3", "m4a", "wav", "ogg")
#: Caption languages offered, with their track labels (shown in the player's menu).
CAPTION_LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
#: Bytes read from the request per write (a chunk is streamed, never held whole).
PIECE = 256 * 1024
#: Free space kept on the media disk beyond an upload (the transcode needs room too).
DISK_MARGIN = 512 * 1024 * 1024


class UploadConflict(ServiceError):
    """The chunk is not at the server's offset; ``offset`` says where to continue."""

    def __init__(self, message, offset: int):
        super().__init__(message)
        self.offset = offset


class TooLarge(ServiceError):
    """The upload is over the size limit (HTTP 413)."""


# --- places on disk --------------------------------------------------------------------------


def media_dir() -> Path:
    """Return the root folder of media files (created on first use)."""
    root = Path(current_app.config["MEDIA_DIR"])
    root.mkdir(parents=True, exist_ok=True)
    return root


def part_path(upload: Upload) -> Path:
    """Return where an upload's chunks are written."""
    return upload_part(upload.id)


def original_path(video: Video | int, version: int | None = None) -> Path:
    """Return where the accepted file of ``version`` (default: the newest) is kept.

    ``video`` may be a Video or its activity id (no database access then).
    """
    activity_id = video if isinstance(video, int) else video.activity_id
    version = version or video.version
    return media_dir() / "originals" / str(activity_id) / f"v{version}.orig"


def output_dir(video: Video | int, version: int) -> Path:
    """Return the folder the transcode of ``version`` makes (and that is served)."""
    activity_id = video if isinstance(video, int) else video.activity_id
    return media_dir() / "lectures" / str(activity_id) / f"v{version}"


def lecture_folders(activity_id: int) -> tuple[Path, Path]:
    """Return the two folders holding every file of a lecture: its originals, its outputs."""
    root = media_dir()
    return root / "originals" / str(activity_id), root / "lectures" / str(activity_id)


def upload_part(upload_id: str) -> Path:
    """Return where the chunks of upload ``upload_id`` are written."""
    return media_dir() / "uploads" / f"{upload_id}.part"


def checking_path(upload_id: str) -> Path:
    """Return where a complete upload waits while it is checked (one request owns it)."""
    return media_dir() / "uploads" / f"{upload_id}.checking"


# --- the activity ----------------------------------------------------------------------------


def add_video(
    module: Module,
    title: str,
    markdown: str = "",
    *,
    required: bool = True,
    threshold: float = 0.9,
    key: str | None = None,
) -> Activity:
    """Append a video activity (its lecture is uploaded next) to a module."""
    activity = courses.add_page(
        module, title, markdown, required=required, completion="watch", key=key, kind="video"
    )
    db.session.add(Video(activity_id=activity.id, threshold=_threshold(threshold)))
    db.session.flush()
    return activity


def update_video(
    activity: Activity,
    title: str,
    markdown: str,
    *,
    required: bool = True,
    threshold: float = 0.9,
) -> None:
    """Change a video activity's title, lesson text and completion settings."""
    courses.update_page(activity, title, markdown, required=required, completion="watch")
    video = video_of(activity)
    if video.threshold != _threshold(threshold):
        video.threshold = threshold
        courses.completion_changed.send(course_id=activity.course_id)


def _threshold(value: float) -> float:
    if not 0.1 <= value <= 1.0:
        raise ServiceError(_l("The share to watch must be from 10 to 100 percent."), "threshold")
    return value


def video_of(activity: Activity) -> Video:
    """Return the lecture of a video activity, else raise NotFound."""
    video = db.session.get(Video, activity.id) if activity.type == "video" else None
    if video is None:
        raise NotFound(_l("This lesson has no video."))
    return video


def videos_of(course: Course, live: list[Activity] | None = None) -> list[tuple[Activity, Video]]:
    """Return the live video activities of a course with their lectures, in order.

    ``live``: the course's activities when the caller already loaded them (one query less).
    """
    live = [
        a for a in (live if live is not None else courses.sequence(course)) if a.type == "video"
    ]
    found = {
        v.activity_id: v
        for v in db.session.scalars(
            select(Video).where(Video.activity_id.in_([a.id for a in live]))
        )
    }
    return [(a, found[a.id]) for a in live if a.id in found]


def captions_of(activity: Activity) -> list[Caption]:
    """Return a lecture's caption tracks, Vietnamese first."""
    rows = db.session.scalars(select(Caption).where(Caption.activity_id == activity.id))
    return sorted(rows, key=lambda c: (c.language != "vi", c.language))


def shown_to_learners(activity: Activity, video: Video) -> bool:
    """Tell whether learners get the player: ready, and captioned when the course requires."""
    if video.ready_version is None:
        return False
    settings = activity.module.course.settings
    return not (settings and settings.require_captions and not captions_of(activity))


def _publish_check(course: Course) -> None:
    """Refuse publishing a course whose videos lack required captions."""
    if not (course.settings and course.settings.require_captions):
        return
    missing = [a.title for a, _v in videos_of(course) if not captions_of(a)]
    if missing:
        raise ServiceError(
            _l(
                "This course requires captions; add them to these videos first: %(titles)s.",
                titles="; ".join(missing),
            )
        )


courses.PUBLISH_CHECKS.append(_publish_check)


def _watched_enough(activity: Activity, row) -> bool:
    """The ``watch`` rule, judged again from stored intervals (after a threshold change)."""
    video = db.session.get(Video, activity.id)
    if video is None or not video.duration:
        return False
    return watch.completes(watch.loads(row.watched), video.duration, video.threshold)


progress.register_rule("watch", _watched_enough)


def lecture_context(course, activity, run) -> dict:
    """What the lesson page needs to show a video (used by the courses views)."""
    video = video_of(activity)
    row = progress.activity_state(run, activity)
    shown = shown_to_learners(activity, video)
    return {
        "video": video,
        "captions": captions_of(activity),
        "shown": shown,
        "resume": (row.position or 0) if row else 0,
        "watched": row.percent if row else 0.0,
    }


# --- uploads ---------------------------------------------------------------------------------


def _extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def start_upload(activity: Activity, owner: User, filename: str, size: int) -> Upload:
    """Open a resumable upload after checking the file's type, size, quota and free space."""
    from elearn.media import quota

    video = video_of(activity)
    filename = nfc(os.path.basename(filename.replace("\\", "/")).strip())[:255]
    if _extension(filename) not in VIDEO_EXTENSIONS + AUDIO_EXTENSIONS:
        raise ServiceError(
            _l(
                "“%(name)s” is not a video or audio file this site takes. Use one of: %(types)s.",
                name=filename or "?",
                types=", ".join(VIDEO_EXTENSIONS + AUDIO_EXTENSIONS),
            )
        )
    limit = current_app.config["MEDIA_MAX_UPLOAD_BYTES"]
    if size <= 0:
        raise ServiceError(_l("The file is empty."))
    if size > limit:
        raise TooLarge(
            _l(
                "The file is %(size)s; the limit is %(limit)s. Export the lecture at a lower "
                "quality or split it into parts.",
                size=human_size(size),
                limit=human_size(limit),
            )
        )
    quota.check_upload(activity, video, size)
    if shutil.disk_usage(media_dir()).free < size + DISK_MARGIN:
        raise ServiceError(
            _l("The server has no room for this file now. Tell the site administrator.")
        )
    upload = Upload(
        id=secrets.token_hex(16),
        activity_id=activity.id,
        owner_id=owner.id,
        filename=filename,
        size=size,
    )
    db.session.add(upload)
    part = part_path(upload)
    part.parent.mkdir(parents=True, exist_ok=True)
    part.touch()
    db.session.flush()
    return upload


def upload_for(activity: Activity, owner: User, upload_id: str) -> Upload:
    """Return an upload of ``owner`` for ``activity``, else raise NotFound."""
    upload = db.session.get(Upload, upload_id)
    if upload is None or upload.activity_id != activity.id or upload.owner_id != owner.id:
        raise NotFound(_l("This upload is unknown or was abandoned; start it again."))
    return upload


def write_chunk(part: Path, size: int, offset: int, stream: BinaryIO, length: int) -> int:
    """Write ``length`` bytes from ``stream`` at ``offset`` of ``part``; return the new offset.

    Takes plain values, not the Upload: the caller has ended its database transaction
    (a chunk over a slow link takes seconds and must not hold SQLite's write lock), and
    touching an expired ORM object here would silently open a new one. The part file's
    size is the truth (a chunk cut off half-way keeps the bytes that arrived); a lock on
    it keeps two requests from writing the same upload at once.
    """
    if not part.exists():
        raise NotFound(_l("This upload is unknown or was abandoned; start it again."))
    with open(part, "r+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            have = os.fstat(handle.fileno()).st_size
            raise UploadConflict(_l("Another part of this file is still arriving."), have) from exc
        have = os.fstat(handle.fileno()).st_size
        if offset != have:
            raise UploadConflict(_l("Continuing from where the server stopped."), have)
        if have + length > size:
            raise TooLarge(_l("More data arrived than the file's announced size."))
        handle.seek(have)
        left = length
        try:
            while left > 0:
                piece = stream.read(min(PIECE, left))
                if not piece:
                    break
                handle.write(piece)
                left -= len(piece)
        finally:
            handle.flush()
            os.fsync(handle.fileno())
        return handle.tell()


def claim_complete(upload_id: str) -> Path | None:
    """Take a complete upload for checking; None if another request already took it.

    The rename is atomic, so when a retried last chunk races the first, one request
    checks the file and the other is told it is being checked.
    """
    target = checking_path(upload_id)
    try:
        os.rename(upload_part(upload_id), target)
    except FileNotFoundError:
        return None
    return target


def check_part(part: Path, size: int) -> transcode.MediaInfo:
    """Run the ffprobe check on a complete upload; a refused file is deleted at once.

    Needs no database (the caller holds no transaction while ffprobe runs).
    """
    try:
        if not part.is_file() or part.stat().st_size != size:
            raise transcode.MediaRefused(_l("The file did not arrive whole; upload it again."))
        return transcode.check(part, current_app.config["MEDIA_MAX_DURATION"])
    except transcode.MediaRefused:
        part.unlink(missing_ok=True)
        raise


def discard_upload(upload: Upload) -> None:
    """Forget an upload and delete what arrived of it."""
    part_path(upload).unlink(missing_ok=True)
    checking_path(upload.id).unlink(missing_ok=True)
    db.session.delete(upload)


def finish_upload(upload: Upload, actor: User, info: transcode.MediaInfo) -> Video:
    """Keep a checked upload as the lecture's new original and start the transcode job.

    The file moves into place only together with the commit; if the commit fails it is
    put back, so the instructor's upload is never lost. The lecture keeps serving what
    it had until the new version is ready.

    Raises:
        quota.OverQuota: the course's quota no longer has room (nothing was changed).
    """
    from elearn.media import quota

    activity = db.session.get(Activity, upload.activity_id)
    video = video_of(activity)
    quota.check_upload(activity, video, upload.size, upload.id)
    checking = checking_path(upload.id)
    db.session.delete(upload)
    video.version += 1
    target = original_path(video)
    target.parent.mkdir(parents=True, exist_ok=True)
    video.state, video.kind, video.error = "processing", info.kind, None
    video.original_name, video.original_size = upload.filename, upload.size
    if video.ready_version is None:
        video.duration = info.duration
    record_audit(
        "media.uploaded",
        actor_id=actor.id,
        target_type="activity",
        target_id=activity.id,
        detail=upload.filename,
    )
    os.rename(checking, target)
    quota.remeasure(video)
    try:
        start_transcode(video, actor.id)  # commits
    except BaseException:
        db.session.rollback()
        os.rename(target, checking)
        raise
    return video


def start_transcode(video: Video, owner_id: int | None) -> None:
    """Queue the transcode of the lecture's newest original (commits).

    The lecture points at its newest job; an older job that is still queued or running
    finds it was superseded and does nothing.
    """
    from elearn.jobs import services as jobs

    video.state, video.error = "processing", None

    def point_at(job) -> None:
        video.job_id = job.id

    jobs.start(
        "media.transcode",
        owner_id=owner_id,
        target_type="video",
        target_id=video.activity_id,
        prepare=point_at,
    )


def clean_abandoned_uploads() -> int:
    """Remove uploads untouched for ``MEDIA_UPLOAD_TTL`` seconds, and their chunks."""
    ttl = current_app.config["MEDIA_UPLOAD_TTL"]
    cutoff = utcnow() - timedelta(seconds=ttl)
    limit = time.time() - ttl
    stale = []
    for upload in db.session.scalars(select(Upload).where(Upload.updated_at < cutoff)):
        part = part_path(upload)
        if part.exists() and part.stat().st_mtime >= limit:
            continue  # a chunk arrived lately (its row's time is set after the write)
        part.unlink(missing_ok=True)
        checking_path(upload.id).unlink(missing_ok=True)
        db.session.delete(upload)
        stale.append(upload)
    # Parts with no row (a crash between the two) go too, once old enough.
    folder = media_dir() / "uploads"
    known = {f"{u.id}.part" for u in db.session.scalars(select(Upload))}
    if folder.is_dir():
        for part in folder.iterdir():
            if part.name not in known and part.stat().st_mtime < limit:
                part.unlink(missing_ok=True)
    if stale:
        log.info("removed %s abandoned upload(s)", len(stale))
    return len(stale)


def human_size(size: int) -> str:
    """Return a size for messages (GB, MB or KB, decimal comma in Vietnamese)."""
    return size_text(size)


# --- the transcode job -----------------------------------------------------------------------


def run_transcode(job, report: Callable[[float, str], None]) -> None:
    """Transcode the newest original of a lecture; safe to run twice (the job handler).

    Output goes to the version's folder through a temporary sibling renamed into place.
    A job the lecture no longer points at (a newer upload or a retry came after it) does
    nothing. No ORM object is touched while ffmpeg runs, so no transaction stays open.
    """
    activity_id, job_id = job.target_id, job.id
    video = db.session.get(Video, activity_id)
    if video is None:
        raise ServiceError(_l("This video lesson no longer exists."))
    if video.job_id != job_id:
        log.info("lecture %s: job %s was superseded by job %s", activity_id, job_id, video.job_id)
        return
    version = video.version
    source = original_path(activity_id, version)
    out = output_dir(activity_id, version)
    db.session.commit()  # hold no transaction while ffmpeg runs for minutes
    if not source.exists():
        raise transcode.TranscodeFailed(_l("The uploaded file is missing; upload it again."))
    info = transcode.check(source, current_app.config["MEDIA_MAX_DURATION"])
    started = time.monotonic()
    last = {"at": 0.0}

    def progress(fraction: float) -> None:
        now = time.monotonic()
        if now - last["at"] < 2 and fraction < 1:
            return  # a database write every 2 s is plenty
        last["at"] = now
        spent = now - started
        left = spent / fraction - spent if fraction > 0.02 else None
        report(fraction, _progress_message(fraction, left))

    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_partials(out)
    transcode.transcode(
        source,
        out,
        info,
        progress=progress,
        preset=current_app.config["MEDIA_TRANSCODE_PRESET"],
        threads=current_app.config["MEDIA_TRANSCODE_THREADS"],
    )
    video = db.session.get(Video, activity_id, populate_existing=True)
    if video.job_id != job_id or video.version != version:
        log.info("lecture %s: version %s superseded; dropping its output", activity_id, version)
        shutil.rmtree(out, ignore_errors=True)
        _remeasure(activity_id)
        return
    if video.ready_version != version:
        video.previous_version = video.ready_version
    video.state, video.ready_version, video.error = "ready", version, None
    video.kind, video.duration = info.kind, info.duration
    video.width, video.height = info.width or None, info.height or None
    video.rungs = ",".join(r.name for r in transcode.choose_rungs(info)) if info.width else ""
    keep = {version, video.previous_version}
    db.session.commit()
    _remove_old_files(activity_id, keep, version)
    _remeasure(activity_id)
    from flask_babel import gettext as _

    report(1.0, _("Converted: learners can watch it."))  # commits the new disk figure


def _remeasure(activity_id: int) -> None:
    """Store the bytes a lecture's files take now (the caller commits)."""
    from elearn.media import quota

    video = db.session.get(Video, activity_id)
    if video is not None:
        quota.remeasure(video)


def _remove_old_files(activity_id: int, keep_outputs: set, keep_original: int) -> None:
    """Delete outputs other than ``keep_outputs`` and originals other than the current one.

    The previous version stays served for a while, so a learner in the middle of it is
    not cut off when the new one becomes ready.
    """
    lectures = output_dir(activity_id, 1).parent
    for folder in lectures.glob("v*") if lectures.is_dir() else []:
        number = folder.name[1:]
        if number.isdigit() and int(number) not in keep_outputs:
            shutil.rmtree(folder, ignore_errors=True)
    originals = original_path(activity_id, 1).parent
    for file in originals.glob("v*.orig") if originals.is_dir() else []:
        if file.name != f"v{keep_original}.orig":
            file.unlink(missing_ok=True)


def _remove_dead_partials(out: Path) -> None:
    """Delete half-made folders of workers that died (SIGKILL leaves them behind)."""
    remove_dead_partials(out.parent, f"{out.name}.partial-*")


def _progress_message(fraction: float, left: float | None) -> str:
    from flask_babel import gettext as _

    if left is None:
        return _("%(percent)d%% converted", percent=int(fraction * 100))
    if left < 60:
        return _("%(percent)d%% converted, less than a minute left", percent=int(fraction * 100))
    minutes = max(1, round(left / 60))
    return _(
        "%(percent)d%% converted, about %(minutes)d min left",
        percent=int(fraction * 100),
        minutes=minutes,
    )


def mark_failed(job) -> None:
    """Record that a lecture's transcode gave up (the original stays; retry is possible).

    Only the lecture's newest job may do this; a superseded job's failure is its own.
    """
    from elearn.media import quota

    video = db.session.get(Video, job.target_id)
    if video is not None and video.job_id == job.id and video.state == "processing":
        video.state, video.error = "failed", job.error or ""
    if video is not None:
        quota.remeasure(video)  # a dead run may have left a partial output


def retry(video: Video, actor_id: int | None) -> None:
    """Queue a failed lecture's transcode again (commits)."""
    if video.state != "failed":
        raise ServiceError(_l("Only a lecture whose conversion failed can be retried."))
    if not original_path(video).exists():
        raise ServiceError(_l("The uploaded file is missing; upload it again."))
    start_transcode(video, actor_id)


def failed_videos() -> list[Video]:
    """Return every lecture whose conversion failed."""
    return list(db.session.scalars(select(Video).where(Video.state == "failed")))


# --- captions --------------------------------------------------------------------------------


def add_caption(activity: Activity, actor: User, language: str, data: bytes, filename: str):
    """Store (or replace) the caption track of ``language`` from an uploaded file."""
    video_of(activity)
    if language not in CAPTION_LANGUAGES:
        raise ServiceError(_l("Choose the language of the captions."), "language")
    vtt = caption_files.parse(data, filename)
    caption = db.session.scalar(
        select(Caption).where(Caption.activity_id == activity.id, Caption.language == language)
    )
    if caption is None:
        caption = Caption(activity_id=activity.id, language=language)
        db.session.add(caption)
    caption.label = CAPTION_LANGUAGES[language]
    caption.vtt = vtt
    caption.cue_count = vtt.count(" --> ")
    caption.original_name = nfc(os.path.basename(filename or ""))[:255]
    caption.uploaded_by = actor.id
    caption.created_at = utcnow()
    record_audit(
        "media.captions",
        actor_id=actor.id,
        target_type="activity",
        target_id=activity.id,
        detail=language,
    )
    db.session.flush()
    return caption


def caption_of(activity: Activity, caption_id: int) -> Caption:
    """Return a caption track of ``activity``, else raise NotFound."""
    caption = db.session.get(Caption, caption_id)
    if caption is None or caption.activity_id != activity.id:
        raise NotFound(_l("Caption track not found."))
    return caption


def remove_caption(activity: Activity, caption_id: int) -> None:
    """Delete a caption track."""
    db.session.delete(caption_of(activity, caption_id))


# --- who may fetch the files -----------------------------------------------------------------


def watcher(user: User, activity: Activity) -> str | None:
    """Say as whom ``user`` may fetch a lecture's files: ``staff``, ``learner`` or None.

    Course staff and admins always; learners with a run of the course; hr staff when
    the course is offered to them (they review what their units are assigned).
    """
    course = db.session.get(Course, activity.course_id)
    if courses.is_staff(user, course):
        return "staff"
    if not courses.can_see(user, course):
        return None
    if courses.current_run(user, course) is not None or user.is_hr:
        return "learner"
    return None


def served_file(video: Video, version: int, name: str) -> Path | None:
    """Return the file ``name`` of a ready version, or None (never outside its folder)."""
    from werkzeug.security import safe_join

    if version not in (video.ready_version, video.previous_version):
        return None
    folder = output_dir(video, version)
    joined = safe_join(str(folder), name)
    if joined is None:
        return None
    path = Path(joined)
    return path if path.is_file() else None


AUDIT_LABELS.update(
    {
        "media.uploaded": _l("Lecture uploaded"),
        "media.captions": _l("Captions added"),
    }
)
