"""The one writer of road maps: every edit, from any transport, goes through apply()."""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from roadmap.domain import permissions
from roadmap.domain.dependencies import cycle_through
from roadmap.domain.errors import EditRejected
from roadmap.domain.limits import check_room_for
from roadmap.domain.merging import Merged, carry_insertion, merge
from roadmap.domain.operations import (
    MAP_FIELDS,
    NOT_GIVEN,
    STAKEHOLDER_DEFAULTS,
    STAKEHOLDER_FIELDS,
    STEP_DEFAULTS,
    STEP_FIELDS,
    Operation,
    TextField,
    parse_op,
)
from roadmap.domain.ordering import key_after
from roadmap.domain.permissions import MapAccess
from roadmap.extensions import db
from roadmap.hot_sql import HotStatement
from roadmap.models import Change, Comment, Membership, Mention, Person, Roadmap, Stakeholder, Step, StepStakeholder
from roadmap.realtime import publisher
from roadmap.services import access, history
from roadmap.services.snapshots import (
    change_data,
    stakeholder_data,
    step_columns,
    step_data,
    step_value,
)
from roadmap.services.transactions import let_others_run, writing
from roadmap.timeutil import utcnow


@dataclass(frozen=True)
class Applied:
    """The result of an edit: the broadcast form of its change, and whether it was a resend."""

    change: dict
    duplicate: bool = False

    @property
    def revision(self) -> int:
        return self.change["revision"]


def apply(payload, actor) -> Applied:
    """Validate, authorise and apply one operation; log it, commit, and broadcast after the commit.

    `actor` is a Person or a permissions.Actor. Sending an op id that was
    already applied returns the first result and changes nothing. Raises
    EditRejected for anything the user can get wrong.
    """
    op = parse_op(payload)
    if op.type == "map.restore":
        _keep_checkpoints_before_restoring(op, actor)
    try:
        wire = _apply_in_transaction(op, actor)
    except _NotApplied as failure:
        # A resent op from someone allowed to edit fails here, as its log row
        # (or its step…) exists already; looking the op id up only then saves
        # a query on every other edit.
        logged = _logged_change(op)
        if logged is None:
            raise failure.reason from failure.reason.__cause__
        return Applied(change_data(logged), duplicate=True)
    return Applied(wire)


class OpRefused(EditRejected):
    """apply_many's refusal: which op (its index in the list) was refused, and why; nothing was stored."""

    def __init__(self, index: int, reason: EditRejected):
        super().__init__(reason.code, reason.detail, {**reason.extra, "op_index": index})
        self.index = index
        self.reason = reason


def apply_many(payloads: list, actor) -> list[Applied]:
    """Apply ops in order as one write transaction with consecutive revisions: all of them or none.

    Each op is validated, authorised and held to the map's caps exactly as apply() does, against
    the map as the ops before it left it. Raises OpRefused for the first op refused; then nothing
    is stored. After the commit each change is broadcast, in order. An op id already logged is
    refused (id_taken) rather than taken as a resend."""
    ops = []
    for index, payload in enumerate(payloads):
        try:
            ops.append(parse_op(payload))
        except EditRejected as reason:
            raise OpRefused(index, reason) from reason
    if not ops:
        return []
    wires: list[dict] = []
    held = MapHoldings()
    try:
        with writing():
            for op in ops:
                wires.append(_apply_within(op, actor, held))
                let_others_run()
    except _NotApplied as failure:
        reason = failure.reason if isinstance(failure.reason, EditRejected) else EditRejected("id_taken")
        raise OpRefused(len(wires), reason) from failure.reason
    except EditRejected as reason:
        raise OpRefused(len(wires), reason) from reason
    return [Applied(wire) for wire in wires]


def _keep_checkpoints_before_restoring(op: Operation, actor) -> None:
    """Replaying a long log is slow: keep its checkpoints before the restore takes the write
    lock, so that under it the map at the past revision replays only from the nearest one."""
    target = access.map_access(op.roadmap_id, actor.id)
    if target is not None and permissions.may_edit(actor, target):
        history.keep_checkpoints_up_to(op.roadmap_id, op.revision)


# Ops that change no content of the map: they do not count as its last edit.
NOT_CONTENT_EDITS = {"map.lock", "comment.add", "comment.edit", "comment.delete", "comment.hide"}


def _apply_in_transaction(op: Operation, actor) -> dict:
    with writing():
        return _apply_within(op, actor, MapHoldings())


@dataclass
class MapHoldings:
    """What the maps of one write transaction hold, for their caps: each count is read once, when
    an op first needs it, and the ops after it keep it true, so a batch counts its own items
    without a COUNT per op. An op that changes a count in a way not tracked here forgets it."""

    counts: dict = field(default_factory=dict)  # (roadmap_id, "stakeholders" | "links" | "dependencies") -> int
    positions: dict = field(default_factory=dict)  # roadmap_id -> the live steps' sorted (position, id)

    def count(self, kind: str, target: MapAccess) -> int:
        key = (target.roadmap_id, kind)
        if key not in self.counts:
            self.counts[key] = _COUNTERS[kind](target)
        return self.counts[key]

    def added(self, kind: str, target: MapAccess) -> None:
        self.counts[(target.roadmap_id, kind)] += 1

    def live_positions(self, target: MapAccess) -> list[tuple[str, str]]:
        if target.roadmap_id not in self.positions:
            self.positions[target.roadmap_id] = _ordered_positions(target)
        return self.positions[target.roadmap_id]

    def step_added(self, target: MapAccess, position: str, step_id: str) -> None:
        bisect.insort(self.positions[target.roadmap_id], (position, step_id))

    def forget(self, target: MapAccess, *kinds: str) -> None:
        for kind in kinds:
            self.counts.pop((target.roadmap_id, kind), None)
        if "steps" in kinds:
            self.positions.pop(target.roadmap_id, None)


