"""Database wiring: SQLite in WAL mode with foreign keys on."""
from flask import Flask
from sqlalchemy import event

from roadmap.extensions import db


def init_app(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        options.setdefault("connect_args", {})["timeout"] = app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000
    db.init_app(app)
    if uri.startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_pragmas(app.config["SQLITE_BUSY_TIMEOUT_MS"]))


def _sqlite_pragmas(busy_timeout_ms: int):
    def set_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    return set_pragmas
