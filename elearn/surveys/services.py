"""Surveys: building them, answering them once per run, and satisfaction figures.

A survey is an ``Activity`` of type ``survey`` (its intro is the page text, its rule
``submitted``) with a ``Survey`` row of settings and ordered ``SurveyItem``s: Likert
items on the five-point satisfaction scale and free comments.

**Answering.** ``submit`` checks the answers, then holds the run through progress
(``progress.activity_state(..., lock=True)``: ``SELECT ... FOR UPDATE`` on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite) and looks at the run's progress row: a survey already
submitted in this run is refused (``AlreadySubmitted``). Otherwise it stores the
response and records ``submitted`` in the same transaction, so two submits at once
(two tabs, a double click) leave one response. A refresher run answers again.

**Anonymity.** An anonymous response stores no person, run, time or sequence (see
``elearn.surveys.models``); the person's progress row says only that they answered.
Figures (index, mean, distributions, comments) are withheld below the survey's
``min_responses_shown`` (at least 3). What this does not hide, see docs/architecture.md
("Surveys"): people with SQL access to a PostgreSQL database (physical row order and
the writing transaction of a row), and someone comparing results just before and just
after one known person answered.

**Locking.** Once a survey has a response, its anonymity and its items (kinds, order,
which are required, adding and removing) no longer change; item texts may be corrected.

**Training classes.** Each response keeps the class of its run, found through
``CLASS_OF_RUN`` (filled by the reports domain, which surveys may not import).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from elearn.core.clock import utcnow
from elearn.core.services import NotFound, ServiceError
from elearn.core.vietnamese import nfc
from elearn.courses import services as courses
from elearn.courses.models import Activity, Course, Enrolment, Module
from elearn.extensions import db
from elearn.progress import services as progress
from elearn.surveys.data import NO_LIKERT, NO_RESPONSES, TOO_FEW, ItemResult, Satisfaction
from elearn.surveys.models import (
    ITEM_KINDS,
    MAX_COMMENT,
    SCALE,
    Survey,
    SurveyAnswer,
    SurveyItem,
    SurveyResponse,
    random_key,
)

log = logging.getLogger(__name__)

#: ``hook(run) -> class id or None``: the training class a run belongs to. The first
#: hook that answers wins; with none, responses have no class.
CLASS_OF_RUN: list[Callable[[Enrolment], int | None]] = []
#: Fewest responses before figures are shown (one or two would be people's answers).
MIN_SHOWN = 3
MAX_SHOWN = 1000
#: Longest item text.
MAX_ITEM_TEXT = 1000
#: A new survey's items: what the course covered, its lectures and materials, use at
#: work, the platform, overall, and a comment. Content in the course's language.
STANDARD_ITEMS: tuple[tuple[str, str, bool], ...] = (
    ("likert", "Nội dung khóa học rõ ràng, chính xác và cập nhật.", True),
    ("likert", "Bài giảng, tài liệu của khóa học dễ hiểu, dễ theo dõi.", True),
    ("likert", "Kiến thức, kỹ năng của khóa học hữu ích cho công việc của tôi.", True),
    ("likert", "Nền tảng học trực tuyến dễ sử dụng và hoạt động ổn định.", True),
    ("likert", "Nhìn chung, tôi hài lòng với khóa học.", True),
    ("comment", "Ý kiến, đề xuất của anh/chị để khóa học tốt hơn.", False),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class AlreadySubmitted(ServiceError):
    """This run has already sent the survey (a second tab, a double click)."""


class AnswersInvalid(ServiceError):
    """Some answers are missing or not acceptable; ``errors`` maps item id to a message.

    The key None holds a problem with the form as a whole (an item it does not have).
    """

    def __init__(self, errors: dict[int | None, object]):
        super().__init__(_l("Some answers need your attention."))
        self.errors = errors


# --- building --------------------------------------------------------------------------------


def add_survey(
    module: Module,
    title: str,
    markdown: str = "",
    *,
    required: bool = True,
    anonymous: bool = True,
    min_responses_shown: int = MIN_SHOWN,
    items: Iterable[tuple[str, str, bool]] | None = None,
    key: str | None = None,
) -> Activity:
    """Append a survey to a module, with the standard satisfaction items unless ``items``."""
    activity = courses.add_page(
        module, title, markdown, required=required, completion="submitted", key=key, kind="survey"
    )
    survey = Survey(
        activity_id=activity.id,
        anonymous=anonymous,
        min_responses_shown=_threshold(min_responses_shown),
    )
    db.session.add(survey)
    db.session.flush()
    for kind, text, item_required in STANDARD_ITEMS if items is None else items:
        add_item(survey, kind, text, item_required)
    log.info("survey %s added to course %s", activity.id, activity.course_id)
    return activity


def _threshold(value: int) -> int:
    if not isinstance(value, int) or not MIN_SHOWN <= value <= MAX_SHOWN:
        raise ServiceError(
            _l("Show results from %(min)d to %(max)d responses.", min=MIN_SHOWN, max=MAX_SHOWN),
            "min_responses_shown",
        )
    return value


def update_survey(
    activity: Activity,
    title: str,
    markdown: str,
    *,
    required: bool,
    anonymous: bool,
    min_responses_shown: int,
) -> None:
    """Change a survey's title, intro and settings; anonymity is fixed once answered."""
    survey = survey_of(activity)
    if anonymous != survey.anonymous and has_responses(survey):
        raise ServiceError(
            _l("People have answered already: whether the survey is anonymous cannot change."),
            "anonymous",
        )
    survey.min_responses_shown = _threshold(min_responses_shown)
    courses.update_page(activity, title, markdown, required=required, completion="submitted")
    survey.anonymous = anonymous


