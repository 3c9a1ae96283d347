"""Taking a quiz (bp "quiz"): start, answer page by page, summary, submit, review.

Every page works without JavaScript (buttons post the form, which saves and moves on);
``static/js/quiz.js`` adds saving each answer as it is given, a queue kept in the
browser while offline, page changes without a round trip, and the countdown.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from elearn.core.access import Access, access
from elearn.core.clock import utcnow
from elearn.core.database import writes
from elearn.core.forms import ConfirmForm
from elearn.core.services import ServiceError
from elearn.courses import services as courses
from elearn.courses.models import Activity, Enrolment
from elearn.extensions import db
from elearn.quiz import attempts, types

bp = Blueprint("quiz", __name__, url_prefix="/courses")


def quiz_context(course, activity, run) -> dict:
    """What the lesson page of a quiz shows: its rules, the run's attempts, what to do next."""
    quiz = attempts.quiz_of(activity)
    rules = attempts.rules_for(quiz, current_user)
    if run is not None:
        attempts.finish_overdue(activity_id=activity.id, user_id=current_user.id)
        db.session.commit()
    taken = attempts.attempts_of(activity, run)
    now = utcnow()
    current = next((a for a in taken if a.state == "in_progress"), None)
    finished = [a for a in taken if a.state == "finished"]
    reviews = {a.id: attempts.review(quiz, a, current_user, now) for a in finished}
    return {
        "quiz": quiz,
        "rules": rules,
        "attempts": taken,
        "reviews": reviews,
        "current": current,
        "why_not": None if current else attempts.why_not(quiz, rules, taken, now),
        "final": attempts.final_grade(activity, run) if run is not None else None,
        "show_final": bool(finished) and all(reviews[a.id].marks for a in finished),
        "questions": _question_count(quiz),
        "start_form": ConfirmForm(),
    }


def _question_count(quiz) -> int:
    from elearn.quiz.authoring import total_questions

    return total_questions(quiz)


def _own(slug: str, attempt_id: int) -> tuple:
    course = courses.course_for(current_user, slug)
    attempt = attempts.attempt_for(current_user, attempt_id)
    activity = db.session.get(Activity, attempt.activity_id)
    if activity.course_id != course.id:
        abort(404)
    return course, activity, attempt


@bp.route("/<slug>/quizzes/<int:activity_id>/start", methods=["POST"])
@access(Access.USER)
def start(slug: str, activity_id: int):
    """Start an attempt, or go back to the one in progress."""
    course = courses.course_for(current_user, slug)
    activity = courses.activity_in(course, activity_id)
    run = courses.current_run(current_user, course)
    if run is None or not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        attempt = attempts.start(activity, current_user, run)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("courses.lesson", slug=slug, activity_id=activity.id))
    return redirect(url_for("quiz.attempt", slug=slug, attempt_id=attempt.id, page=attempt.page))


def _pages(quiz, attempt) -> list[list[dict]]:
    """The attempt's questions by page, each with what the template needs."""
    pages: list[list[dict]] = []
    number = 0
    for row in attempts.answers_of(attempt):
        question, response = attempts.question_of(row), attempts.response_of(row)
        if question.type != "description":
            number += 1
        seed = f"{attempt.id}:{row.slot}"
        shown = (
            types.order(question, seed)
            if quiz.shuffle_answers or question.type == "matching"
            else types.REGISTRY[question.type].choices(question)
        )
        while len(pages) <= row.page:
            pages.append([])
        pages[row.page].append(
            {
                "row": row,
                "q": question,
                "html": attempts.html_of(row),
                "shown": shown,
                "number": number if question.type != "description" else None,
                "response": response,
                "answered": attempts.is_answered(question, response),
            }
        )
    return pages


@bp.route("/<slug>/attempts/<int:attempt_id>")
@access(Access.USER)
@writes
def attempt(slug: str, attempt_id: int):
    """The attempt's questions, all pages in one document (one shown at a time)."""
    course, activity, attempt = _own(slug, attempt_id)
    if not attempts.accepting(attempt):
        if attempt.state == "in_progress":
            attempts.finish(attempt, by="deadline")
            db.session.commit()
        return redirect(url_for("quiz.review", slug=slug, attempt_id=attempt.id))
    quiz = attempts.quiz_of(activity)
    pages = _pages(quiz, attempt)
    first = attempt.page if quiz.navigation == "sequential" else 0
    current = min(max(request.args.get("page", 0, type=int), first), len(pages) - 1)
    if quiz.navigation == "sequential":
        current = attempt.page
    return render_template(
        "quiz/attempt.html",
        course=course,
        activity=activity,
        quiz=quiz,
        attempt=attempt,
        pages=pages,
        first=first,
        current=current,
        left=attempts.seconds_left(attempt),
        seq=attempts.latest_seq(attempt),
        form=ConfirmForm(),
    )


def _form_answers() -> dict[int, tuple[None, list]]:
    """The answers of a plain form post: every question rendered on the form."""
    fields = list(request.form.items(multi=True))
    slots = {int(s) for s in request.form.getlist("slots") if s.isdigit()}
    return dict.fromkeys(slots, (None, fields))


