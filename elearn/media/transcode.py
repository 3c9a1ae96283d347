"""The one module that runs ffmpeg and ffprobe (through ffmpeg-python).

``check(path)`` decides whether an uploaded file holds a real video or audio stream
that decodes, with a sane duration. It probes the container, then decodes a second at
the start and a second near the end, which catches renamed text, still images, empty,
truncated and random files. Refusals raise ``MediaRefused`` with a message for the
person who uploaded the file.
"""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import ffmpeg
from flask_babel import lazy_gettext as _l

from elearn.core.services import ServiceError
from elearn.media.data import MediaInfo

log = logging.getLogger(__name__)

#: Containers ffprobe reports for single images; such a file is never a lecture.
IMAGE_FORMATS = {
    "image2",
    "png_pipe",
    "jpeg_pipe",
    "webp_pipe",
    "gif",
    "bmp_pipe",
    "tiff_pipe",
    "svg_pipe",
}
#: "Video" codecs that are really pictures (album covers inside audio files).
PICTURE_CODECS = {"mjpeg", "png", "bmp", "gif", "webp", "tiff"}
#: Seconds a probe or a decode test may take before the file counts as broken.
TOOL_TIMEOUT = 60


class MediaRefused(ServiceError):
    """The file is not a usable lecture; the message says why, in the user's language."""


def _probe(path: Path) -> dict:
    # ffmpeg-python's probe() has no time limit, so ffprobe is run here directly.
    command = ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)]
    try:
        result = subprocess.run(  # noqa: S603 - fixed program, our own path argument
            command, capture_output=True, timeout=TOOL_TIMEOUT, check=True
        )
        return json.loads(result.stdout)
    except (subprocess.CalledProcessError, json.JSONDecodeError) as exc:
        log.info("ffprobe refused %s: %s", path.name, getattr(exc, "stderr", b"")[-300:])
        raise MediaRefused(
            _l(
                "This file is not a video or audio file that can be read. "
                "Check that it plays on your computer, then upload it again."
            )
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise MediaRefused(_l("Reading this file took too long; it may be damaged.")) from exc


def _decodes(path: Path, start: float, stream: str) -> bool:
    """Tell whether one second from ``start`` decodes without an error."""
    command = (
        ffmpeg.input(str(path), ss=max(0.0, start))
        .output("-", format="null", t=1, map=f"0:{stream}:0")
        .compile()
    )
    # Global options go first; after the output name ffmpeg would call them "trailing".
    command = [command[0], "-v", "error", "-xerror", "-nostdin", *command[1:]]
    try:
        result = subprocess.run(  # noqa: S603 - fixed program, our own path argument
            command, capture_output=True, timeout=TOOL_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and not result.stderr.strip()


def _rotation(stream: dict) -> int:
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            return int(side["rotation"]) % 360
    return int((stream.get("tags") or {}).get("rotate", 0)) % 360


def check(path: Path, max_duration: float) -> MediaInfo:
    """Return what ``path`` holds if it is a usable lecture, else raise MediaRefused."""
    if not path.is_file() or path.stat().st_size == 0:
        raise MediaRefused(_l("The file is empty."))
    info = _probe(path)
    container = info.get("format", {}).get("format_name", "")
    streams = info.get("streams", [])
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video"
            and s.get("codec_name") not in PICTURE_CODECS
            and not (s.get("disposition") or {}).get("attached_pic")
        ),
        None,
    )
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if container in IMAGE_FORMATS or (
        video is None and audio is None and any(s.get("codec_type") == "video" for s in streams)
    ):
        raise MediaRefused(
            _l("This is a still image, not a video. Upload a video or an audio recording.")
        )
    if video is None and audio is None:
        raise MediaRefused(_l("The file holds no video or audio."))
    try:
        duration = float(info["format"].get("duration") or (video or audio).get("duration"))
    except (TypeError, ValueError):
        duration = 0.0
    if duration <= 0.2:
        raise MediaRefused(_l("The recording is too short or its length cannot be read."))
    if duration > max_duration:
        raise MediaRefused(
            _l(
                "The recording lasts %(minutes)d minutes; the limit is "
                "%(limit)d minutes. Split it into shorter lectures.",
                minutes=round(duration / 60),
                limit=round(max_duration / 60),
            )
        )
    stream = "v" if video is not None else "a"
    if not (_decodes(path, 0, stream) and _decodes(path, duration - 1.5, stream)):
        raise MediaRefused(
            _l(
                "The file is damaged or incomplete (it does not play to the "
                "end). Upload it again, or export it again from the camera or "
                "editor."
            )
        )
    rotation = _rotation(video) if video else 0
    width, height = (int(video.get("width", 0)), int(video.get("height", 0))) if video else (0, 0)
    if rotation in (90, 270):
        width, height = height, width
    return MediaInfo(
        kind="video" if video is not None else "audio",
        duration=round(duration, 3),
        container=container,
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        width=width,
        height=height,
        rotation=rotation,
        bit_depth=int(video.get("bits_per_raw_sample") or 8) if video else 0,
    )
