"""Fixtures: an app on a fresh database per test, clients signed in as each kind of visitor.

SQLite by default (a file per test, so several processes can share it). With
``ELEARN_TEST_DATABASE_URL`` set (CI sets it), the same tests run on PostgreSQL:
the schema is created once per session and every table is emptied after each test.
"""

from __future__ import annotations

import contextvars
import os
import re
import threading
from dataclasses import dataclass

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy import text

from elearn import create_app
from elearn.accounts import services as accounts
from elearn.accounts.models import RoleAssignment, User
from elearn.config import TestingConfig
from elearn.courses import services as courses
from elearn.extensions import db

PG_URL = os.environ.get("ELEARN_TEST_DATABASE_URL")
PASSWORD = "correct-horse-battery"  # noqa: S105 - test data


def _config_dict(**overrides) -> dict:
    base = {k: getattr(TestingConfig, k) for k in dir(TestingConfig) if k.isupper()}
    base.update(overrides)
    return base


class IsolatedClient(FlaskClient):
    """A test client whose requests run as in production: own app context, session and g.

    Without this, requests would share the test's app context (and so its
    database session and Flask-Login's cached user). The test's own work is
    committed before each request and its objects are reloaded after it.
    """

    def open(self, *args, **kwargs):
        if not has_app_context():
            return super().open(*args, **kwargs)
        db.session.commit()
        response = contextvars.Context().run(super().open, *args, **kwargs)
        db.session.expire_all()
        return response


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """Return a callable giving each test its database URL."""
    if PG_URL:
        return lambda _tmp: PG_URL
    return lambda tmp: f"sqlite:///{tmp / 'test.db'}"


@pytest.fixture(scope="session")
def _pg_schema():
    if not PG_URL:
        yield
        return
    app = create_app(_config_dict(SQLALCHEMY_DATABASE_URI=PG_URL))
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield


@pytest.fixture
def make_app(tmp_path, database_url, _pg_schema):
    """Return a factory of apps sharing this test's database (overrides as keywords)."""
    apps = []

    def factory(**overrides):
        config = _config_dict(
            **{
                "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
                "INSTANCE_DIR": tmp_path / "instance",
                "MEDIA_DIR": tmp_path / "instance" / "media",
                **overrides,
            }
        )
        app = create_app(config)
        app.test_client_class = IsolatedClient
        apps.append(app)
        return app

    yield factory
    if apps:
        app = apps[0]
        with app.app_context():
            if PG_URL:
                tables = ", ".join(t.name for t in db.metadata.sorted_tables)
                db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
                db.session.commit()
            db.session.remove()
            db.engine.dispose()
    for other in apps[1:]:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    """An app with a fresh, empty schema; CSRF off so tests can post forms directly."""
    app = make_app(WTF_CSRF_ENABLED=False)
    with app.app_context():
        if not PG_URL:
            db.create_all()
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class World:
    """A small org tree and one account of each kind.

    ministry ─┬─ dept_a ── team_a1     hr_a is hr of dept_a; hr_b of dept_b
              └─ dept_b                learner sits in team_a1; outsider in dept_b
    """

    ministry: object
    dept_a: object
    team_a1: object
    dept_b: object
    admin: User
    hr_a: User
    hr_b: User
    instructor: User
    learner: User
    outsider: User


@pytest.fixture
def make_user(app):
    """Return a factory of users with defaults (password ``PASSWORD``)."""
    counter = iter(range(1, 10_000))

    def factory(unit, full_name=None, username=None, roles=(), email=None, password=PASSWORD):
        n = next(counter)
        person = accounts.create_user(
            full_name or f"Người Dùng {n}",
            username or f"user{n}",
            unit,
            email=email or f"user{n}@example.vn",
            password=password,
        )
        for role, scope in roles:
            db.session.add(
                RoleAssignment(user_id=person.id, role=role, unit_id=scope.id if scope else None)
            )
        db.session.flush()
        return person

    return factory


@pytest.fixture
def world(app, make_user) -> World:
    ministry = accounts.create_unit("BO", "Bộ Thử Nghiệm", "ministry", None, None)
    dept_a = accounts.create_unit("BO.A", "Vụ A", "department", ministry, None)
    team_a1 = accounts.create_unit("BO.A.1", "Phòng A1", "unit", dept_a, None)
    dept_b = accounts.create_unit("BO.B", "Vụ B", "department", ministry, None)
    w = World(
        ministry=ministry,
        dept_a=dept_a,
        team_a1=team_a1,
        dept_b=dept_b,
        admin=make_user(ministry, "Quản Trị Viên", "admin", roles=[("admin", None)]),
        hr_a=make_user(dept_a, "Lê Thị Hạnh", "hr.a", roles=[("hr", dept_a)]),
        hr_b=make_user(dept_b, "Phạm Văn Đức", "hr.b", roles=[("hr", dept_b)]),
        instructor=make_user(
            ministry, "Bùi Thanh Bình", "teacher", roles=[("instructor", ministry)]
        ),
        learner=make_user(team_a1, "Nguyễn Thị Ánh", "learner"),
        outsider=make_user(dept_b, "Đỗ Văn Dũng", "outsider"),
    )
    db.session.commit()
    return w


@pytest.fixture
def make_course(world):
    """Return a factory of published courses with one module of N pages."""

    def factory(
        slug="chinh-phu-dien-tu",
        title="Chính phủ điện tử",
        pages=2,
        topic="chinh-phu-so",
        summary="Dịch vụ công trực tuyến cho người dân",
        publish=True,
    ):
        course = courses.create_course(
            world.instructor, slug=slug, title=title, topic=topic, summary=summary
        )
        module = courses.add_module(course, "Phần 1")
        for n in range(1, pages + 1):
            courses.add_page(module, f"Bài {n}", f"## Mục {n}\n\nNội dung bài {n}.")
        if publish:
            courses.set_status(course, world.instructor, True)
        db.session.commit()
        return course

    return factory


def login(client, username, password=PASSWORD):
    """Sign ``client`` in (CSRF must be off for this app)."""
    return client.post("/login", data={"username": username, "password": password})


@pytest.fixture
def as_user(app, world):
    """Return a client signed in as the named World member (or anonymous for None)."""

    def factory(name: str | None):
        c = app.test_client()
        if name:
            response = login(c, getattr(world, name).username)
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return c

    return factory


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    """Return the CSRF token of the first form in ``html``."""
    match = CSRF_RE.search(html) or re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


def together(*calls):
    """Run ``calls`` in threads released at the same moment; re-raise what any raised."""
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def run(n, call):
        try:
            barrier.wait(timeout=30)
            results[n] = call()
        except BaseException as exc:  # noqa: BLE001 - reported in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results
