"""Building surveys and reading their results (bp "teach_surveys").

Every page is for the course's staff (and admins); anyone else gets 404.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from elearn.core.access import Access, access
from elearn.core.actions import perform
from elearn.core.database import writes
from elearn.core.forms import ConfirmForm
from elearn.courses import services as courses
from elearn.extensions import db
from elearn.surveys import results, services
from elearn.surveys.forms import ItemEditForm, ItemForm, SurveyForm

bp = Blueprint("teach_surveys", __name__, url_prefix="/teach")

#: What a new survey is called and says unless the instructor writes otherwise.
DEFAULT_TITLE = "Phiếu khảo sát mức độ hài lòng"
DEFAULT_INTRO = (
    "Xin anh/chị cho biết mức độ hài lòng với khóa học. Ý kiến của anh/chị giúp "
    "chúng tôi cải tiến nội dung, bài giảng và cách tổ chức học tập."
)


def _survey(course_id: int, activity_id: int):
    """Return the course (staff only), the survey activity and its settings, else 404."""
    course = courses.staff_course(current_user, course_id)
    activity, survey = services.survey_in(course, activity_id)
    return course, activity, survey


def _manage_url(course, activity, anchor: str | None = None) -> str:
    return url_for(
        "teach_surveys.manage", course_id=course.id, activity_id=activity.id, _anchor=anchor
    )


@bp.route("/<int:course_id>/modules/<int:module_id>/surveys/new", methods=["GET", "POST"])
@access(Access.INSTRUCTOR)
def new_survey(course_id: int, module_id: int):
    """Create a survey in a module, with the standard satisfaction items to edit next."""
    course = courses.staff_course(current_user, course_id)
    module = courses.module_in(course, module_id)
    form = SurveyForm()
    if request.method == "GET":
        form.title.data, form.markdown.data = DEFAULT_TITLE, DEFAULT_INTRO
    if form.validate_on_submit():
        activity = perform(
            lambda: services.add_survey(
                module,
                form.title.data,
                form.markdown.data or "",
                required=form.required.data,
                anonymous=form.anonymous.data,
                min_responses_shown=form.min_responses_shown.data,
            ),
            _("The survey was added with the standard items. Edit them as you need."),
            form,
        )
        if activity:
            return redirect(_manage_url(course, activity, "items-title"))
    status = 400 if request.method == "POST" else 200
    return render_template("teach/survey_new.html", course=course, module=module, form=form), status


def _manage_page(course, activity, survey, form=None, item_form=None, status=200):
    if form is None:
        form = SurveyForm(formdata=None)
        form.title.data = activity.title
        form.markdown.data = activity.page.markdown if activity.page else ""
        form.required.data = activity.required
        form.anonymous.data = survey.anonymous
        form.min_responses_shown.data = survey.min_responses_shown
    return render_template(
        "teach/survey.html",
        course=course,
        activity=activity,
        survey=survey,
        form=form,
        item_form=item_form or ItemForm(formdata=None, prefix="new"),
        edit_form=ItemEditForm(formdata=None),
        confirm_form=ConfirmForm(),
        items=services.items_of(survey),
        responses=services.response_count(survey),
    ), status


@bp.route("/<int:course_id>/surveys/<int:activity_id>", methods=["GET", "POST"])
@access(Access.INSTRUCTOR)
def manage(course_id: int, activity_id: int):
    """A survey: title, intro, settings and items, with links to results and a preview."""
    course, activity, survey = _survey(course_id, activity_id)
    if request.method == "GET":
        return _manage_page(course, activity, survey)
    form = SurveyForm()
    if form.validate_on_submit():
        saved = perform(
            lambda: services.update_survey(
                activity,
                form.title.data,
                form.markdown.data or "",
                required=form.required.data,
                # Shown but not sent once answered: keep what is stored.
                anonymous=(
                    form.anonymous.data if not services.has_responses(survey) else survey.anonymous
                ),
                min_responses_shown=form.min_responses_shown.data,
            ),
            _("The survey was saved."),
            form,
        )
        if saved:
            return redirect(_manage_url(course, activity))
    return _manage_page(course, activity, survey, form=form, status=400)


@bp.route("/<int:course_id>/surveys/<int:activity_id>/items", methods=["POST"])
@access(Access.INSTRUCTOR)
def add_item(course_id: int, activity_id: int):
    """Append an item (before anyone has answered)."""
    course, activity, survey = _survey(course_id, activity_id)
    form = ItemForm(prefix="new")
    if form.validate_on_submit():
        added = perform(
            lambda: services.add_item(survey, form.kind.data, form.text.data, form.required.data),
            _("The item was added."),
            form,
        )
        if added is not None:
            return redirect(_manage_url(course, activity, "items-title"))
    return _manage_page(course, activity, survey, item_form=form, status=400)


@bp.route("/<int:course_id>/surveys/<int:activity_id>/items/<int:item_id>", methods=["POST"])
@access(Access.INSTRUCTOR)
def update_item(course_id: int, activity_id: int, item_id: int):
    """Correct an item's text, or whether it must be answered (before answers)."""
    course, activity, survey = _survey(course_id, activity_id)
    item = services.item_in(survey, item_id)
    form = ItemEditForm()
    if form.validate_on_submit():
        perform(
            lambda: services.update_item(survey, item, form.text.data, form.required.data),
            _("The item was saved."),
        )
    else:
        flash(_("An item needs a text of at most 1,000 characters."), "error")
    return redirect(_manage_url(course, activity, f"item-{item.id}"))


