"""Forms for building surveys and for answering them (validation only)."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from elearn.core.forms import BaseForm
from elearn.surveys.services import MAX_ITEM_TEXT, MAX_SHOWN, MIN_SHOWN

REQUIRED = _l("This field is required.")
ITEM_FIELD = re.compile(r"^item-(\d{1,10})$")


class SurveyForm(BaseForm):
    """A survey's title, intro and settings (field names match the service's)."""

    title = StringField(_l("Survey title"), validators=[DataRequired(REQUIRED), Length(max=255)])
    markdown = TextAreaField(
        _l("Introduction (Markdown)"),
        validators=[Optional(), Length(max=200_000)],
        description=_l("Shown above the items: why you ask, how the answers will be used."),
        render_kw={"rows": 5},
    )
    required = BooleanField(_l("Counts toward completing the course"), default=True)
    anonymous = BooleanField(
        _l("Anonymous"),
        default=True,
        description=_l(
            "Answers are kept without the person, run or time: no one, administrators "
            "included, can tell who answered what. This cannot change once someone has answered."
        ),
    )
    min_responses_shown = IntegerField(
        _l("Show results from this many responses"),
        default=MIN_SHOWN,
        validators=[InputRequired(REQUIRED), NumberRange(MIN_SHOWN, MAX_SHOWN)],
        description=_l(
            "At least 3: with fewer, the results would be the answers of people one can name."
        ),
    )


class ItemForm(BaseForm):
    """A new item: its kind, text and whether it must be answered."""

    kind = SelectField(
        _l("Kind of item"),
        choices=[
            SelectChoice("likert", _l("Satisfaction scale (1 to 5)")),
            SelectChoice("comment", _l("Comment (free text)")),
        ],
        default="likert",
    )
    text = TextAreaField(
        _l("Item text"),
        validators=[DataRequired(REQUIRED), Length(max=MAX_ITEM_TEXT)],
        render_kw={"rows": 2},
    )
    required = BooleanField(_l("An answer is required"), default=True)


class ItemEditForm(BaseForm):
    """An item's corrected text, and whether it must be answered."""

    text = TextAreaField(
        _l("Item text"), validators=[DataRequired(REQUIRED), Length(max=MAX_ITEM_TEXT)]
    )
    required = BooleanField(_l("An answer is required"))


class AnswerForm(BaseForm):
    """Carries the CSRF token; the answers are ``item-<id>`` fields (``answers_from``)."""


def answers_from(formdata: MultiDict) -> dict[int, str]:
    """Return {item id: value sent} from a survey form's ``item-<id>`` fields."""
    return {
        int(match.group(1)): formdata.get(name, "")
        for name in formdata
        if (match := ITEM_FIELD.match(name))
    }
