"""The few statements every edit runs, as hand-written SQL on the DBAPI cursor.

SQLAlchemy's execution of a statement (its cache lookup, execution context and result
object) costs 40-50 us on SQLite; the statement itself 10-15 us. An edit runs four or
five, and the benchmark's stress throughput fell by a quarter (528 against 395 acked
edits/s, docs/performance-findings.md) when these ran as ordinary Core statements.

So the SQL is written out here and sent through the connection's DBAPI cursor
(`Connection.connection`, SQLAlchemy's public handle on it), inside the transaction
SQLAlchemy opened, with values converted by the columns' own SQLAlchemy types
(`TypeEngine.bind_processor` and `result_processor`), as SQLAlchemy would convert
them. What this gives up: engine logging and cursor events. Code that counts or
watches statements listens here too (`listen`). Everything else, including every
other statement of an edit, goes through SQLAlchemy as usual.
"""

from __future__ import annotations

import re
import weakref
from collections import namedtuple
from collections.abc import Callable

from sqlalchemy import exc
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeEngine

# `:name` in the SQL below; psycopg wants `%(name)s`.
_NAMED_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")
_listeners: list[Callable[[str, dict], None]] = []


def listen(callback: Callable[[str, dict], None]) -> None:
    """Call `callback(sql, parameters)` before each statement of this module runs."""
    _listeners.append(callback)


def remove(callback: Callable[[str, dict], None]) -> None:
    _listeners.remove(callback)


class HotStatement:
    """One statement: its SQL with `:name` parameters, the types of the parameters that need
    converting, and (for a statement that returns rows) the types of its columns in order."""

    def __init__(
        self,
        sql: str,
        parameter_types: dict[str, TypeEngine] | None = None,
        column_types: list[TypeEngine] | None = None,
    ):
        self.sql = " ".join(sql.split())
        self.parameter_types = parameter_types or {}
        self.column_types = column_types or []
        self._by_dialect: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def rows(self, connection: Connection, parameters: dict) -> list[tuple]:
        """Run it with `parameters` in the connection's transaction; the rows, as named tuples."""
        prepared = self._by_dialect.get(connection.dialect) or self._prepare(connection.dialect)
        return prepared.run(connection, parameters)

    def _prepare(self, dialect) -> _ForDialect:
        prepared = self._by_dialect[dialect] = _ForDialect(self, dialect)
        return prepared


class _ForDialect:
    """A statement's SQL in the dialect's parameter style, with its converters."""

    def __init__(self, statement: HotStatement, dialect):
        self.dialect = dialect
        self.sql = statement.sql
        if dialect.name == "postgresql":
            self.sql = _NAMED_PARAMETER.sub(r"%(\1)s", statement.sql)
        self.to_database = {
            name: processor
            for name, kind in statement.parameter_types.items()
            if (processor := kind.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        self.column_types = [kind.dialect_impl(dialect) for kind in statement.column_types]
        self.from_database = None
        self.row_type = None

    def run(self, connection: Connection, parameters: dict) -> list[tuple]:
        if self.to_database:
            parameters = {
                name: (convert(value) if (convert := self.to_database.get(name)) else value)
                for name, value in parameters.items()
            }
        if not connection.in_transaction():
            connection.begin()
        for listener in _listeners:
            listener(self.sql, parameters)
        cursor = connection.connection.cursor()
        try:
            cursor.execute(self.sql, parameters)
            return self._rows(cursor) if cursor.description else []
        except self.dialect.loaded_dbapi.Error as error:
            raise _as_sqlalchemy_error(error, connection, cursor, self.sql, parameters) from error
        finally:
            cursor.close()

    def _rows(self, cursor) -> list[tuple]:
        if self.row_type is None:
            self._describe(cursor.description)
        converters = self.from_database
        if not any(converters):
            return [self.row_type._make(row) for row in cursor.fetchall()]
        return [
            self.row_type._make(convert(value) if convert else value for convert, value in zip(converters, row))
            for row in cursor.fetchall()
        ]

    def _describe(self, description) -> None:
        names = [column[0] for column in description]
        kinds = self.column_types or [None] * len(names)
        self.from_database = [
            kind.result_processor(self.dialect, column[1]) if kind is not None else None
            for kind, column in zip(kinds, description)
        ]
        self.row_type = namedtuple("Row", names, rename=True)


def _as_sqlalchemy_error(error, connection: Connection, cursor, sql: str, parameters: dict) -> exc.DBAPIError:
    """The DBAPI error as SQLAlchemy's (an IntegrityError stays one); a lost connection is invalidated."""
    if connection.dialect.is_disconnect(error, connection.connection.dbapi_connection, cursor):
        connection.invalidate(error)
    kind = exc.IntegrityError if isinstance(error, connection.dialect.loaded_dbapi.IntegrityError) else exc.DBAPIError
    return kind(sql, parameters, error)
