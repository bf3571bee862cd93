"""Settings: read from the environment once, by create_app, each as its type; a malformed one stops
the start with its name; README's table lists every variable; each app keeps its own clock."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta

import pytest
from conftest import PROJECT_ROOT

from roadmap import create_app
from roadmap.config import SETTINGS, Config, SettingError, TestConfig, from_environment
from roadmap.timeutil import utcnow

GUNICORN_VARIABLES = {"WORKERS"}  # read by roadmap/gunicorn_config.py, before there is an app


def app_with(config_class=Config, **overrides):
    return create_app(config_class, overrides={"SQLALCHEMY_DATABASE_URI": "sqlite://", **overrides})


def test_each_variable_is_read_as_its_type():
    settings = from_environment(
        {
            "MAIL_PORT": "2525",
            "SOCKET_EVENTS_PER_SECOND": "2.5",
            "MAIL_RETRY_SECONDS": "30",
            "SECURE_COOKIES": "yes",
            "ROADMAP_REMINDERS": "off",
            "ROADMAP_CLOCK_OFFSET_DAYS": "1.5",
            "DATABASE_URL": "postgresql://roadmap@db/roadmap",
            "EXPORT_RATE_LIMIT": "5 per minute",
        }
    )

    assert settings == {
        "MAIL_PORT": 2525,
        "SOCKET_EVENTS_PER_SECOND": 2.5,
        "MAIL_RETRY_SECONDS": 30.0,
        "SESSION_COOKIE_SECURE": True,
        "REMEMBER_COOKIE_SECURE": True,
        "REMINDERS_IN_SERVER": False,
        "CLOCK_OFFSET": timedelta(days=1.5),
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://roadmap@db/roadmap",
        "EXPORT_RATE_LIMIT": "5 per minute",
    }


def test_an_empty_variable_counts_as_unset():
    assert from_environment({"PUBLIC_ORIGIN": "", "MAIL_PORT": "", "SECURE_COOKIES": ""}) == {}


def test_malformed_values_are_refused_together_each_by_name():
    with pytest.raises(SettingError) as refused:
        from_environment(
            {
                "MAIL_PORT": "smtp",
                "SECURE_COOKIES": "maybe",
                "HEAVY_WORK_PROCESSES": "-1",
                "JOIN_RATE_LIMIT": "lots",
                "DASHBOARD_PUSH_SECONDS": "nan",
                "SECRET_KEY": "kept out",
            }
        )

    message = str(refused.value)
    for variable in (
        "MAIL_PORT='smtp'",
        "SECURE_COOKIES='maybe'",
        "HEAVY_WORK_PROCESSES='-1'",
        "JOIN_RATE_LIMIT='lots'",
        "DASHBOARD_PUSH_SECONDS='nan'",
    ):
        assert variable in message
    assert "kept out" not in message


def test_the_app_takes_the_environment_at_creation_and_overrides_win(monkeypatch, tmp_path):
    monkeypatch.setenv("SOCKET_EVENTS_PER_SECOND", "5")
    monkeypatch.setenv("MAIL_FROM", "Дорожная карта <roadmap@example.org>")

    app = app_with(INSTANCE_PATH=str(tmp_path), MAIL_FROM="Roadmap <other@example.org>")

    assert app.config["SOCKET_EVENTS_PER_SECOND"] == 5.0
    assert app.config["MAIL_FROM"] == "Roadmap <other@example.org>"
    assert app.config["SOCKET_EVENT_BURST"] == Config.SOCKET_EVENT_BURST


def test_a_test_app_is_made_from_its_overrides_whatever_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone@elsewhere/production")
    monkeypatch.setenv("MAIL_PORT", "not a port")

    app = create_app(TestConfig, overrides={"INSTANCE_PATH": str(tmp_path)})

    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["MAIL_PORT"] == Config.MAIL_PORT


def test_the_server_does_not_start_with_a_malformed_setting(tmp_path):
    environment = {"PATH": "/usr/bin:/bin", "ROADMAP_INSTANCE_PATH": str(tmp_path), "SOCKET_EVENTS_PER_SECOND": "fast"}

    started = subprocess.run(
        [sys.executable, "-m", "roadmap.server", "--port", "1"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert started.returncode == 1
    assert started.stderr.strip().splitlines()[-1] == (
        "Roadmap cannot start: SOCKET_EVENTS_PER_SECOND='fast' should be a number, 0 or more"
    )


def test_the_readme_lists_every_variable_and_no_other():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    documented = {name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cell)}

    assert documented == {setting.variable for setting in SETTINGS} | GUNICORN_VARIABLES


def test_each_app_keeps_its_own_clock(monkeypatch, tmp_path):
    monkeypatch.setenv("ROADMAP_CLOCK_OFFSET_DAYS", "30")
    later = app_with(INSTANCE_PATH=str(tmp_path / "later"))
    today = app_with(TestConfig, INSTANCE_PATH=str(tmp_path / "today"))

    with later.app_context():
        later_now = utcnow()
    with today.app_context():
        today_now = utcnow()

    assert timedelta(days=29) < later_now - today_now < timedelta(days=31)
