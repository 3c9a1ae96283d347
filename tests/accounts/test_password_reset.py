"""Forgot password: a signed, expiring, single-use link, mailed through the outbox."""

import re
import time

from sqlalchemy import select

from elearn.accounts import services as accounts
from elearn.core.models import AuditLog, OutboxMail
from elearn.extensions import db
from tests.conftest import login

LINK_RE = re.compile(r"http://[^\s]+/reset/([^\s]+)")


def _mails():
    return db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()


def _ask_reset(client, identifier):
    return client.post("/forgot", data={"identifier": identifier})


def test_reset_link_is_mailed_and_sets_a_new_password(client, world):
    response = _ask_reset(client, "learner")
    assert response.status_code == 200
    (mail,) = _mails()
    assert mail.to_address == world.learner.email
    assert mail.status == "captured"
    assert mail.subject == "Đặt lại mật khẩu elearn"
    token = LINK_RE.search(mail.body).group(1)
    form = client.get(f"/reset/{token}")
    assert form.status_code == 200
    done = client.post(
        f"/reset/{token}", data={"new_password": "brand-new-secret", "confirm": "brand-new-secret"}
    )
    assert done.status_code == 302
    assert login(client, "learner", "brand-new-secret").status_code == 302
    actions = db.session.scalars(select(AuditLog.action)).all()
    assert "auth.reset_requested" in actions
    assert "auth.password_reset" in actions


def test_reset_can_be_asked_by_email_and_mail_is_in_the_persons_language(client, world):
    world.learner.locale = "en"
    db.session.commit()
    _ask_reset(client, world.learner.email.upper())
    (mail,) = _mails()
    assert mail.subject == "Reset your elearn password"
    assert "Hello Nguyễn Thị Ánh" in mail.body


def test_unknown_account_gets_the_same_answer_and_no_mail(client, world):
    known = _ask_reset(client, "learner").get_data(as_text=True)
    unknown = _ask_reset(client, "no-such-person").get_data(as_text=True)
    strip = lambda html: re.sub(r'value="[^"]*"', "", html)  # noqa: E731
    assert strip(known) == strip(unknown)
    assert len(_mails()) == 1


def test_a_used_link_cannot_be_used_again(client, world):
    token = accounts.make_reset_token(world.learner)
    first = client.post(
        f"/reset/{token}", data={"new_password": "brand-new-secret", "confirm": "brand-new-secret"}
    )
    assert first.status_code == 302
    again = client.post(
        f"/reset/{token}",
        data={"new_password": "another-new-secret", "confirm": "another-new-secret"},
    )
    assert again.status_code == 410
    assert "đã được sử dụng" in again.get_data(as_text=True)
    assert login(client, "learner", "another-new-secret").status_code == 200  # refused


def test_an_expired_link_is_refused(make_app, world):
    app = make_app(WTF_CSRF_ENABLED=False, PASSWORD_RESET_MAX_AGE=1)
    with app.test_request_context():
        token = accounts.make_reset_token(db.session.get(type(world.learner), world.learner.id))
    time.sleep(2.1)
    response = app.test_client().get(f"/reset/{token}")
    assert response.status_code == 410
    assert "đã hết hạn" in response.get_data(as_text=True)


def test_a_tampered_link_is_refused(client, world):
    token = accounts.make_reset_token(world.learner)
    response = client.get(f"/reset/{token[:-3]}xyz")
    assert response.status_code == 410


def test_welcome_link_lives_longer_than_a_reset_link(make_app, world):
    app = make_app(WTF_CSRF_ENABLED=False, PASSWORD_RESET_MAX_AGE=1)
    with app.test_request_context():
        person = db.session.get(type(world.learner), world.learner.id)
        token = accounts.make_reset_token(person, "welcome")
    time.sleep(2.1)
    assert app.test_client().get(f"/reset/{token}").status_code == 200


def test_hr_mails_a_first_sign_in_link_to_a_new_person(as_user, world):
    hr = as_user("hr_a")
    created = hr.post(
        "/admin/people/new",
        data={
            "full_name": "Hoàng  Văn   Mới",
            "username": "Moi.Hoang",
            "email": "moi@example.vn",
            "job_title": "Chuyên viên",
            "unit_id": world.team_a1.id,
        },
    )
    assert created.status_code == 302
    person = db.session.scalar(
        select(type(world.learner)).where(type(world.learner).username == "moi.hoang")
    )
    assert person.full_name == "Hoàng Văn Mới"
    assert person.password_hash is None
    hr.post(f"/admin/people/{person.id}/send-link")
    (mail,) = _mails()
    assert mail.kind == "welcome"
    token = LINK_RE.search(mail.body).group(1)
    fresh = as_user(None)
    fresh.post(
        f"/reset/{token}",
        data={"new_password": "my-first-password", "confirm": "my-first-password"},
    )
    assert login(fresh, "moi.hoang", "my-first-password").status_code == 302


def test_a_weak_and_mismatched_password_reports_both_problems(client, world):
    token = accounts.make_reset_token(world.learner)
    html = client.post(f"/reset/{token}", data={"new_password": "abc", "confirm": "abd"}).get_data(
        as_text=True
    )
    assert "ít nhất 10 ký tự" in html
    assert "không khớp" in html