def _apply_within(op: Operation, actor, held: MapHoldings) -> dict:
    """One op inside the caller's write transaction: checked, written and logged; its wire form."""
    # Taking the next revision first locks the map before anything is read;
    # a refused edit rolls it back.
    now = utcnow()
    connection = db.session.connection()
    edited_at = None if op.type in NOT_CONTENT_EDITS else now
    taken = access.take_next_revision(connection, op.roadmap_id, actor.id, edited_at)
    if taken is None:
        raise EditRejected("not_found")
    revision, target = taken
    if not permissions.may_edit(actor, target):
        raise EditRejected("forbidden")
    if op.type == "map.lock" and not permissions.moderates_map(actor, target):
        raise EditRejected("moderators_only")
    if target.locked and op.type != "map.lock":
        raise EditRejected("locked")
    if op.type == "map.restore" and _logged_change(op) is not None:
        # A restore is costly to redo just to meet the log's unique op id.
        raise _NotApplied(EditRejected("id_taken"))
    try:
        applied_op, before = _HANDLERS[op.type](target, op, held, actor)
        _refuse_if_stale(op, before, actor)
        db.session.flush()
        # The log's unique (map, op id) refuses a resent op here at the latest.
        _LOG_CHANGE.rows(
            connection,
            {
                "roadmap_id": op.roadmap_id,
                "revision": revision,
                "op_id": op.op_id,
                "author_id": actor.id,
                "created_at": now,
                "op": applied_op,
                "before": before,
            },
        )
    except (EditRejected, IntegrityError) as reason:
        raise _NotApplied(reason) from reason
    wire = {
        "roadmap_id": op.roadmap_id,
        "revision": revision,
        "op_id": op.op_id,
        "author": {"id": actor.id, "name": actor.display_name},
        "op": applied_op,
        "at": now.isoformat() + "Z",
    }
    publisher.edit_applied(wire)  # sent once the commit has stored it; never if it rolls back
    return wire


# The edit path's hottest statements are hand-written SQL (see roadmap/hot_sql.py).
_changes = Change.__table__
_LOG_CHANGE = HotStatement(
    """INSERT INTO changes (roadmap_id, revision, op_id, author_id, created_at, op, "before")
       VALUES (:roadmap_id, :revision, :op_id, :author_id, :created_at, :op, :before)""",
    {name: _changes.c[name].type for name in ("created_at", "op", "before")},
)


class _NotApplied(Exception):
    """An allowed edit that failed, perhaps because it is a resend (see apply)."""

    def __init__(self, reason: Exception):
        self.reason = reason


def _logged_change(op: Operation) -> Change | None:
    return db.session.scalar(select(Change).where(Change.roadmap_id == op.roadmap_id, Change.op_id == op.op_id))


def _refuse_if_stale(op: Operation, before: dict, actor) -> None:
    """A plain field's op that says what its author saw (`base`) is refused with `conflict`
    when someone else has changed the field since: an edit made offline must not
    silently overwrite a newer one. Text fields merge instead."""
    if op.seen is NOT_GIVEN or before["value"] in (op.seen, op.value):
        return
    last = _last_change_of_field(op)
    if last is not None and last.author_id == actor.id:
        return  # the person overwrites their own later change (another device, a resend)
    conflict = {
        "field": op.field,
        "value": op.value,
        "base": op.seen,
        "current": before["value"],
        "changed_by": None,
        "changed_at": None,
        "revision": None,
    }
    for key in ("step_id", "stakeholder_id"):
        if getattr(op, key) is not None:
            conflict[key] = getattr(op, key)
    if last is not None:
        author = db.session.get(Person, last.author_id) if last.author_id is not None else None
        conflict.update(
            changed_by={"id": last.author_id, "name": author.display_name} if author else None,
            changed_at=last.created_at.isoformat() + "Z",
            revision=last.revision,
        )
    raise EditRejected("conflict", extra={"conflict": conflict})


_FIELD_HISTORY_LOOKBACK = 500  # changes searched for the last one that set a field


def _last_change_of_field(op: Operation):
    """The latest logged change that set the op's field (a set, the item's add or restore, a map restore)."""
    recent = db.session.execute(
        select(Change.revision, Change.author_id, Change.created_at, Change.op)
        .where(Change.roadmap_id == op.roadmap_id)
        .order_by(Change.revision.desc())
        .limit(_FIELD_HISTORY_LOOKBACK)
    )
    return next((row for row in recent if _field_value_after(row.op, op) is not _UNTOUCHED), None)


