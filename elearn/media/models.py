"""Video and audio lectures, their uploads in progress and their captions.

Files live under ``MEDIA_DIR`` in folders named by ids the server chose; a client's
filename is kept only as ``original_name`` for display:

- ``uploads/<upload id>.part``: a resumable upload being received;
- ``originals/<activity id>/v<version>.orig``: the file the instructor uploaded, kept;
- ``lectures/<activity id>/v<version>/``: what is served (``hls/``, ``fallback.mp4``
  or ``fallback.m4a``, ``poster.jpg``), made by the transcode job.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from elearn.core.clock import utcnow
from elearn.extensions import db

#: ``empty``: no file yet; ``processing``: checked and queued or transcoding;
#: ``ready``: served to learners; ``failed``: ``error`` says why (the original is kept).
VIDEO_STATES = ("empty", "processing", "ready", "failed")


class Video(db.Model):
    """The lecture of a video activity (one row per activity of type ``video``)."""

    __tablename__ = "videos"

    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="empty", index=True)
    #: ``video`` or ``audio``, as the upload check found.
    kind: Mapped[str | None] = mapped_column(String(8))
    #: The uploaded file's name, for display only (never a path).
    original_name: Mapped[str] = mapped_column(String(255), default="")
    original_size: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Grows with every accepted upload; names the original and the output folder.
    version: Mapped[int] = mapped_column(default=0)
    #: The version whose output is complete and served (None: nothing served yet).
    ready_version: Mapped[int | None]
    #: The version served before ``ready_version``, still answered for learners who were
    #: in the middle of it when the new one became ready (deleted with the next one).
    previous_version: Mapped[int | None]
    duration: Mapped[float | None]
    width: Mapped[int | None]
    height: Mapped[int | None]
    #: Comma-separated rung names, e.g. ``240p,360p,480p``.
    rungs: Mapped[str] = mapped_column(String(100), default="")
    #: Share of the duration a learner must watch for the activity to be complete.
    threshold: Mapped[float] = mapped_column(default=0.9)
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    #: Bytes of this lecture's files on disk (its ``originals/`` and ``lectures/`` folders,
    #: every version kept), measured when they change (``elearn.media.quota``); the
    #: course usage shown to admins is a sum of these, never a scan per page view.
    disk_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Upload(db.Model):
    """A resumable upload: the client sends chunks at ``received`` until ``size``."""

    __tablename__ = "uploads"

    #: Random and unguessable; also names the file the chunks are written to.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: For display and for the type check by extension; never used as a path.
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Caption(db.Model):
    """A caption track of a lecture, stored as UTF-8 WebVTT."""

    __tablename__ = "captions"
    __table_args__ = (
        UniqueConstraint("activity_id", "language", name="uq_captions_activity_language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), index=True)
    #: BCP 47 code (``vi``, ``en``).
    language: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(80))
    vtt: Mapped[str] = mapped_column(Text)
    cue_count: Mapped[int] = mapped_column(default=0)
    original_name: Mapped[str] = mapped_column(String(255), default="")
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
