"""Road maps back in: the JSON export, or a spreadsheet of steps (CSV or XLSX, ours or one
people made), read and checked item by item, then written into a new map as ordinary ops
applied in one transaction by editing.apply_many: all of a file or nothing.

Importing a spreadsheet (CSV or the first sheet of an XLSX): one row names the
columns (the first with a column of step titles among the first few filled rows,
so a heading above the table is skipped), in Russian or English and in any order, as
spreadsheets.COLUMN_NAMES lists them; only a column of step titles is required,
and columns it does not know are skipped with a notice. A CSV may be UTF-8 (with
or without a BOM), UTF-16 with a BOM, or Windows-1251, separated by commas,
semicolons or tabs; dates may be DD.MM.YYYY, DD.MM.YY, YYYY-MM-DD, Excel dates
or serial numbers; statuses are words in either language («в работе», "done").
Each name among the stakeholders involved (separated by new lines or ";")
becomes a stakeholder of the new map, and an owner with one of those names
becomes that stakeholder; any other owner is kept as text.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
import zipfile
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from datetime import date, datetime

from roadmap.domain.errors import N_, EditRejected
from roadmap.domain.limits import (
    MAX_DEPENDENCIES_PER_MAP,
    MAX_LINKS_PER_MAP,
    MAX_STAKEHOLDERS_PER_MAP,
    MAX_STEPS_PER_MAP,
)
from roadmap.domain.operations import (
    MAP_FIELDS,
    MAX_OWNER_TEXT,
    STAKEHOLDER_FIELDS,
    STEP_FIELDS,
    Choice,
    Day,
    Owner,
    Percent,
    Score,
    TextField,
    parse_value,
)
from roadmap.domain.text import CONTROL_CHARACTERS
from roadmap.models import Group, Roadmap
from roadmap.services import editing, spreadsheets
from roadmap.services.exports.reading import FORMAT, VERSION

MAX_IMPORT_BYTES = 512 * 1024  # the request body limit (MAX_CONTENT_LENGTH)
# Each imported item is one op with its own commit; a map's caps (domain/limits.py) keep an import within seconds.
MAX_IMPORTED_STEPS = MAX_STEPS_PER_MAP
MAX_IMPORTED_STAKEHOLDERS = MAX_STAKEHOLDERS_PER_MAP
MAX_IMPORTED_LINKS = MAX_LINKS_PER_MAP
MAX_IMPORTED_COLUMNS = 60
MAX_ROWS_ABOVE_HEADER = 10
# A 512 KB workbook may unpack to hundreds of megabytes; ours of 300 steps is under 1 MB.
MAX_UNPACKED_XLSX_BYTES = 20 * 1024 * 1024
_ESCAPED_FORMULA = re.compile(r"'+[=+\-@\t\r]")

PLACES = {
    "file": N_("the file"),
    "map": N_("the map"),
    "row": N_("row %(num)s"),
    "stakeholder": N_("stakeholder %(num)s"),
    "step": N_("step %(num)s"),
    "link": N_("link %(num)s"),
    "dependency": N_("dependency %(num)s"),
}
PROBLEMS = {
    "unknown_kind": N_("choose an .xlsx, .csv or .json file"),
    "empty": N_("the file is empty"),
    "too_large": N_("the file is larger than %(max)s KB"),
    "not_utf8": N_("the file is not UTF-8 text"),
    "not_text": N_("not text"),
    "not_json": N_("the file is not valid JSON"),
    "not_json_at": N_("the file is not valid JSON (line %(line)s, column %(column)s)"),
    "not_roadmap": N_("this is not a road map exported from Roadmap"),
    "newer_version": N_("the file comes from a newer version of Roadmap (version %(version)s)"),
    "not_csv": N_("the file cannot be read as CSV"),
    "not_xlsx": N_("the file cannot be read as an Excel workbook (.xlsx)"),
    "xlsx_too_large": N_("the workbook holds more than %(max)s MB of data"),
    "expected_object": N_("an object {…} was expected"),
    "expected_list": N_("a list […] was expected"),
    "unknown_field": N_("unknown field"),
    "ignored_column": N_("this column is not imported"),
    "duplicate_column": N_("this column appears twice; only the first one is imported"),
    "missing_title_column": N_('no column of step titles: name it "Step" (other names that work are listed below)'),
    "extra_cells": N_("cells to the right of the named columns are not imported"),
    "unknown_status": N_("not a status: write Planned, In progress, Done or Blocked"),
    "too_many": N_("more than %(max)s items"),
    "bad_id": N_("an id must be a short text or a number"),
    "duplicate_id": N_("this id is used twice"),
    "unknown_stakeholder": N_("no stakeholder with this id in the file"),
    "unknown_step": N_("no step with this id in the file"),
    "not_a_step_number": N_("not a step number"),
    "no_such_step_number": N_("no step with this number in the file"),
    "member_owner": N_('a group member cannot be carried over; write {"text": name} instead'),
    "too_long": N_("longer than %(max)s characters"),
    "control_characters": N_("contains control characters"),
    "not_one_of": N_("not one of: %(options)s"),
    "not_a_score": N_("not a whole number from 1 to 5"),
    "not_a_percent": N_("not a whole number from 0 to 100"),
    "not_a_date": N_("not a date"),
    "date_out_of_range": N_("the date is not between 1900 and 2200"),
    "not_an_owner": N_('not an owner: null, {"stakeholder": id} or {"text": name}'),
    "map_not_empty": N_("the map already has steps or stakeholders"),
    "not_applied": N_("nothing was imported: %(reason)s"),
}
# What an import skips and says so, without refusing the file.
NOTICES = frozenset({"ignored_column", "duplicate_column", "extra_cells"})
_INVALID_VALUE_CODES = {TextField: "not_text", Score: "not_a_score", Percent: "not_a_percent", Owner: "not_an_owner"}


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong in an import file, e.g. row 4, column due_on, not_a_date, "2027-13-01".

    `message` and the place label (PLACES) are untranslated; the edge translates them.
    """

    code: str
    place: str = "file"
    number: int | None = None
    field: str | None = None
    value: str | None = None  # the offending value as the file has it, shortened
    params: dict = dataclass_field(default_factory=dict)

    def __post_init__(self) -> None:
        # A file can hold anything; what the problem list shows of it must render and stay readable.
        for name in ("field", "value"):
            if isinstance(getattr(self, name), str):
                object.__setattr__(self, name, _safe_to_show(getattr(self, name)))

    @property
    def message(self) -> str:
        return PROBLEMS[self.code]

    @property
    def is_notice(self) -> bool:
        return self.code in NOTICES


