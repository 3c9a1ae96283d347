"""Quiz attempts: answers saved as given (newest wins), deadlines enforced by the server
and the worker's sweep, one grade for two submits, grading methods, overrides, review
options, and no right answer in anything the learner's browser receives early.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from elearn.core.clock import utcnow
from elearn.courses import services as courses
from elearn.extensions import db
from elearn.jobs import services as jobs
from elearn.progress.models import ActivityProgress
from elearn.quiz import attempts, authoring, services, types
from elearn.quiz.data import AnswerData, QuestionData
from elearn.quiz.formats import gift
from elearn.quiz.models import Attempt

BANK = """\
$CATEGORY: on-tap

::Cấp độ:: Cấp độ cao nhất là? {
=Chuyển đổi số#Đúng rồi.
~Số hóa thông tin#Là cấp thấp nhất.
~Số hóa quy trình
}

::Dữ liệu:: Dữ liệu là nền tảng của Chính phủ số. {T#Phản hồi đúng sai}

::Năm:: Nghị quyết 17/NQ-CP được ban hành năm nào? {#2019:0}

::Viết tắt:: Viết tắt của công nghệ thông tin là gì? {=CNTT#Bí mật-đáp-án}

::Tự luận:: Nêu một ví dụ về dịch vụ công trực tuyến. {}
"""


@pytest.fixture
def quiz_world(world, make_course):
    """A course with a five-question bank, a quiz using all of it, and the learner enrolled."""
    course = make_course()
    services.import_questions(course, BANK.encode(), "gift", world.instructor)
    module = course.modules[0]
    activity = authoring.add_quiz(
        module, "Bài kiểm tra", "Làm bài.", completion="passed", pass_mark=0.6, per_page=2
    )
    quiz = attempts.quiz_of(activity)
    authoring.add_questions(quiz, services.questions_of(course))
    run = courses.enrol(world.learner, course)
    db.session.commit()
    return course, activity, quiz, run


def _by_name(attempt):
    return {attempts.question_of(a).name: a for a in attempts.answers_of(attempt)}


def _answer(attempt, name, value, seq):
    row = _by_name(attempt)[name]
    field = f"q{row.slot}"
    values = value if isinstance(value, list) else [value]
    return {row.slot: (seq, [(field, v) for v in values])}


def _index_of(attempt, name, text):
    q = attempts.question_of(_by_name(attempt)[name])
    return str([a.text for a in q.answers].index(text))


def _answer_all_right(attempt, seq=1):
    answers = {}
    answers.update(_answer(attempt, "Cấp độ", _index_of(attempt, "Cấp độ", "Chuyển đổi số"), seq))
    answers.update(_answer(attempt, "Dữ liệu", "true", seq))
    answers.update(_answer(attempt, "Năm", "2019", seq))
    answers.update(_answer(attempt, "Viết tắt", "cntt", seq))
    answers.update(_answer(attempt, "Tự luận", "Cổng Dịch vụ công quốc gia", seq))
    attempts.save(attempt, answers)


def test_an_attempt_holds_every_question_paged_and_graded_on_finish(world, quiz_world):
    course, activity, quiz, run = quiz_world
    attempt = attempts.start(activity, world.learner, run)
    rows = attempts.answers_of(attempt)
    assert len(rows) == 5
    assert [r.page for r in rows] == [0, 0, 1, 1, 2]
    _answer_all_right(attempt)
    assert attempts.finish(attempt) is True
    db.session.commit()
    # 4 auto-graded marks; the essay waits for the instructor.
    assert (attempt.marks, attempt.max_marks, attempt.needs_grading) == (4.0, 5.0, True)
    assert attempt.grade is None
    progress = db.session.scalar(
        select(ActivityProgress).where(ActivityProgress.activity_id == activity.id)
    )
    assert progress.status != "completed"
    assert progress.grade is None


def test_a_newer_save_is_never_replaced_by_an_older_one(world, quiz_world):
    course, activity, quiz, run = quiz_world
    attempt = attempts.start(activity, world.learner, run)
    assert list(attempts.save(attempt, _answer(attempt, "Năm", "2018", 5)).values()) == [True]
    attempts.save(attempt, _answer(attempt, "Năm", "2019", 7))
    kept = attempts.save(attempt, _answer(attempt, "Năm", "2017", 6))  # delivered late
    assert list(kept.values()) == [False]
    assert attempts.response_of(_by_name(attempt)["Năm"]) == "2019"
    # A plain form post (no counter) counts as newer than everything saved.
    attempts.save(attempt, _answer(attempt, "Năm", "2020", None))
    assert attempts.response_of(_by_name(attempt)["Năm"]) == "2020"


def test_odd_form_values_are_dropped_not_stored(world, quiz_world):
    course, activity, quiz, run = quiz_world
    attempt = attempts.start(activity, world.learner, run)
    attempts.save(attempt, _answer(attempt, "Cấp độ", "99", 1))
    attempts.save(attempt, _answer(attempt, "Dữ liệu", "maybe", 1))
    assert attempts.response_of(_by_name(attempt)["Cấp độ"]) is None
    assert attempts.response_of(_by_name(attempt)["Dữ liệu"]) is None


def test_two_submits_grade_once(world, quiz_world):
    course, activity, quiz, run = quiz_world
    attempt = attempts.start(activity, world.learner, run)
    _answer_all_right(attempt)
    assert attempts.finish(attempt) is True
    first = (attempt.finished_at, attempt.marks)
    assert attempts.finish(attempt) is False
    assert (attempt.finished_at, attempt.marks) == first
    with pytest.raises(attempts.AttemptClosed):
        attempts.save(attempt, _answer(attempt, "Năm", "1", 99))


def test_the_deadline_is_enforced_and_the_sweep_finishes_at_it(app, world, quiz_world):
    course, activity, quiz, run = quiz_world
    authoring.update_settings(quiz, time_limit=600)
    attempt = attempts.start(activity, world.learner, run)
    attempts.save(attempt, _answer(attempt, "Năm", "2019", 1))
    db.session.commit()
    assert attempt.deadline_at == attempt.started_at + timedelta(seconds=600)
    # Time passes: the deadline and the grace are behind us.
    attempt.started_at -= timedelta(seconds=700)
    attempt.deadline_at -= timedelta(seconds=700)
    db.session.commit()
    grace = app.config["QUIZ_GRACE_SECONDS"]
    assert attempt.deadline_at + timedelta(seconds=grace) < utcnow()
    with pytest.raises(attempts.AttemptClosed):
        attempts.save(attempt, _answer(attempt, "Dữ liệu", "true", 2))
    db.session.rollback()
    # The worker's periodic chores include the sweep; it finishes the attempt itself.
    assert attempts._sweep in jobs.MAINTENANCE  # noqa: SLF001
    attempts._sweep()  # noqa: SLF001
    db.session.expire_all()
    done = db.session.get(Attempt, attempt.id)
    assert (done.state, done.finished_by) == ("finished", "deadline")
    assert done.finished_at == done.deadline_at
    assert attempts.response_of(_by_name(done)["Năm"]) == "2019"
    assert done.marks == 1.0


def test_within_the_grace_a_late_answer_still_counts(world, quiz_world):
    course, activity, quiz, run = quiz_world
    authoring.update_settings(quiz, time_limit=600)
    attempt = attempts.start(activity, world.learner, run)
    attempt.deadline_at = utcnow() - timedelta(seconds=5)  # grace is 30 s
    attempts.save(attempt, _answer(attempt, "Năm", "2019", 1))
    assert attempts.response_of(_by_name(attempt)["Năm"]) == "2019"


def _finish_with(activity, user, run, right: int):
    """Take an attempt answering ``right`` of the four auto-graded questions right."""
    attempt = attempts.start(activity, user, run)
    choices = [
        ("Cấp độ", _index_of(attempt, "Cấp độ", "Chuyển đổi số"), "1"),
        ("Dữ liệu", "true", "false"),
        ("Năm", "2019", "2000"),
        ("Viết tắt", "CNTT", "IT"),
    ]
    for n, (name, good, bad) in enumerate(choices):
        attempts.save(attempt, _answer(attempt, name, good if n < right else bad, 1))
    attempts.finish(attempt)
    db.session.commit()
    return attempt


@pytest.mark.parametrize(
    ("method", "expected", "completed"),
    # Attempts score 50%, 75%, 25%; the pass mark is 70%. The run's grade after each
    # attempt: highest 50/75/75, average 50/62.5/50, first 50/50/50, last 50/75/25.
    [("highest", 0.75, True), ("average", 0.5, False), ("first", 0.5, False), ("last", 0.25, True)],
)
def test_grading_methods_give_the_run_its_grade(world, quiz_world, method, expected, completed):
    course, activity, quiz, run = quiz_world
    authoring.remove_slot(authoring.slots_of(quiz)[-1])  # grade without waiting for a person
    authoring.update_settings(quiz, grading=method, pass_mark=0.7)
    for right in (2, 3, 1):
        _finish_with(activity, world.learner, run, right)
    assert attempts.final_grade(activity, run) == pytest.approx(expected)
    row = db.session.scalar(
        select(ActivityProgress).where(ActivityProgress.activity_id == activity.id)
    )
    assert row.grade == pytest.approx(expected)
    # Once passed, the activity is complete and stays so ("last" dropped to 25% after).
    assert (row.status == "completed") is completed


def test_attempted_rule_completes_without_passing(world, quiz_world):
    course, activity, quiz, run = quiz_world
    authoring.remove_slot(authoring.slots_of(quiz)[-1])
    authoring.update_quiz(activity, activity.title, "", required=True, completion="attempted")
    _finish_with(activity, world.learner, run, 0)
    row = db.session.scalar(
        select(ActivityProgress).where(ActivityProgress.activity_id == activity.id)
    )
    assert (row.status, row.grade) == ("completed", 0.0)


def test_attempts_allowed_and_overrides(world, quiz_world):
    course, activity, quiz, run = quiz_world
    authoring.remove_slot(authoring.slots_of(quiz)[-1])
    authoring.update_settings(quiz, attempts=1, time_limit=1200)
    _finish_with(activity, world.learner, run, 1)
    with pytest.raises(attempts.ServiceError, match="hết số lần làm bài"):
        attempts.start(activity, world.learner, run)
    # An override for the learner's department (above their team) gives one more.
    authoring.add_override(
        quiz, world.instructor, unit=world.dept_a, extra_attempts=1, extra_minutes=15
    )
    rules = attempts.rules_for(quiz, world.learner)
    assert (rules.attempts, rules.time_limit) == (2, 1200 + 900)
    second = attempts.start(activity, world.learner, run)
    assert second.deadline_at == second.started_at + timedelta(seconds=2100)
    # The learner's own override wins over the unit's.
    authoring.add_override(quiz, world.instructor, user=world.learner, extra_minutes=60)
    assert attempts.rules_for(quiz, world.learner).time_limit == 1200 + 3600
    # Someone elsewhere gets nothing.
    assert attempts.rules_for(quiz, world.outsider).attempts == 1


def test_open_and_close_times_and_a_later_close_override(world, quiz_world):
    course, activity, quiz, run = quiz_world
    now = utcnow()
    authoring.update_settings(
        quiz, open_at=now + timedelta(hours=1), close_at=now + timedelta(hours=2)
    )
    with pytest.raises(attempts.ServiceError, match="chưa mở"):
        attempts.start(activity, world.learner, run)
    authoring.update_settings(
        quiz, open_at=now - timedelta(hours=2), close_at=now - timedelta(hours=1)
    )
    with pytest.raises(attempts.ServiceError, match="đã đóng"):
        attempts.start(activity, world.learner, run)
    authoring.add_override(
        quiz, world.instructor, user=world.learner, close_at=now + timedelta(minutes=30)
    )
    attempt = attempts.start(activity, world.learner, run)
    assert attempt.deadline_at == now + timedelta(minutes=30)


def test_sequential_navigation_locks_pages_left_behind(world, quiz_world):
    course, activity, quiz, run = quiz_world
    authoring.update_settings(quiz, navigation="sequential")
    attempt = attempts.start(activity, world.learner, run)
    attempts.save(attempt, {}, page=1)
    first_page = [a for a in attempts.answers_of(attempt) if a.page == 0][0]
    kept = attempts.save(attempt, {first_page.slot: (5, [(f"q{first_page.slot}", "0")])})
    assert kept == {first_page.slot: False}
    attempts.save(attempt, {}, page=0)  # cannot go back
    assert attempt.page == 1


def test_random_questions_and_shuffles_are_stable_within_an_attempt(world, quiz_world):
    course, activity, quiz, run = quiz_world
    for slot in authoring.slots_of(quiz):
        authoring.remove_slot(slot)
    category = services.category(course, "on-tap")
    authoring.add_random(quiz, category, 3)
    authoring.update_settings(quiz, shuffle_questions=True)
    with pytest.raises(attempts.ServiceError):
        authoring.add_random(quiz, category, 6)
    attempt = attempts.start(activity, world.learner, run)
    names = [attempts.question_of(a).name for a in attempts.answers_of(attempt)]
    assert len(names) == 3 == len(set(names))
    again = attempts.start(activity, world.learner, run)  # continuing gives the same attempt
    assert again.id == attempt.id
    assert [attempts.question_of(a).name for a in attempts.answers_of(again)] == names


def test_an_edited_question_does_not_change_an_attempt_in_progress(world, quiz_world):
    course, activity, quiz, run = quiz_world
    attempt = attempts.start(activity, world.learner, run)
    question = next(q for q in services.questions_of(course) if q.name == "Năm")
    services.update_question(question, gift.parse("::Năm:: Năm nào? {#2020}")[0])
    attempts.save(attempt, _answer(attempt, "Năm", "2019", 1))
    attempts.finish(attempt)
    assert _by_name(attempt)["Năm"].fraction == 1.0


# --- over HTTP ---------------------------------------------------------------------------


def _start(client, course, activity):
    client.post(f"/courses/{course.slug}/enrol")
    response = client.post(f"/courses/{course.slug}/quizzes/{activity.id}/start")
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return db.session.scalar(select(Attempt).order_by(Attempt.id.desc()))


def test_the_browser_never_receives_right_answers_or_feedback_before_review(
    as_user, world, quiz_world
):
    course, activity, quiz, run = quiz_world
    client = as_user("learner")
    attempt = _start(client, course, activity)
    secrets = ["Bí mật-đáp-án", "CNTT", "Đúng rồi", "Là cấp thấp nhất", "2019", "Phản hồi đúng sai"]
    pages = [client.get(f"/courses/{course.slug}/attempts/{attempt.id}?page={n}") for n in range(3)]
    pages.append(client.get(f"/courses/{course.slug}/attempts/{attempt.id}/summary"))
    row = _by_name(attempt)["Viết tắt"]
    saved = client.post(
        f"/courses/{course.slug}/attempts/{attempt.id}/save",
        json={
            "answers": {str(row.slot): {"seq": 3, "fields": [[f"q{row.slot}", "cntt"]]}},
            "page": 1,
        },
    )
    assert saved.status_code == 200
    assert saved.json["saved"] == {str(row.slot): True}
    for response in [*pages, saved]:
        body = response.get_data(as_text=True)
        for secret in secrets:
            assert secret.lower() not in body.lower().replace('cntt"', ""), secret
    # Once reviewed (options: right after), feedback and the right answer show.
    client.post(f"/courses/{course.slug}/attempts/{attempt.id}/submit")
    review = client.get(f"/courses/{course.slug}/attempts/{attempt.id}/review").get_data(
        as_text=True
    )
    assert "Bí mật-đáp-án" in review
    assert "Đáp án đúng" in review


def test_review_options_hide_marks_until_the_quiz_closes(as_user, world, quiz_world):
    course, activity, quiz, run = quiz_world
    authoring.update_settings(
        quiz,
        review_marks="closed",
        review_correct="never",
        review_feedback="never",
        close_at=utcnow() + timedelta(days=1),
    )
    db.session.commit()
    client = as_user("learner")
    attempt = _start(client, course, activity)
    client.post(f"/courses/{course.slug}/attempts/{attempt.id}/submit")
    review = client.get(f"/courses/{course.slug}/attempts/{attempt.id}/review").get_data(
        as_text=True
    )
    assert "Bí mật-đáp-án" not in review
    assert "Đáp án đúng" not in review
    assert "chưa cho xem điểm" in review
    lesson = client.get(f"/courses/{course.slug}/lessons/{activity.id}").get_data(as_text=True)
    assert "%" not in lesson.split("Các lần làm bài")[1].split("</table>")[0]


def test_a_double_submit_over_http_gives_one_grade(as_user, world, quiz_world):
    course, activity, quiz, run = quiz_world
    client = as_user("learner")
    attempt = _start(client, course, activity)
    first = client.post(f"/courses/{course.slug}/attempts/{attempt.id}/submit")
    second = client.post(f"/courses/{course.slug}/attempts/{attempt.id}/submit")
    assert first.status_code == second.status_code == 302
    db.session.rollback()
    finished = db.session.get(Attempt, attempt.id)
    assert finished.state == "finished"
    assert db.session.scalar(select(Attempt).where(Attempt.id != attempt.id)) is None


def test_saving_after_the_deadline_answers_409_and_finishes(as_user, app, world, quiz_world):
    course, activity, quiz, run = quiz_world
    client = as_user("learner")
    attempt = _start(client, course, activity)
    attempt.deadline_at = utcnow() - timedelta(seconds=app.config["QUIZ_GRACE_SECONDS"] + 5)
    db.session.commit()
    row = attempts.answers_of(attempt)[0]
    late = client.post(
        f"/courses/{course.slug}/attempts/{attempt.id}/save",
        json={"answers": {str(row.slot): {"seq": 1, "fields": [[f"q{row.slot}", "0"]]}}},
    )
    assert late.status_code == 409
    assert late.json["closed"] is True
    db.session.rollback()
    assert db.session.get(Attempt, attempt.id).state == "finished"


@pytest.mark.parametrize(
    "payload",
    [
        {"answers": "x"},
        {"answers": {"0": {"seq": -1, "fields": []}}},
        {"answers": {"0": {"seq": True, "fields": []}}},
        {"answers": {"0": {"seq": 1, "fields": [["q0", 5]]}}},
        {"answers": {"99": {"seq": 1, "fields": []}}},
        {"answers": {"0": {"seq": 1, "fields": [["q0", "x" * 30_000]]}}},
    ],
)
def test_malformed_saves_are_refused_with_a_message(as_user, world, quiz_world, payload):
    course, activity, quiz, run = quiz_world
    client = as_user("learner")
    attempt = _start(client, course, activity)
    if "x" * 100 in json.dumps(payload):  # a long answer goes to the essay
        essay = _by_name(attempt)["Tự luận"]
        payload = {
            "answers": {str(essay.slot): {"seq": 1, "fields": [[f"q{essay.slot}", "x" * 30_000]]}}
        }
    response = client.post(f"/courses/{course.slug}/attempts/{attempt.id}/save", json=payload)
    assert response.status_code == 400
    assert response.json["error"]


def test_the_form_post_without_javascript_saves_and_moves_on(as_user, world, quiz_world):
    course, activity, quiz, run = quiz_world
    client = as_user("learner")
    attempt = _start(client, course, activity)
    first = [a for a in attempts.answers_of(attempt) if a.page == 0]
    data = {"slots": [str(a.slot) for a in first], "goto": "1"}
    for a in first:
        q = attempts.question_of(a)
        data[f"q{a.slot}"] = "true" if q.type == "truefalse" else "0"
    response = client.post(f"/courses/{course.slug}/attempts/{attempt.id}/save", data=data)
    assert response.status_code == 302
    assert "page=1" in response.location
    db.session.rollback()
    assert all(
        attempts.response_of(a) is not None
        for a in attempts.answers_of(db.session.get(Attempt, attempt.id))
        if a.page == 0
    )


def test_another_learners_attempt_is_not_found(as_user, world, quiz_world):
    course, activity, quiz, run = quiz_world
    attempt = attempts.start(activity, world.learner, run)
    db.session.commit()
    other = as_user("outsider")
    assert other.get(f"/courses/{course.slug}/attempts/{attempt.id}").status_code == 404
    assert (
        other.post(
            f"/courses/{course.slug}/attempts/{attempt.id}/save", json={"answers": {}}
        ).status_code
        == 404
    )


# --- shuffling never changes a grade -----------------------------------------------------

fractions = st.sampled_from([1.0, 0.5, 0.0, -0.5, 0.3333333, -1.0])


@settings(max_examples=200, deadline=None)
@given(
    answers=st.lists(fractions, min_size=2, max_size=6),
    picked=st.sets(st.integers(min_value=0, max_value=5)),
    seeds=st.tuples(st.integers(), st.integers()),
    kind=st.sampled_from(["multichoice", "multiresponse"]),
)
def test_shuffling_never_changes_a_grade(answers, picked, seeds, kind):
    question = QuestionData(
        type=kind, text="?", answers=[AnswerData(f"đáp án {i}", f) for i, f in enumerate(answers)]
    )
    picked = sorted(i for i in picked if i < len(answers)) or [0]
    grades = []
    for seed in seeds:
        shown = types.order(question, seed)
        # The learner ticks the same answers (by their text), wherever they are shown.
        fields = [("q0", str(i)) for i in shown if i in picked]
        if kind == "multichoice":
            fields = [("q0", str(picked[0]))]
        response = attempts.response_from_fields(question, "q0", fields)
        grades.append(types.grade(question, response))
    assert grades[0] == grades[1]
