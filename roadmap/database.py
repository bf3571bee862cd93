"""Database wiring: SQLite in WAL mode with foreign keys on; prepared statements for the edit path."""
from __future__ import annotations

import logging
import os
import sqlite3
import weakref
from collections import namedtuple
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import create_engine, event, exc, text
from sqlalchemy.engine import Connection, make_url

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
            event.listen(db.engine, "connect", _sqlite_pragmas(
                app.config["SQLITE_BUSY_TIMEOUT_MS"], checkpoints_in_background(app)))


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
    return (url.get_backend_name() == "sqlite" and app.config["SQLITE_CHECKPOINT_IN_BACKGROUND"]
            and url.database not in (None, "", ":memory:"))


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


class Prepared:
    """A fixed Core statement on an edit's hot path, run straight on the DBAPI cursor.

    SQLAlchemy still writes the SQL for the connection's dialect and converts values
    both ways with its own bind and result processors. What this skips is its
    bookkeeping per execution (cache key, execution context, result object), which
    on SQLite cost three to five times the statement itself and half of an edit's
    CPU (docs/performance.md); the DBAPI driver keeps the parsed statement (sqlite3's
    statement cache, psycopg's prepared statements). Cursor-execute listeners still
    see every statement. What it cannot do it refuses when compiling: column
    defaults, an explicit RETURNING, expanding or literal-rendered parameters.
    """

    def __init__(self, statement):
        self.statement = statement
        self._by_dialect: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def run(self, connection: Connection, params: dict) -> list[tuple]:
        """Execute with `params` (by bind name); returns the rows, as named tuples."""
        dialect = connection.dialect
        compiled = self._by_dialect.get(dialect) or self._compile(dialect)
        arguments = compiled.arguments(params)
        if not connection.in_transaction():
            connection.begin()  # as SQLAlchemy's autobegin would
        dispatch = connection.dispatch
        heard = _Executed(compiled.sql, arguments) if dispatch.before_cursor_execute or dispatch.after_cursor_execute else None
        cursor = connection.connection.cursor()
        try:
            if heard:
                dispatch.before_cursor_execute(connection, cursor, compiled.sql, arguments, heard, False)
            cursor.execute(compiled.sql, arguments)
            if heard:
                dispatch.after_cursor_execute(connection, cursor, compiled.sql, arguments, heard, False)
            return compiled.rows(cursor) if cursor.description else []
        except dialect.loaded_dbapi.Error as error:
            raise _wrapped(error, connection, cursor, compiled.sql, arguments) from error
        finally:
            cursor.close()

    def _compile(self, dialect) -> _Compiled:
        compiled = self._by_dialect[dialect] = _Compiled(self.statement, dialect)
        return compiled


@dataclass
class _Executed:
    """What cursor-execute listeners get as the execution context (Flask-SQLAlchemy's query
    recording reads `statement` and `parameters`, and keeps its timer on it)."""

    statement: str
    parameters: object


def _wrapped(error, connection: Connection, cursor, sql: str, arguments) -> exc.DBAPIError:
    """The DBAPI error as SQLAlchemy raises it; a lost connection is dropped from the pool."""
    dialect = connection.dialect
    lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, cursor)
    if lost:
        connection.invalidate(error)
    return exc.DBAPIError.instance(
        sql, arguments, error, dialect.loaded_dbapi.Error, hide_parameters=connection.engine.hide_parameters,
        connection_invalidated=lost, dialect=dialect)


class _Compiled:
    """One statement's SQL for one dialect, with its value converters."""

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError("a prepared statement runs no column defaults: give every column a value")
        if getattr(statement, "_returning", ()):
            raise ValueError("a prepared statement converts no RETURNING values: use text() or a select")
        if compiled.post_compile_params or compiled.literal_execute_params or compiled.escaped_bind_names:
            raise ValueError("a prepared statement takes only plain named parameters")
        self.dialect = dialect
        self.sql = compiled.string
        self.positional = compiled.positional
        self.names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        # Parameters with a value of their own (a literal in a comparison, a limit).
        self.fixed = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        self.bind_processors = {
            name: processor for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        self.column_types = [column.type for column in getattr(statement, "selected_columns", ())]
        self.result_processors = None
        self.row_type = None

    def arguments(self, params: dict):
        given = {**self.fixed, **params} if self.fixed else params
        values = [
            processor(given[name]) if (processor := self.bind_processors.get(name)) else given[name]
            for name in self.names
        ]
        return tuple(values) if self.positional else dict(zip(self.names, values))

    def rows(self, cursor) -> list[tuple]:
        if self.row_type is None:
            self._describe(cursor.description)
        processors = self.result_processors
        if not any(processors):
            return [self.row_type._make(row) for row in cursor.fetchall()]
        return [
            self.row_type._make(processor(value) if processor else value
                                for processor, value in zip(processors, row))
            for row in cursor.fetchall()
        ]

    def _describe(self, description) -> None:
        """Result converters as SQLAlchemy picks them, from the column types and the driver's description."""
        self.result_processors = [
            column_type.dialect_impl(self.dialect).result_processor(self.dialect, described[1])
            for column_type, described in zip(self.column_types, description)
        ]
        self.row_type = namedtuple("Row", [described[0] for described in description], rename=True)
