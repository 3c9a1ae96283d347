"""Aiken: reading, the refusals, export limits and round trips."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from elearn.quiz.data import AnswerData, QuestionData
from elearn.quiz.formats import FormatError, aiken, gift

SAMPLE = """\
Cơ quan nào quản lý công chức?
A. Bộ Nội vụ
B. Bộ Tài chính
C) Bộ Y tế
ANSWER: A

Luật Cán bộ, công chức được thông qua
vào năm nào?
A) 2008
B) 2010
ANSWER: A
Câu hỏi viết liền, không có dòng trống?
A. Có
B. Không
ANSWER: B
"""


def test_sample_reads_as_multiple_choice_questions():
    questions = aiken.parse(SAMPLE)
    assert [q.to_json() for q in questions] == [
        {
            "type": "multichoice",
            "name": "",
            "category": "",
            "text": "Cơ quan nào quản lý công chức?",
            "text_format": "plain",
            "general_feedback": "",
            "line": 1,
            "answers": [
                {"text": "Bộ Nội vụ", "fraction": 1.0, "feedback": ""},
                {"text": "Bộ Tài chính", "fraction": 0.0, "feedback": ""},
                {"text": "Bộ Y tế", "fraction": 0.0, "feedback": ""},
            ],
        },
        {
            "type": "multichoice",
            "name": "",
            "category": "",
            "text": "Luật Cán bộ, công chức được thông qua\nvào năm nào?",
            "text_format": "plain",
            "general_feedback": "",
            "line": 7,
            "answers": [
                {"text": "2008", "fraction": 1.0, "feedback": ""},
                {"text": "2010", "fraction": 0.0, "feedback": ""},
            ],
        },
        {
            "type": "multichoice",
            "name": "",
            "category": "",
            "text": "Câu hỏi viết liền, không có dòng trống?",
            "text_format": "plain",
            "general_feedback": "",
            "line": 12,
            "answers": [
                {"text": "Có", "fraction": 0.0, "feedback": ""},
                {"text": "Không", "fraction": 1.0, "feedback": ""},
            ],
        },
    ]


#: (case, Aiken source, expected English message, line of the problem)
MALFORMED = [
    ("missing ANSWER", "Câu hỏi?\nA. Có\nB. Không\n", "The question has no ANSWER: line.", 1),
    (
        "missing ANSWER before the next question",
        "Câu 1?\nA. Có\nB. Không\n\nCâu 2?\nA. Có\nB. Không\nANSWER: A\n",
        "The question has no ANSWER: line.",
        1,
    ),
    (
        "answer letter not among the options",
        "Câu hỏi?\nA. Có\nB. Không\nANSWER: C\n",
        "ANSWER: C is not one of the options.",
        4,
    ),
    (
        "answer with two letters",
        "Câu hỏi?\nA. Có\nB. Không\nANSWER: AB\n",
        "ANSWER: must name one option letter, such as ANSWER: B.",
        4,
    ),
    (
        "answer without a letter",
        "Câu hỏi?\nA. Có\nB. Không\nANSWER:\n",
        "ANSWER: must name one option letter, such as ANSWER: B.",
        4,
    ),
    ("one option", "Câu hỏi?\nA. Có\nANSWER: A\n", "A question needs at least two options.", 1),
    ("no options", "Câu hỏi?\nANSWER: A\n", "A question needs at least two options.", 1),
    (
        "letter skipped",
        "Câu hỏi?\nA. Một\nB. Hai\nD. Bốn\nANSWER: A\n",
        "Option D should be C: letters run A, B, C… in order, each once.",
        4,
    ),
    (
        "letter repeated",
        "Câu hỏi?\nA. Một\nA. Hai\nANSWER: A\n",
        "Option A should be B: letters run A, B, C… in order, each once.",
        3,
    ),
    (
        "not starting at A",
        "Câu hỏi?\nB. Một\nC. Hai\nANSWER: B\n",
        "Option B should be A: letters run A, B, C… in order, each once.",
        2,
    ),
    (
        "text among the options",
        "Câu hỏi?\nA. Một\nhai\nB. Ba\nANSWER: A\n",
        'Expected an option such as "C. …" or the ANSWER: line here.',
        3,
    ),
    ("no question text", "A. Có\nB. Không\nANSWER: A\n", "The question has no text.", 1),
]


def _messages(problems):
    with force_locale("en"):
        return [(str(p.message), p.line) for p in problems]


@pytest.mark.parametrize(
    ("source", "message", "line"),
    [pytest.param(source, message, line, id=name) for name, source, message, line in MALFORMED],
)
def test_malformed_question_is_refused_with_its_line(app, source, message, line):
    _, problems = aiken.parse_with_errors(source)
    assert (message, line) in _messages(problems)


def test_good_questions_are_kept_and_problems_numbered(app):
    text = "Một?\nA. x\nB. y\nANSWER: A\n\nHai?\nA. x\nANSWER: A\n\nBa?\nA. x\nB. y\nANSWER: B\n"
    questions, problems = aiken.parse_with_errors(text)
    assert [q.text for q in questions] == ["Một?", "Ba?"]
    assert [(p.question, p.line) for p in problems] == [(2, 6)]
    with pytest.raises(FormatError):
        aiken.parse(text)


def test_read_accepts_bom_and_crlf():
    data = "\ufeffCâu hỏi?\r\nA. Có\r\nB. Không\r\nANSWER: B\r\n".encode()
    (question,) = aiken.read(data)
    assert [a.fraction for a in question.answers] == [0.0, 1.0]


def test_read_refuses_latin1(app):
    with pytest.raises(FormatError) as refused:
        aiken.read(b"Caf\xe9?\nA. x\nB. y\nANSWER: A\n")
    assert _messages(refused.value.problems) == [
        ("The file is not UTF-8 text. Save it as UTF-8 and try again.", 1)
    ]


def _without_lines(questions):
    return [{k: v for k, v in q.to_json().items() if k != "line"} for q in questions]


def test_round_trip_keeps_vietnamese_text():
    questions = aiken.parse(SAMPLE)
    exported = aiken.export(questions)
    assert exported.startswith("Cơ quan nào quản lý công chức?\nA. Bộ Nội vụ\n")
    assert _without_lines(aiken.parse(exported)) == _without_lines(questions)


def test_gift_multiple_choice_exports_to_aiken():
    questions = gift.parse("::T:: Thủ đô? {~Huế =Hà Nội#Đúng ~Đà Nẵng}")
    assert aiken.export(questions) == "Thủ đô?\nA. Huế\nB. Hà Nội\nC. Đà Nẵng\nANSWER: B\n"


def test_export_refuses_other_types_and_names_them(app):
    questions = gift.parse("::Một:: Đúng? {T}\n\n::Hai:: Chọn {=a ~b}\n\n::Ba:: Viết {}")
    with pytest.raises(FormatError) as refused:
        aiken.export(questions)
    problems = refused.value.problems
    assert [(p.question, p.title) for p in problems] == [(1, "Một"), (3, "Ba")]
    assert _messages(problems)[0][0] == (
        "Aiken holds only multiple choice questions with one right answer; "
        "this is a truefalse question."
    )


@pytest.mark.parametrize(
    ("question", "message"),
    [
        pytest.param(
            gift.parse("Q {=a ~%50%b}")[0],
            "Aiken cannot hold partial credit: one answer must be right, the others 0%.",
            id="partial credit",
        ),
        pytest.param(
            QuestionData(
                type="multichoice",
                text="Q",
                answers=[AnswerData("a\nb", 1.0), AnswerData("c", 0.0)],
            ),
            "Aiken cannot hold empty options, line breaks in options, blank lines in the "
            "question, or question lines that look like an option or ANSWER:.",
            id="line break in an option",
        ),
        pytest.param(
            QuestionData(
                type="multichoice",
                text="Chọn:\nA. một ý trong câu",
                answers=[AnswerData("a", 1.0), AnswerData("c", 0.0)],
            ),
            "Aiken cannot hold empty options, line breaks in options, blank lines in the "
            "question, or question lines that look like an option or ANSWER:.",
            id="question line like an option",
        ),
        pytest.param(
            QuestionData(
                type="multichoice",
                text="Q",
                answers=[AnswerData(str(i), 1.0 if i == 0 else 0.0) for i in range(27)],
            ),
            "Aiken cannot hold more than 26 options.",
            id="27 options",
        ),
    ],
)
def test_export_refuses_what_aiken_cannot_hold(app, question, message):
    with pytest.raises(FormatError) as refused:
        aiken.export([question])
    assert _messages(refused.value.problems)[0][0] == message
