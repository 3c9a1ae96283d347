"""The question editor: a QuestionForm to a QuestionData, checked by the import's rules.

``build(kind, form)`` reads the fields of the question's type (blank rows are skipped)
and checks what a person can get wrong in a form, with messages about the form. Then the
question goes through the GIFT writer and reader once: a question the editor accepts is
one an import would accept, and exports cleanly.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from elearn.core.services import ServiceError
from elearn.core.vietnamese import nfc
from elearn.quiz import data as qdata
from elearn.quiz.formats import gift
from elearn.quiz.types import parse_number

EDITABLE_TYPES = qdata.QUESTION_TYPES


def build(kind: str, form, text_format: str = "markdown") -> qdata.QuestionData:
    """Return the question the form describes; raise ServiceError naming the field.

    ``text_format`` stays what the question had (an imported HTML question stays HTML).
    """
    if kind not in EDITABLE_TYPES:
        raise ServiceError(_l("Unknown question type."))
    for field in (form.name, form.category):
        if any(ch in (field.data or "") for ch in "\r\n\t{}"):
            raise ServiceError(_l("Use one line, without braces."), field.name)
    common = {
        "type": kind,
        "name": nfc((form.name.data or "").strip()),
        "category": nfc((form.category.data or "").strip().strip("/")),
        "text": nfc((form.text.data or "").strip()),
        "text_format": text_format,
        "general_feedback": nfc((form.general_feedback.data or "").strip()),
    }
    if kind in ("multichoice", "multiresponse", "shortanswer"):
        question = qdata.QuestionData(**common, **_answers(kind, form))
    elif kind == "truefalse":
        question = qdata.QuestionData(
            **common,
            answers=qdata.truefalse_answers(
                form.correct.data == "true",
                nfc((form.feedback_true.data or "").strip()),
                nfc((form.feedback_false.data or "").strip()),
            ),
        )
    elif kind == "numerical":
        question = qdata.QuestionData(**common, numerical=_numbers(form))
    elif kind == "matching":
        question = qdata.QuestionData(**common, pairs=_pairs(form))
    else:
        question = qdata.QuestionData(**common)
    _same_as_import(question)
    return question


def _answers(kind: str, form) -> dict:
    answers = []
    for row in form.answers.entries:
        text = nfc((row.form.text.data or "").strip())
        if not text:
            continue
        fraction = _fraction(row.form.fraction.data)
        answers.append(
            qdata.AnswerData(text, fraction, nfc((row.form.feedback.data or "").strip()))
        )
    if kind == "shortanswer":
        if not any(a.fraction >= 1 for a in answers):
            raise ServiceError(_l("Give at least one accepted answer worth 100%."), "answers")
        options = {"case_sensitive": True} if form.case_sensitive.data else {}
        return {"answers": answers, "options": options}
    if len(answers) < 2:
        raise ServiceError(_l("Write at least two answers."), "answers")
    if kind == "multichoice" and not any(a.fraction >= 1 for a in answers):
        raise ServiceError(_l("Give one answer 100%: the right one."), "answers")
    if kind == "multiresponse":
        total = sum(a.fraction for a in answers if a.fraction > 0)
        if abs(total - 1) > 0.001:
            raise ServiceError(
                _l(
                    "The right answers' marks must add up to 100%% (now %(total)s%%).",
                    total=round(total * 100, 2),
                ),
                "answers",
            )
    return {"answers": answers}


def _fraction(raw) -> float:
    """A mark from the menu as a share of the question, -1.0 to 1.0."""
    value = parse_number(raw)
    if value is None or not -1 <= value <= 1:
        raise ServiceError(_l("A mark must be between -100% and 100%."), "answers")
    return value


def _numbers(form) -> list[qdata.NumericalAnswer]:
    numbers = []
    for row in form.numbers.entries:
        fields = row.form
        raw = [fields.value.data, fields.tolerance.data, fields.minimum.data, fields.maximum.data]
        if not any((v or "").strip() for v in raw):
            continue
        value, tolerance = parse_number(fields.value.data), parse_number(fields.tolerance.data)
        low, high = parse_number(fields.minimum.data), parse_number(fields.maximum.data)
        fraction, feedback = _fraction(fields.fraction.data), (fields.feedback.data or "").strip()
        if value is not None:
            numbers.append(
                qdata.NumericalAnswer(
                    value=value,
                    tolerance=abs(tolerance or 0.0),
                    fraction=fraction,
                    feedback=nfc(feedback),
                )
            )
        elif low is not None and high is not None and low <= high:
            numbers.append(
                qdata.NumericalAnswer(
                    minimum=low, maximum=high, fraction=fraction, feedback=nfc(feedback)
                )
            )
        else:
            raise ServiceError(
                _l("Write a number (3,14 or 3.14), or a range from a number to a larger one."),
                "numbers",
            )
    if not any(n.fraction >= 1 for n in numbers):
        raise ServiceError(_l("Give at least one accepted number worth 100%."), "numbers")
    return numbers


def _pairs(form) -> list[tuple[str, str]]:
    pairs = []
    for row in form.pairs.entries:
        left = nfc((row.form.left.data or "").strip())
        right = nfc((row.form.right.data or "").strip())
        if not left and not right:
            continue
        if not (left and right):
            raise ServiceError(_l("Every pair needs both an item and what it matches."), "pairs")
        pairs.append((left, right))
    if len(pairs) < 2:
        raise ServiceError(_l("Write at least two pairs."), "pairs")
    return pairs


def _same_as_import(question: qdata.QuestionData) -> None:
    """Refuse what an import would refuse (the GIFT reader's rules), naming the problem."""
    back, problems = gift.parse_with_errors(gift.export([question]))
    if problems:
        raise ServiceError(problems[0].message, "text")
    if len(back) != 1 or back[0].type != question.type:
        # e.g. a multiple choice whose answers are all 100% reads back as a short answer
        raise ServiceError(
            _l("Give the wrong answers less than 100%, or choose another question type."),
            "answers" if question.answers else "text",
        )


def fill(form, question: qdata.QuestionData) -> None:
    """Put a stored question into the form's fields (for editing)."""
    form.category.data = question.category
    form.name.data = question.name
    form.text.data = question.text
    form.general_feedback.data = question.general_feedback
    if question.type in ("multichoice", "multiresponse", "shortanswer"):
        while len(form.answers.entries) < min(len(question.answers) + 1, form.answers.max_entries):
            form.answers.append_entry()
        for row, answer in zip(form.answers.entries, question.answers, strict=False):
            row.form.text.data = answer.text
            row.form.fraction.data = _choice(row.form.fraction, answer.fraction)
            row.form.feedback.data = answer.feedback
        form.case_sensitive.data = bool(question.options.get("case_sensitive"))
    elif question.type == "truefalse":
        form.correct.data = "true" if question.correct else "false"
        form.feedback_true.data = question.answers[0].feedback
        form.feedback_false.data = question.answers[1].feedback
    elif question.type == "numerical":
        while len(form.numbers.entries) < min(
            len(question.numerical) + 1, form.numbers.max_entries
        ):
            form.numbers.append_entry()
        for row, number in zip(form.numbers.entries, question.numerical, strict=False):
            if number.is_range:
                row.form.minimum.data, row.form.maximum.data = number.minimum, number.maximum
            else:
                row.form.value.data, row.form.tolerance.data = number.value, number.tolerance
            row.form.fraction.data = _choice(row.form.fraction, number.fraction)
            row.form.feedback.data = number.feedback
    elif question.type == "matching":
        while len(form.pairs.entries) < min(len(question.pairs) + 1, form.pairs.max_entries):
            form.pairs.append_entry()
        for row, (left, right) in zip(form.pairs.entries, question.pairs, strict=False):
            row.form.left.data, row.form.right.data = left, right


def _choice(field, fraction: float) -> str:
    """Select a stored fraction in the menu, adding it when an import used another weight."""
    from wtforms import SelectChoice

    for choice in field.choices:
        if abs(float(choice.value) - fraction) < 1e-6:
            return choice.value
    value = f"{fraction:.7f}".rstrip("0").rstrip(".")
    field.choices = [*field.choices, SelectChoice(value, f"{fraction * 100:g}%")]
    return value
