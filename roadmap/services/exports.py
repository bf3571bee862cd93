"""Road maps out of the app and back in.

Out: a printable page and its PDF (the page rendered by WeasyPrint), DOCX for
grant applications, XLSX, CSV of the steps, JSON of the whole map, and an
iCalendar feed of due dates. In: the JSON, or a spreadsheet of steps (CSV or
XLSX, ours or one people made), into a new map, as ordinary ops applied in one
transaction by editing.apply_many: all of a file or nothing.

CSV: the steps in the reader's language, UTF-8 with a BOM (so Excel reads
Cyrillic), cells separated by `;` in Russian (what a Russian Excel expects, so
the file opens in columns) and `,` in English; a header row of the step labels
(«Шаг», «Описание», «Ответственный», «Начало», «Срок», «Статус», «Выполнено, %»,
«Нужные ресурсы», «Как измерить успех», «Кто участвует»), one step per row in
map order: status words as the editor shows them, dates as DD.MM.YYYY in
Russian and YYYY-MM-DD in English, progress as a whole percent, the stakeholders
involved as names separated by "; ". A text cell that a spreadsheet would run as
a formula (starting with = + - @, a tab or a carriage return, after any
apostrophes) gets one more apostrophe in front; importing takes it off again.

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

JSON: {"format": "roadmap", "version": 1, "map": {the map fields,
"stakeholders": [{"id", the stakeholder fields}], "steps": [{"id", the step
fields}], "links": [{"step": step id, "stakeholder": stakeholder id}]}}. The
ids only connect things inside the document; an import makes new ones. An owner
is null, {"stakeholder": id} or {"text": name}: members belong to their group,
so a member owner is exported as {"text": the member's name}.

Time zone. Dates of steps are calendar days and need none. Moments (when the
map last changed, when the file was made) are shown in the training's zone
(Training.timezone): as wall-clock cells in the XLSX's Project sheet, with a
«Часовой пояс» row naming the zone, and as text in the DOCX. The iCalendar's
DTSTAMP and LAST-MODIFIED are UTC, as RFC 5545 requires; X-WR-TIMEZONE names
the training's zone, and a due date is an all-day DATE, the same day in any zone.
The JSON holds no moments, only days (YYYY-MM-DD); the API's and the live
protocol's moments are ISO 8601 in UTC with a "Z".
"""
from __future__ import annotations

import csv
import io
import json
import re
import uuid
import zipfile
from contextlib import nullcontext
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import docx
import icalendar
import openpyxl
from docx.enum.section import WD_ORIENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from flask_babel import force_locale, format_date, format_datetime
from flask_babel import gettext as _
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from werkzeug.security import safe_join

from roadmap.domain.errors import N_, EditRejected
from roadmap.domain.text import CONTROL_CHARACTERS
from roadmap.domain.operations import (
    MAP_FIELDS, MAX_OWNER_TEXT, STAKEHOLDER_FIELDS, STEP_FIELDS, Choice, Day, Owner, Percent, Score, TextField,
    parse_value,
)
from roadmap.domain import timeline
from roadmap.domain.limits import (
    MAX_DEPENDENCIES_PER_MAP, MAX_LINKS_PER_MAP, MAX_STAKEHOLDERS_PER_MAP, MAX_STEPS_PER_MAP,
)
from roadmap.domain.vocabulary import ENGAGEMENT_LEVELS, SECTORS, STEP_STATUSES, THEMES
from roadmap.extensions import db
from roadmap.models import Group, Person, Roadmap
from roadmap.services import editing, snapshots, spreadsheets
from roadmap.timeutil import local, utcnow

FORMAT = "roadmap"
VERSION = 1
MAX_IMPORT_BYTES = 512 * 1024  # the request body limit (MAX_CONTENT_LENGTH)
# Each imported item is one op with its own commit; a map's caps (domain/limits.py) keep an import within seconds.
MAX_IMPORTED_STEPS = MAX_STEPS_PER_MAP
MAX_IMPORTED_STAKEHOLDERS = MAX_STAKEHOLDERS_PER_MAP
MAX_IMPORTED_LINKS = MAX_LINKS_PER_MAP
MAX_IMPORTED_COLUMNS = 60
MAX_ROWS_ABOVE_HEADER = 10
# A 512 KB workbook may unpack to hundreds of megabytes; ours of 300 steps is under 1 MB.
MAX_UNPACKED_XLSX_BYTES = 20 * 1024 * 1024

