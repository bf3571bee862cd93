"""How the app talks to SQLite and how Socket.IO events meet Flask's routing."""

from __future__ import annotations

import sqlite3

from flask import request
from sqlalchemy import text

from roadmap import create_app, database
from roadmap.config import TestConfig
from roadmap.extensions import db


def _rows_in_database_file(path) -> int:
    """Notes in the database file itself, leaving the write-ahead log aside."""
    connection = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return connection.execute("SELECT count(*) FROM notes").fetchone()[0]
    except sqlite3.OperationalError:  # the table is only in the log so far
        return 0
    finally:
        connection.close()


def _app_with_background_checkpoints(tmp_path):
    return create_app(
        TestConfig,
        overrides={
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'wal.sqlite3'}",
            "SECRET_KEY": "test",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SQLITE_CHECKPOINT_IN_BACKGROUND": True,
        },
    )


def test_with_background_checkpoints_the_app_connections_never_checkpoint_themselves(tmp_path):
    app = _app_with_background_checkpoints(tmp_path)
    with app.app_context():
        assert db.session.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
        db.session.remove()
        db.engine.dispose()


def test_a_database_in_memory_is_never_checkpointed_in_the_background(tmp_path):
    app = create_app(
        TestConfig,
        overrides={
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "SECRET_KEY": "test",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SQLITE_CHECKPOINT_IN_BACKGROUND": True,
        },
    )
    assert database.checkpoints_in_background(app) is False
    assert database.checkpoints_in_background(_app_with_background_checkpoints(tmp_path)) is True


def test_without_them_sqlite_keeps_checkpointing_on_commit(app):
    with app.app_context():
        assert db.session.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 1000


def test_a_background_checkpoint_copies_the_whole_log_into_the_database(tmp_path):
    path = tmp_path / "wal.sqlite3"
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE notes (body TEXT)")
    for number in range(200):
        writer.execute("INSERT INTO notes VALUES (?)", (f"заметка {number}" * 20,))
        writer.commit()
    assert _rows_in_database_file(path) == 0

    database._checkpoint(str(path))

    assert _rows_in_database_file(path) == 200
    writer.close()


def test_socketio_events_find_a_url_rule_so_routing_raises_nothing(app):
    # Each event runs in a request context built from its connection's environ;
    # a NotFound there would be raised, and left as garbage, once per event.
    environ = {
        "PATH_INFO": "/socket.io/",
        "QUERY_STRING": "EIO=4&transport=websocket",
        "REQUEST_METHOD": "GET",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "5000",
        "wsgi.url_scheme": "http",
    }
    for path in ("/socket.io/", "/socket.io"):
        with app.request_context({**environ, "PATH_INFO": path}):
            assert request.routing_exception is None
