"""Video lessons: authoring and upload (bp "teach_media"), files, captions, watch reports.

The upload endpoints answer JSON for ``static/js/upload.js``; errors carry a message in
the user's language under ``error``. Lecture files are served only to people allowed to
see the activity, with HTTP Range support; in production nginx sends the bytes
(X-Accel-Redirect) after this app said yes. Admins see the disk used by lectures and set
each course's quota at ``/admin/storage``.
"""

from __future__ import annotations

import mimetypes
import shutil

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from elearn.core.access import Access, access
from elearn.core.actions import perform
from elearn.core.clock import utcnow
from elearn.core.forms import ConfirmForm, page_number
from elearn.core.services import NotFound, ServiceError
from elearn.courses import services as courses
from elearn.courses.models import Activity, Course
from elearn.extensions import db
from elearn.jobs.models import Job
from elearn.media import quota, services, transcode
from elearn.media.forms import CaptionForm, QuotaForm, VideoForm
from elearn.media.models import Upload
from elearn.progress import services as progress
from elearn.progress import watch

bp = Blueprint("media", __name__)
teach_bp = Blueprint("teach_media", __name__, url_prefix="/teach")

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".jpg": "image/jpeg",
}
#: Lecture files never change under a versioned URL; browsers may keep them a day.
FILE_MAX_AGE = 24 * 3600


# --- files, captions and watch reports (learners) -------------------------------------------


def _lecture_or_404(activity_id: int):
    activity = db.session.get(Activity, activity_id)
    if (
        activity is None
        or activity.type != "video"
        or activity.archived
        or activity.module.archived
    ):
        abort(404)
    return activity, services.video_of(activity)


