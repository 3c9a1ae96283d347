"""Disk usage of lectures per course, quotas on uploads, the admins' page and the recount."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from elearn.core.models import AuditLog
from elearn.courses import services as courses
from elearn.courses.models import Course
from elearn.extensions import db
from elearn.media import quota
from elearn.media import services as media
from elearn.media.models import Upload, Video
from tests.media.conftest import _ffmpeg
from tests.media.test_lectures import _files, _urls, upload

MB = 1024 * 1024


@pytest.fixture(scope="module")
def big_clip(tmp_path_factory) -> Path:
    """A real 2-second video of about 4 MB (noise compresses badly), converted to ~0.3 MB."""
    path = tmp_path_factory.mktemp("big") / "bai-giang-lon.mp4"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=25:duration=2",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=2",
        "-vf",
        "noise=alls=40:allf=t+u",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-qp",
        "8",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        str(path),
    )
    assert 3 * MB < path.stat().st_size < 6 * MB
    return path


@pytest.fixture
def lectures(world, make_course):
    """A course with two video lessons (no files yet)."""
    course = make_course(pages=1)
    module = courses.outline(course)[0][0]
    first = media.add_video(module, "Bài giảng 1: Chính phủ số", "")
    second = media.add_video(module, "Bài giảng 2: Dịch vụ công", "")
    db.session.commit()
    return course, first, second


def _on_disk(activity_id: int) -> int:
    """Bytes under the lecture's folders, added up here independently of the app."""
    root = media.media_dir()
    return sum(
        p.stat().st_size
        for folder in (root / "originals" / str(activity_id), root / "lectures" / str(activity_id))
        if folder.exists()
        for p in folder.rglob("*")
        if p.is_file()
    )


def _video(activity) -> Video:
    video = db.session.get(Video, activity.id)
    db.session.refresh(video)
    return video


def _set_quota(course, world, mb):
    quota.set_quota(db.session.get(Course, course.id), world.admin, mb)
    db.session.commit()


def test_usage_is_the_bytes_really_on_disk_after_uploads_and_conversions(
    app, as_user, world, lectures, clips, big_clip
):
    course, first, second = lectures
    teacher = as_user("instructor")
    assert upload(teacher, course, first, clips["video"]).get_json()["done"] is True
    assert _video(first).disk_bytes == _on_disk(first.id) > clips["video"].stat().st_size
    # A new version: the old original goes, the old output stays served for a while.
    assert upload(teacher, course, first, big_clip).get_json()["done"] is True
    video = _video(first)
    assert (video.ready_version, video.previous_version) == (2, 1)
    assert (media.output_dir(video, 1) / "fallback.mp4").exists()
    assert not media.original_path(first.id, 1).exists()
    assert video.disk_bytes == _on_disk(first.id)
    assert upload(teacher, course, second, clips["audio"]).get_json()["done"] is True
    assert _video(second).disk_bytes == _on_disk(second.id)
    # An upload in progress counts with the bytes that arrived.
    data = clips["video"].read_bytes()
    url = teacher.post(
        _urls(course, second)["start"], data={"name": "tiep.mp4", "size": len(data)}
    ).get_json()["url"]
    assert teacher.put(f"{url}?offset=0", data=data[:25_000]).status_code == 200
    usage = quota.usage_of(course)
    total = sum(p.stat().st_size for p in media.media_dir().rglob("*") if p.is_file())
    assert (usage.stored, usage.uploading) == (_on_disk(first.id) + _on_disk(second.id), 25_000)
    assert usage.used == total  # every byte under the media folder belongs to this course
    assert quota.media_totals() == (usage.stored, 25_000)


def test_an_upload_over_the_quota_is_refused_before_any_byte_is_stored(
    app, as_user, world, lectures, clips, big_clip
):
    course, first, second = lectures
    teacher = as_user("instructor")
    assert upload(teacher, course, first, clips["video"]).status_code == 200
    before = {p: (media.media_dir() / p).stat().st_size for p in _files(media.media_dir())}
    _set_quota(course, world, 2)
    refused = upload(teacher, course, second, big_clip)
    assert refused.status_code == 413
    message = refused.get_json()["error"]
    with app.test_request_context():
        used = quota.size_text(quota.usage_of(course).used)
        size = quota.size_text(big_clip.stat().st_size)
    assert "2 MB" in message
    assert used in message
    assert size in message
    assert db.session.scalar(select(Upload)) is None
    assert {p: (media.media_dir() / p).stat().st_size for p in _files(media.media_dir())} == before
    assert _video(second).state == "empty"
    assert _video(first).state == "ready"  # what was stored is untouched
    # An admin raises the quota: the same file goes through.
    _set_quota(course, world, 10)
    assert upload(teacher, course, second, big_clip).get_json()["done"] is True
    assert _video(second).state == "ready"
    assert quota.usage_of(course).used <= 10 * MB


