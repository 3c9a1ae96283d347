"""Quiz attempts: starting, saving every answer, finishing once, grading on the server.

Rules that hold whatever the browser sends:

- an answer is accepted only while the attempt is in progress and before its deadline
  plus ``QUIZ_GRACE_SECONDS``; the worker's sweep (``finish_overdue``, run every minute)
  finishes attempts past it with the answers saved so far, timed at the deadline;
- ``finish`` claims the attempt with one atomic UPDATE, so two submits grade it once;
- grading uses the question as the attempt showed it (a snapshot), and only the server
  holds fractions and accepted answers; ``review`` says what a learner may see, and
  the pages show nothing more;
- each save carries the browser's counter ``seq``: an older save never replaces a newer
  one (answers queued offline may arrive late or twice).
"""

from __future__ import annotations

import json
import logging
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from elearn.accounts.models import User
from elearn.core.clock import utcnow
from elearn.core.services import NotFound, ServiceError
from elearn.courses import services as courses
from elearn.courses.models import Activity, Enrolment
from elearn.extensions import db
from elearn.jobs import services as jobs
from elearn.progress import services as progress
from elearn.quiz import data as qdata
from elearn.quiz import types
from elearn.quiz.models import (
    Attempt,
    AttemptAnswer,
    Question,
    Quiz,
    QuizOverride,
    QuizSlot,
)

log = logging.getLogger(__name__)

#: Largest saved response, as JSON characters (an essay of a few thousand words).
MAX_RESPONSE_CHARS = 20_000


class AttemptClosed(ServiceError):
    """The attempt no longer takes answers (finished, or past its deadline)."""


@dataclass(frozen=True)
class Rules:
    """A quiz's limits for one learner, with their overrides applied."""

    open_at: datetime | None
    close_at: datetime | None
    time_limit: int | None
    attempts: int  # 0: unlimited


@dataclass(frozen=True)
class Review:
    """What a learner may see of a finished attempt."""

    marks: bool
    correct: bool
    feedback: bool


def quiz_of(activity: Activity) -> Quiz:
    """Return the settings of a quiz activity, else raise NotFound."""
    quiz = db.session.get(Quiz, activity.id) if activity.type == "quiz" else None
    if quiz is None:
        raise NotFound(_l("This lesson is not a quiz."))
    return quiz


def override_for(quiz: Quiz, user: User) -> QuizOverride | None:
    """Return the override that applies to ``user`` (their own, else their units' best)."""
    own = db.session.scalar(
        select(QuizOverride)
        .where(QuizOverride.activity_id == quiz.activity_id, QuizOverride.user_id == user.id)
        .order_by(QuizOverride.id.desc())
    )
    if own is not None:
        return own
    units = courses.ancestor_ids(user.unit) if user.unit is not None else []
    if not units:
        return None
    found = list(
        db.session.scalars(
            select(QuizOverride).where(
                QuizOverride.activity_id == quiz.activity_id, QuizOverride.unit_id.in_(units)
            )
        )
    )
    if not found:
        return None
    closes = [o.close_at for o in found if o.close_at is not None]
    return QuizOverride(
        activity_id=quiz.activity_id,
        extra_minutes=max(o.extra_minutes for o in found),
        extra_attempts=max(o.extra_attempts for o in found),
        close_at=max(closes) if closes else None,
    )


def rules_for(quiz: Quiz, user: User) -> Rules:
    """Return the quiz's open and close times, time limit and attempts for ``user``."""
    found = override_for(quiz, user)
    close_at, time_limit, attempts = quiz.close_at, quiz.time_limit, quiz.attempts
    if found is not None:
        if found.close_at is not None and (close_at is None or found.close_at > close_at):
            close_at = found.close_at
        if time_limit and found.extra_minutes:
            time_limit += found.extra_minutes * 60
        if attempts and found.extra_attempts:
            attempts += found.extra_attempts
    return Rules(quiz.open_at, close_at, time_limit, attempts)


def attempts_of(activity: Activity, run: Enrolment | None) -> list[Attempt]:
    """Return a run's attempts at a quiz, oldest first."""
    if run is None:
        return []
    return list(
        db.session.scalars(
            select(Attempt)
            .where(Attempt.activity_id == activity.id, Attempt.enrolment_id == run.id)
            .order_by(Attempt.number)
        )
    )