_UNTOUCHED = object()
_ITEM_KEYS = {"step": ("step_id", "steps", "step"), "stakeholder": ("stakeholder_id", "stakeholders", "stakeholder")}
_DEFAULTS = {"step": STEP_DEFAULTS, "stakeholder": STAKEHOLDER_DEFAULTS}


def _field_value_after(logged: dict, op: Operation):
    """What a logged change set the op's field to: _UNTOUCHED when it left the field alone,
    None also when a map restore removed the op's item."""
    kind, target = logged.get("type"), op.target
    if target == "map":
        if kind == "map.set" and logged.get("field") == op.field:
            return logged["value"]
        return logged["map"][op.field] if kind == "map.restore" else _UNTOUCHED
    id_key, list_key, whole_key = _ITEM_KEYS[target]
    item_id = getattr(op, id_key)
    if kind == "map.restore":
        item = next((item for item in logged["map"][list_key] if item["id"] == item_id), None)
        return item.get(op.field, _DEFAULTS[target][op.field]) if item else None
    if logged.get(id_key) != item_id:
        return _UNTOUCHED
    if kind == op.type:
        return logged["value"] if logged.get("field") == op.field else _UNTOUCHED
    # Logs written before a field existed (progress) do not carry it: its default it was.
    if kind == f"{target}.add":
        return logged["fields"].get(op.field, _DEFAULTS[target][op.field])
    if kind == f"{target}.restore":
        return logged[whole_key].get(op.field, _DEFAULTS[target][op.field])
    return _UNTOUCHED


def _resolve(spec, current, op: Operation) -> tuple[object, dict]:
    """The value a *.set stores, and what its resolved op adds: a plain field's value as
    sent; a text field's merged with what others wrote meanwhile, and `insert_at`, where
    the op's inserted text now stands (if it inserted one stretch), so clients carry
    carets exactly."""
    if not isinstance(spec, TextField):
        return op.value, {}
    merged = _carry_through_log(op, current) or merge(op.base, op.value, current, op.after_others, op.insert_at)
    if len(merged.text) > spec.max_length:
        raise EditRejected("too_long")
    return merged.text, ({} if merged.inserted_at is None else {"insert_at": merged.inserted_at})


# Typing that travels while others type meets a few changes; an op from further back is merged.
_CARRY_LOOKBACK = 200


def _carry_through_log(op: Operation, current: str) -> Merged | None:
    """A text op that says where it inserts and which revision its base is, carried exactly
    through the changes of its field committed since (domain/merging.carry_insertion), when
    the first of them replaced the op's very base (so a wrong base revision is merged)."""
    if op.insert_at is None or op.base_revision is None or op.base is None or op.base == current:
        return None
    logged = db.session.execute(
        select(Change.op, Change.before)
        .where(Change.roadmap_id == op.roadmap_id, Change.revision > op.base_revision)
        .order_by(Change.revision)
        .limit(_CARRY_LOOKBACK + 1)
    ).all()
    if len(logged) > _CARRY_LOOKBACK:
        return None
    later_texts = []
    for change, replaced in logged:
        text = _field_value_after(change, op)
        if text is _UNTOUCHED:
            continue
        if not isinstance(text, str) or (not later_texts and (replaced or {}).get("value") != op.base):
            return None  # a restore took the item away, or the base was not the field's text then
        later_texts.append((text, change.get("insert_at")))
    return carry_insertion(op.base, op.value, op.insert_at, op.after_others, later_texts, current)


# --- map -------------------------------------------------------------------


def _set_map_field(target: MapAccess, op: Operation, held: MapHoldings, actor):
    roadmap = db.session.get(Roadmap, target.roadmap_id)
    current = getattr(roadmap, op.field)
    value, placed = _resolve(MAP_FIELDS[op.field], current, op)
    setattr(roadmap, op.field, value)
    return {"type": op.type, "field": op.field, "value": value, **placed}, {"value": current}


def _set_lock(target: MapAccess, op: Operation, held: MapHoldings, actor):
    roadmap = db.session.get(Roadmap, target.roadmap_id)
    was_locked = bool(roadmap.locked)
    roadmap.locked = op.locked
    return {"type": op.type, "locked": op.locked}, {"locked": was_locked}


def _restore_revision(target: MapAccess, op: Operation, held: MapHoldings, actor):
    """Bring the whole map back to how it was at a past revision, as one new change."""
    roadmap = db.session.get(Roadmap, target.roadmap_id)
    # roadmap.revision is already this change's own; the map as it stands is the one before.
    if op.revision >= roadmap.revision - 1:
        raise EditRejected("invalid_value", "restore a revision before the current one")
    past = history.map_at_while_writing(roadmap, op.revision)
    restored = {name: past[name] for name in MAP_FIELDS}
    for name, value in restored.items():
        setattr(roadmap, name, value)
    now = utcnow()
    _restore_items(Step, target, past["steps"], _write_step, now)
    _restore_items(Stakeholder, target, past["stakeholders"], _write_stakeholder, now)
    _restore_links(target, past)
    _check_caps_after_restore(target)
    held.forget(target, "steps", "stakeholders", "links", "dependencies")
    restored.update(steps=past["steps"], stakeholders=past["stakeholders"])
    return {"type": op.type, "revision": op.revision, "map": restored}, {"revision": roadmap.revision - 1}


