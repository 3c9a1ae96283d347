"""The tamper-evident record: the hash chain, finding edits and removals, rebuilding the
cached run state from events (also property-based), and the ``flask progress`` commands.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from elearn.accounts import services as accounts
from elearn.core.services import ServiceError
from elearn.courses import services as courses
from elearn.courses.models import Enrolment
from elearn.extensions import db
from elearn.progress import record as chain
from elearn.progress import services as progress
from elearn.progress.models import _APPEND_ONLY, ProgressChain, ProgressEvent
from elearn.quiz import attempts
from tests.conftest import PASSWORD
from tests.progress.conftest import (
    Lessons,
    build_course,
    certificates_of,
    events_of,
    set_min_grade,
    set_rule,
)

TRIGGERS = {
    "sqlite": ["progress_events_no_update", "progress_events_no_delete"],
    "postgresql": ["progress_events_append_only ON progress_events"],
}


@pytest.fixture
def lessons(world):
    built = build_course(world.instructor, "chu-ky-so")
    db.session.commit()
    return built


@pytest.fixture
def histories(world, lessons):
    """The learner completes the course (a failed quiz first); the outsider is half-way."""
    done = courses.enrol(world.learner, lessons.course)
    progress.record(done, lessons.view_page, "viewed")
    progress.record_quiz(done, lessons.quiz, 0.5, passed=False, attempted=True)
    progress.record(done, lessons.done_page, "done")
    progress.record_quiz(done, lessons.quiz, 0.8, passed=True, attempted=True)
    half = courses.enrol(world.outsider, lessons.course)
    progress.record(half, lessons.view_page, "viewed")
    progress.record_quiz(half, lessons.quiz, 0.3, passed=False, attempted=True)
    progress.record(half, lessons.done_page, "viewed")
    db.session.commit()
    assert (done.status, half.status) == ("completed", "in_progress")
    return done, half


@pytest.fixture
def unguarded(app):
    """Return a function that drops the append-only triggers, as a DBA could.

    They are put back afterwards: on PostgreSQL the schema outlives the test.
    """
    dialect = db.engine.dialect.name

    def drop():
        for name in TRIGGERS[dialect]:
            db.session.execute(text(f"DROP TRIGGER {name}"))
        db.session.commit()

    yield drop
    db.session.rollback()
    for name in TRIGGERS[dialect]:
        db.session.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
    for statement in _APPEND_ONLY[dialect]:
        db.session.execute(text(statement))
    db.session.commit()


def _events(user) -> list[ProgressEvent]:
    return list(
        db.session.scalars(
            select(ProgressEvent)
            .where(ProgressEvent.user_id == user.id)
            .order_by(ProgressEvent.seq)
        )
    )


def _tamper(sql: str, **params) -> None:
    db.session.execute(text(sql), params)
    db.session.commit()
    db.session.expire_all()


# --- the chain -------------------------------------------------------------------------------


def test_events_are_numbered_and_each_one_carries_the_hash_of_the_one_before(world, histories):
    done, half = histories
    for person, run in ((world.learner, done), (world.outsider, half)):
        events = _events(person)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert events[0].prev_hash == chain.GENESIS
        for before, after in itertools.pairwise(events):
            assert after.prev_hash == before.hash
        assert all(e.hash == chain.digest(e) for e in events)
        assert {e.enrolment_id for e in events} == {run.id}
        head = db.session.get(ProgressChain, person.id)
        assert (head.seq, head.hash) == (events[-1].seq, events[-1].hash)
    assert [e.kind for e in _events(world.learner)] == [
        "run.started",
        "activity.completed",
        "activity.graded",
        "activity.completed",
        "activity.graded",
        "activity.completed",
        "run.completed",
    ]
    checked, breaks = chain.verify()
    assert (checked, breaks) == (len(_events(world.learner)) + len(_events(world.outsider)), [])
    with pytest.raises(ValueError, match="run.paused"):
        chain.append(done, "run.paused")


def test_the_database_refuses_to_change_or_remove_an_event(histories):
    done, _half = histories
    event = events_of(done)[0]
    with pytest.raises(DBAPIError, match="append-only"):
        _tamper("UPDATE progress_events SET reason = 'sửa' WHERE id = :id", id=event.id)
    db.session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        _tamper("DELETE FROM progress_events WHERE id = :id", id=event.id)
    db.session.rollback()
    assert chain.verify()[1] == []


def test_an_edited_event_breaks_its_learners_chain_at_that_event_only(world, histories, unguarded):
    done, _half = histories
    graded = events_of(done, "activity.graded")[0]  # the failed quiz: 0.5
    seq = graded.seq
    unguarded()
    _tamper(
        "UPDATE progress_events SET new_value = :value WHERE id = :id",
        value=chain.dumps({"grade": 0.9, "passed": True}),
        id=graded.id,
    )
    checked, breaks = chain.verify()
    assert breaks == [chain.Break(world.learner.id, seq, "altered")]
    assert chain.verify([world.outsider.id])[1] == []  # another learner's chain holds
    assert chain.verify([world.learner.id])[1] == breaks
    # Recomputing the edited event's hash moves the break to the next event's link.
    edited = db.session.get(ProgressEvent, graded.id)
    _tamper(
        "UPDATE progress_events SET hash = :hash WHERE id = :id",
        hash=chain.digest(edited),
        id=graded.id,
    )
    assert chain.verify()[1] == [chain.Break(world.learner.id, seq + 1, "link")]


def test_a_removed_event_breaks_the_chain(world, histories, unguarded):
    done, half = histories
    middle, last = events_of(done)[2], events_of(half)[-1]
    seq, last_id = middle.seq, last.id
    unguarded()
    _tamper("DELETE FROM progress_events WHERE id = :id", id=middle.id)
    breaks = chain.verify()[1]
    assert {(b.user_id, b.seq, b.problem) for b in breaks} == {
        (world.learner.id, seq, "missing"),
        (world.learner.id, seq + 1, "link"),
    }
    # The newest event: only the chain's head knows it was there.
    _tamper("DELETE FROM progress_events WHERE id = :id", id=last_id)
    outsider = chain.verify([world.outsider.id])[1]
    assert [(b.user_id, b.problem) for b in outsider] == [(world.outsider.id, "head")]


# --- rebuilding the cache --------------------------------------------------------------------


def test_rebuild_finds_a_corrupted_cache_and_fix_restores_it(world, lessons, histories):
    done, half = histories
    progress.reset_run(done, world.admin, "Kiểm tra lại")  # completes again at once
    set_rule(lessons.done_page, completion="view")  # the outsider had viewed it
    db.session.commit()
    done, half = db.session.get(Enrolment, done.id), db.session.get(Enrolment, half.id)
    assert chain.rebuild() == []
    good = {
        run.id: (run.status, run.percent, run.grade, run.time_spent, run.completed_at)
        for run in (done, half)
    }
    done.status, done.percent, done.grade, done.completed_at = "in_progress", 0.3, 0.1, None
    half.percent, half.time_spent = 1.0, 999
    db.session.commit()
    found = chain.rebuild()
    assert {(d.run_id, d.field) for d in found} == {
        (done.id, "status"),
        (done.id, "completed_at"),
        (done.id, "percent"),
        (done.id, "grade"),
        (half.id, "percent"),
        (half.id, "time_spent"),
    }
    by_field = {(d.run_id, d.field): d for d in found}
    assert (by_field[done.id, "percent"].cached, by_field[done.id, "percent"].rebuilt) == (0.3, 1.0)
    assert by_field[done.id, "grade"].rebuilt == pytest.approx(0.8)
    assert by_field[half.id, "percent"].rebuilt == pytest.approx(2 / 3)
    assert {d.run_id for d in chain.rebuild(user_id=world.outsider.id)} == {half.id}
    assert chain.rebuild(fix=True) == found
    db.session.commit()
    db.session.expire_all()
    assert chain.rebuild() == []
    for run_id, values in good.items():
        run = db.session.get(Enrolment, run_id)
        assert (run.status, run.percent, run.grade, run.time_spent, run.completed_at) == values


def test_making_a_graded_activity_optional_keeps_completed_runs_consistent(world, lessons):
    run = courses.enrol(world.learner, lessons.course)
    progress.record(run, lessons.view_page, "viewed")
    progress.record(run, lessons.done_page, "done")
    progress.record_quiz(run, lessons.quiz, 0.8, passed=True, attempted=True)
    db.session.commit()
    assert run.status == "completed"
    set_rule(lessons.quiz, required=False)
    db.session.commit()
    assert chain.rebuild() == []


# --- property-based: any sequence keeps the record and the cache in agreement ----------------

_examples = itertools.count(1)
_who = st.integers(0, 1)
_operations = st.one_of(
    st.tuples(st.just("view"), _who, st.integers(0, 5)),
    st.tuples(st.just("done"), _who, st.integers(0, 5)),
    st.tuples(st.just("quiz"), _who, st.sampled_from([None, 0.0, 0.3, 0.5, 0.6, 0.8, 1.0])),
    st.tuples(st.just("study"), _who),  # every required lesson by its rule, the quiz at 0.8
    st.tuples(st.just("reset"), _who),
    st.tuples(st.just("override"), _who),
    st.tuples(st.just("refresher"), _who),
    st.tuples(st.just("rule"), st.integers(0, 1), st.sampled_from(["view", "mark_done"])),
    st.tuples(st.just("min_grade"), st.sampled_from([None, 0.5, 0.9])),
    st.tuples(st.just("new_page")),
)


@dataclass
class _Example:
    lessons: Lessons
    people: list
    activities: list
    admin: object
    instructor: object


def _study(run, example: _Example) -> None:
    for activity in example.activities:
        if not activity.required:
            continue
        if activity.type == "quiz":
            progress.record_quiz(run, activity, 0.8, passed=True, attempted=True)
        else:
            event = "done" if activity.completion == "mark_done" else "viewed"
            progress.record(run, activity, event)


def _apply(operation, example: _Example) -> None:
    kind, *args = operation
    lessons, admin = example.lessons, example.admin
    if kind == "rule":
        set_rule([lessons.view_page, lessons.done_page][args[0]], completion=args[1])
        return
    if kind == "min_grade":
        set_min_grade(lessons.course, example.instructor, args[0])
        return
    if kind == "new_page":
        module = courses.outline(lessons.course)[0][0]
        example.activities.append(courses.add_page(module, "Bài bổ sung", "Quy định mới."))
        return
    person = example.people[args[0] % len(example.people)]
    run = courses.current_run(person, lessons.course)
    completed = run.status == "completed"
    if kind in ("view", "done"):
        activity = example.activities[args[1] % len(example.activities)]
        progress.record(run, activity, "viewed" if kind == "view" else kind)
    elif kind == "quiz":
        grade = args[1]
        passed = attempts.passed(attempts.quiz_of(lessons.quiz), grade)
        progress.record_quiz(run, lessons.quiz, grade, passed=passed, attempted=True)
    elif kind == "study":
        _study(run, example)
    elif kind == "reset" and completed:
        progress.reset_run(run, admin, "Kiểm tra lại hồ sơ")
    elif kind == "override" and not completed:
        progress.override_run(run, admin, "Đã học lớp tập trung")
    elif kind == "refresher" and completed:
        courses.enrol(person, lessons.course)
    else:
        action = {
            "reset": lambda: progress.reset_run(run, admin, "Kiểm tra lại hồ sơ"),
            "override": lambda: progress.override_run(run, admin, "Đã học lớp tập trung"),
            "refresher": lambda: courses.enrol(person, lessons.course),
        }[kind]
        with pytest.raises(ServiceError):
            action()
        db.session.rollback()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(learners=st.integers(1, 2), operations=st.lists(_operations, min_size=1, max_size=16))
def test_any_sequence_of_steps_and_changes_keeps_the_record_and_the_cache_in_agreement(
    world, learners, operations
):
    n = next(_examples)
    lessons = build_course(world.instructor, f"tinh-chat-{n}", title=f"Khóa {n}")
    people = [
        accounts.create_user(
            f"Học Viên {n} {k}",
            f"hv{n}-{k}",
            world.team_a1,
            email=f"hv{n}-{k}@example.vn",
            password=PASSWORD,
        )
        for k in range(learners)
    ]
    for person in people:
        courses.enrol(person, lessons.course)
    db.session.commit()
    example = _Example(
        lessons,
        people,
        [lessons.view_page, lessons.done_page, lessons.quiz, lessons.optional_page],
        world.admin,
        world.instructor,
    )
    for operation in operations:
        _apply(operation, example)
        db.session.commit()
    db.session.expire_all()
    ids = [p.id for p in people]
    for user_id in ids:
        assert chain.rebuild(user_id=user_id) == []
    assert chain.verify(ids)[1] == []
    runs = db.session.scalars(select(Enrolment).where(Enrolment.user_id.in_(ids))).all()
    for run in runs:
        assert 0.0 <= run.percent <= 1.0
        assert (run.status == "completed") == (run.completed_at is not None)
        assert len(certificates_of(run)) == (1 if run.status == "completed" else 0)
        if run.status == "completed":
            assert run.percent == 1.0


# --- the commands ----------------------------------------------------------------------------


def test_verify_command_passes_a_sound_record_and_names_a_learner_whose_event_was_altered(
    world, histories, runner, unguarded
):
    done, _half = histories
    result = runner.invoke(args=["progress", "verify"])
    assert result.exit_code == 0, result.output
    assert "0 problems" in result.output
    event = events_of(done, "run.completed")[0]
    unguarded()
    _tamper("UPDATE progress_events SET reason = 'sửa tay' WHERE id = :id", id=event.id)
    result = runner.invoke(args=["progress", "verify"])
    assert result.exit_code == 1
    assert f"learner {world.learner.username} (id {world.learner.id})" in result.output
    assert f"at event {event.seq}: altered" in result.output
    assert world.outsider.username not in result.output
    only_outsider = runner.invoke(args=["progress", "verify", "--user", world.outsider.username])
    assert only_outsider.exit_code == 0, only_outsider.output


def test_rebuild_command_reports_differences_and_fixes_them(world, histories, runner):
    done, _half = histories
    assert runner.invoke(args=["progress", "rebuild"]).exit_code == 0
    done.percent = 0.25
    db.session.commit()
    result = runner.invoke(args=["progress", "rebuild"])
    assert result.exit_code == 1
    assert f"run {done.id} (learner id {world.learner.id}) percent: cached 0.25" in result.output
    fixed = runner.invoke(args=["progress", "rebuild", "--fix"])
    assert fixed.exit_code == 0, fixed.output
    assert "1 differences fixed" in fixed.output
    db.session.expire_all()
    assert db.session.get(Enrolment, done.id).percent == 1.0
    assert runner.invoke(args=["progress", "rebuild"]).exit_code == 0
    unknown = runner.invoke(args=["progress", "verify", "--user", "khong-co"])
    assert unknown.exit_code != 0
    assert "khong-co" in unknown.output