@bp.route("/<int:course_id>/surveys/<int:activity_id>/items/<int:item_id>/move", methods=["POST"])
@access(Access.INSTRUCTOR)
def move_item(course_id: int, activity_id: int, item_id: int):
    """Move an item one place up or down (before anyone has answered)."""
    course, activity, survey = _survey(course_id, activity_id)
    item = services.item_in(survey, item_id)
    direction = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if direction is None or not ConfirmForm().validate_on_submit():
        abort(400)
    perform(lambda: services.move_item(survey, item, direction), _("The item was moved."))
    return redirect(_manage_url(course, activity, "items-title"))


@bp.route("/<int:course_id>/surveys/<int:activity_id>/items/<int:item_id>/remove", methods=["POST"])
@access(Access.INSTRUCTOR)
def remove_item(course_id: int, activity_id: int, item_id: int):
    """Take an item out of the survey (before anyone has answered)."""
    course, activity, survey = _survey(course_id, activity_id)
    item = services.item_in(survey, item_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    perform(lambda: services.remove_item(survey, item), _("The item was removed."))
    return redirect(_manage_url(course, activity, "items-title"))


@bp.route("/<int:course_id>/surveys/<int:activity_id>/results")
@access(Access.INSTRUCTOR)
def results_page(course_id: int, activity_id: int):
    """Responses, satisfaction index, mean, each item's answers and the comments."""
    course, activity, survey = _survey(course_id, activity_id)
    figures = services.satisfaction(activity_id=activity.id)
    return render_template(
        "teach/survey_results.html",
        course=course,
        activity=activity,
        survey=survey,
        figures=figures,
        reason=services.reason_text(figures),
        comments=results.comments(survey, figures),
        named=results.named_responses(survey),
        items=services.items_of(survey),
    )


@bp.route("/<int:course_id>/surveys/<int:activity_id>/results.csv")
@access(Access.INSTRUCTOR)
@writes  # the export is audited
def results_csv(course_id: int, activity_id: int):
    """Download the aggregated results as CSV (opens in Excel)."""
    course, activity, _survey_settings = _survey(course_id, activity_id)
    text = results.results_csv(activity, current_user)
    db.session.commit()  # the audit entry
    response = Response(text.encode("utf-8"), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{course.slug}-{activity.key}-khao-sat.csv"'
    )
    return response
