"""The transcoder survives files that make ffmpeg talk a lot or go quiet."""

from __future__ import annotations

import subprocess
import threading

import pytest

from elearn.media import transcode
from tests.media.conftest import _ffmpeg


def test_a_file_damaged_in_the_middle_does_not_hang_the_worker(app, tmp_path):
    """Over 64 KiB of decoder errors once filled a pipe nobody read and blocked ffmpeg."""
    clean = tmp_path / "sach.ts"
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=45",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-f", "mpegts",
        str(clean),
    )  # fmt: skip
    data = bytearray(clean.read_bytes())
    for i in range(len(data) // 8, 7 * len(data) // 8, 60):
        data[i] ^= 0x55  # flip bits all through the middle
    damaged = tmp_path / "hong-giua.ts"
    damaged.write_bytes(data)
    noise = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", str(damaged), "-f", "null", "-"],
        capture_output=True,
        check=False,
    ).stderr
    assert len(noise) > 65_536  # enough to fill a pipe
    info = transcode.check(damaged, 3600)  # start and end decode: the check lets it through
    outcome = {}

    def run():
        try:
            outcome["done"] = transcode.transcode(
                damaged, tmp_path / "out", info, preset="ultrafast", threads=1
            )
        except transcode.TranscodeFailed as exc:
            outcome["failed"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "the transcode hung"
    assert outcome  # finished one way or the other, with a reason when it failed


def test_ffmpeg_that_stops_reporting_progress_is_killed(app, tmp_path, monkeypatch, clips):
    """A stuck ffmpeg (here: one that sleeps) is ended and the lecture fails with a reason."""
    monkeypatch.setattr(transcode, "STALL_SECONDS", 2)
    real = transcode.build_command

    def stuck(*args, **kwargs):
        return ["sh", "-c", "sleep 60", "--", *real(*args, **kwargs)]

    monkeypatch.setattr(transcode, "build_command", stuck)
    info = transcode.check(clips["video"], 3600)
    with pytest.raises(transcode.TranscodeFailed, match="(progress|tiến triển)"):
        transcode.transcode(clips["video"], tmp_path / "out", info)
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob("out.partial-*"))
