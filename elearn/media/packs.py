"""Video lessons in content packs: load a lecture and its captions, export them back.

A pack's video lesson names its lecture (``video:``) and captions (``captions:``) by
paths inside the pack. Loading copies a lecture that is new or changed (by name and
size) into the lesson as its next version and marks it ``processing``;
``queue_unconverted()``, called after the load is committed, starts the transcode
jobs. A lecture file that is missing (not generated yet) leaves the lesson without a
video, with a warning, so a pack still loads.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from sqlalchemy import select

from elearn.courses import packs
from elearn.courses.models import Activity, Module
from elearn.extensions import db
from elearn.media import captions as caption_files
from elearn.media import quota, services
from elearn.media.models import Caption, Video

log = logging.getLogger(__name__)


def load_video(activity: Activity | None, module: Module, page, folder: Path) -> Activity:
    """Create or update a video lesson from a pack entry (the caller commits)."""
    if activity is None:
        activity = services.add_video(
            module,
            page.title,
            page.markdown,
            required=page.required,
            threshold=page.threshold,
            key=page.key,
        )
    elif activity.type != "video":
        raise packs.PackError(f"{folder}: key '{page.key}' is a page on the site, not a video")
    else:
        services.update_video(
            activity,
            page.title,
            page.markdown,
            required=page.required,
            threshold=page.threshold,
        )
    video = services.video_of(activity)
    source = folder / page.video
    if not source.is_file():
        log.warning("%s: lecture %s is missing; the lesson has no video yet", folder, page.video)
    elif (video.original_name, video.original_size) != (source.name, source.stat().st_size):
        video.version += 1
        target = services.original_path(video)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        video.original_name, video.original_size = source.name, source.stat().st_size
        video.state, video.error, video.job_id = "processing", None, None
        quota.remeasure(video)  # packs are loaded by operators: no quota check
    for language, relative in page.captions.items():
        path = folder / relative
        if not path.is_file():
            log.warning("%s: captions %s are missing", folder, relative)
            continue
        vtt = caption_files.parse(path.read_bytes(), path.name)
        caption = db.session.scalar(
            select(Caption).where(Caption.activity_id == activity.id, Caption.language == language)
        )
        if caption is None or caption.vtt != vtt:
            if caption is None:
                caption = Caption(activity_id=activity.id, language=language)
                db.session.add(caption)
            caption.label = services.CAPTION_LANGUAGES.get(language, language)
            caption.vtt, caption.cue_count = vtt, vtt.count(" --> ")
            caption.original_name = path.name
    db.session.flush()
    return activity


def queue_unconverted() -> int:
    """Start a transcode job for every lecture waiting without one (commits); return how many."""
    waiting = list(
        db.session.scalars(select(Video).where(Video.state == "processing", Video.job_id.is_(None)))
    )
    for video in waiting:
        services.start_transcode(video, None)
    return len(waiting)


def export_video(activity: Activity, target: Path) -> dict:
    """Copy a lesson's lecture and captions into an exported pack; return the entry keys."""
    video = services.video_of(activity)
    entry: dict = {"threshold": video.threshold}
    original = services.original_path(video)
    suffix = Path(video.original_name).suffix.lower() or ".mp4"
    name = f"media/{activity.key}{suffix}"
    entry["video"] = name
    if video.version and original.is_file():
        (target / "media").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(original, target / name)
    captions = {}
    for caption in services.captions_of(activity):
        relative = f"media/{activity.key}.{caption.language}.vtt"
        (target / "media").mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(caption.vtt, encoding="utf-8")
        captions[caption.language] = relative
    if captions:
        entry["captions"] = captions
    return entry


def make_demo_lectures(root: Path) -> list[Path]:
    """Make the missing lectures of video lessons marked ``generate: slides`` below ``root``.

    Slides come from the lesson's own text (its title and ``##`` headings); captions are
    written from the same narration when the pack names a Vietnamese caption file.
    """
    from elearn.media import demo

    made = []
    for pack in packs.read_packs(root):
        for module in pack.modules:
            for page in module.pages:
                if page.kind != "video" or page.generate != "slides":
                    continue
                video = pack.folder / page.video
                if video.is_file():
                    continue
                captions = pack.folder / page.captions.get("vi", f"{page.video}.vi.vtt")
                video.parent.mkdir(parents=True, exist_ok=True)
                captions.parent.mkdir(parents=True, exist_ok=True)
                slides = demo.slides_from_markdown(page.title, page.markdown)
                demo.make_lecture(slides, video, captions)
                made.append(video)
    return made


packs.VIDEO_LOADER = load_video
packs.VIDEO_EXPORTER = export_video
