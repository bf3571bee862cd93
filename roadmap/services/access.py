"""Gathering the facts for an access decision in one query."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, and_, bindparam, exists, or_, select
from sqlalchemy.engine import Connection

from roadmap.domain.permissions import MapAccess
from roadmap.extensions import db
from roadmap.hot_sql import HotStatement
from roadmap.models import Group, Membership, Roadmap, Training, TrainingModerator

# Built once: this runs for every edit, and building a statement costs more than running it.
_RUNS_TRAINING = or_(
    Training.moderator_id == bindparam("person_id"),
    exists().where(TrainingModerator.training_id == Training.id, TrainingModerator.person_id == bindparam("person_id")),
)
_MAP_ACCESS = (
    select(
        Roadmap.id,
        Roadmap.group_id,
        Group.archived,
        _RUNS_TRAINING,
        Membership.id,
        Group.training_id,
        Roadmap.locked,
    )
    .join(Group, Group.id == Roadmap.group_id)
    .join(Training, Training.id == Group.training_id)
    .outerjoin(Membership, and_(Membership.group_id == Group.id, Membership.person_id == bindparam("person_id")))
    .where(Roadmap.id == bindparam("roadmap_id"))
)


def map_access(roadmap_id: int, person_id: int) -> MapAccess | None:
    """None when the road map does not exist."""
    row = db.session.connection().execute(_MAP_ACCESS, {"roadmap_id": roadmap_id, "person_id": person_id}).first()
    if row is None:
        return None
    return MapAccess(
        roadmap_id=row[0],
        group_id=row[1],
        group_archived=bool(row[2]),
        runs_training=bool(row[3]),
        is_member=row[4] is not None,
        training_id=row[5],
        locked=bool(row[6]),
    )


# An edit's first statement: it takes the map's next revision, which locks the map
# (a row lock in PostgreSQL, the write lock in SQLite), and returns the facts of
# map_access with it, saving a query on every edit. Written as SQL because
# SQLAlchemy renders columns in SQLite's RETURNING without their tables, which
# the correlated subqueries need. updated_at is the last change of the map's
# content: an op that changes no content (a lock) passes null and leaves it.
_NEXT_REVISION_WITH_ACCESS = HotStatement(
    """
    UPDATE roadmaps SET revision = revision + 1, updated_at = COALESCE(:edited_at, updated_at) WHERE id = :roadmap_id
    RETURNING revision, group_id, locked,
        (SELECT g.archived FROM groups AS g WHERE g.id = roadmaps.group_id),
        (SELECT CASE WHEN t.moderator_id = :person_id OR EXISTS (
             SELECT 1 FROM training_moderators AS tm WHERE tm.training_id = t.id AND tm.person_id = :person_id)
         THEN 1 ELSE 0 END
         FROM trainings AS t JOIN groups AS g ON g.training_id = t.id WHERE g.id = roadmaps.group_id),
        (SELECT m.id FROM memberships AS m WHERE m.group_id = roadmaps.group_id AND m.person_id = :person_id),
        (SELECT g.training_id FROM groups AS g WHERE g.id = roadmaps.group_id)
""",
    {"edited_at": DateTime()},
)


def take_next_revision(
    connection: Connection, roadmap_id: int, person_id: int, edited_at: datetime | None
) -> tuple[int, MapAccess] | None:
    """The map's next revision and the facts for deciding the edit; None when the map does not exist.

    `edited_at` becomes the map's updated_at (its last content edit); None keeps it.
    """
    rows = _NEXT_REVISION_WITH_ACCESS.rows(
        connection, {"roadmap_id": roadmap_id, "person_id": person_id, "edited_at": edited_at}
    )
    if not rows:
        return None
    revision, group_id, locked, archived, runs_training, membership_id, training_id = rows[0]
    return revision, MapAccess(
        roadmap_id=roadmap_id,
        group_id=group_id,
        group_archived=bool(archived),
        runs_training=bool(runs_training),
        is_member=membership_id is not None,
        training_id=training_id,
        locked=bool(locked),
    )
