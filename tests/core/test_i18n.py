"""Vietnamese by default, English second, every string translated, choice remembered."""

import subprocess
import sys
from datetime import datetime
from pathlib import Path

from babel.messages.pofile import read_po
from flask_babel import force_locale

from elearn.accounts.models import User
from elearn.core.i18n import local_datetime
from elearn.extensions import db
from tests.conftest import login

ROOT = Path(__file__).parents[2]
CATALOG = ROOT / "elearn" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"


def test_every_ui_string_has_a_vietnamese_translation(tmp_path):
    """Extract strings from the code now, so a new untranslated string fails here."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "-q",
            "extract",
            "-F",
            str(ROOT / "elearn/translations/babel.cfg"),
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            ".",
        ],
        check=True,
        cwd=ROOT,
    )
    with pot.open("rb") as handle:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    assert len(wanted) > 200  # the extraction really read the code and templates
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and not m.fuzzy and (m.string if isinstance(m.string, str) else m.string[0])
    }
    assert sorted(wanted - translated) == []


def test_vietnamese_is_the_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Đăng nhập" in page


def test_language_switch_for_a_visitor_lasts_the_session(client):
    response = client.post("/language", data={"locale": "en", "next": "/login"})
    assert response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Sign in" in page


def test_language_choice_is_remembered_on_the_account(app, world):
    first = app.test_client()
    login(first, "learner")
    first.post("/language", data={"locale": "en", "next": "/"})
    assert db.session.get(User, world.learner.id).locale == "en"
    second = app.test_client()  # another device, fresh session
    login(second, "learner")
    assert '<html lang="en">' in second.get("/").get_data(as_text=True)


def test_unknown_language_is_refused(client):
    assert client.post("/language", data={"locale": "xx"}).status_code == 400


def test_language_switch_does_not_redirect_off_site(client):
    response = client.post("/language", data={"locale": "vi", "next": "//evil.example"})
    assert response.headers["Location"] == "/"


def test_dates_and_numbers_use_vietnamese_formats(app):
    from flask_babel import format_decimal

    with app.test_request_context(), force_locale("vi"):
        # 20:30 UTC on 1 Jan is 03:30 on 2 Jan in Hà Nội.
        assert local_datetime(datetime(2026, 1, 1, 20, 30)) == "03:30 02/01/2026"
        assert format_decimal(1234567.5) == "1.234.567,5"
    with app.test_request_context(), force_locale("en"):
        assert local_datetime(datetime(2026, 1, 1, 20, 30)) == "2 Jan 2026, 03:30"
