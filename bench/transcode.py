"""Benchmark the lecture pipeline: real-time factor per x264 preset, one run vs one per rung.

Makes a camera-like 60 s clip (moving test pattern with grain, 25 fps, AAC audio) at
720p and 1080p, then for each preset times ``elearn.media.transcode.transcode`` (one
decode feeding the whole ladder, the MP4 fallback and the poster) and, for comparison,
one ffmpeg run per rung plus one for the MP4. Usage:

    .venv/bin/python bench/transcode.py [--seconds 60] [--presets ultrafast,veryfast]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench.harness import bench_app  # noqa: E402
from elearn.media import transcode  # noqa: E402


def make_clip(path: Path, size: str, seconds: int) -> None:
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate=25:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=220:duration={seconds}",
            "-vf",
            "noise=alls=12:allf=t",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",  # making the source is not what is measured
            "-crf",
            "20",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            str(path),
        ],
        check=True,
    )


def per_rung(source: Path, out: Path, info, preset: str) -> None:
    """The naive way: one ffmpeg run (one decode) per rung and one for the MP4."""
    landscape = info.width >= info.height
    for rung in transcode.choose_rungs(info):
        scale = f"-2:{rung.short_side}" if landscape else f"{rung.short_side}:-2"
        (out / rung.name).mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-y",
                "-i",
                str(source),
                "-vf",
                f"scale={scale},setsar=1,format=yuv420p",
                "-c:v",
                "libx264",
                "-preset",
                preset,
                "-b:v",
                f"{rung.video_kbps}k",
                "-c:a",
                "aac",
                "-f",
                "hls",
                "-hls_time",
                "4",
                "-hls_playlist_type",
                "vod",
                str(out / rung.name / "index.m3u8"),
            ],
            check=True,
        )
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-i",
            str(source),
            "-vf",
            "scale=-2:360,format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            preset,
            "-c:a",
            "aac",
            str(out / "fallback.mp4"),
        ],
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--presets", default="ultrafast,veryfast")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    app = bench_app(None)
    rows = []
    with app.app_context():
        for size, label in (("1280x720", "720p"), ("1920x1080", "1080p")):
            clip = work / f"{label}.mp4"
            make_clip(clip, size, args.seconds)
            info = transcode.check(clip, 3600)
            for preset in args.presets.split(","):
                start = time.perf_counter()
                transcode.transcode(clip, work / f"{label}-{preset}", info, preset=preset)
                ours = time.perf_counter() - start
                start = time.perf_counter()
                per_rung(clip, work / f"{label}-{preset}-naive", info, preset)
                naive = time.perf_counter() - start
                rows.append(
                    (
                        label,
                        preset,
                        len(transcode.choose_rungs(info)),
                        args.seconds / ours,
                        ours,
                        naive,
                    )
                )
    print(f"clip: {args.seconds} s, 25 fps, grain; machine: 2 cores\n")
    print("| source | preset | rungs | real-time factor (ours) | ours s | one run per rung s |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for label, preset, rungs, factor, ours, naive in rows:
        print(f"| {label} | {preset} | {rungs} | {factor:.2f}× | {ours:.1f} | {naive:.1f} |")


if __name__ == "__main__":
    main()
