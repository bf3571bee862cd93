"""Write transactions that never leave a greenlet spinning in SQLite's busy wait.

sqlite3 does not yield to gevent while it waits for the write lock, so a
greenlet waiting there would stall the greenlet that holds it. Every write in
this process therefore takes one lock first; PostgreSQL locks rows itself.
"""
from contextlib import contextmanager
from threading import RLock

from roadmap.extensions import db

_sqlite_write_lock = RLock()
_AFTER_COMMIT = "roadmap_after_commit"


def _is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


@contextmanager
def writing():
    """Run a block as one write transaction; commits on success, rolls back on error."""
    if _is_sqlite():
        with _sqlite_write_lock:
            yield from _transaction()
    else:
        yield from _transaction()


def _transaction():
    # End any read transaction first: in WAL mode a write upgraded from an
    # older read snapshot fails with SQLITE_BUSY_SNAPSHOT.
    if db.session().in_transaction():
        db.session.commit()
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        db.session.info.pop(_AFTER_COMMIT, None)
        raise
    for callback in db.session.info.pop(_AFTER_COMMIT, []):
        callback()


def after_commit(callback) -> None:
    """Run `callback` once the `writing()` block around this call has committed, never if it
    rolls back: what others must not see before the change is stored (a socket closed
    before the new sign-in generation is stored could reconnect with the old one)."""
    db.session.info.setdefault(_AFTER_COMMIT, []).append(callback)
