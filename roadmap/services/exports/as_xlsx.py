"""The XLSX export (sheets Steps, Stakeholders and Project), the empty Steps sheet to fill in,
and the reading of a workbook's first sheet for an import: the only user of openpyxl.

The Project sheet shows moments (when the map last changed, when the file was made) as
wall-clock cells in the training's zone, with a «Часовой пояс» row naming the zone.
"""

from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl
from flask_babel import gettext as _
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from roadmap.domain.vocabulary import STEP_STATUSES
from roadmap.models import Roadmap
from roadmap.services.exports.importing import MAX_IMPORTED_STEPS
from roadmap.services.exports.reading import (
    STAKEHOLDER_LABELS,
    STEP_LABELS,
    WAITS_FOR_LABEL,
    in_language,
    map_for_reading,
    project_values,
    reader_values,
    stakeholder_values,
    xml_text,
)

_EXCEL_DATE_FORMATS = {"ru": "DD.MM.YYYY"}
_EXCEL_TIME_FORMAT = " HH:MM"


def xlsx_of(roadmap: Roadmap, language: str) -> bytes:
    """A workbook with the sheets Steps, Stakeholders and Project; real dates, bold frozen headers."""
    data = map_for_reading(roadmap)
    date_format = _EXCEL_DATE_FORMATS.get(language, "YYYY-MM-DD")
    workbook = openpyxl.Workbook()
    with in_language(language):
        waits_for = _predecessor_numbers(data["steps"])
        _write_steps_sheet(
            workbook.active,
            [
                [number, *reader_values(step).values(), waits_for[step["id"]]]
                for number, step in enumerate(data["steps"], 1)
            ],
            date_format,
            with_dependencies=True,
        )
        _write_table(
            workbook.create_sheet(_("Stakeholders")[:31]),
            [_(label) for label in STAKEHOLDER_LABELS.values()],
            [list(stakeholder_values(item).values()) for item in data["stakeholders"]],
            widths=[40, 25, 40, 10, 10, 18],
            date_format=date_format,
        )
        _write_project_sheet(workbook.create_sheet(_("Project")[:31]), project_values(data), date_format)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_template(language: str) -> bytes:
    """An empty Steps sheet to fill in, as the export has it, with the status words to pick from."""
    workbook = openpyxl.Workbook()
    with in_language(language):
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
        sheet,
        headers + ([_(WAITS_FOR_LABEL)] if with_dependencies else []),
        rows,
        widths=[5, 40, 50, 25, 12, 12, 14, 10, 35, 35, 35, 16],
        date_format=date_format,
    )


def _predecessor_numbers(steps: list[dict]) -> dict[str, str]:
    """Step id -> the numbers (as the exports count steps) of the steps it waits for: "1; 3"."""
    numbers = {step["id"]: number for number, step in enumerate(steps, 1)}
    return {
        step["id"]: "; ".join(str(number) for number in sorted(numbers[id_] for id_ in step["depends_on"]))
        for step in steps
    }


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
            vertical="top", wrap_text=True, horizontal="left"
        )
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 90


def _set_cell(cell, value, date_format: str | None):
    cell.alignment = Alignment(vertical="top", wrap_text=True)
    if isinstance(value, str):
        cell.value = xml_text(value)
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


def sheet_rows(raw_bytes: bytes, last_row: int, last_column: int) -> list[tuple[int, list]]:
    """The numbered rows of the workbook's first sheet up to `last_row` and `last_column`, cells as
    openpyxl reads them (dates as dates). A damaged or foreign file raises whatever openpyxl raises."""
    workbook = openpyxl.load_workbook(io.BytesIO(raw_bytes), read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # read every row, not just as many as the file claims to have
        return [
            (number, [_cell_value(cell) for cell in row])
            for number, row in zip(range(1, last_row + 1), sheet.iter_rows(max_row=last_row, max_col=last_column))
        ]
    finally:
        workbook.close()


def _cell_value(cell):
    value = cell.value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and "%" in (cell.number_format or ""):
        return f"{round(value * 100)}%"  # Excel keeps 50 % as 0.5
    return value