def survey_of(activity: Activity) -> Survey:
    """Return the settings of a survey activity, else raise NotFound."""
    survey = db.session.get(Survey, activity.id) if activity.type == "survey" else None
    if survey is None:
        raise NotFound(_l("Survey not found."))
    return survey


def survey_in(course: Course, activity_id: int) -> tuple[Activity, Survey]:
    """Return a live survey activity of ``course`` and its settings, else raise NotFound."""
    activity = courses.activity_in(course, activity_id)
    return activity, survey_of(activity)


def response_count(survey: Survey) -> int:
    """How many responses a survey has."""
    return db.session.scalar(
        select(func.count())
        .select_from(SurveyResponse)
        .where(SurveyResponse.activity_id == survey.activity_id)
    )


def has_responses(survey: Survey) -> bool:
    """Tell whether anyone has answered (then anonymity and items are fixed)."""
    return (
        db.session.scalar(
            select(SurveyResponse.id)
            .where(SurveyResponse.activity_id == survey.activity_id)
            .limit(1)
        )
        is not None
    )


def _unlocked(survey: Survey) -> None:
    if has_responses(survey):
        raise ServiceError(
            _l("People have answered already: items can no longer be added, removed or moved.")
        )


def items_of(survey: Survey) -> list[SurveyItem]:
    """Return a survey's items in order."""
    return list(
        db.session.scalars(
            select(SurveyItem)
            .where(SurveyItem.activity_id == survey.activity_id)
            .order_by(SurveyItem.position, SurveyItem.id)
        )
    )


def item_in(survey: Survey, item_id: int) -> SurveyItem:
    """Return an item of ``survey``, else raise NotFound."""
    item = db.session.get(SurveyItem, item_id)
    if item is None or item.activity_id != survey.activity_id:
        raise NotFound(_l("Item not found."))
    return item


def _item_text(text: str) -> str:
    text = nfc(_CONTROL.sub("", text or "")).strip()
    if not text:
        raise ServiceError(_l("An item needs a text."), "text")
    if len(text) > MAX_ITEM_TEXT:
        raise ServiceError(_l("Use at most %(n)d characters.", n=MAX_ITEM_TEXT), "text")
    return text


