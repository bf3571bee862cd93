"""Who is in a map and what they are editing, shared by all server processes."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.orm import selectinload

from roadmap.extensions import db
from roadmap.models import Membership, Presence
from roadmap.services.transactions import writing
from roadmap.timeutil import utcnow

MODERATOR_COLOR = "#495057"


def enter(sid: str, roadmap_id: int, person_id: int) -> None:
    with writing():
        row = db.session.get(Presence, sid)
        if row is None:
            db.session.add(Presence(sid=sid, roadmap_id=roadmap_id, person_id=person_id, seen_at=utcnow()))
        else:
            row.roadmap_id, row.person_id, row.focus, row.seen_at = roadmap_id, person_id, None, utcnow()


def set_focus(sid: str, focus: dict | None) -> int | None:
    """Record what a connection is editing; returns its map, or None if it joined none."""
    with writing():
        row = db.session.get(Presence, sid)
        if row is None:
            return None
        row.focus, row.seen_at = focus, utcnow()
        return row.roadmap_id


def leave(sid: str) -> int | None:
    """Forget a connection; returns the map it was in, if any."""
    with writing():
        row = db.session.get(Presence, sid)
        if row is None:
            return None
        roadmap_id = row.roadmap_id
        db.session.delete(row)
        return roadmap_id


def touch(sids: list[str]) -> None:
    """Mark this process's live connections as still here."""
    if not sids:
        return
    with writing():
        db.session.execute(update(Presence).where(Presence.sid.in_(sids)).values(seen_at=utcnow()))


def forget_stale() -> None:
    cutoff = utcnow() - timedelta(seconds=current_app.config["PRESENCE_STALE_SECONDS"])
    with writing():
        db.session.execute(delete(Presence).where(Presence.seen_at < cutoff))


def people_in(roadmap_id: int, group_id: int) -> list[dict]:
    """One entry per person present, with every field they have in focus."""
    cutoff = utcnow() - timedelta(seconds=current_app.config["PRESENCE_STALE_SECONDS"])
    rows = db.session.scalars(
        select(Presence)
        .where(Presence.roadmap_id == roadmap_id, Presence.seen_at >= cutoff)
        .options(selectinload(Presence.person))
        .order_by(Presence.seen_at)
    ).all()
    colors = dict(
        db.session.execute(select(Membership.person_id, Membership.color).where(Membership.group_id == group_id)).all()
    )
    people: dict[int, dict] = {}
    for row in rows:
        entry = people.setdefault(
            row.person_id,
            {
                "id": row.person_id,
                "name": row.person.display_name,
                "color": colors.get(row.person_id, MODERATOR_COLOR),
                "moderator": row.person_id not in colors,
                "focus": [],
            },
        )
        if row.focus and row.focus not in entry["focus"]:
            entry["focus"].append(row.focus)
    return list(people.values())


def connections_in(roadmap_id: int) -> list[tuple[str, int]]:
    """(sid, person id) of every connection that joined the map, on any server process."""
    return [
        tuple(row)
        for row in db.session.execute(select(Presence.sid, Presence.person_id).where(Presence.roadmap_id == roadmap_id))
    ]


def forget(sids: list[str]) -> None:
    """Inside the caller's `writing()`: these connections are in no map any more."""
    db.session.execute(delete(Presence).where(Presence.sid.in_(sids)))
