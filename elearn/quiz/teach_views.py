"""Building and marking quizzes (bp "teach_quizzes"): settings, questions, overrides, results.

Also one attempt with grading by hand, regrading, item statistics and the CSV export.

Every page is for the course's staff (and admins); anyone else gets 404.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from elearn.accounts import services as accounts
from elearn.accounts.models import OrgUnit, User
from elearn.core.access import Access, access
from elearn.core.actions import perform
from elearn.core.clock import from_local, to_local
from elearn.core.database import writes
from elearn.core.forms import ConfirmForm
from elearn.courses import services as courses
from elearn.extensions import db
from elearn.quiz import attempts, authoring, results, services
from elearn.quiz.forms import (
    AddQuestionsForm,
    GradeForm,
    OverrideForm,
    QuizForm,
    RandomSlotForm,
    SlotMarkForm,
)
from elearn.quiz.models import Question, QuestionCategory

bp = Blueprint("teach_quizzes", __name__, url_prefix="/teach")

STATE_LABELS = {
    "in_progress": _l("in progress"),
    "needs_grading": _l("needs grading"),
    "passed": _l("passed"),
    "failed": _l("not passed"),
    "finished": _l("finished"),
    "finishing": _l("finishing"),
    "correct": _l("correct"),
    "partial": _l("partly correct"),
    "wrong": _l("wrong"),
    "unanswered": _l("not answered"),
    "ungraded": _l("not graded"),
}


@bp.app_context_processor
def _quiz_labels():
    return {"quiz_state_label": lambda state: str(STATE_LABELS.get(state, state or ""))}


def _quiz(course_id: int, activity_id: int):
    """Return the course (staff only), the quiz activity and its settings, else 404."""
    course = courses.staff_course(current_user, course_id)
    activity, quiz = authoring.quiz_in(course, activity_id)
    return course, activity, quiz


def _manage_url(course, activity, anchor: str | None = None) -> str:
    return url_for(
        "teach_quizzes.manage", course_id=course.id, activity_id=activity.id, _anchor=anchor
    )


# --- settings ----------------------------------------------------------------------------


def _settings_of(form: QuizForm) -> dict:
    """The service's settings from the form (local times to UTC, minutes to seconds)."""
    return {
        "open_at": from_local(form.open_at.data) if form.open_at.data else None,
        "close_at": from_local(form.close_at.data) if form.close_at.data else None,
        "time_limit": form.time_limit.data * 60 if form.time_limit.data else None,
        "attempts": form.attempts.data,
        "grading": form.grading.data,
        "pass_mark": form.pass_mark.data / 100 if form.pass_mark.data is not None else None,
        "shuffle_questions": form.shuffle_questions.data,
        "shuffle_answers": form.shuffle_answers.data,
        "per_page": form.per_page.data,
        "navigation": form.navigation.data,
        "review_marks": form.review_marks.data,
        "review_correct": form.review_correct.data,
        "review_feedback": form.review_feedback.data,
    }


def _fill(form: QuizForm, activity, quiz) -> None:
    """Show a quiz's stored settings in the form (UTC to local, seconds to minutes)."""
    form.title.data = activity.title
    form.markdown.data = activity.page.markdown if activity.page else ""
    form.required.data = activity.required
    form.completion.data = activity.completion
    for name in ("open_at", "close_at"):
        value = getattr(quiz, name)
        form[name].data = to_local(value).replace(tzinfo=None) if value else None
    form.time_limit.data = quiz.time_limit // 60 if quiz.time_limit else None
    form.pass_mark.data = round(quiz.pass_mark * 100, 2) if quiz.pass_mark is not None else None
    for name in (
        "attempts",
        "grading",
        "shuffle_questions",
        "shuffle_answers",
        "per_page",
        "navigation",
        "review_marks",
        "review_correct",
        "review_feedback",
    ):
        form[name].data = getattr(quiz, name)


