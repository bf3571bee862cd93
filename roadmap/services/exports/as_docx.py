"""The DOCX export, an editable Word document for grant applications: the only user of python-docx.

Moments (when the map last changed, when the file was made) are text in the training's zone.
"""

from __future__ import annotations

import io
from datetime import date, datetime

import docx
from docx.enum.section import WD_ORIENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _

from roadmap.domain import timeline
from roadmap.models import Roadmap
from roadmap.services.exports.reading import (
    STAKEHOLDER_LABELS,
    STEP_LABELS,
    WAITS_FOR_LABEL,
    in_language,
    map_for_reading,
    map_title,
    project_values,
    reader_values,
    stakeholder_values,
    xml_text,
)

_MOMENT_FORMAT = "d MMMM y, HH:mm"


def docx_of(roadmap: Roadmap, language: str) -> bytes:
    """An editable Word document: the project on a portrait page, the tables on landscape pages."""
    data = map_for_reading(roadmap)
    document = docx.Document()
    document.styles["Normal"].font.size = Pt(10.5)
    _a4(document.sections[0], landscape=False)
    with in_language(language):
        title = map_title(data)
        document.core_properties.title = xml_text(title)
        document.core_properties.language = language
        document.add_heading(xml_text(title), level=0)
        for label, value in project_values(data)[1:]:
            document.add_heading(xml_text(label), level=2)
            document.add_paragraph(xml_text(_moment_text(value)) or "—")
        _a4(document.add_section(), landscape=True)
        document.add_heading(_("Steps"), level=1)
        _docx_steps_table(document, data["steps"])
        laid_out = timeline.lay_out(data["steps"], data["prepared_at"].date())
        if laid_out.bars:
            document.add_heading(_("Timeline"), level=1)
            _docx_timeline_table(document, laid_out)
        document.add_heading(_("Stakeholders"), level=1)
        _docx_table(
            document,
            [_(label) for label in STAKEHOLDER_LABELS.values()],
            [[str(value) for value in stakeholder_values(item).values()] for item in data["stakeholders"]],
            widths_mm=[70, 35, 70, 20, 20, 30],
        )
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _moment_text(value: str | datetime) -> str:
    """Text as it is; an aware moment as "16 января 2027 г., 02:55" in its own zone."""
    return format_datetime(value, _MOMENT_FORMAT, rebase=False) if isinstance(value, datetime) else value


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
        values = reader_values(step)
        title_and_description = (values.pop("title"), values.pop("description"))
        values.update(
            starts_on=_formatted_day(values["starts_on"]),
            due_on=_formatted_day(values["due_on"]),
            progress="" if values["progress"] is None else str(values["progress"]),
        )
        rows.append([str(number), title_and_description, *values.values()])
    _docx_table(document, headers, rows, widths_mm=[8, 60, 28, 22, 22, 20, 14, 33, 33, 27])


def _docx_timeline_table(document, laid_out: timeline.Timeline) -> None:
    """The dated steps in the order of the map, with what they wait for and what is amiss."""
    headers = [_("No."), _("Step"), _("Start"), _("Due date"), _(WAITS_FOR_LABEL), _("Notes")]
    rows = []
    for bar in laid_out.bars:
        notes = [
            _("done") if bar.done else "",
            _("overdue") if bar.overdue else "",
            _("starts before a step it waits for is due") if bar.too_early else "",
        ]
        rows.append(
            [
                str(bar.number),
                xml_text(bar.title) or _("Untitled step"),
                _formatted_day(bar.starts_on),
                _formatted_day(bar.due_on),
                ", ".join(map(str, bar.waits_for)),
                "; ".join(filter(None, notes)),
            ]
        )
    _docx_table(document, headers, rows, widths_mm=[10, 85, 28, 28, 30, 86])
    if laid_out.undated:
        document.add_paragraph(
            xml_text(
                _("Without dates")
                + ": "
                + "; ".join(f"{number}. {title or _('Untitled step')}" for number, title in laid_out.undated)
            )
        )


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
    run = paragraph.add_run(xml_text(text))
    run.bold = bold
    run.font.size = Pt(9)


def _repeat_as_header(row) -> None:
    """A long table repeats its header row on every page (python-docx has no setting for it)."""
    header_flag = OxmlElement("w:tblHeader")
    header_flag.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(header_flag)
