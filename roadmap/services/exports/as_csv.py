"""The CSV export: the steps in the reader's language, UTF-8 with a BOM (so Excel reads
Cyrillic), cells separated by `;` in Russian (what a Russian Excel expects, so
the file opens in columns) and `,` in English; a header row of the step labels
(«Шаг», «Описание», «Ответственный», «Начало», «Срок», «Статус», «Выполнено, %»,
«Нужные ресурсы», «Как измерить успех», «Кто участвует»), one step per row in
map order: status words as the editor shows them, dates as DD.MM.YYYY in
Russian and YYYY-MM-DD in English, progress as a whole percent, the stakeholders
involved as names separated by "; ". A text cell that a spreadsheet would run as
a formula (starting with = + - @, a tab or a carriage return, after any
apostrophes) gets one more apostrophe in front; importing takes it off again.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from flask_babel import gettext as _

from roadmap.models import Roadmap
from roadmap.services.exports.reading import STEP_LABELS, in_language, map_for_reading, reader_values

_TEXT_COLUMNS = ("title", "description", "owner", "resources", "success_measure", "stakeholders")
_FORMULA_START = re.compile(r"'*[=+\-@\t\r]")
_CSV_DATE_FORMATS = {"ru": "%d.%m.%Y"}
_CSV_DELIMITERS = {"ru": ";"}  # a Russian Excel splits a CSV at semicolons, an English one at commas


def csv_of(roadmap: Roadmap, language: str) -> bytes:
    """The steps as CSV in the reader's language (see the module docstring)."""
    with in_language(language):
        return _csv_table([_csv_row(step, language) for step in map_for_reading(roadmap)["steps"]], language)


def csv_template(language: str) -> bytes:
    """An empty CSV of steps to fill in: the export's header row in the reader's language."""
    with in_language(language):
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
        for column, value in reader_values(step).items()
    ]


def _csv_cell(column: str, value):
    if value is None:
        return ""
    if column in _TEXT_COLUMNS and _FORMULA_START.match(value):
        return "'" + value
    return value
