"""Road maps as plain data: the snapshot a client starts from, and catch-up."""
from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import selectinload

from roadmap.database import Prepared
from roadmap.extensions import db
from roadmap.models import Change, Membership, Person, Roadmap, Stakeholder, Step, StepStakeholder
from roadmap.domain.operations import MAP_FIELDS, STAKEHOLDER_FIELDS, STEP_FIELDS


_steps, _stakeholders, _links = Step.__table__, Stakeholder.__table__, StepStakeholder.__table__

# Prepared once (see database.Prepared): the dashboard feed takes a snapshot of every
# changed map each second, and building these per snapshot cost a third of its work.
_LIVE_STEPS = Prepared(
    select(_steps).where(_steps.c.roadmap_id == bindparam("roadmap_id"), _steps.c.deleted_at.is_(None)))
_LIVE_STAKEHOLDERS = Prepared(
    select(_stakeholders)
    .where(_stakeholders.c.roadmap_id == bindparam("roadmap_id"), _stakeholders.c.deleted_at.is_(None))
    .order_by(_stakeholders.c.created_at, _stakeholders.c.id)
)
_LINKS = Prepared(
    select(_links.c.step_id, _links.c.stakeholder_id)
    .join(_steps, _steps.c.id == _links.c.step_id)
    .where(_steps.c.roadmap_id == bindparam("roadmap_id"))
    .order_by(_links.c.stakeholder_id)
)


def step_value(step: Step, field_name: str):
    if field_name == "owner":
        if step.owner_member_id is not None:
            return {"member": step.owner_member_id}
        if step.owner_stakeholder_id is not None:
            return {"stakeholder": step.owner_stakeholder_id}
        return {"text": step.owner_text} if step.owner_text else None
    value = getattr(step, field_name)
    return value.isoformat() if isinstance(value, date) else value


def step_columns(field_name: str, value) -> dict:
    """The step table's columns for one field value in its wire form."""
    if field_name == "owner":
        owner = value or {}
        return {
            "owner_member_id": owner.get("member"), "owner_stakeholder_id": owner.get("stakeholder"),
            "owner_text": owner.get("text", ""),
        }
    if field_name in ("starts_on", "due_on"):
        return {field_name: date.fromisoformat(value) if value else None}
    return {field_name: value}


def step_data(step: Step, linked_stakeholder_ids: list[str]) -> dict:
    data = {"id": step.id, "position": step.position}
    data.update({name: step_value(step, name) for name in STEP_FIELDS})
    data["stakeholder_ids"] = linked_stakeholder_ids
    return data


def stakeholder_data(stakeholder: Stakeholder) -> dict:
    data = {"id": stakeholder.id}
    data.update({name: getattr(stakeholder, name) for name in STAKEHOLDER_FIELDS})
    data["created_at"] = stakeholder.created_at.isoformat()
    return data


def snapshot(roadmap: Roadmap, with_members: bool = True) -> dict:
    """The whole live map as the client holds it, in three queries.

    Steps and stakeholders are read as rows, not ORM objects: building objects
    cost most of a join and of the dashboard feed's work (docs/performance.md)."""
    db.session.flush()  # prepared statements do not autoflush as the session would
    connection = db.session.connection()
    by_map = {"roadmap_id": roadmap.id}
    steps = _LIVE_STEPS.run(connection, by_map)
    stakeholders = _LIVE_STAKEHOLDERS.run(connection, by_map)
    live_stakeholder_ids = {stakeholder.id for stakeholder in stakeholders}
    links: dict[str, list[str]] = {}
    for step_id, stakeholder_id in _LINKS.run(connection, by_map):
        if stakeholder_id in live_stakeholder_ids:
            links.setdefault(step_id, []).append(stakeholder_id)
    data = {"id": roadmap.id, "revision": roadmap.revision}
    data.update({name: getattr(roadmap, name) for name in MAP_FIELDS})
    data["locked"] = bool(roadmap.locked)
    data["steps"] = [
        step_data(step, links.get(step.id, []))
        for step in sorted(steps, key=lambda step: (step.position, step.id))
    ]
    data["stakeholders"] = [stakeholder_data(stakeholder) for stakeholder in stakeholders]
    if with_members:
        data["members"] = members_data(roadmap.group_id)
    return data


def members_data(group_id: int) -> list[dict]:
    memberships = db.session.scalars(
        select(Membership)
        .where(Membership.group_id == group_id)
        .options(selectinload(Membership.person))
        .order_by(Membership.joined_at, Membership.id)
    ).all()
    return [
        {"id": membership.person_id, "name": membership.person.display_name, "color": membership.color}
        for membership in memberships
    ]


def change_data(change: Change, author_name: str | None = None) -> dict:
    """A change-log row as it is broadcast and replayed to clients."""
    return {
        "roadmap_id": change.roadmap_id,
        "revision": change.revision,
        "op_id": change.op_id,
        "author": {
            "id": change.author_id,
            "name": author_name if author_name is not None else (change.author.display_name if change.author else ""),
        },
        "op": change.op,
        "at": change.created_at.isoformat() + "Z",
    }


def catch_up(roadmap: Roadmap, since_revision: int | None) -> dict:
    """What a client at since_revision is missing: the ops, or a snapshot when far behind."""
    too_far = current_app.config["CATCH_UP_MAX_OPS"]
    if (
        since_revision is None
        or since_revision < 0
        or since_revision > roadmap.revision
        or roadmap.revision - since_revision > too_far
    ):
        return {"revision": roadmap.revision, "snapshot": snapshot(roadmap)}
    rows = db.session.execute(
        select(Change.revision, Change.op_id, Change.author_id, Person.display_name, Change.op, Change.created_at)
        .outerjoin(Person, Person.id == Change.author_id)
        .where(Change.roadmap_id == roadmap.id, Change.revision > since_revision)
        .order_by(Change.revision)
    ).all()
    changes = [
        {
            "roadmap_id": roadmap.id, "revision": revision, "op_id": op_id,
            "author": {"id": author_id, "name": author_name or ""},
            "op": op, "at": created_at.isoformat() + "Z",
        }
        for revision, op_id, author_id, author_name, op, created_at in rows
    ]
    revision = changes[-1]["revision"] if changes else since_revision
    return {"revision": revision, "changes": changes}
