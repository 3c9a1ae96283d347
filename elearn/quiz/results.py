"""Quiz results for instructors: results, attempts, grading by hand, regrading, statistics.

Also the CSV of results. Regrading follows a correction of a question in the bank.

Item statistics
---------------
``compute_statistics`` reads each learner's **first** finished, fully graded attempt
(Moodle's default choice for item analysis): later attempts are taken after seeing the
review, so they measure memory of the answers rather than the question. Per question
(by ``question_id``, so a question drawn by a random slot counts wherever it appeared):

- ``attempts``: how many of those attempts held the question;
- ``facility``: the mean fraction scored × 100 (100: everyone got it right);
- ``discrimination``: 100 × the Pearson correlation between the marks scored on the
  question and the marks scored on the rest of the same attempt (Moodle's
  discrimination index); None when undefined (fewer than two attempts, or no spread
  in either series);
- ``answers`` (multichoice, multiresponse, truefalse): how often each choice was picked,
  in stored order; ``responses`` (other types): the five most common responses;
  ``unanswered``: how many left it blank.

The result is stored as JSON in ``QuizStatistics.data`` with ``schema_version`` 1::

    {"schema_version": 1, "included": "first",
     "questions": [{"question_id", "name", "type", "text", "slot", "mark", "attempts",
                    "facility", "discrimination", "unanswered",
                    "answers": [{"text", "fraction", "count"}] | null,
                    "responses": [{"text", "count"}] | null}]}
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select

from elearn.accounts.models import OrgUnit, User
from elearn.core.clock import utcnow
from elearn.core.services import AUDIT_LABELS, NotFound, ServiceError, record_audit
from elearn.courses.models import Activity, Enrolment
from elearn.extensions import db
from elearn.jobs import services as jobs
from elearn.jobs.models import Job
from elearn.quiz import attempts, types
from elearn.quiz import data as qdata
from elearn.quiz.models import Attempt, AttemptAnswer, Question, Quiz, QuizStatistics

log = logging.getLogger(__name__)

STATISTICS_VERSION = 1
#: Choice types whose statistics count each choice; the others list common responses.
CHOICE_TYPES = ("multichoice", "multiresponse", "truefalse")
TOP_RESPONSES = 5


# --- results per learner ---------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptSummary:
    """One attempt as the results table shows it."""

    id: int
    number: int
    #: The enrolment run (1 for a first take of the course, 2 for a refresher, ...).
    run: int
    state: str
    grade: float | None
    needs_grading: bool
    #: Seconds from start to finish (None while in progress).
    seconds: int | None


@dataclass(frozen=True)
class LearnerResult:
    """One learner's results at a quiz.

    ``grade`` is the final grade of their latest run by the quiz's grading method and
    ``seconds`` the time of the attempt it comes from (for ``average``, the latest
    graded attempt). ``best`` is their best grade over every run. ``state`` is
    ``in_progress`` (no graded attempt yet), ``needs_grading`` (an essay waits),
    ``passed`` or ``failed``.
    """

    user_id: int
    full_name: str
    username: str
    unit_name: str
    attempts: tuple[AttemptSummary, ...]
    grade: float | None
    best: float | None
    passed: bool
    seconds: int | None
    state: str

    @property
    def count(self) -> int:
        """How many attempts the learner made (every run)."""
        return len(self.attempts)


def _graded_attempt(method: str, graded: list[AttemptSummary]) -> AttemptSummary | None:
    """The attempt a final grade comes from (average: the latest)."""
    if not graded:
        return None
    if method == "highest":
        best = max(a.grade for a in graded)
        return next(a for a in graded if a.grade == best)
    return graded[0] if method == "first" else graded[-1]


def results_of(activity: Activity) -> list[LearnerResult]:
    """Return one row per learner who attempted the quiz, by name (one query)."""
    quiz = attempts.quiz_of(activity)
    rows = db.session.execute(
        select(Attempt, User.full_name, User.username, OrgUnit.name, Enrolment.run)
        .join(User, User.id == Attempt.user_id)
        .join(Enrolment, Enrolment.id == Attempt.enrolment_id)
        .outerjoin(OrgUnit, OrgUnit.id == User.unit_id)
        .where(Attempt.activity_id == activity.id)
        .order_by(User.name_sort, User.id, Enrolment.run, Attempt.number)
    ).all()
    people: dict[int, tuple] = {}
    summaries: dict[int, list[AttemptSummary]] = defaultdict(list)
    for attempt, full_name, username, unit_name, run in rows:
        people.setdefault(attempt.user_id, (full_name, username, unit_name or ""))
        summaries[attempt.user_id].append(
            AttemptSummary(
                id=attempt.id,
                number=attempt.number,
                run=run,
                state=attempt.state,
                grade=attempt.grade,
                needs_grading=attempt.needs_grading,
                seconds=attempts.time_taken(attempt),
            )
        )
    results = []
    for user_id, (full_name, username, unit_name) in people.items():
        mine = summaries[user_id]
        latest = [a for a in mine if a.run == mine[-1].run]
        graded = [a for a in latest if a.state == "finished" and a.grade is not None]
        grade = types.final_grade(quiz.grading, [a.grade for a in graded])
        every = [a.grade for a in mine if a.state == "finished" and a.grade is not None]
        passed = attempts.passed(quiz, grade)
        if any(a.state == "finished" and a.needs_grading for a in latest):
            state = "needs_grading"
        elif grade is None:
            state = "in_progress"
        else:
            state = "passed" if passed else "failed"
        source = _graded_attempt(quiz.grading, graded)
        results.append(
            LearnerResult(
                user_id=user_id,
                full_name=full_name,
                username=username,
                unit_name=unit_name,
                attempts=tuple(mine),
                grade=grade,
                best=max(every) if every else None,
                passed=passed,
                seconds=source.seconds if source else None,
                state=state,
            )
        )
    return results


# --- one attempt -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerReview:
    """Everything about one question of an attempt, for staff."""

    row: AttemptAnswer
    question: qdata.QuestionData
    html: str
    response: object
    response_text: str
    right_answer: str
    feedback: str
    graded: bool
    #: Marks scored (None: waiting for a person, or not graded).
    marks: float | None


def attempt_in(activity: Activity, attempt_id: int) -> Attempt:
    """Return an attempt at ``activity`` (staff only: the caller checked), else NotFound."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.activity_id != activity.id:
        raise NotFound(_l("Attempt not found."))
    return attempt


