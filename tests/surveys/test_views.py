"""Survey pages: the learner's form, sending it (once), and the staff's pages and export."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from elearn.core.models import AuditLog
from elearn.courses import services as courses
from elearn.courses.models import Enrolment
from elearn.extensions import db
from elearn.progress.models import ActivityProgress, ProgressEvent
from elearn.surveys import services as surveys
from elearn.surveys.models import SurveyItem, SurveyResponse
from tests.conftest import together
from tests.surveys.conftest import answers_for, build, form_of

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _lesson(built) -> str:
    return f"/courses/{built.course.slug}/lessons/{built.survey.id}"


def _send(built) -> str:
    return f"/courses/{built.course.slug}/surveys/{built.survey.id}"


# --- the learner -----------------------------------------------------------------------------


def test_each_likert_item_is_a_fieldset_of_five_labelled_radios(world, built, as_user):
    courses.enrol(world.learner, built.course)
    db.session.commit()
    html = as_user("learner").get(_lesson(built)).get_data(as_text=True)
    likert = [i for i in built.items() if i.kind == "likert"]
    assert html.count('<fieldset class="survey-item likert') == len(likert) == 5
    assert html.count("<legend>") >= 5
    for item in likert:
        for value in range(1, 6):
            assert f'id="item-{item.id}-{value}" name="item-{item.id}" value="{value}"' in html
            assert f'<label for="item-{item.id}-{value}">' in html
    comment = next(i for i in built.items() if i.kind == "comment")
    assert f'<textarea id="item-{comment.id}" name="item-{comment.id}"' in html
    assert 'maxlength="2000"' in html


def test_problems_are_shown_beside_their_items_and_the_answers_kept(world, built, as_user):
    courses.enrol(world.learner, built.course)
    db.session.commit()
    items = built.items()
    answers = answers_for(items, [4, 5], HOSTILE)  # three required items left
    response = as_user("learner").post(_send(built), data=form_of(answers))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'class="error-summary"' in html
    for item in items[2:5]:
        assert f'id="item-{item.id}-error"' in html
        assert f'href="#item-{item.id}-1"' in html
    assert f'id="item-{items[0].id}-4" name="item-{items[0].id}" value="4" checked' in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html
    assert _count(SurveyResponse) == 0


def test_sending_completes_the_lesson_and_thanks_the_learner(world, built, as_user):
    run = courses.enrol(world.learner, built.course)
    db.session.commit()
    client = as_user("learner")
    client.get(f"/courses/{built.course.slug}/lessons/{built.page.id}")
    response = client.post(_send(built), data=form_of(answers_for(built.items(), [5] * 5)))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(_lesson(built))
    html = client.get(_lesson(built)).get_data(as_text=True)
    assert 'class="flash flash-success"' in html
    assert 'class="survey-done"' in html
    assert 'class="survey-form"' not in html
    assert "✓" in html.split('class="meta"')[1][:200]  # the lesson shows as completed
    assert db.session.get(Enrolment, run.id).status == "completed"


def test_sending_twice_keeps_the_first_answers_and_says_so(world, built, as_user):
    courses.enrol(world.learner, built.course)
    db.session.commit()
    client = as_user("learner")
    data = form_of(answers_for(built.items(), [5] * 5))
    assert client.post(_send(built), data=data).status_code == 302
    again = client.post(_send(built), data=data, follow_redirects=True)
    assert 'class="flash flash-info"' in again.get_data(as_text=True)
    assert _count(SurveyResponse) == 1


def test_two_submits_at_once_store_one_response(world, as_user):
    built = build(world.instructor, "hai-lan")
    run = courses.enrol(world.learner, built.course)
    db.session.commit()
    clients = [as_user("learner"), as_user("learner")]
    data = form_of(answers_for(built.items(), [5, 4, 3, 2, 1]))
    url = _send(built)
    db.session.commit()  # end this thread's read transaction before the requests
    codes = together(*(lambda c=c: c.post(url, data=data).status_code for c in clients))
    assert codes == [302, 302]
    db.session.rollback()
    db.session.expire_all()
    assert _count(SurveyResponse) == 1
    assert _count(ActivityProgress) == 1
    completed = db.session.scalar(
        select(func.count())
        .select_from(ProgressEvent)
        .where(ProgressEvent.enrolment_id == run.id, ProgressEvent.kind == "activity.completed")
    )
    assert completed == 1


def test_without_a_run_nothing_can_be_sent(world, built, as_user):
    response = as_user("learner").post(
        _send(built), data=form_of(answers_for(built.items(), [5] * 5))
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/courses/{built.course.slug}")
    assert _count(SurveyResponse) == 0
    instructor = as_user("instructor")
    preview = instructor.get(f"/teach/{built.course.id}/pages/{built.survey.id}/preview")
    assert preview.get_data(as_text=True).count(" disabled>") >= 25
    staff = instructor.get(_lesson(built)).get_data(as_text=True)
    assert staff.count(" disabled>") >= 25
    assert "survey-form" in staff


def test_a_page_is_not_a_survey(world, built, as_user):
    courses.enrol(world.learner, built.course)
    db.session.commit()
    url = f"/courses/{built.course.slug}/surveys/{built.page.id}"
    assert as_user("learner").post(url, data={}).status_code == 404


# --- the staff -------------------------------------------------------------------------------


def test_an_instructor_adds_and_edits_a_survey_until_someone_answers(world, built, as_user):
    client = as_user("instructor")
    course_page = client.get(f"/teach/{built.course.id}").get_data(as_text=True)
    module = courses.outline(built.course)[0][0]
    new_url = f"/teach/{built.course.id}/modules/{module.id}/surveys/new"
    assert new_url in course_page
    assert f"/teach/{built.course.id}/surveys/{built.survey.id}" in course_page
    form = client.get(new_url).get_data(as_text=True)
    assert "Phiếu khảo sát mức độ hài lòng" in form
    created = client.post(
        new_url,
        data={
            "title": "Khảo sát cuối khóa",
            "markdown": "Giới thiệu",
            "anonymous": "y",
            "min_responses_shown": "3",
        },
    )
    assert created.status_code == 302
    activity = courses.sequence(built.course)[-1]
    assert (activity.type, activity.title, activity.required) == (
        "survey",
        "Khảo sát cuối khóa",
        False,
    )
    survey = surveys.survey_of(activity)
    base = f"/teach/{built.course.id}/surveys/{activity.id}"
    first, second = surveys.items_of(survey)[:2]
    assert (
        client.post(f"{base}/items/{second.id}/move", data={"direction": "up"}).status_code == 302
    )
    client.post(f"{base}/items/{first.id}", data={"text": "Câu đã sửa", "required": "y"})
    client.post(f"{base}/items", data={"new-kind": "comment", "new-text": "Góp ý thêm"})
    client.post(f"{base}/items/{surveys.items_of(survey)[2].id}/remove", data={})
    db.session.expire_all()
    texts = [(i.kind, i.text) for i in surveys.items_of(survey)]
    assert texts[:2] == [("likert", second.text), ("likert", "Câu đã sửa")]
    assert texts[-1] == ("comment", "Góp ý thêm")
    assert len(texts) == 6
    # Someone answers: items and anonymity are now fixed, texts may still be corrected.
    run = courses.enrol(world.learner, built.course)
    surveys.submit(run, activity, answers_for(surveys.items_of(survey), [5] * 5))
    db.session.commit()
    page = client.get(base).get_data(as_text=True)
    assert f'{base}/items"' not in page
    assert "/remove" not in page
    assert "/move" not in page
    refused = client.post(f"{base}/items", data={"new-kind": "likert", "new-text": "Muộn"})
    assert refused.status_code == 400
    client.post(f"{base}/items/{first.id}", data={"text": "Sửa chính tả", "required": "y"})
    saved = client.post(
        base,
        data={"title": "Khảo sát", "markdown": "", "min_responses_shown": "4"},  # no "anonymous"
    )
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(SurveyItem, first.id).text == "Sửa chính tả"
    assert len(surveys.items_of(survey)) == 6
    assert (survey.anonymous, survey.min_responses_shown) == (True, 4)


def test_the_page_editor_sends_surveys_to_their_own_page(built, as_user):
    response = as_user("instructor").get(f"/teach/{built.course.id}/pages/{built.survey.id}/edit")
    assert response.headers["Location"].endswith(
        f"/teach/{built.course.id}/surveys/{built.survey.id}"
    )


def test_the_results_export_is_aggregated_guarded_and_audited(world, make_user, as_user):
    built = build(world.instructor, anonymous=True)
    for n, comment in enumerate(['=HYPERLINK("http://x")', HOSTILE, "+1 tốt"]):
        run = courses.enrol(make_user(world.team_a1), built.course)
        surveys.submit(run, built.survey, answers_for(built.items(), [5, 4, 3, 2, n + 1], comment))
    db.session.commit()
    client = as_user("instructor")
    response = client.get(f"/teach/{built.course.id}/surveys/{built.survey.id}/results.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    body = raw.decode("utf-8-sig")
    assert "Chỉ số hài lòng (%)" in body
    assert "Điểm trung bình (1–5)" in body
    assert "'=HYPERLINK" in body
    assert "'+1 tốt" in body
    assert re.search(r"^,Toàn phiếu,1,4,4,3,3,", body, re.M)  # counts of 1..5 over the survey
    assert _count(AuditLog)
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "survey.results_exported"))
    html = client.get(f"/teach/{built.course.id}/surveys/{built.survey.id}/results").get_data(
        as_text=True
    )
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html


def test_only_the_course_staff_and_admins_see_results(world, built, make_user, as_user, app):
    url = f"/teach/{built.course.id}/surveys/{built.survey.id}/results"
    other = make_user(world.ministry, roles=[("instructor", world.ministry)])
    db.session.commit()
    client = app.test_client()
    client.post("/login", data={"username": other.username, "password": "correct-horse-battery"})
    assert client.get(url).status_code == 404
    assert as_user("learner").get(url).status_code == 403
    assert as_user("admin").get(url).status_code == 200
