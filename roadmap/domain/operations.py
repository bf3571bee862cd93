"""Operation types and their one declared schema.

Each op type is a msgspec Struct tagged by `type`; each field of a map, step or
stakeholder is a spec in MAP_FIELDS, STEP_FIELDS or STAKEHOLDER_FIELDS, from
which the Structs that check field values are made. The JSON Schema in
docs/protocol.md and the browser's field sets come from these declarations.
parse_op() turns an untrusted payload into an Operation or raises EditRejected;
nothing else in the app inspects raw payloads.
"""

import typing
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from roadmap.domain.errors import EditRejected, Unreadable
from roadmap.domain.text import WITHOUT_CONTROL_CHARACTERS
from roadmap.domain.vocabulary import ENGAGEMENT_LEVELS, SECTORS, STEP_STATUSES, THEMES

MAX_DB_INT = 2**31 - 1
MAX_OWNER_TEXT = 200
MAX_MENTIONS = 20


def whole(pattern: str) -> str:
    """A msgspec pattern the whole string must match.

    msgspec searches with Python's re, whose $ also matches before a final
    newline; the lookahead refuses that newline, and a browser's RegExp reads
    the pattern the same way.
    """
    return f"^(?:{pattern})$(?!\\n)"


def convert(raw: Any, declared_type: Any) -> Any:
    """msgspec.convert, refusing a lone surrogate in a key or a choice as any other bad value.

    msgspec encodes those to UTF-8 to look them up, so it raises UnicodeEncodeError there.
    """
    try:
        return msgspec.convert(raw, declared_type)
    except UnicodeEncodeError:
        raise msgspec.ValidationError("a lone surrogate where a name or a choice was expected") from None


Id = Annotated[str, Meta(pattern=whole("[A-Za-z0-9_-]{8,40}"), description="an id of 8-40 letters, digits, - or _")]
OpId = Annotated[
    str, Meta(pattern=whole("[A-Za-z0-9_.:-]{8,64}"), description="8-64 characters from A-Z a-z 0-9 _ . : -")
]
PersonId = Annotated[int, Meta(ge=1, le=MAX_DB_INT, description="a person id")]
RoadmapId = Annotated[int, Meta(ge=1, le=MAX_DB_INT, description="a positive integer")]
Count = Annotated[
    Annotated[int, Meta(ge=0, le=MAX_DB_INT)] | None, Meta(description="an integer from 0 to 2^31-1, or null")
]
Flag = Annotated[bool, Meta(description="true or false")]
# Exactly YYYY-MM-DD, or "" for no day; that it is a real day of 1900-2200 is Day.finish's check.
DAY_PATTERN = whole("([0-9]{4}-[0-9]{2}-[0-9]{2})?")


@dataclass(frozen=True)
class TextField:
    """A field holding text a person types: at most max_length code points, no control characters."""

    max_length: int
    multiline: bool = True
    default: str = ""

    @property
    def annotation(self):
        kind = "text" if self.multiline else "single-line text (CR and LF become spaces)"
        return Annotated[
            str,
            Meta(
                max_length=self.max_length,
                pattern=WITHOUT_CONTROL_CHARACTERS,
                description=f"{kind} of at most {self.max_length} characters, without control characters",
            ),
        ]

    def finish(self, value: str) -> str:
        return value if self.multiline else value.replace("\r", " ").replace("\n", " ")


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]
    nullable: bool = False  # null means "not chosen yet"
    default: Any = UNSET

    @property
    def annotation(self):
        if self.nullable:
            return Annotated[
                Literal[self.options] | None, Meta(description=f"one of {', '.join(self.options)}, or null")
            ]
        return Annotated[Literal[self.options], Meta(description=f"one of {', '.join(self.options)}")]

    def finish(self, value):
        return value


@dataclass(frozen=True)
class Score:
    """An integer from 1 to 5 (or null, "not chosen yet", when nullable)."""

    nullable: bool = False
    default: Any = UNSET

    @property
    def annotation(self):
        if self.nullable:
            return Annotated[
                Annotated[int, Meta(ge=1, le=5)] | None, Meta(description="an integer from 1 to 5, or null")
            ]
        return Annotated[int, Meta(ge=1, le=5, description="an integer from 1 to 5")]

    def finish(self, value):
        return value


