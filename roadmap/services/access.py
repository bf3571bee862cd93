"""Gathering the facts for an access decision in one query."""
from __future__ import annotations

from sqlalchemy import and_, bindparam, select

from roadmap.domain.permissions import MapAccess
from roadmap.extensions import db
from roadmap.models import Group, Membership, Roadmap, Training


# Built once: this runs for every edit, and building a statement costs more than running it.
_MAP_ACCESS = (
    select(
        Roadmap.id, Roadmap.group_id, Group.archived, Training.moderator_id, Membership.id,
        Group.training_id, Roadmap.locked,
    )
    .join(Group, Group.id == Roadmap.group_id)
    .join(Training, Training.id == Group.training_id)
    .outerjoin(Membership, and_(Membership.group_id == Group.id, Membership.person_id == bindparam("person_id")))
    .where(Roadmap.id == bindparam("roadmap_id"))
)


def map_access(roadmap_id: int, person_id: int) -> MapAccess | None:
    """None when the road map does not exist."""
    row = db.session.connection().execute(
        _MAP_ACCESS, {"roadmap_id": roadmap_id, "person_id": person_id}
    ).first()
    if row is None:
        return None
    return MapAccess(
        roadmap_id=row[0], group_id=row[1], group_archived=bool(row[2]),
        training_moderator_id=row[3], is_member=row[4] is not None,
        training_id=row[5], locked=bool(row[6]),
    )
