"""Forms for the question bank and for building and grading quizzes (validation only)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FieldList,
    FloatField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

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


# --- quizzes -----------------------------------------------------------------------------

REQUIRED = _l("This field is required.")
#: How a datetime-local input sends its value (seconds only if the browser adds them).
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
REVIEW_CHOICES = [
    SelectChoice("after", _l("right after the attempt")),
    SelectChoice("closed", _l("only once the quiz has closed")),
    SelectChoice("never", _l("not shown")),
]


class NumberField(FloatField):
    """A number typed with a decimal comma (1,5) or a dot (1.5)."""

    def process_formdata(self, valuelist):
        """Read a decimal comma as a dot before parsing."""
        if valuelist:
            valuelist = [str(value).strip().replace(",", ".") for value in valuelist]
        super().process_formdata(valuelist)


class LocalDateTimeField(DateTimeLocalField):
    """A date and time in Vietnam's time zone (the view converts it to UTC)."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("format", LOCAL_FORMATS)
        kwargs.setdefault("invalid_value_message", _l("Enter a date and a time."))
        super().__init__(label, validators or [Optional()], **kwargs)


class QuizForm(BaseForm):
    """A quiz's text, completion rule and settings (field names match the services')."""

    title = StringField(_l("Quiz title"), validators=[DataRequired(REQUIRED), Length(max=255)])
    markdown = TextAreaField(
        _l("Introduction (Markdown)"),
        validators=[Optional(), Length(max=200_000)],
        description=_l("Shown before a learner starts: what the quiz covers, its rules."),
        render_kw={"rows": 6},
    )
    required = BooleanField(_l("Counts toward completing the course"), default=True)
    completion = SelectField(
        _l("The quiz is complete when the learner"),
        choices=[
            SelectChoice("passed", _l("reaches the pass mark")),
            SelectChoice("attempted", _l("finishes an attempt")),
        ],
        default="passed",
    )
    open_at = LocalDateTimeField(
        _l("Opens at"), description=_l("Vietnam time. Leave empty to open it now.")
    )
    close_at = LocalDateTimeField(
        _l("Closes at"), description=_l("Vietnam time. Leave empty to keep it open.")
    )
    time_limit = IntegerField(
        _l("Time limit (minutes)"),
        validators=[Optional(), NumberRange(1, 480)],
        description=_l("Leave empty for no limit."),
    )
    attempts = IntegerField(
        _l("Attempts allowed"),
        default=0,
        validators=[InputRequired(REQUIRED), NumberRange(0, 100)],
        description=_l("0 for unlimited."),
    )
    grading = SelectField(
        _l("Grade from several attempts"),
        choices=[
            SelectChoice("highest", _l("the highest grade")),
            SelectChoice("average", _l("the average grade")),
            SelectChoice("first", _l("the first attempt")),
            SelectChoice("last", _l("the last attempt")),
        ],
        default="highest",
    )
    pass_mark = NumberField(
        _l("Pass mark (%)"),
        default=50,
        validators=[Optional(), NumberRange(0.01, 100)],
        description=_l("Leave empty for no pass mark."),
    )
    shuffle_questions = BooleanField(_l("Shuffle the questions for each attempt"))
    shuffle_answers = BooleanField(_l("Shuffle the choices within questions"), default=True)
    per_page = IntegerField(
        _l("Questions per page"),
        default=5,
        validators=[InputRequired(REQUIRED), NumberRange(0, 100)],
        description=_l("0 puts every question on one page."),
    )
    navigation = SelectField(
        _l("Navigation"),
        choices=[
            SelectChoice("free", _l("free: learners may go back to earlier pages")),
            SelectChoice("sequential", _l("sequential: earlier pages are locked")),
        ],
        default="free",
    )
    review_marks = SelectField(_l("Learners see their marks"), choices=REVIEW_CHOICES)
    review_correct = SelectField(_l("Learners see the right answers"), choices=REVIEW_CHOICES)
    review_feedback = SelectField(_l("Learners see the feedback"), choices=REVIEW_CHOICES)
    submit = SubmitField(_l("Save"))


class AddQuestionsForm(BaseForm):
    """Add chosen questions of the bank to a quiz."""

    questions = SelectMultipleField(
        _l("Questions of the bank"),
        coerce=int,
        choices=[],
        invalid_choice_message=_l("Not a valid choice."),
    )
    mark = NumberField(
        _l("Mark of each question"),
        default=1.0,
        validators=[InputRequired(REQUIRED), NumberRange(0.01, 100)],
    )
    submit = SubmitField(_l("Add the ticked questions"))


class RandomSlotForm(BaseForm):
    """Add a slot that draws random questions from a category for each attempt."""

    category = SelectField(_l("Category"), coerce=int, choices=[])
    count = IntegerField(
        _l("Number of questions to draw"),
        default=1,
        validators=[InputRequired(REQUIRED), NumberRange(1, 100)],
    )
    mark = NumberField(
        _l("Mark of each question"),
        default=1.0,
        validators=[InputRequired(REQUIRED), NumberRange(0.01, 100)],
    )
    submit = SubmitField(_l("Add random questions"))


class SlotMarkForm(BaseForm):
    """Change the mark of a slot's questions."""

    mark = NumberField(_l("Mark"), validators=[InputRequired(REQUIRED), NumberRange(0.01, 100)])
    submit = SubmitField(_l("Change"))


class OverrideForm(BaseForm):
    """More time, attempts or days for one learner or for a unit's people."""

    username = StringField(
        _l("Username of the learner"),
        validators=[Optional(), Length(max=64)],
        render_kw={"autocomplete": "off", "autocapitalize": "none"},
    )
    unit_code = StringField(
        _l("or the code of a unit"),
        validators=[Optional(), Length(max=64)],
        description=_l("Everyone in the unit and the units below it."),
        render_kw={"autocomplete": "off", "autocapitalize": "none"},
    )
    extra_minutes = IntegerField(
        _l("Extra minutes"),
        default=0,
        validators=[InputRequired(REQUIRED), NumberRange(0, 480)],
        description=_l("Added to the time limit, if the quiz has one."),
    )
    extra_attempts = IntegerField(
        _l("Extra attempts"),
        default=0,
        validators=[InputRequired(REQUIRED), NumberRange(0, 100)],
        description=_l("Added to the attempts allowed, if they are limited."),
    )
    close_at = LocalDateTimeField(
        _l("Closes for them at"), description=_l("Vietnam time. Leave empty to keep the quiz's.")
    )
    reason = StringField(
        _l("Reason"),
        validators=[Optional(), Length(max=255)],
        description=_l("For example: a medical certificate, a decision of the unit."),
    )
    submit = SubmitField(_l("Give the exception"))


class GradeForm(BaseForm):
    """A person's mark and comment for one question of an attempt."""

    marks = NumberField(_l("Marks"), validators=[InputRequired(REQUIRED), NumberRange(0)])
    comment = TextAreaField(
        _l("Comment to the learner"),
        validators=[Optional(), Length(max=5000)],
        render_kw={"rows": 3},
    )
    submit = SubmitField(_l("Save the grade"))
