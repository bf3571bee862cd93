"""The declared schema of every Socket.IO event and JSON request besides ops.

Ops have their own schema in operations.py; everything else a client sends is
a msgspec Struct here, so no handler inspects raw payloads.
"""

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from roadmap.domain.errors import EditRejected, Unreadable
from roadmap.domain.operations import MAX_DB_INT, Id, convert, describe, whole

PositiveId = Annotated[int, Meta(ge=1, le=MAX_DB_INT, description=f"an integer from 1 to {MAX_DB_INT}")]
Revision = Annotated[int, Meta(ge=0, le=MAX_DB_INT, description=f"an integer from 0 to {MAX_DB_INT}")]
# ASCII only: str.isalpha() would let in every script's letters and look-alikes.
FocusField = Annotated[str, Meta(pattern=whole("(?=_*[A-Za-z])[A-Za-z_]{1,40}"))]


class Focus(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One control of the editor: a field, of a step or a stakeholder when it names one."""

    field: FocusField
    step_id: Id | UnsetType = UNSET
    stakeholder_id: Id | UnsetType = UNSET


class _Message(Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class Join(_Message):
    roadmap_id: PositiveId
    since_revision: Revision | None = None


class CatchUp(Join):
    pass


class Leave(_Message):
    roadmap_id: PositiveId


class FocusOn(_Message):
    focus: Annotated[
        Focus | None,
        Meta(
            description=(
                "null or an object {field, step_id?, stakeholder_id?} whose field is 1-40 ASCII letters or _, "
                "at least one a letter, and whose ids are 8-40 letters, digits, - or _"
            )
        ),
    ]


class Watch(_Message):
    training_id: PositiveId


class Dot(_Message):
    vote_id: PositiveId
    step_id: Id
    action: Annotated[Literal["add", "remove"], Meta(description="one of add, remove")]


class StepComments(_Message):
    roadmap_id: PositiveId
    step_id: Id


class ApiJoin(_Message):
    join_code: Annotated[str, Meta(max_length=20, description="text of at most 20 characters")]
    display_name: Annotated[str, Meta(max_length=200, description="text of at most 200 characters")]
    group_id: PositiveId | None = None
    # true: "I am not the member of this group who has the same name" (see name_taken).
    different_person: Annotated[bool | None, Meta(description="true or false")] = None


SCHEMAS: dict[str, type[_Message]] = {
    "join": Join,
    "catch_up": CatchUp,
    "leave": Leave,
    "focus": FocusOn,
    "watch": Watch,
    "dot": Dot,
    "comments": StepComments,
    "comments_read": StepComments,
    "api.join": ApiJoin,
}


def parse_message(kind: str, payload: Any) -> dict:
    """Check a payload against its declared schema; absent optional keys come back as None."""
    schema = SCHEMAS[kind]
    if isinstance(payload, Unreadable):
        raise EditRejected("invalid_op", payload.reason)
    if not isinstance(payload, dict):
        raise EditRejected("invalid_op", "payload must be an object")
    try:
        message = convert(payload, schema)
    except msgspec.ValidationError as problem:
        raise EditRejected("invalid_op", _first_fault(schema, payload, problem)) from None
    return {name: _plain(getattr(message, name)) for name in message.__struct_fields__}


def _first_fault(schema: type[_Message], payload: dict, problem: msgspec.ValidationError) -> str:
    """Unexpected keys, then each key in its declared order, as docs/protocol.md (section 4) ranks them."""
    declared = msgspec.structs.fields(schema)
    unexpected = [key for key in payload if key not in {info.name for info in declared}]
    if unexpected:
        return f"unexpected keys: {sorted(map(str, unexpected))[:5]}"
    for info in declared:
        if info.name not in payload:
            if info.required:
                return f"missing key: {info.name}"
            continue
        try:
            convert(payload[info.name], info.type)
        except msgspec.ValidationError:
            return f"{info.name} must be {describe(info.type)}"
    return str(problem)  # a fault no check above names: msgspec's words


def readable_field(kind: str, name: str, payload: Any) -> Any:
    """One value of a payload, checked against its declared type; None when absent or not valid."""
    if not isinstance(payload, dict) or payload.get(name) is None:
        return None
    declared = {info.name: info.type for info in msgspec.structs.fields(SCHEMAS[kind])}
    try:
        return _plain(convert(payload[name], declared[name]))
    except msgspec.ValidationError:
        return None


def _plain(value: Any) -> Any:
    """A checked value as handlers take it: a Struct as the dict of the keys it was sent with."""
    if isinstance(value, Struct):
        return msgspec.to_builtins(value)
    return value