PROJECT_LABELS = {
    "title": N_("Project title"),
    "problem": N_("Problem"),
    "goal": N_("Goal"),
    "territory": N_("Territory"),
    "theme": N_("Theme"),
    "expected_results": N_("Expected results"),
}
# The keys are the CSV columns, in order.
STEP_LABELS = {
    "title": N_("Step"),
    "description": N_("Description"),
    "owner": N_("Owner"),
    "starts_on": N_("Start"),
    "due_on": N_("Due date"),
    "status": N_("Status"),
    "progress": N_("Progress, %"),
    "resources": N_("Resources needed"),
    "success_measure": N_("How success is measured"),
    "stakeholders": N_("Stakeholders involved"),
}
# Exported beside the steps' columns (XLSX, DOCX, PDF); not read back by an import of a table.
WAITS_FOR_LABEL = N_("Starts after step")
STAKEHOLDER_LABELS = {
    "name": N_("Name or organisation"),
    "sector": N_("Sector"),
    "contact": N_("Contact person"),
    "interest": N_("Interest"),
    "influence": N_("Influence"),
    "engagement": N_("Engagement"),
}
_TEXT_COLUMNS = ("title", "description", "owner", "resources", "success_measure", "stakeholders")
_FORMULA_START = re.compile(r"'*[=+\-@\t\r]")
_ESCAPED_FORMULA = re.compile(r"'+[=+\-@\t\r]")
# Characters XML 1.0 (DOCX, XLSX) cannot hold; display names are not filtered for them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NOT_IN_FILE_NAMES = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_EXCEL_DATE_FORMATS = {"ru": "DD.MM.YYYY"}
_EXCEL_TIME_FORMAT = " HH:MM"
_MOMENT_FORMAT = "d MMMM y, HH:mm"
_CSV_DATE_FORMATS = {"ru": "%d.%m.%Y"}
_CSV_DELIMITERS = {"ru": ";"}  # a Russian Excel splits a CSV at semicolons, an English one at commas


# --- the map as a reader sees it ----------------------------------------------------------

def map_for_reading(roadmap: Roadmap) -> dict:
    """The snapshot plus what a reader needs: owner and stakeholder names, the group and the training."""
    data = snapshots.snapshot(roadmap)
    stakeholder_names = {item["id"]: item["name"] for item in data["stakeholders"]}
    member_names = {member["id"]: member["name"] for member in data["members"]}
    for step in data["steps"]:
        step["owner_name"] = _owner_name(step["owner"], member_names, stakeholder_names)
        step["stakeholder_names"] = sorted(
            (stakeholder_names[stakeholder_id] for stakeholder_id in step["stakeholder_ids"]), key=str.casefold
        )
    group = roadmap.group
    training = group.training
    data["group"] = {"name": group.name}
    data["training"] = {
        "title": training.title, "city": training.city,
        "starts_on": training.starts_on, "ends_on": training.ends_on, "timezone": training.timezone,
    }
    # Aware datetimes in the training's zone.
    data["changed_at"] = local(roadmap.updated_at, training.timezone) if roadmap.updated_at else None
    data["prepared_at"] = local(utcnow(), training.timezone)
    return data


def _owner_name(owner: dict | None, member_names: dict, stakeholder_names: dict) -> str:
    if not owner:
        return ""
    if "member" in owner:
        name = member_names.get(owner["member"]) or _former_member_name(owner["member"])
        # Display names are not checked for control characters, and the JSON export
        # carries this name as owner text, which an import checks for them.
        return _NOT_XML.sub("", name)[:MAX_OWNER_TEXT].strip()
    if "stakeholder" in owner:
        return stakeholder_names.get(owner["stakeholder"], "")
    return owner["text"]


def _former_member_name(person_id: int) -> str:
    """Someone who left the group still owns their steps under their name."""
    person = db.session.get(Person, person_id)
    return person.display_name if person else ""


def map_title(data: dict) -> str:
    return data["title"] or data["group"]["name"]


