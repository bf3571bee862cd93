"""Database wiring: SQLite in WAL mode with foreign keys on, checkpointed off the event loop; fresh PostgreSQL databases."""

from __future__ import annotations

import logging
import os
import sqlite3

from flask import Flask
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from roadmap import instance_files
from roadmap.extensions import db


def init_app(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        options.setdefault("connect_args", {})["timeout"] = app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000
    db.init_app(app)
    if uri.startswith("sqlite"):
        with app.app_context():
            _create_private_database_file(db.engine.url)
            event.listen(
                db.engine,
                "connect",
                _sqlite_pragmas(app.config["SQLITE_BUSY_TIMEOUT_MS"], checkpoints_in_background(app)),
            )


def _create_private_database_file(url) -> None:
    """Create the SQLite file 0600 before SQLite does (it would use the umask, 0644):
    it holds names, e-mail addresses and password hashes."""
    path = url.database
    if path in (None, "", ":memory:") or url.query.get("uri") or not os.path.isdir(os.path.dirname(path)):
        return
    instance_files.create_private_file(path)


def _sqlite_pragmas(busy_timeout_ms: int, checkpoint_in_background: bool):
    def set_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if checkpoint_in_background:
            cursor.execute("PRAGMA wal_autocheckpoint=0")  # see keep_wal_checkpointed
        cursor.close()

    return set_pragmas


def keep_wal_checkpointed(app: Flask, interval_seconds: float = 1.0) -> None:
    """Copy SQLite's write-ahead log into the database file every interval, in a native thread.

    Left to SQLite, the commit that fills the log past 1,000 pages copies it back and
    syncs the file itself; under gevent that stalls every connection for 5 ms or more
    about once a second under load (docs/performance.md). A passive checkpoint here
    never waits for readers or writers. Runs as a greenlet, for the apps
    checkpoints_in_background() names.
    """
    from gevent import get_hub, sleep

    with app.app_context():
        path = db.engine.url.database
    threadpool = get_hub().threadpool
    while True:
        sleep(interval_seconds)
        try:
            threadpool.apply(_checkpoint, (path,))
        except Exception as failure:  # the only checkpointer must outlive a busy or passing failure
            logging.getLogger(__name__).warning("WAL checkpoint failed: %s", failure)


def checkpoints_in_background(app: Flask) -> bool:
    """Whether this app's SQLite file is checkpointed by keep_wal_checkpointed (not in memory)."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    return (
        url.get_backend_name() == "sqlite"
        and app.config["SQLITE_CHECKPOINT_IN_BACKGROUND"]
        and url.database not in (None, "", ":memory:")
    )


def _checkpoint(path: str) -> None:
    connection = sqlite3.connect(path, timeout=1.0)
    try:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        connection.close()


def create_fresh_postgres_database(server_url: str, name: str) -> str:
    """Drop and create database `name` on the PostgreSQL server the URL names; returns its URL.
    For the test suite and the benchmark, which each want an empty database of their own."""
    url = make_url(server_url).set(drivername="postgresql+psycopg")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)
