"""The question bank of a course (bp "teach_quiz"): list, import with a preview, export."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from elearn.core.access import Access, access
from elearn.core.actions import perform
from elearn.core.forms import ConfirmForm
from elearn.core.services import ServiceError
from elearn.courses import services as courses
from elearn.extensions import db
from elearn.html import render_text
from elearn.quiz import editor, services, types
from elearn.quiz.formats import FormatError
from elearn.quiz.forms import ConfirmImportForm, ImportForm, QuestionForm

bp = Blueprint("teach_quiz", __name__, url_prefix="/teach")

TYPE_LABELS = {
    "multichoice": _l("Multiple choice"),
    "multiresponse": _l("Multiple answers"),
    "truefalse": _l("True/false"),
    "shortanswer": _l("Short answer"),
    "numerical": _l("Numerical"),
    "matching": _l("Matching"),
    "essay": _l("Essay"),
    "description": _l("Description"),
}


@bp.app_context_processor
def _labels():
    return {"question_type_label": lambda slug: str(TYPE_LABELS.get(slug, slug))}


def _bank_page(course, form, status=200):
    return (
        render_template(
            "teach/questions.html",
            course=course,
            questions=services.questions_of(course),
            categories=services.categories_of(course),
            form=form,
            confirm_form=ConfirmForm(),
        ),
        status,
    )


@bp.route("/<int:course_id>/questions")
@access(Access.INSTRUCTOR)
def bank(course_id: int):
    """The course's questions by category, with import and export."""
    course = courses.staff_course(current_user, course_id)
    return _bank_page(course, ImportForm())


@bp.route("/<int:course_id>/questions/import", methods=["POST"])
@access(Access.INSTRUCTOR)
def import_preview(course_id: int):
    """Step 1: read the file and show every question and every problem; nothing is saved."""
    course = courses.staff_course(current_user, course_id)
    form = ImportForm()
    if not form.validate_on_submit():
        return _bank_page(course, form, 400)
    data = form.file.data.stream.read(services.MAX_FILE_BYTES + 1)
    try:
        result = services.preview(data, form.format.data)
    except FormatError as exc:  # unreadable as a whole (encoding)
        form.file.errors = [str(p.message) for p in exc.problems] or [str(exc)]
        return _bank_page(course, form, 400)
    except ServiceError as exc:
        form.file.errors = [str(exc)]
        return _bank_page(course, form, 400)
    confirm = ConfirmImportForm(
        source=result.text, format=form.format.data, only_valid="1" if form.only_valid.data else ""
    )
    return render_template(
        "teach/questions_preview.html",
        course=course,
        result=result,
        filename=form.file.data.filename or "",
        only_valid=form.only_valid.data,
        confirm=confirm,
    )


@bp.route("/<int:course_id>/questions/import/confirm", methods=["POST"])
@access(Access.INSTRUCTOR)
def import_confirm(course_id: int):
    """Step 2: import what the preview showed."""
    course = courses.staff_course(current_user, course_id)
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        rows = services.import_questions(
            course,
            form.source.data.encode("utf-8"),
            form.format.data,
            current_user,
            only_valid=form.only_valid.data == "1",
        )
    except ServiceError as exc:  # FormatError included: the file has problems
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("teach_quiz.bank", course_id=course.id))
    db.session.commit()
    flash(_("%(n)d questions were imported.", n=len(rows)), "success")
    return redirect(url_for("teach_quiz.bank", course_id=course.id))


@bp.route("/<int:course_id>/questions/export")
@access(Access.INSTRUCTOR)
def export(course_id: int):
    """Download the bank as GIFT or Aiken."""
    course = courses.staff_course(current_user, course_id)
    format_name = request.args.get("format", "gift")
    try:
        text = services.export_bank(course, format_name)
    except FormatError as exc:
        flash(
            _("Some questions cannot be written as %(format)s: %(problems)s")
            % {
                "format": format_name.upper(),
                "problems": "; ".join(f"{p.question}: {p.message}" for p in exc.problems),
            },
            "error",
        )
        return redirect(url_for("teach_quiz.bank", course_id=course.id))
    except ServiceError as exc:
        flash(str(exc), "error")
        return redirect(url_for("teach_quiz.bank", course_id=course.id))
    extension = "gift" if format_name == "gift" else "txt"
    response = Response(text, mimetype="text/plain; charset=utf-8")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{course.slug}-{format_name}.{extension}"'
    )
    return response


@bp.route("/<int:course_id>/questions/<int:question_id>/remove", methods=["POST"])
@access(Access.INSTRUCTOR)
def remove(course_id: int, question_id: int):
    """Take a question out of the bank."""
    course = courses.staff_course(current_user, course_id)
    question = services.question_in(course, question_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    perform(lambda: services.remove_question(question), _("The question was removed."))
    return redirect(url_for("teach_quiz.bank", course_id=course.id))


def _question_form(course, kind: str, row=None):
    """Show and handle the editor of one question: preview without saving, or save."""
    form = QuestionForm()
    text_format = row.text_format if row is not None else "markdown"
    if request.method == "GET" and row is not None:
        editor.fill(form, services.as_data(row))
    preview = None
    if form.validate_on_submit():
        try:
            question = editor.build(kind, form, text_format)
        except ServiceError as exc:
            target = form[exc.field] if exc.field and exc.field in form else form.text
            target.errors = [*target.errors, str(exc)]
        else:
            if form.preview.data:
                preview = question
            else:
                if row is None:
                    services.add_question(course, question, current_user)
                    message = _("The question was added to the bank.")
                else:
                    services.update_question(row, question)
                    message = _("The question was saved.")
                db.session.commit()
                flash(message, "success")
                return redirect(url_for("teach_quiz.bank", course_id=course.id))
    return render_template(
        "teach/question_form.html",
        course=course,
        form=form,
        kind=kind,
        row=row,
        preview=preview,
        preview_html=render_text(preview.text, preview.text_format) if preview else "",
        shown=types.order(preview, "preview") if preview else [],
    )


@bp.route("/<int:course_id>/questions/new/<kind>", methods=["GET", "POST"])
@access(Access.INSTRUCTOR)
def new_question(course_id: int, kind: str):
    """Write a new question of one type, with a preview as learners see it."""
    course = courses.staff_course(current_user, course_id)
    if kind not in TYPE_LABELS:
        abort(404)
    return _question_form(course, kind)


@bp.route("/<int:course_id>/questions/<int:question_id>/edit", methods=["GET", "POST"])
@access(Access.INSTRUCTOR)
def edit_question(course_id: int, question_id: int):
    """Edit a question of the bank (its type stays)."""
    course = courses.staff_course(current_user, course_id)
    row = services.question_in(course, question_id)
    return _question_form(course, row.type, row)