@dataclass(frozen=True)
class Percent:
    """An integer from 0 to 100, or null."""

    default = None
    annotation = Annotated[
        Annotated[int, Meta(ge=0, le=100)] | None, Meta(description="a percent from 0 to 100, or null")
    ]

    def finish(self, value):
        return value


@dataclass(frozen=True)
class Day:
    """An ISO date or null."""

    default = None
    annotation = Annotated[str, Meta(pattern=DAY_PATTERN, description="YYYY-MM-DD, 1900 to 2200")] | None

    def finish(self, value: str | None) -> str | None:
        if not value:
            return None
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise EditRejected("invalid_value", "date must be YYYY-MM-DD") from None
        if not 1900 <= day.year <= 2200:
            raise EditRejected("invalid_value", "date out of range")
        return value


OWNER_TEXT = TextField(MAX_OWNER_TEXT, multiline=False)


class OwnerChoice(Struct, forbid_unknown_fields=True, omit_defaults=True, frozen=True):
    """Exactly one of: a member of the group, a stakeholder of the map, or free text."""

    member: PersonId | UnsetType = UNSET
    stakeholder: Id | UnsetType = UNSET
    text: OWNER_TEXT.annotation | UnsetType = UNSET


@dataclass(frozen=True)
class Owner:
    """null, {"member": person id}, {"stakeholder": id} or {"text": "..."}."""

    default = None
    annotation = Annotated[OwnerChoice, Meta(extra_json_schema={"minProperties": 1, "maxProperties": 1})] | None

    def finish(self, value: OwnerChoice | None) -> dict | None:
        if value is None:
            return None
        given = msgspec.structs.asdict(value)
        given = {kind: held for kind, held in given.items() if held is not UNSET}
        if len(given) != 1:
            raise EditRejected("invalid_value", "owner must be null or one of member/stakeholder/text")
        if "text" in given:
            text = OWNER_TEXT.finish(given["text"]).strip()
            return {"text": text} if text else None
        return given


MAP_FIELDS = {
    "title": TextField(200, multiline=False),
    "problem": TextField(5000),
    "goal": TextField(5000),
    "territory": TextField(500),
    "theme": Choice(tuple(THEMES)),
    "expected_results": TextField(5000),
}
# Each default is what a new step or stakeholder holds in the fields its op does not give.
STEP_FIELDS = {
    "title": TextField(300, multiline=False),
    "description": TextField(10000),
    "owner": Owner(),
    "starts_on": Day(),
    "due_on": Day(),
    "status": Choice(tuple(STEP_STATUSES), default="planned"),
    "progress": Percent(),
    "resources": TextField(5000),
    "success_measure": TextField(5000),
}
# Sector, interest and influence start unset: a default would be a guess the
# readiness checks then take for the group's word («Управа» counted as residents).
STAKEHOLDER_FIELDS = {
    "name": TextField(300, multiline=False),
    "sector": Choice(tuple(SECTORS), nullable=True, default=None),
    "contact": TextField(500),
    "interest": Score(nullable=True, default=None),
    "influence": Score(nullable=True, default=None),
    "engagement": Choice(tuple(ENGAGEMENT_LEVELS), default="inform"),
}
FIELDS_BY_TARGET = {"map": MAP_FIELDS, "step": STEP_FIELDS, "stakeholder": STAKEHOLDER_FIELDS}
STEP_DEFAULTS = {name: spec.default for name, spec in STEP_FIELDS.items()}
STAKEHOLDER_DEFAULTS = {name: spec.default for name, spec in STAKEHOLDER_FIELDS.items()}
COMMENT_BODY = TextField(2000)


