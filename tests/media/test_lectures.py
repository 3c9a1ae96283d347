"""Video lessons end to end over HTTP: upload in chunks, check, transcode job, serving."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from elearn import tasks
from elearn.core.clock import utcnow
from elearn.courses import services as courses
from elearn.extensions import db
from elearn.jobs import services as jobs
from elearn.jobs.models import Job
from elearn.media import services as media
from elearn.media import transcode
from elearn.media.models import Caption, Upload, Video
from tests.conftest import login
from tests.media.conftest import _ffmpeg

ROOT = Path(__file__).parents[2]


@pytest.fixture
def lesson(world, make_course):
    """A published course whose second lesson is a video lesson (no file yet)."""
    course = make_course(pages=1)
    module = courses.outline(course)[0][0]
    activity = media.add_video(module, "Bài giảng: Chính phủ số", "Tóm tắt bài giảng.")
    db.session.commit()
    return course, activity


def _urls(course, activity):
    base = f"/teach/{course.id}/videos/{activity.id}"
    return {"page": base, "start": f"{base}/uploads", "status": f"{base}/status"}


def upload(client, course, activity, path: Path, chunk: int = 40_000, name=None):
    """Upload ``path`` in chunks the way upload.js does; return the last response."""
    data = path.read_bytes()
    started = client.post(
        _urls(course, activity)["start"], data={"name": name or path.name, "size": len(data)}
    )
    if started.status_code != 201:
        return started
    url = started.get_json()["url"]
    offset = 0
    while True:
        response = client.put(
            f"{url}?offset={offset}",
            data=data[offset : offset + chunk],
            content_type="application/octet-stream",
        )
        if response.status_code != 200 or response.get_json().get("done"):
            return response
        offset = response.get_json()["offset"]


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _enrol(client, course):
    return client.post(f"/courses/{course.slug}/enrol", data={})


def test_an_upload_in_chunks_is_checked_converted_and_served(app, as_user, lesson, clips):
    course, activity = lesson
    teacher = as_user("instructor")
    done = upload(teacher, course, activity, clips["video"])
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["done"] is True
    video = db.session.get(Video, activity.id)
    db.session.refresh(video)
    assert (video.state, video.ready_version, video.kind) == ("ready", 1, "video")
    assert video.rungs == "240p"  # a 320x240 source gets no larger rung
    assert video.original_name == "bai-giang.mp4"
    assert abs(video.duration - 3.0) < 0.2
    root = media.media_dir()
    files = _files(root)
    assert f"originals/{activity.id}/v1.orig" in files  # the original is kept
    assert f"lectures/{activity.id}/v1/hls/master.m3u8" in files
    assert f"lectures/{activity.id}/v1/fallback.mp4" in files
    assert not [f for f in files if f.startswith("uploads/")]
    assert db.session.scalar(select(Upload)) is None
    job = db.session.get(Job, video.job_id)
    assert (job.kind, job.state, job.queue) == ("media.transcode", "done", "long")
    page = teacher.get(_urls(course, activity)["page"]).get_data(as_text=True)
    assert "240p" in page
    assert "bai-giang.mp4" in page


def test_an_interrupted_upload_resumes_where_it_stopped(app, as_user, world, lesson, clips):
    course, activity = lesson
    teacher = as_user("instructor")
    data = clips["video"].read_bytes()
    started = teacher.post(
        _urls(course, activity)["start"], data={"name": "Bài giảng số 1.mp4", "size": len(data)}
    )
    assert started.status_code == 201
    url = started.get_json()["url"]
    assert teacher.put(f"{url}?offset=0", data=data[:30_000]).get_json()["offset"] == 30_000
    # The connection drops half-way through the next chunk: what arrived is kept.
    upload_row = db.session.get(Upload, started.get_json()["id"])
    cut = io.BytesIO(data[30_000:45_000])
    part = media.part_path(upload_row)
    assert media.write_chunk(part, len(data), 30_000, cut, 40_000) == 45_000
    # The page asks where to continue, and a stale retry of the old offset is told too.
    assert teacher.get(url).get_json() == {"offset": 45_000, "size": len(data)}
    stale = teacher.put(f"{url}?offset=30000", data=data[30_000:70_000])
    assert stale.status_code == 409
    assert stale.get_json()["offset"] == 45_000
    done = teacher.put(f"{url}?offset=45000", data=data[45_000:])
    assert done.get_json()["done"] is True
    video = db.session.get(Video, activity.id)
    db.session.refresh(video)
    assert video.state == "ready"
    assert video.original_name == "Bài giảng số 1.mp4"  # kept for display only
    assert media.original_path(video).read_bytes() == data  # every byte, in order


@pytest.mark.parametrize("clip", ["image_as_mp4", "text", "truncated", "noise"])
def test_a_bad_file_is_refused_with_its_message_and_leaves_nothing(
    app, as_user, lesson, clips, clip
):
    course, activity = lesson
    with app.test_request_context(), pytest.raises(transcode.MediaRefused) as refused:
        transcode.check(clips[clip], 3600)
    expected = str(refused.value)  # the check's own message, in the user's language (vi)
    response = upload(as_user("instructor"), course, activity, clips[clip])
    assert response.status_code == 422
    assert response.get_json()["error"] == expected
    assert _files(media.media_dir()) == []  # nothing of it stays on disk
    video = db.session.get(Video, activity.id)
    db.session.refresh(video)
    assert (video.state, video.version) == ("empty", 0)
    assert db.session.scalar(select(Upload)) is None


def test_wrong_types_empty_files_and_oversize_are_refused_before_anything_is_stored(
    make_app, world, lesson
):
    course, activity = lesson
    app = make_app(WTF_CSRF_ENABLED=False, MEDIA_MAX_UPLOAD_BYTES=5 * 1024**2)
    client = app.test_client()
    login(client, "teacher")
    start = _urls(course, activity)["start"]
    wrong = client.post(start, data={"name": "bao-cao.pdf", "size": 1000})
    assert wrong.status_code == 400
    assert "pdf" in wrong.get_json()["error"]
    assert client.post(start, data={"name": "rong.mp4", "size": 0}).status_code == 400
    big = client.post(start, data={"name": "dai.mp4", "size": 6 * 1024**2})
    assert big.status_code == 413
    assert "6 MB" in big.get_json()["error"]  # the file's size and the limit, for people
    assert "5 MB" in big.get_json()["error"]
    with app.app_context():
        assert _files(media.media_dir()) == []
        assert db.session.scalar(select(Upload)) is None
    # More bytes than announced are refused too, and the extra never lands.
    url = client.post(start, data={"name": "a.mp4", "size": 10}).get_json()["url"]
    assert client.put(f"{url}?offset=0", data=b"x" * 11).status_code == 413
    assert client.get(url).get_json()["offset"] == 0


def test_only_the_uploader_continues_an_upload(as_user, lesson, clips):
    course, activity = lesson
    started = as_user("instructor").post(
        _urls(course, activity)["start"], data={"name": "a.mp4", "size": 100}
    )
    url = started.get_json()["url"]
    assert as_user("admin").put(f"{url}?offset=0", data=b"x" * 10).status_code == 404


@pytest.fixture
def ready(as_user, lesson, clips):
    """The lesson with its lecture converted, and an enrolled learner's client."""
    course, activity = lesson
    assert upload(as_user("instructor"), course, activity, clips["video"]).status_code == 200
    learner = as_user("learner")
    _enrol(learner, course)
    video = db.session.get(Video, activity.id)
    db.session.refresh(video)
    return course, activity, video, learner


