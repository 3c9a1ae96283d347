"""GIFT: every construct of Moodle's documentation, the refusals, encodings and round trips."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from flask_babel import force_locale
from hypothesis import given
from hypothesis import strategies as st

from elearn.core.services import ServiceError
from elearn.quiz.data import AnswerData, QuestionData
from elearn.quiz.formats import FormatError, aiken, gift


def question(type_, text, **fields):
    """The expected JSON of one question, with the defaults filled in."""
    return {
        "type": type_,
        "name": "",
        "category": "",
        "text": text,
        "text_format": "moodle",
        "general_feedback": "",
        "line": 1,
    } | fields


def a(text, fraction=0.0, feedback=""):
    return {"text": text, "fraction": fraction, "feedback": feedback}


def num(value, tolerance=0.0, fraction=1.0, feedback=""):
    return {"value": value, "tolerance": tolerance, "fraction": fraction, "feedback": feedback}


def tf(text, correct, feedback_true="", feedback_false="", **fields):
    return question(
        "truefalse",
        text,
        correct=correct,
        feedback_true=feedback_true,
        feedback_false=feedback_false,
        **fields,
    )


BLANK = {"blank": True}
GRANT = "Who's buried in Grant's tomb?"

#: (Moodle documentation construct, GIFT source, expected JSON of its one question)
CONSTRUCTS = [
    (
        "multiple choice",
        "Who's buried in Grant's tomb?{~Grant ~Jefferson =no one}",
        question("multichoice", GRANT, answers=[a("Grant"), a("Jefferson"), a("no one", 1.0)]),
    ),
    (
        "missing word",
        "Grant is {~buried =entombed ~living} in Grant's tomb.",
        question(
            "multichoice",
            "Grant is _____ in Grant's tomb.",
            options=BLANK,
            answers=[a("buried"), a("entombed", 1.0), a("living")],
        ),
    ),
    (
        "answers on separate lines",
        "The American holiday of Thanksgiving is celebrated on the {\n"
        "    ~second\n    ~third\n    =fourth\n} Thursday of November.",
        question(
            "multichoice",
            "The American holiday of Thanksgiving is celebrated on the _____ Thursday of November.",
            options=BLANK,
            answers=[a("second"), a("third"), a("fourth", 1.0)],
        ),
    ),
    (
        "short answer",
        "Who's buried in Grant's tomb?{=no one =nobody}",
        question("shortanswer", GRANT, answers=[a("no one", 1.0), a("nobody", 1.0)]),
    ),
    (
        "short answer, missing word",
        "Two plus {=two =2} equals four.",
        question(
            "shortanswer",
            "Two plus _____ equals four.",
            options=BLANK,
            answers=[a("two", 1.0), a("2", 1.0)],
        ),
    ),
    ("true/false T", "The sun rises in the east.{T}", tf("The sun rises in the east.", True)),
    (
        "true/false F",
        "Grant is buried in Grant's tomb.{F}",
        tf("Grant is buried in Grant's tomb.", False),
    ),
    ("true/false TRUE", "Hà Nội là thủ đô.{TRUE}", tf("Hà Nội là thủ đô.", True)),
    ("true/false FALSE", "Huế là thủ đô.{FALSE}", tf("Huế là thủ đô.", False)),
    (
        "true/false with both feedbacks",
        "Luật Cán bộ, công chức có hiệu lực từ 2010.{T#Sai rồi#Đúng}",
        tf("Luật Cán bộ, công chức có hiệu lực từ 2010.", True, "Đúng", "Sai rồi"),
    ),
    (
        "true/false with the wrong-answer feedback only",
        "Grant is buried in Grant's tomb.{FALSE#No one is buried in Grant's tomb.}",
        tf("Grant is buried in Grant's tomb.", False, "No one is buried in Grant's tomb.", ""),
    ),
    (
        "matching",
        "Match the following countries with their corresponding capitals. {\n"
        "    =Canada -> Ottawa\n    =Italy  -> Rome\n    =Japan  -> Tokyo\n"
        "    =India  -> New Delhi\n}",
        question(
            "matching",
            "Match the following countries with their corresponding capitals.",
            pairs=[
                {"question": "Canada", "answer": "Ottawa"},
                {"question": "Italy", "answer": "Rome"},
                {"question": "Japan", "answer": "Tokyo"},
                {"question": "India", "answer": "New Delhi"},
            ],
        ),
    ),
    (
        "numerical",
        "When was Ulysses S. Grant born?{#1822}",
        question("numerical", "When was Ulysses S. Grant born?", numerical=[num(1822.0)]),
    ),
    (
        "numerical with tolerance, missing word",
        "What is the value of pi (to 3 decimal places)? {#3.14159:0.0005}.",
        question(
            "numerical",
            "What is the value of pi (to 3 decimal places)? _____.",
            options=BLANK,
            numerical=[num(3.14159, 0.0005)],
        ),
    ),
    (
        "numerical range",
        "What is the value of pi (to 3 decimal places)? {#3.141..3.142}",
        question(
            "numerical",
            "What is the value of pi (to 3 decimal places)?",
            numerical=[{"min": 3.141, "max": 3.142, "fraction": 1.0, "feedback": ""}],
        ),
    ),
    (
        "several numerical answers with partial credit",
        "When was Ulysses S. Grant born? {#\n    =1822:0      # Correct! Full credit.\n"
        "    =%50%1822:2  # He was born in 1822. Half credit for being close.\n}",
        question(
            "numerical",
            "When was Ulysses S. Grant born?",
            numerical=[
                num(1822.0, 0.0, 1.0, "Correct! Full credit."),
                num(1822.0, 2.0, 0.5, "He was born in 1822. Half credit for being close."),
            ],
        ),
    ),
    (
        "numerical with feedback",
        "Số tỉnh, thành phố? {#63:0#Đúng: 63 tỉnh, thành phố}",
        question(
            "numerical",
            "Số tỉnh, thành phố?",
            numerical=[num(63.0, 0.0, 1.0, "Đúng: 63 tỉnh, thành phố")],
        ),
    ),
    (
        "essay",
        "Write a short biography of Dag Hammarskjöld. {}",
        question("essay", "Write a short biography of Dag Hammarskjöld."),
    ),
    (
        "description",
        "You can use your pencil and paper for these next math questions.",
        question("description", "You can use your pencil and paper for these next math questions."),
    ),
    (
        "comment",
        "// question: 1 name: Grant's tomb\n"
        "Who's buried in Grant's tomb?{~Grant ~Jefferson =no one}",
        question(
            "multichoice", GRANT, line=2, answers=[a("Grant"), a("Jefferson"), a("no one", 1.0)]
        ),
    ),
    (
        "question name",
        "::Kanji Origins::Japanese characters originally\ncame from what country? {=China ~India}",
        question(
            "multichoice",
            "Japanese characters originally\ncame from what country?",
            name="Kanji Origins",
            answers=[a("China", 1.0), a("India")],
        ),
    ),
    (
        "answer feedback",
        "What's the answer to this multiple-choice question? {\n"
        "~wrong answer#feedback comment on the wrong answer\n"
        "~another wrong answer#feedback comment on this wrong answer\n"
        "=right answer#Very good!}",
        question(
            "multichoice",
            "What's the answer to this multiple-choice question?",
            answers=[
                a("wrong answer", 0.0, "feedback comment on the wrong answer"),
                a("another wrong answer", 0.0, "feedback comment on this wrong answer"),
                a("right answer", 1.0, "Very good!"),
            ],
        ),
    ),
    (
        "short answer feedback",
        "Who's buried in Grant's tomb?{\n=no one#excellent answer!\n=nobody#excellent answer!}",
        question(
            "shortanswer",
            GRANT,
            answers=[a("no one", 1.0, "excellent answer!"), a("nobody", 1.0, "excellent answer!")],
        ),
    ),
    (
        "percentage weight",
        "Difficult question.{~wrong answer ~%50%half credit answer =full credit answer}",
        question(
            "multichoice",
            "Difficult question.",
            answers=[a("wrong answer"), a("half credit answer", 0.5), a("full credit answer", 1.0)],
        ),
    ),
    (
        "short answer weights",
        "::Jesus' hometown::Jesus Christ was from {\n"
        "=Nazareth#Yes! That's right!\n=%75%Nazereth#Right, but misspelled.\n"
        "=%25%Bethlehem#He was born here, but not raised here.\n}.",
        question(
            "shortanswer",
            "Jesus Christ was from _____.",
            name="Jesus' hometown",
            options=BLANK,
            answers=[
                a("Nazareth", 1.0, "Yes! That's right!"),
                a("Nazereth", 0.75, "Right, but misspelled."),
                a("Bethlehem", 0.25, "He was born here, but not raised here."),
            ],
        ),
    ),
    (
        "multiple answers",
        "What two people are entombed in Grant's tomb? {\n~%-100%No one\n~%50%Grant\n"
        "~%50%Grant's wife\n~%-100%Grant's father\n}",
        question(
            "multiresponse",
            "What two people are entombed in Grant's tomb?",
            answers=[
                a("No one", -1.0),
                a("Grant", 0.5),
                a("Grant's wife", 0.5),
                a("Grant's father", -1.0),
            ],
        ),
    ),
    (
        "multiple answers with thirds",
        "Chọn ba cơ quan: {~%33.33333%Bộ Nội vụ ~%33.33333%Bộ Tư pháp "
        "~%33.33333%Bộ Tài chính ~%-100%Công ty A}",
        question(
            "multiresponse",
            "Chọn ba cơ quan:",
            answers=[
                a("Bộ Nội vụ", 0.3333333),
                a("Bộ Tư pháp", 0.3333333),
                a("Bộ Tài chính", 0.3333333),
                a("Công ty A", -1.0),
            ],
        ),
    ),
    (
        "escaped equals signs",
        r"Which answer equals 5? {~ \= 2 + 2 = \= 2 + 3 ~ \= 2 + 4}",
        question(
            "multichoice",
            "Which answer equals 5?",
            answers=[a("= 2 + 2"), a("= 2 + 3", 1.0), a("= 2 + 4")],
        ),
    ),
    (
        "control characters",
        "::GIFT Control Characters:: Which is NOT a control character? {\n"
        r"~ \~ # \~ is a control character."
        "\n"
        r"~ \= # \= is a control character."
        "\n"
        r"~ \# # \# is a control character."
        "\n"
        r"~ \{ # \{ is a control character."
        "\n"
        r"~ \} # \} is a control character."
        "\n"
        r"= \ # Correct! \ (backslash) escapes them."
        "\n}",
        question(
            "multichoice",
            "Which is NOT a control character?",
            name="GIFT Control Characters",
            answers=[
                a("~", 0.0, "~ is a control character."),
                a("=", 0.0, "= is a control character."),
                a("#", 0.0, "# is a control character."),
                a("{", 0.0, "{ is a control character."),
                a("}", 0.0, "} is a control character."),
                a("\\", 1.0, "Correct! \\ (backslash) escapes them."),
            ],
        ),
    ),
    (
        "escaped colon and newline",
        r"::Giờ\: hành chính::Giờ làm việc\: 8\:00\nđến 17\:00? {T}",
        tf("Giờ làm việc: 8:00\nđến 17:00?", True, name="Giờ: hành chính"),
    ),
    (
        "general feedback",
        "Thủ đô của Việt Nam? {=Hà Nội ~Huế ####Hà Nội là thủ đô từ năm 1976.}",
        question(
            "multichoice",
            "Thủ đô của Việt Nam?",
            general_feedback="Hà Nội là thủ đô từ năm 1976.",
            answers=[a("Hà Nội", 1.0), a("Huế")],
        ),
    ),
    (
        "general feedback on an essay",
        "Nêu ba lợi ích của chính phủ số. {####Gợi ý: minh bạch, nhanh, rẻ.}",
        question(
            "essay",
            "Nêu ba lợi ích của chính phủ số.",
            general_feedback="Gợi ý: minh bạch, nhanh, rẻ.",
        ),
    ),
    (
        "category",
        "$CATEGORY: $course$/Cải cách hành chính\n\nChọn đúng. {T}",
        tf("Chọn đúng.", True, category="$course$/Cải cách hành chính", line=3),
    ),
    (
        "html format",
        "[html]<p>Chọn <b>đúng</b></p>{=a ~b}",
        question(
            "multichoice",
            "<p>Chọn <b>đúng</b></p>",
            text_format="html",
            answers=[a("a", 1.0), a("b")],
        ),
    ),
    (
        "markdown format after a title",
        "::Bold:: [markdown]Which is **bold**?{=this ~that}",
        question(
            "multichoice",
            "Which is **bold**?",
            name="Bold",
            text_format="markdown",
            answers=[a("this", 1.0), a("that")],
        ),
    ),
    (
        "plain format",
        "[plain]1 < 2? {T}",
        tf("1 < 2?", True, text_format="plain"),
    ),
    (
        "moodle format written out",
        "[moodle]Khẳng định đúng? {F}",
        tf("Khẳng định đúng?", False),
    ),
]


@pytest.mark.parametrize(
    ("source", "expected"),
    [pytest.param(source, expected, id=name) for name, source, expected in CONSTRUCTS],
)
def test_each_documented_construct_reads_as_expected(source, expected):
    (parsed,) = gift.parse(source)
    assert parsed.to_json() == expected


def test_questions_are_separated_by_blank_lines_and_category_carries_over():
    text = (
        "// Đề kiểm tra\n$CATEGORY: Luật\n\n::Q1:: Đúng? {T}\n\n\n"
        "::Q2:: Sai? {F}\n\n$CATEGORY: Tin học\n\n::Q3:: Mô tả\n"
    )
    questions = gift.parse(text)
    assert [(q.name, q.category, q.line) for q in questions] == [
        ("Q1", "Luật", 4),
        ("Q2", "Luật", 7),
        ("Q3", "Tin học", 11),
    ]
    assert [q.type for q in questions] == ["truefalse", "truefalse", "description"]


def test_truefalse_keeps_answers_in_a_fixed_order():
    (parsed,) = gift.parse("Đúng? {F#sai#đúng}")
    assert parsed.answers == [AnswerData("true", 0.0, "sai"), AnswerData("false", 1.0, "đúng")]
    assert parsed.correct is False


def test_a_lone_weighted_answer_keeps_its_fraction_to_seven_decimals():
    (parsed,) = gift.parse("Q? {=%33.333333%a =b}")
    assert parsed.answers[0].fraction == 0.3333333


# -- Refusals -------------------------------------------------------------------------------

#: (case, GIFT source, expected English message, line of the problem)
MALFORMED = [
    ("title not closed", "::Tiêu đề Câu hỏi {T}", "The title is not closed with ::.", 1),
    (
        "unclosed brace",
        "Câu hỏi\n{=a\n~b",
        "The answer block is not closed: a { has no matching }.",
        2,
    ),
    (
        "unclosed before another brace",
        "Q {=a ~b {=c}",
        "The answer block is not closed: a { has no matching }.",
        1,
    ),
    ("closing brace alone", "Q =a ~b}", "A } has no matching {.", 1),
    (
        "two answer blocks",
        "Q {=a ~b}\nand {=c ~d}",
        "A question can have only one answer block { … }.",
        2,
    ),
    (
        "unknown format",
        "::t::\n[latex]Q {T}",
        "Unknown text format [latex]; use [html], [moodle], [plain] or [markdown].",
        2,
    ),
    ("no text", "::Chỉ có tiêu đề:: {=a ~b}", "The question has no text.", 1),
    (
        "multiple choice without a right answer",
        "Q {~a ~b ~c}",
        "Multiple choice has no right answer: mark one with = or give answers a positive %weight%.",
        1,
    ),
    (
        "multiple choice where = carries a partial weight",
        "Q {=%50%a ~b}",
        "Multiple choice has no right answer: mark one with = or give answers a positive %weight%.",
        1,
    ),
    ("one choice", "Q {~%100%a}", "Multiple choice needs at least two answers.", 1),
    (
        "weight above 100",
        "Q {=a\n~%150%b}",
        "The weight %150% is not a number from -100 to 100.",
        2,
    ),
    (
        "weight below -100",
        "Q {=a ~%-101%b}",
        "The weight %-101% is not a number from -100 to 100.",
        1,
    ),
    (
        "weight not a number",
        "Q {=a ~%half%b}",
        "The weight %half% is not a number from -100 to 100.",
        1,
    ),
    ("weight not closed", "Q {=a ~%50b}", "The weight %50b is not a number from -100 to 100.", 1),
    (
        "multiple answers not adding up",
        "Q {~%50%a ~%30%b ~c}",
        "The positive weights add up to 80%, not 100%.",
        1,
    ),
    (
        "multiple answers above 100",
        "Q {~%50%a ~%60%b}",
        "The positive weights add up to 110%, not 100%.",
        1,
    ),
    (
        "negative short answer",
        "Q {=a =%-50%b}",
        "Only multiple choice answers can have a negative weight.",
        1,
    ),
    (
        "short answer without full marks",
        "Q {=%50%a =%50%b}",
        "No answer gets full marks: mark one with = and no weight.",
        1,
    ),
    (
        "numerical without full marks",
        "Q {#=%50%1:1 =%20%1:2}",
        "No answer gets full marks: mark one with = and no weight.",
        1,
    ),
    (
        "true/false with three feedbacks",
        "Q {T#a#b#c}",
        "A true/false answer is T, TRUE, F or FALSE, "
        "followed by at most two feedbacks: #wrong#right.",
        1,
    ),
    (
        "numerical word",
        "Q {#abc}",
        "“abc” is not a number; write numbers like 3.14, with a dot.",
        1,
    ),
    (
        "numerical decimal comma",
        "Q {#\n=3,14:0}",
        "“3,14” is not a number; write numbers like 3.14, with a dot.",
        2,
    ),
    (
        "numerical tolerance not a number",
        "Q {#3:x}",
        "“x” is not a number; write numbers like 3.14, with a dot.",
        1,
    ),
    ("numerical negative tolerance", "Q {#3:-1}", "The tolerance after : must not be negative.", 1),
    ("numerical reversed range", "Q {#5..1}", "The range 5..1 ends below where it starts.", 1),
    ("numerical empty", "Q {#}", "A numerical question needs at least one answer.", 1),
    ("matching one pair", "Q {=a -> 1}", "Matching needs at least two pairs.", 1),
    (
        "matching empty left side",
        "Q {\n=a -> 1\n= -> 2\n}",
        "The matching pair “-> 2” needs text on both sides of ->.",
        3,
    ),
    (
        "matching empty right side",
        "Q {=a -> 1 =b ->}",
        "The matching pair “b ->” needs text on both sides of ->.",
        1,
    ),
    (
        "matching mixed with a short answer",
        "Q {=a -> 1 =b -> 2 =c}",
        "Every matching answer must be a pair: =question -> answer.",
        1,
    ),
    ("empty answer", "Q {=a ~}", "An answer is empty.", 1),
    (
        "no answer marker",
        "Q {Hà Nội}",
        "Cannot tell the question type: start each answer with = or ~.",
        1,
    ),
    (
        "text before the first answer",
        "Q {Hà Nội =a ~b}",
        "Cannot tell the question type: start each answer with = or ~.",
        1,
    ),
]


def _messages(problems):
    with force_locale("en"):
        return [(str(p.message), p.line) for p in problems]


@pytest.mark.parametrize(
    ("source", "message", "line"),
    [pytest.param(source, message, line, id=name) for name, source, message, line in MALFORMED],
)
def test_malformed_question_is_refused_with_its_line(app, source, message, line):
    questions, problems = gift.parse_with_errors(source)
    assert questions == []
    assert (message, line) in _messages(problems)


def test_every_problem_of_the_file_is_reported_and_good_questions_kept(app):
    text = "::Một:: Q {~a ~b}\n\n::Hai:: Đúng? {T}\n\n// ghi chú\n::Ba:: Q {#x}\n"
    questions, problems = gift.parse_with_errors(text)
    assert [q.name for q in questions] == ["Hai"]
    assert [(p.question, p.line, p.title) for p in problems] == [(1, 1, "Một"), (3, 6, "Ba")]


def test_parse_raises_a_service_error_carrying_the_problems(app):
    with pytest.raises(FormatError) as refused:
        gift.parse("Q {~a ~b}\n\nQ {=a -> 1}")
    assert isinstance(refused.value, ServiceError)
    assert [p.question for p in refused.value.problems] == [1, 2]
    with force_locale("en"):
        assert str(refused.value) == "The file has 2 problem(s)."


def test_one_question_can_have_several_problems(app):
    _, problems = gift.parse_with_errors("::t:: {~a}")
    assert [m for m, _ in _messages(problems)] == [
        "The question has no text.",
        "Multiple choice needs at least two answers.",
        "Multiple choice has no right answer: mark one with = or give answers a positive %weight%.",
    ]


def test_a_bracket_that_is_not_a_plain_word_is_text_not_a_format():
    (parsed,) = gift.parse("[Luật 2019] Điều 5? {T}")
    assert (parsed.text, parsed.text_format) == ("[Luật 2019] Điều 5?", "moodle")


# -- Encodings ------------------------------------------------------------------------------


def test_read_accepts_utf8_with_bom_and_crlf():
    data = "\ufeff// đề\r\n::Câu 1:: Đúng? {T}\r\n\r\n::Câu 2:: Sai? {F}\r\n".encode()
    questions = gift.read(data)
    assert [(q.name, q.line) for q in questions] == [("Câu 1", 2), ("Câu 2", 4)]


def test_read_gives_nfc_text_for_decomposed_input():
    decomposed = unicodedata.normalize("NFD", "Thủ tướng? {=Đúng ~Sai}")
    (parsed,) = gift.read(decomposed.encode())
    assert parsed.text == unicodedata.normalize("NFC", "Thủ tướng?")
    assert parsed.answers[0].text == "Đúng"


@pytest.mark.parametrize(
    ("data", "message", "line"),
    [
        pytest.param(
            b"Q {T}\n\nC\xe2u ho\xd2i {T}",  # "Câu hỏi" in windows-1258
            "The file is not UTF-8 text. Save it as UTF-8 and try again.",
            3,
            id="windows-1258",
        ),
        pytest.param(
            b"Caf\xe9 {T}",
            "The file is not UTF-8 text. Save it as UTF-8 and try again.",
            1,
            id="latin-1",
        ),
        pytest.param(
            "Q {T}".encode("utf-16"),
            "The file contains a NUL byte: it is not a text file.",
            1,
            id="utf-16",
        ),
        pytest.param(
            b"Q {T}\n\nQ\x00 {F}",
            "The file contains a NUL byte: it is not a text file.",
            3,
            id="nul",
        ),
    ],
)
def test_read_refuses_bytes_that_are_not_utf8_text(app, data, message, line):
    with pytest.raises(FormatError) as refused:
        gift.read(data)
    assert _messages(refused.value.problems) == [(message, line)]
    assert refused.value.problems[0].question is None


# -- Writing and round trips ----------------------------------------------------------------


def _without_lines(questions):
    return [{k: v for k, v in q.to_json().items() if k != "line"} for q in questions]


def test_every_documented_construct_survives_a_round_trip():
    source = "\n\n".join(source for _, source, _ in CONSTRUCTS)
    questions = gift.parse(source)
    assert len(questions) == len(CONSTRUCTS)
    assert _without_lines(gift.parse(gift.export(questions))) == _without_lines(questions)


def test_export_writes_category_lines_only_when_the_category_changes():
    questions = [
        QuestionData(type="description", text="Một", category="A"),
        QuestionData(type="description", text="Hai", category="A"),
        QuestionData(type="description", text="Ba", category="B/C"),
    ]
    assert gift.export(questions) == "$CATEGORY: A\n\nMột\n\nHai\n\n$CATEGORY: B/C\n\nBa\n"


def test_export_writes_readable_gift():
    (parsed,) = gift.parse("::Q:: Chọn\\: {=Có#Đúng ~%50%Gần đúng ~Không ####Xem Điều 5}")
    assert gift.export([parsed]) == (
        "::Q:: Chọn\\: {\n=Có#Đúng\n~%50%Gần đúng\n~Không\n####Xem Điều 5\n}\n"
    )


def test_text_that_looks_like_a_tag_or_comment_gets_an_explicit_format():
    questions = [
        QuestionData(type="description", text="[note] xem thêm"),
        QuestionData(type="essay", text="// không phải chú thích"),
    ]
    exported = gift.export(questions)
    assert exported.startswith("[moodle][note]")
    assert _without_lines(gift.parse(exported)) == _without_lines(questions)


def test_export_of_nothing_is_empty():
    assert gift.export([]) == ""


_TEXT = st.text(alphabet=list("ab ~=#{}:\\\n[]/%đếộƯ->.0$"), min_size=1, max_size=20).filter(
    lambda t: t.strip() == t and "_____" not in t
)


@given(text=_TEXT, right=_TEXT, wrong=_TEXT, feedback=_TEXT, name=_TEXT)
def test_any_text_with_special_characters_survives_a_round_trip(text, right, wrong, feedback, name):
    questions = [
        QuestionData(
            type="multichoice",
            name=name.replace("\n", " ").strip() or "x",
            text=text,
            category="Bộ Nội vụ/Vụ Tổ chức",
            text_format="markdown",
            general_feedback=feedback,
            answers=[AnswerData(right, 1.0, feedback), AnswerData(wrong, 0.0)],
        ),
        QuestionData(type="truefalse", text=text, answers=gift.parse("x {T#a#b}")[0].answers),
    ]
    assert _without_lines(gift.parse(gift.export(questions))) == _without_lines(questions)


def test_an_empty_category_line_goes_back_to_no_category():
    questions = [
        QuestionData(type="description", text="Một", category="A"),
        QuestionData(type="description", text="Hai"),
    ]
    exported = gift.export(questions)
    assert "$CATEGORY:\n" in exported
    assert [q.category for q in gift.parse(exported)] == ["A", ""]


def test_the_examples_in_the_documentation_read_without_problems():
    doc = (Path(__file__).parents[2] / "docs" / "question-format.md").read_text("utf-8")
    gift_example, aiken_example = re.findall(r"```text\n(.*?)```", doc, re.S)
    assert [q.type for q in gift.parse(gift_example)] == [
        "multichoice",
        "numerical",
        "truefalse",
        "multiresponse",
        "matching",
        "essay",
        "description",
    ]
    assert [q.type for q in aiken.parse(aiken_example)] == ["multichoice"]