def _restore_items(model, target: MapAccess, wanted: list[dict], write, now) -> None:
    """Make the map's live items exactly `wanted`: rewrite those, delete the rest."""
    existing = {
        item.id: item for item in db.session.scalars(select(model).where(model.roadmap_id == target.roadmap_id))
    }
    wanted_ids = {data["id"] for data in wanted}
    for item in existing.values():
        if item.id not in wanted_ids and item.deleted_at is None:
            item.deleted_at = now
    for data in wanted:
        item = existing.get(data["id"]) or model(id=data["id"], roadmap_id=target.roadmap_id)
        write(item, data)
        item.deleted_at = None
        db.session.add(item)


def _check_caps_after_restore(target: MapAccess) -> None:
    """A past revision may hold more than the map may now (links of items deleted since stay)."""
    db.session.flush()
    check_room_for("steps", _live_count(Step, target), adding=0)
    check_room_for("stakeholders", _live_count(Stakeholder, target), adding=0)
    check_room_for("links", _link_count(target), adding=0)
    check_room_for("dependencies", _dependency_count(target), adding=0)


def _live_count(model, target: MapAccess) -> int:
    return db.session.scalar(
        select(func.count()).select_from(model).where(model.roadmap_id == target.roadmap_id, model.deleted_at.is_(None))
    )


def _link_count(target: MapAccess) -> int:
    """Every link of the map, those of deleted items too: restoring the item brings them back."""
    return db.session.scalar(
        select(func.count())
        .select_from(StepStakeholder)
        .join(Step, Step.id == StepStakeholder.step_id)
        .where(Step.roadmap_id == target.roadmap_id)
    )


def _write_step(step: Step, data: dict) -> None:
    step.position = data["position"]
    step.depends_on = list(data.get("depends_on", []))
    for name in STEP_FIELDS:
        for column, value in step_columns(name, data.get(name, STEP_DEFAULTS[name])).items():
            setattr(step, column, value)


def _write_stakeholder(stakeholder: Stakeholder, data: dict) -> None:
    for name in STAKEHOLDER_FIELDS:
        setattr(stakeholder, name, data[name])
    stakeholder.created_at = datetime.fromisoformat(data["created_at"])


def _restore_links(target: MapAccess, past: dict) -> None:
    """Links between the restored items become the past ones; links that touch an item the
    restore deleted stay, as a delete keeps them, so restoring that item brings them back."""
    live_steps = {step["id"] for step in past["steps"]}
    live_stakeholders = {item["id"] for item in past["stakeholders"]}
    wanted = {(step["id"], stakeholder_id) for step in past["steps"] for stakeholder_id in step["stakeholder_ids"]}
    db.session.flush()
    existing = set(
        db.session.execute(
            select(StepStakeholder.step_id, StepStakeholder.stakeholder_id)
            .join(Step, Step.id == StepStakeholder.step_id)
            .where(Step.roadmap_id == target.roadmap_id)
        ).all()
    )
    for step_id, stakeholder_id in existing - wanted:
        if step_id in live_steps and stakeholder_id in live_stakeholders:
            db.session.execute(
                delete(StepStakeholder).where(
                    StepStakeholder.step_id == step_id, StepStakeholder.stakeholder_id == stakeholder_id
                )
            )
    for step_id, stakeholder_id in wanted - existing:
        db.session.add(StepStakeholder(step_id=step_id, stakeholder_id=stakeholder_id))


# --- steps -----------------------------------------------------------------
# Edits of a live step read and write its row with hand-written SQL (roadmap/hot_sql.py):
# the ORM's load and flush, and even Core's execution, cost more than the rest of the edit.
# Those statements do not autoflush as the session's would: the callers flush first.

_steps = Step.__table__
_STEP_COLUMNS = ", ".join(f'"{column.name}"' for column in _steps.columns)
_STEP_ROW = HotStatement(
    f"SELECT {_STEP_COLUMNS} FROM steps WHERE id = :step_id", column_types=[column.type for column in _steps.columns]
)
_LIVE_POSITIONS = HotStatement("SELECT position, id FROM steps WHERE roadmap_id = :roadmap_id AND deleted_at IS NULL")
_ADD_STEP = insert(_steps)


def _live_step(target: MapAccess, step_id: str):
    """The step's row (attributes as on a Step), if it is a live step of this map."""
    db.session.flush()
    found = _STEP_ROW.rows(db.session.connection(), {"step_id": step_id})
    step = found[0] if found else None
    if step is None or step.roadmap_id != target.roadmap_id:
        raise EditRejected("step_not_found")
    if step.deleted_at is not None:
        raise EditRejected("step_deleted")
    return step


def _update_step(step_id: str, columns: dict) -> None:
    values = {f"new_{name}": value for name, value in columns.items()}
    _step_update(tuple(columns)).rows(db.session.connection(), {"step_id": step_id, **values})


@functools.cache
def _step_update(column_names: tuple[str, ...]):
    """One prebuilt UPDATE per set of columns an edit writes (a field's columns, the position…)."""
    assignments = ", ".join(f'"{name}" = :new_{name}' for name in column_names)
    return HotStatement(
        f"UPDATE steps SET {assignments} WHERE id = :step_id",
        {f"new_{name}": _steps.c[name].type for name in column_names},
    )


