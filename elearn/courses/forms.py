"""Forms for authoring courses, modules and pages (validation only)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from elearn.core.forms import BaseForm

REQUIRED = _l("This field is required.")


class CourseForm(BaseForm):
    """A course's description and offer."""

    slug = StringField(
        _l("Short name (in the address)"),
        validators=[DataRequired(REQUIRED), Length(max=80)],
        description=_l(
            "Lower-case letters, digits and dashes, e.g. chinh-phu-so. It cannot be changed later."
        ),
    )
    title = StringField(_l("Title"), validators=[DataRequired(REQUIRED), Length(max=255)])
    summary = TextAreaField(
        _l("Summary"),
        validators=[Optional(), Length(max=2000)],
        description=_l("One or two sentences shown in the catalogue."),
    )
    topic = SelectField(_l("Topic"), choices=[], default="")
    estimated_minutes = IntegerField(
        _l("Estimated time (minutes)"), validators=[Optional(), NumberRange(1, 100_000)]
    )
    audience_all = BooleanField(_l("Offer the course to everyone"), default=True)
    audience_units = SelectMultipleField(
        _l("Or only to these units (and the units below them)"),
        coerce=int,
        choices=[],
        description=_l("Used when the box above is not ticked. Hold Ctrl to choose several."),
    )
    due_days = IntegerField(
        _l("Days to finish after self-enrolment"),
        validators=[Optional(), NumberRange(1, 3650)],
        description=_l("Leave empty for no due date."),
    )
    require_captions = BooleanField(
        _l("Videos must have captions before learners see them"),
        description=_l(
            "A video without captions is hidden from learners and the course cannot be published."
        ),
    )
    min_grade = IntegerField(
        _l("Least course grade to complete (%)"),
        validators=[Optional(), NumberRange(1, 100)],
        description=_l(
            "The average of the required quizzes' grades a learner needs, besides completing "
            "every required lesson. Leave empty for none."
        ),
    )
    issuer_unit = SelectField(
        _l("Unit that issues the certificates"),
        coerce=int,
        choices=[],
        default=0,
        description=_l(
            "Its name and signer appear on the certificate. Default: the top unit of the "
            "learner's organisation."
        ),
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, topics: dict, units: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.topic.choices = [SelectChoice("", _l("(no topic)"))] + [
            SelectChoice(slug, label) for slug, label in topics.items()
        ]
        self.audience_units.choices = [
            SelectChoice(u.id, f"{'— ' * u.depth}{u.name} ({u.code})") for u in units
        ]
        self.issuer_unit.choices = [SelectChoice(0, _l("(the learner's top unit)"))] + list(
            self.audience_units.choices
        )


class StaffForm(BaseForm):
    """Add an instructor to a course."""

    username = StringField(
        _l("Username of the instructor to add"),
        validators=[DataRequired(REQUIRED), Length(max=64)],
        render_kw={"autocomplete": "off", "autocapitalize": "none"},
    )
    submit = SubmitField(_l("Add instructor"))


class ModuleForm(BaseForm):
    """Add or rename a module."""

    title = StringField(_l("Module title"), validators=[DataRequired(REQUIRED), Length(max=255)])
    submit = SubmitField(_l("Save"))


class PageForm(BaseForm):
    """Write a page."""

    title = StringField(_l("Page title"), validators=[DataRequired(REQUIRED), Length(max=255)])
    markdown = TextAreaField(
        _l("Text (Markdown)"),
        validators=[Optional(), Length(max=200_000)],
        description=_l(
            "## for a section heading, - for a list item (indent sub-items by 4 spaces), "
            "**bold**, *italic*, [text](https://address) for a link. HTML and images are "
            "not allowed and are removed."
        ),
        render_kw={"rows": 20},
    )
    required = BooleanField(_l("Counts toward completing the course"), default=True)
    completion = SelectField(
        _l("The page is complete when the learner"),
        choices=[
            SelectChoice("view", _l("opens it")),
            SelectChoice("mark_done", _l("presses “Mark as done”")),
        ],
    )
    preview = SubmitField(_l("Preview"))
    submit = SubmitField(_l("Save"))
