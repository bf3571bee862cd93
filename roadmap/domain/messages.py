"""The declared schema of every Socket.IO event and JSON request besides ops.

Ops have their own schema in operations.py; everything else a client sends is
checked here, so no handler inspects raw payloads.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from roadmap.domain.errors import EditRejected
from roadmap.domain.operations import ID_PATTERN

MAX_DB_INT = 2**31 - 1


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
class Focus:
    """null, or {field, step_id?, stakeholder_id?} naming one control."""

    def parse(self, raw: Any) -> dict | None:
        if raw is None:
            return None
        allowed = {"field", "step_id", "stakeholder_id"}
        if not isinstance(raw, dict) or not set(raw) <= allowed or "field" not in raw:
            raise ValueError("null or {field, step_id?, stakeholder_id?}")
        field = raw["field"]
        if not isinstance(field, str) or not field.replace("_", "").isalpha() or len(field) > 40:
            raise ValueError("field must be a field name")
        for key in ("step_id", "stakeholder_id"):
            if key in raw and (not isinstance(raw[key], str) or not ID_PATTERN.fullmatch(raw[key])):
                raise ValueError(f"{key} must be an id")
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
    "api.join": {
        "join_code": Field(Text(20)),
        "display_name": Field(Text(200)),
        "group_id": Field(Integer(1), required=False, nullable=True),
    },
}


def parse_message(kind: str, payload: Any) -> dict:
    """Check a payload against its declared schema; absent optional keys come back as None."""
    schema = SCHEMAS[kind]
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
