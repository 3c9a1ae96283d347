"""Forms for the question bank (validation only)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, SubmitField
from wtforms.validators import DataRequired

from elearn.core.forms import BaseForm

FORMAT_CHOICES = [SelectChoice("gift", "GIFT (Moodle)"), SelectChoice("aiken", "Aiken")]


class ImportForm(BaseForm):
    """Step 1 of an import: the file, its format, and what to do with bad questions."""

    file = FileField(
        _l("Question file"),
        validators=[FileRequired(_l("Choose a question file."))],
        description=_l(
            "A UTF-8 text file (.gift or .txt). Nothing is imported before you confirm."
        ),
        render_kw={"accept": ".gift,.txt,text/plain"},
    )
    format = SelectField(_l("Format"), choices=FORMAT_CHOICES)
    only_valid = BooleanField(
        _l("If some questions have problems, import the others"),
        description=_l("Otherwise nothing is imported until the whole file is correct."),
    )
    submit = SubmitField(_l("Check the file"))


class ConfirmImportForm(BaseForm):
    """Step 2: import what the preview showed (the checked text comes back with it)."""

    source = HiddenField(validators=[DataRequired()])
    format = HiddenField(validators=[DataRequired()])
    only_valid = HiddenField()
    submit = SubmitField(_l("Import"))