def test_the_site_default_applies_to_courses_without_their_own_quota(
    app, as_user, world, lectures, big_clip
):
    course, first, _second = lectures
    teacher = as_user("instructor")
    start = _urls(course, first)["start"]
    size = big_clip.stat().st_size
    app.config["MEDIA_COURSE_QUOTA_MB"] = 1
    assert teacher.post(start, data={"name": "a.mp4", "size": size}).status_code == 413
    _set_quota(course, world, 0)  # 0: no limit for this course, whatever the default
    assert teacher.post(start, data={"name": "a.mp4", "size": size}).status_code == 201
    app.config["MEDIA_COURSE_QUOTA_MB"] = 0  # 0 as the default: no limit anywhere
    _set_quota(course, world, None)
    assert teacher.post(start, data={"name": "b.mp4", "size": size}).status_code == 201


def test_uploads_in_progress_hold_their_declared_size(app, as_user, world, lectures, big_clip):
    course, first, second = lectures
    teacher = as_user("instructor")
    _set_quota(course, world, 6)
    size = big_clip.stat().st_size
    assert teacher.post(_urls(course, first)["start"], data={"name": "a.mp4", "size": size})
    second_start = teacher.post(
        _urls(course, second)["start"], data={"name": "b.mp4", "size": size}
    )
    assert second_start.status_code == 413  # nothing arrived yet, but the first reserved it
    assert db.session.scalar(select(Upload.activity_id)) == first.id


def test_replacing_a_lecture_counts_what_stays_on_disk(app, as_user, world, lectures, big_clip):
    course, first, second = lectures
    teacher = as_user("instructor")
    assert upload(teacher, course, first, big_clip).get_json()["done"] is True
    stored = quota.usage_of(course).stored
    size = big_clip.stat().st_size
    _set_quota(course, world, 6)
    assert stored + size > 6 * MB  # the old original and the new file would not both fit,
    # but the old original goes once the new version is ready: the replacement fits.
    assert upload(teacher, course, first, big_clip).get_json()["done"] is True
    assert _video(first).ready_version == 2
    assert quota.usage_of(course).used == _on_disk(first.id) <= 6 * MB
    # Another lecture of the same size does not fit beside it.
    assert upload(teacher, course, second, big_clip).status_code == 413


def test_an_upload_is_checked_again_when_its_last_byte_arrives(
    app, as_user, world, lectures, clips, big_clip
):
    course, first, _second = lectures
    teacher = as_user("instructor")
    assert upload(teacher, course, first, clips["video"]).status_code == 200
    served = sorted(_files(media.media_dir()))
    _set_quota(course, world, 10)
    data = big_clip.read_bytes()
    url = teacher.post(
        _urls(course, first)["start"], data={"name": "moi.mp4", "size": len(data)}
    ).get_json()["url"]
    assert teacher.put(f"{url}?offset=0", data=data[: 2 * MB]).status_code == 200
    _set_quota(course, world, 2)  # lowered while the file arrives
    last = teacher.put(f"{url}?offset={2 * MB}", data=data[2 * MB :])
    assert last.status_code == 413
    assert "2 MB" in last.get_json()["error"]
    assert sorted(_files(media.media_dir())) == served  # the refused file takes no space
    assert db.session.scalar(select(Upload)) is None
    video = _video(first)
    assert (video.state, video.version, video.ready_version) == ("ready", 1, 1)


