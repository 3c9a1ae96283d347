"""Video lessons in content packs: a generated demo lecture loads, converts and exports."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from elearn.courses import packs
from elearn.courses.models import Activity
from elearn.extensions import db
from elearn.media import services as media
from elearn.media.models import Caption, Video

COURSE = """\
format: 1
slug: bai-giang-thu
title: Bài giảng thử
topic: chuyen-doi-so
audience: all
modules:
  - key: m1
    title: Phần một
    activities:
      - key: v1
        type: video
        title: Dữ liệu là nền tảng
        file: pages/v1.md
        video: media/v1.mp4
        captions:
          vi: media/v1.vi.vtt
        generate: slides
        threshold: 0.8
"""
TEXT = "Lời mở đầu.\n\n## Dữ liệu dùng chung\n\nThông tin được thu thập một lần. Rồi dùng chung.\n"


def _pack(tmp_path):
    folder = tmp_path / "packs" / "bai-giang-thu"
    (folder / "pages").mkdir(parents=True)
    (folder / "course.yaml").write_text(COURSE, encoding="utf-8")
    (folder / "pages" / "v1.md").write_text(TEXT, encoding="utf-8")
    return folder


def test_a_generated_demo_lecture_loads_converts_and_exports(app, runner, tmp_path):
    folder = _pack(tmp_path)
    made = runner.invoke(args=["media", "demo-lecture", str(folder.parent)])
    assert made.exit_code == 0, made.output
    assert (folder / "media" / "v1.mp4").is_file()
    assert (folder / "media" / "v1.vi.vtt").read_text(encoding="utf-8").startswith("WEBVTT")
    loaded = runner.invoke(args=["content", "load", str(folder.parent)])
    assert loaded.exit_code == 0, loaded.output
    assert "1 lecture(s) queued" in loaded.output
    activity = db.session.scalar(select(Activity).where(Activity.key == "v1"))
    video = db.session.get(Video, activity.id)
    db.session.refresh(video)
    assert (activity.type, activity.completion) == ("video", "watch")
    assert (video.state, video.ready_version, video.threshold) == ("ready", 1, 0.8)
    assert video.rungs == "240p,360p,480p,720p"
    caption = db.session.scalar(select(Caption).where(Caption.activity_id == activity.id))
    assert "Dữ liệu dùng chung" in caption.vtt
    # Loading again changes nothing: same file, no new version, no new job.
    again = runner.invoke(args=["content", "load", str(folder.parent)])
    assert again.exit_code == 0, again.output
    db.session.refresh(video)
    assert video.version == 1
    assert "queued" not in again.output
    # The export carries the lecture and captions, and reads back as the same lesson.
    course = activity.module.course
    target = packs.export_pack(course, tmp_path / "export")
    assert (target / "media" / "v1.mp4").read_bytes() == (folder / "media" / "v1.mp4").read_bytes()
    assert "Dữ liệu dùng chung" in (target / "media" / "v1.vi.vtt").read_text(encoding="utf-8")
    page = packs.read_pack(target).modules[0].pages[0]
    assert (page.kind, page.video, page.threshold) == ("video", "media/v1.mp4", 0.8)
    assert page.captions == {"vi": "media/v1.vi.vtt"}


def test_a_pack_whose_lecture_is_missing_still_loads_without_a_video(app, runner, tmp_path):
    folder = _pack(tmp_path)
    loaded = runner.invoke(args=["content", "load", str(folder.parent)])
    assert loaded.exit_code == 0, loaded.output
    activity = db.session.scalar(select(Activity).where(Activity.key == "v1"))
    assert db.session.get(Video, activity.id).state == "empty"
    assert media.captions_of(activity) == []


def test_a_video_entry_outside_the_pack_is_refused(app, tmp_path):
    folder = _pack(tmp_path)
    text = COURSE.replace("video: media/v1.mp4", "video: ../../secret.mp4")
    (folder / "course.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(packs.PackError, match="outside the pack"):
        packs.read_pack(folder)