def answer_in(attempt: Attempt, slot: int) -> AttemptAnswer:
    """Return the question at ``slot`` of an attempt, else NotFound."""
    answer = db.session.scalar(
        select(AttemptAnswer).where(
            AttemptAnswer.attempt_id == attempt.id, AttemptAnswer.slot == slot
        )
    )
    if answer is None:
        raise NotFound(_l("Question not found."))
    return answer


def response_text(question: qdata.QuestionData, response) -> str:
    """A readable statement of a response ("" when unanswered)."""
    if response in (None, "", [], {}):
        return ""
    kind = question.type
    if kind == "multichoice":
        index = response if isinstance(response, int) else None
        if index is not None and 0 <= index < len(question.answers):
            return question.answers[index].text
        return str(response)
    if kind == "multiresponse" and isinstance(response, list):
        return "; ".join(
            question.answers[i].text
            for i in response
            if isinstance(i, int) and 0 <= i < len(question.answers)
        )
    if kind == "truefalse":
        return str(_l("True")) if response is True else str(_l("False"))
    if kind == "matching" and isinstance(response, dict):
        parts = []
        for index, (left, _right) in enumerate(question.pairs):
            chosen = response.get(str(index), response.get(index))
            parts.append(f"{left} → {chosen or '—'}")
        return "; ".join(parts)
    return str(response)


def review_of(attempt: Attempt) -> list[AnswerReview]:
    """Return every question of an attempt with response, right answer, feedback and marks."""
    found = []
    for row in attempts.answers_of(attempt):
        question = attempts.question_of(row)
        response = attempts.response_of(row)
        graded = types.REGISTRY[question.type].graded
        found.append(
            AnswerReview(
                row=row,
                question=question,
                html=attempts.html_of(row),
                response=response,
                response_text=response_text(question, response),
                right_answer=attempts.right_answer(question),
                feedback=attempts.feedback_for(question, response),
                graded=graded,
                marks=row.fraction * row.mark if graded and row.fraction is not None else None,
            )
        )
    return found


