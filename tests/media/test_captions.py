"""Caption uploads: WebVTT and SRT in, clean UTF-8 WebVTT out, or a clear refusal."""

import random
import unicodedata

import pytest
from flask_babel import force_locale

from elearn.core.services import ServiceError
from elearn.media import captions

SRT = """\
1
00:00:01,000 --> 00:00:04,250
Chào mừng các anh chị
đến với khoá học.

2
00:01:05,500 --> 01:00:00,000 X1:10 X2:200 Y1:10 Y2:50
<i>Chính phủ số</i>
"""

SRT_AS_VTT = """\
WEBVTT

00:00:01.000 --> 00:00:04.250
Chào mừng các anh chị
đến với khoá học.

00:01:05.500 --> 01:00:00.000
<i>Chính phủ số</i>
"""


def _refusal(data: bytes) -> str:
    """The refusal message, in English (the Vietnamese catalog is checked elsewhere)."""
    with pytest.raises(captions.CaptionError) as refused:
        captions.parse(data)
    with force_locale("en"):
        return str(refused.value)


def test_srt_becomes_webvtt_without_counters_or_position_hints(app):
    assert captions.parse(SRT.encode(), "bai-1.srt") == SRT_AS_VTT


def test_webvtt_keeps_identifiers_and_settings_and_drops_notes_and_styles(app):
    vtt = (
        "WEBVTT - Bài 1\nKind: captions\n\n"
        "STYLE\n::cue { color: yellow }\n\n"
        "NOTE do not translate\nthis block\n\n"
        "mo-dau\n00:00:01.000 --> 00:00:02.000   align:start  line:0\nXin chào\n\n"
        "00:00:02.000 --> 00:00:03.500\nTạm biệt\n"
    )
    assert captions.parse(vtt.encode()) == (
        "WEBVTT\n\n"
        "mo-dau\n00:00:01.000 --> 00:00:02.000 align:start line:0\nXin chào\n\n"
        "00:00:02.000 --> 00:00:03.500\nTạm biệt\n"
    )


def test_a_utf8_bom_is_dropped(app):
    data = b"\xef\xbb\xbfWEBVTT\n\n00:00:01.000 --> 00:00:02.000\nCh\xc3\xa0o\n"
    assert captions.parse(data) == "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nChào\n"


def test_windows_1258_vietnamese_comes_back_as_nfc_text(app):
    """Windows-1258 writes tones as combining marks after the letter."""
    legacy = (
        "Chi\u0301nh phu\u0309 sô\u0301 - Nghi\u0323 đi\u0323nh cu\u0309a Chi\u0301nh phu\u0309"
    )
    data = ("1\r\n00:00:01,000 --> 00:00:02,000\r\n" + legacy + "\r\n").encode("cp1258")
    text = captions.parse(data, "cu.srt").split("\n")[3]
    assert text == "Chính phủ số - Nghị định của Chính phủ"
    assert unicodedata.is_normalized("NFC", text)


def test_decomposed_utf8_is_normalised_too(app):
    data = "WEBVTT\n\n00:01.000 --> 00:02.000\nPhu\u0309\n".encode()
    assert captions.parse(data).endswith("\nPhủ\n")


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_windows_and_old_mac_line_endings_become_newlines(app, newline):
    data = SRT.replace("\n", newline).encode()
    assert captions.parse(data) == SRT_AS_VTT


def test_short_webvtt_times_get_hours(app):
    data = b"WEBVTT\n\n01:02.345 --> 59:59.999\nA\n\n1:00:00.000 --> 100:00:00.000\nB\n"
    assert captions.parse(data) == (
        "WEBVTT\n\n00:01:02.345 --> 00:59:59.999\nA\n\n01:00:00.000 --> 100:00:00.000\nB\n"
    )


def test_a_missing_blank_line_between_srt_cues_still_splits_them(app):
    data = b"1\n00:00:01,000 --> 00:00:02,000\nA\n2\n00:00:03,000 --> 00:00:04,000\nB\n"
    assert captions.parse(data) == (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nA\n\n00:00:03.000 --> 00:00:04.000\nB\n"
    )