def _ordered_positions(target: MapAccess, excluding_step_id: str | None = None) -> list[tuple[str, str]]:
    db.session.flush()
    rows = _LIVE_POSITIONS.rows(db.session.connection(), {"roadmap_id": target.roadmap_id})
    # Sorted here, not in SQL: PostgreSQL's collation may order the keys' letters differently.
    return sorted((position, step_id) for position, step_id in rows if step_id != excluding_step_id)


def _position_for(target: MapAccess, op: Operation, moving_step_id: str | None = None) -> str:
    return _position_among(_ordered_positions(target, excluding_step_id=moving_step_id), op)


def _position_among(ordered: list[tuple[str, str]], op: Operation) -> str:
    keys = [position for position, _ in ordered]
    if op.at_end:
        return key_after(keys, keys[-1] if keys else None)
    if op.after_id is None:
        return key_after(keys, None)
    for position, step_id in ordered:
        if step_id == op.after_id:
            return key_after(keys, position)
    raise EditRejected("step_not_found")


def _check_owner(target: MapAccess, owner: dict | None) -> None:
    if not owner:
        return
    if "member" in owner:
        is_member = db.session.scalar(
            select(Membership.id).where(Membership.group_id == target.group_id, Membership.person_id == owner["member"])
        )
        if is_member is None:
            raise EditRejected("member_not_found")
    if "stakeholder" in owner:
        _live_stakeholder(target, owner["stakeholder"])


def _add_step(target: MapAccess, op: Operation, held: MapHoldings, actor):
    connection = db.session.connection()
    if _STEP_ROW.rows(connection, {"step_id": op.step_id}):
        raise EditRejected("id_taken")
    ordered = held.live_positions(target)
    check_room_for("steps", len(ordered))
    fields = {**STEP_DEFAULTS, **op.fields}
    _check_owner(target, fields["owner"])
    position = _position_among(ordered, op)
    columns = {"id": op.step_id, "roadmap_id": target.roadmap_id, "position": position}
    for name, value in fields.items():
        columns.update(step_columns(name, value))
    connection.execute(_ADD_STEP, columns)
    held.step_added(target, position, op.step_id)
    return {"type": op.type, "step_id": op.step_id, "position": position, "fields": fields}, {}


def _set_step_field(target: MapAccess, op: Operation, held: MapHoldings, actor):
    step = _live_step(target, op.step_id)
    current = step_value(step, op.field)
    if op.field == "owner":
        _check_owner(target, op.value)
    value, placed = _resolve(STEP_FIELDS[op.field], current, op)
    _update_step(step.id, step_columns(op.field, value))
    applied = {"type": op.type, "step_id": step.id, "field": op.field, "value": value, **placed}
    return applied, {"value": current, "step_title": step.title}


def _move_step(target: MapAccess, op: Operation, held: MapHoldings, actor):
    step = _live_step(target, op.step_id)
    if op.after_id == step.id:
        raise EditRejected("invalid_op", "a step cannot follow itself")
    position = _position_for(target, op, moving_step_id=step.id)
    _update_step(step.id, {"position": position})
    held.forget(target, "steps")
    applied = {"type": op.type, "step_id": step.id, "position": position}
    return applied, {"position": step.position, "step_title": step.title}


def _delete_step(target: MapAccess, op: Operation, held: MapHoldings, actor):
    step = _live_step(target, op.step_id)
    _update_step(step.id, {"deleted_at": utcnow()})
    held.forget(target, "steps")
    return {"type": op.type, "step_id": step.id}, {"step_title": step.title}


def _deleted_item(model, item_id: str, target: MapAccess, missing_code: str):
    """A deleted step or stakeholder of this map, for a restore."""
    item = db.session.get(model, item_id)
    if item is None or item.roadmap_id != target.roadmap_id:
        raise EditRejected(missing_code)
    if item.deleted_at is None:
        raise EditRejected("not_deleted")
    return item


def _restore_step(target: MapAccess, op: Operation, held: MapHoldings, actor):
    step = _deleted_item(Step, op.step_id, target, "step_not_found")
    taken = [position for position, _ in held.live_positions(target)]
    check_room_for("steps", len(taken))
    held.forget(target, "steps")
    if step.position in taken:  # a step added meanwhile took the old key
        step.position = key_after(taken, step.position)
    step.deleted_at = None
    # The restored step travels whole, since clients dropped it on delete.
    linked = db.session.scalars(
        select(StepStakeholder.stakeholder_id)
        .join(Stakeholder, Stakeholder.id == StepStakeholder.stakeholder_id)
        .where(StepStakeholder.step_id == step.id, Stakeholder.deleted_at.is_(None))
        .order_by(StepStakeholder.stakeholder_id)
    ).all()
    predecessor_ids, dependent_ids = _restored_dependencies(target, step)
    applied = {
        "type": op.type,
        "step_id": step.id,
        "step": step_data(step, list(linked), predecessor_ids),
        "dependent_ids": dependent_ids,
    }
    return applied, {"step_title": step.title}