def test_range_requests_get_206_with_the_right_bytes(ready):
    course, activity, video, learner = ready
    url = f"/media/{activity.id}/v1/fallback.mp4"
    whole = (media.output_dir(video, 1) / "fallback.mp4").read_bytes()
    partial = learner.get(url, headers={"Range": "bytes=100-1099"})
    assert partial.status_code == 206
    assert partial.data == whole[100:1100]
    assert partial.headers["Content-Range"] == f"bytes 100-1099/{len(whole)}"
    assert partial.headers["Accept-Ranges"] == "bytes"
    assert partial.headers["Cache-Control"].startswith("private")
    playlist = learner.get(f"/media/{activity.id}/v1/hls/master.m3u8")
    assert playlist.status_code == 200
    assert playlist.mimetype == "application/vnd.apple.mpegurl"
    assert b"#EXTM3U" in playlist.data


def test_segments_go_only_to_people_allowed_to_see_the_lesson(ready, as_user):
    course, activity, video, learner = ready
    segment = f"/media/{activity.id}/v1/hls/240p/seg_0000.ts"
    assert learner.get(segment).status_code == 200
    assert learner.get(segment).mimetype == "video/mp2t"
    assert as_user("outsider").get(segment).status_code == 403  # not enrolled
    assert as_user(None).get(segment).status_code == 302  # to the sign-in page
    assert as_user("instructor").get(segment).status_code == 200  # course staff
    assert as_user("hr_a").get(segment).status_code == 200  # hr reviewing the course
    # No path tricks, no other version, no files outside the lecture.
    assert learner.get(f"/media/{activity.id}/v1/../v1/poster.jpg").status_code == 404
    assert learner.get(f"/media/{activity.id}/v2/poster.jpg").status_code == 404
    assert learner.get(f"/media/{activity.id}/v1/%2e%2e/%2e%2e/v1.orig").status_code == 404


