"""Road maps as plain data: the snapshot a client starts from, and catch-up."""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import selectinload

from roadmap.domain.operations import MAP_FIELDS, STAKEHOLDER_FIELDS, STEP_FIELDS
from roadmap.extensions import db
from roadmap.models import Change, Comment, Membership, Person, Roadmap, Stakeholder, Step, StepStakeholder

_maps, _steps, _stakeholders, _links = (
    Roadmap.__table__,
    Step.__table__,
    Stakeholder.__table__,
    StepStakeholder.__table__,
)
_MAP_COLUMNS = [_maps.c[name].label(f"map_{name}") for name in (*MAP_FIELDS, "locked")]
_REVISION = _maps.c.revision.label("map_revision")
_THE_MAP = _maps.c.id == bindparam("roadmap_id")

# Built once: the dashboard feed takes a snapshot of every
# changed map each second, and building these per snapshot cost a third of its work.
# A snapshot runs the first and the last of these starting from the map's row, so both
# return the map's revision as they saw it, even when it has no stakeholders or links
# (see _rows_at_one_revision). The map's fields come with the stakeholders, as a map
# usually has fewer of them than of steps or links.
_MAP_AND_LIVE_STAKEHOLDERS = (
    select(_REVISION, *_MAP_COLUMNS, _stakeholders)
    .select_from(
        _maps.outerjoin(
            _stakeholders, and_(_stakeholders.c.roadmap_id == _maps.c.id, _stakeholders.c.deleted_at.is_(None))
        )
    )
    .where(_THE_MAP)
    .order_by(_stakeholders.c.created_at, _stakeholders.c.id)
)
_LIVE_STEPS = select(_steps).where(_steps.c.roadmap_id == bindparam("roadmap_id"), _steps.c.deleted_at.is_(None))
# The map's id is given inside the subquery too: SQLite would otherwise read every map's links.
_LIVE_STEP_LINKS = (
    select(_links.c.step_id, _links.c.stakeholder_id, _steps.c.roadmap_id)
    .join(_steps, _steps.c.id == _links.c.step_id)
    .where(_steps.c.roadmap_id == bindparam("roadmap_id"), _steps.c.deleted_at.is_(None))
    .subquery("live_step_links")
)
_LIVE_LINKS = (
    select(_REVISION, _LIVE_STEP_LINKS.c.step_id, _LIVE_STEP_LINKS.c.stakeholder_id)
    .select_from(_maps.outerjoin(_LIVE_STEP_LINKS, _LIVE_STEP_LINKS.c.roadmap_id == _maps.c.id))
    .where(_THE_MAP)
    .order_by(_LIVE_STEP_LINKS.c.stakeholder_id)
)
_comments = Comment.__table__
# Each step's number of visible comments: the join carries these, the comments load when a step's are opened.
_COMMENT_COUNTS = (
    select(_comments.c.step_id, func.count())
    .where(
        _comments.c.roadmap_id == bindparam("roadmap_id"),
        _comments.c.deleted_at.is_(None),
        _comments.c.hidden_at.is_(None),
    )
    .group_by(_comments.c.step_id)
)
# PostgreSQL only: waits for an edit of the map to commit and holds off new ones (see _read_holding_off_edits).
_SHARE_THE_MAP = select(_maps.c.id).where(_THE_MAP).with_for_update(read=True)
# Reads before falling back to holding edits off. With three writers at full speed on
# one map (tests/services/test_snapshot_consistency.py), a third of first reads met an edit
# committed between their statements, and fewer than one snapshot in a hundred fell back.
_OPTIMISTIC_READS = 3


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
            "owner_member_id": owner.get("member"),
            "owner_stakeholder_id": owner.get("stakeholder"),
            "owner_text": owner.get("text", ""),
        }
    if field_name in ("starts_on", "due_on"):
        return {field_name: date.fromisoformat(value) if value else None}
    return {field_name: value}


def step_data(step: Step, linked_stakeholder_ids: list[str], predecessor_ids: list[str]) -> dict:
    data = {"id": step.id, "position": step.position}
    data.update({name: step_value(step, name) for name in STEP_FIELDS})
    data["stakeholder_ids"] = linked_stakeholder_ids
    data["depends_on"] = predecessor_ids
    return data


def stakeholder_data(stakeholder: Stakeholder) -> dict:
    data = {"id": stakeholder.id}
    data.update({name: getattr(stakeholder, name) for name in STAKEHOLDER_FIELDS})
    data["created_at"] = stakeholder.created_at.isoformat()
    return data