@bp.route("/<int:course_id>/modules/<int:module_id>/quizzes/new", methods=["GET", "POST"])
@access(Access.INSTRUCTOR)
def new_quiz(course_id: int, module_id: int):
    """Create a quiz in a module; its questions are added on the next page."""
    course = courses.staff_course(current_user, course_id)
    module = courses.module_in(course, module_id)
    form = QuizForm()
    if form.validate_on_submit():
        activity = perform(
            lambda: authoring.add_quiz(
                module,
                form.title.data,
                form.markdown.data or "",
                required=form.required.data,
                completion=form.completion.data,
                **_settings_of(form),
            ),
            _("The quiz was added. Now add its questions."),
            form,
        )
        if activity:
            return redirect(_manage_url(course, activity))
    status = 400 if request.method == "POST" else 200
    return render_template("teach/quiz_new.html", course=course, module=module, form=form), status


def _save(activity, quiz, form: QuizForm) -> None:
    """Save text and settings together.

    Each service checks the completion rule against the other's stored value, so the
    one that makes the new pair consistent goes first: the pass mark before switching
    to "passed", the rule before clearing the pass mark.
    """

    def text():
        authoring.update_quiz(
            activity,
            form.title.data,
            form.markdown.data or "",
            required=form.required.data,
            completion=form.completion.data,
        )

    def settings():
        authoring.update_settings(quiz, **_settings_of(form))

    steps = (settings, text) if form.completion.data == "passed" else (text, settings)
    for step in steps:
        step()


def _manage_page(course, activity, quiz, status=200, **forms):
    """The manage page, with any form given (carrying its errors) and fresh others."""
    form = forms.get("form")
    if form is None:
        form = QuizForm(formdata=None)
        _fill(form, activity, quiz)
    add_form = forms.get("add_form") or AddQuestionsForm(formdata=None, prefix="add")
    random_form = forms.get("random_form") or RandomSlotForm(formdata=None, prefix="random")
    override_form = forms.get("override_form") or OverrideForm(formdata=None, prefix="override")
    slots = authoring.slots_of(quiz)
    bank = services.questions_of(course)
    in_quiz = {s.question_id for s in slots if s.question_id}
    _choose_questions(add_form, bank, in_quiz)
    categories = services.categories_of(course)
    _choose_categories(random_form, categories)
    questions = {q.id: q for q in bank}
    missing = {s.question_id for s in slots if s.question_id and s.question_id not in questions}
    if missing:  # removed from the bank after being added: still shown, marked
        questions.update(
            {q.id: q for q in db.session.scalars(select(Question).where(Question.id.in_(missing)))}
        )
    category_paths = {c.id: c.path for c, _n in categories}
    overrides = authoring.overrides_of(quiz)
    users = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_({o.user_id for o in overrides if o.user_id}))
        )
    }
    units = {
        u.id: u
        for u in db.session.scalars(
            select(OrgUnit).where(OrgUnit.id.in_({o.unit_id for o in overrides if o.unit_id}))
        )
    }
    return (
        render_template(
            "teach/quiz.html",
            course=course,
            activity=activity,
            quiz=quiz,
            form=form,
            add_form=add_form,
            random_form=random_form,
            override_form=override_form,
            mark_form=SlotMarkForm(formdata=None),
            confirm_form=ConfirmForm(),
            slots=slots,
            questions=questions,
            category_paths=category_paths,
            available=[q for q in bank if q.id not in in_quiz and q.type != "description"]
            + [q for q in bank if q.id not in in_quiz and q.type == "description"],
            total=authoring.total_questions(quiz),
            overrides=overrides,
            override_users=users,
            override_units=units,
        ),
        status,
    )


def _choose_questions(form: AddQuestionsForm, bank, in_quiz: set) -> None:
    form.questions.choices = [
        SelectChoice(q.id, q.name or q.text[:80]) for q in bank if q.id not in in_quiz
    ]


def _choose_categories(form: RandomSlotForm, categories) -> None:
    form.category.choices = [
        SelectChoice(c.id, _("%(path)s (%(n)d questions)", path=c.path or _("Default"), n=n))
        for c, n in categories
        if n
    ]