def test_nginx_sends_the_bytes_when_configured(make_app, ready):
    course, activity, video, _learner = ready
    app = make_app(WTF_CSRF_ENABLED=False, MEDIA_ACCEL_PREFIX="/protected-media/")
    client = app.test_client()
    login(client, "learner")
    response = client.get(f"/media/{activity.id}/v1/hls/240p/seg_0000.ts")
    assert response.status_code == 200
    assert response.headers["X-Accel-Redirect"] == (
        f"/protected-media/lectures/{activity.id}/v1/hls/240p/seg_0000.ts"
    )
    assert response.data == b""
    assert client.get(f"/media/{activity.id}/v1/missing.ts").status_code == 404


def test_the_lesson_page_shows_the_player_with_captions(ready):
    course, activity, video, learner = ready
    page = learner.get(f"/courses/{course.slug}/lessons/{activity.id}").get_data(as_text=True)
    assert "data-player" in page
    assert f"/media/{activity.id}/v1/hls/master.m3u8" in page
    assert "data-report-url" in page
    assert "vendor/hls.js/hls.light.min.js" in page
    outline = learner.get(f"/courses/{course.slug}").get_data(as_text=True)
    assert "video · 0:03" in outline  # the course outline shows a video's length


def test_a_failed_conversion_says_why_keeps_the_original_and_can_be_retried(
    as_user, lesson, clips, monkeypatch
):
    course, activity = lesson
    teacher = as_user("instructor")
    real = transcode.transcode

    def broken(*args, **kwargs):
        raise transcode.TranscodeFailed("ffmpeg could not read the stream")

    monkeypatch.setattr(transcode, "transcode", broken)
    upload(teacher, course, activity, clips["video"])
    video = db.session.get(Video, activity.id)
    db.session.refresh(video)
    assert video.state == "failed"
    assert video.error == "ffmpeg could not read the stream"
    assert media.original_path(video).exists()
    page = teacher.get(_urls(course, activity)["page"]).get_data(as_text=True)
    assert "ffmpeg could not read the stream" in page
    monkeypatch.setattr(transcode, "transcode", real)
    teacher.post(f"/teach/{course.id}/videos/{activity.id}/retry", data={})
    db.session.refresh(video)
    assert (video.state, video.ready_version) == ("ready", 1)


