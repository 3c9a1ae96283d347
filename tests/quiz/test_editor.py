"""The question editor: every type written through the form, previewed as learners see it,
refused with a message on the right field when wrong, and edited back.
"""

from __future__ import annotations

import re

import pytest

from elearn.accounts import services as accounts
from elearn.extensions import db
from elearn.quiz import services, types


def _post(client, course, kind, fields, preview=False):
    data = {"text": "Câu hỏi?", **fields}
    data["preview" if preview else "submit"] = "1"
    return client.post(f"/teach/{course.id}/questions/new/{kind}", data=data)


def _answers(*rows):
    fields = {}
    for i, (text, fraction, feedback) in enumerate(rows):
        fields[f"answers-{i}-text"] = text
        fields[f"answers-{i}-fraction"] = fraction
        fields[f"answers-{i}-feedback"] = feedback
    return fields


CASES = [
    (
        "multichoice",
        _answers(("Hà Nội", "1", "Đúng"), ("Huế", "0", "Sai"), ("", "0", "")),
        0,
        1.0,
    ),
    (
        "multiresponse",
        _answers(("Chính phủ số", "0.5", ""), ("Kinh tế số", "0.5", ""), ("Giấy tờ", "-1", "")),
        [0, 1],
        1.0,
    ),
    ("truefalse", {"correct": "false", "feedback_true": "Chưa đúng"}, False, 1.0),
    ("shortanswer", _answers(("CNTT", "1", ""), ("CNT*", "0.5", "")), "cnttt", 0.5),
    (
        "numerical",
        {"numbers-0-value": "3,14", "numbers-0-tolerance": "0,01", "numbers-0-fraction": "1"},
        "3.145",
        1.0,
    ),
    (
        "matching",
        {
            "pairs-0-left": "Nghị quyết 17",
            "pairs-0-right": "2019",
            "pairs-1-left": "Đề án 06",
            "pairs-1-right": "2022",
        },
        {0: "2019", 1: "2022"},
        1.0,
    ),
    ("essay", {}, "Bài viết", None),
    ("description", {}, None, None),
]


@pytest.mark.parametrize(("kind", "fields", "response", "fraction"), CASES)
def test_every_type_can_be_written_saved_and_graded(
    as_user, make_course, kind, fields, response, fraction
):
    course = make_course()
    answer = _post(as_user("instructor"), course, kind, {"name": f"Câu {kind}", **fields})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    [row] = services.questions_of(course)
    assert (row.type, row.name) == (kind, f"Câu {kind}")
    graded = types.grade(services.as_data(row), response)
    assert graded.fraction == (pytest.approx(fraction) if fraction is not None else None)


def test_the_preview_shows_the_question_as_learners_see_it_without_the_answer(as_user, make_course):
    course = make_course()
    fields = _answers(("Hà Nội", "1", "Đúng rồi"), ("Huế", "0", "Chưa đúng"))
    page = _post(as_user("instructor"), course, "multichoice", fields, preview=True)
    html = page.get_data(as_text=True)
    preview = html[html.index('id="preview"') :]
    assert 'type="radio"' in preview
    assert "Hà Nội" in preview
    assert "Huế" in preview
    assert "Đúng rồi" not in preview  # feedback and marks are not in the learner's view
    assert "100%" not in preview
    assert services.questions_of(course) == []  # a preview saves nothing


@pytest.mark.parametrize(
    ("kind", "fields", "field_id", "words"),
    [
        ("multichoice", _answers(("A", "0", ""), ("B", "0", "")), "answers", "100%"),
        ("multichoice", _answers(("A", "1", "")), "answers", "two answers"),
        ("multiresponse", _answers(("A", "0.5", ""), ("B", "0", "")), "answers", "100%"),
        ("shortanswer", _answers(("A", "0.5", "")), "answers", "100%"),
        ("numerical", {"numbers-0-value": "ba"}, "numbers", "number"),
        ("matching", {"pairs-0-left": "A", "pairs-0-right": ""}, "pairs", "both"),
        ("matching", {"pairs-0-left": "A", "pairs-0-right": "1"}, "pairs", "two pairs"),
    ],
)
def test_mistakes_are_shown_on_their_field_and_nothing_is_saved(
    as_user, world, make_course, kind, fields, field_id, words
):
    course = make_course()
    accounts.set_locale(world.instructor, "en")  # compare the English messages
    db.session.commit()
    page = _post(as_user("instructor"), course, kind, fields)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'id="{field_id}-error"' in html
    assert words in html
    assert services.questions_of(course) == []


def test_an_imported_question_is_edited_without_losing_its_weights(as_user, world, make_course):
    course = make_course()
    text = "::Ba:: Chọn hai. {~%33.33333%A ~%66.66667%B ~%-50%C}"
    services.import_questions(course, text.encode(), "gift", world.instructor)
    db.session.commit()
    [row] = services.questions_of(course)
    teacher = as_user("instructor")
    page = teacher.get(f"/teach/{course.id}/questions/{row.id}/edit").get_data(as_text=True)
    assert re.search(r'<option (selected value="0.3333333"|value="0.3333333" selected)', page)
    saved = teacher.post(
        f"/teach/{course.id}/questions/{row.id}/edit",
        data={
            "name": "Ba (sửa)",
            "text": "Chọn hai đáp án.",
            "submit": "1",
            **_answers(("A", "0.3333333", ""), ("B", "0.6666667", ""), ("C", "-0.5", "")),
        },
    )
    assert saved.status_code == 302
    db.session.refresh(row)
    question = services.as_data(row)
    assert question.name == "Ba (sửa)"
    assert [a.fraction for a in question.answers] == [0.3333333, 0.6666667, -0.5]


def test_a_question_with_many_answers_can_be_edited(as_user, world, make_course):
    course = make_course()
    answers = " ".join(["=Đúng"] + [f"~Sai {n}" for n in range(24)])
    services.import_questions(course, f"Chọn. {{{answers}}}".encode(), "gift", world.instructor)
    db.session.commit()
    [row] = services.questions_of(course)
    page = as_user("instructor").get(f"/teach/{course.id}/questions/{row.id}/edit")
    assert page.status_code == 200
    assert "Sai 23" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "field_id"),
    [
        (
            {"category": "a\n\n::Chen:: Cau {T}", **_answers(("A", "1", ""), ("B", "0", ""))},
            "category",
        ),
        ({"name": "Tiêu đề {T}", **_answers(("A", "1", ""), ("B", "0", ""))}, "name"),
        (_answers(("A", "1", ""), ("B", "1", "")), "answers"),  # would read back as short answer
    ],
)
def test_what_would_not_survive_export_is_refused(as_user, make_course, fields, field_id):
    course = make_course()
    page = _post(as_user("instructor"), course, "multichoice", fields)
    assert page.status_code == 200
    assert f'id="{field_id}-error"' in page.get_data(as_text=True)
    assert services.questions_of(course) == []
