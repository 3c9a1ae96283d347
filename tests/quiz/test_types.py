"""Grading by question type, grading methods, and shuffling that never changes a grade."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elearn.quiz import types
from elearn.quiz.formats import gift


def one(text: str):
    """The single question a GIFT snippet holds."""
    [question] = gift.parse(text)
    return question


MC = one("Thủ đô của Việt Nam là? {=Hà Nội#Đúng ~%50%Hà Nội cũ ~Huế#Sai ~%-50%Không biết}")
MR = one("Chọn các thành tố: {~%50%Chính phủ số ~%50%Kinh tế số ~%-100%Giấy tờ}")
TF = one("Dữ liệu là nền tảng của Chính phủ số. {T#Chưa đúng#Chính xác}")
SA = one("Viết tắt của công nghệ thông tin: {=CNTT =%50%CNT* =công nghệ thông tin}")
NUM = one("Số pi? {#=3.14:0.01 =%50%3.1:0.1}")
RANGE = one("Năm nào? {#2019..2021}")
MATCH = one("Ghép: {=Nghị quyết 17 -> 2019 =Đề án 06 -> 2022 =Luật Giao dịch điện tử -> 2023}")
ESSAY = one("Hãy trình bày quan điểm. {}")
DESC = one("Phần tiếp theo nói về dữ liệu.")


@pytest.mark.parametrize(
    ("question", "response", "fraction", "state"),
    [
        (MC, 0, 1.0, "correct"),
        (MC, 1, 0.5, "partial"),
        (MC, 2, 0.0, "wrong"),
        (MC, 3, 0.0, "wrong"),  # a negative fraction never takes the mark below 0
        (MC, None, 0.0, "unanswered"),
        (MC, 99, 0.0, "wrong"),
        (MR, [0, 1], 1.0, "correct"),
        (MR, [0], 0.5, "partial"),
        (MR, [0, 1, 2], 0.0, "wrong"),
        (MR, [], 0.0, "unanswered"),
        (TF, True, 1.0, "correct"),
        (TF, "false", 0.0, "wrong"),
        (SA, "cntt", 1.0, "correct"),  # case-insensitive
        (SA, "  Công   nghệ thông TIN ", 1.0, "correct"),  # spaces and case
        (SA, "cong nghe thong tin", 0.0, "wrong"),  # diacritics matter
        (SA, "CNTTT", 0.5, "partial"),  # the wildcard answer
        (SA, "", 0.0, "unanswered"),
        (NUM, "3,14", 1.0, "correct"),  # Vietnamese decimal comma
        (NUM, "3.149", 1.0, "correct"),
        (NUM, "3.05", 0.5, "partial"),
        (NUM, "abc", 0.0, "wrong"),
        (NUM, 2.9, 0.0, "wrong"),
        (RANGE, "2020", 1.0, "correct"),
        (RANGE, "2022", 0.0, "wrong"),
        (MATCH, {0: "2019", 1: "2022", 2: "2023"}, 1.0, "correct"),
        (MATCH, {"0": "2019", "1": "2023", "2": "2022"}, 1 / 3, "partial"),
        (MATCH, {}, 0.0, "unanswered"),
        (ESSAY, "Tôi cho rằng…", None, "needs_grading"),
        (ESSAY, " ", 0.0, "unanswered"),
        (DESC, None, None, "ungraded"),
    ],
)
def test_each_type_grades_on_the_server(question, response, fraction, state):
    graded = types.grade(question, response)
    assert graded.state == state
    if fraction is None:
        assert graded.fraction is None
    else:
        assert graded.fraction == pytest.approx(fraction)


def test_vietnamese_typed_with_combining_marks_matches():
    decomposed = "co\u0302ng nghe\u0323\u0302 tho\u0302ng tin"  # a different input method
    assert types.grade(SA, decomposed).state == "correct"


def test_feedback_comes_with_the_chosen_answer():
    assert types.grade(MC, 0).feedback == "Đúng"
    assert types.grade(TF, False).feedback == "Chưa đúng"


def test_every_type_is_registered_once():
    from elearn.quiz.data import QUESTION_TYPES

    assert sorted(types.REGISTRY) == sorted(QUESTION_TYPES)


@pytest.mark.parametrize(
    ("method", "expected"),
    [("highest", 0.9), ("average", 0.6), ("first", 0.4), ("last", 0.5)],
)
def test_grading_methods(method, expected):
    assert types.final_grade(method, [0.4, 0.9, 0.5]) == pytest.approx(expected)
    assert types.final_grade(method, []) is None


def test_an_unknown_grading_method_is_refused():
    with pytest.raises(ValueError, match="median"):
        types.final_grade("median", [1.0])


@given(
    st.sampled_from([MC, MR, MATCH]),
    st.integers(min_value=0, max_value=10_000),
    st.data(),
)
def test_shuffling_never_changes_a_grade(question, seed, data):
    """A learner picks what they see; the page maps it back to stored choices."""
    shown = types.order(question, seed)
    assert sorted(map(str, shown)) == sorted(
        map(str, types.REGISTRY[question.type].choices(question))
    )
    if question.type == "multichoice":
        picked_position = data.draw(st.integers(0, len(shown) - 1))
        response = shown[picked_position]  # what was at that place on the page
        direct = types.grade(question, response)
        again = types.grade(question, types.order(question, seed)[picked_position])
    elif question.type == "multiresponse":
        positions = data.draw(st.sets(st.integers(0, len(shown) - 1)))
        response = [shown[p] for p in positions]
        direct = types.grade(question, response)
        again = types.grade(question, list(reversed(response)))
    else:
        answers = [right for _left, right in question.pairs]
        chosen = data.draw(st.permutations(answers))
        response = dict(enumerate(chosen))
        direct = types.grade(question, response)
        again = types.grade(question, {str(k): v for k, v in response.items()})
    assert direct == again
    # And the same answers given without any shuffling get the same grade.
    assert types.grade(question, response) == direct


def test_the_order_is_stable_within_an_attempt_and_differs_between_attempts():
    orders = {tuple(types.order(MC, seed)) for seed in range(50)}
    assert types.order(MC, 7) == types.order(MC, 7)
    assert len(orders) > 1


@pytest.mark.parametrize(
    ("pattern", "typed", "matches"),
    [
        ("cntt", "cntt", True),
        ("cnt*", "cntt", True),
        ("*số", "chuyển đổi số", True),
        ("*đổi*", "chuyển đổi số", True),
        ("a*b*c", "abc", True),
        ("a*b*c", "acb", False),
        ("a*a", "a", False),  # the pieces may not overlap
        ("*", "", True),
    ],
)
def test_wildcards_match_as_in_moodle(pattern, typed, matches):
    assert types._wildcard_match(pattern, typed) is matches  # noqa: SLF001


def test_a_long_typed_answer_against_many_wildcards_is_graded_at_once():
    """A regular expression took 47 s here; the linear match does not backtrack."""
    question = one("Nêu ý chính. {=*chuyển*đổi*số*xong}")
    typed = "chuyển đổi số " * 500  # never ends with "xong"
    assert types.grade(question, typed).state == "wrong"


@pytest.mark.parametrize("response", ["-1", "--1", "²", "x", -1, 99])
def test_odd_choice_responses_are_wrong_not_errors(response):
    """A negative index must not pick the last answer; junk must not raise."""
    assert types.grade(MC, response).state == "wrong"
    assert types.grade(MR, [0, response]).state == "wrong"


def test_odd_shapes_for_matching_essay_and_numbers_do_not_crash():
    assert types.grade(MATCH, ["not", "a", "dict"]).state == "unanswered"
    assert types.grade(ESSAY, 42).state == "needs_grading"
    assert types.grade(NUM, 10**400).state == "wrong"
    assert types.parse_number("1" * 500) is None or types.grade(NUM, "1" * 500).state == "wrong"
