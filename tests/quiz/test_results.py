"""Quiz results for staff: results per learner, grading by hand, regrading after a
correction, item statistics checked against numbers worked out by hand, the CSV export.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math

import pytest
from sqlalchemy import event, select

from elearn.core.models import AuditLog
from elearn.core.services import ServiceError
from elearn.courses import services as courses
from elearn.courses.models import Course, Enrolment
from elearn.extensions import db
from elearn.progress.models import ActivityProgress
from elearn.quiz import attempts, authoring, results, services
from elearn.quiz.data import truefalse_answers
from elearn.quiz.models import QuizStatistics

BANK = """\
::Cấp độ:: Cấp độ cao nhất là? {=Chuyển đổi số ~Số hóa thông tin ~Số hóa quy trình}

::Dữ liệu:: Dữ liệu là nền tảng của Chính phủ số. {T}

::Viết tắt:: Viết tắt của công nghệ thông tin là gì? {=CNTT}

::Tự luận:: Nêu một ví dụ về dịch vụ công trực tuyến. {}

::Nhiều đáp án:: Chọn các thành tố của chuyển đổi số. {
~%50%Chính phủ số
~%50%Kinh tế số
~%-100%Máy đánh chữ
}
"""


@pytest.fixture
def bank(world, make_course):
    """A published course with the bank above, by question name."""
    course = make_course()
    services.import_questions(course, BANK.encode(), "gift", world.instructor)
    db.session.commit()
    return course, {q.name: q for q in services.questions_of(course)}


def make_quiz(course, questions, **settings):
    settings.setdefault("completion", "passed")
    settings.setdefault("pass_mark", 0.6)
    settings.setdefault("per_page", 0)
    activity = authoring.add_quiz(course.modules[0], "Kiểm tra", "", **settings)
    authoring.add_questions(attempts.quiz_of(activity), questions)
    db.session.commit()
    return activity


def take(activity, user, answers: dict, finish=True):
    """One attempt by ``user``: ``answers`` maps question names to form values."""
    course = db.session.get(Course, activity.course_id)
    run = courses.current_run(user, course) or courses.enrol(user, course)
    attempt = attempts.start(activity, user, run)
    rows = {attempts.question_of(r).name: r for r in attempts.answers_of(attempt)}
    posted = {}
    for name, value in answers.items():
        slot = rows[name].slot
        values = value if isinstance(value, list) else [value]
        posted[slot] = (None, [(f"q{slot}", v) for v in values])
    if posted:
        attempts.save(attempt, posted)
    if finish:
        attempts.finish(attempt)
    db.session.commit()
    return attempt


def answer_named(attempt, name):
    return next(r for r in attempts.answers_of(attempt) if attempts.question_of(r).name == name)


def progress_of(activity, user):
    return db.session.scalar(
        select(ActivityProgress)
        .join(Enrolment, Enrolment.id == ActivityProgress.enrolment_id)
        .where(ActivityProgress.activity_id == activity.id, Enrolment.user_id == user.id)
    )


# --- results -------------------------------------------------------------------------------


def test_results_have_one_row_per_learner_graded_by_the_quiz_method(world, bank, make_user):
    course, q = bank
    activity = make_quiz(course, [q["Cấp độ"], q["Dữ liệu"]], grading="highest")
    second = make_user(world.team_a1, "Trần Văn Bình", "binh")
    take(activity, world.learner, {"Cấp độ": "1", "Dữ liệu": "true"})  # 50%
    take(activity, world.learner, {"Cấp độ": "0", "Dữ liệu": "true"})  # 100%
    take(activity, second, {"Cấp độ": "1", "Dữ liệu": "false"})  # 0%
    take(activity, second, {}, finish=False)  # in progress: not graded

    rows = {r.username: r for r in results.results_of(activity)}
    assert set(rows) == {"learner", "binh"}
    mine = rows["learner"]
    assert (mine.count, mine.grade, mine.best, mine.passed, mine.state) == (
        2,
        1.0,
        1.0,
        True,
        "passed",
    )
    assert mine.unit_name == "Phòng A1"
    assert mine.seconds == mine.attempts[1].seconds  # the highest-graded attempt's time
    other = rows["binh"]
    assert (other.count, other.grade, other.passed, other.state) == (2, 0.0, False, "failed")
    assert [a.state for a in other.attempts] == ["finished", "in_progress"]


def test_results_follow_the_grading_method(world, bank):
    course, q = bank
    activity = make_quiz(course, [q["Cấp độ"], q["Dữ liệu"]], grading="average")
    take(activity, world.learner, {"Cấp độ": "0", "Dữ liệu": "true"})  # 100%
    take(activity, world.learner, {"Cấp độ": "0", "Dữ liệu": "false"})  # 50%
    [row] = results.results_of(activity)
    assert row.grade == pytest.approx(0.75)
    assert row.best == 1.0


def test_results_take_one_query_whatever_the_number_of_attempts(world, bank, make_user):
    course, q = bank
    activity = make_quiz(course, [q["Dữ liệu"]])
    for _ in range(6):
        take(activity, make_user(world.team_a1), {"Dữ liệu": "true"})
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        db.session.expire_all()
        assert len(results.results_of(activity)) == 6
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # The activity and its settings (expired above), then attempts with their people.
    assert len(selects) <= 3
    assert sum("FROM quiz_attempts" in s for s in selects) == 1


# --- grading by hand -----------------------------------------------------------------------


def test_grading_an_essay_by_hand_sets_the_grade_and_the_learners_progress(world, bank):
    course, q = bank
    activity = make_quiz(course, [q["Dữ liệu"], q["Tự luận"]], pass_mark=0.75)
    attempt = take(
        activity, world.learner, {"Dữ liệu": "true", "Tự luận": "Cổng Dịch vụ công quốc gia"}
    )
    assert (attempt.grade, attempt.needs_grading) == (None, True)
    assert progress_of(activity, world.learner).status != "completed"

    essay = answer_named(attempt, "Tự luận")
    results.manual_grade(essay, 0.5, "Đúng ý, còn ngắn.", world.instructor)
    db.session.commit()
    assert attempt.grade == pytest.approx(0.75)
    assert attempt.needs_grading is False
    assert (essay.graded_by, essay.comment, essay.state) == (
        world.instructor.id,
        "Đúng ý, còn ngắn.",
        "partial",
    )
    row = progress_of(activity, world.learner)
    assert row.grade == pytest.approx(0.75)
    assert row.status == "completed"
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "quiz.graded"))


def test_marks_outside_the_question_mark_are_refused(world, bank):
    course, q = bank
    activity = make_quiz(course, [q["Tự luận"]])
    attempt = take(activity, world.learner, {"Tự luận": "Ví dụ"})
    essay = answer_named(attempt, "Tự luận")
    with pytest.raises(ServiceError) as refused:
        results.fraction_for(essay, 1.5)
    assert refused.value.field == "marks"
    assert results.fraction_for(essay, 0.25) == 0.25


def test_an_attempt_in_progress_cannot_be_graded(world, bank):
    course, q = bank
    activity = make_quiz(course, [q["Tự luận"]])
    attempt = take(activity, world.learner, {"Tự luận": "Ví dụ"}, finish=False)
    with pytest.raises(ServiceError):
        results.manual_grade(answer_named(attempt, "Tự luận"), 1.0, "", world.instructor)


# --- regrading -----------------------------------------------------------------------------


def correct_truefalse(question, correct: bool):
    data = services.as_data(question)
    services.update_question(
        question, dataclasses.replace(data, answers=truefalse_answers(correct, "", ""))
    )
    db.session.commit()


def test_regrading_after_a_correction_changes_grades_and_keeps_hand_grades(world, bank):
    course, q = bank
    activity = make_quiz(course, [q["Dữ liệu"], q["Tự luận"]], pass_mark=0.5)
    attempt = take(activity, world.learner, {"Dữ liệu": "false", "Tự luận": "Ví dụ"})
    results.manual_grade(answer_named(attempt, "Tự luận"), 0.0, "Chưa đúng.", world.instructor)
    db.session.commit()
    assert attempt.grade == 0.0
    assert progress_of(activity, world.learner).status != "completed"

    correct_truefalse(q["Dữ liệu"], False)  # the bank had it the wrong way round
    assert results.regrade(activity, world.instructor) == 1
    db.session.commit()
    assert attempt.grade == pytest.approx(0.5)
    essay = answer_named(attempt, "Tự luận")
    assert (essay.fraction, essay.comment) == (0.0, "Chưa đúng.")
    assert attempts.question_of(answer_named(attempt, "Dữ liệu")).correct is False
    row = progress_of(activity, world.learner)
    assert (row.grade, row.status) == (pytest.approx(0.5), "completed")


def test_regrading_keeps_the_attempts_copy_of_a_question_removed_from_the_bank(world, bank):
    course, q = bank
    activity = make_quiz(course, [q["Dữ liệu"]])
    attempt = take(activity, world.learner, {"Dữ liệu": "true"})
    correct_truefalse(q["Dữ liệu"], False)
    services.remove_question(q["Dữ liệu"])
    db.session.commit()
    results.regrade(activity, world.instructor)
    assert attempt.grade == 1.0


# --- item statistics -------------------------------------------------------------------------

#: Five learners' first attempts (question → response) and what they score:
#:   Cấp độ: 1 1 0 0 1   Dữ liệu: 1 0 1 0 1   Viết tắt: 1 1 0 0 0   totals: 3 2 1 0 2
FIRST_ATTEMPTS = [
    {"Cấp độ": "0", "Dữ liệu": "true", "Viết tắt": "CNTT"},
    {"Cấp độ": "0", "Dữ liệu": "false", "Viết tắt": "cntt"},
    {"Cấp độ": "1", "Dữ liệu": "true", "Viết tắt": "abc"},
    {"Cấp độ": "2", "Dữ liệu": "false"},
    {"Cấp độ": "0", "Dữ liệu": "true", "Viết tắt": "abc"},
]


def test_item_statistics_match_a_hand_computation(world, bank, make_user):
    course, q = bank
    activity = make_quiz(course, [q["Cấp độ"], q["Dữ liệu"], q["Viết tắt"]], attempts=0)
    people = [make_user(world.team_a1) for _ in FIRST_ATTEMPTS]
    for person, answers in zip(people, FIRST_ATTEMPTS, strict=True):
        take(activity, person, answers)
    # Later and unfinished attempts do not count.
    take(activity, people[0], {"Cấp độ": "1", "Dữ liệu": "false", "Viết tắt": "x"})
    take(activity, people[3], {"Cấp độ": "0"})
    take(activity, make_user(world.team_a1), {"Cấp độ": "0"}, finish=False)

    stats = results.compute_statistics(activity)
    assert stats["schema_version"] == 1
    assert stats["attempts"] == 5
    by_name = {item["name"]: item for item in stats["questions"]}
    assert [item["name"] for item in stats["questions"]] == ["Cấp độ", "Dữ liệu", "Viết tắt"]

    # Cấp độ: x = 1 1 0 0 1 (mean .6), rest = 2 1 1 0 1 (mean 1)
    # Sxy = .4 + 0 + 0 + .6 + 0 = 1; Sxx = 1.2; Syy = 2; r = 1 / √2.4
    level = by_name["Cấp độ"]
    assert level["attempts"] == 5
    assert level["facility"] == pytest.approx(60)
    assert level["discrimination"] == pytest.approx(100 / math.sqrt(2.4))  # 64.55
    assert [(a["text"], a["count"]) for a in level["answers"]] == [
        ("Chuyển đổi số", 3),
        ("Số hóa thông tin", 1),
        ("Số hóa quy trình", 1),
    ]
    # Dữ liệu: x = 1 0 1 0 1, rest = 2 2 0 0 1: Sxy = .4 - .6 - .4 + .6 + 0 = 0
    data = by_name["Dữ liệu"]
    assert data["facility"] == pytest.approx(60)
    assert data["discrimination"] == pytest.approx(0)
    assert [(a["count"], a["fraction"]) for a in data["answers"]] == [(3, 1.0), (2, 0.0)]
    # Viết tắt: x = 1 1 0 0 0 (mean .4), rest = 2 1 1 0 2 (mean 1.2)
    # Sxy = .48 - .12 + .08 + .48 - .32 = .6; Sxx = 1.2; Syy = 2.8; r = .6 / √3.36
    short = by_name["Viết tắt"]
    assert short["facility"] == pytest.approx(40)
    assert short["discrimination"] == pytest.approx(60 / math.sqrt(3.36))  # 32.73
    assert short["answers"] is None
    assert short["unanswered"] == 1
    assert short["responses"] == [{"text": "abc", "count": 2}, {"text": "CNTT", "count": 2}]


def test_discrimination_is_none_when_undefined_and_ticks_are_counted(world, bank, make_user):
    course, q = bank
    activity = make_quiz(course, [q["Nhiều đáp án"], q["Dữ liệu"]])
    take(activity, world.learner, {"Nhiều đáp án": ["0", "1"], "Dữ liệu": "true"})
    one = results.compute_statistics(activity)
    assert all(item["discrimination"] is None for item in one["questions"])  # one attempt
    take(activity, make_user(world.team_a1), {"Nhiều đáp án": ["0", "2"], "Dữ liệu": "true"})
    two = {i["name"]: i for i in results.compute_statistics(activity)["questions"]}
    assert two["Dữ liệu"]["discrimination"] is None  # everyone right: no spread
    assert two["Nhiều đáp án"]["facility"] == pytest.approx(50)  # 100% and 0% (clamped)
    assert [a["count"] for a in two["Nhiều đáp án"]["answers"]] == [2, 1, 1]


def test_statistics_are_stored_replacing_the_previous_ones(world, bank):
    course, q = bank
    activity = make_quiz(course, [q["Dữ liệu"]])
    take(activity, world.learner, {"Dữ liệu": "true"})
    results.store_statistics(activity)
    results.store_statistics(activity)
    db.session.commit()
    [row] = db.session.scalars(select(QuizStatistics)).all()
    assert row.attempts == 1
    assert json.loads(row.data)["questions"][0]["facility"] == 100
    stored, data = results.statistics_of(activity)
    assert stored is row
    assert data["attempts"] == 1
    assert results.statistics_stale(activity, row) is False


# --- export ----------------------------------------------------------------------------------


def test_the_csv_has_a_bom_vietnamese_headers_and_a_row_per_learner(world, bank, make_user):
    course, q = bank
    activity = make_quiz(course, [q["Cấp độ"], q["Dữ liệu"]])
    take(activity, world.learner, {"Cấp độ": "0", "Dữ liệu": "false"})  # 50%
    take(activity, make_user(world.dept_b, "=HYPERLINK(1)", "khach"), {"Cấp độ": "0"})
    text = results.results_csv(activity, world.instructor)
    db.session.commit()
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][:4] == ["Họ và tên", "Tên đăng nhập", "Đơn vị", "Số lần làm"]
    assert {"Điểm (%)", "Đạt", "Thời gian làm bài"} <= set(rows[0])
    body = {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert set(body) == {"learner", "khach"}
    mine = body["learner"]
    assert (mine["Họ và tên"], mine["Đơn vị"], mine["Số lần làm"]) == (
        "Nguyễn Thị Ánh",
        "Phòng A1",
        "1",
    )
    assert (mine["Điểm (%)"], mine["Đạt"]) == ("50,0", "Không")
    assert mine["Thời gian làm bài"].count(":") == 2
    assert body["khach"]["Họ và tên"] == "'=HYPERLINK(1)"  # never a formula in Excel
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "quiz.results_exported"))
