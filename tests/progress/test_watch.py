"""Watch tracking: merging intervals (property-based), the completion rule, heartbeats."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from elearn.courses import services as courses
from elearn.extensions import db
from elearn.media import services as media
from elearn.progress import services as progress
from elearn.progress import watch

# --- pure rules, property-based --------------------------------------------------------------

times = st.floats(min_value=0, max_value=600, allow_nan=False, allow_infinity=False)
intervals = st.tuples(times, times).filter(lambda p: p[0] < p[1])
interval_lists = st.lists(intervals, max_size=30)


def _covered(point: float, merged) -> bool:
    return any(start <= point <= end for start, end in merged)


@given(interval_lists)
def test_merging_gives_sorted_disjoint_intervals_covering_every_input(reports):
    merged = watch.merge(reports)
    for (_s1, e1), (s2, _e2) in zip(merged, merged[1:], strict=False):
        assert e1 + watch.JOIN_GAP < s2  # disjoint, gaps wider than the join gap
    for start, end in merged:
        assert start < end
    for start, end in reports:
        assert _covered(start, merged)
        assert _covered(end, merged)
        assert _covered((start + end) / 2, merged)


@given(interval_lists, st.randoms(use_true_random=False))
def test_duplicates_order_and_overlap_do_not_change_the_result(reports, rnd):
    shuffled = reports + reports[: len(reports) // 2]
    rnd.shuffle(shuffled)
    assert watch.merge(shuffled) == watch.merge(reports)
    assert watch.merge(watch.merge(reports)) == watch.merge(reports)


@given(interval_lists, interval_lists)
def test_merging_report_by_report_equals_merging_everything_at_once(first, second):
    """What the service does per heartbeat adds up to the union of all heartbeats."""
    assert watch.merge([*watch.merge(first), *second]) == watch.merge([*first, *second])


@given(interval_lists)
def test_unique_seconds_never_exceed_the_span_nor_count_overlaps_twice(reports):
    merged = watch.merge(reports)
    total = watch.seconds(merged)
    if reports:
        lo = min(s for s, _ in reports)
        hi = max(e for _, e in reports)
        assert total <= hi - lo + 1e-6
        assert total >= max(e - s for s, e in reports) - 1e-6
    assert watch.seconds(watch.merge(reports + reports)) == pytest.approx(total)


@given(
    st.floats(min_value=20, max_value=7200),
    st.floats(min_value=0.1, max_value=1.0),
    st.floats(min_value=0, max_value=1),
)
def test_a_video_completes_exactly_when_the_unique_share_reaches_the_threshold(
    duration, threshold, share
):
    watched = watch.merge([(0.0, duration * share)])
    assert watch.completes(watched, duration, threshold) == (
        duration * share >= threshold * duration - 1e-9
    )


@given(st.floats(min_value=20, max_value=7200), st.integers(min_value=1, max_value=50))
def test_seeking_to_the_end_or_jumping_around_does_not_complete(duration, jumps):
    """Watching a second after each of many seeks covers only those seconds."""
    rng = random.Random(jumps)
    spots = [rng.uniform(0, duration - 1) for _ in range(jumps)]
    watched = watch.merge([(duration - 1, duration), *[(s, s + 1) for s in spots]])
    assume(jumps + 1 < 0.9 * duration / 2)
    assert not watch.completes(watched, duration, 0.9)


@pytest.mark.parametrize(
    "raw",
    [
        "[[-1, 5]]",  # negative
        "[[0, 130]]",  # beyond the 100 s lecture
        "[[10, 5]]",  # reversed
        '[["a", 5]]',
        "[[0, NaN]]",
        "[[0, Infinity]]",
        "[[true, 5]]",
        "[[1, 2, 3]]",
        '{"a": 1}',
        "not json",
        "[[0, 1" + "0" * 400 + "]]",  # too large for a float
        json.dumps([[0, 1]] * (watch.MAX_INTERVALS + 1)),
    ],
)
def test_impossible_reports_are_refused_whole(raw):
    with pytest.raises(watch.BadReport):
        watch.parse(raw, 100.0)


def test_a_report_a_hair_past_the_end_is_clamped_to_the_end():
    assert watch.parse("[[95, 100.4]]", 100.0) == [(95.0, 100.0)]
    assert watch.parse_position("100.5", 100.0) == 100.0
    with pytest.raises(watch.BadReport):
        watch.parse_position("-3", 100.0)


# --- the progress service and the heartbeat endpoint -----------------------------------------


@pytest.fixture
def lecture(world, make_course, as_user):
    """A ready 100 s lecture (no file needed here), and an enrolled learner's client."""
    course = make_course(pages=1)
    module = courses.outline(course)[0][0]
    activity = media.add_video(module, "Bài giảng", "")
    video = media.video_of(activity)
    video.version = video.ready_version = 1
    video.state, video.kind, video.duration, video.threshold = "ready", "video", 100.0, 0.9
    db.session.commit()
    learner = as_user("learner")
    learner.post(f"/courses/{course.slug}/enrol", data={})
    return course, activity, learner


