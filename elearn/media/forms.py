"""Forms for video lessons and their captions (validation only)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import TextInput

from elearn.core.forms import BaseForm

REQUIRED = _l("This field is required.")


class VideoForm(BaseForm):
    """A video lesson's title, text beside the player and completion settings."""

    title = StringField(_l("Lesson title"), validators=[DataRequired(REQUIRED), Length(max=255)])
    markdown = TextAreaField(
        _l("Text beside the video (Markdown)"),
        validators=[Optional(), Length(max=200_000)],
        description=_l(
            "A summary or the transcript, shown beside the player. ## for a heading, "
            "- for a list item, **bold**, *italic*."
        ),
        render_kw={"rows": 10},
    )
    required = BooleanField(_l("Counts toward completing the course"), default=True)
    threshold = IntegerField(
        _l("Share of the video to watch, in percent"),
        default=90,
        validators=[InputRequired(REQUIRED), NumberRange(10, 100)],
        description=_l(
            "The lesson is complete when the learner has watched this much of it; "
            "skipping ahead does not count."
        ),
    )
    submit = SubmitField(_l("Save"))


class CaptionForm(BaseForm):
    """Upload a caption file (WebVTT or SRT) for one language."""

    language = SelectField(
        _l("Language of the captions"),
        choices=[SelectChoice("vi", "Tiếng Việt"), SelectChoice("en", "English")],
    )
    file = FileField(
        _l("Caption file (.vtt or .srt)"),
        validators=[FileRequired(_l("Choose a caption file."))],
        description=_l("UTF-8 or Windows-1258 text. A track in the same language is replaced."),
        render_kw={"accept": ".vtt,.srt,text/vtt"},
    )
    submit = SubmitField(_l("Add captions"))


class QuotaForm(BaseForm):
    """A course's storage quota in MB: empty for the site default, 0 for no limit."""

    # A text box, not type=number: a browser sends an empty value for what it cannot read
    # as a number ("1e", "5,5"), which would silently mean "the site default" here.
    quota_mb = IntegerField(
        _l("Quota in MB"),
        validators=[Optional(), NumberRange(0, 100_000_000)],
        widget=TextInput(),
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    submit = SubmitField(_l("Save"))
