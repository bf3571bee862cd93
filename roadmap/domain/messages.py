"""The declared schema of every Socket.IO event and JSON request besides ops.

Ops have their own schema in operations.py; everything else a client sends is
checked here, so no handler inspects raw payloads.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from roadmap.domain.errors import EditRejected, Unreadable
from roadmap.domain.operations import ID_PATTERN

MAX_DB_INT = 2**31 - 1
# ASCII only: str.isalpha() would let in every script's letters and look-alikes.
FOCUS_FIELD_PATTERN = re.compile(r"(?=_*[A-Za-z])[A-Za-z_]{1,40}")


@dataclass(frozen=True)
class Integer:
    low: int
    high: int = MAX_DB_INT

    def parse(self, raw: Any) -> int:
        if type(raw) is not int or not self.low <= raw <= self.high:
            raise ValueError(f"an integer from {self.low} to {self.high}")
        return raw


@dataclass(frozen=True)
class Text:
    max_length: int

    def parse(self, raw: Any) -> str:
        if not isinstance(raw, str) or len(raw) > self.max_length:
            raise ValueError(f"text of at most {self.max_length} characters")
        return raw


@dataclass(frozen=True)
class Boolean:
    def parse(self, raw: Any) -> bool:
        if type(raw) is not bool:
            raise ValueError("true or false")
        return raw


@dataclass(frozen=True)
class Focus:
    """null, or {field, step_id?, stakeholder_id?} naming one control."""

    def parse(self, raw: Any) -> dict | None:
        if raw is None:
            return None
        allowed = {"field", "step_id", "stakeholder_id"}
        if not isinstance(raw, dict) or not set(raw) <= allowed or "field" not in raw:
            raise ValueError("null or {field, step_id?, stakeholder_id?}")
        field = raw["field"]
        if not isinstance(field, str) or not FOCUS_FIELD_PATTERN.fullmatch(field):
            raise ValueError("an object whose field is 1-40 ASCII letters or _, at least one a letter")
        for key in ("step_id", "stakeholder_id"):
            if key in raw and (not isinstance(raw[key], str) or not ID_PATTERN.fullmatch(raw[key])):
                raise ValueError(f"an object whose {key} is an id")
        return dict(raw)


@dataclass(frozen=True)
class Id:
    """A client-made step or stakeholder id."""

    def parse(self, raw: Any) -> str:
        if not isinstance(raw, str) or not ID_PATTERN.fullmatch(raw):
            raise ValueError("an id of 8-40 letters, digits, - or _")
        return raw


@dataclass(frozen=True)
class OneOf:
    options: tuple[str, ...]

    def parse(self, raw: Any) -> str:
        if not isinstance(raw, str) or raw not in self.options:
            raise ValueError(f"one of {', '.join(self.options)}")
        return raw


@dataclass(frozen=True)
class Field:
    spec: Any
    required: bool = True
    nullable: bool = False


ROADMAP_ID = Field(Integer(1))
SINCE_REVISION = Field(Integer(0), required=False, nullable=True)

SCHEMAS: dict[str, dict[str, Field]] = {
    "join": {"roadmap_id": ROADMAP_ID, "since_revision": SINCE_REVISION},
    "catch_up": {"roadmap_id": ROADMAP_ID, "since_revision": SINCE_REVISION},
    "leave": {"roadmap_id": ROADMAP_ID},
    "focus": {"focus": Field(Focus(), nullable=True)},
    "watch": {"training_id": Field(Integer(1))},
    "dot": {"vote_id": Field(Integer(1)), "step_id": Field(Id()), "action": Field(OneOf(("add", "remove")))},
    "comments": {"roadmap_id": ROADMAP_ID, "step_id": Field(Id())},
    "comments_read": {"roadmap_id": ROADMAP_ID, "step_id": Field(Id())},
    "api.join": {
        "join_code": Field(Text(20)),
        "display_name": Field(Text(200)),
        "group_id": Field(Integer(1), required=False, nullable=True),
        # true: "I am not the member of this group who has the same name" (see name_taken).
        "different_person": Field(Boolean(), required=False, nullable=True),
    },
}


def parse_message(kind: str, payload: Any) -> dict:
    """Check a payload against its declared schema; absent optional keys come back as None."""
    schema = SCHEMAS[kind]
    if isinstance(payload, Unreadable):
        raise EditRejected("invalid_op", payload.reason)
    if not isinstance(payload, dict):
        raise EditRejected("invalid_op", "payload must be an object")
    unexpected = [key for key in payload if key not in schema]
    if unexpected:
        raise EditRejected("invalid_op", f"unexpected keys: {sorted(map(str, unexpected))[:5]}")
    parsed = {}
    for name, field in schema.items():
        if name not in payload:
            if field.required:
                raise EditRejected("invalid_op", f"missing key: {name}")
            parsed[name] = None
            continue
        raw = payload[name]
        if raw is None and field.nullable:
            parsed[name] = None
            continue
        try:
            parsed[name] = field.spec.parse(raw)
        except ValueError as problem:
            raise EditRejected("invalid_op", f"{name} must be {problem}") from None
    return parsed


def readable_field(kind: str, name: str, payload: Any) -> Any:
    """One value of a payload, checked against its declared spec; None when absent or not valid."""
    if not isinstance(payload, dict) or payload.get(name) is None:
        return None
    try:
        return SCHEMAS[kind][name].spec.parse(payload[name])
    except ValueError:
        return None