def download_name(roadmap: Roadmap, extension: str, suffix: str = "") -> str:
    """A file name from the map's title, safe on every desktop system; `suffix` tells two files of one
    format apart ("… A3.pdf")."""
    title = _NOT_IN_FILE_NAMES.sub(" ", roadmap.title or roadmap.group.name)
    stem = " ".join(title.split())[:80].strip(" .") or "roadmap"
    return f"{stem}{suffix}.{extension}"


def _day(iso_day: str | None) -> date | None:
    return date.fromisoformat(iso_day) if iso_day else None


def _in_language(language: str | None):
    return force_locale(language) if language else nullcontext()


def _reader_values(step: dict) -> dict:
    """A step's values by column, as people read them: names, labels, dates."""
    return {
        "title": step["title"], "description": step["description"], "owner": step["owner_name"],
        "starts_on": _day(step["starts_on"]), "due_on": _day(step["due_on"]),
        "status": _(STEP_STATUSES[step["status"]]), "progress": step["progress"],
        "resources": step["resources"], "success_measure": step["success_measure"],
        "stakeholders": "; ".join(step["stakeholder_names"]),
    }


def _stakeholder_values(stakeholder: dict) -> dict:
    return {
        "name": stakeholder["name"], "sector": _(SECTORS[stakeholder["sector"]]) if stakeholder["sector"] else "",
        "contact": stakeholder["contact"], "interest": _unset_as_empty(stakeholder["interest"]),
        "influence": _unset_as_empty(stakeholder["influence"]), "engagement": _(ENGAGEMENT_LEVELS[stakeholder["engagement"]]),
    }


def _unset_as_empty(value):
    return "" if value is None else value


def _project_values(data: dict) -> list[tuple[str, str | datetime]]:
    """(label, text) of the header fields, then the training and the group, then
    when the map changed and the file was made (aware datetimes) and in which zone."""
    training = data["training"]
    values = [
        (_(label), _(THEMES[data[name]]) if name == "theme" else data[name])
        for name, label in PROJECT_LABELS.items()
    ]
    values += [
        (_("Training"), training["title"]),
        (_("City"), training["city"]),
        (_("Dates"), f"{format_date(training['starts_on'], 'medium')} – {format_date(training['ends_on'], 'medium')}"),
        (_("Working group"), data["group"]["name"]),
    ]
    if data["changed_at"]:
        values.append((_("Last change"), data["changed_at"]))
    values += [(_("Prepared"), data["prepared_at"]), (_("Time zone"), _zone_label(data["prepared_at"]))]
    return values


def _zone_label(moment: datetime) -> str:
    """The zone of an aware moment as people read it, e.g. "Europe/Moscow (UTC+3)"."""
    offset_minutes = int(moment.utcoffset().total_seconds()) // 60
    hours, minutes = divmod(abs(offset_minutes), 60)
    offset = f"{'+' if offset_minutes >= 0 else '−'}{hours}" + (f":{minutes:02d}" if minutes else "")
    return f"{moment.tzinfo.key} (UTC{offset})"


def _moment_text(value: str | datetime) -> str:
    """Text as it is; an aware moment as "16 января 2027 г., 02:55" in its own zone."""
    return format_datetime(value, _MOMENT_FORMAT, rebase=False) if isinstance(value, datetime) else value


# --- JSON and CSV -------------------------------------------------------------------------

def document_of(roadmap: Roadmap) -> dict:
    """The whole map as a versioned, portable document (see the module docstring)."""
    data = map_for_reading(roadmap)
    stakeholder_order = {item["id"]: index for index, item in enumerate(data["stakeholders"])}
    step_order = {step["id"]: index for index, step in enumerate(data["steps"])}
    return {
        "format": FORMAT,
        "version": VERSION,
        "map": {
            **{name: data[name] for name in MAP_FIELDS},
            "stakeholders": [
                {"id": item["id"], **{name: item[name] for name in STAKEHOLDER_FIELDS}}
                for item in data["stakeholders"]
            ],
            "steps": [
                {"id": step["id"], **{name: step[name] for name in STEP_FIELDS}, "owner": _portable_owner(step)}
                for step in data["steps"]
            ],
            "links": [
                {"step": step["id"], "stakeholder": stakeholder_id}
                for step in data["steps"]
                for stakeholder_id in sorted(step["stakeholder_ids"], key=stakeholder_order.__getitem__)
            ],
            "dependencies": [
                {"step": step["id"], "after": predecessor_id}
                for step in data["steps"] for predecessor_id in sorted(step["depends_on"], key=step_order.__getitem__)
            ],
        },
    }


