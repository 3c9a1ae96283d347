"""Demo data: loaded only with the demo flag, idempotent, every role can sign in."""

from sqlalchemy import func, select

from elearn.accounts.demo import DEMO_PASSWORD, PEOPLE, UNITS
from elearn.accounts.models import OrgUnit, User
from elearn.extensions import db
from tests.conftest import login


def test_demo_needs_the_flag(runner):
    result = runner.invoke(args=["accounts", "load-demo"])
    assert result.exit_code != 0
    assert "ELEARN_DEMO=1" in result.output


def test_demo_loads_once_and_every_role_signs_in(make_app):
    app = make_app(DEMO=True, WTF_CSRF_ENABLED=False)
    with app.app_context():
        db.create_all() if not app.config["SQLALCHEMY_DATABASE_URI"].startswith(
            "postgres"
        ) else None
    runner = app.test_cli_runner()
    first = runner.invoke(args=["accounts", "load-demo"])
    assert first.exit_code == 0, first.output
    assert DEMO_PASSWORD in first.output
    second = runner.invoke(args=["accounts", "load-demo"])
    assert second.exit_code == 0, second.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == len(UNITS)
        assert db.session.scalar(select(func.count()).select_from(User)) == len(PEOPLE)
        hr = db.session.scalar(select(User).where(User.username == "nhansu"))
        assert hr.is_hr
    client = app.test_client()
    for username in ("quantri", "nhansu", "giangvien", "hocvien"):
        assert login(client, username, DEMO_PASSWORD).status_code == 302, username
        client.post("/logout")