@bp.route("/media/<int:activity_id>/v<int:version>/<path:name>")
@access(Access.USER)
def lecture_file(activity_id: int, version: int, name: str):
    """A playlist, segment, MP4 or poster of a lecture (Range requests answered with 206)."""
    activity, video = _lecture_or_404(activity_id)
    role = services.watcher(current_user, activity)
    if role is None:
        abort(403)
    if role != "staff" and not services.shown_to_learners(activity, video):
        abort(404)  # hidden from learners (captions required and missing)
    path = services.served_file(video, version, name)
    if path is None:
        abort(404)
    mimetype = CONTENT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    prefix = current_app.config.get("MEDIA_ACCEL_PREFIX")
    if prefix:
        relative = path.relative_to(services.media_dir()).as_posix()
        response = Response(mimetype=mimetype or "application/octet-stream")
        response.headers["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + relative
    else:
        response = send_file(
            path, mimetype=mimetype, conditional=True, max_age=FILE_MAX_AGE, etag=True
        )
    response.headers["Cache-Control"] = f"private, max-age={FILE_MAX_AGE}, immutable"
    return response


@bp.route("/courses/<slug>/lessons/<int:activity_id>/captions/<int:caption_id>.vtt")
@access(Access.USER)
def caption_file(slug: str, activity_id: int, caption_id: int):
    """A caption track as WebVTT."""
    course = courses.course_for(current_user, slug)
    activity = courses.activity_in(course, activity_id)
    if activity.type != "video" or services.watcher(current_user, activity) is None:
        abort(403)
    caption = services.caption_of(activity, caption_id)
    response = Response(caption.vtt, mimetype="text/vtt")
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.route("/courses/<slug>/lessons/<int:activity_id>/watch", methods=["POST"])
@access(Access.USER)
def report_watch(slug: str, activity_id: int):
    """Take a watch report: intervals played since the last report and the position."""
    course = courses.course_for(current_user, slug)
    activity = courses.activity_in(course, activity_id)
    run = courses.current_run(current_user, course)
    if run is None:
        return jsonify(error=_("Enrol in the course to have your viewing counted.")), 403
    if activity.type != "video":
        return jsonify(error=_("This lesson has no video.")), 400
    video = services.video_of(activity)
    if video.ready_version is None or not video.duration:
        return jsonify(error=_("This video is not ready yet.")), 400
    try:
        intervals = watch.parse(request.form.get("intervals", "[]"), video.duration)
        position = watch.parse_position(request.form.get("position"), video.duration)
        was_completed = run.status == "completed"
        row = progress.record_watch(
            run,
            activity,
            intervals,
            position,
            duration=video.duration,
            threshold=video.threshold,
        )
    except (watch.BadReport, progress.WatchRefused) as exc:
        db.session.rollback()
        return jsonify(error=str(exc) if isinstance(exc, ServiceError) else _("Bad report.")), 400
    db.session.commit()
    percent = round(row.percent * 100)
    if row.status == "completed":
        message = _("Lesson complete.")
        if run.status == "completed" and not was_completed:
            message = _("Congratulations! You have completed the course.")
    else:
        message = _("Watched: %(p)d%%", p=percent)
    return jsonify(
        percent=row.percent, status=row.status, course_percent=run.percent, message=message
    )


# --- disk usage and quotas (admins) ---------------------------------------------------------


def _storage_page(refused: dict | None = None):
    """Render the storage page; ``refused``: {course id: (entered value, errors)}."""
    disk = shutil.disk_usage(services.media_dir())
    stored, uploading = quota.media_totals()
    return render_template(
        "media/storage.html",
        page=quota.usage_page(request.args.get("page", 1, type=page_number)),
        disk=disk,
        stored=stored,
        uploading=uploading,
        default_quota=quota.quota_bytes(None),
        size_text=quota.size_text,
        refused=refused or {},
    )


@bp.route("/admin/storage")
@access(Access.ADMIN)
def storage():
    """Disk used by lectures: the media volume, and every course against its quota."""
    return _storage_page()


@bp.route("/admin/storage/courses/<int:course_id>/quota", methods=["POST"])
@access(Access.ADMIN)
def set_quota(course_id: int):
    """Set one course's storage quota (empty: the site default; 0: no limit)."""
    course = db.get_or_404(Course, course_id)
    form = QuotaForm()
    if form.validate_on_submit():
        saved = perform(
            lambda: quota.set_quota(course, current_user, form.quota_mb.data),
            _("The storage quota of “%(title)s” was saved.", title=course.title),
            form,
        )
        if saved is not None:
            return redirect(
                url_for(
                    "media.storage",
                    page=request.args.get("page", 1, type=page_number),
                    _anchor=f"course-{course.id}",
                )
            )
    errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
    entered = (form.quota_mb.raw_data or [""])[0]
    return _storage_page({course.id: (entered, errors)})


# --- authoring -------------------------------------------------------------------------------


def _video_activity(course, activity_id: int):
    activity = courses.activity_in(course, activity_id)
    if activity.type != "video":
        abort(404)
    return activity, services.video_of(activity)


@teach_bp.route("/<int:course_id>/modules/<int:module_id>/videos/new", methods=["GET", "POST"])
@access(Access.INSTRUCTOR)
def new_video(course_id: int, module_id: int):
    """Create a video lesson; the lecture file is uploaded on the next page."""
    course = courses.staff_course(current_user, course_id)
    module = courses.module_in(course, module_id)
    form = VideoForm()
    if form.validate_on_submit():
        activity = perform(
            lambda: services.add_video(
                module,
                form.title.data,
                form.markdown.data or "",
                required=form.required.data,
                threshold=form.threshold.data / 100,
            ),
            _("The video lesson was added. Now upload the lecture."),
            form,
        )
        if activity:
            return redirect(
                url_for("teach_media.video", course_id=course.id, activity_id=activity.id)
            )
    return render_template("teach/video_new.html", course=course, module=module, form=form)


@teach_bp.route("/<int:course_id>/videos/<int:activity_id>", methods=["GET", "POST"])
@access(Access.INSTRUCTOR)
def video(course_id: int, activity_id: int):
    """A video lesson: upload the lecture, follow its conversion, captions, settings."""
    course = courses.staff_course(current_user, course_id)
    activity, lecture = _video_activity(course, activity_id)
    form = VideoForm(obj=activity)
    if request.method == "GET":
        form.markdown.data = activity.page.markdown if activity.page else ""
        form.threshold.data = round(lecture.threshold * 100)
    if form.validate_on_submit():
        saved = perform(
            lambda: services.update_video(
                activity,
                form.title.data,
                form.markdown.data or "",
                required=form.required.data,
                threshold=form.threshold.data / 100,
            ),
            _("The video lesson was saved."),
            form,
        )
        if saved is not None:
            return redirect(
                url_for("teach_media.video", course_id=course.id, activity_id=activity.id)
            )
    job = db.session.get(Job, lecture.job_id) if lecture.job_id else None
    return render_template(
        "teach/video.html",
        course=course,
        activity=activity,
        lecture=lecture,
        job=job,
        form=form,
        caption_form=CaptionForm(),
        captions=services.captions_of(activity),
        confirm_form=ConfirmForm(),
        max_upload=current_app.config["MEDIA_MAX_UPLOAD_BYTES"],
        chunk_size=current_app.config["MEDIA_UPLOAD_CHUNK"],
        types=services.VIDEO_EXTENSIONS + services.AUDIO_EXTENSIONS,
        human_size=services.human_size,
        usage=quota.usage_of(course),
        size_text=quota.size_text,
    )


@teach_bp.route("/<int:course_id>/videos/<int:activity_id>/status")
@access(Access.INSTRUCTOR)
def video_status(course_id: int, activity_id: int):
    """The lecture's state and conversion progress, for the page to poll."""
    course = courses.staff_course(current_user, course_id)
    _activity, lecture = _video_activity(course, activity_id)
    job = db.session.get(Job, lecture.job_id) if lecture.job_id else None
    return jsonify(
        state=lecture.state,
        progress=job.progress if job and lecture.state == "processing" else None,
        message=job.message if job and lecture.state == "processing" else "",
        error=lecture.error or "",
    )


def _json_error(message, status: int):
    return jsonify(error=str(message)), status


@teach_bp.route("/<int:course_id>/videos/<int:activity_id>/uploads", methods=["POST"])
@access(Access.INSTRUCTOR)
def start_upload(course_id: int, activity_id: int):
    """Open a resumable upload: ``name`` and ``size`` of the file are checked first."""
    course = courses.staff_course(current_user, course_id)
    activity, _lecture = _video_activity(course, activity_id)
    try:
        size = int(request.form.get("size", ""))
    except ValueError:
        return _json_error(_("The file's size is missing."), 400)
    try:
        upload = services.start_upload(activity, current_user, request.form.get("name", ""), size)
    except (services.TooLarge, quota.OverQuota) as exc:
        db.session.rollback()
        return _json_error(exc, 413)
    except ServiceError as exc:
        db.session.rollback()
        return _json_error(exc, 400)
    db.session.commit()
    return jsonify(
        id=upload.id,
        offset=0,
        size=upload.size,
        chunk_size=current_app.config["MEDIA_UPLOAD_CHUNK"],
        url=url_for(
            "teach_media.upload_chunk",
            course_id=course_id,
            activity_id=activity_id,
            upload_id=upload.id,
        ),
    ), 201


@teach_bp.route("/<int:course_id>/videos/<int:activity_id>/uploads/<upload_id>")
@access(Access.INSTRUCTOR)
def upload_offset(course_id: int, activity_id: int, upload_id: str):
    """Where to continue an upload (bytes the server holds)."""
    course = courses.staff_course(current_user, course_id)
    activity, _lecture = _video_activity(course, activity_id)
    try:
        upload = services.upload_for(activity, current_user, upload_id)
    except NotFound as exc:
        return _json_error(exc, 404)
    part = services.part_path(upload)
    if services.checking_path(upload.id).exists():
        return jsonify(offset=upload.size, size=upload.size)  # complete, being checked
    return jsonify(offset=part.stat().st_size if part.exists() else 0, size=upload.size)


@teach_bp.route("/<int:course_id>/videos/<int:activity_id>/uploads/<upload_id>", methods=["PUT"])
@access(Access.INSTRUCTOR)
def upload_chunk(course_id: int, activity_id: int, upload_id: str):
    """Receive one chunk at ``?offset=``; after the last one, check the file and queue it."""
    course = courses.staff_course(current_user, course_id)
    activity, _lecture = _video_activity(course, activity_id)
    try:
        upload = services.upload_for(activity, current_user, upload_id)
    except NotFound as exc:
        return _json_error(exc, 404)
    offset = request.args.get("offset", type=int)
    length = request.content_length
    if offset is None or length is None:
        return _json_error(_("The chunk's offset or length is missing."), 400)
    # Plain values only from here: the commit ends the transaction (SQLite's write lock)
    # before the chunk crosses the network, and expired ORM objects would open a new one.
    size, part = upload.size, services.part_path(upload)
    done_url = url_for("teach_media.video", course_id=course_id, activity_id=activity_id)
    db.session.commit()
    if services.checking_path(upload_id).exists():  # a retried last chunk
        return jsonify(
            error=_("Upload complete. Checking the file…"),
            offset=size,
            size=size,
            redirect=done_url,
        ), 409
    try:
        received = services.write_chunk(part, size, offset, request.stream, length)
    except services.UploadConflict as exc:
        return jsonify(error=str(exc), offset=exc.offset, size=size, redirect=done_url), 409
    except services.TooLarge as exc:
        return _json_error(exc, 413)
    except NotFound as exc:
        return _json_error(exc, 404)
    if received < size:
        upload = db.session.get(Upload, upload_id)
        if upload is not None:
            upload.received, upload.updated_at = received, utcnow()
            db.session.commit()
        return jsonify(offset=received, size=size)
    checking = services.claim_complete(upload_id)
    if checking is None:  # a retried last chunk: the first request is checking the file
        return jsonify(
            error=_("Upload complete. Checking the file…"),
            offset=size,
            size=size,
            redirect=done_url,
        ), 409
    try:
        info = services.check_part(checking, size)
    except transcode.MediaRefused as exc:
        upload = db.session.get(Upload, upload_id)
        if upload is not None:
            services.discard_upload(upload)
            db.session.commit()
        return _json_error(exc, 422)
    upload = db.session.get(Upload, upload_id)
    if upload is None:
        checking.unlink(missing_ok=True)
        return _json_error(_("This upload is unknown or was abandoned; start it again."), 404)
    try:
        services.finish_upload(upload, current_user, info)  # commits (starts the job)
    except quota.OverQuota as exc:
        # The quota filled up (or was lowered) while the file arrived: the lecture keeps
        # what it served; the refused file goes, so it takes no space.
        db.session.rollback()
        upload = db.session.get(Upload, upload_id)
        if upload is not None:
            services.discard_upload(upload)
            db.session.commit()
        return _json_error(exc, 413)
    flash(_("The file was accepted and is being converted for the web."), "success")
    return jsonify(offset=size, size=size, done=True, redirect=done_url)


@teach_bp.route("/<int:course_id>/videos/<int:activity_id>/retry", methods=["POST"])
@access(Access.INSTRUCTOR)
def retry(course_id: int, activity_id: int):
    """Convert a failed lecture again."""
    course = courses.staff_course(current_user, course_id)
    _activity, lecture = _video_activity(course, activity_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    perform(
        lambda: services.retry(lecture, current_user.id),
        _("The lecture is being converted again."),
    )
    return redirect(url_for("teach_media.video", course_id=course_id, activity_id=activity_id))


@teach_bp.route("/<int:course_id>/videos/<int:activity_id>/captions", methods=["POST"])
@access(Access.INSTRUCTOR)
def add_caption(course_id: int, activity_id: int):
    """Add or replace the captions of one language."""
    course = courses.staff_course(current_user, course_id)
    activity, _lecture = _video_activity(course, activity_id)
    form = CaptionForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.stream.read(services.caption_files.MAX_BYTES + 1)
        perform(
            lambda: services.add_caption(
                activity, current_user, form.language.data, data, upload.filename or ""
            ),
            lambda caption: _(
                "Captions in %(language)s were added (%(n)d cues).",
                language=caption.label,
                n=caption.cue_count,
            ),
        )
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
    return redirect(
        url_for(
            "teach_media.video",
            course_id=course_id,
            activity_id=activity_id,
            _anchor="captions-title",
        )
    )


@teach_bp.route(
    "/<int:course_id>/videos/<int:activity_id>/captions/<int:caption_id>/remove",
    methods=["POST"],
)
@access(Access.INSTRUCTOR)
def remove_caption(course_id: int, activity_id: int, caption_id: int):
    """Delete a caption track."""
    course = courses.staff_course(current_user, course_id)
    activity, _lecture = _video_activity(course, activity_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    perform(lambda: services.remove_caption(activity, caption_id), _("The captions were removed."))
    return redirect(
        url_for(
            "teach_media.video",
            course_id=course_id,
            activity_id=activity_id,
            _anchor="captions-title",
        )
    )
