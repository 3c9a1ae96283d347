"""Benchmark the lecture pipeline: real-time factor per x264 preset, one run vs one per rung.

Makes a camera-like 60 s clip (moving test pattern with grain, 25 fps, AAC audio) at
720p and 1080p, then for each preset times ``elearn.media.transcode.transcode`` (one
decode feeding the whole ladder, the MP4 fallback and the poster) and, for comparison,
one ffmpeg run per rung plus one for the MP4.

It also measures what our Python adds around ffmpeg: ``transcode()`` (builds the command,
reads ``-progress``, renames the folder) against the very command ``build_command``
returns, run with ``subprocess.run`` and nothing else. The two alternate (ABBA...) so
that a slow spell of the machine does not land on one side only. CPU time (getrusage) of
this Python process and of ffmpeg is reported too: unlike wall time, a busy machine does
not throw it off. Usage:

    .venv/bin/python bench/transcode.py [--seconds 60] [--presets ultrafast,veryfast]
        [--sizes 720p,1080p] [--repeats 2] [--no-naive]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench.harness import bench_app  # noqa: E402
from elearn.media import transcode  # noqa: E402

SELF, CHILDREN = resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN


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


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def bare(source: Path, out: Path, info, preset: str) -> tuple[float, float, float]:
    """Run the command ``transcode()`` would run, as it is.

    Returns wall seconds, CPU seconds of this Python process, CPU seconds of ffmpeg.
    """
    shutil.rmtree(out, ignore_errors=True)
    (out / "hls").mkdir(parents=True)
    command = transcode.build_command(source, out, info, preset)
    start, own, child = time.perf_counter(), _cpu(SELF), _cpu(CHILDREN)
    subprocess.run(  # noqa: S603 - the pipeline's own command
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True
    )
    return time.perf_counter() - start, _cpu(SELF) - own, _cpu(CHILDREN) - child


def ours(source: Path, out: Path, info, preset: str) -> tuple[float, float, float]:
    """Run ``transcode()`` into a folder that does not exist yet; measured like ``bare``."""
    shutil.rmtree(out, ignore_errors=True)
    start, own, child = time.perf_counter(), _cpu(SELF), _cpu(CHILDREN)
    transcode.transcode(source, out, info, preset=preset)
    return time.perf_counter() - start, _cpu(SELF) - own, _cpu(CHILDREN) - child


SIZES = {"720p": "1280x720", "1080p": "1920x1080"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--presets", default="ultrafast,veryfast")
    parser.add_argument("--sizes", default="720p,1080p")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each side, alternated")
    parser.add_argument("--no-naive", action="store_true", help="skip one run per rung")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    app = bench_app(None)
    rows, overheads = [], []
    loads = [os.getloadavg()[0]]
    with app.app_context():
        for label in args.sizes.split(","):
            clip = work / f"{label}.mp4"
            make_clip(clip, SIZES[label], args.seconds)
            info = transcode.check(clip, 3600)
            for preset in args.presets.split(","):
                out = work / f"{label}-{preset}"
                mine, plain = [], []
                for run in range(args.repeats):
                    # ABBA: the side that goes first alternates.
                    if run % 2 == 0:
                        mine.append(ours(clip, out, info, preset))
                        plain.append(bare(clip, work / "bare", info, preset))
                    else:
                        plain.append(bare(clip, work / "bare", info, preset))
                        mine.append(ours(clip, out, info, preset))
                    loads.append(os.getloadavg()[0])
                naive = None
                if not args.no_naive:
                    start = time.perf_counter()
                    per_rung(clip, work / f"{label}-{preset}-naive", info, preset)
                    naive = time.perf_counter() - start
                ours_s, python_cpu, ours_cpu = (statistics.mean(v) for v in zip(*mine, strict=True))
                bare_s, _, bare_cpu = (statistics.mean(v) for v in zip(*plain, strict=True))
                rungs = len(transcode.choose_rungs(info))
                rows.append((label, preset, rungs, args.seconds / ours_s, ours_s, naive))
                gaps = [m[0] - p[0] for m, p in zip(mine, plain, strict=True)]
                overheads.append(
                    (label, preset, ours_s, bare_s, gaps, python_cpu, ours_cpu, bare_cpu)
                )
    print(
        f"clip: {args.seconds} s, 25 fps, grain; machine: {os.cpu_count()} cores; "
        f"{args.repeats} runs of each side (mean); "
        f"1-min load average between runs: {min(loads):.1f} to {max(loads):.1f}\n"
    )
    print("| source | preset | rungs | real-time factor (ours) | ours s | one run per rung s |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for label, preset, rungs, factor, ours_s, naive in rows:
        naive_s = "—" if naive is None else f"{naive:.1f}"
        print(f"| {label} | {preset} | {rungs} | {factor:.2f}× | {ours_s:.1f} | {naive_s} |")
    print()
    print(
        "| source | preset | `transcode()` s | same command, bare s | difference s | difference % "
        "| per-pair difference s | our Python's CPU s | ffmpeg CPU s (ours / bare) |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, preset, ours_s, bare_s, gaps, python_cpu, ours_cpu, bare_cpu in overheads:
        gap = ours_s - bare_s
        print(
            f"| {label} | {preset} | {ours_s:.2f} | {bare_s:.2f} | {gap:+.2f} "
            f"| {100 * gap / bare_s:+.1f} % | {min(gaps):+.2f} to {max(gaps):+.2f} "
            f"| {python_cpu:.3f} | {ours_cpu:.1f} / {bare_cpu:.1f} |"
        )


if __name__ == "__main__":
    main()