def _report(client, course, activity, intervals, position=None):
    data = {"intervals": json.dumps(intervals)}
    if position is not None:
        data["position"] = str(position)
    return client.post(f"/courses/{course.slug}/lessons/{activity.id}/watch", data=data)


def _row(world, course, activity):
    run = courses.current_run(world.learner, course)
    db.session.refresh(run)
    row = progress.activity_state(run, activity)
    if row is not None:
        db.session.refresh(row)
    return run, row


def test_heartbeats_merge_and_tolerate_duplicates_and_disorder(lecture, world, clock):
    course, activity, learner = lecture
    learner.get(f"/courses/{course.slug}/lessons/{activity.id}")
    clock.advance(20)
    assert _report(learner, course, activity, [[10, 20]], 20).status_code == 200
    clock.advance(20)
    assert _report(learner, course, activity, [[0, 10.2]], 10).status_code == 200  # earlier
    assert _report(learner, course, activity, [[0, 10.2]], 10).status_code == 200  # again
    clock.advance(20)
    answer = _report(learner, course, activity, [[15, 30]], 30)  # overlaps
    assert answer.status_code == 200
    _run, row = _row(world, course, activity)
    assert watch.loads(row.watched) == [(0.0, 30.0)]
    assert row.percent == pytest.approx(0.30)
    assert row.position == 30.0
    assert answer.get_json()["status"] == "in_progress"
    assert answer.get_json()["percent"] == pytest.approx(0.30)


def test_watching_to_the_threshold_completes_the_lesson_and_seeking_does_not(lecture, world, clock):
    course, activity, learner = lecture
    learner.get(f"/courses/{course.slug}/lessons/{activity.id}")
    clock.advance(10)
    assert _report(learner, course, activity, [[98, 100]], 100).status_code == 200  # sought
    _run, row = _row(world, course, activity)
    assert row.status == "in_progress"
    for start in range(0, 80, 10):
        clock.advance(10)
        assert _report(learner, course, activity, [[start, start + 10]]).status_code == 200
    run, row = _row(world, course, activity)
    assert row.status == "in_progress"  # 0-80 and 98-100: 82 unique seconds of 100
    clock.advance(10)
    answer = _report(learner, course, activity, [[80, 88]])
    run, row = _row(world, course, activity)
    assert watch.seconds(watch.loads(row.watched)) == pytest.approx(90)
    assert row.status == "completed"
    assert answer.get_json()["status"] == "completed"
    assert run.status == "in_progress"  # the page lesson is still unread


def test_a_report_faster_than_real_time_is_refused_and_changes_nothing(lecture, world, clock):
    course, activity, learner = lecture
    learner.get(f"/courses/{course.slug}/lessons/{activity.id}")
    clock.advance(10)
    refused = _report(learner, course, activity, [[0, 95]], 95)  # 95 s claimed after 10 s
    assert refused.status_code == 400
    assert refused.get_json()["error"]
    _run, row = _row(world, course, activity)
    assert row.watched == ""
    assert row.position is None
    assert row.status == "in_progress"
    clock.advance(10)
    assert _report(learner, course, activity, [[0, 20]], 20).status_code == 200  # 2x is fine


@pytest.mark.parametrize(
    "intervals",
    [[[-5, 3]], [[0, 500]], [[20, 10]], "garbage", [["x", 1]]],
)
def test_malformed_or_absurd_reports_get_400_and_change_nothing(lecture, world, clock, intervals):
    course, activity, learner = lecture
    learner.get(f"/courses/{course.slug}/lessons/{activity.id}")
    clock.advance(60)
    data = {"intervals": intervals if isinstance(intervals, str) else json.dumps(intervals)}
    response = learner.post(f"/courses/{course.slug}/lessons/{activity.id}/watch", data=data)
    assert response.status_code == 400
    _run, row = _row(world, course, activity)
    assert row.watched == ""
    bad_position = _report(learner, course, activity, [[0, 5]], "-1")
    assert bad_position.status_code == 400


def test_reports_for_someone_elses_course_are_refused(lecture, as_user, make_course):
    course, activity, _learner = lecture
    outsider = as_user("outsider")  # may see the course, is not enrolled
    assert _report(outsider, course, activity, [[0, 5]]).status_code == 403
    other = make_course(slug="khac", title="Khóa khác")
    learner = as_user("learner")
    learner.post(f"/courses/{other.slug}/enrol", data={})
    # An activity of another course through this course's address: not found.
    wrong = learner.post(
        f"/courses/{other.slug}/lessons/{activity.id}/watch", data={"intervals": "[[0,5]]"}
    )
    assert wrong.status_code == 404


def test_the_lesson_page_resumes_at_the_saved_position(lecture, world, clock):
    course, activity, learner = lecture
    learner.get(f"/courses/{course.slug}/lessons/{activity.id}")
    clock.advance(30)
    assert _report(learner, course, activity, [[0, 42.5]], 42.5).status_code == 200
    page = learner.get(f"/courses/{course.slug}/lessons/{activity.id}").get_data(as_text=True)
    assert 'data-resume="42.5"' in page
    assert 'data-duration="100.0"' in page