def attempts_of_user(user_id: int) -> list[tuple[Attempt, Activity]]:
    """Return every attempt a person made, with its quiz, oldest first (their personal data)."""
    return [
        (attempt, activity)
        for attempt, activity in db.session.execute(
            select(Attempt, Activity)
            .join(Activity, Activity.id == Attempt.activity_id)
            .where(Attempt.user_id == user_id)
            .order_by(Attempt.started_at, Attempt.id)
        )
    ]


def why_not(quiz: Quiz, rules: Rules, attempts: list[Attempt], now: datetime) -> str | None:
    """Return why a new attempt cannot start now, or None if it can."""
    if rules.open_at and now < rules.open_at:
        return str(_l("The quiz is not open yet."))
    if rules.close_at and now >= rules.close_at:
        return str(_l("The quiz is closed."))
    if rules.attempts and len(attempts) >= rules.attempts:
        return str(_l("You have used all your attempts."))
    if not db.session.scalar(
        select(func.count()).select_from(QuizSlot).where(QuizSlot.activity_id == quiz.activity_id)
    ):
        return str(_l("The quiz has no questions yet."))
    return None


def _layout(quiz: Quiz, seed: int) -> list[tuple[Question, float]]:
    """Draw the attempt's questions: fixed slots as they are, random slots from categories."""
    rng = random.Random(seed)  # noqa: S311 - an order, not a secret
    chosen: list[tuple[Question, float]] = []
    used: set[int] = set()
    slots = db.session.scalars(
        select(QuizSlot)
        .where(QuizSlot.activity_id == quiz.activity_id)
        .order_by(QuizSlot.position, QuizSlot.id)
    )
    for slot in slots:
        if slot.question_id is not None:
            question = db.session.get(Question, slot.question_id)
            if question is not None and not question.archived and question.id not in used:
                chosen.append((question, slot.mark))
                used.add(question.id)
            continue
        pool = [
            q
            for q in db.session.scalars(
                select(Question)
                .where(
                    Question.category_id == slot.category_id,
                    Question.archived.is_(False),
                    Question.type != "description",
                )
                .order_by(Question.id)
            )
            if q.id not in used
        ]
        for question in rng.sample(pool, min(slot.count, len(pool))):
            chosen.append((question, slot.mark))
            used.add(question.id)
    if quiz.shuffle_questions:
        rng.shuffle(chosen)
    return chosen


def snapshot(question: Question) -> str:
    """The question as an attempt keeps it: its JSON and sanitised HTML."""
    from elearn.quiz.services import as_data

    return json.dumps({**as_data(question).to_json(), "html": question.html}, ensure_ascii=False)


def start(activity: Activity, user: User, run: Enrolment) -> Attempt:
    """Return the run's attempt in progress, or start a new one if the rules allow.

    Two starts at once make one attempt (the unique attempt number decides).
    """
    quiz = quiz_of(activity)
    if run.user_id != user.id or run.course_id != activity.course_id:
        raise NotFound(_l("Attempt not found."))
    existing = attempts_of(activity, run)
    for attempt in existing:
        if attempt.state == "in_progress" and accepting(attempt):
            return attempt
    finish_overdue(activity_id=activity.id, user_id=user.id)
    now = utcnow()
    rules = rules_for(quiz, user)
    reason = why_not(quiz, rules, attempts_of(activity, run), now)
    if reason:
        raise ServiceError(reason)
    seed = secrets.randbelow(2**31)
    layout = _layout(quiz, seed)
    if not layout:
        raise ServiceError(_l("The quiz has no questions yet."))
    deadlines = [d for d in (rules.close_at,) if d]
    if rules.time_limit:
        deadlines.append(now + timedelta(seconds=rules.time_limit))
    number = (
        db.session.scalar(
            select(func.coalesce(func.max(Attempt.number), 0)).where(
                Attempt.activity_id == activity.id, Attempt.user_id == user.id
            )
        )
        + 1
    )
    attempt = Attempt(
        activity_id=activity.id,
        user_id=user.id,
        enrolment_id=run.id,
        number=number,
        started_at=now,
        deadline_at=min(deadlines) if deadlines else None,
    )
    per_page = quiz.per_page or len(layout)
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
            db.session.flush()
            numbered = 0
            for slot, (question, mark) in enumerate(layout):
                if question.type != "description":
                    numbered += 1
                db.session.add(
                    AttemptAnswer(
                        attempt_id=attempt.id,
                        slot=slot,
                        page=slot // per_page,
                        question_id=question.id,
                        question=snapshot(question),
                        mark=mark if question.type != "description" else 0.0,
                    )
                )
            db.session.flush()
    except IntegrityError:
        # Someone else (another tab) started this number a moment ago: use theirs.
        for attempt in attempts_of(activity, run):
            if attempt.state == "in_progress":
                return attempt
        raise
    progress.record(run, activity, "viewed")
    log.info("attempt %s: user %s started quiz %s", attempt.id, user.id, activity.id)
    return attempt