# --- grading by hand ---------------------------------------------------------------------


def fraction_for(answer: AttemptAnswer, marks: float | None) -> float:
    """Turn marks typed by a person (0 to the question's mark) into a fraction."""
    if marks is None or not answer.mark or not 0 <= marks <= answer.mark + 1e-9:
        raise ServiceError(_l("Give from 0 to %(mark)s marks.", mark=f"{answer.mark:g}"), "marks")
    return min(1.0, marks / answer.mark)


def manual_grade(answer: AttemptAnswer, fraction: float, comment: str, actor: User) -> None:
    """Set a person's grade (0..1) and comment on one question, then regrade the attempt.

    The learner's progress follows when the attempt is finished. A person's grade is
    kept by later regrades.
    """
    attempt = db.session.get(Attempt, answer.attempt_id)
    if attempt.state != "finished":
        raise ServiceError(_l("The attempt is still in progress: grade it once it is finished."))
    question = attempts.question_of(answer)
    if not types.REGISTRY[question.type].graded:
        raise ServiceError(_l("This part of the quiz is not graded."))
    if fraction is None or not 0 <= fraction <= 1:
        raise ServiceError(_l("The grade must be from 0 to 100%."), "marks")
    before = answer.fraction
    answer.fraction = round(float(fraction), 7)
    answer.state = types.state_of(answer.fraction)
    answer.comment = (comment or "").strip()[:5000]
    answer.graded_by, answer.graded_at = actor.id, utcnow()
    attempts.grade_attempt(attempt)
    db.session.flush()
    attempts.update_progress(attempt, actor_id=actor.id, reason="graded by hand")
    record_audit(
        "quiz.graded",
        actor_id=actor.id,
        target_type="attempt",
        target_id=attempt.id,
        detail=f"slot {answer.slot}: {before if before is not None else '-'} → "
        f"{answer.fraction:g}; grade {attempt.grade if attempt.grade is not None else '-'}",
    )
    log.info("attempt %s slot %s graded by %s: %s", attempt.id, answer.slot, actor.id, fraction)


# --- regrading -------------------------------------------------------------------------------


def regrade(activity: Activity, actor: User | None, report=None) -> int:
    """Regrade every finished attempt with the bank's current questions; return how many.

    Each question of an attempt is replaced by the bank's current version (questions
    removed from the bank keep the attempt's copy); grades given by a person stay.
    Every run's final grade then goes to progress again. Safe to run twice.
    """
    finished = list(
        db.session.scalars(
            select(Attempt)
            .where(Attempt.activity_id == activity.id, Attempt.state == "finished")
            .order_by(Attempt.id)
        )
    )
    rows = list(
        db.session.scalars(
            select(AttemptAnswer)
            .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
            .where(Attempt.activity_id == activity.id, Attempt.state == "finished")
        )
    )
    ids = {row.question_id for row in rows}
    current = {
        q.id: attempts.snapshot(q)  # the same snapshot a new attempt would take
        for q in db.session.scalars(select(Question).where(Question.id.in_(ids)))
        if not q.archived
    }
    for row in rows:
        snapshot = current.get(row.question_id)
        if snapshot is not None and snapshot != row.question:
            row.question = snapshot
    db.session.flush()
    runs: dict[int, Attempt] = {}
    for done, attempt in enumerate(finished, start=1):
        attempts.grade_attempt(attempt)
        runs[attempt.enrolment_id] = attempt
        if report is not None and done % 200 == 0:
            report(done / (len(finished) + 1), str(_l("Regraded %(n)d attempts", n=done)))
    db.session.flush()
    for attempt in runs.values():
        attempts.update_progress(attempt, actor_id=actor.id if actor else None, reason="regraded")
    record_audit(
        "quiz.regraded",
        actor_id=actor.id if actor else None,
        target_type="activity",
        target_id=activity.id,
        detail=f"{len(finished)} attempts",
    )
    log.info("quiz %s: %s attempts regraded", activity.id, len(finished))
    return len(finished)