def _portable_owner(step: dict) -> dict | None:
    owner = step["owner"]
    if owner and "member" in owner:
        return {"text": step["owner_name"]} if step["owner_name"] else None
    if owner and "stakeholder" in owner and not step["owner_name"]:
        return None  # the stakeholder was deleted
    return owner


def json_of(roadmap: Roadmap) -> bytes:
    return json.dumps(document_of(roadmap), ensure_ascii=False, indent=2).encode("utf-8")


def csv_of(roadmap: Roadmap, language: str) -> bytes:
    """The steps as CSV in the reader's language (see the module docstring)."""
    with _in_language(language):
        return _csv_table([_csv_row(step, language) for step in map_for_reading(roadmap)["steps"]], language)


def csv_template(language: str) -> bytes:
    """An empty CSV of steps to fill in: the export's header row in the reader's language."""
    with _in_language(language):
        return _csv_table([], language)


def _csv_table(rows: list[list], language: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=_CSV_DELIMITERS.get(language, ","))
    writer.writerow([_(label) for label in STEP_LABELS.values()])
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def _csv_row(step: dict, language: str) -> list:
    date_format = _CSV_DATE_FORMATS.get(language, "%Y-%m-%d")
    return [
        _csv_cell(column, value.strftime(date_format) if isinstance(value, date) else value)
        for column, value in _reader_values(step).items()
    ]


def _csv_cell(column: str, value):
    if value is None:
        return ""
    if column in _TEXT_COLUMNS and _FORMULA_START.match(value):
        return "'" + value
    return value


# --- XLSX ------------------------------------------------------------------------------

def xlsx_of(roadmap: Roadmap, language: str) -> bytes:
    """A workbook with the sheets Steps, Stakeholders and Project; real dates, bold frozen headers."""
    data = map_for_reading(roadmap)
    date_format = _EXCEL_DATE_FORMATS.get(language, "YYYY-MM-DD")
    workbook = openpyxl.Workbook()
    with _in_language(language):
        waits_for = _predecessor_numbers(data["steps"])
        _write_steps_sheet(
            workbook.active,
            [[number, *_reader_values(step).values(), waits_for[step["id"]]]
             for number, step in enumerate(data["steps"], 1)],
            date_format, with_dependencies=True,
        )
        _write_table(
            workbook.create_sheet(_("Stakeholders")[:31]), [_(label) for label in STAKEHOLDER_LABELS.values()],
            [list(_stakeholder_values(item).values()) for item in data["stakeholders"]],
            widths=[40, 25, 40, 10, 10, 18], date_format=date_format,
        )
        _write_project_sheet(workbook.create_sheet(_("Project")[:31]), _project_values(data), date_format)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_template(language: str) -> bytes:
    """An empty Steps sheet to fill in, as the export has it, with the status words to pick from."""
    workbook = openpyxl.Workbook()
    with _in_language(language):
        sheet = workbook.active
        _write_steps_sheet(sheet, [], _EXCEL_DATE_FORMATS.get(language, "YYYY-MM-DD"))
        status_words = ",".join(_(label) for label in STEP_STATUSES.values())
        status_choice = DataValidation(type="list", formula1=f'"{status_words}"', allow_blank=True)
        sheet.add_data_validation(status_choice)
        status_column = get_column_letter(list(STEP_LABELS).index("status") + 2)
        status_choice.add(f"{status_column}2:{status_column}{MAX_IMPORTED_STEPS + 1}")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_steps_sheet(sheet, rows: list[list], date_format: str, with_dependencies: bool = False) -> None:
    """The steps; the export adds the numbers of the steps each waits for, which an import does not read."""
    sheet.title = _("Steps")
    headers = [_("No."), *(_(label) for label in STEP_LABELS.values())]
    _write_table(
        sheet, headers + ([_(WAITS_FOR_LABEL)] if with_dependencies else []), rows,
        widths=[5, 40, 50, 25, 12, 12, 14, 10, 35, 35, 35, 16], date_format=date_format,
    )