def attempt_for(user: User, attempt_id: int) -> Attempt:
    """Return one of ``user``'s own attempts, else raise NotFound."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != user.id:
        raise NotFound(_l("Attempt not found."))
    return attempt


def answers_of(attempt: Attempt) -> list[AttemptAnswer]:
    """Return an attempt's questions in the order shown."""
    return list(
        db.session.scalars(
            select(AttemptAnswer)
            .where(AttemptAnswer.attempt_id == attempt.id)
            .order_by(AttemptAnswer.slot)
        )
    )


def question_of(answer: AttemptAnswer) -> qdata.QuestionData:
    """Return the question as the attempt showed it."""
    return qdata.from_json(json.loads(answer.question))


def html_of(answer: AttemptAnswer) -> str:
    """Return the question's sanitised text as the attempt showed it."""
    return json.loads(answer.question).get("html", "")


def response_of(answer: AttemptAnswer):
    """Return the saved response (None if unanswered)."""
    return json.loads(answer.response) if answer.response else None


def grace() -> timedelta:
    """How long after a deadline answers still count (network delays)."""
    return timedelta(seconds=current_app.config["QUIZ_GRACE_SECONDS"])


def accepting(attempt: Attempt, now: datetime | None = None) -> bool:
    """Whether the attempt still takes answers."""
    if attempt.state != "in_progress":
        return False
    return attempt.deadline_at is None or (now or utcnow()) <= attempt.deadline_at + grace()


def seconds_left(attempt: Attempt, now: datetime | None = None) -> int | None:
    """Seconds until the deadline (None without one; 0 once passed)."""
    if attempt.deadline_at is None:
        return None
    return max(0, int((attempt.deadline_at - (now or utcnow())).total_seconds()))


def page_count(answers: list[AttemptAnswer]) -> int:
    """Number of pages of an attempt."""
    return max((a.page for a in answers), default=0) + 1


# --- responses ---------------------------------------------------------------------------


def response_from_fields(question: qdata.QuestionData, name: str, fields: list) -> object:
    """Turn the form fields of one question (``[(name, value), ...]``) into a response.

    ``name`` is the question's field name (``q<slot>``); matching questions use
    ``q<slot>-<pair>``. Values that do not fit the type are dropped.
    """
    values = [str(value) for field_name, value in fields if field_name == name]
    kind = question.type
    if kind == "multichoice":
        return _choice(values[-1], len(question.answers)) if values else None
    if kind == "multiresponse":
        picked = {_choice(v, len(question.answers)) for v in values}
        return sorted(i for i in picked if i is not None)
    if kind == "truefalse":
        value = values[-1] if values else ""
        return {"true": True, "false": False}.get(value)
    if kind == "essay":
        return values[-1] if values else ""  # never cut: too long is refused whole
    if kind in ("shortanswer", "numerical"):
        return values[-1][: types.MAX_TYPED] if values else ""
    if kind == "matching":
        allowed = set(types.REGISTRY["matching"].choices(question))
        chosen = {}
        for field_name, value in fields:
            prefix, _, index = str(field_name).rpartition("-")
            if (
                prefix == name
                and index.isdigit()
                and int(index) < len(question.pairs)
                and str(value) in allowed
            ):
                chosen[index] = str(value)
        return chosen
    return None


def _choice(value: str, count: int) -> int | None:
    try:
        index = int(value)
    except (TypeError, ValueError):
        return None
    return index if 0 <= index < count else None


def is_answered(question: qdata.QuestionData, response) -> bool:
    """Whether ``response`` answers ``question`` (a description needs no answer)."""
    if question.type == "description":
        return True
    if response in (None, "", [], {}):
        return False
    if isinstance(response, str):
        return bool(response.strip())
    return True


# --- saving ------------------------------------------------------------------------------