def test_the_retry_command_requeues_failed_videos(app, runner, lesson, clips, monkeypatch):
    course, activity = lesson
    video = db.session.get(Video, activity.id)
    video.version = 1
    media.original_path(video).parent.mkdir(parents=True)
    media.original_path(video).write_bytes(clips["video"].read_bytes())
    video.state, video.error = "failed", "old failure"
    db.session.commit()
    result = runner.invoke(args=["media", "retry"])
    assert result.exit_code == 0, result.output
    assert "1" in result.output
    db.session.refresh(video)
    assert video.state == "ready"


def test_abandoned_uploads_are_removed_with_their_data(app, world, lesson):
    course, activity = lesson
    fresh = media.start_upload(activity, world.instructor, "moi.mp4", 100)
    old = media.start_upload(activity, world.instructor, "cu.mp4", 100)
    old.updated_at = utcnow() - timedelta(days=2)
    db.session.commit()
    old_part = media.part_path(old)
    os.utime(old_part, (0, 0))
    assert media.clean_abandoned_uploads() == 1
    db.session.commit()
    assert not old_part.exists()
    assert media.part_path(fresh).exists()
    assert [u.id for u in db.session.scalars(select(Upload))] == [fresh.id]
    # The worker's periodic maintenance runs it.
    assert media.clean_abandoned_uploads in jobs.MAINTENANCE