def add_item(survey: Survey, kind: str, text: str, required: bool = True) -> SurveyItem:
    """Append an item (``likert`` or ``comment``) to a survey nobody has answered yet."""
    if kind not in ITEM_KINDS:
        raise ServiceError(_l("Choose the kind of item."), "kind")
    text = _item_text(text)
    _unlocked(survey)
    position = (
        db.session.scalar(
            select(func.coalesce(func.max(SurveyItem.position), 0)).where(
                SurveyItem.activity_id == survey.activity_id
            )
        )
        + 1
    )
    item = SurveyItem(
        activity_id=survey.activity_id,
        position=position,
        kind=kind,
        text=text,
        required=bool(required),
    )
    db.session.add(item)
    db.session.flush()
    return item


def update_item(survey: Survey, item: SurveyItem, text: str, required: bool) -> None:
    """Correct an item's text (always), or whether it must be answered (before answers)."""
    item.text = _item_text(text)
    if bool(required) != item.required:
        if has_responses(survey):
            raise ServiceError(
                _l("People have answered already: only the text of an item can change."),
                "required",
            )
        item.required = bool(required)


def remove_item(survey: Survey, item: SurveyItem) -> None:
    """Take an item out of a survey nobody has answered yet (one item must stay)."""
    _unlocked(survey)
    if len(items_of(survey)) <= 1:
        raise ServiceError(_l("A survey needs at least one item."))
    db.session.delete(item)
    db.session.flush()


def move_item(survey: Survey, item: SurveyItem, direction: int) -> None:
    """Move an item one place up (-1) or down (+1) before anyone has answered."""
    _unlocked(survey)
    items = items_of(survey)
    index = items.index(item)
    other = index + direction
    if 0 <= other < len(items):
        items[index], items[other] = items[other], items[index]
    for position, each in enumerate(items, start=1):
        each.position = position


def replace_items(survey: Survey, items: Iterable[tuple[str, str, bool]]) -> None:
    """Replace every item of a survey nobody has answered yet (content packs)."""
    _unlocked(survey)
    for item in items_of(survey):
        db.session.delete(item)
    db.session.flush()
    for kind, text, required in items:
        add_item(survey, kind, text, required)


# --- answering -------------------------------------------------------------------------------