def _lock(attempt: Attempt) -> Attempt:
    return db.session.scalar(
        select(Attempt)
        .where(Attempt.id == attempt.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def save(
    attempt: Attempt, answers: dict[int, tuple[int | None, list]], page: int | None = None
) -> dict[int, bool]:
    """Save the learner's answers: ``{slot: (seq, [(field name, value), ...])}``.

    ``seq`` is the browser's counter for that question (None: a plain form post, which
    counts as newer than anything saved). Returns ``{slot: kept}``: False when a newer
    save already holds that question, or (sequential navigation) its page was left
    behind. ``page`` is where the learner now is. Raises AttemptClosed after the
    deadline and its grace, or once the attempt is finished.
    """
    attempt = _lock(attempt)
    now = utcnow()
    if not accepting(attempt, now):
        raise AttemptClosed(_l("Time is up: this attempt no longer takes answers."))
    quiz = db.session.get(Quiz, attempt.activity_id)
    rows = {a.slot: a for a in answers_of(attempt)}
    newest = max((a.seq for a in rows.values()), default=0)
    kept: dict[int, bool] = {}
    for slot, (seq, fields) in answers.items():
        row = rows.get(slot)
        if row is None:
            raise ServiceError(_l("This question is not part of the attempt."))
        seq = newest + 1 if seq is None else seq
        if (quiz.navigation == "sequential" and row.page < attempt.page) or seq <= row.seq:
            kept[slot] = False
            continue
        response = response_from_fields(question_of(row), f"q{slot}", fields)
        encoded = json.dumps(response, ensure_ascii=False)
        if len(encoded) > MAX_RESPONSE_CHARS:
            raise ServiceError(_l("This answer is too long."))
        row.response, row.seq, row.saved_at = encoded, seq, now
        kept[slot] = True
    if page is not None:
        last = max((a.page for a in rows.values()), default=0)
        page = max(0, min(page, last))
        attempt.page = max(attempt.page, page) if quiz.navigation == "sequential" else page
    return kept


def latest_seq(attempt: Attempt) -> int:
    """The highest save counter of an attempt (the browser counts on from it)."""
    return db.session.scalar(
        select(func.coalesce(func.max(AttemptAnswer.seq), 0)).where(
            AttemptAnswer.attempt_id == attempt.id
        )
    )


# --- finishing and grading -----------------------------------------------------------------


def finish(attempt: Attempt, by: str = "learner") -> bool:
    """Finish and grade an attempt; return False if another request already did.

    The claim is one UPDATE from ``in_progress`` to ``finishing``, so of two submits
    at once exactly one grades. An attempt finished by the deadline sweep is timed at
    its deadline.
    """
    claimed = db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.state == "in_progress")
        .values(state="finishing")
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return False
    db.session.refresh(attempt)
    now = utcnow()
    if by == "deadline" and attempt.deadline_at is not None:
        now = min(now, attempt.deadline_at)
    attempt.finished_at, attempt.finished_by = now, by
    grade_attempt(attempt)
    attempt.state = "finished"
    db.session.flush()
    update_progress(attempt, actor_id=None if by == "deadline" else attempt.user_id)
    log.info("attempt %s finished by %s: grade %s", attempt.id, by, attempt.grade)
    return True


def grade_attempt(attempt: Attempt) -> None:
    """Grade every question of an attempt (a person's grade is kept) and total the marks."""
    marks = maximum = 0.0
    waiting = False
    for row in answers_of(attempt):
        question = question_of(row)
        if not types.REGISTRY[question.type].graded:
            row.fraction, row.state = None, "ungraded"
            continue
        maximum += row.mark
        if row.graded_by is not None and row.fraction is not None:
            marks += row.fraction * row.mark
            continue
        result = types.grade(question, response_of(row))
        row.fraction, row.state = result.fraction, result.state
        if result.fraction is None:
            waiting = True
        else:
            marks += result.fraction * row.mark
    attempt.marks, attempt.max_marks, attempt.needs_grading = marks, maximum, waiting
    attempt.grade = None if waiting else (marks / maximum if maximum else 0.0)


def final_grade(activity: Activity, run: Enrolment) -> float | None:
    """The run's grade for a quiz by its grading method (None before a graded attempt)."""
    quiz = quiz_of(activity)
    grades = [
        a.grade for a in attempts_of(activity, run) if a.state == "finished" and a.grade is not None
    ]
    return types.final_grade(quiz.grading, grades)


def passed(quiz: Quiz, grade: float | None) -> bool:
    """Whether a grade reaches the quiz's pass mark (no pass mark: any finished grade)."""
    if grade is None:
        return False
    return quiz.pass_mark is None or grade >= quiz.pass_mark - 1e-9


def update_progress(attempt: Attempt, *, actor_id: int | None = None, reason: str = "") -> None:
    """Give the progress service the run's final grade and time after an attempt changed.

    ``actor_id``: who caused the change (default the learner; the instructor who graded
    by hand or regraded; None for the deadline sweep).
    """
    activity = db.session.get(Activity, attempt.activity_id)
    run = db.session.get(Enrolment, attempt.enrolment_id)
    quiz = quiz_of(activity)
    grade = final_grade(activity, run)
    progress.record_quiz(
        run,
        activity,
        grade,
        passed=passed(quiz, grade),
        attempted=True,
        time_spent=time_spent(activity, run),
        actor_id=actor_id,
        reason=reason,
    )


def time_spent(activity: Activity, run: Enrolment) -> int:
    """Seconds the run spent in the quiz's finished attempts (each up to its deadline)."""
    total = 0.0
    for attempt in attempts_of(activity, run):
        if attempt.state != "finished" or attempt.finished_at is None:
            continue
        end = attempt.finished_at
        if attempt.deadline_at is not None:
            end = min(end, attempt.deadline_at)
        total += max(0.0, (end - attempt.started_at).total_seconds())
    return int(total)


def _passed_rule(activity: Activity, row) -> bool:
    return row.grade is not None and passed(quiz_of(activity), row.grade)


def _attempted_rule(activity: Activity, row) -> bool:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(
                Attempt.activity_id == activity.id,
                Attempt.enrolment_id == row.enrolment_id,
                Attempt.state == "finished",
            )
        )
        > 0
    )


