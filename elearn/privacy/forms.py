"""Forms of the personal-data pages: the download buttons and the retention period."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, StringField, SubmitField
from wtforms.validators import AnyOf, NumberRange, Optional
from wtforms.widgets import TextInput

from elearn.accounts.retention import MAX_MONTHS
from elearn.core.forms import BaseForm
from elearn.privacy.personal_data import FORMATS


class DownloadForm(BaseForm):
    """The format, sent by the button pressed (JSON or PDF)."""

    format = StringField(
        _l("Format"), validators=[AnyOf(FORMATS, message=_l("Choose JSON or PDF."))]
    )


class RetentionForm(BaseForm):
    """The retention period of inactive accounts, previewed before it is saved."""

    months = IntegerField(
        _l("Retention period (months)"),
        validators=[Optional(), NumberRange(min=0, max=MAX_MONTHS)],
        description=_l(
            "Accounts of people who left (deactivated) longer ago than this are anonymised "
            "each day; accounts of people still on the staff are kept. Leave empty or 0 to "
            "keep accounts forever. Administrators are never anonymised."
        ),
        widget=TextInput(),  # not type=number: see media.forms.QuotaForm
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    preview = SubmitField(_l("Preview"))
    save = SubmitField(_l("Confirm and save"))
