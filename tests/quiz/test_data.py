"""The question dataclasses and their JSON shape."""

from __future__ import annotations

import json

from elearn.quiz.data import AnswerData, NumericalAnswer, QuestionData, truefalse_answers


def test_numerical_answer_bounds_for_both_forms():
    assert NumericalAnswer(value=3.0, tolerance=2.0).bounds() == (1.0, 5.0)
    assert NumericalAnswer(minimum=1.0, maximum=5.0).bounds() == (1.0, 5.0)
    assert NumericalAnswer(minimum=1.0, maximum=5.0).is_range


def test_truefalse_json_names_the_right_value_and_each_feedback():
    question = QuestionData(
        type="truefalse", text="Đúng?", answers=truefalse_answers(False, "Chưa đúng", "Chính xác")
    )
    data = question.to_json()
    assert (data["correct"], data["feedback_true"], data["feedback_false"]) == (
        False,
        "Chưa đúng",
        "Chính xác",
    )
    assert "answers" not in data


def test_only_the_fields_of_the_type_appear_in_json():
    essay = QuestionData(type="essay", text="Viết", answers=[AnswerData("x", 1.0)])
    assert set(essay.to_json()) == {
        "type",
        "name",
        "category",
        "text",
        "text_format",
        "general_feedback",
        "line",
    }
    assert essay.correct is None


def test_json_is_plain_and_serialisable():
    question = QuestionData(type="matching", text="Ghép", pairs=[("Hà Nội", "Thủ đô")])
    assert json.loads(json.dumps(question.to_json()))["pairs"] == [
        {"question": "Hà Nội", "answer": "Thủ đô"}
    ]