def _restored_dependencies(target: MapAccess, step: Step) -> tuple[list[str], list[str]]:
    """The arrows a restored step gets back: to its live predecessors, and from the live steps
    that still list it. Made while it was deleted, other arrows may close a cycle through it
    with some of those; such a follower forgets the restored step."""
    stored_by_step = _stored_dependencies(target)
    dependencies = _live_dependencies(stored_by_step)
    predecessor_ids = sorted(set(step.depends_on or ()) & dependencies.keys())
    dependencies[step.id] = set(predecessor_ids)
    dependent_ids = []
    for follower_id, (stored, _deleted) in sorted(stored_by_step.items()):
        if step.id not in stored or follower_id not in dependencies or follower_id == step.id:
            continue
        if cycle_through(dependencies, follower_id, step.id) is None:
            dependencies[follower_id].add(step.id)
            dependent_ids.append(follower_id)
        else:
            _update_step(follower_id, {"depends_on": sorted(stored - {step.id})})
    return predecessor_ids, dependent_ids


def _link_stakeholder(target: MapAccess, op: Operation, held: MapHoldings, actor):
    step = _live_step(target, op.step_id)
    stakeholder = _live_stakeholder(target, op.stakeholder_id)
    link = {"step_id": step.id, "stakeholder_id": stakeholder.id}
    connection = db.session.connection()
    if connection.execute(_LINK_EXISTS, link).first() is None:
        check_room_for("links", held.count("links", target))
        connection.execute(_ADD_LINK, link)
        held.added("links", target)
    applied = {"type": op.type, "step_id": step.id, "stakeholder_id": stakeholder.id}
    return applied, {"step_title": step.title, "stakeholder_name": stakeholder.name}


def _unlink_stakeholder(target: MapAccess, op: Operation, held: MapHoldings, actor):
    step = _live_step(target, op.step_id)
    stakeholder = _live_stakeholder(target, op.stakeholder_id)
    link = {"step_id": step.id, "stakeholder_id": stakeholder.id}
    if db.session.connection().execute(_REMOVE_LINK, link).rowcount:
        held.forget(target, "links")
    applied = {"type": op.type, "step_id": step.id, "stakeholder_id": stakeholder.id}
    return applied, {"step_title": step.title, "stakeholder_name": stakeholder.name}


# --- dependencies between steps -------------------------------------------

_STORED_DEPENDENCIES = HotStatement(
    "SELECT id, depends_on, deleted_at FROM steps WHERE roadmap_id = :roadmap_id",
    column_types=[_steps.c.id.type, _steps.c.depends_on.type, _steps.c.deleted_at.type],
)


def _stored_dependencies(target: MapAccess) -> dict[str, tuple[set[str], bool]]:
    """Each step's stored predecessor ids, and whether the step is deleted (its ids stay stored)."""
    db.session.flush()
    rows = _STORED_DEPENDENCIES.rows(db.session.connection(), {"roadmap_id": target.roadmap_id})
    return {row.id: (set(row.depends_on or ()), row.deleted_at is not None) for row in rows}


def _live_dependencies(stored_by_step: dict[str, tuple[set[str], bool]]) -> dict[str, set[str]]:
    """The arrows between live steps: {step id: the live step ids it depends on}."""
    live = {step_id: stored for step_id, (stored, deleted) in stored_by_step.items() if not deleted}
    return {step_id: predecessors & live.keys() for step_id, predecessors in live.items()}


def _dependency_count(target: MapAccess) -> int:
    """Every stored arrow of the map, those of deleted steps too, as for links."""
    return sum(len(stored) for stored, _deleted in _stored_dependencies(target).values())


def _add_dependency(target: MapAccess, op: Operation, held: MapHoldings, actor):
    step = _live_step(target, op.step_id)
    predecessor = _live_step(target, op.predecessor_id)
    stored = set(step.depends_on or ())
    if predecessor.id not in stored:
        cycle = cycle_through(_live_dependencies(_stored_dependencies(target)), step.id, predecessor.id)
        if cycle is not None:
            raise EditRejected("dependency_cycle", extra={"cycle": cycle})
        check_room_for("dependencies", held.count("dependencies", target))
        _update_step(step.id, {"depends_on": sorted(stored | {predecessor.id})})
        held.added("dependencies", target)
    applied = {"type": op.type, "step_id": step.id, "predecessor_id": predecessor.id}
    return applied, {"step_title": step.title, "predecessor_title": predecessor.title}


def _remove_dependency(target: MapAccess, op: Operation, held: MapHoldings, actor):
    step = _live_step(target, op.step_id)
    predecessor = _live_step(target, op.predecessor_id)
    stored = set(step.depends_on or ())
    if predecessor.id in stored:
        _update_step(step.id, {"depends_on": sorted(stored - {predecessor.id})})
        held.forget(target, "dependencies")
    applied = {"type": op.type, "step_id": step.id, "predecessor_id": predecessor.id}
    return applied, {"step_title": step.title, "predecessor_title": predecessor.title}


# --- stakeholders ----------------------------------------------------------
# Like steps, live stakeholders and links are read and written with Core statements:
# an import's 1,000 links each cost 1.8 ms through the ORM (docs/performance.md).