def _predecessor_numbers(steps: list[dict]) -> dict[str, str]:
    """Step id -> the numbers (as the exports count steps) of the steps it waits for: "1; 3"."""
    numbers = {step["id"]: number for number, step in enumerate(steps, 1)}
    return {step["id"]: "; ".join(str(number) for number in sorted(numbers[id_] for id_ in step["depends_on"]))
            for step in steps}


def _write_table(sheet, headers: list[str], rows: list[list], widths: list[int], date_format: str) -> None:
    for column_number, header in enumerate(headers, 1):
        _set_cell(sheet.cell(1, column_number), header, date_format).font = Font(bold=True)
    for row_number, row in enumerate(rows, 2):
        for column_number, value in enumerate(row, 1):
            _set_cell(sheet.cell(row_number, column_number), value, date_format)
    sheet.freeze_panes = "A2"
    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _write_project_sheet(sheet, values: list[tuple[str, str | datetime]], date_format: str) -> None:
    for row_number, (label, value) in enumerate(values, 1):
        _set_cell(sheet.cell(row_number, 1), label, None).font = Font(bold=True)
        _set_cell(sheet.cell(row_number, 2), value, date_format).alignment = Alignment(
            vertical="top", wrap_text=True, horizontal="left")
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 90


def _set_cell(cell, value, date_format: str | None):
    cell.alignment = Alignment(vertical="top", wrap_text=True)
    if isinstance(value, str):
        cell.value = _NOT_XML.sub("", value)
        cell.data_type = "s"  # openpyxl would store "=…" as a live formula
    elif isinstance(value, datetime):
        # Excel has no time zones: the wall-clock time where the training is (the sheet names the zone).
        cell.value = value.replace(tzinfo=None)
        cell.number_format = date_format + _EXCEL_TIME_FORMAT
    else:
        cell.value = value
        if isinstance(value, date):
            cell.number_format = date_format
    return cell


# --- DOCX ------------------------------------------------------------------------------

def docx_of(roadmap: Roadmap, language: str) -> bytes:
    """An editable Word document: the project on a portrait page, the tables on landscape pages."""
    data = map_for_reading(roadmap)
    document = docx.Document()
    document.styles["Normal"].font.size = Pt(10.5)
    _a4(document.sections[0], landscape=False)
    with _in_language(language):
        title = map_title(data)
        document.core_properties.title = _xml_text(title)
        document.core_properties.language = language
        document.add_heading(_xml_text(title), level=0)
        for label, value in _project_values(data)[1:]:
            document.add_heading(_xml_text(label), level=2)
            document.add_paragraph(_xml_text(_moment_text(value)) or "—")
        _a4(document.add_section(), landscape=True)
        document.add_heading(_("Steps"), level=1)
        _docx_steps_table(document, data["steps"])
        laid_out = timeline.lay_out(data["steps"], data["prepared_at"].date())
        if laid_out.bars:
            document.add_heading(_("Timeline"), level=1)
            _docx_timeline_table(document, laid_out)
        document.add_heading(_("Stakeholders"), level=1)
        _docx_table(
            document, [_(label) for label in STAKEHOLDER_LABELS.values()],
            [[str(value) for value in _stakeholder_values(item).values()] for item in data["stakeholders"]],
            widths_mm=[70, 35, 70, 20, 20, 30],
        )
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _a4(section, landscape: bool) -> None:
    short, long = Mm(210), Mm(297)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (long, short) if landscape else (short, long)
    section.left_margin = section.right_margin = Mm(20 if not landscape else 15)
    section.top_margin = section.bottom_margin = Mm(15)


def _docx_steps_table(document, steps: list[dict]) -> None:
    headers = [_("No.")] + [_(label) for name, label in STEP_LABELS.items() if name != "description"]
    rows = []
    for number, step in enumerate(steps, 1):
        values = _reader_values(step)
        title_and_description = (values.pop("title"), values.pop("description"))
        values.update(
            starts_on=_formatted_day(values["starts_on"]), due_on=_formatted_day(values["due_on"]),
            progress="" if values["progress"] is None else str(values["progress"]),
        )
        rows.append([str(number), title_and_description, *values.values()])
    _docx_table(document, headers, rows, widths_mm=[8, 60, 28, 22, 22, 20, 14, 33, 33, 27])