def browser_field_schema() -> dict:
    """What static/js/ops.js needs of the fields: which hold merged text, and what an add leaves unsaid."""
    return {
        "text_fields": {
            target: [name for name, spec in fields.items() if isinstance(spec, TextField)]
            for target, fields in FIELDS_BY_TARGET.items()
        },
        "defaults": {"step": STEP_DEFAULTS, "stakeholder": STAKEHOLDER_DEFAULTS},
    }


def _values_struct(name: str, fields: dict) -> type[Struct]:
    return msgspec.defstruct(
        name,
        [(field, spec.annotation, spec.default) for field, spec in fields.items()],
        kw_only=True,
        forbid_unknown_fields=True,
        frozen=True,
    )


# What the values of a map's, a step's and a stakeholder's fields may be; a step.add's `fields`.
MapFields = _values_struct("MapFields", MAP_FIELDS)
StepFields = _values_struct("StepFields", STEP_FIELDS)
StakeholderFields = _values_struct("StakeholderFields", STAKEHOLDER_FIELDS)
# One field's value alone: msgspec keeps a Struct's checks made, but builds those of a bare type anew each call.
_ONE_VALUE = {
    (target, name): msgspec.defstruct(f"{target}.{name}", [("value", spec.annotation)], frozen=True)
    for target, fields in FIELDS_BY_TARGET.items()
    for name, spec in fields.items()
}


class Op(Struct, tag_field="type", forbid_unknown_fields=True, frozen=True):
    op_id: OpId
    roadmap_id: RoadmapId


class FieldSet(Op):
    """The keys of map.set, step.set and stakeholder.set; `value` and `base` follow the field's rule."""

    value: Any
    base: Any = UNSET  # text fields: the text the edit was typed over; others: the value the author saw
    after_others: Flag = False  # text typed where someone else's words end goes after theirs
    insert_at: Count = None  # where in `base` the op's one inserted stretch of text starts
    base_revision: Count = None  # the map's revision whose text `base` is


class MapSet(FieldSet, tag="map.set", kw_only=True):
    field: Literal[tuple(MAP_FIELDS)]


class MapLock(Op, tag="map.lock"):
    locked: Flag


class MapRestore(Op, tag="map.restore"):
    revision: Annotated[int, Meta(ge=0, le=MAX_DB_INT, description="a revision number")]


class OnStep(Op):
    step_id: Id


class StepAdd(OnStep, tag="step.add"):
    after_id: Id | None | UnsetType = UNSET  # absent: at the end; null: at the start
    fields: StepFields = msgspec.field(default_factory=StepFields)


class StepSet(FieldSet, tag="step.set", kw_only=True):
    step_id: Id
    field: Literal[tuple(STEP_FIELDS)]


class StepMove(OnStep, tag="step.move"):
    after_id: Id | None


class StepDelete(OnStep, tag="step.delete"):
    pass


class StepRestore(OnStep, tag="step.restore"):
    pass


class StepLink(OnStep, tag="step.link"):
    stakeholder_id: Id


class StepUnlink(StepLink, tag="step.unlink"):
    pass


class StepDepend(OnStep, tag="step.depend"):
    predecessor_id: Id  # the step that `step_id` starts after


class StepUndepend(StepDepend, tag="step.undepend"):
    pass


class OnStakeholder(Op):
    stakeholder_id: Id


class StakeholderAdd(OnStakeholder, tag="stakeholder.add"):
    fields: StakeholderFields = msgspec.field(default_factory=StakeholderFields)


class StakeholderSet(FieldSet, tag="stakeholder.set", kw_only=True):
    stakeholder_id: Id
    field: Literal[tuple(STAKEHOLDER_FIELDS)]


class StakeholderDelete(OnStakeholder, tag="stakeholder.delete"):
    pass


class StakeholderRestore(OnStakeholder, tag="stakeholder.restore"):
    pass


Mentions = Annotated[
    list[PersonId], Meta(max_length=MAX_MENTIONS, description=f"a list of up to {MAX_MENTIONS} person ids")
]


class OnComment(Op):
    comment_id: Id


class CommentEdit(OnComment, tag="comment.edit"):
    body: COMMENT_BODY.annotation
    mentions: Mentions = []  # the people named with @