def test_an_arrow_inside_cue_text_is_neutralised(app):
    data = "WEBVTT\n\n00:01.000 --> 00:02.000\nBước 1 --> bước 2\n".encode()
    out = captions.parse(data)
    assert out == "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nBước 1 → bước 2\n"
    assert out.count("-->") == 1


@pytest.mark.parametrize(
    ("data", "line", "time"),
    [
        (
            b"1\n00:00:01,000 --> 00:00:02,000\nA\n\n2\n00:00:0x,000 --> 00:00:05,000\nB\n",
            6,
            "00:00:0x,000",
        ),
        (
            b"1\n00:00:01,000 --> 00:00:02,000\nA\n\n2\n00:00:03,000 --> 00:00:05.000\nB\n",
            6,
            "00:00:05.000",
        ),
        (
            b"1\n00:00:01,000 --> 00:00:02,000\nA\n\n2\n00:00:03,00 --> 00:00:05,000\nB\n",
            6,
            "00:00:03,00",
        ),
        (b"WEBVTT\n\n\n00:01:60.000 --> 00:02:00.000\nA\n", 4, "00:01:60.000"),
        (b"WEBVTT\n\n00:01.000 --> 00:02,000\nA\n", 3, "00:02,000"),
        (b"WEBVTT\n\n00:01.000 -->\nA\n", 3, "00:01.000 -->"),
    ],
)
def test_a_bad_time_is_refused_naming_its_line(app, data, line, time):
    assert _refusal(data) == f"Line {line}: the cue time “{time}” is not valid."


@pytest.mark.parametrize("end", ["00:00:04,999", "00:00:05,000"])
def test_a_cue_that_ends_before_it_starts_is_refused_naming_its_line(app, end):
    data = f"1\r\n00:00:01,000 --> 00:00:02,000\r\nA\r\n\r\n2\r\n00:00:05,000 --> {end}\r\nB\r\n"
    assert _refusal(data.encode()) == "Line 6: a cue ends before it starts."


def test_text_where_a_cue_should_start_is_refused_naming_its_line(app):
    data = b"WEBVTT\n\n00:01.000 --> 00:02.000\nA\n\nstray text\n"
    assert _refusal(data) == "Line 6: expected the cue times, like “00:00:01.000 --> 00:00:04.000”."


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b" \r\n\r\n\t"])
def test_an_empty_file_is_refused(app, data):
    assert _refusal(data) == "The file is empty."


@pytest.mark.parametrize(
    "data", [b"WEBVTT\n", b"WEBVTT\n\nNOTE only a note\n", b"1\n00:00:01,000 --> 00:00:02,000\n"]
)
def test_a_file_without_captions_is_refused(app, data):
    assert _refusal(data) == "The file holds no captions."


@pytest.mark.parametrize(
    "data",
    [
        random.Random(1258).randbytes(4096),
        b"\x89PNG\r\n\x1a\n" + bytes(100),
        "WEBVTT\n\n00:01.000 --> 00:02.000\nA\n".encode("utf-16"),
        "Biên bản họp ngày 1/1\nKhông phải phụ đề.\n".encode(),
        b"WEBVTTX\n\n00:01.000 --> 00:02.000\nA\n",
        b"WEBVTT\n\n00:01.000 --> 00:02.000\nA\x00\x00\x00B\n",
    ],
    ids=["random", "png", "utf-16", "plain-text", "not-quite-webvtt", "binary-inside"],
)
def test_a_file_that_is_not_captions_is_refused(app, data):
    assert _refusal(data) == "This is not a caption file (WebVTT or SRT)."


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(app):
    cue = b"00:00:01.000 --> 00:00:02.000\nA\n\n"
    at_limit = b"WEBVTT\n\n" + cue * ((captions.MAX_BYTES - 8) // len(cue))
    assert len(at_limit) <= captions.MAX_BYTES
    assert captions.parse(at_limit).startswith("WEBVTT\n\n00:00:01.000")
    over = at_limit + b" " * (captions.MAX_BYTES - len(at_limit) + 1)
    assert _refusal(over) == "The caption file is larger than 2 MB."


def test_a_refusal_is_a_service_error_the_views_already_handle():
    assert issubclass(captions.CaptionError, ServiceError)