def _docx_timeline_table(document, laid_out: timeline.Timeline) -> None:
    """The dated steps in the order of the map, with what they wait for and what is amiss."""
    headers = [_("No."), _("Step"), _("Start"), _("Due date"), _(WAITS_FOR_LABEL), _("Notes")]
    rows = []
    for bar in laid_out.bars:
        notes = [_("done") if bar.done else "", _("overdue") if bar.overdue else "",
                 _("starts before a step it waits for is due") if bar.too_early else ""]
        rows.append([str(bar.number), _xml_text(bar.title) or _("Untitled step"), _formatted_day(bar.starts_on),
                     _formatted_day(bar.due_on), ", ".join(map(str, bar.waits_for)), "; ".join(filter(None, notes))])
    _docx_table(document, headers, rows, widths_mm=[10, 85, 28, 28, 30, 86])
    if laid_out.undated:
        document.add_paragraph(_xml_text(_("Without dates") + ": " + "; ".join(
            f"{number}. {title or _('Untitled step')}" for number, title in laid_out.undated)))


def _formatted_day(day: date | None) -> str:
    return format_date(day, "medium") if day else ""


def _docx_table(document, headers: list[str], rows: list[list], widths_mm: list[int]) -> None:
    """A bordered table; a (heading, text) value puts the heading in bold above the text."""
    table = document.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    table.autofit = False
    _repeat_as_header(table.rows[0])
    for cell, header in zip(table.rows[0].cells, headers):
        _fill_cell(cell, header, bold=True)
    for row in rows:
        for cell, value in zip(table.add_row().cells, row):
            if isinstance(value, tuple):
                heading, text = value
                _fill_cell(cell, heading, bold=True)
                if text:
                    _fill_cell(cell, text, new_paragraph=True)
            else:
                _fill_cell(cell, value)
    for column, width in zip(table.columns, widths_mm):
        for cell in column.cells:
            cell.width = Mm(width)


def _fill_cell(cell, text: str, bold: bool = False, new_paragraph: bool = False) -> None:
    paragraph = cell.add_paragraph() if new_paragraph else cell.paragraphs[0]
    run = paragraph.add_run(_xml_text(text))
    run.bold = bold
    run.font.size = Pt(9)


def _repeat_as_header(row) -> None:
    """A long table repeats its header row on every page (python-docx has no setting for it)."""
    header_flag = OxmlElement("w:tblHeader")
    header_flag.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(header_flag)


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


# --- PDF and poster ---------------------------------------------------------------------

# Shown after a name, joined by commas: "Марина — участник рабочей группы, ответственный за шаги 1, 5".
TEAM_ROLES = {
    "member": N_("working group member"),
    "owner": N_("owner of steps %(numbers)s"),
    "moderator": N_("moderator of the training"),
}


@dataclass
class TeamMember:
    """One person or organisation on the team page of the PDF, with the numbers of the steps they own."""

    name: str
    roles: list[str] = dataclass_field(default_factory=list)  # keys of TEAM_ROLES, in that order
    step_numbers: list[int] = dataclass_field(default_factory=list)


def team_of(roadmap: Roadmap, map_data: dict) -> list[TeamMember]:
    """Who carries the plan, each once: the group's members, then owners from outside the group
    (stakeholders, names typed as owners), then the training's moderators."""
    training = roadmap.group.training
    team: dict[tuple, TeamMember] = {}

    def entry(key: tuple, name: str) -> TeamMember:
        return team.setdefault(key, TeamMember(name))

    for member in map_data["members"]:
        entry(("person", member["id"]), member["name"]).roles.append("member")
    stakeholder_names = {item["id"]: item["name"] for item in map_data["stakeholders"]}
    for number, step in enumerate(map_data["steps"], start=1):
        owner = step["owner"] or {}
        if "member" in owner:
            key = ("person", owner["member"])
        elif "stakeholder" in owner:
            key = ("stakeholder", owner["stakeholder"])
        elif owner.get("text", "").strip():
            key = ("text", owner["text"].strip().casefold())
        else:
            continue
        owner_entry = entry(key, step["owner_name"] or stakeholder_names.get(owner.get("stakeholder"), ""))
        owner_entry.step_numbers.append(number)
    moderators = [training.moderator] + [link.person for link in training.co_moderators]
    for person in moderators:
        entry(("person", person.id), person.display_name).roles.append("moderator")
    for member in team.values():
        if member.step_numbers:
            member.roles.append("owner")
        member.roles.sort(key=list(TEAM_ROLES).index)
    return list(team.values())



