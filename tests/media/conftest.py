"""Tiny media files made once per test run with the real ffmpeg."""

import os
import subprocess
from pathlib import Path

import pytest


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-nostdin", *args], check=True, timeout=120)


def _to_hdr(transfer: str) -> str:
    """Filters that encode an SDR picture as 10-bit BT.2100 with ``transfer`` (PQ or HLG)."""
    return (
        f"format=gbrp,zscale=tin=bt709:pin=bt709:t={transfer}:p=bt2020:m=bt2020nc:r=tv:npl=203,"
        "format=yuv420p10le"
    )


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Good and bad files, generated with ffmpeg's test sources (a few seconds in all)."""
    d = tmp_path_factory.mktemp("clips")
    video = d / "bai-giang.mp4"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=25:duration=3",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=3",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        "-movflags",
        "+faststart",
        str(video),
    )
    # A phone held upright stores landscape frames plus a display rotation; ffmpeg 5 writes
    # the rotation as a display matrix when the stream is copied.
    landscape = d / "ngang.mp4"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=25:duration=2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        str(landscape),
    )
    portrait = d / "dien-thoai.mp4"
    _ffmpeg("-i", str(landscape), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(portrait))
    audio = d / "bai-noi.m4a"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:duration=3", "-c:a", "aac", str(audio))
    image = d / "anh.png"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:duration=1", "-frames:v", "1", str(image))
    image_as_mp4 = d / "anh-doi-ten.mp4"
    image_as_mp4.write_bytes(image.read_bytes())
    text = d / "van-ban.mp4"
    text.write_text("Đây là văn bản, không phải video.\n" * 50, encoding="utf-8")
    empty = d / "rong.mp4"
    empty.write_bytes(b"")
    truncated = d / "cat-do.mp4"
    data = video.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    noise = d / "ngau-nhien.mp4"
    noise.write_bytes(os.urandom(200_000))
    # One test pattern three ways: SDR, and 10-bit HDR with the pattern's white at 203 nits
    # (BT.2408 reference white), so a correct tone-map gives back about the SDR picture.
    pattern = "testsrc2=size=320x240:rate=25:duration=2"
    sdr = d / "mau-sdr.mp4"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        pattern,
        "-vf",
        "format=gbrp,format=yuv420p",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(sdr),
    )
    pq = d / "hdr-pq.mp4"  # 10-bit HEVC, tagged in the x265 stream
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        pattern,
        "-vf",
        _to_hdr("smpte2084"),
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-x265-params",
        "log-level=error:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc",
        str(pq),
    )
    hlg = d / "hdr-hlg.mp4"  # 10-bit H.264, tagged with ffmpeg's -color_* options
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        pattern,
        "-vf",
        _to_hdr("arib-std-b67"),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-color_primaries",
        "bt2020",
        "-color_trc",
        "arib-std-b67",
        "-colorspace",
        "bt2020nc",
        str(hlg),
    )
    return {
        "video": video,
        "portrait": portrait,
        "audio": audio,
        "image": image,
        "image_as_mp4": image_as_mp4,
        "text": text,
        "empty": empty,
        "truncated": truncated,
        "noise": noise,
        "sdr": sdr,
        "hdr_pq": pq,
        "hdr_hlg": hlg,
    }