def clean_comment(text: str) -> str:
    """Return a comment as kept: single-character line ends, no control characters, NFC."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", _CONTROL.sub("", text)).strip()


def check_answers(
    items: list[SurveyItem], answers: Mapping[int, object]
) -> list[tuple[SurveyItem, int | None, str | None]]:
    """Return (item, value, text) for every answer given; raise AnswersInvalid with all problems.

    ``answers`` maps item ids to what was sent: "1" to "5" (or 1 to 5) for a Likert item,
    text for a comment; missing or empty means not answered.
    """
    known = {item.id: item for item in items}
    errors: dict[int | None, object] = {}
    if set(answers) - set(known):
        errors[None] = _l("The form does not match this survey: reload the page and answer again.")
    given: list[tuple[SurveyItem, int | None, str | None]] = []
    for item in items:
        raw = answers.get(item.id)
        if item.kind == "likert":
            text = str(raw).strip() if isinstance(raw, int | str) else ""
            if not text:
                if item.required:
                    errors[item.id] = _l("Choose one of the five answers.")
            elif text not in {str(v) for v in SCALE}:
                errors[item.id] = _l("Choose one of the five answers.")
            else:
                given.append((item, int(text), None))
        else:
            text = clean_comment(raw) if isinstance(raw, str) else ""
            if not text:
                if item.required:
                    errors[item.id] = _l("Write your answer.")
            elif len(text) > MAX_COMMENT:
                errors[item.id] = _l(
                    "Use at most %(max)s characters (this answer has %(n)s).",
                    max=f"{MAX_COMMENT:,}".replace(",", "."),
                    n=f"{len(text):,}".replace(",", "."),
                )
            else:
                given.append((item, None, text))
    if errors:
        raise AnswersInvalid(errors)
    return given


def class_of(run: Enrolment) -> int | None:
    """Return the training class of a run through ``CLASS_OF_RUN`` (None without one)."""
    for hook in CLASS_OF_RUN:
        found = hook(run)
        if found is not None:
            return found
    return None


def submitted(run: Enrolment | None, activity: Activity) -> bool:
    """Tell whether ``run`` has sent this survey."""
    return progress.states(run).get(activity.id) == "completed"


def submit(run: Enrolment, activity: Activity, answers: Mapping[int, object]) -> SurveyResponse:
    """Store a run's answers and complete the activity, in the caller's transaction.

    Raises AnswersInvalid (nothing stored) or AlreadySubmitted (the run sent it before;
    checked while the run is held, so of two submits at once the second is refused).
    """
    survey = survey_of(activity)
    if activity.course_id != run.course_id:
        raise NotFound(_l("Survey not found."))
    given = check_answers(items_of(survey), answers)
    row = progress.activity_state(run, activity, lock=True)  # holds the run until commit
    if row is not None and row.status == "completed":
        raise AlreadySubmitted(_l("You have already sent this survey; your first answers count."))
    response = SurveyResponse(
        id=random_key(),
        activity_id=activity.id,
        course_id=activity.course_id,
        class_id=class_of(run),
    )
    if not survey.anonymous:
        response.user_id, response.enrolment_id = run.user_id, run.id
        response.submitted_at = utcnow()
    db.session.add(response)
    db.session.flush()  # before its answers (no ORM relationship orders the inserts)
    for item, value, text in given:
        db.session.add(
            SurveyAnswer(
                id=random_key(), response_id=response.id, item_id=item.id, value=value, text=text
            )
        )
    db.session.flush()
    progress.record(run, activity, "submitted")
    if survey.anonymous:
        log.info("an anonymous response to survey %s was stored", activity.id)
    else:
        log.info("run %s answered survey %s", run.id, activity.id)
    return response


def named_answers_of(
    user_id: int,
) -> list[tuple[SurveyResponse, Activity, SurveyItem, SurveyAnswer]]:
    """Return a person's answers to surveys that are not anonymous, in the order given.

    Anonymous answers keep no person, so they can never be found (nor given back).
    """
    return [
        tuple(row)
        for row in db.session.execute(
            select(SurveyResponse, Activity, SurveyItem, SurveyAnswer)
            .join(Activity, Activity.id == SurveyResponse.activity_id)
            .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
            .join(SurveyItem, SurveyItem.id == SurveyAnswer.item_id)
            .where(SurveyResponse.user_id == user_id)
            .order_by(SurveyResponse.submitted_at, SurveyResponse.id, SurveyItem.position)
        )
    ]


# --- figures ---------------------------------------------------------------------------------


def _scope(activity_id: int | None, course_id: int | None, class_id: int | None) -> list:
    if activity_id is None and course_id is None and class_id is None:
        raise ValueError("give a survey, a course or a class")
    where = []
    if activity_id is not None:
        where.append(SurveyResponse.activity_id == activity_id)
    if course_id is not None:
        where.append(SurveyResponse.course_id == course_id)
    if class_id is not None:
        where.append(SurveyResponse.class_id == class_id)
    return where


def threshold_of(
    *, activity_id: int | None = None, course_id: int | None = None, class_id: int | None = None
) -> int:
    """Fewest responses for figures over this scope: the strictest of its surveys'."""
    where = _scope(activity_id, course_id, class_id)
    surveys = select(SurveyResponse.activity_id).where(*where)
    if activity_id is not None:
        surveys = select(Survey.activity_id).where(Survey.activity_id == activity_id)
    found = db.session.scalar(
        select(func.max(Survey.min_responses_shown)).where(Survey.activity_id.in_(surveys))
    )
    return max(MIN_SHOWN, found or MIN_SHOWN)


