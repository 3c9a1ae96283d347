"""Answering a survey (bp "surveys"): the lesson page shows the form, this takes the answers.

No JavaScript: the form posts; problems come back beside each item with a summary;
success goes back to the lesson, which then shows the survey as completed.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from elearn.core.access import Access, access
from elearn.core.services import ServiceError
from elearn.courses import services as courses
from elearn.extensions import db
from elearn.surveys import services
from elearn.surveys.forms import AnswerForm, answers_from
from elearn.surveys.models import MAX_COMMENT

bp = Blueprint("surveys", __name__, url_prefix="/courses")

#: The five points as learners read them.
SCALE = (
    (1, _l("Very dissatisfied")),
    (2, _l("Dissatisfied")),
    (3, _l("Neither satisfied nor dissatisfied")),
    (4, _l("Satisfied")),
    (5, _l("Very satisfied")),
)


@bp.app_context_processor
def _survey_scale():
    return {"survey_scale": SCALE, "survey_max_comment": MAX_COMMENT}


def survey_context(course, activity, run, *, answers=None, errors=None) -> dict:
    """What the lesson page of a survey shows: its items, and whether the run has answered."""
    survey = services.survey_of(activity)
    return {
        "survey": survey,
        "items": services.items_of(survey),
        "submitted": services.submitted(run, activity),
        "form": AnswerForm(),
        "answers": answers or {},
        "errors": errors or {},
    }


@bp.route("/<slug>/surveys/<int:activity_id>", methods=["POST"])
@access(Access.USER)
def submit(slug: str, activity_id: int):
    """Take a learner's answers: stored once per run, the lesson then counts as completed."""
    course = courses.course_for(current_user, slug)
    activity = courses.activity_in(course, activity_id)
    services.survey_of(activity)  # 404 unless a survey
    lesson_url = url_for("courses.lesson", slug=slug, activity_id=activity.id)
    if not AnswerForm().validate_on_submit():
        abort(400)
    run = courses.current_run(current_user, course)
    if run is None:
        flash(_("Enrol in the course to answer its survey."), "info")
        return redirect(url_for("courses.course", slug=slug))
    answers = answers_from(request.form)
    was_completed = run.status == "completed"
    try:
        services.submit(run, activity, answers)
        db.session.commit()
    except services.AnswersInvalid as exc:
        db.session.rollback()
        context = survey_context(course, activity, run, answers=answers, errors=exc.errors)
        return render_template(
            "surveys/answer.html", course=course, activity=activity, run=run, survey=context
        ), 400
    except services.AlreadySubmitted as exc:
        db.session.rollback()
        flash(str(exc), "info")
        return redirect(lesson_url)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(lesson_url)
    flash(_("Thank you! Your answers have been sent."), "success")
    if run.status == "completed" and not was_completed:
        flash(_("Congratulations! You have completed the course."), "success")
    return redirect(lesson_url)
