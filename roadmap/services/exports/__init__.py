"""Road maps out of the app and back in.

Out: a printable page and its PDF (the page rendered by WeasyPrint), DOCX for
grant applications, XLSX, CSV of the steps, JSON of the whole map, and an
iCalendar feed of due dates. In: the JSON, or a spreadsheet of steps (CSV or
XLSX, ours or one people made), into a new map, as ordinary ops applied in one
transaction by editing.apply_many: all of a file or nothing.

reading.py turns a map into what the exports show (map_for_reading, the labels,
the team, the portable document); one module per format writes it out (as_json,
as_csv, as_xlsx, as_docx, as_pdf, as_calendar), and importing.py reads files back.
Only a format's own module imports its library.

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

from importlib import import_module

from roadmap.services.exports.as_csv import csv_of, csv_template
from roadmap.services.exports.as_json import json_of
from roadmap.services.exports.importing import (
    MAX_IMPORT_BYTES,
    PLACES,
    PROBLEMS,
    UNSHOWABLE_MARKER,
    ImportedMap,
    ImportProblem,
    ImportResult,
    apply_import,
    check_import,
    content_ops,
    import_map,
)
from roadmap.services.exports.reading import (
    PROJECT_LABELS,
    STAKEHOLDER_LABELS,
    STEP_LABELS,
    TEAM_ROLES,
    document_of,
    download_name,
    map_for_reading,
    map_title,
    team_of,
)

__all__ = [
    "MAX_IMPORT_BYTES",
    "PLACES",
    "PROBLEMS",
    "PROJECT_LABELS",
    "STAKEHOLDER_LABELS",
    "STEP_LABELS",
    "TEAM_ROLES",
    "UNSHOWABLE_MARKER",
    "ImportProblem",
    "ImportResult",
    "ImportedMap",
    "apply_import",
    "calendar_for",
    "check_import",
    "content_ops",
    "csv_of",
    "csv_template",
    "document_of",
    "download_name",
    "docx_of",
    "import_map",
    "json_of",
    "map_for_reading",
    "map_title",
    "pdf_of",
    "team_of",
    "xlsx_of",
    "xlsx_template",
]
# Every web request path imports this package, and importing openpyxl, python-docx and icalendar
# took 0.9 s of its 2.3 s (WeasyPrint takes longer still): their modules load on first use (PEP 562).
_LOADED_ON_FIRST_USE = {
    "xlsx_of": "as_xlsx",
    "xlsx_template": "as_xlsx",
    "docx_of": "as_docx",
    "pdf_of": "as_pdf",
    "calendar_for": "as_calendar",
}


def __getattr__(name: str):
    if name not in _LOADED_ON_FIRST_USE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_LOADED_ON_FIRST_USE[name]}"), name)