def test_captions_are_stored_as_utf8_webvtt_and_served_to_learners(ready, as_user):
    course, activity, video, learner = ready
    # Windows-1258 spells tones as combining marks after the letter.
    legacy = "Chi\u0301nh phu\u0309 sô\u0301 phu\u0323c vu\u0323 ngươ\u0300i dân"
    srt = f"1\r\n00:00:00,500 --> 00:00:02,000\r\n{legacy}\r\n"
    teacher = as_user("instructor")
    response = teacher.post(
        f"/teach/{course.id}/videos/{activity.id}/captions",
        data={"language": "vi", "file": (io.BytesIO(srt.encode("cp1258")), "phu-de.srt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    caption = db.session.scalar(select(Caption))
    assert caption.cue_count == 1
    served = learner.get(f"/courses/{course.slug}/lessons/{activity.id}/captions/{caption.id}.vtt")
    assert served.mimetype == "text/vtt"
    text = served.get_data(as_text=True)
    assert text.startswith("WEBVTT")
    assert "00:00:00.500 --> 00:00:02.000" in text
    assert "Chính phủ số phục vụ người dân" in text
    page = learner.get(f"/courses/{course.slug}/lessons/{activity.id}").get_data(as_text=True)
    assert 'kind="captions" srclang="vi"' in page
    bad = teacher.post(
        f"/teach/{course.id}/videos/{activity.id}/captions",
        data={"language": "en", "file": (io.BytesIO(b"WEBVTT\n\n00:00:0x.000 --> 1"), "x.vtt")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "3" in bad.get_data(as_text=True)  # the line of the bad cue time is named
    assert db.session.scalar(select(Caption).where(Caption.language == "en")) is None
    assert (
        as_user("outsider")
        .get(f"/courses/{course.slug}/lessons/{activity.id}/captions/{caption.id}.vtt")
        .status_code
        == 403
    )


def test_a_course_requiring_captions_hides_uncaptioned_videos(ready, world, as_user):
    course, activity, video, learner = ready
    course.settings.require_captions = True
    db.session.commit()
    page = learner.get(f"/courses/{course.slug}/lessons/{activity.id}").get_data(as_text=True)
    assert "data-player" not in page
    assert learner.get(f"/media/{activity.id}/v1/poster.jpg").status_code == 404  # hidden
    courses.set_status(course, world.instructor, False)
    with pytest.raises(courses.ServiceError):
        courses.set_status(course, world.instructor, True)
    db.session.rollback()
    media.add_caption(
        activity,
        world.instructor,
        "vi",
        "WEBVTT\n\n00:00.000 --> 00:01.000\nXin chào\n".encode(),
        "a.vtt",
    )
    courses.set_status(course, world.instructor, True)
    db.session.commit()
    page = learner.get(f"/courses/{course.slug}/lessons/{activity.id}").get_data(as_text=True)
    assert "data-player" in page


def test_a_worker_killed_mid_conversion_leaves_no_ffmpeg_and_the_reaper_finishes_it(
    make_app, world, lesson, tmp_path
):
    """SIGKILL the worker while ffmpeg runs: ffmpeg dies too; the reaper's re-run finishes."""
    course, activity = lesson
    source = tmp_path / "dai.mp4"
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=20",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(source),
    )  # fmt: skip
    app = make_app(JOBS_IMMEDIATE=False)
    with app.app_context():
        video = db.session.get(Video, activity.id)
        video.version = 1
        original = media.original_path(video)
        original.parent.mkdir(parents=True)
        original.write_bytes(source.read_bytes())
        media.start_transcode(video, None)  # queued: this app has no immediate mode
        job_id = db.session.get(Video, activity.id).job_id
        db.session.remove()
    env = {
        **os.environ,
        "ELEARN_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "ELEARN_INSTANCE_DIR": str(app.config["INSTANCE_DIR"]),
        "ELEARN_MEDIA_DIR": str(app.config["MEDIA_DIR"]),
        "ELEARN_MEDIA_TRANSCODE_PRESET": "medium",  # slow enough to be caught running
        "ELEARN_MEDIA_TRANSCODE_THREADS": "1",
        "ELEARN_ENV": "development",
        "ELEARN_DEMO": "0",
    }
    env.pop("ELEARN_REDIS_URL", None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--queue", "long"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180  # generous: CI machines may be busy
        progress = 0.0
        while time.monotonic() < deadline and progress <= 0:
            with app.app_context():
                progress = db.session.scalar(select(Job.progress).where(Job.id == job_id))
                db.session.remove()
            time.sleep(0.3)
        assert progress > 0, "the worker never started converting"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = subprocess.run(["pgrep", "-f", str(original)], capture_output=True, text=True)
        if not left.stdout.strip():
            break
        time.sleep(0.2)
    assert left.stdout.strip() == "", "ffmpeg outlived its worker"
    immediate = make_app()
    tasks.bind(immediate)
    with immediate.app_context():
        assert db.session.get(Video, activity.id).state != "ready"
        assert not media.output_dir(db.session.get(Video, activity.id), 1).exists()
        db.session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert jobs.reap() == 1  # re-queued; immediate mode runs it here
        db.session.commit()
        job = db.session.get(Job, job_id)
        assert (job.state, job.attempts) == ("done", 2)
        video = db.session.get(Video, activity.id)
        assert (video.state, video.ready_version, video.rungs) == ("ready", 1, "240p,360p")
        partials = [p for p in media.output_dir(video, 1).parent.iterdir() if "partial" in p.name]
        assert partials == []


def test_no_database_lock_is_held_while_a_chunk_crosses_the_network(app, as_user, lesson):
    """Other writers (watch reports, sign-ins, the worker) go on while a chunk streams."""
    import sqlite3

    url_prefix = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url_prefix.startswith("sqlite:///"):
        pytest.skip("the write lock is SQLite's")
    database = url_prefix.removeprefix("sqlite:///")
    course, activity = lesson
    teacher = as_user("instructor")
    url = teacher.post(
        _urls(course, activity)["start"], data={"name": "a.mp4", "size": 300_000}
    ).get_json()["url"]
    probes = []

    class SlowLink(io.BytesIO):
        """A request body that, while it is being read, tries to write from elsewhere."""

        def read(self, size=-1):
            self.probe()
            return super().read(size)

        def readinto(self, buffer):
            self.probe()
            return super().readinto(buffer)

        def probe(self):
            other = sqlite3.connect(database, timeout=0.2)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                probes.append("free")
            except sqlite3.OperationalError as exc:
                probes.append(str(exc))
            finally:
                other.close()

    response = teacher.put(
        f"{url}?offset=0",
        input_stream=SlowLink(b"x" * 100_000),
        headers={"Content-Length": "100000", "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 200
    assert response.get_json()["offset"] == 100_000
    assert probes
    assert set(probes) == {"free"}


def test_each_chunk_keeps_an_upload_alive(app, as_user, lesson):
    course, activity = lesson
    teacher = as_user("instructor")
    started = teacher.post(_urls(course, activity)["start"], data={"name": "a.mp4", "size": 100})
    upload_id = started.get_json()["id"]
    upload_row = db.session.get(Upload, upload_id)
    upload_row.updated_at = utcnow() - timedelta(days=2)  # started two days ago
    db.session.commit()
    teacher.put(f"{started.get_json()['url']}?offset=0", data=b"x" * 10)
    db.session.refresh(upload_row)
    assert upload_row.updated_at > utcnow() - timedelta(minutes=1)
    assert upload_row.received == 10
    assert media.clean_abandoned_uploads() == 0


def test_a_retried_last_chunk_is_told_the_file_is_being_checked(as_user, lesson, clips):
    course, activity = lesson
    teacher = as_user("instructor")
    data = clips["video"].read_bytes()
    started = teacher.post(
        _urls(course, activity)["start"], data={"name": "a.mp4", "size": len(data)}
    ).get_json()
    teacher.put(f"{started['url']}?offset=0", data=data[:-10])
    # The first request for the last chunk is still checking the file when the retry comes.
    part = media.upload_part(started["id"])
    with part.open("ab") as handle:
        handle.write(data[-10:])
    assert media.claim_complete(started["id"]) == media.checking_path(started["id"])
    retry = teacher.put(f"{started['url']}?offset={len(data) - 10}", data=data[-10:])
    assert retry.status_code == 409
    assert retry.get_json()["offset"] == len(data)
    assert teacher.get(started["url"]).get_json()["offset"] == len(data)


def test_a_superseded_job_does_nothing_and_cannot_fail_the_lecture(make_app, world, lesson, clips):
    course, activity = lesson
    app = make_app(JOBS_IMMEDIATE=False)
    with app.app_context():
        video = db.session.get(Video, activity.id)
        video.version = 1
        media.original_path(video).parent.mkdir(parents=True)
        media.original_path(video).write_bytes(clips["video"].read_bytes())
        media.start_transcode(video, None)
        first = db.session.get(Video, activity.id).job_id
        media.start_transcode(db.session.get(Video, activity.id), None)  # a retry, say
        second = db.session.get(Video, activity.id).job_id
        db.session.remove()
    assert first != second
    immediate = make_app()
    tasks.bind(immediate)
    with immediate.app_context():
        jobs.run(first)
        video = db.session.get(Video, activity.id)
        assert (video.state, video.ready_version) == ("processing", None)
        assert db.session.get(Job, first).state == "done"
        stale = db.session.get(Job, first)
        stale.error = "old failure"
        media.mark_failed(stale)
        assert db.session.get(Video, activity.id).state == "processing"
        jobs.run(second)
        db.session.refresh(video)
        assert (video.state, video.ready_version) == ("ready", 1)


def test_a_new_version_replaces_the_old_one_without_cutting_off_viewers(ready, as_user, clips):
    course, activity, video, learner = ready
    teacher = as_user("instructor")
    assert upload(teacher, course, activity, clips["portrait"]).get_json()["done"] is True
    db.session.refresh(video)
    assert (video.ready_version, video.previous_version) == (2, 1)
    # Someone in the middle of version 1 keeps getting its segments for now.
    assert learner.get(f"/media/{activity.id}/v1/poster.jpg").status_code == 200
    assert learner.get(f"/media/{activity.id}/v2/poster.jpg").status_code == 200
    assert not media.original_path(video, 1).exists()  # only the newest original is kept
    assert upload(teacher, course, activity, clips["video"]).get_json()["done"] is True
    db.session.refresh(video)
    assert (video.ready_version, video.previous_version) == (3, 2)
    assert learner.get(f"/media/{activity.id}/v1/poster.jpg").status_code == 404
    assert not media.output_dir(video, 1).exists()