def pdf_of(html: str, static_folder: str, static_url_path: str) -> bytes:
    """The printable page as an A4 PDF; its stylesheet is read from disk, nothing from the network."""
    import weasyprint  # takes a second and a half to import; only PDF downloads need it

    class StaticFilesOnly(weasyprint.urls.URLFetcher):
        def fetch(self, url, headers=None):
            path = urlsplit(url).path
            prefix = static_url_path.rstrip("/") + "/"
            file_path = safe_join(static_folder, path[len(prefix):]) if path.startswith(prefix) else None
            if file_path is None or not Path(file_path).is_file():
                raise ValueError(f"not a static file: {url}")
            content_type = "text/css" if file_path.endswith(".css") else "application/octet-stream"
            return weasyprint.urls.URLFetcherResponse(
                url, Path(file_path).read_bytes(), {"Content-Type": content_type}
            )

    document = weasyprint.HTML(string=html, base_url="https://roadmap.invalid/", url_fetcher=StaticFilesOnly())
    return document.write_pdf()


# --- iCalendar -------------------------------------------------------------------------

def calendar_for(roadmap: Roadmap, language: str | None = None, map_url: str | None = None) -> bytes:
    """The map's due dates as an iCalendar feed: one all-day event per step with a due date.

    UIDs stay the same for a step across fetches, so a subscribed calendar
    updates its events instead of adding new ones. Each event links back to the
    map (`map_url`: URL and the description), names the step's owner in the
    description and, unless the step is done, reminds the day before (VALARM).
    Owners are never ATTENDEE or ORGANIZER: the feed is readable by anyone who
    has its link, and an attendee's e-mail would both publish the address and
    make calendar apps treat a deadline as a meeting invitation. `language`
    defaults to the current locale (a feed has no session, so the app's default).
    """
    data = map_for_reading(roadmap)
    stamp = (roadmap.updated_at or utcnow()).replace(tzinfo=timezone.utc)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Roadmap//Road map due dates//RU")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-timezone", data["training"]["timezone"])
    # Subscribed calendars poll; these ask for an hour (Google decides for itself).
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    with _in_language(language):
        calendar.add("x-wr-calname", map_title(data))
        calendar.add("x-wr-caldesc", _("Due dates of the road map of %(group)s, %(training)s",
                                       group=data["group"]["name"], training=data["training"]["title"]))
        for step in data["steps"]:
            if step["due_on"]:
                calendar.add_component(_due_date_event(step, stamp, map_url))
    return calendar.to_ical()


def _due_date_event(step: dict, stamp: datetime, map_url: str | None) -> icalendar.Event:
    due_on = date.fromisoformat(step["due_on"])
    title = step["title"] or _("Untitled step")
    event = icalendar.Event()
    event.add("uid", f"{step['id']}@roadmap")
    event.add("dtstamp", stamp)
    event.add("last-modified", stamp)
    event.add("dtstart", due_on)
    event.add("dtend", due_on + timedelta(days=1))
    event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy all day
    event.add("summary", title)
    details = [step["description"]] if step["description"] else []
    if step["owner_name"]:
        details.append(f"{_('Owner')}: {step['owner_name']}")
    details.append(f"{_('Status')}: {_(STEP_STATUSES[step['status']])}")
    if map_url:
        details.append(f"{_('Road map')}: {map_url}")
        event.add("url", map_url)
    event.add("description", "\n".join(details))
    if step["status"] != "done":
        event.add_component(_day_before_alarm(title))
    return event


def _day_before_alarm(title: str) -> icalendar.Alarm:
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", timedelta(days=-1))
    alarm.add("description", _("Due tomorrow: %(step)s", step=title))
    return alarm