class CommentAdd(CommentEdit, tag="comment.add", kw_only=True):
    step_id: Id
    parent_id: Id | None = None  # the comment this one answers


class CommentDelete(OnComment, tag="comment.delete"):
    pass


class CommentHide(OnComment, tag="comment.hide"):
    hidden: Flag


OP_CLASSES = {
    op_class.__struct_config__.tag: op_class
    for op_class in (
        MapSet,
        MapLock,
        MapRestore,
        StepAdd,
        StepSet,
        StepMove,
        StepDelete,
        StepRestore,
        StepLink,
        StepUnlink,
        StepDepend,
        StepUndepend,
        StakeholderAdd,
        StakeholderSet,
        StakeholderDelete,
        StakeholderRestore,
        CommentAdd,
        CommentEdit,
        CommentDelete,
        CommentHide,
    )
}
OP_TYPES = tuple(OP_CLASSES)
AnyOp = typing.Union[tuple(OP_CLASSES.values())]  # noqa: UP007 -- built from a tuple, which | cannot
# An optional key that was not sent (null is a value for some of them).
NOT_GIVEN = object()


class Operation(Struct, frozen=True, kw_only=True):
    """An op as the app applies it: checked, in stored form, every key of every type present."""

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
    fields: dict = {}
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
    """Validate an untrusted op payload against the schema.

    When it has several faults, the one docs/protocol.md (section 13) ranks
    first answers, whatever order the payload's keys came in.
    """
    if isinstance(payload, Unreadable):
        raise EditRejected("invalid_op", payload.reason)
    if not isinstance(payload, dict):
        raise EditRejected("invalid_op", "payload must be an object")
    op_type = payload.get("type")
    op_class = OP_CLASSES.get(op_type) if isinstance(op_type, str) else None
    if op_class is None:
        raise EditRejected("unknown_op")
    try:
        declared = convert(payload, op_class)
    except msgspec.ValidationError as problem:
        raise _first_fault(op_class, payload, problem) from None
    values = {name: getattr(declared, name) for name in declared.__struct_fields__}
    values["type"] = op_type
    target = op_type.split(".", 1)[0]
    if "field" in values:
        values.update(_field_keys(target, payload))
    if "fields" in values:
        specs = FIELDS_BY_TARGET[target]
        values["fields"] = {
            name: specs[name].finish(getattr(declared.fields, name)) for name in payload.get("fields", ())
        }
    if values.get("after_id") is UNSET:
        values["after_id"] = NOT_GIVEN
    if "body" in values:
        values["body"] = _comment_body(declared.body)
        values["mentions"] = tuple(sorted(set(declared.mentions)))
    return Operation(**values)


# The keys an op's checks read, in the order docs/protocol.md (section 13) ranks their faults;
# "field" stands for field, value and base, and "fields" for the fields of an add.
_CHECK_ORDER = (
    "op_id",
    "roadmap_id",
    "step_id",
    "predecessor_id",
    "stakeholder_id",
    "comment_id",
    "after_id",
    "field",
    "after_others",
    "insert_at",
    "base_revision",
    "revision",
    "locked",
    "fields",
    "parent_id",
    "body",
    "mentions",
    "hidden",
)
_MALFORMED_WHEN_BAD = {
    "op_id",
    "roadmap_id",
    "step_id",
    "predecessor_id",
    "stakeholder_id",
    "comment_id",
    "after_id",
    "parent_id",
}


def _first_fault(op_class: type[Op], payload: dict, problem: msgspec.ValidationError) -> EditRejected:
    declared = {info.name: info for info in msgspec.structs.fields(op_class)}
    unexpected = [key for key in payload if key not in declared and key != "type"]
    if unexpected:
        return EditRejected("invalid_op", f"unexpected keys: {sorted(map(str, unexpected))[:5]}")
    missing = sorted(name for name, info in declared.items() if info.required and name not in payload)
    if missing:
        return EditRejected("invalid_op", f"missing keys: {missing}")
    target = op_class.__struct_config__.tag.split(".", 1)[0]
    for name in _CHECK_ORDER:
        if name not in payload:
            continue
        try:
            if name == "field":
                _field_keys(target, payload)
            elif name == "fields":
                _check_fields(target, payload["fields"])
            elif name == "body":
                _comment_body(_checked_key(declared[name], payload[name]))
            else:
                _checked_key(declared[name], payload[name])
        except EditRejected as fault:
            return fault
    return EditRejected("invalid_op", str(problem))  # a fault no check above names: msgspec's words