def snapshot(roadmap: Roadmap, with_members: bool = True) -> dict:
    """The whole live map as the client holds it, exactly at the revision it names.

    The revision and the map's fields are read along with the rest, not taken from
    `roadmap`, which may be older; safe inside any transaction, a write transaction
    too. Steps and stakeholders are read as rows, not ORM objects: building objects
    cost most of a join and of the dashboard feed's work (docs/performance.md)."""
    db.session.flush()  # reads on the session's connection do not autoflush as the session's own would
    steps, stakeholders, comment_counts, links = _rows_at_one_revision(
        db.session.connection(), {"roadmap_id": roadmap.id}
    )
    map_row = stakeholders[0]  # each row of this statement carries the map's fields
    live_stakeholders = [row for row in stakeholders if row.id is not None]
    live_stakeholder_ids = {stakeholder.id for stakeholder in live_stakeholders}
    links_by_step: dict[str, list[str]] = {}
    for link in links:
        if link.stakeholder_id in live_stakeholder_ids:
            links_by_step.setdefault(link.step_id, []).append(link.stakeholder_id)
    data = {"id": roadmap.id, "revision": map_row.map_revision}
    data.update({name: getattr(map_row, f"map_{name}") for name in MAP_FIELDS})
    data["locked"] = bool(map_row.map_locked)
    live_step_ids = {step.id for step in steps}
    data["steps"] = [
        step_data(
            step,
            links_by_step.get(step.id, []),
            [predecessor_id for predecessor_id in step.depends_on or () if predecessor_id in live_step_ids],
        )
        for step in sorted(steps, key=lambda step: (step.position, step.id))
    ]
    data["stakeholders"] = [stakeholder_data(stakeholder) for stakeholder in live_stakeholders]
    data["comment_counts"] = {step_id: count for step_id, count in comment_counts}
    if with_members:
        data["members"] = members_data(roadmap.group_id)
    return data


def _rows_at_one_revision(connection: Connection, by_map: dict) -> tuple[list, list, list, list]:
    """The map's step, stakeholder, comment count and link rows, all as of one revision.

    Under PostgreSQL's READ COMMITTED each statement sees what has committed when it
    starts (SQLite too, as sqlite3 begins no transaction for reads). Every edit raises
    the map's revision in the transaction that changes it, so when the first and the
    last statement saw the same revision, no edit of this map committed between them,
    and the statement between them saw the same map."""
    for _ in range(_OPTIMISTIC_READS):
        rows = _read(connection, by_map)
        stakeholders, links = rows[1], rows[3]
        if stakeholders[0].map_revision == links[0].map_revision:
            return rows
    return _read_holding_off_edits(connection, by_map)


def _read(connection: Connection, by_map: dict) -> tuple[list, list, list, list]:
    """Steps, stakeholders, comment counts and links, read in the order _rows_at_one_revision relies on."""
    stakeholders = connection.execute(_MAP_AND_LIVE_STAKEHOLDERS, by_map).all()
    steps = connection.execute(_LIVE_STEPS, by_map).all()
    comment_counts = connection.execute(_COMMENT_COUNTS, by_map).all()
    return steps, stakeholders, comment_counts, connection.execute(_LIVE_LINKS, by_map).all()


def _read_holding_off_edits(connection: Connection, by_map: dict) -> tuple[list, list, list, list]:
    """Reads no edit can come between, in a savepoint: in PostgreSQL the map's row is
    shared-locked first, which waits for a running edit and holds off new ones; in
    SQLite the savepoint is a read transaction, which reads one state of the database."""
    on_postgresql = connection.dialect.name == "postgresql"
    savepoint = connection.begin_nested()
    try:
        if on_postgresql:
            connection.execute(_SHARE_THE_MAP, by_map).all()
        rows = _read(connection, by_map)
    except BaseException:
        savepoint.rollback()
        raise
    # Rolled back, a savepoint frees the row lock at once instead of at the caller's commit;
    # released, SQLite's ends the read transaction it began, if it began one.
    (savepoint.rollback if on_postgresql else savepoint.commit)()
    return rows


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
        # The snapshot's own revision: roadmap.revision may be older than what it read.
        whole = snapshot(roadmap)
        return {"revision": whole["revision"], "snapshot": whole}
    rows = db.session.execute(
        select(Change.revision, Change.op_id, Change.author_id, Person.display_name, Change.op, Change.created_at)
        .outerjoin(Person, Person.id == Change.author_id)
        .where(Change.roadmap_id == roadmap.id, Change.revision > since_revision)
        .order_by(Change.revision)
    ).all()
    changes = [
        {
            "roadmap_id": roadmap.id,
            "revision": revision,
            "op_id": op_id,
            "author": {"id": author_id, "name": author_name or ""},
            "op": op,
            "at": created_at.isoformat() + "Z",
        }
        for revision, op_id, author_id, author_name, op, created_at in rows
    ]
    _without_withdrawn_words(roadmap.id, changes)
    revision = changes[-1]["revision"] if changes else since_revision
    return {"revision": revision, "changes": changes}


def _without_withdrawn_words(roadmap_id: int, changes: list[dict]) -> None:
    """A comment deleted or hidden since is caught up on without its words, as its thread shows it:
    the log keeps them (it rebuilds the discussion), catch-up does not hand them out again."""
    worded = [change["op"] for change in changes if change["op"]["type"] in ("comment.add", "comment.edit")]
    if not worded:
        return
    withdrawn = set(
        db.session.scalars(
            select(Comment.id).where(
                Comment.roadmap_id == roadmap_id,
                Comment.id.in_({op["comment_id"] for op in worded}),
                (Comment.deleted_at.is_not(None)) | (Comment.hidden_at.is_not(None)),
            )
        )
    )
    for change in changes:
        if change["op"]["type"] in ("comment.add", "comment.edit") and change["op"]["comment_id"] in withdrawn:
            change["op"] = {**change["op"], "body": "", "mentions": []}
