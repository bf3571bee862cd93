"""Write transactions, and what others hear of them only once they are stored.

sqlite3 does not yield to gevent while it waits for the write lock, so a
greenlet waiting there would stall the greenlet that holds it. Every write in
this process therefore takes one lock first; PostgreSQL locks rows itself.

What a write tells others (the publisher's events, closing sockets) is queued on
the session with after_commit(); SQLAlchemy's `after_commit` event releases the
queue and writing() runs it once the commit has returned, so no caller can forget
it or send it before the commit. A rollback drops it.
"""

from contextlib import contextmanager
from threading import RLock

from sqlalchemy import event

from roadmap.extensions import db, socketio

_sqlite_write_lock = RLock()
_AFTER_COMMIT = "roadmap_after_commit"  # session.info key: callbacks waiting for the commit
_COMMITTED = "roadmap_committed"  # session.info key: callbacks whose transaction has committed
_WRITING = "roadmap_writing"  # session.info key: a writing() block is open on this session
_UNSTORED = "roadmap_unstored"  # session.info key: SQL that writes ran in this transaction
_CALLBACKS_BETWEEN_YIELDS = 50


class NestedWrite(RuntimeError):
    """writing() inside writing(), or over writes made outside one: a programming error."""


def _is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


@contextmanager
def writing():
    """Run a block as one write transaction; commits on success, rolls back on error, then
    runs what the block queued with after_commit().

    Refuses to nest: the inner block would commit the outer one's half-done work."""
    session = db.session()
    if session.info.get(_WRITING):
        raise NestedWrite("writing() does not nest: do the inner write inside the outer block, or after it")
    if _is_sqlite():
        with _sqlite_write_lock:
            yield from _transaction(session)
    else:
        yield from _transaction(session)
    # After the lock, and after commit() has returned: a callback may use the session again
    # (closing a socket of this process runs its disconnect handler at once, which writes).
    for count, callback in enumerate(session.info.pop(_COMMITTED, []), start=1):
        callback()
        if count % _CALLBACKS_BETWEEN_YIELDS == 0:
            let_others_run()  # an import's 1,451 changes are broadcast in one go


def let_others_run() -> None:
    """In a long piece of work, let the server's other greenlets run: presence, reads, and on
    PostgreSQL other maps' edits. One that wants SQLite's write lock meanwhile waits for it
    without blocking the loop, as gevent's patched RLock does (docs/performance.md)."""
    if socketio.async_mode == "gevent":
        socketio.sleep(0)


def _transaction(session):
    if session.new or session.dirty or session.deleted or session.info.get(_UNSTORED):
        raise NestedWrite("the session holds writes made outside writing(): make them inside the block")
    # End any read transaction first: in WAL mode a write upgraded from an
    # older read snapshot fails with SQLITE_BUSY_SNAPSHOT.
    if session.in_transaction():
        session.commit()
    session.info[_WRITING] = True
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(_WRITING, None)


def after_commit(callback) -> None:
    """Run `callback` once the `writing()` block around this call has committed, never if it
    rolls back; outside a `writing()` block, at once. For what others must not see before the
    change is stored: the publisher's events (a listener reading the database finds the change),
    a socket closed before the new sign-in generation is stored (it could reconnect with the old)."""
    session = db.session()
    if not session.info.get(_WRITING):
        callback()
        return
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@event.listens_for(db.session, "after_commit")
def _committed(session) -> None:
    session.info.pop(_UNSTORED, None)
    session.info.setdefault(_COMMITTED, []).extend(session.info.pop(_AFTER_COMMIT, []))


@event.listens_for(db.session, "after_soft_rollback")
def _drop_after_commit(session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint inside it
        session.info.pop(_AFTER_COMMIT, None)
        session.info.pop(_UNSTORED, None)


@event.listens_for(db.session, "after_flush")
def _note_flush(session, _flush_context) -> None:
    if not session.info.get(_WRITING):
        session.info[_UNSTORED] = True


@event.listens_for(db.session, "do_orm_execute")
def _note_statement(orm_execute_state) -> None:
    session = orm_execute_state.session
    if not session.info.get(_WRITING) and (
        orm_execute_state.is_insert or orm_execute_state.is_update or orm_execute_state.is_delete
    ):
        session.info[_UNSTORED] = True
