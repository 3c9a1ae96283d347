"""The catalogue, course and lesson pages (bp "courses") and authoring (bp "teach")."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from elearn.accounts import services as accounts
from elearn.core.access import Access, access
from elearn.core.actions import perform
from elearn.core.database import writes
from elearn.core.forms import ConfirmForm, page_number
from elearn.courses import services
from elearn.courses.forms import CourseForm, ModuleForm, PageForm, StaffForm
from elearn.extensions import db
from elearn.html import render_markdown
from elearn.jobs import services as jobs
from elearn.media import services as media
from elearn.progress import services as progress
from elearn.quiz import learn as quiz_learn
from elearn.surveys import views as survey_views

bp = Blueprint("courses", __name__, url_prefix="/courses")
teach_bp = Blueprint("teach", __name__, url_prefix="/teach")


@bp.app_context_processor
def _topic_labels():
    return {"topic_label": lambda slug: services.TOPICS.get(slug, "")}


# --- learners --------------------------------------------------------------------------------


@bp.route("")
@access(Access.USER)
def catalogue():
    """Published courses the visitor may take, searchable without diacritics."""
    search = request.args.get("q", "").strip()
    topic = request.args.get("topic", "")
    if topic not in services.TOPICS:
        topic = ""
    page = db.paginate(
        services.catalogue(current_user, search, topic),
        page=request.args.get("page", 1, type=page_number),
        per_page=20,
        error_out=False,
    )
    return render_template(
        "courses/catalogue.html", page=page, search=search, topic=topic, topics=services.TOPICS
    )


@bp.route("/<slug>")
@access(Access.USER)
def course(slug: str):
    """A course: what it covers, its lessons with the visitor's progress, and past runs."""
    course = services.course_for(current_user, slug)
    runs = services.runs_of(current_user, course)
    run = runs[0] if runs else None
    outline = services.outline(course)
    lessons = [a for _m, activities in outline for a in activities]
    return render_template(
        "courses/course.html",
        course=course,
        outline=outline,
        run=run,
        runs=runs,
        states=progress.states(run),
        confirm_form=ConfirmForm(),
        is_staff=services.is_staff(current_user, course),
        next_activity=_next_activity(course, run),
        durations={
            a.id: v.duration for a, v in media.videos_of(course, lessons) if v.ready_version
        },
    )


def _next_activity(course, run):
    """Return the first activity not yet completed in ``run`` (or the first one)."""
    activities = services.sequence(course)
    if not activities:
        return None
    states = progress.states(run)
    return next((a for a in activities if states.get(a.id) != "completed"), activities[0])


