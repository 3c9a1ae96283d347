"""Sign-in, sign-out, rate limits, remember-me, deactivation and password changes."""

import os

import pytest

from elearn.accounts import services as accounts
from elearn.core.models import AuditLog
from elearn.extensions import db
from tests.conftest import PASSWORD, login


def _audit_actions():
    return [e.action for e in db.session.scalars(db.select(AuditLog).order_by(AuditLog.id))]


def test_sign_in_and_out(client, world):
    response = login(client, "LEARNER ")  # usernames are trimmed and case-insensitive
    assert response.status_code == 302
    home = client.get("/")
    assert "Nguyễn Thị Ánh" in home.get_data(as_text=True)
    assert client.post("/logout").status_code == 302
    assert client.get("/account").status_code == 302  # back to the sign-in page


def test_wrong_password_is_refused_without_revealing_the_account(client, world):
    wrong = login(client, "learner", "not-the-password").get_data(as_text=True)
    unknown = login(client, "nobody-here", "not-the-password").get_data(as_text=True)
    assert "Sai tên đăng nhập hoặc mật khẩu" in wrong
    assert "Sai tên đăng nhập hoặc mật khẩu" in unknown
    assert client.get("/account").status_code == 302
    assert _audit_actions().count("auth.login_failed") == 2


def test_next_parameter_cannot_leave_the_site(client, world):
    response = client.post(
        "/login?next=//evil.example/x", data={"username": "learner", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post(
        "/login?next=/account", data={"username": "learner", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/account"


def test_quick_failed_sign_ins_are_limited_per_user_not_per_ip(client, world):
    statuses = [login(client, "learner", f"wrong-{i}").status_code for i in range(20)]
    assert statuses[:5] == [200] * 5
    assert set(statuses[5:]) == {429}
    limited = login(client, "learner", PASSWORD)
    assert limited.status_code == 429  # even the right password waits
    assert "Quá nhiều lần thử" in limited.get_data(as_text=True)
    # A colleague behind the same address (the same test client) signs in normally.
    other = login(client, "outsider")
    assert other.status_code == 302
    assert "auth.login_limited" in _audit_actions()


def test_limit_applies_to_unknown_usernames_alike(client, world):
    statuses = [login(client, "ghost", f"wrong-{i}").status_code for i in range(7)]
    assert statuses[5:] == [429, 429]


def test_many_users_failing_from_one_address_hit_the_ip_limit(make_app, world):
    app = make_app(WTF_CSRF_ENABLED=False, LOGIN_LIMIT_PER_IP="10 per minute")
    client = app.test_client()
    statuses = [login(client, f"someone{i}", "wrong").status_code for i in range(12)]
    assert statuses[:10] == [200] * 10
    assert statuses[10:] == [429, 429]


def test_deactivated_account_cannot_sign_in_but_keeps_records(client, world):
    accounts.set_active(world.learner, False, world.admin)
    db.session.commit()
    response = login(client, "learner")
    assert response.status_code == 200
    assert "đã bị khóa" in response.get_data(as_text=True)
    assert db.session.get(type(world.learner), world.learner.id) is not None


def test_deactivation_ends_existing_sessions(as_user, world):
    learner = as_user("learner")
    assert learner.get("/account").status_code == 200
    accounts.set_active(world.learner, False, world.admin)
    db.session.commit()
    assert learner.get("/account").status_code == 302


def test_remember_me_sets_a_secure_long_lived_cookie(make_app, world):
    app = make_app(
        WTF_CSRF_ENABLED=False,
        SECURE_COOKIES=True,
        SESSION_COOKIE_SECURE=True,
        REMEMBER_COOKIE_SECURE=True,
    )
    client = app.test_client()
    response = client.post(
        "/login", data={"username": "learner", "password": PASSWORD, "remember": "y"}
    )
    cookies = response.headers.getlist("Set-Cookie")
    remember = next(c for c in cookies if c.startswith("remember_token="))
    assert "Secure" in remember
    assert "HttpOnly" in remember
    session = next(c for c in cookies if c.startswith("session="))
    assert "Secure" in session
    assert "HttpOnly" in session
    assert "SameSite=Lax" in session


def test_password_change_requires_the_current_password(as_user, world):
    client = as_user("learner")
    bad = client.post(
        "/account/password",
        data={
            "current_password": "nope",
            "new_password": "a-new-long-secret",
            "confirm": "a-new-long-secret",
        },
    )
    assert "Mật khẩu hiện tại không đúng" in bad.get_data(as_text=True)
    weak = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "123456789012",
            "confirm": "123456789012",
        },
    )
    assert "chỉ gồm chữ số" in weak.get_data(as_text=True)
    ok = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a-new-long-secret",
            "confirm": "a-new-long-secret",
        },
    )
    assert ok.status_code == 302
    assert client.get("/account").status_code == 200  # this session continues


def test_password_change_signs_out_other_devices(as_user, world):
    laptop, phone = as_user("learner"), as_user("learner")
    changed = laptop.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a-new-long-secret",
            "confirm": "a-new-long-secret",
        },
    )
    assert changed.status_code == 302
    assert laptop.get("/account").status_code == 200
    assert phone.get("/account").status_code == 302


@pytest.mark.parametrize("password", ["short", "1234567890123", "learner-password"])
def test_weak_passwords_are_refused(app, world, password):
    with pytest.raises(accounts.ServiceError):
        accounts.change_password(world.learner, PASSWORD, password)


def test_passwords_are_stored_as_strong_hashes(make_app, world):
    app = make_app(PASSWORD_HASH_METHOD="scrypt")  # the default outside tests
    with app.app_context():
        person = db.session.get(type(world.learner), world.learner.id)
        accounts.change_password(person, PASSWORD, "another-long-secret")
        assert person.password_hash.startswith("scrypt:")
        assert "another-long-secret" not in person.password_hash


REDIS_URL = os.environ.get("ELEARN_TEST_REDIS_URL")


@pytest.mark.skipif(not REDIS_URL, reason="set ELEARN_TEST_REDIS_URL (CI does)")
def test_sign_in_limits_are_shared_through_redis(make_app, world):
    """At scale every web process counts attempts in one Redis, not in its own memory."""
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    first = make_app(WTF_CSRF_ENABLED=False, REDIS_URL=REDIS_URL)
    statuses = [login(first.test_client(), "learner", f"wrong-{i}").status_code for i in range(5)]
    assert statuses == [200] * 5
    assert any(b"login-user" in key for key in redis.Redis.from_url(REDIS_URL).scan_iter())
    # A second process (another app instance) sees the same count.
    second = make_app(WTF_CSRF_ENABLED=False, REDIS_URL=REDIS_URL)
    assert login(second.test_client(), "learner").status_code == 429
    redis.Redis.from_url(REDIS_URL).flushdb()


def test_password_change_guessing_is_limited(as_user, world):
    client = as_user("learner")
    statuses = [
        client.post(
            "/account/password",
            data={
                "current_password": f"guess-{i}",
                "new_password": "a-new-long-secret",
                "confirm": "a-new-long-secret",
            },
        ).status_code
        for i in range(7)
    ]
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429, 429]
