"""The question bank: import with a preview (all or nothing, or only the valid questions),
export, and export → import giving the same questions, over HTTP and the command line.
"""

from __future__ import annotations

import io
import json

from sqlalchemy import select

from elearn.courses import services as courses
from elearn.extensions import db
from elearn.quiz import services
from elearn.quiz.models import Question

GOOD = """\
$CATEGORY: chuyen-doi-so/co-ban

::Ba cấp độ:: Cấp độ cao nhất là? {=Chuyển đổi số#Đúng ~Số hóa thông tin ~Số hóa quy trình}

::Dữ liệu:: Dữ liệu là nền tảng của Chính phủ số. {T}

::Năm:: Nghị quyết 17/NQ-CP được ban hành năm nào? {#2019}

::Ghép:: Ghép thành tố với ví dụ. {=Chính phủ số -> dịch vụ công =Kinh tế số -> thương mại điện tử}

::Viết tắt:: Viết tắt của công nghệ thông tin là {=CNTT}.
"""
BROKEN = GOOD + "\n::Thiếu đáp án:: Câu này không có đáp án đúng {~một ~hai}\n"


def _import_page(client, course, text, only_valid=False, fmt="gift"):
    data = {"file": (io.BytesIO(text.encode()), "cau-hoi.gift"), "format": fmt}
    if only_valid:
        data["only_valid"] = "y"
    return client.post(
        f"/teach/{course.id}/questions/import", data=data, content_type="multipart/form-data"
    )


def _confirm(client, course, source, only_valid=""):
    return client.post(
        f"/teach/{course.id}/questions/import/confirm",
        data={"source": source, "format": "gift", "only_valid": only_valid},
    )


def test_a_clean_file_is_previewed_then_imported(as_user, make_course):
    course = make_course()
    teacher = as_user("instructor")
    page = _import_page(teacher, course, GOOD)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Cấp độ cao nhất là?" in html
    assert db.session.scalar(select(Question)) is None  # a preview writes nothing
    done = _confirm(teacher, course, GOOD)
    assert done.status_code == 302
    stored = services.questions_of(course)
    assert [q.type for q in stored] == [
        "multichoice",
        "truefalse",
        "numerical",
        "matching",
        "shortanswer",
    ]
    assert {c.path for c, _n in services.categories_of(course)} == {"chuyen-doi-so/co-ban"}
    bank = teacher.get(f"/teach/{course.id}/questions").get_data(as_text=True)
    assert "Nghị quyết 17/NQ-CP" in bank


def test_a_file_with_problems_imports_nothing_and_names_each_problem(as_user, make_course):
    course = make_course()
    teacher = as_user("instructor")
    html = _import_page(teacher, course, BROKEN).get_data(as_text=True)
    assert "Thiếu đáp án" in html  # the question's title
    assert "13" in html  # and its line
    assert 'action="/teach/' + str(course.id) + '/questions/import/confirm"' not in html
    # Even a hand-made confirm cannot slip the file in.
    assert _confirm(teacher, course, BROKEN).status_code == 302
    assert db.session.scalar(select(Question)) is None


def test_only_the_valid_questions_when_the_instructor_asks(as_user, make_course):
    course = make_course()
    teacher = as_user("instructor")
    html = _import_page(teacher, course, BROKEN, only_valid=True).get_data(as_text=True)
    assert "/questions/import/confirm" in html
    _confirm(teacher, course, BROKEN, only_valid="1")
    assert len(services.questions_of(course)) == 5


def test_export_then_import_gives_the_same_questions(app, world, make_course, runner, tmp_path):
    first = make_course(slug="mot", title="Một")
    second = make_course(slug="hai", title="Hai")
    services.import_questions(first, GOOD.encode(), "gift", world.instructor)
    db.session.commit()
    exported = runner.invoke(args=["quiz", "export", "mot", "--format", "gift"])
    assert exported.exit_code == 0, exported.output
    path = tmp_path / "mot.gift"
    path.write_text(exported.output, encoding="utf-8")
    imported = runner.invoke(args=["quiz", "import", "hai", str(path)])
    assert imported.exit_code == 0, imported.output

    def shape(course):
        return [services.as_data(q).to_json() for q in services.questions_of(course)]

    assert shape(second) == shape(first)
    assert json.dumps(shape(first), ensure_ascii=False).count("Chính phủ số") == 2


def test_aiken_export_refuses_what_aiken_cannot_hold(as_user, world, make_course):
    course = make_course()
    services.import_questions(course, GOOD.encode(), "gift", world.instructor)
    db.session.commit()
    teacher = as_user("instructor")
    refused = teacher.get(f"/teach/{course.id}/questions/export?format=aiken")
    assert refused.status_code == 302
    gift = teacher.get(f"/teach/{course.id}/questions/export?format=gift")
    assert gift.status_code == 200
    assert "attachment" in gift.headers["Content-Disposition"]
    assert "::Ba cấp độ::" in gift.get_data(as_text=True)


def test_a_non_utf8_file_is_refused_with_a_message(as_user, make_course):
    course = make_course()
    response = as_user("instructor").post(
        f"/teach/{course.id}/questions/import",
        data={
            "file": (io.BytesIO("Câu ho\u0309i {T}".encode("cp1258")), "x.gift"),
            "format": "gift",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "UTF-8" in response.get_data(as_text=True)


def test_the_bank_belongs_to_the_course_staff(as_user, world, make_course):
    course = make_course()
    services.import_questions(course, GOOD.encode(), "gift", world.instructor)
    db.session.commit()
    question = services.questions_of(course)[0]
    other = courses.create_course(world.admin, slug="khac", title="Khác")
    db.session.commit()
    assert as_user("learner").get(f"/teach/{course.id}/questions").status_code == 403
    # Another course's address does not reach this question.
    teacher = as_user("instructor")
    assert (
        teacher.post(f"/teach/{other.id}/questions/{question.id}/remove", data={}).status_code
        == 404
    )
    teacher.post(f"/teach/{course.id}/questions/{question.id}/remove", data={})
    assert len(services.questions_of(course)) == 4


def test_question_text_is_sanitised_whatever_its_format(world, make_course):
    course = make_course()
    hostile = "[html]<p>Xin chào</p><script>alert(1)</script><img src=x onerror=alert(1)> {T}"
    services.import_questions(course, hostile.encode(), "gift", world.instructor)
    [question] = services.questions_of(course)
    assert "<script" not in question.html
    assert "onerror" not in question.html
    assert "Xin chào" in question.html


def test_loading_a_pack_again_adds_no_question_twice(world, make_course, tmp_path):
    from elearn.quiz import packs as quiz_packs

    course = make_course()
    path = tmp_path / "q.gift"
    path.write_text(
        "$CATEGORY: chuong 1 / co ban\n\n::A:: Một? {T}\n\nKhông tiêu đề? {F}\n", encoding="utf-8"
    )
    assert quiz_packs.load_questions(course, path) == 2
    assert quiz_packs.load_questions(course, path) == 0
    assert len(services.questions_of(course)) == 2


def test_plain_text_questions_are_escaped(world, make_course):
    course = make_course()
    services.import_questions(course, "[plain]<b>đậm</b> {T}".encode(), "gift", world.instructor)
    [question] = services.questions_of(course)
    assert "&lt;b&gt;" in question.html
