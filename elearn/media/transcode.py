"""The one module that runs ffmpeg and ffprobe (commands built with ffmpeg-python).

``check(path)`` decides whether an uploaded file holds a real video or audio stream
that decodes, with a sane duration. It probes the container, then decodes a second at
the start and a second near the end, which catches renamed text, still images, empty,
truncated and random files. Refusals raise ``MediaRefused`` with a message for the
person who uploaded the file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
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
#: ffprobe's ``color_transfer`` for HDR video: PQ (SMPTE ST 2084) and HLG (ARIB STD-B67).
HDR_TRANSFERS = {"smpte2084", "arib-std-b67"}


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


def _bit_depth(stream: dict) -> int:
    # ffprobe leaves bits_per_raw_sample out for HEVC; the pixel format still says it.
    if stream.get("bits_per_raw_sample"):
        return int(stream["bits_per_raw_sample"])
    match = re.search(r"p(9|10|12|14|16)(le|be)$", stream.get("pix_fmt", ""))
    return int(match.group(1)) if match else 8


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
    hdr = bool(video) and video.get("color_transfer") in HDR_TRANSFERS
    if hdr:
        log.info(
            "%s is HDR (transfer %s, primaries %s, matrix %s); it will be tone-mapped",
            path.name,
            video.get("color_transfer"),
            video.get("color_primaries", "untagged"),
            video.get("color_space", "untagged"),
        )
    return MediaInfo(
        kind="video" if video is not None else "audio",
        duration=round(duration, 3),
        container=container,
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        width=width,
        height=height,
        rotation=rotation,
        bit_depth=_bit_depth(video) if video else 0,
        hdr=hdr,
    )


# --- transcoding -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rung:
    """One quality of the HLS ladder, named by its short side (portrait video too)."""

    name: str
    short_side: int
    video_kbps: int
    audio_kbps: int


#: Low first: the 240p rung is for poor provincial links.
LADDER = (
    Rung("240p", 240, 300, 64),
    Rung("360p", 360, 700, 96),
    Rung("480p", 480, 1200, 128),
    Rung("720p", 720, 2500, 128),
)
#: Seconds per HLS segment; keyframes are forced on this grid in every rung.
SEGMENT_SECONDS = 4


class TranscodeFailed(ServiceError):
    """ffmpeg could not make the lecture; the original is kept."""


def _even(value: int) -> int:
    return max(2, value - value % 2)


def choose_rungs(info: MediaInfo) -> list[Rung]:
    """Return the ladder for a source: no rung larger than its short side."""
    short = min(info.width, info.height)
    rungs = [rung for rung in LADDER if rung.short_side <= short]
    return rungs or [Rung(f"{_even(short)}p", _even(short), 300, 64)]


def _tone_map(video):
    """Turn PQ or HLG frames into 8-bit SDR BT.709 (without this, HDR comes out washed out).

    Light is made linear (1.0 = 100 nits, SDR white) in float RGB, moved to BT.709
    primaries, compressed with the Möbius curve (the tonemap filter takes the peak from the
    stream's mastering or light-level metadata, else 1000 nits), then encoded as BT.709.
    On a test pattern with its white at 203 nits (BT.2408), Möbius gave back the SDR mean
    luma within 2 %; Hable came out 18 % darker. Rec. 2100 gives PQ and HLG the BT.2020
    primaries and matrix; they are set here because zscale refuses frames that leave them
    untagged ("no path between colorspaces").
    """
    return (
        video.filter("zscale", pin="bt2020", min="bt2020nc", p="bt2020", t="linear", npl=100)
        .filter("format", "gbrpf32le")
        .filter("zscale", p="bt709")
        .filter("tonemap", tonemap="mobius", desat=0)
        .filter("zscale", t="bt709", m="bt709", r="tv")
        .filter("format", "yuv420p")
    )


def build_command(
    source: Path, work: Path, info: MediaInfo, preset: str = "veryfast", threads: int = 2
) -> list[str]:
    """Return the single ffmpeg command: one decode, the HLS ladder, an MP4, a poster."""
    source_input = ffmpeg.input(str(source))
    audio = source_input.audio
    common = {"preset": preset, "threads": threads}
    if info.kind == "audio":
        hls = ffmpeg.output(
            audio,
            str(work / "hls" / "%v" / "index.m3u8"),
            format="hls",
            acodec="aac",
            audio_bitrate="96k",
            hls_time=SEGMENT_SECONDS,
            hls_playlist_type="vod",
            hls_segment_filename=str(work / "hls" / "%v" / "seg_%04d.ts"),
            master_pl_name="master.m3u8",
            var_stream_map="a:0",
        )
        fallback = ffmpeg.output(
            audio,
            str(work / "fallback.m4a"),
            acodec="aac",
            audio_bitrate="96k",
            movflags="+faststart",
        )
        outputs = ffmpeg.merge_outputs(hls, fallback)
    else:
        rungs = choose_rungs(info)
        landscape = info.width >= info.height
        # ffmpeg applies the rotation while decoding; frames are upright from here on.
        if info.hdr:
            video = _tone_map(source_input.video)
            # Say what the pixels now are, or players would still read them as HDR.
            common.update(
                color_primaries="bt709", color_trc="bt709", colorspace="bt709", color_range="tv"
            )
        else:
            video = source_input.video.filter("format", "yuv420p")
        frames = video.filter_multi_output("split", len(rungs) + 2)
        streams, rates = [], {}
        for index, rung in enumerate(rungs):
            size = (-2, rung.short_side) if landscape else (rung.short_side, -2)
            streams.append(frames[index].filter("scale", *size).filter("setsar", 1))
            if info.audio_codec:
                streams.append(audio)
            rates.update(
                {
                    f"b:v:{index}": f"{rung.video_kbps}k",
                    f"maxrate:v:{index}": f"{rung.video_kbps * 3 // 2}k",
                    f"bufsize:v:{index}": f"{rung.video_kbps * 2}k",
                }
            )
            if info.audio_codec:
                rates[f"b:a:{index}"] = f"{rung.audio_kbps}k"
        stream_map = " ".join(
            f"v:{i},a:{i},name:{rung.name}" if info.audio_codec else f"v:{i},name:{rung.name}"
            for i, rung in enumerate(rungs)
        )
        keyframes = f"expr:gte(t,n_forced*{SEGMENT_SECONDS})"
        hls = ffmpeg.output(
            *streams,
            str(work / "hls" / "%v" / "index.m3u8"),
            format="hls",
            vcodec="libx264",
            acodec="aac",
            profile="main",
            force_key_frames=keyframes,
            sc_threshold=0,
            hls_time=SEGMENT_SECONDS,
            hls_playlist_type="vod",
            hls_segment_filename=str(work / "hls" / "%v" / "seg_%04d.ts"),
            master_pl_name="master.m3u8",
            var_stream_map=stream_map,
            **rates,
            **common,
        )
        middle = rungs[min(1, len(rungs) - 1)]
        size = (-2, middle.short_side) if landscape else (middle.short_side, -2)
        mp4_streams = [frames[len(rungs)].filter("scale", *size).filter("setsar", 1)]
        if info.audio_codec:
            mp4_streams.append(audio)
        fallback = ffmpeg.output(
            *mp4_streams,
            str(work / "fallback.mp4"),
            vcodec="libx264",
            acodec="aac",
            video_bitrate=f"{middle.video_kbps}k",
            movflags="+faststart",
            **common,
        )
        poster_at = min(1.0, info.duration / 2)
        poster = ffmpeg.output(
            frames[len(rungs) + 1].filter("trim", start=poster_at).filter("setpts", "PTS-STARTPTS"),
            str(work / "poster.jpg"),
            vframes=1,
        )
        outputs = ffmpeg.merge_outputs(hls, fallback, poster)
    command = outputs.compile()
    command = [
        command[0],
        "-v",
        "error",
        "-y",
        "-nostdin",
        "-progress",
        "pipe:1",
        "-nostats",
        *command[1:],
    ]
    if shutil.which("nice"):
        command = ["nice", "-n", "10", *command]  # the site stays responsive
    return command


def _die_with_parent() -> None:
    """In the child: have Linux kill ffmpeg if the worker that started it dies (SIGKILL too)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass  # not Linux: the process group is still killed on ordinary errors


#: Seconds ffmpeg may go without a progress report before it counts as stuck and is killed.
STALL_SECONDS = 300


class _Watchdog:
    """Kill ffmpeg's process group if it reports no progress for ``limit`` seconds."""

    def __init__(self, process: subprocess.Popen, limit: float):
        self.process, self.limit = process, limit
        self.last = time.monotonic()
        self.fired = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def alive(self) -> None:
        self.last = time.monotonic()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(min(5.0, self.limit / 4)):
            if time.monotonic() - self.last > self.limit and self.process.poll() is None:
                self.fired = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                return


def run_ffmpeg(command: list[str], timeout: float) -> None:
    """Run an ffmpeg command built elsewhere with ffmpeg-python (e.g. the demo lecture).

    This module owns running ffmpeg; failures raise RuntimeError with ffmpeg's last words.
    """
    try:
        subprocess.run(  # noqa: S603 - a command built with ffmpeg-python, no shell
            command, capture_output=True, timeout=timeout, check=True
        )
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode("utf-8", "replace")[-500:]
        raise RuntimeError(f"ffmpeg failed: {detail}") from exc
    except (subprocess.TimeoutExpired, OSError) as exc:
        raise RuntimeError(f"ffmpeg failed: {exc}") from exc


def transcode(
    source: Path,
    destination: Path,
    info: MediaInfo,
    progress: Callable[[float], None] | None = None,
    preset: str = "veryfast",
    threads: int = 2,
) -> Path:
    """Make the HLS ladder, fallback and poster of ``source`` in ``destination``.

    Work happens in a sibling folder that is renamed into place only when ffmpeg
    succeeded, so a killed worker never leaves a half-made lecture being served. ffmpeg
    runs in its own process group and dies with its job. ``progress(fraction)`` is
    called as ffmpeg reports its position.
    """
    work = destination.with_name(f"{destination.name}.partial-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    (work / "hls").mkdir(parents=True)
    command = build_command(source, work, info, preset, threads)
    log.info("transcoding %s: %s", source.name, " ".join(command))
    # ffmpeg's errors go to a file: a pipe nobody reads while progress is read would fill
    # up (64 KiB of warnings from a damaged middle) and block ffmpeg for ever.
    errors = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
    process = subprocess.Popen(  # noqa: S603 - arguments built above, no shell
        command,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    watchdog = _Watchdog(process, STALL_SECONDS)
    try:
        for line in process.stdout:
            watchdog.alive()
            key, _, value = line.strip().partition("=")
            if key == "out_time_us" and value.isdigit() and progress and info.duration:
                progress(min(1.0, int(value) / 1_000_000 / info.duration))
        process.wait()
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)  # never leave ffmpeg running behind us
        process.wait()
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        watchdog.stop()
        errors.seek(0)
        error = errors.read()[-2000:]
        errors.close()
    if watchdog.fired:
        shutil.rmtree(work, ignore_errors=True)
        log.warning("ffmpeg stalled on %s for %s s; killed", source.name, STALL_SECONDS)
        raise TranscodeFailed(
            _l(
                "The conversion stopped making progress and was ended. The original is "
                "kept; try again, or upload another export."
            )
        )
    if process.returncode != 0 or not (work / "hls" / "master.m3u8").exists():
        shutil.rmtree(work, ignore_errors=True)
        log.warning("ffmpeg failed on %s: %s", source.name, error[-500:])
        raise TranscodeFailed(
            _l(
                "The video could not be converted for the web. The "
                "original is kept; try again, or upload another export."
            )
        )
    if destination.exists():
        shutil.rmtree(destination)  # a job that ran twice: the newer result wins
    work.rename(destination)
    return destination