# --- import ----------------------------------------------------------------------------

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
    "missing_title_column": N_("no column of step titles: name it \"Step\" (other names that work are listed below)"),
    "extra_cells": N_("cells to the right of the named columns are not imported"),
    "unknown_status": N_("not a status: write Planned, In progress, Done or Blocked"),
    "too_many": N_("more than %(max)s items"),
    "bad_id": N_("an id must be a short text or a number"),
    "duplicate_id": N_("this id is used twice"),
    "unknown_stakeholder": N_("no stakeholder with this id in the file"),
    "unknown_step": N_("no step with this id in the file"),
    "not_a_step_number": N_("not a step number"),
    "no_such_step_number": N_("no step with this number in the file"),
    "member_owner": N_("a group member cannot be carried over; write {\"text\": name} instead"),
    "too_long": N_("longer than %(max)s characters"),
    "control_characters": N_("contains control characters"),
    "not_one_of": N_("not one of: %(options)s"),
    "not_a_score": N_("not a whole number from 1 to 5"),
    "not_a_percent": N_("not a whole number from 0 to 100"),
    "not_a_date": N_("not a date"),
    "date_out_of_range": N_("the date is not between 1900 and 2200"),
    "not_an_owner": N_("not an owner: null, {\"stakeholder\": id} or {\"text\": name}"),
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
    return shown if len(shown) <= SHOWN_MAX_LENGTH else shown[:SHOWN_MAX_LENGTH - 1] + "…"


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


# --- reading JSON ----------------------------------------------------------------------

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
        problems.append(ImportProblem("newer_version", params={"version": version}) if newer
                        else ImportProblem("not_roadmap"))
        return None
    map_data = document.get("map")
    if not isinstance(map_data, dict):
        problems.append(ImportProblem("expected_object", "map"))
        return None
    fields = _fields(map_data, MAP_FIELDS, problems, "map", None, skip=("stakeholders", "steps", "links", "dependencies"))
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
        problems.append(ImportProblem(
            "unknown_stakeholder", "link", number, "stakeholder", _shown(item.get("stakeholder"))
        ))
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


# --- reading a spreadsheet (CSV or XLSX) ----------------------------------------------

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
    (header_number, header_cells), data_rows = filled_rows[header_index], filled_rows[header_index + 1:]
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
        fields={}, stakeholders=[(name, {"name": name}) for name in stakeholder_names], steps=steps, links=links,
        dependencies=list(dict.fromkeys(dependencies)),
    )


def _header_index(filled_rows: list[tuple[int, list]]) -> int:
    """The first of the first few rows that has a column of step titles: people put a
    heading above the table; without such a row, the first row, for the problem to name."""
    for index, (_number, cells) in enumerate(filled_rows[:MAX_ROWS_ABOVE_HEADER + 1]):
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
    if any(_cell_text(cell).strip() for cell in cells[len(columns):]):
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
            names = [_checked(STAKEHOLDER_FIELDS["name"], name.strip(), problems, "row", number, header)
                     for name in re.split(r"[\n;]", text) if name.strip()]
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
    try:
        with zipfile.ZipFile(io.BytesIO(raw_bytes)) as archive:
            unpacked_bytes = sum(member.file_size for member in archive.infolist())
        if unpacked_bytes > MAX_UNPACKED_XLSX_BYTES:
            problems.append(ImportProblem("xlsx_too_large", params={"max": MAX_UNPACKED_XLSX_BYTES // 2**20}))
            return None
        workbook = openpyxl.load_workbook(io.BytesIO(raw_bytes), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            sheet.reset_dimensions()  # read every row, not just as many as the file claims to have
            last_row = MAX_IMPORTED_STEPS * 2 + 2
            return [(number, [_xlsx_value(cell) for cell in row]) for number, row in zip(
                range(1, last_row + 1), sheet.iter_rows(max_row=last_row, max_col=MAX_IMPORTED_COLUMNS + 1))]
        finally:
            workbook.close()
    except Exception:  # a damaged or foreign file makes zipfile and openpyxl raise errors of many kinds
        problems.append(ImportProblem("not_xlsx"))
        return None


def _xlsx_value(cell):
    value = cell.value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and "%" in (cell.number_format or ""):
        return f"{round(value * 100)}%"  # Excel keeps 50 % as 0.5
    return value


_READERS = {"json": _read_json, "csv": _read_csv, "xlsx": _read_xlsx}
