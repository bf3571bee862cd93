"""A map's past: the change log read back as the map at any revision."""
from __future__ import annotations

from sqlalchemy import select

from roadmap.domain.replay import empty_map, replay
from roadmap.extensions import db
from roadmap.models import Change, Roadmap


def changes_up_to(roadmap_id: int, revision: int) -> list[dict]:
    rows = db.session.execute(
        select(Change.revision, Change.op)
        .where(Change.roadmap_id == roadmap_id, Change.revision <= revision)
        .order_by(Change.revision)
    ).all()
    return [{"revision": row_revision, "op": op} for row_revision, op in rows]


def map_at(roadmap: Roadmap, revision: int) -> dict:
    """The map as it was right after `revision` (0: as created), rebuilt from the log."""
    start = empty_map(roadmap.id, roadmap.group.theme)
    return replay(start, changes_up_to(roadmap.id, revision))
