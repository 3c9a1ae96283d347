"""Video lessons in Chromium: a resumable upload, and playback through hls.js with captions."""

from __future__ import annotations

import threading
import time

import pytest
from werkzeug.serving import make_server

from elearn.courses import services as courses
from elearn.extensions import db
from elearn.media import services as media
from elearn.media.models import Video
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD, PG_URL
from tests.media.conftest import _ffmpeg


@pytest.fixture
def server(app, world, make_app):
    """A live server with small upload chunks, so an upload takes several requests."""
    if PG_URL:
        pytest.skip("browser tests run in the SQLite pass")
    served = make_app(MEDIA_UPLOAD_CHUNK=64_000)
    httpd = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def lesson(world):
    course = courses.create_course(world.instructor, slug="so-hoa", title="Số hóa")
    module = courses.add_module(course, "Phần 1")
    courses.add_page(module, "Bài đọc", "Nội dung.")
    activity = media.add_video(module, "Bài giảng số hóa", "## Tóm tắt\n\nLời bài giảng.")
    courses.set_status(course, world.instructor, True)
    db.session.commit()
    return course, activity


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 14 s 640x360 lecture with sound (about 300 KB)."""
    path = tmp_path_factory.mktemp("video") / "bài giảng 1.mp4"
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=14",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=14",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", str(path),
    )  # fmt: skip
    return path


def test_an_instructor_uploads_a_lecture_that_survives_a_dropped_connection(
    server, page_factory, world, lesson, clip
):
    course, activity = lesson
    page = page_factory()
    sign_in(page, server, "teacher", PASSWORD)
    messages = []
    page.on("console", lambda m: messages.append(m.text))
    page.goto(f"{server}/teach/{course.id}/videos/{activity.id}")
    dropped = {"count": 0}

    def drop_second_chunk(route):
        request = route.request
        if request.method == "PUT" and "offset=0" not in request.url and not dropped["count"]:
            dropped["count"] += 1
            route.abort("connectionreset")  # the link drops mid-upload
            return
        route.continue_()

    page.route("**/uploads/**", drop_second_chunk)
    page.locator("#lecture-file").set_input_files(str(clip))
    # The page moves on by itself once the last chunk is in and the file was checked.
    with page.expect_navigation(timeout=60_000):
        page.locator("[data-upload-button]").click()
    assert dropped["count"] == 1, messages
    db.session.rollback()  # end the test's read snapshot; the server wrote since
    video = db.session.get(Video, activity.id)
    assert video.state == "ready"
    assert media.original_path(video).read_bytes() == clip.read_bytes()
    assert video.original_name == "bài giảng 1.mp4"
    assert page.locator("[data-lecture-state=ready]").count() == 1
    screenshot(page, "teach-video-ready")


def _wait(page, script: str, timeout: float = 20) -> None:
    """Poll ``script`` until true (wait_for_function would need 'unsafe-eval' under our CSP)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"timed out waiting for {script}"
        time.sleep(0.1)


def _ready_lecture(world, activity, clip):
    upload = media.start_upload(activity, world.instructor, clip.name, clip.stat().st_size)
    size = clip.stat().st_size
    with clip.open("rb") as stream:
        media.write_chunk(media.part_path(upload), size, 0, stream, size)
    info = media.check_part(media.claim_complete(upload.id), size)
    media.finish_upload(upload, world.instructor, info)  # converts here (immediate jobs)
    media.add_caption(
        activity,
        world.instructor,
        "vi",
        "WEBVTT\n\n00:00:00.000 --> 00:00:12.000\nXin chào các anh chị học viên\n".encode(),
        "phu-de.vtt",
    )
    db.session.commit()


def test_a_learner_watches_through_hls_js_with_captions_and_resumes_after_reload(
    server, page_factory, world, lesson, clip
):
    course, activity = lesson
    _ready_lecture(world, activity, clip)
    page = page_factory()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, server, "learner", PASSWORD)
    page.goto(f"{server}/courses/{course.slug}")
    with page.expect_navigation():
        page.locator("form[action$='/enrol'] button").click()
    url = f"{server}/courses/{course.slug}/lessons/{activity.id}"
    page.goto(url)
    _wait(page, "document.querySelector('[data-player]').dataset.engine")
    assert page.locator("[data-player]").get_attribute("data-engine") == "hls.js"
    page.evaluate("() => { const v = document.querySelector('video'); v.muted = true; v.play(); }")
    _wait(page, "document.querySelector('video').currentTime > 6")
    assert page.evaluate("document.querySelector('video').src").startswith("blob:")
    showing = page.evaluate(
        """() => {
            const track = document.querySelector('video').textTracks[0];
            return [track.mode, track.activeCues ? track.activeCues.length : 0,
                    track.activeCues && track.activeCues[0] ? track.activeCues[0].text : ''];
        }"""
    )
    assert showing == ["showing", 1, "Xin chào các anh chị học viên"]
    screenshot(page, "lesson-video-playing")
    with page.expect_response(lambda r: r.url.endswith("/watch") and r.status == 200):
        page.evaluate("document.querySelector('video').pause()")
    saved = page.evaluate("document.querySelector('video').currentTime")
    page.reload()
    _wait(page, "document.querySelector('video').readyState >= 1")
    _wait(page, "document.querySelector('video').currentTime > 5")
    resumed = page.evaluate("document.querySelector('video').currentTime")
    assert abs(resumed - saved) < 1.5
    db.session.rollback()  # end the test's read snapshot; the server wrote since
    run = courses.current_run(world.learner, course)
    from elearn.progress import services as progress

    row = progress.activity_state(run, activity)
    assert 0.3 < row.percent < 1.0  # about 6 of 14 s watched, counted on the server
    assert [e for e in errors if "Content Security Policy" in e] == []