@dataclass(frozen=True)
class ImportedMap:
    """An import file's content, every value in its stored form.

    Keys are the file's own references (JSON ids, CSV names and rows), or None
    for an item nothing refers to; a step's owner may be {"stakeholder": key}.
    """

    fields: dict
    stakeholders: list[tuple[object, dict]]
    steps: list[tuple[object, dict]]
    links: list[tuple[object, object]]
    dependencies: list[tuple[object, object]] = dataclass_field(default_factory=list)  # (step, the step it waits for)

    @property
    def theme(self) -> str:
        return self.fields.get("theme", "other")


@dataclass(frozen=True)
class ImportResult:
    problems: list[ImportProblem]
    content: ImportedMap | None = None
    ops_applied: int = 0
    notices: list[ImportProblem] = dataclass_field(default_factory=list)  # what was skipped

    @property
    def ok(self) -> bool:
        return not self.problems


def check_import(kind: str, raw_bytes: bytes) -> ImportResult:
    """Read and validate an import file ("json", "csv" or "xlsx") without writing anything.

    Returns the content, or every problem found, item by item; any bytes at all
    give one or the other. Notices (NOTICES) name what was skipped and refuse nothing.
    """
    if kind not in _READERS:
        return ImportResult([ImportProblem("unknown_kind")])
    if len(raw_bytes) > MAX_IMPORT_BYTES:
        return ImportResult([ImportProblem("too_large", params={"max": MAX_IMPORT_BYTES // 1024})])
    if not raw_bytes.lstrip(b"\xef\xbb\xbf\xff\xfe").strip():
        return ImportResult([ImportProblem("empty")])
    found: list[ImportProblem] = []
    content = _READERS[kind](raw_bytes, found)
    problems = [problem for problem in found if not problem.is_notice]
    notices = [problem for problem in found if problem.is_notice]
    return ImportResult(problems, None if problems else content, notices=notices)


def import_map(group: Group, actor, kind: str, raw_bytes: bytes) -> ImportResult:
    """Fill the group's empty map from a JSON export or a spreadsheet of steps, or change nothing and say why."""
    checked = check_import(kind, raw_bytes)
    return apply_import(group, actor, checked) if checked.ok else checked


def apply_import(group: Group, actor, checked: ImportResult) -> ImportResult:
    """Write checked content into the group's empty map as ordinary ops (stakeholders, steps, links),
    all in one transaction: if any op is refused, the map stays as it was."""
    if not checked.ok:
        return checked
    roadmap = group.roadmap
    if roadmap.steps or roadmap.stakeholders:
        return replace(checked, problems=[ImportProblem("map_not_empty")])
    try:
        applied = editing.apply_many(list(content_ops(roadmap, checked.content)), actor=actor)
    except editing.OpRefused as refused:  # the checks above should make this unreachable
        problem = ImportProblem("not_applied", params={"reason": refused.code})
        return replace(checked, problems=[problem])
    return replace(checked, ops_applied=len(applied))


def _random_id(key) -> str:
    return uuid.uuid4().hex


def content_ops(roadmap: Roadmap, content: ImportedMap, new_id=_random_id):
    """The ops that write `content` into a map: header fields, stakeholders, steps, links.
    Imports and map templates both go through here; `new_id(key)` names a new step or stakeholder."""

    def op(kind: str, **values) -> dict:
        return {"op_id": uuid.uuid4().hex, "roadmap_id": roadmap.id, "type": kind, **values}

    for name, value in content.fields.items():
        if value != getattr(roadmap, name):
            yield op("map.set", field=name, value=value)
    stakeholder_ids = {}
    for key, fields in content.stakeholders:
        stakeholder_id = new_id(key)
        if key is not None:
            stakeholder_ids[key] = stakeholder_id
        yield op("stakeholder.add", stakeholder_id=stakeholder_id, fields=fields)
    step_ids = {}
    for key, fields in content.steps:
        step_id = new_id(key)
        if key is not None:
            step_ids[key] = step_id
        owner = fields.get("owner")
        if owner and "stakeholder" in owner:
            fields = {**fields, "owner": {"stakeholder": stakeholder_ids[owner["stakeholder"]]}}
        yield op("step.add", step_id=step_id, fields=fields)
    for step_key, stakeholder_key in content.links:
        yield op("step.link", step_id=step_ids[step_key], stakeholder_id=stakeholder_ids[stakeholder_key])
    for step_key, predecessor_key in content.dependencies:
        yield op("step.depend", step_id=step_ids[step_key], predecessor_id=step_ids[predecessor_key])


class _Invalid:
    """A value that failed its check; the problem is already recorded."""


_INVALID = _Invalid()


def _checked(spec, raw, problems: list, place: str, number: int | None, field: str):
    """The value in its stored form, or _INVALID after recording why (limits live in operations.py)."""
    try:
        return parse_value(spec, raw)
    except EditRejected as rejected:
        code, params = _rejection(spec, raw, rejected)
        problems.append(ImportProblem(code, place, number, field, _shown(raw), params))
        return _INVALID


def _rejection(spec, raw, rejected: EditRejected) -> tuple[str, dict]:
    if rejected.code == "too_long":
        return "too_long", {"max": spec.max_length if isinstance(spec, TextField) else MAX_OWNER_TEXT}
    if isinstance(spec, Choice):
        return "not_one_of", {"options": ", ".join(spec.options)}
    if isinstance(spec, Day):
        return ("date_out_of_range" if _iso_date(raw) else "not_a_date"), {}
    owner_text = raw.get("text") if isinstance(spec, Owner) and isinstance(raw, dict) and len(raw) == 1 else None
    if (isinstance(spec, TextField) and isinstance(raw, str)) or isinstance(owner_text, str):
        return "control_characters", {}
    return _INVALID_VALUE_CODES[type(spec)], {}


def _iso_date(raw) -> date | None:
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else None
    except ValueError:
        return None


def _shown(raw) -> str:
    if isinstance(raw, dict) and len(raw) == 1 and isinstance(raw.get("text"), str):
        raw = raw["text"]  # an owner: show the name
    if isinstance(raw, dict):
        return "{…}"
    if isinstance(raw, list):
        return "[…]"
    return raw if isinstance(raw, str) else json.dumps(raw)


SHOWN_MAX_LENGTH = 40
# Put where a file has a control character or a lone surrogate: visible, and encodable as UTF-8.
UNSHOWABLE_MARKER = "\N{REPLACEMENT CHARACTER}"


def _safe_to_show(text: str) -> str:
    """A file's text as a problem may show it: control characters (NUL among them) and lone
    surrogates, which cannot be encoded into the page, replaced by a visible marker; shortened."""
    shown = CONTROL_CHARACTERS.sub(UNSHOWABLE_MARKER, text)
    return shown if len(shown) <= SHOWN_MAX_LENGTH else shown[: SHOWN_MAX_LENGTH - 1] + "…"


def _fields(item: dict, schema: dict, problems: list, place: str, number: int, skip=()) -> dict:
    """The item's schema fields, checked; unknown keys are problems."""
    fields = {}
    for name, raw in item.items():
        if name in skip:
            continue
        if name not in schema:
            problems.append(ImportProblem("unknown_field", place, number, str(name)))
            continue
        value = _checked(schema[name], raw, problems, place, number, name)
        if value is not _INVALID:
            fields[name] = value
    return fields


def _read_json(raw_bytes: bytes, problems: list) -> ImportedMap | None:
    document = _parsed_json(raw_bytes, problems)
    if problems:
        return None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        problems.append(ImportProblem("not_roadmap"))
        return None
    version = document.get("version")
    if version != VERSION:
        newer = type(version) is int and version > VERSION
        problems.append(
            ImportProblem("newer_version", params={"version": version}) if newer else ImportProblem("not_roadmap")
        )
        return None
    map_data = document.get("map")
    if not isinstance(map_data, dict):
        problems.append(ImportProblem("expected_object", "map"))
        return None
    fields = _fields(
        map_data, MAP_FIELDS, problems, "map", None, skip=("stakeholders", "steps", "links", "dependencies")
    )
    stakeholders = _json_items(map_data, "stakeholders", MAX_IMPORTED_STAKEHOLDERS, problems)
    steps = _json_items(map_data, "steps", MAX_IMPORTED_STEPS, problems)
    links = _json_items(map_data, "links", MAX_IMPORTED_LINKS, problems)
    read_stakeholders = [_json_stakeholder(item, number, problems) for number, item in stakeholders]
    stakeholder_keys = _known_keys(read_stakeholders, "stakeholder", problems)
    read_steps = [_json_step(item, number, stakeholder_keys, problems) for number, item in steps]
    step_keys = _known_keys(read_steps, "step", problems)
    read_links = [_json_link(item, number, step_keys, stakeholder_keys, problems) for number, item in links]
    dependencies = _json_items(map_data, "dependencies", MAX_DEPENDENCIES_PER_MAP, problems)
    read_dependencies = [_json_dependency(item, number, step_keys, problems) for number, item in dependencies]
    return ImportedMap(
        fields=fields,
        stakeholders=[(key, item_fields) for key, item_fields, _number in read_stakeholders],
        steps=[(key, item_fields) for key, item_fields, _number in read_steps],
        links=list(dict.fromkeys(link for link in read_links if link)),
        dependencies=list(dict.fromkeys(pair for pair in read_dependencies if pair)),
    )


def _parsed_json(raw_bytes: bytes, problems: list):
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(ImportProblem("not_utf8"))
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        problems.append(ImportProblem("not_json_at", params={"line": error.lineno, "column": error.colno}))
    except (ValueError, RecursionError):  # e.g. a number of 5000 digits, or [[[[…]]]] nested too deep
        problems.append(ImportProblem("not_json"))
    return None


def _json_items(map_data: dict, name: str, limit: int, problems: list) -> list[tuple[int, object]]:
    items = map_data.get(name, [])
    if not isinstance(items, list):
        problems.append(ImportProblem("expected_list", "map", field=name))
        return []
    if len(items) > limit:
        problems.append(ImportProblem("too_many", "map", field=name, params={"max": limit}))
        return []
    return list(enumerate(items, 1))


def _json_key(item: dict, place: str, number: int, problems: list):
    key = item.get("id")
    if key is None or (type(key) is int) or (isinstance(key, str) and 0 < len(key) <= 100):
        return str(key) if key is not None else None
    problems.append(ImportProblem("bad_id", place, number, "id", _shown(key)))
    return None


def _known_keys(read_items: list, place: str, problems: list) -> set:
    keys = set()
    for key, _fields_read, number in read_items:
        if key in keys:
            problems.append(ImportProblem("duplicate_id", place, number, "id", _shown(key)))
        elif key is not None:
            keys.add(key)
    return keys


def _json_stakeholder(item, number: int, problems: list) -> tuple:
    if not isinstance(item, dict):
        problems.append(ImportProblem("expected_object", "stakeholder", number))
        return None, {}, number
    key = _json_key(item, "stakeholder", number, problems)
    return key, _fields(item, STAKEHOLDER_FIELDS, problems, "stakeholder", number, skip=("id",)), number


def _json_step(item, number: int, stakeholder_keys: set, problems: list) -> tuple:
    if not isinstance(item, dict):
        problems.append(ImportProblem("expected_object", "step", number))
        return None, {}, number
    key = _json_key(item, "step", number, problems)
    fields = _fields(item, STEP_FIELDS, problems, "step", number, skip=("id", "owner"))
    owner = _json_owner(item.get("owner"), number, stakeholder_keys, problems)
    if owner is not _INVALID:
        fields["owner"] = owner
    return key, fields, number


def _json_owner(owner, number: int, stakeholder_keys: set, problems: list):
    if isinstance(owner, dict) and len(owner) == 1 and "stakeholder" in owner:
        key = owner["stakeholder"]
        key = str(key) if isinstance(key, (str, int)) and not isinstance(key, bool) else None
        if key in stakeholder_keys:
            return {"stakeholder": key}
        problems.append(ImportProblem("unknown_stakeholder", "step", number, "owner", _shown(owner["stakeholder"])))
        return _INVALID
    if isinstance(owner, dict) and len(owner) == 1 and "member" in owner:
        problems.append(ImportProblem("member_owner", "step", number, "owner"))
        return _INVALID
    return _checked(STEP_FIELDS["owner"], owner, problems, "step", number, "owner")


def _json_link(item, number: int, step_keys: set, stakeholder_keys: set, problems: list):
    if not isinstance(item, dict):
        problems.append(ImportProblem("expected_object", "link", number))
        return None
    for name in set(item) - {"step", "stakeholder"}:
        problems.append(ImportProblem("unknown_field", "link", number, str(name)))
    step_key, stakeholder_key = (_reference(item.get(name)) for name in ("step", "stakeholder"))
    if step_key not in step_keys:
        problems.append(ImportProblem("unknown_step", "link", number, "step", _shown(item.get("step"))))
    if stakeholder_key not in stakeholder_keys:
        problems.append(
            ImportProblem("unknown_stakeholder", "link", number, "stakeholder", _shown(item.get("stakeholder")))
        )
    return (step_key, stakeholder_key) if step_key in step_keys and stakeholder_key in stakeholder_keys else None


def _json_dependency(item, number: int, step_keys: set, problems: list):
    """(step key, key of the step it waits for), or None; a cycle is refused when the ops are applied."""
    if not isinstance(item, dict):
        problems.append(ImportProblem("expected_object", "dependency", number))
        return None
    for name in set(item) - {"step", "after"}:
        problems.append(ImportProblem("unknown_field", "dependency", number, str(name)))
    keys = {name: _reference(item.get(name)) for name in ("step", "after")}
    for name, key in keys.items():
        if key not in step_keys:
            problems.append(ImportProblem("unknown_step", "dependency", number, name, _shown(item.get(name))))
    return (keys["step"], keys["after"]) if keys["step"] in step_keys and keys["after"] in step_keys else None


def _reference(raw) -> str | None:
    return str(raw) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else None


def _read_csv(raw_bytes: bytes, problems: list) -> ImportedMap | None:
    rows = _csv_rows(raw_bytes, problems)
    return None if rows is None else _read_table(rows, problems)


def _read_xlsx(raw_bytes: bytes, problems: list) -> ImportedMap | None:
    rows = _xlsx_rows(raw_bytes, problems)
    return None if rows is None else _read_table(rows, problems)


def _blocking(problems: list) -> bool:
    return any(not problem.is_notice for problem in problems)


def _read_table(rows: list[tuple[int, list]], problems: list) -> ImportedMap | None:
    """Steps from numbered rows of cells, below the row that names the columns (_header_index)."""
    filled_rows = [(number, cells) for number, cells in rows if any(_cell_text(cell).strip() for cell in cells)]
    if not filled_rows:
        problems.append(ImportProblem("empty"))
        return None
    header_index = _header_index(filled_rows)
    (header_number, header_cells), data_rows = filled_rows[header_index], filled_rows[header_index + 1 :]
    columns = _table_columns(header_number, header_cells, problems)
    if len(data_rows) > MAX_IMPORTED_STEPS:
        problems.append(ImportProblem("too_many", params={"max": MAX_IMPORTED_STEPS}))
    if _blocking(problems):
        return None
    read_steps = [_table_step(columns, cells, number, problems) for number, cells in data_rows]
    stakeholder_names = list(dict.fromkeys(name for _fields_read, names, *_rest in read_steps for name in names))
    if len(stakeholder_names) > MAX_IMPORTED_STAKEHOLDERS:
        problems.append(ImportProblem("too_many", field="stakeholders", params={"max": MAX_IMPORTED_STAKEHOLDERS}))
    steps, links, dependencies = [], [], []
    # The file's steps by their running number (1 for the first row of steps), as "starts after" names them.
    row_of_step = {position: number for position, (number, _cells) in enumerate(data_rows, 1)}
    for (number, _cells), (fields, names, owner, waits_for) in zip(data_rows, read_steps):
        for step_number, header in waits_for:
            if step_number in row_of_step:
                dependencies.append((number, row_of_step[step_number]))
            else:
                problems.append(ImportProblem("no_such_step_number", "row", number, header, str(step_number)))
        if owner in stakeholder_names:
            fields["owner"] = {"stakeholder": owner}
        elif owner:
            owner_header = next(header for field, header in filter(None, columns) if field == "owner")
            text_owner = _checked(STEP_FIELDS["owner"], {"text": owner}, problems, "row", number, owner_header)
            if text_owner is not _INVALID:
                fields["owner"] = text_owner
        steps.append((number, fields))
        links += [(number, name) for name in names]
    if len(links) > MAX_IMPORTED_LINKS:
        problems.append(ImportProblem("too_many", field="stakeholders", params={"max": MAX_IMPORTED_LINKS}))
    return ImportedMap(
        fields={},
        stakeholders=[(name, {"name": name}) for name in stakeholder_names],
        steps=steps,
        links=links,
        dependencies=list(dict.fromkeys(dependencies)),
    )


def _header_index(filled_rows: list[tuple[int, list]]) -> int:
    """The first of the first few rows that has a column of step titles: people put a
    heading above the table; without such a row, the first row, for the problem to name."""
    for index, (_number, cells) in enumerate(filled_rows[: MAX_ROWS_ABOVE_HEADER + 1]):
        if any(spreadsheets.column_field(_cell_text(cell)) == "title" for cell in cells[:MAX_IMPORTED_COLUMNS]):
            return index
    return 0


def _table_columns(number: int, cells: list, problems: list) -> list[tuple[str, str] | None]:
    """Per column, (step field, header as the file writes it), or None for a column not imported."""
    columns, fields_seen = [], set()
    for cell in cells[:MAX_IMPORTED_COLUMNS]:
        header = _cell_text(cell).strip()
        field = spreadsheets.column_field(header) if header else None
        if header and field is None:
            problems.append(ImportProblem("ignored_column", "row", number, _shown(header)))
        elif field in fields_seen - {None, spreadsheets.NUMBER_COLUMN}:
            problems.append(ImportProblem("duplicate_column", "row", number, _shown(header)))
            field = None
        fields_seen.add(field)
        columns.append((field, header) if field and field != spreadsheets.NUMBER_COLUMN else None)
    if "title" not in fields_seen:
        problems.append(ImportProblem("missing_title_column", "row", number))
    return columns


def _table_step(columns: list, cells: list, number: int, problems: list) -> tuple[dict, list[str], str, list]:
    """(checked step fields without the owner, stakeholder names, owner text, the numbers of the steps
    it waits for with their column's header) of one row."""
    if any(_cell_text(cell).strip() for cell in cells[len(columns) :]):
        problems.append(ImportProblem("extra_cells", "row", number))
    fields, names, owner, waits_for = {}, [], "", []
    for (field, header), cell in ((column, cell) for column, cell in zip(columns, cells) if column):
        text = _unescaped(_cell_text(cell))
        if field == "owner":
            owner = text.strip()
        elif field == "depends_on":
            for word in re.split(r"[\s;,]+", text.strip()):
                if word.isdigit() and len(word) < 6:
                    waits_for.append((int(word), header))
                elif word:
                    problems.append(ImportProblem("not_a_step_number", "row", number, header, _shown(word)))
        elif field == "stakeholders":
            names = [
                _checked(STAKEHOLDER_FIELDS["name"], name.strip(), problems, "row", number, header)
                for name in re.split(r"[\n;]", text)
                if name.strip()
            ]
        elif field == "status" and text.strip():
            status = spreadsheets.status_of(text)
            if status is None:
                problems.append(ImportProblem("unknown_status", "row", number, header, _shown(text.strip())))
            else:
                fields["status"] = status
        elif field in ("starts_on", "due_on", "progress"):
            raw = spreadsheets.percent_of(cell) if field == "progress" else spreadsheets.day_of(cell)
            fields[field] = _checked(STEP_FIELDS[field], raw, problems, "row", number, header)
        elif field in STEP_FIELDS:
            fields[field] = _checked(STEP_FIELDS[field], text, problems, "row", number, header)
    fields = {field: value for field, value in fields.items() if value is not _INVALID}
    return fields, [name for name in names if name is not _INVALID], owner, waits_for


def _cell_text(cell) -> str:
    """A cell as text: a CSV cell as it is, an XLSX number without a needless ".0", a date in ISO form."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.date().isoformat()
    return cell.isoformat() if isinstance(cell, date) else str(cell)


def _unescaped(cell: str) -> str:
    return cell[1:] if _ESCAPED_FORMULA.match(cell) else cell


def _csv_rows(raw_bytes: bytes, problems: list) -> list[tuple[int, list[str]]] | None:
    text = _decoded(raw_bytes)
    if text is None:
        problems.append(ImportProblem("not_text"))
        return None
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        # One row more than allowed (besides the header) is enough to tell there are too many.
        return [(number, row) for number, row in zip(range(1, MAX_IMPORTED_STEPS * 2 + 3), reader)]
    except csv.Error:
        problems.append(ImportProblem("not_csv", "row", reader.line_num or 1))
        return None


def _decoded(raw_bytes: bytes) -> str | None:
    """The text of a CSV as Excel and friends save it: UTF-8, UTF-16 with a BOM, or Windows-1251.

    Strict UTF-8 first: Cyrillic in Windows-1251 is almost never valid UTF-8, while
    any byte but 0x98 is valid Windows-1251, so the order decides."""
    encodings = ("utf-16",) if raw_bytes.startswith((b"\xff\xfe", b"\xfe\xff")) else ("utf-8-sig", "cp1251")
    for encoding in encodings:
        try:
            return raw_bytes.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _xlsx_rows(raw_bytes: bytes, problems: list) -> list[tuple[int, list]] | None:
    """The numbered rows of the workbook's first sheet, cells as openpyxl reads them (dates as dates)."""
    # Here, not at the top: openpyxl, which as_xlsx imports, is slow to load and only an XLSX import needs it.
    from roadmap.services.exports import as_xlsx

    try:
        with zipfile.ZipFile(io.BytesIO(raw_bytes)) as archive:
            unpacked_bytes = sum(member.file_size for member in archive.infolist())
        if unpacked_bytes > MAX_UNPACKED_XLSX_BYTES:
            problems.append(ImportProblem("xlsx_too_large", params={"max": MAX_UNPACKED_XLSX_BYTES // 2**20}))
            return None
        return as_xlsx.sheet_rows(raw_bytes, last_row=MAX_IMPORTED_STEPS * 2 + 2, last_column=MAX_IMPORTED_COLUMNS + 1)
    except Exception:  # a damaged or foreign file makes zipfile and openpyxl raise errors of many kinds
        problems.append(ImportProblem("not_xlsx"))
        return None


_READERS = {"json": _read_json, "csv": _read_csv, "xlsx": _read_xlsx}
