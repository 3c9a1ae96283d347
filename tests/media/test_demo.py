"""The demo lecture, made with the real ffmpeg (and espeak-ng when it is installed)."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from elearn.media import demo, transcode

PAGE = Path(__file__).parents[2] / "content/chuyen-doi-so/pages/01-chuyen-doi-so-la-gi.md"
SLIDES = [
    ("Chuyển đổi số là gì?", "Chuyển đổi số là gì?"),
    (
        "Chính phủ điện tử: đưa hoạt động của Nhà nước lên môi trường mạng",
        'Ba cấp độ: "số hóa thông tin", số hóa quy trình và chuyển đổi số. '
        "Công nghệ đã ở mức 4.0, trong khi con người và cách quản lý vẫn ở mức 1.0; "
        "100% hồ sơ phải được cập nhật.",
    ),
]
CUE_TIMES = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})$")
real_which = shutil.which


def _without_espeak(name, *args, **kwargs):
    return None if name == "espeak-ng" else real_which(name, *args, **kwargs)


def _make(directory: Path, *, narrated: bool) -> tuple[float, Path, Path]:
    video, captions = directory / "bai-giang.mp4", directory / "bai-giang.vtt"
    with pytest.MonkeyPatch.context() as patch:
        if not narrated:
            patch.setattr(demo.shutil, "which", _without_espeak)
        duration = demo.make_lecture(SLIDES, video, captions, seconds_per_slide=1.2)
    return duration, video, captions


@pytest.fixture(scope="module")
def silent(tmp_path_factory):
    """A lecture made as if espeak-ng were not installed."""
    return _make(tmp_path_factory.mktemp("silent"), narrated=False)


@pytest.fixture(scope="module")
def narrated(tmp_path_factory):
    """A lecture read aloud by espeak-ng."""
    if real_which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    return _make(tmp_path_factory.mktemp("narrated"), narrated=True)


def _ffprobe(path: Path) -> dict:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        text=True,
    )
    return json.loads(result.stdout)


def _mean_volume(path: Path) -> float:
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-i", str(path), "-map", "0:a", "-af", "volumedetect"]
        + ["-f", "null", "-"],
        capture_output=True,
        check=True,
        text=True,
        timeout=60,
    )
    return float(re.search(r"mean_volume: (-?[\d.]+|-inf) dB", result.stderr).group(1))


def _cues(captions: Path) -> list[tuple[float, float, str]]:
    cues = []
    for block in captions.read_text(encoding="utf-8").split("\n\n")[1:]:
        timing, *lines = block.strip().split("\n")
        parts = [int(p) for p in CUE_TIMES.match(timing).groups()]
        start = parts[0] * 3600 + parts[1] * 60 + parts[2] + parts[3] / 1000
        end = parts[4] * 3600 + parts[5] * 60 + parts[6] + parts[7] / 1000
        cues.append((start, end, "\n".join(lines)))
    return cues


def _assert_plays_as_a_720p_lecture(video: Path, duration: float) -> None:
    info = transcode.check(video, 3600)
    assert (info.kind, info.video_codec, info.audio_codec) == ("video", "h264", "aac")
    assert (info.width, info.height) == (1280, 720)
    assert info.duration == pytest.approx(duration, abs=0.1)
    stream = next(s for s in _ffprobe(video)["streams"] if s["codec_type"] == "video")
    assert (stream["pix_fmt"], stream["r_frame_rate"]) == ("yuv420p", "25/1")
    data = video.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat"), "not +faststart"
    assert not list(video.parent.glob(".*partial*")), "a partial file was left behind"


def _assert_captions_cover(captions: Path, duration: float) -> None:
    text = captions.read_text(encoding="utf-8")
    assert text.startswith("WEBVTT\n")
    cues = _cues(captions)
    assert cues[0][0] == 0
    assert all(end > start for start, end, _ in cues)
    assert all(a[1] == b[0] for a, b in zip(cues, cues[1:], strict=False)), "gaps or overlaps"
    assert cues[-1][1] == pytest.approx(duration, abs=0.001)
    assert all(len(cue.split("\n")) <= 2 and len(cue) <= 82 for _, _, cue in cues)
    spoken = " ".join(cue.replace("\n", " ") for _, _, cue in cues)
    assert spoken == " ".join(narration for _, narration in SLIDES)


def test_a_silent_lecture_is_a_720p_video_the_upload_check_accepts(app, silent):
    duration, video, _ = silent
    assert duration == pytest.approx(2.4)
    _assert_plays_as_a_720p_lecture(video, duration)
    assert _mean_volume(video) < -80


def test_silent_captions_are_webvtt_covering_each_slide_in_order(silent):
    duration, _, captions = silent
    _assert_captions_cover(captions, duration)
    cues = _cues(captions)
    assert cues[0] == (0, 1.2, "Chuyển đổi số là gì?")
    assert cues[1][0] == 1.2
    assert '"số hóa thông tin"' in captions.read_text(encoding="utf-8")


def _frame(video: Path, at: float) -> bytes:
    """Return the frame at ``at`` seconds as 160x90 grey pixels."""
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-ss", str(at), "-i", str(video)]
        + ["-frames:v", "1", "-vf", "scale=160:90,format=gray", "-f", "rawvideo", "-"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout


def _difference(a: bytes, b: bytes) -> float:
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)


def test_each_slide_shows_its_own_heading(silent):
    _, video, _ = silent
    first, second = _frame(video, 0.6), _frame(video, 1.8)
    assert len(first) == len(second) == 160 * 90
    assert len(set(first)) > 10, "no text on the first slide"
    assert _difference(first, second) > 5
    # The heading changes on the slide boundary (1.2 s), with no frame of overlap; the
    # encoding is lossy, so "the same picture" allows a little noise.
    assert _difference(_frame(video, 1.16), first) < 1
    assert _difference(_frame(video, 1.2), second) < 1


def test_a_narrated_lecture_speaks_and_lasts_as_long_as_its_narration(app, narrated):
    duration, video, captions = narrated
    # The second slide's narration takes far longer to say than 1.2 s.
    assert duration > 5
    _assert_plays_as_a_720p_lecture(video, duration)
    assert _mean_volume(video) > -60
    _assert_captions_cover(captions, duration)


def test_making_a_lecture_again_replaces_the_old_one(tmp_path, monkeypatch):
    monkeypatch.setattr(demo.shutil, "which", _without_espeak)
    video, captions = tmp_path / "a.mp4", tmp_path / "a.vtt"
    video.write_bytes(b"old")
    duration = demo.make_lecture(SLIDES[:1], video, captions, seconds_per_slide=1)
    assert duration == 1.0
    assert video.read_bytes()[4:8] == b"ftyp"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "a.vtt"]


def test_a_failed_render_keeps_the_old_video_and_leaves_no_partial_file(tmp_path, monkeypatch):
    monkeypatch.setattr(demo.shutil, "which", _without_espeak)
    monkeypatch.setattr(demo, "BACKGROUND", "not-a-colour")  # ffmpeg stops at the source
    video = tmp_path / "a.mp4"
    video.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="ffmpeg failed"):
        demo.make_lecture(SLIDES, video, tmp_path / "a.vtt", seconds_per_slide=1)
    assert video.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.mp4"]


def test_without_a_vietnamese_font_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "FONT_CANDIDATES", (tmp_path / "missing.ttf",))
    assert demo.find_font() is None
    with pytest.raises(RuntimeError, match="fonts-dejavu-core"):
        demo.make_lecture(SLIDES, tmp_path / "a.mp4", tmp_path / "a.vtt")


@pytest.mark.parametrize(
    "heading",
    [
        "Chuyển đổi số là gì?",
        "Chính phủ điện tử: đưa hoạt động của Nhà nước lên môi trường mạng",
        "CHÍNH PHỦ ĐIỆN TỬ: ĐƯA HOẠT ĐỘNG CỦA NHÀ NƯỚC LÊN MÔI TRƯỜNG MẠNG",
        "Một tiêu đề rất dài " * 20,
        "M" * 200,
        "https://example.org/" + "a" * 80,
    ],
)
def test_headings_are_wrapped_to_at_most_four_lines_that_fit(heading):
    size, lines = demo.wrap_heading(heading)
    assert 1 <= len(lines) <= demo.HEADING_MAX_LINES
    assert all(demo._ems(line) * size <= demo.TEXT_WIDTH for line in lines)
    if len(heading) < 100:
        assert " ".join(lines) == heading


def test_slides_from_the_real_page_are_its_title_and_first_headings():
    slides = demo.slides_from_markdown("Chuyển đổi số là gì?", PAGE.read_text(encoding="utf-8"))
    assert [heading for heading, _ in slides] == [
        "Chuyển đổi số là gì?",
        "Vì sao cần hiểu đúng khái niệm",
        "Ba cấp độ thường được phân biệt",
        "Chuyển đổi số trong khu vực công",
    ]
    assert slides[0] == ("Chuyển đổi số là gì?", "Chuyển đổi số là gì?")
    assert slides[1][1] == (
        'Vì sao cần hiểu đúng khái niệm. "Chuyển đổi số" là cụm từ ngày càng xuất hiện '
        "nhiều trong văn bản chỉ đạo, trong các hội nghị và cả trong trao đổi hằng ngày "
        "tại cơ quan."
    )
    # A paragraph that introduces a list is read as a sentence.
    assert slides[2][1].endswith("ba cấp độ nối tiếp nhau.")


def test_slides_from_markdown_drop_markup_and_respect_max_slides():
    markdown = (
        "Lời mở đầu.\n\n"
        "## **Dữ liệu** là _tài nguyên_\n\n"
        "Xem [Nghị quyết 17](https://example.org/nq17) và `dữ liệu mở`. Câu thứ hai.\n\n"
        "```\n## không phải tiêu đề\n```\n\n"
        "## Con người\n\n"
        "- **Nhận thức**: kỹ năng và tinh thần sẵn sàng.\n\n"
        "## Quy trình\n\nRà soát.\n"
    )
    slides = demo.slides_from_markdown("Bài 4", markdown, max_slides=3)
    assert slides == [
        ("Bài 4", "Bài 4"),
        (
            "Dữ liệu là tài nguyên",
            "Dữ liệu là tài nguyên. Xem Nghị quyết 17 và dữ liệu mở.",
        ),
        ("Con người", "Con người. Nhận thức: kỹ năng và tinh thần sẵn sàng."),
    ]
