"""The one-run ladder, with real ffmpeg on tiny generated clips (fast preset)."""

import json
import subprocess

import pytest

from elearn.media import transcode
from tests.media.conftest import _ffmpeg


def _streams(path):
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        text=True,
    )
    return json.loads(result.stdout)["streams"]


def _video(path):
    return next(s for s in _streams(path) if s["codec_type"] == "video")


def _run(source, tmp_path, max_duration=3600):
    info = transcode.check(source, max_duration)
    seen = []
    out = transcode.transcode(
        source, tmp_path / "lecture", info, progress=seen.append, preset="ultrafast"
    )
    return info, out, seen


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    d = tmp_path_factory.mktemp("sources")
    made = {}
    for name, size, extra in [
        ("hd", "1280x720", []),
        ("sd", "640x360", []),
        ("odd", "321x241", []),
        ("ten-bit", "640x360", ["-pix_fmt", "yuv420p10le"]),
    ]:
        made[name] = d / f"{name}.mp4"
        _ffmpeg(
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate=25:duration=2",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            *(extra or ["-pix_fmt", "yuv420p"]),
            "-c:a",
            "aac",
            "-shortest",
            str(made[name]),
        )
    return made


def test_a_720p_source_gets_the_whole_ladder_and_every_output_plays(app, sources, tmp_path):
    _info, out, seen = _run(sources["hd"], tmp_path)
    master = (out / "hls" / "master.m3u8").read_text()
    assert [line for line in master.splitlines() if line.endswith(".m3u8")] == [
        "240p/index.m3u8",
        "360p/index.m3u8",
        "480p/index.m3u8",
        "720p/index.m3u8",
    ]
    for rung, height in (("240p", 240), ("360p", 360), ("480p", 480), ("720p", 720)):
        playlist = out / "hls" / rung / "index.m3u8"
        assert _video(playlist)["height"] == height
        assert list((out / "hls" / rung).glob("seg_*.ts"))
    assert _video(out / "fallback.mp4")["height"] == 360
    assert _video(out / "poster.jpg")["codec_name"] == "mjpeg"
    assert seen
    assert seen[-1] == pytest.approx(1.0, abs=0.1)
    assert not list(tmp_path.glob("*.partial-*"))


def test_no_rung_is_larger_than_the_source(app, sources, tmp_path):
    _info, out, _seen = _run(sources["sd"], tmp_path)
    assert sorted(p.name for p in (out / "hls").iterdir() if p.is_dir()) == ["240p", "360p"]


def test_portrait_phone_video_comes_out_upright(app, clips, tmp_path):
    info, out, _seen = _run(clips["portrait"], tmp_path)
    video = _video(out / "hls" / "240p" / "index.m3u8")
    assert (video["width"], video["height"]) == (240, 320)


def test_odd_sizes_and_ten_bit_sources_give_even_8_bit_outputs(app, sources, tmp_path):
    _info, out, _seen = _run(sources["odd"], tmp_path / "odd")
    video = _video(out / "fallback.mp4")
    assert video["width"] % 2 == 0
    assert video["height"] % 2 == 0
    _info, out, _seen = _run(sources["ten-bit"], tmp_path / "ten")
    for path in (out / "fallback.mp4", out / "hls" / "360p" / "index.m3u8"):
        assert _video(path)["pix_fmt"] == "yuv420p"


def test_an_audio_lecture_gets_audio_hls_and_an_m4a(app, clips, tmp_path):
    _info, out, _seen = _run(clips["audio"], tmp_path)
    assert (out / "hls" / "master.m3u8").exists()
    assert _streams(out / "fallback.m4a")[0]["codec_type"] == "audio"


def test_a_failed_run_leaves_nothing_behind(app, clips, tmp_path, monkeypatch):
    info = transcode.check(clips["video"], 3600)
    real = transcode.build_command
    monkeypatch.setattr(
        transcode, "build_command", lambda *a, **k: [*real(*a, **k)[:-1], "/nonexistent/dir/x.jpg"]
    )
    media = tmp_path / "media"
    media.mkdir()
    with pytest.raises(transcode.TranscodeFailed):
        transcode.transcode(clips["video"], media / "lecture", info)
    assert list(media.iterdir()) == []