def satisfaction(
    *, activity_id: int | None = None, course_id: int | None = None, class_id: int | None = None
) -> Satisfaction:
    """Return the satisfaction over one survey, a course's surveys or a class's responses.

    Arguments combine (a course's responses from one class, say). Counts come from SQL
    aggregates; below the threshold only ``responses`` is given and ``reason`` says why.
    A course's figures include its removed (archived) surveys: they were answered.
    """
    where = _scope(activity_id, course_id, class_id)
    responses = db.session.scalar(select(func.count()).select_from(SurveyResponse).where(*where))
    threshold = threshold_of(activity_id=activity_id, course_id=course_id, class_id=class_id)
    if responses == 0 or responses < threshold:
        return Satisfaction(
            responses=responses,
            likert_answers=0,
            index=None,
            mean=None,
            items=(),
            threshold=threshold,
            reason=NO_RESPONSES if responses == 0 else TOO_FEW,
        )
    counts: dict[int, list[int]] = {}
    for item_id, value, n in db.session.execute(
        select(SurveyAnswer.item_id, SurveyAnswer.value, func.count())
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(*where, SurveyAnswer.value.is_not(None))
        .group_by(SurveyAnswer.item_id, SurveyAnswer.value)
    ):
        counts.setdefault(item_id, [0] * len(SCALE))[value - 1] += n
    shown_items = select(SurveyItem.id).where(SurveyItem.id.in_(list(counts)))
    if activity_id is not None:  # a survey's unanswered Likert items too
        shown_items = shown_items.union(
            select(SurveyItem.id).where(
                SurveyItem.activity_id == activity_id, SurveyItem.kind == "likert"
            )
        )
    items = db.session.execute(
        select(SurveyItem)
        .join(Activity, Activity.id == SurveyItem.activity_id)
        .join(Module, Module.id == Activity.module_id)
        .where(SurveyItem.id.in_(shown_items))
        .order_by(Module.position, Activity.position, Activity.id, SurveyItem.position)
    ).scalars()
    results = tuple(_item_result(item, counts.get(item.id, [0] * len(SCALE))) for item in items)
    total = [sum(r.counts[i] for r in results) for i in range(len(SCALE))]
    answers = sum(total)
    return Satisfaction(
        responses=responses,
        likert_answers=answers,
        index=_index(total),
        mean=_mean(total),
        items=results,
        threshold=threshold,
        reason="" if answers else NO_LIKERT,
    )


def _index(counts: list[int] | tuple[int, ...]) -> float | None:
    answers = sum(counts)
    return 100.0 * (counts[3] + counts[4]) / answers if answers else None


def _mean(counts: list[int] | tuple[int, ...]) -> float | None:
    answers = sum(counts)
    return sum(v * n for v, n in zip(SCALE, counts, strict=True)) / answers if answers else None


def _item_result(item: SurveyItem, counts: list[int]) -> ItemResult:
    return ItemResult(
        item_id=item.id,
        activity_id=item.activity_id,
        position=item.position,
        text=item.text,
        answers=sum(counts),
        counts=tuple(counts),
        mean=_mean(counts),
        index=_index(counts),
    )


def reason_text(result: Satisfaction) -> str:
    """Why figures are withheld, for people ("" when shown)."""
    if result.reason == NO_RESPONSES:
        return _("No one has answered yet.")
    if result.reason == TOO_FEW:
        return _(
            "Results are shown from %(n)d responses, so that no one's answers can be picked out.",
            n=result.threshold,
        )
    if result.reason == NO_LIKERT:
        return _("The responses hold no answers on the satisfaction scale.")
    return ""
