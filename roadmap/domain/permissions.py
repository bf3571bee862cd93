"""Who may read and edit which road map.

The rules work on plain facts (MapAccess), so one query can gather them for the
hot edit path and the ORM objects can supply them for pages.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The person behind a request, as much as the rules and the change log need."""

    id: int
    display_name: str
    is_moderator: bool

    @classmethod
    def of(cls, person) -> Actor:
        return cls(person.id, person.display_name, bool(person.is_moderator))


@dataclass(frozen=True)
class MapAccess:
    """What decides access to one group's road map for one person."""

    roadmap_id: int
    group_id: int
    training_id: int
    group_archived: bool
    runs_training: bool  # the person made the training or is one of its co-moderators
    is_member: bool
    locked: bool = False


def moderates(person, training) -> bool:
    return bool(person.is_moderator) and person.id in training.moderator_ids


def may_edit(actor, access: MapAccess) -> bool:
    """Participants edit their own group's map while the group is active;
    moderators every map of their trainings."""
    if actor is None:
        return False
    if actor.is_moderator and access.runs_training:
        return True
    return access.is_member and not access.group_archived


def moderates_map(actor, access: MapAccess) -> bool:
    """Locking a map, and other facilitation, is for the training's moderator."""
    return actor is not None and bool(actor.is_moderator) and access.runs_training


def access_to_group(person, group) -> MapAccess:
    """The facts for a group already loaded through the ORM."""
    is_member = person is not None and any(membership.group_id == group.id for membership in person.memberships)
    return MapAccess(
        roadmap_id=group.roadmap.id,
        group_id=group.id,
        training_id=group.training_id,
        group_archived=bool(group.archived),
        runs_training=person is not None and person.id in group.training.moderator_ids,
        is_member=is_member,
        locked=bool(group.roadmap.locked),
    )


def may_edit_group_map(person, group) -> bool:
    return person is not None and may_edit(person, access_to_group(person, group))


def may_view_group_map(person, group) -> bool:
    return may_edit_group_map(person, group)