_stakeholders = Stakeholder.__table__
_links = StepStakeholder.__table__
_STAKEHOLDER_ROW = select(_stakeholders).where(_stakeholders.c.id == bindparam("stakeholder_id"))
_ADD_STAKEHOLDER = insert(_stakeholders)
_LINK_EXISTS = select(_links.c.step_id).where(
    _links.c.step_id == bindparam("step_id"), _links.c.stakeholder_id == bindparam("stakeholder_id")
)
_ADD_LINK = insert(_links)
_REMOVE_LINK = delete(_links).where(
    _links.c.step_id == bindparam("step_id"), _links.c.stakeholder_id == bindparam("stakeholder_id")
)


def _stakeholder_row(stakeholder_id: str):
    db.session.flush()  # Core statements do not autoflush as the session would
    return db.session.connection().execute(_STAKEHOLDER_ROW, {"stakeholder_id": stakeholder_id}).first()


def _update_stakeholder(stakeholder_id: str, columns: dict) -> None:
    db.session.connection().execute(update(_stakeholders).where(_stakeholders.c.id == stakeholder_id).values(columns))


def _live_stakeholder(target: MapAccess, stakeholder_id: str):
    """The stakeholder's row (attributes as on a Stakeholder), if it is a live stakeholder of this map."""
    stakeholder = _stakeholder_row(stakeholder_id)
    if stakeholder is None or stakeholder.roadmap_id != target.roadmap_id or stakeholder.deleted_at is not None:
        raise EditRejected("stakeholder_not_found")
    return stakeholder


def _add_stakeholder(target: MapAccess, op: Operation, held: MapHoldings, actor):
    if _stakeholder_row(op.stakeholder_id) is not None:
        raise EditRejected("id_taken")
    check_room_for("stakeholders", held.count("stakeholders", target))
    fields = {**STAKEHOLDER_DEFAULTS, **op.fields}
    created_at = utcnow()
    db.session.connection().execute(
        _ADD_STAKEHOLDER,
        {
            "id": op.stakeholder_id,
            "roadmap_id": target.roadmap_id,
            "created_at": created_at,
            "deleted_at": None,
            **fields,
        },
    )
    held.added("stakeholders", target)
    applied = {
        "type": op.type,
        "stakeholder_id": op.stakeholder_id,
        "fields": fields,
        "created_at": created_at.isoformat(),
    }
    return applied, {}


def _set_stakeholder_field(target: MapAccess, op: Operation, held: MapHoldings, actor):
    stakeholder = _live_stakeholder(target, op.stakeholder_id)
    current = getattr(stakeholder, op.field)
    value, placed = _resolve(STAKEHOLDER_FIELDS[op.field], current, op)
    _update_stakeholder(stakeholder.id, {op.field: value})
    applied = {"type": op.type, "stakeholder_id": stakeholder.id, "field": op.field, "value": value, **placed}
    return applied, {"value": current, "stakeholder_name": stakeholder.name}


def _delete_stakeholder(target: MapAccess, op: Operation, held: MapHoldings, actor):
    stakeholder = _live_stakeholder(target, op.stakeholder_id)
    _update_stakeholder(stakeholder.id, {"deleted_at": utcnow()})
    held.forget(target, "stakeholders")
    return {"type": op.type, "stakeholder_id": stakeholder.id}, {"stakeholder_name": stakeholder.name}


def _restore_stakeholder(target: MapAccess, op: Operation, held: MapHoldings, actor):
    stakeholder = _deleted_item(Stakeholder, op.stakeholder_id, target, "stakeholder_not_found")
    check_room_for("stakeholders", held.count("stakeholders", target))
    held.forget(target, "stakeholders")
    stakeholder.deleted_at = None
    linked_step_ids = db.session.scalars(
        select(StepStakeholder.step_id)
        .join(Step, Step.id == StepStakeholder.step_id)
        .where(StepStakeholder.stakeholder_id == stakeholder.id, Step.deleted_at.is_(None))
    ).all()
    applied = {
        "type": op.type,
        "stakeholder_id": stakeholder.id,
        "stakeholder": stakeholder_data(stakeholder),
        "step_ids": sorted(linked_step_ids),
    }
    return applied, {"stakeholder_name": stakeholder.name}


# --- comments on steps -------------------------------------------------------
# A comment's op carries count_change, what it did to the step's number of visible
# comments, so clients and the replay keep comment_counts without the comments.


def _add_comment(target: MapAccess, op: Operation, held: MapHoldings, actor):
    step = _live_step(target, op.step_id)
    if db.session.get(Comment, op.comment_id) is not None:
        raise EditRejected("id_taken")
    parent_id = None
    if op.parent_id is not None:
        parent = _comment_of(target, op.parent_id)
        if parent.step_id != step.id or parent.deleted_at is not None:
            raise EditRejected("comment_not_found")
        parent_id = parent.parent_id or parent.id  # an answer to a reply answers its thread
    _check_members(target, op.mentions)
    check_room_for("comments", held.count("comments", target))
    check_room_for("comments_on_step", _live_comment_count(Comment.step_id == step.id))
    created_at = utcnow()
    db.session.add(
        Comment(
            id=op.comment_id,
            roadmap_id=target.roadmap_id,
            step_id=step.id,
            parent_id=parent_id,
            author_id=actor.id,
            body=op.body,
            mentions=list(op.mentions),
            created_at=created_at,
        )
    )
    held.added("comments", target)
    _mention(target, op.comment_id, step, op.mentions, actor)
    applied = {
        "type": op.type,
        "comment_id": op.comment_id,
        "step_id": step.id,
        "parent_id": parent_id,
        "author_id": actor.id,
        "body": op.body,
        "mentions": list(op.mentions),
        "created_at": created_at.isoformat(),
        "count_change": 1,
    }
    return applied, {"step_title": step.title}


