"""The base of every form: WTForms' own messages in the user's language.

WTForms ships no Vietnamese catalog, so its built-in messages (a choice that is
not offered, a value too long) are routed through our catalog instead.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField

_MESSAGES = {
    "This field is required.": _l("This field is required."),
    "Not a valid choice.": _l("Not a valid choice."),
    "Invalid Choice: could not coerce.": _l("Not a valid choice."),
    "Field must be between %(min)d and %(max)d characters long.": _l(
        "Use between %(min)d and %(max)d characters."
    ),
    "Field cannot be longer than %(max)d characters.": _l("Use at most %(max)d characters."),
    "Field must be at least %(min)d characters long.": _l("Use at least %(min)d characters."),
    "Field must be equal to %(other_name)s.": _l("The two values differ."),
    "Not a valid integer value.": _l("Enter a whole number."),
    "Not a valid date value.": _l("Enter a date as day, month and year."),
    "Number must be between %(min)s and %(max)s.": _l("Enter a number from %(min)s to %(max)s."),
    "Number must be at least %(min)s.": _l("Enter a number of at least %(min)s."),
    "Number must be at most %(max)s.": _l("Enter a number of at most %(max)s."),
    "The CSRF token is missing.": _l("The form has expired. Reload the page and try again."),
    "The CSRF token has expired.": _l("The form has expired. Reload the page and try again."),
    "The CSRF token is invalid.": _l("The form has expired. Reload the page and try again."),
}


def page_number(value: str) -> int:
    """Parse a ?page= value (1 to 100,000); anything else falls back to the default."""
    number = int(value)
    if not 1 <= number <= 100_000:
        raise ValueError(value)
    return number


class _Translations:
    """The gettext interface WTForms asks its messages through."""

    def gettext(self, message: str) -> str:
        """Translate one message."""
        return str(_MESSAGES.get(message, message))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """Translate a message with a count."""
        return self.gettext(singular if n == 1 else plural)


class BaseForm(FlaskForm):
    """A Flask-WTF form (CSRF included) whose built-in messages are translated."""

    class Meta(FlaskForm.Meta):
        """Route WTForms' messages through our catalog."""

        def get_translations(self, form):
            """Return our translations instead of WTForms' own catalogs."""
            return _Translations()


class ConfirmForm(BaseForm):
    """A button that only carries the CSRF token."""

    submit = SubmitField(_l("Confirm"))
