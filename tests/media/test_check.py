"""The upload check, with real ffprobe and ffmpeg on tiny generated files."""

import pytest

from elearn.media import transcode


def test_a_real_video_is_accepted(app, clips):
    info = transcode.check(clips["video"], max_duration=3600)
    assert (info.kind, info.video_codec, info.audio_codec) == ("video", "h264", "aac")
    assert (info.width, info.height) == (320, 240)
    assert 2.5 < info.duration < 3.5


def test_a_portrait_phone_video_reports_its_displayed_size(app, clips):
    info = transcode.check(clips["portrait"], max_duration=3600)
    assert info.rotation in (90, 270)
    assert (info.width, info.height) == (240, 320)


def test_an_audio_recording_is_an_audio_lecture(app, clips):
    info = transcode.check(clips["audio"], max_duration=3600)
    assert (info.kind, info.video_codec, info.width) == ("audio", None, 0)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("image", "ảnh tĩnh"),
        ("image_as_mp4", "ảnh tĩnh"),
        ("text", "không phải là tệp video hoặc âm thanh"),
        ("empty", "Tệp rỗng"),
        ("truncated", "bị hỏng hoặc không đầy đủ"),
        ("noise", "không phải là tệp video hoặc âm thanh"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message(app, clips, name, message):
    with pytest.raises(transcode.MediaRefused) as refused:
        transcode.check(clips[name], max_duration=3600)
    assert message in str(refused.value)


def test_a_recording_longer_than_the_limit_is_refused(app, clips):
    with pytest.raises(transcode.MediaRefused) as refused:
        transcode.check(clips["video"], max_duration=1)
    assert "giới hạn" in str(refused.value)


def test_the_operator_command_says_accepted_or_refused(runner, clips):
    accepted = runner.invoke(args=["media", "check", str(clips["video"])])
    assert accepted.exit_code == 0
    assert accepted.output.startswith("accepted: ")
    assert '"kind": "video"' in accepted.output
    refused = runner.invoke(args=["media", "check", str(clips["text"])])
    assert refused.exit_code == 1
    assert refused.output.startswith("refused: ")
