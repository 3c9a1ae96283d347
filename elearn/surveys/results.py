"""A survey's results for its staff: figures, comments, named answers, the CSV export.

Comments are listed in the order of their random keys, never by time, and only once
the survey has the responses its figures need. Named answers (who answered what, when)
exist only for surveys that are not anonymous.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from elearn.accounts.models import OrgUnit, User
from elearn.core.services import AUDIT_LABELS, record_audit
from elearn.courses.models import Activity, Enrolment
from elearn.extensions import db
from elearn.surveys import services
from elearn.surveys.data import NO_RESPONSES, TOO_FEW, Satisfaction
from elearn.surveys.models import Survey, SurveyAnswer, SurveyItem, SurveyResponse

#: The five points of the scale as the CSV writes them (the pages translate theirs).
SCALE_LABELS = (
    "1 – Rất không hài lòng",
    "2 – Không hài lòng",
    "3 – Bình thường",
    "4 – Hài lòng",
    "5 – Rất hài lòng",
)


@dataclass(frozen=True)
class NamedResponse:
    """One response to a named survey: who sent it, when, and each item's answer."""

    full_name: str
    username: str
    unit_name: str
    run: int | None
    submitted_at: datetime | None
    #: {item id: value (Likert) or text (comment)}
    answers: dict


def comments(survey: Survey, figures: Satisfaction) -> list[tuple[SurveyItem, list[str]]]:
    """Return each comment item with its comments (random order), or [] when withheld."""
    if figures.reason in (NO_RESPONSES, TOO_FEW):
        return []
    found: dict[int, list[str]] = {}
    for item_id, text in db.session.execute(
        select(SurveyAnswer.item_id, SurveyAnswer.text)
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(SurveyResponse.activity_id == survey.activity_id, SurveyAnswer.text.is_not(None))
        .order_by(SurveyAnswer.id)  # random keys: an order that tells nothing
    ):
        found.setdefault(item_id, []).append(text)
    return [
        (item, found.get(item.id, []))
        for item in services.items_of(survey)
        if item.kind == "comment"
    ]


def named_responses(survey: Survey) -> list[NamedResponse]:
    """Return who answered a named survey and what, by name ([] for anonymous surveys)."""
    if survey.anonymous:
        return []
    rows = db.session.execute(
        select(SurveyResponse, User, OrgUnit.name, Enrolment.run)
        .join(User, User.id == SurveyResponse.user_id)
        .outerjoin(OrgUnit, OrgUnit.id == User.unit_id)
        .outerjoin(Enrolment, Enrolment.id == SurveyResponse.enrolment_id)
        .where(SurveyResponse.activity_id == survey.activity_id)
        .order_by(User.full_name, User.id, SurveyResponse.submitted_at)
    ).all()
    answers: dict[str, dict] = {}
    for response_id, item_id, value, text in db.session.execute(
        select(
            SurveyAnswer.response_id, SurveyAnswer.item_id, SurveyAnswer.value, SurveyAnswer.text
        )
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(SurveyResponse.activity_id == survey.activity_id)
    ):
        answers.setdefault(response_id, {})[item_id] = value if value is not None else text
    return [
        NamedResponse(
            full_name=user.full_name,
            username=user.username,
            unit_name=unit_name or "",
            run=run,
            submitted_at=response.submitted_at,
            answers=answers.get(response.id, {}),
        )
        for response, user, unit_name, run in rows
    ]


def _cell(value: str) -> str:
    """Keep spreadsheets from running a cell as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _number(value: float | None, digits: int = 1) -> str:
    """A number as Vietnamese spreadsheets read it (decimal comma); "" for none."""
    return "" if value is None else f"{value:.{digits}f}".replace(".", ",")


def results_csv(activity: Activity, actor: User | None = None) -> str:
    """Return the aggregated results as CSV (UTF-8 with a BOM, for Excel).

    One row per Likert item (counts and shares of each point, answers, mean, index),
    a row for the whole survey, then the comments. Below the survey's threshold only
    the number of responses is written.
    """
    survey = services.survey_of(activity)
    figures = services.satisfaction(activity_id=activity.id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Phiếu khảo sát", _cell(activity.title)])
    writer.writerow(["Ẩn danh", "Có" if survey.anonymous else "Không"])
    writer.writerow(["Số phiếu", figures.responses])
    if figures.reason in (NO_RESPONSES, TOO_FEW):
        writer.writerow(
            ["Ghi chú", f"Kết quả chỉ hiển thị khi có từ {figures.threshold} phiếu trở lên."]
        )
    else:
        writer.writerow([])
        writer.writerow(
            [
                "STT",
                "Câu hỏi",
                *[f"{label} (số)" for label in SCALE_LABELS],
                *[f"{label} (%)" for label in SCALE_LABELS],
                "Số câu trả lời",
                "Điểm trung bình (1–5)",
                "Chỉ số hài lòng (%)",
            ]
        )
        for number, item in enumerate(figures.items, start=1):
            writer.writerow(
                [
                    number,
                    _cell(item.text),
                    *item.counts,
                    *[_number(item.percent(v)) for v in range(1, 6)],
                    item.answers,
                    _number(item.mean, 2),
                    _number(item.index),
                ]
            )
        writer.writerow(
            [
                "",
                "Toàn phiếu",
                *[sum(i.counts[v] for i in figures.items) for v in range(5)],
                *[""] * 5,
                figures.likert_answers,
                _number(figures.mean, 2),
                _number(figures.index),
            ]
        )
        listed = comments(survey, figures)
        if listed:
            writer.writerow([])
            writer.writerow(["Câu hỏi", "Ý kiến"])
            for item, texts in listed:
                for text in texts:
                    writer.writerow([_cell(item.text), _cell(text)])
    record_audit(
        "survey.results_exported",
        actor_id=actor.id if actor else None,
        target_type="activity",
        target_id=activity.id,
        detail=f"{figures.responses} responses",
    )
    return "\ufeff" + buffer.getvalue()


AUDIT_LABELS.update({"survey.results_exported": _l("Survey results exported")})