def start_regrade(activity: Activity, actor: User) -> Job:
    """Queue the ``quiz.regrade`` job for a quiz (commits)."""
    return jobs.start(
        "quiz.regrade", owner_id=actor.id, target_type="activity", target_id=activity.id
    )


def start_statistics(activity: Activity, actor: User) -> Job:
    """Queue the ``quiz.statistics`` job for a quiz (commits)."""
    return jobs.start(
        "quiz.statistics", owner_id=actor.id, target_type="activity", target_id=activity.id
    )


def last_job(activity: Activity, kind: str) -> Job | None:
    """The newest job of ``kind`` about a quiz."""
    return db.session.scalar(
        select(Job)
        .where(Job.kind == kind, Job.target_type == "activity", Job.target_id == activity.id)
        .order_by(Job.id.desc())
        .limit(1)
    )


# --- item statistics -----------------------------------------------------------------------


def pearson(xs: list[float], ys: list[float]) -> float | None:
    """The Pearson correlation of two series (None with fewer than 2 or no spread)."""
    n = len(xs)
    if n < 2 or n != len(ys):
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mean_x) ** 2 for x in xs)
    syy = sum((y - mean_y) ** 2 for y in ys)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return sxy / math.sqrt(sxx * syy)


def _plain(text: str, limit: int = 200) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def compute_statistics(activity: Activity) -> dict:
    """Compute the item statistics of a quiz (see the module docstring)."""
    first = (
        select(Attempt.user_id, func.min(Attempt.number).label("number"))
        .where(
            Attempt.activity_id == activity.id,
            Attempt.state == "finished",
            Attempt.grade.is_not(None),
        )
        .group_by(Attempt.user_id)
        .subquery()
    )
    chosen = dict(
        db.session.execute(
            select(Attempt.id, Attempt.marks).join(
                first,
                and_(
                    Attempt.user_id == first.c.user_id,
                    Attempt.number == first.c.number,
                    Attempt.activity_id == activity.id,
                ),
            )
        ).all()
    )
    rows = list(
        db.session.scalars(
            select(AttemptAnswer)
            .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
            .join(
                first,
                and_(Attempt.user_id == first.c.user_id, Attempt.number == first.c.number),
            )
            .where(Attempt.activity_id == activity.id)
            .order_by(AttemptAnswer.attempt_id, AttemptAnswer.slot)
        )
    )
    by_question: dict[int, list[AttemptAnswer]] = defaultdict(list)
    for row in rows:
        by_question[row.question_id].append(row)
    questions = []
    for question_id, items in by_question.items():
        shown = attempts.question_of(items[-1])
        if not types.REGISTRY[shown.type].graded:
            continue
        scored = [r for r in items if r.fraction is not None]
        fractions = [r.fraction for r in scored]
        marks = [r.fraction * r.mark for r in scored]
        rest = [(chosen[item.attempt_id] or 0.0) - m for item, m in zip(scored, marks, strict=True)]
        correlation = pearson(marks, rest)
        responses = [attempts.response_of(item) for item in items]
        entry = {
            "question_id": question_id,
            "name": shown.name,
            "type": shown.type,
            "text": _plain(shown.text),
            "slot": min(r.slot for r in items),
            "mark": items[-1].mark,
            "attempts": len(items),
            "facility": 100 * sum(fractions) / len(fractions) if fractions else None,
            "discrimination": 100 * correlation if correlation is not None else None,
            "unanswered": sum(1 for v in responses if v in (None, "", [], {})),
            "answers": None,
            "responses": None,
        }
        if shown.type in CHOICE_TYPES:
            entry["answers"] = _choice_counts(shown, responses)
        else:
            entry["responses"] = _common_responses(shown, responses)
        questions.append(entry)
    questions.sort(key=lambda q: (q["slot"], q["question_id"]))
    return {
        "schema_version": STATISTICS_VERSION,
        "included": "first",
        "attempts": len(chosen),
        "questions": questions,
    }


