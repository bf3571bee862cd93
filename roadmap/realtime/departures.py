"""Connections of people who may no longer edit a map stop hearing it at once, on every process.

It reads who is in the map after the change is committed: a connection joining meanwhile
either wrote its presence row before (found here) or checks its access after (refused there)."""

from __future__ import annotations

from roadmap.domain import permissions
from roadmap.domain.permissions import Actor
from roadmap.extensions import db
from roadmap.models import Group, Person
from roadmap.realtime import publisher
from roadmap.services import access, presence
from roadmap.services.transactions import writing


def send_away_who_lost(group: Group, reason: str, person_id: int | None = None, to_group: Group | None = None) -> None:
    """After (not inside) the commit that took a person (person_id) or everyone out of `group` (reason "removed",
    "moved" or "archived"): every open editor of its map whose person may no longer edit it leaves the map's and the
    training's rooms, on every server process, and gets a `left_group` event saying why
    (for a move, with the group and map it was moved to). Everyone else is left alone, so it
    is safe to call after any change of membership."""
    roadmap_id, training_id = group.roadmap.id, group.training_id
    connections = [
        (sid, someone) for sid, someone in presence.connections_in(roadmap_id) if person_id in (None, someone)
    ]
    lost = {someone for someone in {someone for _sid, someone in connections} if not _may_edit(someone, roadmap_id)}
    leaving = [sid for sid, someone in connections if someone in lost]
    if not leaving:
        return
    notice = {"roadmap_id": roadmap_id, "reason": reason, "to": None}
    if to_group is not None:
        notice["to"] = {"group_id": to_group.id, "name": to_group.name, "roadmap_id": to_group.roadmap.id}
    with writing():
        presence.forget(leaving)
        for sid in leaving:
            publisher.sent_away(sid, roadmap_id, training_id, notice)
        publisher.presence_changed(roadmap_id, presence.people_in(roadmap_id, group.id))


def _may_edit(person_id: int, roadmap_id: int) -> bool:
    person = db.session.get(Person, person_id)
    target = access.map_access(roadmap_id, person_id)
    return person is not None and target is not None and permissions.may_edit(Actor.of(person), target)