def _checked_key(declared: msgspec.structs.FieldInfo, raw: Any) -> Any:
    try:
        return convert(raw, declared.type)
    except msgspec.ValidationError as problem:
        code = "invalid_op" if declared.name in _MALFORMED_WHEN_BAD else _value_code(problem)
        raise EditRejected(code, f"{declared.name} must be {describe(declared.type)}") from None


def _field_keys(target: str, payload: dict) -> dict:
    """field, value and base of a *.set, in their stored form."""
    specs = FIELDS_BY_TARGET[target]
    field_name = payload["field"]
    if not isinstance(field_name, str) or field_name not in specs:
        raise EditRejected("invalid_field")
    spec = specs[field_name]
    values = {"field": field_name, "value": _parse_field_value(target, field_name, payload["value"])}
    if "base" not in payload:
        values["base"] = None
    elif isinstance(spec, TextField):
        values["base"] = _parse_text_base(spec, payload["base"])
    else:
        values["base"] = None
        try:
            values["seen"] = _parse_field_value(target, field_name, payload["base"])
        except EditRejected as problem:
            raise EditRejected(
                "invalid_value", f"base must be a value of the field ({problem.detail or 'invalid'})"
            ) from None
    return values


def _parse_text_base(spec: TextField, raw: Any) -> str | None:
    if raw is not None and (not isinstance(raw, str) or len(raw) > spec.max_length):
        raise EditRejected("invalid_value", "base must be the field's text")
    return raw


def _check_fields(target: str, raw: Any) -> None:
    """The fields of an add, one by one in the order sent, as section 13 ranks their faults."""
    if not isinstance(raw, dict):
        raise EditRejected("invalid_op", "fields must be an object")
    for name, value in raw.items():
        if not isinstance(name, str) or name not in FIELDS_BY_TARGET[target]:
            raise EditRejected("invalid_field")
        _parse_field_value(target, name, value)


def _parse_field_value(target: str, name: str, raw: Any) -> Any:
    spec = FIELDS_BY_TARGET[target][name]
    try:
        declared = convert({"value": raw}, _ONE_VALUE[target, name])
    except msgspec.ValidationError as problem:
        raise EditRejected(_value_code(problem), f"{name} must be {describe(spec.annotation)}") from None
    return spec.finish(declared.value)


def parse_value(spec, raw: Any) -> Any:
    """Check one field value against its spec; returns the stored form."""
    try:
        declared = convert(raw, spec.annotation)
    except msgspec.ValidationError as problem:
        raise EditRejected(_value_code(problem), f"must be {describe(spec.annotation)}") from None
    return spec.finish(declared)


def _comment_body(body: str) -> str:
    body = COMMENT_BODY.finish(body).strip()
    if not body:
        raise EditRejected("invalid_value", "a comment needs some text")
    return body


def _value_code(problem: msgspec.ValidationError) -> str:
    """The code of a value msgspec refused: its messages are not the protocol's, so they map here."""
    message = str(problem)
    if message.startswith("Object contains unknown field") and " - at `$" not in message:
        return "invalid_field"  # a name that is not a field, not a key inside a field's value
    if message.startswith("Expected `str` of length <="):
        return "too_long"
    return "invalid_value"


def describe(annotation) -> str:
    """The description its Meta gives a declared type, also inside a union with null or UNSET."""
    for candidate in (annotation, *typing.get_args(annotation)):
        for meta in getattr(candidate, "__metadata__", ()):
            if isinstance(meta, Meta) and meta.description:
                return meta.description
    return "a valid value"
