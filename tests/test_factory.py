"""The app factory and configuration selection."""

import re
from pathlib import Path

import pytest

from elearn import create_app
from elearn.config import DEFAULT_SECRET_KEY, config_from_env


def test_testing_config_is_used(app):
    assert app.testing
    assert app.config["ENV_NAME"] == "testing"


def test_env_selects_config(monkeypatch):
    monkeypatch.setenv("ELEARN_ENV", "production")
    assert config_from_env().ENV_NAME == "production"
    monkeypatch.setenv("ELEARN_ENV", "nonsense")
    with pytest.raises(RuntimeError, match="ELEARN_ENV"):
        config_from_env()


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"SECRET_KEY": DEFAULT_SECRET_KEY}, "SECRET_KEY"),
        ({"SECRET_KEY": "s" * 40, "DEMO": True}, "DEMO"),
        ({"SECRET_KEY": "s" * 40, "SQLALCHEMY_DATABASE_URI": None}, "DATABASE_URL"),
    ],
)
def test_production_refuses_unsafe_settings(tmp_path, overrides, problem):
    config = {
        "ENV_NAME": "production",
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "INSTANCE_DIR": tmp_path,
        "DEMO": False,
        **overrides,
    }
    with pytest.raises(RuntimeError, match=problem):
        create_app(config)


def test_production_starts_with_real_settings(tmp_path):
    app = create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": "s" * 40,
            "DEMO": False,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db",
            "INSTANCE_DIR": tmp_path,
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


def test_every_setting_is_documented_in_env_example():
    """Each ELEARN_* variable config.py reads is listed, with a comment, in .env.example."""
    root = Path(__file__).parents[1]
    read = set(re.findall(r'_(?:env|flag)\("([A-Z_]+)"', (root / "elearn/config.py").read_text()))
    documented = set(re.findall(r"^ELEARN_([A-Z_]+)=", (root / ".env.example").read_text(), re.M))
    assert len(read) > 30  # the pattern really found the settings
    assert sorted(read - documented) == []