@bp.route("/<int:course_id>/quizzes/<int:activity_id>", methods=["GET", "POST"])
@access(Access.INSTRUCTOR)
def manage(course_id: int, activity_id: int):
    """A quiz: settings, questions, overrides, and links to results and statistics."""
    course, activity, quiz = _quiz(course_id, activity_id)
    if request.method == "GET":
        return _manage_page(course, activity, quiz)
    form = QuizForm()
    if form.validate_on_submit():
        saved = perform(lambda: _save(activity, quiz, form), _("The quiz was saved."), form)
        if saved:
            return redirect(_manage_url(course, activity))
    return _manage_page(course, activity, quiz, 400, form=form)


# --- questions (slots) -----------------------------------------------------------------------


@bp.route("/<int:course_id>/quizzes/<int:activity_id>/slots/add", methods=["POST"])
@access(Access.INSTRUCTOR)
def add_questions(course_id: int, activity_id: int):
    """Add ticked questions of the bank to the quiz."""
    course, activity, quiz = _quiz(course_id, activity_id)
    form = AddQuestionsForm(prefix="add")
    in_quiz = {s.question_id for s in authoring.slots_of(quiz) if s.question_id}
    _choose_questions(form, services.questions_of(course), in_quiz)
    valid = form.validate_on_submit()
    if valid and not form.questions.data:
        form.questions.errors = [_("Tick at least one question.")]
    elif valid:
        chosen = [services.question_in(course, qid) for qid in form.questions.data]
        added = perform(
            lambda: authoring.add_questions(quiz, chosen, form.mark.data),
            lambda slots: _("%(n)d questions were added.", n=len(slots)),
            form,
        )
        if added is not None:
            return redirect(_manage_url(course, activity, "questions-title"))
    return _manage_page(course, activity, quiz, 400, add_form=form)


@bp.route("/<int:course_id>/quizzes/<int:activity_id>/slots/random", methods=["POST"])
@access(Access.INSTRUCTOR)
def add_random(course_id: int, activity_id: int):
    """Add a slot drawing random questions from a category."""
    course, activity, quiz = _quiz(course_id, activity_id)
    form = RandomSlotForm(prefix="random")
    _choose_categories(form, services.categories_of(course))
    if form.validate_on_submit():
        category = db.session.get(QuestionCategory, form.category.data)
        added = perform(
            lambda: authoring.add_random(quiz, category, form.count.data, form.mark.data),
            _("The random questions were added."),
            form,
        )
        if added is not None:
            return redirect(_manage_url(course, activity, "questions-title"))
    return _manage_page(course, activity, quiz, 400, random_form=form)


@bp.route("/<int:course_id>/quizzes/<int:activity_id>/slots/<int:slot_id>/move", methods=["POST"])
@access(Access.INSTRUCTOR)
def move_slot(course_id: int, activity_id: int, slot_id: int):
    """Move a question one place up or down."""
    course, activity, quiz = _quiz(course_id, activity_id)
    slot = authoring.slot_in(quiz, slot_id)
    direction = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if direction is None or not ConfirmForm().validate_on_submit():
        abort(400)
    perform(lambda: authoring.move_slot(quiz, slot, direction), _("The question was moved."))
    return redirect(_manage_url(course, activity, "questions-title"))


@bp.route("/<int:course_id>/quizzes/<int:activity_id>/slots/<int:slot_id>/mark", methods=["POST"])
@access(Access.INSTRUCTOR)
def slot_mark(course_id: int, activity_id: int, slot_id: int):
    """Change what a slot's questions are worth."""
    course, activity, quiz = _quiz(course_id, activity_id)
    slot = authoring.slot_in(quiz, slot_id)
    form = SlotMarkForm()
    if not form.validate_on_submit():
        return _manage_page(course, activity, quiz, 400)
    perform(lambda: authoring.set_mark(slot, form.mark.data), _("The mark was changed."))
    return redirect(_manage_url(course, activity, "questions-title"))


