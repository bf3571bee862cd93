"""Every open live connection of a signed-in person or a read-only viewer, on any server
process (LiveConnection)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from roadmap.extensions import db
from roadmap.models import LiveConnection, Person, ShareLink
from roadmap.realtime import publisher
from roadmap.services.transactions import writing
from roadmap.timeutil import utcnow


def opened(sid: str, person: Person) -> bool:
    """Record a connection that signed in as `person`; False if their sessions ended meanwhile.

    The person's row is locked, so this waits for an `end_sessions` under way: either it
    finds this row and closes the connection, or this finds its new generation."""
    signed_in_generation = person.sign_in_generation
    with writing():
        current_generation = db.session.scalar(
            select(Person.sign_in_generation).where(Person.id == person.id).with_for_update()
        )
        if current_generation != signed_in_generation:
            return False
        db.session.merge(LiveConnection(sid=sid, person_id=person.id, seen_at=utcnow()))
    return True


def opened_viewer(sid: str, share_link_id: int) -> bool:
    """Record a read-only viewer's connection; False if the link was revoked meanwhile.

    The link's row is locked, so this waits for a `revoke` under way: either it finds
    this row and closes the connection, or this finds the link revoked."""
    with writing():
        revoked_at = db.session.scalar(
            select(ShareLink.revoked_at).where(ShareLink.id == share_link_id).with_for_update()
        )
        if revoked_at is not None:
            return False
        db.session.merge(LiveConnection(sid=sid, share_link_id=share_link_id, seen_at=utcnow()))
    return True


def close_viewers_of(share_link_id: int) -> None:
    """Inside the `writing()` that revokes a link (after its row is updated): once it commits,
    close every viewer's connection on it, on whichever server process holds it."""
    _close_where(LiveConnection.share_link_id == share_link_id)


def closed(sid: str) -> None:
    with writing():
        db.session.execute(delete(LiveConnection).where(LiveConnection.sid == sid))


def close_all_of(person_ids: list[int]) -> None:
    """Inside the `writing()` that ends these people's sessions: once it commits, close every
    connection they have open, on whichever server process holds it."""
    _close_where(LiveConnection.person_id.in_(person_ids))


def _close_where(condition) -> None:
    sids = list(db.session.scalars(select(LiveConnection.sid).where(condition)))
    db.session.execute(delete(LiveConnection).where(condition))
    publisher.disconnect(sids)


def touch(sids: list[str]) -> None:
    """Mark this process's live connections as still here."""
    if not sids:
        return
    with writing():
        db.session.execute(update(LiveConnection).where(LiveConnection.sid.in_(sids)).values(seen_at=utcnow()))


def forget_stale() -> None:
    cutoff = utcnow() - timedelta(seconds=current_app.config["PRESENCE_STALE_SECONDS"])
    with writing():
        db.session.execute(delete(LiveConnection).where(LiveConnection.seen_at < cutoff))
