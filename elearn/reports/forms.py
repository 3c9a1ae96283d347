"""Forms of the HR pages: report filters, assignments, training classes (validation only)."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from elearn.core.clock import to_local, utcnow
from elearn.core.forms import BaseForm

REQUIRED = _l("This field is required.")


def period_choices(today: date | None = None) -> list[SelectChoice]:
    """Return the named report periods: all time, this and the two previous years and halves."""
    today = today or to_local(utcnow()).date()
    choices = [SelectChoice("", _l("From the beginning until now"))]
    for year in range(today.year, today.year - 3, -1):
        choices += [
            SelectChoice(f"{year}", _l("Year %(year)d", year=year)),
            SelectChoice(f"{year}-H1", _l("First half of %(year)d", year=year)),
            SelectChoice(f"{year}-H2", _l("Second half of %(year)d", year=year)),
        ]
    choices.append(SelectChoice("custom", _l("Dates below")))
    return choices


def period_dates(period: str, date_from: date | None, date_to: date | None):
    """Return (first day, last day) of a named period, or the given dates for "custom"."""
    if period == "custom":
        return date_from, date_to
    if not period:
        return None, None
    year_text, _sep, half = period.partition("-")
    year = int(year_text)
    if half == "H1":
        return date(year, 1, 1), date(year, 6, 30)
    if half == "H2":
        return date(year, 7, 1), date(year, 12, 31)
    return date(year, 1, 1), date(year, 12, 31)


class FilterForm(BaseForm):
    """The filters above every report (a GET form: no CSRF)."""

    class Meta(BaseForm.Meta):
        """Read from the query string."""

        csrf = False

    unit = SelectField(_l("Unit"), coerce=int, choices=[], default=0, validators=[Optional()])
    course = SelectField(_l("Course"), coerce=int, choices=[], default=0, validators=[Optional()])
    period = SelectField(_l("Period"), choices=[], default="", validators=[Optional()])
    date_from = DateField(_l("From date"), validators=[Optional()])
    date_to = DateField(_l("To date"), validators=[Optional()])
    mode = SelectField(
        _l("Count runs in"),
        choices=[
            SelectChoice("current", _l("the person's current unit")),
            SelectChoice("completion", _l("their unit when they completed")),
        ],
        default="current",
        validators=[Optional()],
    )
    submit = SubmitField(_l("Show"))

    def validate(self, extra_validators=None) -> bool:
        """Check each field, then that a custom period does not end before it starts."""
        if not super().validate(extra_validators):
            return False
        if (
            self.period.data == "custom"
            and self.date_from.data
            and self.date_to.data
            and self.date_to.data < self.date_from.data
        ):
            self.date_to.errors = [_l("The period cannot end before it starts.")]
            return False
        return True


class ExportForm(BaseForm):
    """A POST that asks for an export of what a report page shows."""

    view = HiddenField(validators=[DataRequired()])
    format = SelectField(
        _l("Format"),
        choices=[SelectChoice("xlsx", _l("Excel (.xlsx)")), SelectChoice("csv", _l("CSV (UTF-8)"))],
        default="xlsx",
    )
    submit = SubmitField(_l("Export"))


class AssignmentForm(BaseForm):
    """Courses assigned to units or people, by a date, perhaps again every N months."""

    course_ids = SelectMultipleField(
        _l("Courses"),
        coerce=int,
        choices=[],
        validators=[DataRequired(_l("Choose at least one course."))],
        description=_l("Published courses. Hold Ctrl to choose several."),
    )
    unit_ids = SelectMultipleField(
        _l("Units (with every unit below them)"),
        coerce=int,
        choices=[],
        description=_l("Everyone in these units, including people who join them later."),
    )
    usernames = TextAreaField(
        _l("Or these people (usernames)"),
        validators=[Optional(), Length(max=20_000)],
        description=_l("One username per line, or separated by commas."),
    )
    due_on = DateField(
        _l("Due date"),
        validators=[Optional()],
        description=_l("The last day to complete. Leave empty for no due date."),
    )
    join_days = IntegerField(
        _l("Days given to people who join later"),
        default=30,
        validators=[DataRequired(REQUIRED), NumberRange(1, 365)],
        description=_l(
            "Someone joining after the due date, or close to it, gets this many days. "
            "A refresher also opens this many days before it is due."
        ),
    )
    recur_months = IntegerField(
        _l("Repeat every (months)"),
        validators=[Optional(), NumberRange(1, 120)],
        description=_l(
            "For a refresher: e.g. 12 for yearly. A new run opens before each completion "
            "expires. Leave empty to take the courses once."
        ),
    )
    submit = SubmitField(_l("Assign"))


class WithdrawForm(BaseForm):
    """Withdrawing an assignment or cancelling a class, with a reason."""

    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Withdraw"))


class ClassForm(BaseForm):
    """A training class's name and dates (and, when new, its courses and participants)."""

    code = StringField(
        _l("Class code"),
        validators=[DataRequired(REQUIRED), Length(max=64)],
        description=_l("A short code people quote, e.g. TH-CCHC-2026-01."),
    )
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=255)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    organiser_unit_id = SelectField(
        _l("Organising unit"), coerce=int, choices=[], validators=[DataRequired(REQUIRED)]
    )
    opens_on = DateField(_l("Opens on"), validators=[DataRequired(REQUIRED)])
    closes_on = DateField(
        _l("Closes on"),
        validators=[DataRequired(REQUIRED)],
        description=_l("Participants must complete the courses by this day."),
    )
    course_ids = SelectMultipleField(
        _l("Courses"),
        coerce=int,
        choices=[],
        validators=[DataRequired(_l("Choose at least one course."))],
        description=_l("Published courses. Hold Ctrl to choose several."),
    )
    unit_ids = SelectMultipleField(
        _l("Participating units (with every unit below them)"), coerce=int, choices=[]
    )
    usernames = TextAreaField(
        _l("Participants (usernames)"),
        validators=[Optional(), Length(max=20_000)],
        description=_l("One username per line, or separated by commas; from any unit you manage."),
    )
    submit = SubmitField(_l("Save"))


class ParticipantsForm(BaseForm):
    """Adding units or people to a class."""

    unit_ids = SelectMultipleField(_l("Units"), coerce=int, choices=[])
    usernames = TextAreaField(
        _l("People (usernames)"),
        validators=[Optional(), Length(max=20_000)],
        description=_l("One username per line, or separated by commas."),
    )
    submit = SubmitField(_l("Add participants"))


class OrganiserForm(BaseForm):
    """Adding an organiser to a class by username."""

    username = StringField(
        _l("Username of the organiser"), validators=[DataRequired(REQUIRED), Length(max=64)]
    )
    submit = SubmitField(_l("Add organiser"))


def usernames_in(text: str | None) -> list[str]:
    """Split a list of usernames typed one per line or separated by commas or semicolons."""
    words = (text or "").replace(",", "\n").replace(";", "\n").split()
    seen: dict[str, None] = {}
    for word in words:
        seen.setdefault(word.strip().lower(), None)
    return [w for w in seen if w]


def year_choices(today: date | None = None) -> list[int]:
    """Return the years the people report offers: this one and four before."""
    today = today or to_local(utcnow()).date()
    return list(range(today.year, today.year - 5, -1))