@bp.route("/<int:course_id>/quizzes/<int:activity_id>/slots/<int:slot_id>/remove", methods=["POST"])
@access(Access.INSTRUCTOR)
def remove_slot(course_id: int, activity_id: int, slot_id: int):
    """Take a question (or random draw) out of the quiz."""
    course, activity, quiz = _quiz(course_id, activity_id)
    slot = authoring.slot_in(quiz, slot_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    perform(lambda: authoring.remove_slot(slot), _("The question was taken out of the quiz."))
    return redirect(_manage_url(course, activity, "questions-title"))


# --- overrides -------------------------------------------------------------------------------


@bp.route("/<int:course_id>/quizzes/<int:activity_id>/overrides/add", methods=["POST"])
@access(Access.INSTRUCTOR)
def add_override(course_id: int, activity_id: int):
    """Give a learner or a unit more time, attempts or days."""
    course, activity, quiz = _quiz(course_id, activity_id)
    form = OverrideForm(prefix="override")
    if form.validate_on_submit():
        username = (form.username.data or "").strip()
        code = (form.unit_code.data or "").strip()
        user = unit = None
        if bool(username) == bool(code):
            form.username.errors = [_("Give either a username or a unit code.")]
        elif username:
            user = db.session.scalar(
                select(User).where(User.username == accounts.normalize_username(username))
            )
            if user is None:
                form.username.errors = [_("No account has this username.")]
        else:
            unit = accounts.unit_by_code(code)
            if unit is None:
                form.unit_code.errors = [_("No unit has this code.")]
        if user is not None or unit is not None:
            done = perform(
                lambda: authoring.add_override(
                    quiz,
                    current_user,
                    user=user,
                    unit=unit,
                    extra_minutes=form.extra_minutes.data,
                    extra_attempts=form.extra_attempts.data,
                    close_at=from_local(form.close_at.data) if form.close_at.data else None,
                    reason=form.reason.data or "",
                ),
                _("The override was given."),
                form,
            )
            if done is not None:
                return redirect(_manage_url(course, activity, "overrides-title"))
    return _manage_page(course, activity, quiz, 400, override_form=form)


@bp.route(
    "/<int:course_id>/quizzes/<int:activity_id>/overrides/<int:override_id>/remove",
    methods=["POST"],
)
@access(Access.INSTRUCTOR)
def remove_override(course_id: int, activity_id: int, override_id: int):
    """Remove an override."""
    course, activity, quiz = _quiz(course_id, activity_id)
    override = authoring.override_in(quiz, override_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    perform(
        lambda: authoring.remove_override(override, current_user), _("The override was removed.")
    )
    return redirect(_manage_url(course, activity, "overrides-title"))


# --- results -------------------------------------------------------------------------------


@bp.route("/<int:course_id>/quizzes/<int:activity_id>/results")
@access(Access.INSTRUCTOR)
def results_page(course_id: int, activity_id: int):
    """Every learner's results: attempts, final and best grade, time, state."""
    course, activity, quiz = _quiz(course_id, activity_id)
    return render_template(
        "teach/quiz_results.html",
        course=course,
        activity=activity,
        quiz=quiz,
        results=results.results_of(activity),
        job=results.last_job(activity, "quiz.regrade"),
        confirm_form=ConfirmForm(),
        clock=results.format_seconds,
    )


@bp.route("/<int:course_id>/quizzes/<int:activity_id>/regrade", methods=["POST"])
@access(Access.INSTRUCTOR)
def regrade(course_id: int, activity_id: int):
    """Start regrading every finished attempt with the current questions."""
    course, activity, _quiz_settings = _quiz(course_id, activity_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    job = results.start_regrade(activity, current_user)
    flash(_("Regrading has started. Its progress is shown below."), "success")
    return redirect(
        url_for(
            "teach_quizzes.results_page",
            course_id=course.id,
            activity_id=activity.id,
            _anchor=f"job-{job.id}",
        )
    )


@bp.route("/<int:course_id>/quizzes/<int:activity_id>/results.csv")
@access(Access.INSTRUCTOR)
@writes  # the export is audited
def results_csv(course_id: int, activity_id: int):
    """Download the results as CSV (opens in Excel)."""
    course, activity, _quiz_settings = _quiz(course_id, activity_id)
    text = results.results_csv(activity, current_user)
    db.session.commit()  # the audit entry
    response = Response(text.encode("utf-8"), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{course.slug}-{activity.key}-ket-qua.csv"'
    )
    return response


@bp.route(
    "/<int:course_id>/quizzes/<int:activity_id>/attempts/<int:attempt_id>",
    methods=["GET", "POST"],
)
@access(Access.INSTRUCTOR)
def attempt(course_id: int, activity_id: int, attempt_id: int):
    """One attempt in full, with a grade form for each question."""
    course, activity, quiz = _quiz(course_id, activity_id)
    row = results.attempt_in(activity, attempt_id)
    posted = None
    if request.method == "POST":
        try:
            slot = int(request.form.get("slot", ""))
        except ValueError:
            abort(400)
        answer = results.answer_in(row, slot)
        posted = (slot, GradeForm(prefix=f"s{slot}"))
        form = posted[1]
        if form.validate_on_submit():
            done = perform(
                lambda: results.manual_grade(
                    answer,
                    results.fraction_for(answer, form.marks.data),
                    form.comment.data or "",
                    current_user,
                ),
                _("The grade was saved."),
                form,
            )
            if done is not None:
                return redirect(
                    url_for(
                        "teach_quizzes.attempt",
                        course_id=course.id,
                        activity_id=activity.id,
                        attempt_id=row.id,
                        _anchor=f"q{slot}",
                    )
                )
    reviews = results.review_of(row)
    forms = {}
    for item in reviews:
        if not item.graded:
            continue
        if posted and posted[0] == item.row.slot:
            forms[item.row.slot] = posted[1]
            continue
        form = GradeForm(formdata=None, prefix=f"s{item.row.slot}")
        form.marks.data = round(item.marks, 4) if item.marks is not None else None
        form.comment.data = item.row.comment
        forms[item.row.slot] = form
    for slot, form in forms.items():
        mark = next(i.row.mark for i in reviews if i.row.slot == slot)
        form.marks.description = _("From 0 to %(mark)s.", mark=f"{mark:g}")
    learner = db.session.get(User, row.user_id)
    graders = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_({i.row.graded_by for i in reviews if i.row.graded_by}))
        )
    }
    return (
        render_template(
            "teach/quiz_attempt.html",
            course=course,
            activity=activity,
            quiz=quiz,
            attempt=row,
            learner=learner,
            reviews=reviews,
            forms=forms,
            graders=graders,
            clock=results.format_seconds(attempts.time_taken(row)),
        ),
        400 if posted else 200,
    )


# --- statistics ------------------------------------------------------------------------------


@bp.route("/<int:course_id>/quizzes/<int:activity_id>/statistics", methods=["GET", "POST"])
@access(Access.INSTRUCTOR)
def statistics(course_id: int, activity_id: int):
    """Item statistics (facility, discrimination, answers chosen); POST recomputes them."""
    course, activity, quiz = _quiz(course_id, activity_id)
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        job = results.start_statistics(activity, current_user)
        flash(_("The statistics are being computed."), "success")
        return redirect(
            url_for(
                "teach_quizzes.statistics",
                course_id=course.id,
                activity_id=activity.id,
                _anchor=f"job-{job.id}",
            )
        )
    row, data = results.statistics_of(activity)
    return render_template(
        "teach/quiz_statistics.html",
        course=course,
        activity=activity,
        quiz=quiz,
        row=row,
        data=data,
        stale=results.statistics_stale(activity, row),
        job=results.last_job(activity, "quiz.statistics"),
        confirm_form=ConfirmForm(),
    )
