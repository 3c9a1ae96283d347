"""Forms for sign-in, passwords, people, units and roles (validation only)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from elearn.accounts.models import UNIT_KINDS
from elearn.accounts.services import MIN_PASSWORD_LENGTH, check_password_strength
from elearn.core.forms import BaseForm
from elearn.core.services import ServiceError

REQUIRED = _l("This field is required.")


class LoginForm(BaseForm):
    """Sign in."""

    username = StringField(
        _l("Username"),
        validators=[DataRequired(REQUIRED), Length(max=254)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(REQUIRED)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Keep me signed in on this device"))
    submit = SubmitField(_l("Sign in"))


class ForgotPasswordForm(BaseForm):
    """Ask for a reset link."""

    identifier = StringField(
        _l("Username or email"),
        validators=[DataRequired(REQUIRED), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    submit = SubmitField(_l("Send me a link"))


def _check_new_password(_form, field) -> None:
    """Report a weak password together with any other problem on the form."""
    try:
        check_password_strength(field.data or "")
    except ServiceError as exc:
        raise ValidationError(str(exc)) from exc


def _new_password_fields():
    hint = _l("At least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    new = PasswordField(
        _l("New password"),
        description=hint,
        validators=[DataRequired(REQUIRED), Length(max=200), _check_new_password],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(REQUIRED), EqualTo("new_password", _l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    return new, confirm


class ResetPasswordForm(BaseForm):
    """Choose a new password through a reset link."""

    new_password, confirm = _new_password_fields()
    submit = SubmitField(_l("Set password"))


class ChangePasswordForm(BaseForm):
    """Change one's own password."""

    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(REQUIRED)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password, confirm = _new_password_fields()
    submit = SubmitField(_l("Change password"))


class PreferencesForm(BaseForm):
    """One's own settings."""

    locale = SelectField(
        _l("Language"),
        choices=[
            SelectChoice("vi", "Tiếng Việt", {"lang": "vi"}),
            SelectChoice("en", "English", {"lang": "en"}),
        ],
    )
    submit = SubmitField(_l("Save"))


class PersonForm(BaseForm):
    """Create or edit a person."""

    full_name = StringField(
        _l("Full name"),
        validators=[DataRequired(REQUIRED), Length(max=255)],
        render_kw={"autocomplete": "off"},
    )
    username = StringField(
        _l("Username"),
        validators=[DataRequired(REQUIRED), Length(3, 64)],
        render_kw={"autocomplete": "off", "autocapitalize": "none"},
    )
    email = EmailField(
        _l("Email"), validators=[Optional(), Length(max=254)], render_kw={"autocomplete": "off"}
    )
    job_title = StringField(_l("Job title"), validators=[Optional(), Length(max=255)])
    unit_id = SelectField(_l("Unit"), coerce=int, validators=[DataRequired(REQUIRED)])
    submit = SubmitField(_l("Save"))


class TransferForm(BaseForm):
    """Move a person to another unit."""

    unit_id = SelectField(_l("New unit"), coerce=int, validators=[DataRequired(REQUIRED)])
    reason = StringField(
        _l("Reason (decision number, date)"), validators=[Optional(), Length(max=255)]
    )
    submit = SubmitField(_l("Transfer"))


class UnitForm(BaseForm):
    """Create a unit."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(REQUIRED), Length(max=64)],
        description=_l("Short and stable, used in staff imports, e.g. BNV.VP"),
    )
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=255)])
    kind = SelectField(_l("Kind"), choices=[], default="unit")
    parent_id = SelectField(_l("Belongs to"), coerce=int)
    submit = SubmitField(_l("Create unit"))

    def __init__(self, *args, kind_labels: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice(k, kind_labels[k]) for k in UNIT_KINDS]


class SignerForm(BaseForm):
    """Who signs the certificates a unit issues."""

    signer_name = StringField(
        _l("Signer's name"),
        validators=[Optional(), Length(max=255)],
        description=_l("Printed on the certificates of courses this unit organises."),
    )
    signer_title = StringField(
        _l("Signer's title"),
        validators=[Optional(), Length(max=255)],
        description=_l("e.g. Hiệu trưởng, Giám đốc"),
    )
    submit = SubmitField(_l("Save signer"))


class RenameUnitForm(BaseForm):
    """Rename a unit."""

    code = StringField(_l("Code"), validators=[DataRequired(REQUIRED), Length(max=64)])
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=255)])
    submit = SubmitField(_l("Rename"))


class MoveUnitForm(BaseForm):
    """Move a unit under another."""

    parent_id = SelectField(_l("New parent unit"), coerce=int)
    submit = SubmitField(_l("Move"))


class MergeUnitForm(BaseForm):
    """Merge a unit into another."""

    target_id = SelectField(_l("Merge into"), coerce=int, validators=[DataRequired(REQUIRED)])
    reason = StringField(
        _l("Reason (decision number, date)"), validators=[Optional(), Length(max=255)]
    )
    confirm = BooleanField(
        _l(
            "I understand: the people, sub-units and roles of this unit move "
            "to the chosen unit, and this unit is closed."
        ),
        validators=[DataRequired(_l("Tick the box to confirm the merge."))],
    )
    submit = SubmitField(_l("Merge"))


class RoleForm(BaseForm):
    """Give a person a role."""

    role = SelectField(_l("Role"), choices=[])
    unit_id = SelectField(_l("For unit (and all units below it)"), coerce=int)
    submit = SubmitField(_l("Add role"))

    def __init__(self, *args, role_labels: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [SelectChoice(k, label) for k, label in role_labels.items()]


class StaffImportForm(BaseForm):
    """Upload a staff file for a dry run (nothing changes before "Apply")."""

    file = FileField(
        _l("Staff file (CSV or XLSX)"),
        validators=[FileRequired(_l("Choose a CSV or XLSX file."))],
        description=_l(
            "CSV in UTF-8 or Excel's Vietnamese CSV (Windows-1258), or an Excel workbook "
            "(.xlsx). The file is checked first: nothing changes until you apply it."
        ),
        render_kw={
            "accept": ".csv,.txt,.xlsx,text/csv,"
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        },
    )
    submit = SubmitField(_l("Check the file"))