progress.register_rule("passed", _passed_rule)
progress.register_rule("attempted", _attempted_rule)


def finish_overdue(activity_id: int | None = None, user_id: int | None = None) -> int:
    """Finish every attempt past its deadline and grace; return how many (the caller commits).

    Run by the worker every minute, so an attempt ends at its deadline even when no
    one opens it again.
    """
    cutoff = utcnow() - grace()
    query = select(Attempt).where(Attempt.state == "in_progress", Attempt.deadline_at < cutoff)
    if activity_id is not None:
        query = query.where(Attempt.activity_id == activity_id)
    if user_id is not None:
        query = query.where(Attempt.user_id == user_id)
    done = 0
    for attempt in db.session.scalars(query.order_by(Attempt.id).limit(500)).all():
        if finish(attempt, by="deadline"):
            done += 1
    return done


def _sweep() -> None:
    if finish_overdue():
        db.session.commit()


jobs.MAINTENANCE.append(_sweep)


# --- review --------------------------------------------------------------------------------


def _allowed(when: str, quiz: Quiz, rules: Rules, now: datetime) -> bool:
    if when == "after":
        return True
    if when == "closed":
        return rules.close_at is not None and now >= rules.close_at
    return False


def review(quiz: Quiz, attempt: Attempt, user: User, now: datetime | None = None) -> Review:
    """What the learner may see of ``attempt`` now (nothing while it is in progress)."""
    if attempt.state != "finished":
        return Review(False, False, False)
    now = now or utcnow()
    rules = rules_for(quiz, user)
    return Review(
        marks=_allowed(quiz.review_marks, quiz, rules, now),
        correct=_allowed(quiz.review_correct, quiz, rules, now),
        feedback=_allowed(quiz.review_feedback, quiz, rules, now),
    )


def feedback_for(question: qdata.QuestionData, response) -> str:
    """The feedback for the answer given (per answer), without the general feedback."""
    if not types.REGISTRY[question.type].graded or response is None:
        return ""
    return types.grade(question, response).feedback


def right_answer(question: qdata.QuestionData) -> str:
    """A readable statement of the right answer (for a review that shows it)."""
    kind = question.type
    if kind in ("multichoice", "shortanswer"):
        best = max(question.answers, key=lambda a: a.fraction, default=None)
        return best.text if best else ""
    if kind == "multiresponse":
        return "; ".join(a.text for a in question.answers if a.fraction > 0)
    if kind == "truefalse":
        return str(_l("True")) if question.correct else str(_l("False"))
    if kind == "numerical":
        best = max(question.numerical, key=lambda a: a.fraction, default=None)
        if best is None:
            return ""
        if best.is_range:
            return f"{best.minimum:g} – {best.maximum:g}"
        return f"{best.value:g}" + (f" ± {best.tolerance:g}" if best.tolerance else "")
    if kind == "matching":
        return "; ".join(f"{left} → {right}" for left, right in question.pairs)
    return ""


def time_taken(attempt: Attempt) -> int | None:
    """Seconds from start to finish (None while in progress)."""
    if attempt.finished_at is None:
        return None
    return max(0, int((attempt.finished_at - attempt.started_at).total_seconds()))