def test_the_recount_fixes_wrong_figures_and_reports_orphans(app, runner, as_user, lectures, clips):
    course, first, _second = lectures
    assert upload(as_user("instructor"), course, first, clips["video"]).status_code == 200
    right = _video(first).disk_bytes
    db.session.execute(update(Video).values(disk_bytes=12))
    db.session.commit()
    stray = media.media_dir() / "lectures" / "987654" / "v1" / "fallback.mp4"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"x" * 3000)
    (media.media_dir() / "uploads").mkdir(exist_ok=True)
    (media.media_dir() / "uploads" / "abc.part").write_bytes(b"y" * 70)
    result = runner.invoke(args=["media", "usage", "--recount"])
    assert result.exit_code == 0, result.output
    assert f"fixed lecture of activity {first.id}: 12 -> {right} bytes" in result.output
    assert "orphan: lectures/987654 (3000 bytes" in result.output
    assert "orphan: uploads/abc.part (70 bytes" in result.output
    assert f"lectures/{first.id}" not in result.output.split("orphan")[-1]
    assert _video(first).disk_bytes == right == _on_disk(first.id)
    assert stray.exists()  # reported, never deleted
    again = runner.invoke(args=["media", "usage", "--recount"])
    assert "0 figure(s) fixed, 2 orphan(s)" in again.output


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 302), ("learner", 403), ("instructor", 403), ("hr_a", 403), ("admin", 200)],
)
def test_only_admins_reach_the_storage_page(as_user, lectures, who, status):
    course, _first, _second = lectures
    visitor = as_user(who)
    assert visitor.get("/admin/storage").status_code == status
    posted = visitor.post(f"/admin/storage/courses/{course.id}/quota", data={"quota_mb": "5"})
    assert posted.status_code == (302 if who in (None, "admin") else 403)
    assert db.session.get(Course, course.id).settings.media_quota_mb == (
        5 if who == "admin" else None
    )


def test_the_storage_page_lists_courses_by_usage_and_flags_those_near_their_quota(
    app, as_user, world, lectures, make_course, big_clip
):
    course, first, _second = lectures
    other = make_course(slug="cai-cach-hanh-chinh", title="Cải cách hành chính")
    assert upload(as_user("instructor"), course, first, big_clip).status_code == 200
    _set_quota(course, world, 5)
    used = quota.usage_of(course).used
    assert quota.usage_of(course).near_limit  # about 4.5 of 5 MB
    admin = as_user("admin")
    page = admin.get("/admin/storage").get_data(as_text=True)
    assert page.index(course.title) < page.index(other.title)  # largest first
    row = page[page.index(f'id="course-{course.id}"') : page.index(f'id="course-{other.id}"')]
    with app.test_request_context():
        assert quota.size_text(used) in row
        assert quota.size_text(5 * MB) in row
    assert "<meter" in row
    assert "badge-overdue" in row
    other_row = page[page.index(f'id="course-{other.id}"') :].split("</tr>")[0]
    assert "badge-overdue" not in other_row
    with app.test_request_context():
        assert quota.size_text(20480 * MB) in other_row  # the site default quota
    assert 'href="/admin/storage"' in admin.get("/").get_data(as_text=True)


def test_setting_a_quota_is_audited_and_bad_input_is_explained(as_user, world, lectures):
    course, _first, _second = lectures
    admin = as_user("admin")
    url = f"/admin/storage/courses/{course.id}/quota"
    assert admin.post(url, data={"quota_mb": "500"}).status_code == 302
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "media.quota"))
    assert (entry.actor_id, entry.target_type, entry.target_id) == (
        world.admin.id,
        "course",
        course.id,
    )
    assert "default → 500 MB" in entry.detail
    for bad in ("-5", "1,5", "nhiều"):
        page = admin.post(url, data={"quota_mb": bad})
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert f'id="quota-{course.id}-error"' in html
        assert f'value="{bad}"' in html  # what was typed is kept to correct
        # A text box: a number box would send "" for "1e" or "5,5", read as "the default".
        assert 'type="number"' not in html
    assert db.session.get(Course, course.id).settings.media_quota_mb == 500
    assert admin.post(url, data={"quota_mb": ""}).status_code == 302  # back to the default
    assert db.session.get(Course, course.id).settings.media_quota_mb is None


def test_instructors_see_their_course_usage_and_quota_on_the_upload_page(
    app, as_user, world, lectures, clips
):
    course, first, _second = lectures
    teacher = as_user("instructor")
    assert upload(teacher, course, first, clips["video"]).status_code == 200
    _set_quota(course, world, 300)
    page = teacher.get(_urls(course, first)["page"]).get_data(as_text=True)
    line = page[page.index('id="lecture-file-quota"') :].split("</p>")[0]
    with app.test_request_context():
        assert quota.size_text(quota.usage_of(course).used) in line
        assert quota.size_text(300 * MB) in line