@bp.route("/<slug>/enrol", methods=["POST"])
@access(Access.USER)
def enrol(slug: str):
    """Start a run of the course (the first, or a refresher after a completed run)."""
    course = services.course_for(current_user, slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    run = perform(
        lambda: services.enrol(current_user, course),
        lambda new: (
            _("You are enrolled. Good studying!")
            if new.run == 1
            else _("Run %(n)d has started; your earlier runs stay in your history.", n=new.run)
        ),
    )
    if run:
        first = _next_activity(course, None)
        if first:
            return redirect(url_for("courses.lesson", slug=slug, activity_id=first.id))
    return redirect(url_for("courses.course", slug=slug))


@bp.route("/<slug>/lessons/<int:activity_id>")
@access(Access.USER)
@writes
def lesson(slug: str, activity_id: int):
    """Read a page; opening it records the view through the progress service."""
    course = services.course_for(current_user, slug)
    activity = services.activity_in(course, activity_id)
    run = services.current_run(current_user, course)
    if run is None:
        if not services.is_staff(current_user, course):
            flash(_("Enrol in the course to read its lessons."), "info")
            return redirect(url_for("courses.course", slug=slug))
    else:
        was_completed = run.status == "completed"
        progress.record(run, activity, "viewed")
        db.session.commit()
        if run.status == "completed" and not was_completed:
            flash(_("Congratulations! You have completed the course."), "success")
    return render_template(
        "courses/lesson.html",
        course=course,
        activity=activity,
        run=run,
        state=progress.states(run).get(activity.id),
        confirm_form=ConfirmForm(),
        lecture=_lecture(course, activity, run),
        quiz=quiz_learn.quiz_context(course, activity, run) if activity.type == "quiz" else None,
        survey=_survey(course, activity, run),
        **_neighbours(course, activity),
    )


def _lecture(course, activity, run) -> dict | None:
    """Return what the lesson page needs to show a video, for video lessons."""
    if activity.type != "video":
        return None
    return media.lecture_context(course, activity, run)


def _survey(course, activity, run) -> dict | None:
    """Return what the lesson page needs to show a survey's form, for surveys."""
    if activity.type != "survey":
        return None
    return survey_views.survey_context(course, activity, run)


def _neighbours(course, activity) -> dict:
    """Return the previous and next activities and the position of ``activity``."""
    sequence = services.sequence(course)
    index = sequence.index(activity)
    return {
        "previous": sequence[index - 1] if index > 0 else None,
        "next": sequence[index + 1] if index + 1 < len(sequence) else None,
        "position": index + 1,
        "total": len(sequence),
    }


@bp.route("/<slug>/lessons/<int:activity_id>/done", methods=["POST"])
@access(Access.USER)
def mark_done(slug: str, activity_id: int):
    """Mark a page as done."""
    course = services.course_for(current_user, slug)
    activity = services.activity_in(course, activity_id)
    run = services.current_run(current_user, course)
    if run is None or not ConfirmForm().validate_on_submit():
        abort(400)
    perform(
        lambda: progress.record(run, activity, "done"),
        lambda _row: (
            _("Congratulations! You have completed the course.")
            if run.status == "completed"
            else _("Marked as done.")
        ),
    )
    return redirect(url_for("courses.lesson", slug=slug, activity_id=activity.id))


# --- instructors -----------------------------------------------------------------------------


def _course_form(**kwargs) -> CourseForm:
    return CourseForm(topics=services.TOPICS, units=accounts.all_units(), **kwargs)


@teach_bp.route("")
@access(Access.INSTRUCTOR)
def index():
    """The courses the visitor may edit."""
    return render_template(
        "teach/index.html", courses=services.teaching(current_user), confirm_form=ConfirmForm()
    )


@teach_bp.route("/rerender", methods=["POST"])
@access(Access.ADMIN)
def rerender():
    """Re-render every page in the background (after the HTML allowlist changed)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    job = jobs.start("content.rerender", owner_id=current_user.id)
    flash(_("The pages are being re-rendered in the background."), "success")
    return redirect(url_for("jobs.detail", job_id=job.id))


@teach_bp.route("/new", methods=["GET", "POST"])
@access(Access.INSTRUCTOR)
def new_course():
    """Create a draft course."""
    form = _course_form()
    if form.validate_on_submit():
        course = perform(
            lambda: services.create_course(
                current_user,
                slug=form.slug.data.strip().lower(),
                title=form.title.data,
                summary=form.summary.data or "",
                topic=form.topic.data,
                estimated_minutes=form.estimated_minutes.data,
            ),
            _("The course was created as a draft."),
            form,
        )
        if course:
            return redirect(url_for("teach.edit", course_id=course.id))
    return render_template("teach/course_new.html", form=form)


@teach_bp.route("/<int:course_id>", methods=["GET", "POST"])
@access(Access.INSTRUCTOR)
def edit(course_id: int):
    """Edit a course's description, offer and structure."""
    course = services.staff_course(current_user, course_id)
    form = _course_form(obj=course)
    del form.slug
    if request.method == "GET":
        form.audience_all.data = course.settings.audience_all
        form.audience_units.data = [u.id for u in services.audience_units(course)]
        form.due_days.data = course.settings.due_days
        form.require_captions.data = course.settings.require_captions
        if course.settings.min_grade is not None:
            form.min_grade.data = round(course.settings.min_grade * 100)
        form.issuer_unit.data = course.settings.issuer_unit_id or 0
    if form.validate_on_submit():
        saved = perform(
            lambda: services.update_course(
                course,
                current_user,
                title=form.title.data,
                summary=form.summary.data or "",
                topic=form.topic.data,
                estimated_minutes=form.estimated_minutes.data,
                audience_all=form.audience_all.data,
                audience_unit_ids=form.audience_units.data,
                due_days=form.due_days.data,
                require_captions=form.require_captions.data,
                min_grade=None if form.min_grade.data is None else form.min_grade.data / 100,
                issuer_unit_id=form.issuer_unit.data or None,
            ),
            _("The course was saved."),
            form,
        )
        if saved:
            return redirect(url_for("teach.edit", course_id=course.id))
    return render_template(
        "teach/course_edit.html",
        course=course,
        form=form,
        outline=services.outline(course),
        module_form=ModuleForm(),
        staff=services.staff_of(course),
        staff_form=StaffForm(),
        confirm_form=ConfirmForm(),
    )


@teach_bp.route("/<int:course_id>/staff", methods=["POST"])
@access(Access.INSTRUCTOR)
def add_staff(course_id: int):
    """Make another person an instructor of the course."""
    course = services.staff_course(current_user, course_id)
    form = StaffForm()
    if form.validate_on_submit():
        perform(
            lambda: services.add_staff(course, form.username.data, current_user),
            lambda person: _("%(name)s can now edit this course.", name=person.full_name),
        )
    else:
        flash(_("Enter the username of the instructor to add."), "error")
    return redirect(url_for("teach.edit", course_id=course_id, _anchor="staff-title"))


@teach_bp.route("/<int:course_id>/staff/<int:staff_id>/remove", methods=["POST"])
@access(Access.INSTRUCTOR)
def remove_staff(course_id: int, staff_id: int):
    """Take away an instructor's right to edit the course."""
    course = services.staff_course(current_user, course_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    perform(
        lambda: services.remove_staff(course, staff_id, current_user),
        _("The instructor was removed from this course."),
    )
    if not services.is_staff(current_user, course):
        return redirect(url_for("teach.index"))
    return redirect(url_for("teach.edit", course_id=course_id, _anchor="staff-title"))


@teach_bp.route("/<int:course_id>/status", methods=["POST"])
@access(Access.INSTRUCTOR)
def set_status(course_id: int):
    """Publish a course or take it back to draft."""
    course = services.staff_course(current_user, course_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    publish = request.form.get("publish") == "1"
    perform(
        lambda: services.set_status(course, current_user, publish),
        _("The course is published.") if publish else _("The course is a draft again."),
    )
    return redirect(url_for("teach.edit", course_id=course_id))


@teach_bp.route("/<int:course_id>/modules", methods=["POST"])
@access(Access.INSTRUCTOR)
def add_module(course_id: int):
    """Append a module."""
    course = services.staff_course(current_user, course_id)
    form = ModuleForm()
    if form.validate_on_submit():
        perform(lambda: services.add_module(course, form.title.data), _("The module was added."))
    else:
        flash(_("A module needs a title."), "error")
    return redirect(url_for("teach.edit", course_id=course_id))


@teach_bp.route("/<int:course_id>/modules/<int:module_id>/rename", methods=["POST"])
@access(Access.INSTRUCTOR)
def rename_module(course_id: int, module_id: int):
    """Rename a module."""
    course = services.staff_course(current_user, course_id)
    module = services.module_in(course, module_id)
    form = ModuleForm()
    if form.validate_on_submit():
        perform(
            lambda: services.rename_module(module, form.title.data), _("The module was renamed.")
        )
    else:
        flash(_("A module needs a title."), "error")
    return redirect(url_for("teach.edit", course_id=course_id))


@teach_bp.route("/<int:course_id>/modules/<int:module_id>/move", methods=["POST"])
@access(Access.INSTRUCTOR)
def move_module(course_id: int, module_id: int):
    """Move a module up or down."""
    course = services.staff_course(current_user, course_id)
    module = services.module_in(course, module_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.move(module, -1 if request.form.get("direction") == "up" else 1)
    db.session.commit()
    flash(_("The module “%(title)s” was moved.", title=module.title), "success")
    return redirect(url_for("teach.edit", course_id=course_id, _anchor=f"module-{module.id}"))


@teach_bp.route("/<int:course_id>/modules/<int:module_id>/pages/new", methods=["GET", "POST"])
@access(Access.INSTRUCTOR)
def new_page(course_id: int, module_id: int):
    """Write a new page in a module (with a preview before saving)."""
    course = services.staff_course(current_user, course_id)
    module = services.module_in(course, module_id)
    return _page_form(course, module, None)


@teach_bp.route("/<int:course_id>/pages/<int:activity_id>/edit", methods=["GET", "POST"])
@access(Access.INSTRUCTOR)
def edit_page(course_id: int, activity_id: int):
    """Edit a page (with a preview before saving)."""
    course = services.staff_course(current_user, course_id)
    activity = services.activity_in(course, activity_id)
    if activity.type == "video":
        return redirect(url_for("teach_media.video", course_id=course_id, activity_id=activity_id))
    if activity.type == "quiz":
        return redirect(
            url_for("teach_quizzes.manage", course_id=course_id, activity_id=activity_id)
        )
    if activity.type == "survey":
        return redirect(
            url_for("teach_surveys.manage", course_id=course_id, activity_id=activity_id)
        )
    return _page_form(course, activity.module, activity)


def _page_form(course, module, activity):
    """Show the page editor; preview without saving, or save and go back to the course."""
    form = PageForm(obj=activity)
    if request.method == "GET" and activity is not None:
        form.markdown.data = activity.page.markdown if activity.page else ""
    preview = None
    if form.validate_on_submit():
        if form.preview.data:
            preview = render_markdown(form.markdown.data or "")
        else:
            fields = {"required": form.required.data, "completion": form.completion.data}
            text = form.markdown.data or ""
            if activity is None:
                saved = perform(
                    lambda: services.add_page(module, form.title.data, text, **fields),
                    _("The page was added."),
                    form,
                )
            else:
                saved = perform(
                    lambda: services.update_page(activity, form.title.data, text, **fields),
                    _("The page was saved."),
                    form,
                )
            if saved:
                return redirect(
                    url_for("teach.edit", course_id=course.id, _anchor=f"module-{module.id}")
                )
    return render_template(
        "teach/page_form.html",
        course=course,
        module=module,
        form=form,
        activity=activity,
        preview=preview,
    )


@teach_bp.route("/<int:course_id>/pages/<int:activity_id>/move", methods=["POST"])
@access(Access.INSTRUCTOR)
def move_page(course_id: int, activity_id: int):
    """Move a page up or down within its module."""
    course = services.staff_course(current_user, course_id)
    activity = services.activity_in(course, activity_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.move(activity, -1 if request.form.get("direction") == "up" else 1)
    db.session.commit()
    flash(_("The page “%(title)s” was moved.", title=activity.title), "success")
    return redirect(
        url_for("teach.edit", course_id=course_id, _anchor=f"module-{activity.module_id}")
    )


@teach_bp.route("/<int:course_id>/pages/<int:activity_id>/preview")
@access(Access.INSTRUCTOR)
def preview_page(course_id: int, activity_id: int):
    """See a page as learners will."""
    course = services.staff_course(current_user, course_id)
    activity = services.activity_in(course, activity_id)
    return render_template(
        "courses/lesson.html",
        course=course,
        activity=activity,
        run=None,
        state=None,
        confirm_form=ConfirmForm(),
        preview_mode=True,
        lecture=_lecture(course, activity, None),
        survey=_survey(course, activity, None),
        **_neighbours(course, activity),
    )