def _edit_comment(target: MapAccess, op: Operation, held: MapHoldings, actor):
    comment, step = _own_live_comment(target, op.comment_id, actor)
    before = {"body": comment.body, "step_title": step.title}
    _check_members(target, op.mentions)
    _mention(target, comment.id, step, sorted(set(op.mentions) - set(comment.mentions or ())), actor)
    comment.body, comment.mentions, comment.edited_at = op.body, list(op.mentions), utcnow()
    applied = {
        "type": op.type,
        "comment_id": comment.id,
        "step_id": step.id,
        "body": op.body,
        "mentions": list(op.mentions),
        "edited_at": comment.edited_at.isoformat(),
        "count_change": 0,
    }
    return applied, before


def _delete_comment(target: MapAccess, op: Operation, held: MapHoldings, actor):
    comment, step = _own_live_comment(target, op.comment_id, actor)
    count_change = -1 if comment.hidden_at is None else 0
    comment.deleted_at = utcnow()
    held.forget(target, "comments")
    applied = {"type": op.type, "comment_id": comment.id, "step_id": step.id, "count_change": count_change}
    return applied, {"body": comment.body, "step_title": step.title}


def _hide_comment(target: MapAccess, op: Operation, held: MapHoldings, actor):
    if not permissions.moderates_map(actor, target):
        raise EditRejected("moderators_only")
    comment = _comment_of(target, op.comment_id)
    if comment.deleted_at is not None:
        raise EditRejected("comment_not_found")
    step = _live_step(target, comment.step_id)
    was_shown = comment.hidden_at is None
    comment.hidden_at = utcnow() if op.hidden else None
    applied = {
        "type": op.type,
        "comment_id": comment.id,
        "step_id": step.id,
        "hidden": op.hidden,
        "count_change": int(not op.hidden) - int(was_shown),
    }
    return applied, {"body": comment.body, "step_title": step.title}


def _comment_of(target: MapAccess, comment_id: str) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.roadmap_id != target.roadmap_id:
        raise EditRejected("comment_not_found")
    return comment


def _own_live_comment(target: MapAccess, comment_id: str, actor) -> tuple[Comment, object]:
    """A comment its author may change: not deleted, on a live step."""
    comment = _comment_of(target, comment_id)
    if comment.deleted_at is not None:
        raise EditRejected("comment_not_found")
    if comment.author_id != actor.id:
        raise EditRejected("not_author")
    return comment, _live_step(target, comment.step_id)


def _check_members(target: MapAccess, person_ids) -> None:
    if not person_ids:
        return
    members = set(
        db.session.scalars(
            select(Membership.person_id).where(
                Membership.group_id == target.group_id, Membership.person_id.in_(person_ids)
            )
        )
    )
    if members != set(person_ids):
        raise EditRejected("member_not_found")


def _mention(target: MapAccess, comment_id: str, step, person_ids, actor) -> None:
    """Tell each person named in a comment (not its author) in their top bar, once the edit commits."""
    db.session.flush()  # the comment's row first: a mention refers to it
    for person_id in person_ids:
        if person_id == actor.id:
            continue
        mention = Mention(person_id=person_id, comment_id=comment_id, roadmap_id=target.roadmap_id, step_id=step.id)
        db.session.add(mention)
        db.session.flush()
        publisher.mentioned(
            person_id,
            {
                "id": mention.id,
                "roadmap_id": target.roadmap_id,
                "step_id": step.id,
                "step_title": step.title,
                "comment_id": comment_id,
                "by": actor.display_name,
            },
        )


def _live_comment_count(*conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(Comment).where(Comment.deleted_at.is_(None), *conditions))


_HANDLERS = {
    "map.set": _set_map_field,
    "map.lock": _set_lock,
    "map.restore": _restore_revision,
    "step.add": _add_step,
    "step.set": _set_step_field,
    "step.move": _move_step,
    "step.delete": _delete_step,
    "step.restore": _restore_step,
    "step.link": _link_stakeholder,
    "step.unlink": _unlink_stakeholder,
    "step.depend": _add_dependency,
    "step.undepend": _remove_dependency,
    "stakeholder.add": _add_stakeholder,
    "stakeholder.set": _set_stakeholder_field,
    "stakeholder.delete": _delete_stakeholder,
    "stakeholder.restore": _restore_stakeholder,
    "comment.add": _add_comment,
    "comment.edit": _edit_comment,
    "comment.delete": _delete_comment,
    "comment.hide": _hide_comment,
}


# How a map's holdings are counted when an op first needs them (see MapHoldings).
_COUNTERS = {
    "stakeholders": lambda target: _live_count(Stakeholder, target),
    "links": _link_count,
    "dependencies": _dependency_count,
    "comments": lambda target: _live_comment_count(Comment.roadmap_id == target.roadmap_id),
}
