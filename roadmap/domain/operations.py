"""Operation types and their one declared schema.

parse_op() turns an untrusted payload into an Operation or raises EditRejected;
nothing else in the app inspects raw payloads.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from typing import Any

from roadmap.domain.errors import EditRejected, Unreadable
from roadmap.domain.text import has_control_characters
from roadmap.domain.vocabulary import ENGAGEMENT_LEVELS, SECTORS, STEP_STATUSES, THEMES

ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,40}")
OP_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{8,64}")
MAX_OWNER_TEXT = 200
# Exactly YYYY-MM-DD: date.fromisoformat also reads ISO week dates ("2027-W20-1").
DAY_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Text:
    max_length: int
    multiline: bool = True


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]
    nullable: bool = False  # null means "not chosen yet"


@dataclass(frozen=True)
class Score:
    """An integer from 1 to 5 (or null, "not chosen yet", when nullable)."""

    nullable: bool = False


@dataclass(frozen=True)
class Percent:
    """An integer from 0 to 100, or null."""


@dataclass(frozen=True)
class Day:
    """An ISO date or null."""


@dataclass(frozen=True)
class Owner:
    """null, {"member": person id}, {"stakeholder": id} or {"text": "..."}."""


MAP_FIELDS = {
    "title": Text(200, multiline=False),
    "problem": Text(5000),
    "goal": Text(5000),
    "territory": Text(500),
    "theme": Choice(tuple(THEMES)),
    "expected_results": Text(5000),
}
STEP_FIELDS = {
    "title": Text(300, multiline=False),
    "description": Text(10000),
    "owner": Owner(),
    "starts_on": Day(),
    "due_on": Day(),
    "status": Choice(tuple(STEP_STATUSES)),
    "progress": Percent(),
    "resources": Text(5000),
    "success_measure": Text(5000),
}
STAKEHOLDER_FIELDS = {
    "name": Text(300, multiline=False),
    "sector": Choice(tuple(SECTORS), nullable=True),
    "contact": Text(500),
    "interest": Score(nullable=True),
    "influence": Score(nullable=True),
    "engagement": Choice(tuple(ENGAGEMENT_LEVELS)),
}
# What a new step or stakeholder holds in the fields its op does not give.
STEP_DEFAULTS = {
    "title": "", "description": "", "owner": None, "starts_on": None, "due_on": None,
    "status": "planned", "progress": None, "resources": "", "success_measure": "",
}
# Sector, interest and influence start unset: a default would be a guess the
# readiness checks then take for the group's word («Управа» counted as residents).
STAKEHOLDER_DEFAULTS = {
    "name": "", "sector": None, "contact": "", "interest": None, "influence": None,
    "engagement": "inform",
}
FIELDS_BY_TARGET = {"map": MAP_FIELDS, "step": STEP_FIELDS, "stakeholder": STAKEHOLDER_FIELDS}

OP_TYPES = (
    "map.set", "map.lock", "map.restore",
    "step.add", "step.set", "step.move", "step.delete", "step.restore",
    "step.link", "step.unlink", "step.depend", "step.undepend",
    "stakeholder.add", "stakeholder.set", "stakeholder.delete", "stakeholder.restore",
    "comment.add", "comment.edit", "comment.delete", "comment.hide",
)
COMMENT_BODY = Text(2000)
MAX_MENTIONS = 20
# Keys each op type accepts besides op_id, roadmap_id and type.
_OP_KEYS = {
    "map.set": {"field", "value", "base", "after_others", "insert_at", "base_revision"},
    "map.lock": {"locked"},
    "map.restore": {"revision"},
    "step.add": {"step_id", "after_id", "fields"},
    "step.set": {"step_id", "field", "value", "base", "after_others", "insert_at", "base_revision"},
    "step.move": {"step_id", "after_id"},
    "step.delete": {"step_id"},
    "step.restore": {"step_id"},
    "step.link": {"step_id", "stakeholder_id"},
    "step.unlink": {"step_id", "stakeholder_id"},
    "step.depend": {"step_id", "predecessor_id"},
    "step.undepend": {"step_id", "predecessor_id"},
    "stakeholder.add": {"stakeholder_id", "fields"},
    "stakeholder.set": {"stakeholder_id", "field", "value", "base", "after_others", "insert_at", "base_revision"},
    "stakeholder.delete": {"stakeholder_id"},
    "stakeholder.restore": {"stakeholder_id"},
    "comment.add": {"comment_id", "step_id", "parent_id", "body", "mentions"},
    "comment.edit": {"comment_id", "body", "mentions"},
    "comment.delete": {"comment_id"},
    "comment.hide": {"comment_id", "hidden"},
}
_REQUIRED_KEYS = {
    "map.set": {"field", "value"},
    "map.lock": {"locked"},
    "map.restore": {"revision"},
    "step.add": {"step_id"},
    "step.set": {"step_id", "field", "value"},
    "step.move": {"step_id", "after_id"},
    "step.delete": {"step_id"},
    "step.restore": {"step_id"},
    "step.link": {"step_id", "stakeholder_id"},
    "step.unlink": {"step_id", "stakeholder_id"},
    "step.depend": {"step_id", "predecessor_id"},
    "step.undepend": {"step_id", "predecessor_id"},
    "stakeholder.add": {"stakeholder_id"},
    "stakeholder.set": {"stakeholder_id", "field", "value"},
    "stakeholder.delete": {"stakeholder_id"},
    "stakeholder.restore": {"stakeholder_id"},
    "comment.add": {"comment_id", "step_id", "body"},
    "comment.edit": {"comment_id", "body"},
    "comment.delete": {"comment_id"},
    "comment.hide": {"comment_id", "hidden"},
}
# An optional key that was not sent (null is a value for some of them).
NOT_GIVEN = object()


@dataclass(frozen=True)
class Operation:
    op_id: str
    roadmap_id: int
    type: str
    step_id: str | None = None
    predecessor_id: str | None = None  # step.depend: the step that `step_id` starts after
    stakeholder_id: str | None = None
    field: str | None = None
    value: Any = None
    base: str | None = None  # text fields: the text the edit was typed over
    seen: Any = NOT_GIVEN  # other fields: the value the author saw, checked against the stored one
    after_others: bool = False  # text typed where someone else's words end goes after theirs
    insert_at: int | None = None  # where in `base` the op's one inserted stretch of text starts
    base_revision: int | None = None  # the map's revision whose text `base` is
    # For moves and adds: NOT_GIVEN means "at the end", None "at the start".
    after_id: Any = NOT_GIVEN
    fields: dict = dataclass_field(default_factory=dict)
    locked: bool | None = None
    revision: int | None = None  # map.restore: the past revision to bring back
    comment_id: str | None = None
    parent_id: str | None = None  # comment.add: the comment this one answers
    body: str | None = None  # comment.add, comment.edit
    mentions: tuple[int, ...] = ()  # comment.add, comment.edit: the people named with @
    hidden: bool | None = None  # comment.hide

    @property
    def target(self) -> str:
        return self.type.split(".", 1)[0]

    @property
    def at_end(self) -> bool:
        return self.after_id is NOT_GIVEN


def parse_op(payload: Any) -> Operation:
    """Validate an untrusted op payload against the schema."""
    if isinstance(payload, Unreadable):
        raise EditRejected("invalid_op", payload.reason)
    if not isinstance(payload, dict):
        raise EditRejected("invalid_op", "payload must be an object")
    op_type = payload.get("type")
    if not isinstance(op_type, str) or op_type not in _OP_KEYS:
        raise EditRejected("unknown_op")
    allowed = _OP_KEYS[op_type] | {"op_id", "roadmap_id", "type"}
    unexpected = set(payload) - allowed
    if unexpected:
        raise EditRejected("invalid_op", f"unexpected keys: {sorted(map(str, unexpected))[:5]}")
    missing = _REQUIRED_KEYS[op_type] - set(payload)
    if missing:
        raise EditRejected("invalid_op", f"missing keys: {sorted(missing)}")

    op_id = payload.get("op_id")
    if not isinstance(op_id, str) or not OP_ID_PATTERN.fullmatch(op_id):
        raise EditRejected("invalid_op", "op_id must be 8-64 characters")
    roadmap_id = payload.get("roadmap_id")
    if type(roadmap_id) is not int or not 0 < roadmap_id < 2**31:
        raise EditRejected("invalid_op", "roadmap_id must be a positive integer")

    target = op_type.split(".", 1)[0]
    values: dict[str, Any] = {"op_id": op_id, "roadmap_id": roadmap_id, "type": op_type}
    for key in ("step_id", "predecessor_id", "stakeholder_id", "comment_id"):
        if key in payload:
            values[key] = _parse_id(payload[key], key)
    if "after_id" in payload:
        after_id = payload["after_id"]
        values["after_id"] = None if after_id is None else _parse_id(after_id, "after_id")
    if "field" in payload:
        field_name = payload["field"]
        schema = FIELDS_BY_TARGET[target]
        if not isinstance(field_name, str) or field_name not in schema:
            raise EditRejected("invalid_field")
        values["field"] = field_name
        spec = schema[field_name]
        values["value"] = parse_value(spec, payload["value"])
        if "base" in payload and isinstance(spec, Text):
            values["base"] = _parse_base(spec, payload["base"])
        elif "base" in payload:
            values["seen"] = _parse_seen(spec, payload["base"])
        if "after_others" in payload:
            if type(payload["after_others"]) is not bool:
                raise EditRejected("invalid_value", "after_others must be true or false")
            values["after_others"] = payload["after_others"]
        for key in ("insert_at", "base_revision"):
            if key in payload:
                values[key] = _parse_count(payload[key], key)
    if "revision" in payload:
        revision = payload["revision"]
        if type(revision) is not int or not 0 <= revision < 2**31:
            raise EditRejected("invalid_value", "revision must be a revision number")
        values["revision"] = revision
    if "locked" in payload:
        if type(payload["locked"]) is not bool:
            raise EditRejected("invalid_value", "locked must be true or false")
        values["locked"] = payload["locked"]
    if "fields" in payload:
        values["fields"] = _parse_fields(FIELDS_BY_TARGET[target], payload["fields"])
    if target == "comment":
        values.update(_parse_comment_keys(payload))
    return Operation(**values)


def _parse_comment_keys(payload: dict) -> dict:
    values = {}
    if payload.get("parent_id") is not None:
        values["parent_id"] = _parse_id(payload["parent_id"], "parent_id")
    if "body" in payload:
        body = _parse_text(payload["body"], COMMENT_BODY).strip()
        if not body:
            raise EditRejected("invalid_value", "a comment needs some text")
        values["body"] = body
    if "mentions" in payload:
        mentions = payload["mentions"]
        if (not isinstance(mentions, list) or len(mentions) > MAX_MENTIONS
                or any(type(person) is not int or not 0 < person < 2**31 for person in mentions)):
            raise EditRejected("invalid_value", f"mentions must be a list of up to {MAX_MENTIONS} person ids")
        values["mentions"] = tuple(sorted(set(mentions)))
    if "hidden" in payload:
        if type(payload["hidden"]) is not bool:
            raise EditRejected("invalid_value", "hidden must be true or false")
        values["hidden"] = payload["hidden"]
    return values


def parse_value(spec, raw: Any) -> Any:
    """Check one field value against its spec; returns the stored form."""
    if isinstance(spec, Text):
        return _parse_text(raw, spec)
    if isinstance(spec, (Choice, Score)) and spec.nullable and raw is None:
        return None
    if isinstance(spec, Choice):
        if not isinstance(raw, str) or raw not in spec.options:
            raise EditRejected("invalid_value")
        return raw
    if isinstance(spec, Score):
        if type(raw) is not int or not 1 <= raw <= 5:
            raise EditRejected("invalid_value")
        return raw
    if isinstance(spec, Percent):
        if raw is None:
            return None
        if type(raw) is not int or not 0 <= raw <= 100:
            raise EditRejected("invalid_value", "progress is a percent from 0 to 100, or null")
        return raw
    if isinstance(spec, Day):
        return _parse_day(raw)
    if isinstance(spec, Owner):
        return _parse_owner(raw)
    raise AssertionError(f"unknown field spec {spec!r}")


def _parse_text(raw: Any, spec: Text) -> str:
    if not isinstance(raw, str):
        raise EditRejected("invalid_value", "text expected")
    if len(raw) > spec.max_length:
        raise EditRejected("too_long")
    if has_control_characters(raw):
        raise EditRejected("invalid_value", "control characters are not allowed")
    if not spec.multiline:
        raw = raw.replace("\r", " ").replace("\n", " ")
    return raw


def _parse_base(spec: Text, raw: Any) -> str | None:
    # A base was once the field's text, so the field's limit holds for it too; that keeps
    # the largest op within the transport limit (docs/protocol.md, section 15).
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > spec.max_length:
        raise EditRejected("invalid_value", "base must be the field's text")
    return raw


def _parse_count(raw: Any, name: str) -> int | None:
    if raw is None:
        return None
    if type(raw) is not int or not 0 <= raw < 2**31:
        raise EditRejected("invalid_value", f"{name} must be an integer from 0 to 2^31-1, or null")
    return raw


def _parse_seen(spec, raw: Any) -> Any:
    try:
        return parse_value(spec, raw)
    except EditRejected as problem:
        raise EditRejected("invalid_value", f"base must be a value of the field ({problem.detail or 'invalid'})") from None


def _parse_day(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not DAY_PATTERN.fullmatch(raw):
        raise EditRejected("invalid_value", "date must be YYYY-MM-DD")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise EditRejected("invalid_value", "date must be YYYY-MM-DD") from None
    if not 1900 <= day.year <= 2200:
        raise EditRejected("invalid_value", "date out of range")
    return day.isoformat()


def _parse_owner(raw: Any) -> dict | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or len(raw) != 1:
        raise EditRejected("invalid_value", "owner must be null or one of member/stakeholder/text")
    (kind, value), = raw.items()
    if kind == "member":
        if type(value) is not int or not 0 < value < 2**31:
            raise EditRejected("invalid_value", "member must be a person id")
        return {"member": value}
    if kind == "stakeholder":
        return {"stakeholder": _parse_id(value, "stakeholder", code="invalid_value")}
    if kind == "text":
        text = _parse_text(value, Text(MAX_OWNER_TEXT, multiline=False)).strip()
        return {"text": text} if text else None
    raise EditRejected("invalid_value", "owner kind must be member, stakeholder or text")


def _parse_fields(schema: dict, raw: Any) -> dict:
    if not isinstance(raw, dict):
        raise EditRejected("invalid_op", "fields must be an object")
    parsed = {}
    for name, value in raw.items():
        if not isinstance(name, str) or name not in schema:
            raise EditRejected("invalid_field")
        parsed[name] = parse_value(schema[name], value)
    return parsed


def _parse_id(raw: Any, name: str, code: str = "invalid_op") -> str:
    if not isinstance(raw, str) or not ID_PATTERN.fullmatch(raw):
        raise EditRejected(code, f"{name} must be 8-40 letters, digits, - or _")
    return raw