def _json_answers(payload) -> dict[int, tuple[int, list]]:
    answers = payload.get("answers") if isinstance(payload, dict) else None
    if not isinstance(answers, dict) or len(answers) > 500:
        raise ValueError("answers")
    parsed = {}
    for slot, entry in answers.items():
        seq, fields = entry.get("seq"), entry.get("fields")
        if not isinstance(seq, int) or isinstance(seq, bool) or not 0 < seq < 2**31:
            raise ValueError("seq")
        if not isinstance(fields, list) or len(fields) > 200:
            raise ValueError("fields")
        pairs = []
        for item in fields:
            if not (
                isinstance(item, list) and len(item) == 2 and all(isinstance(v, str) for v in item)
            ):
                raise ValueError("field")
            pairs.append((item[0], item[1]))
        parsed[int(slot)] = (seq, pairs)
    return parsed


@bp.route("/<slug>/attempts/<int:attempt_id>/save", methods=["POST"])
@access(Access.USER)
def save(slug: str, attempt_id: int):
    """Save answers: JSON from quiz.js (one or many questions), or the whole form."""
    course, activity, attempt = _own(slug, attempt_id)
    as_json = request.is_json
    review_url = url_for("quiz.review", slug=slug, attempt_id=attempt.id)
    try:
        if as_json:
            payload = request.get_json(silent=True)
            answers = _json_answers(payload)
            page = payload.get("page")
            page = page if isinstance(page, int) and not isinstance(page, bool) else None
        else:
            if not ConfirmForm().validate_on_submit():
                abort(400)
            answers = _form_answers()
            goto = request.form.get("goto", "")
            page = int(goto) if goto.isdigit() else None
    except (ValueError, TypeError, AttributeError):
        return jsonify(error=_("The answers could not be read.")), 400
    try:
        kept = attempts.save(attempt, answers, page)
        db.session.commit()
    except attempts.AttemptClosed as exc:
        db.session.rollback()
        if attempt.state == "in_progress":
            attempts.finish_overdue(activity_id=activity.id, user_id=current_user.id)
            db.session.commit()
        if as_json:
            return jsonify(closed=True, error=str(exc), review=review_url), 409
        flash(str(exc), "error")
        return redirect(review_url)
    except ServiceError as exc:
        db.session.rollback()
        if as_json:
            return jsonify(error=str(exc)), 400
        flash(str(exc), "error")
        return redirect(url_for("quiz.attempt", slug=slug, attempt_id=attempt.id))
    if as_json:
        return jsonify(
            saved={str(slot): ok for slot, ok in kept.items()},
            left=attempts.seconds_left(attempt),
        )
    goto = request.form.get("goto", "")
    if goto == "summary":
        return redirect(url_for("quiz.summary", slug=slug, attempt_id=attempt.id))
    return redirect(url_for("quiz.attempt", slug=slug, attempt_id=attempt.id, page=attempt.page))


@bp.route("/<slug>/attempts/<int:attempt_id>/summary")
@access(Access.USER)
def summary(slug: str, attempt_id: int):
    """Which questions are answered and which are not, before submitting."""
    course, activity, attempt = _own(slug, attempt_id)
    if not attempts.accepting(attempt):
        return redirect(url_for("quiz.attempt", slug=slug, attempt_id=attempt.id))
    quiz = attempts.quiz_of(activity)
    pages = _pages(quiz, attempt)
    items = [item for page in pages for item in page if item["number"]]
    return render_template(
        "quiz/summary.html",
        course=course,
        activity=activity,
        quiz=quiz,
        attempt=attempt,
        items=items,
        unanswered=[item for item in items if not item["answered"]],
        left=attempts.seconds_left(attempt),
        form=ConfirmForm(),
    )


@bp.route("/<slug>/attempts/<int:attempt_id>/submit", methods=["POST"])
@access(Access.USER)
def submit(slug: str, attempt_id: int):
    """Finish and grade the attempt; a second submit finds it finished and grades nothing."""
    course, activity, attempt = _own(slug, attempt_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    run = db.session.get(Enrolment, attempt.enrolment_id)
    run_was_complete = run.status == "completed"
    by = "learner" if attempts.accepting(attempt) else "deadline"
    if attempts.finish(attempt, by=by):
        db.session.commit()
        if not run_was_complete and run.status == "completed":
            flash(_("Congratulations! You have completed the course."), "success")
        else:
            flash(_("Your attempt is submitted."), "success")
    else:
        db.session.rollback()
    return redirect(url_for("quiz.review", slug=slug, attempt_id=attempt.id))


@bp.route("/<slug>/attempts/<int:attempt_id>/review")
@access(Access.USER)
@writes
def review(slug: str, attempt_id: int):
    """A finished attempt, showing what the quiz's review options allow."""
    course, activity, attempt = _own(slug, attempt_id)
    if attempt.state == "in_progress":
        if attempts.accepting(attempt):
            return redirect(url_for("quiz.attempt", slug=slug, attempt_id=attempt.id))
        attempts.finish(attempt, by="deadline")
        db.session.commit()
    quiz = attempts.quiz_of(activity)
    shows = attempts.review(quiz, attempt, current_user)
    pages = _pages(quiz, attempt)
    items = [item for page in pages for item in page]
    for item in items:
        q, response = item["q"], item["response"]
        item["feedback"] = attempts.feedback_for(q, response) if shows.feedback else ""
        item["general"] = q.general_feedback if shows.feedback else ""
        item["right"] = attempts.right_answer(q) if shows.correct else ""
        item["comment"] = item["row"].comment if shows.feedback else ""
    return render_template(
        "quiz/review.html",
        course=course,
        activity=activity,
        quiz=quiz,
        attempt=attempt,
        items=items,
        shows=shows,
        time_taken=attempts.time_taken(attempt),
        passed=attempts.passed(quiz, attempt.grade) if quiz.pass_mark is not None else None,
        course_done=db.session.get(Enrolment, attempt.enrolment_id).status == "completed",
    )