def test_the_operator_command_runs_the_pipeline(runner, clips, tmp_path):
    result = runner.invoke(
        args=[
            "media",
            "transcode",
            str(clips["video"]),
            str(tmp_path / "out"),
            "--preset",
            "ultrafast",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "done:" in result.output
    assert (tmp_path / "out" / "hls" / "master.m3u8").exists()


KILLED_WORKER = """
import sys, time
from pathlib import Path
from elearn import create_app
from elearn.media import transcode
app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                  "INSTANCE_DIR": sys.argv[3]})
with app.app_context():
    info = transcode.check(Path(sys.argv[1]), 3600)
    def progress(fraction):
        print("progress", fraction, flush=True)
    transcode.transcode(Path(sys.argv[1]), Path(sys.argv[2]), info, progress=progress,
                        preset="medium", threads=1)
"""


def test_a_worker_killed_mid_transcode_leaves_no_ffmpeg_and_nothing_served(tmp_path):
    import signal
    import sys
    import time

    source = tmp_path / "long.mp4"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1280x720:rate=25:duration=30",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        str(source),
    )
    destination = tmp_path / "out" / "lecture"
    destination.parent.mkdir()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLED_WORKER,
            str(source),
            str(destination),
            str(tmp_path / "instance"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = worker.stdout.readline()  # ffmpeg is running once progress arrives
    assert line.startswith("progress"), line
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = subprocess.run(["pgrep", "-f", str(destination)], capture_output=True, text=True)
        if not left.stdout.strip():
            break
        time.sleep(0.2)
    assert left.stdout.strip() == "", "ffmpeg outlived its worker"
    assert not destination.exists()  # only the .partial folder, which is never served


def _picture(path):
    """Mean luma and mean saturation over all frames (ffmpeg signalstats YAVG, SATAVG)."""
    result = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-nostdin",
            "-i",
            str(path),
            "-vf",
            "signalstats,metadata=print:file=-",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        check=True,
        text=True,
    )
    values = {"YAVG": [], "SATAVG": []}
    for line in result.stdout.splitlines():
        key, _, value = line.removeprefix("lavfi.signalstats.").partition("=")
        if key in values:
            values[key].append(float(value))
    return tuple(sum(v) / len(v) for v in values.values())


@pytest.mark.parametrize("name", ["hdr_pq", "hdr_hlg"])
def test_the_check_recognises_pq_and_hlg_video_as_hdr(clips, sources, name):
    info = transcode.check(clips[name], 3600)
    assert info.hdr
    assert info.bit_depth == 10  # HEVC too, whose probe has no bits_per_raw_sample
    assert not transcode.check(clips["sdr"], 3600).hdr
    assert not transcode.check(sources["ten-bit"], 3600).hdr  # 10-bit alone is not HDR


@pytest.mark.parametrize("name", ["hdr_pq", "hdr_hlg"])
def test_hdr_is_tone_mapped_to_8_bit_bt709_that_looks_like_the_sdr_picture(
    app, clips, tmp_path, name
):
    _info, out, _seen = _run(clips[name], tmp_path)
    for path in (out / "fallback.mp4", out / "hls" / "240p" / "index.m3u8"):
        video = _video(path)
        assert video["pix_fmt"] == "yuv420p"
        assert video["color_transfer"] == "bt709"
        assert video["color_primaries"] == "bt709"
        assert video["color_space"] == "bt709"
    luma, saturation = _picture(out / "fallback.mp4")
    sdr_luma, sdr_saturation = _picture(clips["sdr"])
    # HDR pixels passed through as they are look grey: saturation falls below half.
    assert luma == pytest.approx(sdr_luma, rel=0.2)
    assert saturation > 0.6 * sdr_saturation
