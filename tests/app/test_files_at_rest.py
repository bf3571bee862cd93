"""Files that hold secrets are this user's alone from the moment they exist (issue 18):
the instance folder 0700; the secret key, the SQLite database and the demo moderator's password 0600."""

from __future__ import annotations

import os
import stat
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask_migrate import upgrade

from roadmap import create_app, demo, instance_files
from roadmap.config import TestConfig
from roadmap.extensions import db

THREADS = 8


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@contextmanager
def usual_umask():
    """The umask most systems start processes with, under which plain writes are world-readable."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


# Audit hooks cannot be removed, so one hook for the session reports to whichever test listens.
_chmod_listeners: list[list] = []


def _hear_chmod(event: str, args: tuple) -> None:
    if event == "os.chmod" and _chmod_listeners:
        for heard in _chmod_listeners:
            heard.append(os.fspath(args[0]) if isinstance(args[0], (str, bytes, os.PathLike)) else args[0])


sys.addaudithook(_hear_chmod)


@contextmanager
def chmods_heard():
    heard: list = []
    _chmod_listeners.append(heard)
    try:
        yield heard
    finally:
        _chmod_listeners.remove(heard)


def fresh_app(instance: Path):
    """An app as `make run` makes one: no SECRET_KEY, no DATABASE_URL, only an instance folder."""
    return create_app(
        TestConfig,
        overrides={
            "SECRET_KEY": None,
            "SQLALCHEMY_DATABASE_URI": None,
            "INSTANCE_PATH": str(instance),
        },
    )


@pytest.fixture
def instance(tmp_path):
    return tmp_path / "instance"


def test_a_fresh_instance_holds_its_folder_key_and_database_for_this_user_alone(instance):
    with usual_umask():
        app = fresh_app(instance)
        with app.app_context():
            upgrade()  # what `make run` and `flask db upgrade` do first
            db.engine.dispose()

    assert mode_of(instance) == 0o700
    assert mode_of(instance / "secret_key") == 0o600
    database_files = sorted(instance.glob("roadmap.sqlite3*"))
    assert instance / "roadmap.sqlite3" in database_files
    assert {path.name: mode_of(path) for path in database_files} == {path.name: 0o600 for path in database_files}


def test_the_demo_moderators_password_is_never_readable_by_others(instance):
    with usual_umask():
        app = fresh_app(instance)
        with app.app_context():
            upgrade()
            with chmods_heard() as chmods:
                demo.ensure_demo(app.instance_path)
            db.session.remove()
            db.engine.dispose()

    credentials = instance / "demo-moderator.txt"
    assert mode_of(credentials) == 0o600
    assert str(credentials) not in chmods  # written 0600 from its first byte, not narrowed afterwards
    assert credentials.read_text().startswith(demo.DEMO_EMAIL)


def test_the_secret_key_is_written_private_from_the_start(instance):
    with usual_umask(), chmods_heard() as chmods:
        fresh_app(instance)

    assert mode_of(instance / "secret_key") == 0o600
    assert str(instance / "secret_key") not in chmods


def test_an_older_world_readable_instance_folder_is_made_private(instance):
    instance.mkdir(mode=0o755)
    os.chmod(instance, 0o755)

    fresh_app(instance)

    assert mode_of(instance) == 0o700


@pytest.mark.parametrize("attempt", range(5))
def test_processes_starting_at_once_share_one_secret_key(tmp_path, attempt):
    folder = tmp_path / f"instance-{attempt}"
    folder.mkdir()
    start = threading.Barrier(THREADS)
    keys = [None] * THREADS

    def start_up(index: int) -> None:
        start.wait(timeout=10)
        keys[index] = instance_files.secret_key(folder)

    threads = [threading.Thread(target=start_up, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert len(set(keys)) == 1 and len(keys[0]) == 64
    assert (folder / "secret_key").read_text() == keys[0]
    assert [path.name for path in folder.iterdir()] == ["secret_key"]  # no temporary file left behind
