"""Forms for the question bank (validation only)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from elearn.core.forms import BaseForm

#: Most answer, number or pair rows the editor shows (imports are refused beyond it).
MAX_ROWS = 100

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


FRACTION_CHOICES = [
    SelectChoice(value, label)
    for value, label in [
        ("1", "100%"),
        ("0.9", "90%"),
        ("0.8333333", "83,33%"),
        ("0.8", "80%"),
        ("0.75", "75%"),
        ("0.7", "70%"),
        ("0.6666667", "66,67%"),
        ("0.6", "60%"),
        ("0.5", "50%"),
        ("0.4", "40%"),
        ("0.3333333", "33,33%"),
        ("0.3", "30%"),
        ("0.25", "25%"),
        ("0.2", "20%"),
        ("0.1", "10%"),
        ("0", "0%"),
        ("-0.1", "−10%"),
        ("-0.25", "−25%"),
        ("-0.3333333", "−33,33%"),
        ("-0.5", "−50%"),
        ("-1", "−100%"),
    ]
]


class AnswerForm(Form):
    """One choice or accepted answer: its text, share of the mark and feedback."""

    text = StringField(_l("Answer"), validators=[Optional(), Length(max=2000)])
    # Imported questions may hold any weight; the editor checks the number itself.
    fraction = SelectField(_l("Mark"), choices=FRACTION_CHOICES, default="0", validate_choice=False)
    feedback = StringField(_l("Feedback"), validators=[Optional(), Length(max=2000)])


class NumberForm(Form):
    """An accepted number: value ± tolerance, or a range from..to."""

    value = StringField(_l("Value"), validators=[Optional(), Length(max=40)])
    tolerance = StringField(_l("± tolerance"), validators=[Optional(), Length(max=40)])
    minimum = StringField(_l("or from"), validators=[Optional(), Length(max=40)])
    maximum = StringField(_l("to"), validators=[Optional(), Length(max=40)])
    fraction = SelectField(_l("Mark"), choices=FRACTION_CHOICES, default="1", validate_choice=False)
    feedback = StringField(_l("Feedback"), validators=[Optional(), Length(max=2000)])


class PairForm(Form):
    """One matching pair."""

    left = StringField(_l("Item"), validators=[Optional(), Length(max=1000)])
    right = StringField(_l("Matches"), validators=[Optional(), Length(max=1000)])


class QuestionForm(BaseForm):
    """Every question type's fields; the page shows those of the type being edited."""

    category = StringField(
        _l("Category"),
        validators=[Optional(), Length(max=255)],
        description=_l("A path such as chuong-1/co-ban; empty for the default category."),
    )
    name = StringField(_l("Question title"), validators=[Optional(), Length(max=255)])
    text = TextAreaField(
        _l("Question text (Markdown)"),
        validators=[DataRequired(_l("Write the question.")), Length(max=20_000)],
        render_kw={"rows": 5},
    )
    general_feedback = TextAreaField(
        _l("General feedback"),
        validators=[Optional(), Length(max=5000)],
        description=_l("Shown to every learner after answering, when the quiz allows."),
        render_kw={"rows": 2},
    )
    answers = FieldList(FormField(AnswerForm), min_entries=5, max_entries=MAX_ROWS)
    case_sensitive = BooleanField(_l("Upper and lower case must match"))
    correct = SelectField(
        _l("The statement is"),
        choices=[SelectChoice("true", _l("true")), SelectChoice("false", _l("false"))],
        default="true",
        validate_choice=False,  # only true/false questions read it (as "true" or not)
    )
    feedback_true = StringField(_l("Feedback for “true”"), validators=[Optional()])
    feedback_false = StringField(_l("Feedback for “false”"), validators=[Optional()])
    numbers = FieldList(FormField(NumberForm), min_entries=3, max_entries=MAX_ROWS)
    pairs = FieldList(FormField(PairForm), min_entries=5, max_entries=MAX_ROWS)
    preview = SubmitField(_l("Preview"))
    submit = SubmitField(_l("Save"))