def _choice_counts(question: qdata.QuestionData, responses: list) -> list[dict]:
    if question.type == "truefalse":
        labels = [str(_l("True")), str(_l("False"))]
        counts = [
            sum(1 for v in responses if v is True),
            sum(1 for v in responses if v is False),
        ]
        return [
            {"text": labels[i], "fraction": question.answers[i].fraction, "count": counts[i]}
            for i in range(2)
        ]
    counts = Counter()
    for value in responses:
        picked = value if isinstance(value, list) else [value]
        for index in set(picked):
            if isinstance(index, int) and not isinstance(index, bool):
                counts[index] += 1
    return [
        {"text": answer.text, "fraction": answer.fraction, "count": counts[index]}
        for index, answer in enumerate(question.answers)
    ]


def _common_responses(question: qdata.QuestionData, responses: list) -> list[dict]:
    counts: Counter = Counter()
    shown: dict[str, str] = {}
    for value in responses:
        text = response_text(question, value).strip()
        if not text:
            continue
        key = types.normalise_text(text)
        shown.setdefault(key, text)
        counts[key] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_RESPONSES]
    return [{"text": shown[key], "count": n} for key, n in ranked]


def store_statistics(activity: Activity) -> QuizStatistics:
    """Compute a quiz's item statistics and store them (replacing earlier ones)."""
    data = compute_statistics(activity)
    row = db.session.get(QuizStatistics, activity.id)
    if row is None:
        row = QuizStatistics(activity_id=activity.id)
        db.session.add(row)
    row.computed_at = utcnow()
    row.attempts = data["attempts"]
    row.data = json.dumps(data, ensure_ascii=False)
    db.session.flush()
    return row


def statistics_of(activity: Activity) -> tuple[QuizStatistics | None, dict | None]:
    """Return the stored statistics row and its data (None if absent or of another version)."""
    row = db.session.get(QuizStatistics, activity.id)
    if row is None:
        return None, None
    try:
        data = json.loads(row.data)
    except ValueError:
        return row, None
    if not isinstance(data, dict) or data.get("schema_version") != STATISTICS_VERSION:
        return row, None
    return row, data


def statistics_stale(activity: Activity, row: QuizStatistics | None) -> bool:
    """Whether attempts finished, or the quiz changed, after the statistics were computed."""
    if row is None:
        return True
    quiz = db.session.get(Quiz, activity.id)
    if quiz is not None and quiz.updated_at and quiz.updated_at > row.computed_at:
        return True
    latest = db.session.scalar(
        select(func.max(Attempt.finished_at)).where(Attempt.activity_id == activity.id)
    )
    return latest is not None and latest > row.computed_at


# --- export ------------------------------------------------------------------------------

#: The export's columns are Vietnamese whatever the interface language: the file goes to
#: personnel records and official reports.
CSV_HEADERS = [
    "Họ và tên",
    "Tên đăng nhập",
    "Đơn vị",
    "Số lần làm",
    "Điểm (%)",
    "Điểm cao nhất (%)",
    "Đạt",
    "Thời gian làm bài",
    "Trạng thái",
]
CSV_STATES = {
    "in_progress": "Đang làm",
    "needs_grading": "Chờ chấm",
    "passed": "Đạt",
    "failed": "Chưa đạt",
}


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}".replace(".", ",")


def format_seconds(seconds: int | None) -> str:
    """Write a duration as H:MM:SS ("" for none)."""
    if seconds is None:
        return ""
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _cell(value: str) -> str:
    """Keep spreadsheets from running a cell as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def results_csv(activity: Activity, actor: User | None = None) -> str:
    """Return the results as CSV (UTF-8 with a BOM, for Excel), one row per learner."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADERS)
    results = results_of(activity)
    for result in results:
        writer.writerow(
            [
                _cell(result.full_name),
                _cell(result.username),
                _cell(result.unit_name),
                result.count,
                _percent(result.grade),
                _percent(result.best),
                "" if result.grade is None else ("Có" if result.passed else "Không"),
                format_seconds(result.seconds),
                CSV_STATES.get(result.state, result.state),
            ]
        )
    record_audit(
        "quiz.results_exported",
        actor_id=actor.id if actor else None,
        target_type="activity",
        target_id=activity.id,
        detail=f"{len(results)} learners",
    )
    return "\ufeff" + buffer.getvalue()


AUDIT_LABELS.update(
    {
        "quiz.graded": _l("Quiz answer graded by hand"),
        "quiz.regraded": _l("Quiz regraded"),
        "quiz.results_exported": _l("Quiz results exported"),
    }
)
