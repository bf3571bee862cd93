"""Exports of a road map (print page, PDF, DOCX, XLSX, CSV, JSON, iCalendar) and importing one into a new group.

Every file is read back with the library that reads its format, so the tests
check what a reader gets, Russian text included.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import zipfile
from datetime import date, datetime

import docx
import icalendar
import openpyxl
import pymupdf
import pytest
from conftest import PASSWORD, PROJECT_ROOT, make_moderator, new_id
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from roadmap.extensions import db
from roadmap.models import Group, Roadmap, Stakeholder, Step
from roadmap.services import editing, exports
from roadmap.services.snapshots import snapshot
from roadmap.views.exports import describe

EXPORTS = ("print", "export.pdf", "export.docx", "export.xlsx", "export.csv", "export.json")


# --- the world -------------------------------------------------------------------------


@pytest.fixture
def moderator(app):
    return make_moderator("irina@example.org", "Ирина Соколова")


def edit(actor, group, op_type, **keys):
    return editing.apply({"op_id": new_id(), "roadmap_id": group.roadmap.id, "type": op_type, **keys}, actor=actor)


@pytest.fixture
def filled_group(group, marina, moderator):
    """Чистый двор: a map with every kind of owner, dates, statuses, progress and links."""
    for field, value in {
        "title": "Раздельный сбор на улице Садовой",
        "problem": "Во дворах домов 10–16 нет контейнеров для вторсырья.",
        "goal": "Запустить раздельный сбор пластика и бумаги к осени.",
        "territory": "Вологда, ул. Садовая, дворы домов 10–16",
        "expected_results": "Три площадки, 40% жителей сортируют отходы.",
    }.items():
        edit(moderator, group, "map.set", field=field, value=value)
    residents, council, company = new_id(), new_id(), new_id()
    edit(
        moderator,
        group,
        "stakeholder.add",
        stakeholder_id=residents,
        fields={
            "name": "Жители домов 10–16",
            "sector": "residents",
            "contact": "Совет дома, Анна",
            "interest": 4,
            "influence": 3,
            "engagement": "involve",
        },
    )
    edit(
        moderator,
        group,
        "stakeholder.add",
        stakeholder_id=council,
        fields={
            "name": "Управа Ленинского района",
            "sector": "administration",
            "contact": "отдел ЖКХ",
            "interest": 2,
            "influence": 5,
            "engagement": "consult",
        },
    )
    edit(
        moderator,
        group,
        "stakeholder.add",
        stakeholder_id=company,
        fields={
            "name": "Управляющая компания «Дом»",
            "sector": "business",
            "interest": 3,
            "influence": 4,
            "engagement": "collaborate",
        },
    )
    survey, approval, containers, party = new_id(), new_id(), new_id(), new_id()
    edit(
        moderator,
        group,
        "step.add",
        step_id=survey,
        fields={
            "title": "Опрос жителей",
            "description": "Анкета в подъездах и в чате дома.\nСрок сбора — неделя.",
            "owner": {"member": marina.id},
            "starts_on": "2027-05-01",
            "due_on": "2027-05-15",
            "status": "done",
            "progress": 100,
            "resources": "Распечатки анкет",
            "success_measure": "200 анкет",
        },
    )
    edit(
        moderator,
        group,
        "step.add",
        step_id=approval,
        fields={
            "title": "Согласовать площадки с управой",
            "owner": {"stakeholder": council},
            "starts_on": "2027-05-16",
            "due_on": "2027-06-30",
            "status": "in_progress",
            "progress": 40,
        },
    )
    edit(
        moderator,
        group,
        "step.add",
        step_id=containers,
        fields={
            "title": "Установить контейнеры",
            "description": "- три площадки\n- по два контейнера",
            "owner": {"text": "ООО «Экопункт»"},
            "due_on": "2027-08-01",
            "status": "blocked",
        },
    )
    edit(moderator, group, "step.add", step_id=party, fields={"title": "=Праздник двора", "status": "planned"})
    edit(moderator, group, "step.link", step_id=survey, stakeholder_id=residents)
    edit(moderator, group, "step.link", step_id=approval, stakeholder_id=council)
    edit(moderator, group, "step.link", step_id=approval, stakeholder_id=company)
    edit(moderator, group, "step.link", step_id=containers, stakeholder_id=company)
    edit(moderator, group, "step.depend", step_id=approval, predecessor_id=survey)
    edit(moderator, group, "step.depend", step_id=containers, predecessor_id=approval)
    db.session.expire_all()
    return group


@pytest.fixture
def new_browser(app):
    return lambda: app.test_client()


@pytest.fixture
def member_browser(new_browser, filled_group):
    """A participant of the group, joined through the real join form."""
    browser = new_browser()
    response = browser.post(
        f"/join/{filled_group.training.join_code}", data={"display_name": "Вера", "group_id": filled_group.id}
    )
    assert response.status_code == 302
    return browser


@pytest.fixture
def moderator_browser(new_browser, moderator):
    browser = new_browser()
    response = browser.post("/sign-in", data={"email": moderator.email, "password": PASSWORD})
    assert response.status_code == 302
    return browser


def export_url(group, export: str) -> str:
    return f"/maps/{group.roadmap.id}/{export}"


def download(browser, group, export: str):
    response = browser.get(export_url(group, export))
    assert response.status_code == 200, response.status_code
    return response


def plain(text: str) -> str:
    """Text with Babel's no-break spaces (as in "1 мая 2027 г.", "40 %") made plain."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def group_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Group))


def without_ids(document: dict) -> dict:
    """The document with its ids replaced by positions, so two exports of equal maps compare equal."""
    content = document["map"]
    stakeholder_index = {item["id"]: index for index, item in enumerate(content["stakeholders"])}
    step_index = {item["id"]: index for index, item in enumerate(content["steps"])}

    def owner(value):
        return {"stakeholder": stakeholder_index[value["stakeholder"]]} if value and "stakeholder" in value else value

    return {
        **document,
        "map": {
            **content,
            "stakeholders": [{**item, "id": None} for item in content["stakeholders"]],
            "steps": [{**item, "id": None, "owner": owner(item["owner"])} for item in content["steps"]],
            "links": [
                {"step": step_index[link["step"]], "stakeholder": stakeholder_index[link["stakeholder"]]}
                for link in content["links"]
            ],
            "dependencies": [
                {"step": step_index[pair["step"]], "after": step_index[pair["after"]]}
                for pair in content["dependencies"]
            ],
        },
    }


# --- the printable page and the PDF ----------------------------------------------------


def test_print_page_shows_the_project_the_steps_in_order_and_the_stakeholders(member_browser, filled_group):
    html = plain(download(member_browser, filled_group, "print").get_data(as_text=True))

    assert "<h1>Раздельный сбор на улице Садовой</h1>" in html
    assert "Школа городских героев, Вологда" in html
    assert "Чистый двор" in html
    assert "Во дворах домов 10–16 нет контейнеров для вторсырья." in html
    positions = [
        html.index(title)
        for title in ("Опрос жителей", "Согласовать площадки с управой", "Установить контейнеры", "=Праздник двора")
    ]
    assert positions == sorted(positions)
    assert "Марина" in html and "ООО «Экопункт»" in html  # a member's name and free text as owners
    assert "1 мая 2027 г." in html and "30 июн. 2027 г." in html  # dates in the reader's locale
    assert "Выполнен" in html and "В работе" in html  # statuses in the reader's language
    assert "40 %" in html
    assert "Управляющая компания «Дом»" in html and "отдел ЖКХ" in html


def test_print_page_has_a_print_button_script_and_links_to_every_format(member_browser, filled_group, artifacts):
    html = download(member_browser, filled_group, "print").get_data(as_text=True)
    (artifacts / "print.html").write_text(html)

    assert 'src="/static/js/print.js"' in html and "data-print" in html
    assert "<style" not in html and "style=" not in html and "onclick" not in html  # the CSP forbids them
    for export in EXPORTS[1:]:
        assert f'href="{export_url(filled_group, export)}"' in html


def test_pdf_is_one_a4_document_with_the_russian_text(member_browser, filled_group, artifacts):
    response = download(member_browser, filled_group, "export.pdf")
    (artifacts / "roadmap.pdf").write_bytes(response.data)

    assert response.mimetype == "application/pdf"
    with pymupdf.open(stream=response.data, filetype="pdf") as pdf:
        first_page = pdf[0]
        first_page.get_pixmap(dpi=100).save(artifacts / "roadmap-page-1.png")
        text = " ".join(page.get_text() for page in pdf)
        assert round(first_page.rect.width) == 595 and round(first_page.rect.height) == 842  # A4 in points
        assert pdf.metadata["title"] == "Раздельный сбор на улице Садовой"
    for words in (
        "Раздельный сбор на улице Садовой",
        "Опрос жителей",
        "Управа Ленинского района",
        "Марина",
        "Вологда",
        "Чистый двор",
        "Заинтересованные стороны",
    ):
        assert words in " ".join(text.split()), words
    assert "DOCX" not in text  # the screen toolbar with the download links is not printed


def test_print_page_of_an_empty_map_renders(new_browser, group):
    browser = new_browser()
    browser.post(f"/join/{group.training.join_code}", data={"display_name": "Вера", "group_id": group.id})

    assert browser.get(export_url(group, "print")).status_code == 200
    assert browser.get(export_url(group, "export.pdf")).status_code == 200


# --- DOCX, XLSX, CSV -------------------------------------------------------------------


def test_docx_has_the_project_and_tables_of_steps_and_stakeholders(member_browser, filled_group):
    document = docx.Document(io.BytesIO(download(member_browser, filled_group, "export.docx").data))

    paragraphs = [paragraph.text for paragraph in document.paragraphs]
    assert "Раздельный сбор на улице Садовой" in paragraphs
    assert "Запустить раздельный сбор пластика и бумаги к осени." in paragraphs
    steps_table, timeline_table, stakeholders_table = document.tables
    assert [cell.text for cell in timeline_table.rows[0].cells][:2] == ["№", "Шаг"]
    assert [cell.text for cell in steps_table.rows[0].cells][1:3] == ["Шаг", "Ответственный"]
    first_step = [cell.text for cell in steps_table.rows[1].cells]
    assert first_step[1].startswith("Опрос жителей\nАнкета в подъездах")
    assert first_step[2] == "Марина"
    assert plain(first_step[3]) == "1 мая 2027 г."
    assert [row.cells[0].text for row in stakeholders_table.rows[1:]] == [
        "Жители домов 10–16",
        "Управа Ленинского района",
        "Управляющая компания «Дом»",
    ]
    assert document.sections[0].page_width.mm == pytest.approx(210, abs=0.5)


def test_xlsx_has_steps_stakeholders_and_project_sheets_with_frozen_bold_headers_and_real_dates(
    member_browser, filled_group
):
    workbook = openpyxl.load_workbook(io.BytesIO(download(member_browser, filled_group, "export.xlsx").data))

    assert workbook.sheetnames[:2] == ["Шаги", "Заинтересованные стороны"] and len(workbook.sheetnames) == 3
    steps = workbook["Шаги"]
    assert steps.freeze_panes == "A2"
    assert all(cell.font.bold for cell in steps[1])
    header = [cell.value for cell in steps[1]]
    first_step = dict(zip(header, [cell.value for cell in steps[2]]))
    assert first_step["Шаг"] == "Опрос жителей"
    assert first_step["Ответственный"] == "Марина"
    assert first_step["Срок"] == datetime(2027, 5, 15)
    assert steps.cell(2, header.index("Срок") + 1).is_date
    stakeholders = workbook["Заинтересованные стороны"]
    assert stakeholders.freeze_panes == "A2"
    assert [row[0].value for row in stakeholders.iter_rows(min_row=2)] == [
        "Жители домов 10–16",
        "Управа Ленинского района",
        "Управляющая компания «Дом»",
    ]
    project_values = [row[1].value for row in workbook.worksheets[2].iter_rows()]
    assert "Вологда, ул. Садовая, дворы домов 10–16" in project_values and "Чистый двор" in project_values


# --- stakeholders whose sector, interest and influence are not chosen yet ---------------

UNSET_NAME = "Соседний торговый центр"


@pytest.fixture
def with_unset_stakeholder(filled_group, moderator):
    edit(moderator, filled_group, "stakeholder.add", stakeholder_id=new_id(), fields={"name": UNSET_NAME})
    db.session.expire_all()
    return filled_group


def test_xlsx_shows_unset_sector_interest_and_influence_as_empty_cells(member_browser, with_unset_stakeholder):
    workbook = openpyxl.load_workbook(io.BytesIO(download(member_browser, with_unset_stakeholder, "export.xlsx").data))

    rows = list(workbook["Заинтересованные стороны"].iter_rows(values_only=True))
    header, unset = rows[0], next(row for row in rows if row[0] == UNSET_NAME)
    shown = dict(zip(header, unset))
    assert [shown["Сектор"], shown["Интерес"], shown["Влияние"]] == [None, None, None]
    assert shown["Уровень участия"] == "Информирование"


def test_docx_and_print_page_show_unset_stakeholder_values_as_empty(member_browser, with_unset_stakeholder):
    document = docx.Document(io.BytesIO(download(member_browser, with_unset_stakeholder, "export.docx").data))
    row = next(row for row in document.tables[-1].rows if row.cells[0].text == UNSET_NAME)
    assert [cell.text for cell in row.cells][1:] == ["", "", "", "", "Информирование"]

    html = plain(download(member_browser, with_unset_stakeholder, "print").get_data(as_text=True))
    assert '<td class="sector"></td>' in html and '<td class="influence"></td>' in html


def test_json_keeps_unset_stakeholder_values_as_null_through_a_round_trip(
    app, world, with_unset_stakeholder, moderator
):
    exported = exports.document_of(with_unset_stakeholder.roadmap)
    unset = next(item for item in exported["map"]["stakeholders"] if item["name"] == UNSET_NAME)
    assert [unset["sector"], unset["interest"], unset["influence"]] == [None, None, None]
    copy = world.group(with_unset_stakeholder.training, name="Копия")

    result = exports.import_map(copy, moderator, "json", json.dumps(exported, ensure_ascii=False).encode())

    assert result.ok, result.problems
    db.session.expire_all()
    assert without_ids(exports.document_of(copy.roadmap)) == without_ids(exported)


def test_xlsx_keeps_text_that_looks_like_a_formula_as_text(member_browser, filled_group):
    workbook = openpyxl.load_workbook(io.BytesIO(download(member_browser, filled_group, "export.xlsx").data))

    cell = workbook["Шаги"]["B5"]
    assert cell.value == "=Праздник двора" and cell.data_type == "s"


def test_xlsx_sheets_are_named_in_the_readers_language(app, filled_group):
    with app.test_request_context():
        workbook = openpyxl.load_workbook(io.BytesIO(exports.xlsx_of(filled_group.roadmap, "en")))

    assert workbook.sheetnames[:2] == ["Steps", "Stakeholders"]


def csv_rows(raw_bytes: bytes, delimiter: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(raw_bytes.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def test_csv_in_russian_has_a_bom_semicolons_russian_headers_status_words_and_dates(member_browser, filled_group):
    response = download(member_browser, filled_group, "export.csv")

    assert response.data.startswith(b"\xef\xbb\xbf")
    assert response.data.decode("utf-8-sig").splitlines()[0] == (
        "Шаг;Описание;Ответственный;Начало;Срок;Статус;Выполнено, %;Нужные ресурсы;Как измерить успех;Кто участвует"
    )
    rows = csv_rows(response.data, ";")
    assert rows[0] == {
        "Шаг": "Опрос жителей",
        "Описание": "Анкета в подъездах и в чате дома.\nСрок сбора — неделя.",
        "Ответственный": "Марина",
        "Начало": "01.05.2027",
        "Срок": "15.05.2027",
        "Статус": "Выполнен",
        "Выполнено, %": "100",
        "Нужные ресурсы": "Распечатки анкет",
        "Как измерить успех": "200 анкет",
        "Кто участвует": "Жители домов 10–16",
    }
    assert rows[1]["Ответственный"] == "Управа Ленинского района"
    assert rows[1]["Кто участвует"] == "Управа Ленинского района; Управляющая компания «Дом»"
    assert [row["Статус"] for row in rows[1:]] == ["В работе", "Есть препятствия", "Запланирован"]


def test_csv_in_english_has_commas_english_headers_status_words_and_iso_dates(app, filled_group):
    with app.test_request_context():
        rows = csv_rows(exports.csv_of(filled_group.roadmap, "en"), ",")

    assert list(rows[0]) == [
        "Step",
        "Description",
        "Owner",
        "Start",
        "Due date",
        "Status",
        "Progress, %",
        "Resources needed",
        "How success is measured",
        "Stakeholders involved",
    ]
    assert (rows[0]["Due date"], rows[0]["Status"], rows[2]["Status"]) == ("2027-05-15", "Done", "Blocked")


def test_csv_puts_an_apostrophe_before_text_a_spreadsheet_would_run_as_a_formula(member_browser, filled_group):
    rows = csv_rows(download(member_browser, filled_group, "export.csv").data, ";")

    assert rows[2]["Описание"] == "'- три площадки\n- по два контейнера"
    assert rows[3]["Шаг"] == "'=Праздник двора"


def test_downloads_are_attachments_named_after_the_map(member_browser, filled_group):
    response = download(member_browser, filled_group, "export.docx")

    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%D0%A0%D0%B0%D0%B7%D0%B4%D0%B5%D0%BB%D1%8C%D0%BD%D1%8B%D0%B9" in disposition
    assert disposition.endswith(".docx")


def test_download_name_drops_characters_file_systems_refuse(app, group, moderator):
    edit(moderator, group, "map.set", field="title", value='Сквер: "план" / этап 1?')
    db.session.expire_all()

    assert exports.download_name(group.roadmap, "pdf") == "Сквер план этап 1.pdf"


# --- JSON and the round trips ----------------------------------------------------------


def test_json_is_a_versioned_document_of_the_whole_map(member_browser, filled_group):
    document = download(member_browser, filled_group, "export.json").get_json()

    assert document["format"] == "roadmap" and document["version"] == 1
    content = document["map"]
    assert content["title"] == "Раздельный сбор на улице Садовой" and content["theme"] == "waste_sorting"
    assert [step["title"] for step in content["steps"]][:2] == ["Опрос жителей", "Согласовать площадки с управой"]
    council = next(item["id"] for item in content["stakeholders"] if item["name"] == "Управа Ленинского района")
    assert content["steps"][1]["owner"] == {"stakeholder": council}
    assert content["steps"][0]["owner"] == {"text": "Марина"}  # members stay with their group
    assert len(content["links"]) == 4


def test_json_round_trip_through_a_new_group_gives_the_same_document(app, world, filled_group, moderator):
    exported = exports.document_of(filled_group.roadmap)
    copy = world.group(filled_group.training, name="Копия")

    result = exports.import_map(copy, moderator, "json", json.dumps(exported, ensure_ascii=False).encode())

    assert result.ok, result.problems
    db.session.expire_all()
    assert without_ids(exports.document_of(copy.roadmap)) == without_ids(exported)
    assert copy.roadmap.revision == result.ops_applied  # ordinary ops, each in the change log


@pytest.mark.parametrize("language", ["ru", "en"])
def test_csv_round_trip_through_a_new_group_gives_the_same_steps(app, world, filled_group, moderator, language):
    exported = exports.csv_of(filled_group.roadmap, language)
    copy = world.group(filled_group.training, name="Копия")

    result = exports.import_map(copy, moderator, "csv", exported)

    assert result.ok and not result.notices, (result.problems, result.notices)
    db.session.expire_all()
    assert exports.csv_of(copy.roadmap, language) == exported
    owners = [step["owner"] for step in exports.document_of(copy.roadmap)["map"]["steps"]]
    assert "stakeholder" in owners[1]  # a named stakeholder owner is that stakeholder again


def test_csv_as_a_russian_excel_saves_it_imports(app, world, training, moderator):
    saved = ("title;due_on;status;progress;owner\r\nОпрос жителей;15.05.2027;in_progress;50%;Совет дома\r\n").encode(
        "cp1251"
    )
    group = world.group(training, name="Из Excel")

    result = exports.import_map(group, moderator, "csv", saved)

    assert result.ok, result.problems
    step = exports.document_of(group.roadmap)["map"]["steps"][0]
    assert (step["title"], step["due_on"], step["progress"], step["owner"]) == (
        "Опрос жителей",
        "2027-05-15",
        50,
        {"text": "Совет дома"},
    )


def test_csv_without_a_bom_and_with_only_a_title_column_imports(app, world, training, moderator):
    group = world.group(training, name="Без BOM")

    result = exports.import_map(group, moderator, "csv", "title\nПервый шаг\n\nВторой шаг\n".encode())

    assert result.ok and [step["title"] for step in exports.document_of(group.roadmap)["map"]["steps"]] == [
        "Первый шаг",
        "Второй шаг",
    ]


RUSSIAN_SHEET = [
    ["№", "Шаг", "Ответственный", "Срок", "Статус"],
    ["1", "Опрос жителей", "Анна Петрова", "15.05.2027", "выполнен"],
    ["2", "Встреча с управой", "Совет дома", "01.06.2027", "В работе"],
    ["3", "Субботник во дворе", "", "12.06.27", "запланирован"],
    ["4", "Контейнеры для пластика", "ООО «Экопункт»", "", "есть препятствия"],
]
RUSSIAN_STEPS = [
    ("Опрос жителей", {"text": "Анна Петрова"}, "2027-05-15", "done"),
    ("Встреча с управой", {"text": "Совет дома"}, "2027-06-01", "in_progress"),
    ("Субботник во дворе", None, "2027-06-12", "planned"),
    ("Контейнеры для пластика", {"text": "ООО «Экопункт»"}, None, "blocked"),
]


def imported_steps(group) -> list[tuple]:
    db.session.expire_all()
    return [
        (step["title"], step["owner"], step["due_on"], step["status"])
        for step in exports.document_of(group.roadmap)["map"]["steps"]
    ]


def sheet_as_csv(rows: list[list], delimiter: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue()


def workbook_bytes(rows: list[list], first_row: int = 1, number_formats: dict | None = None) -> bytes:
    workbook = openpyxl.Workbook()
    for row_number, row in enumerate(rows, first_row):
        for column_number, value in enumerate(row, 1):
            cell = workbook.active.cell(row_number, column_number, value)
            cell.number_format = (number_formats or {}).get(column_number, cell.number_format)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251"])
@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_a_russian_spreadsheet_imports_in_each_encoding_and_delimiter(
    app, world, training, moderator, encoding, delimiter
):
    group = world.group(training, name="Из таблицы")

    result = exports.import_map(group, moderator, "csv", sheet_as_csv(RUSSIAN_SHEET, delimiter).encode(encoding))

    assert result.ok and not result.notices, (result.problems, result.notices)
    assert imported_steps(group) == RUSSIAN_STEPS


def test_an_english_spreadsheet_with_other_common_names_imports(app, world, training, moderator):
    sheet = [
        ["#", "Task", "Who", "Start date", "Deadline", "State", "Percent done", "Notes"],
        ["1", "Survey the residents", "Anna", "2027-05-01", "2027-05-15", "Completed", "100%", "door to door"],
    ]
    group = world.group(training, name="English")

    result = exports.import_map(group, moderator, "csv", sheet_as_csv(sheet, ",").encode())

    assert result.ok, result.problems
    step = exports.document_of(group.roadmap)["map"]["steps"][0]
    assert (
        step["title"],
        step["owner"],
        step["starts_on"],
        step["due_on"],
        step["status"],
        step["progress"],
        step["description"],
    ) == ("Survey the residents", {"text": "Anna"}, "2027-05-01", "2027-05-15", "done", 100, "door to door")


def test_unknown_and_repeated_columns_and_stray_cells_are_skipped_with_a_notice(app, world, training, moderator):
    sheet = "Шаг;Комментарий;Срок;Дата окончания\nОпрос;позвонить Анне;15.05.2027;20.05.2027;лишнее\n"
    group = world.group(training, name="С заметками")

    result = exports.import_map(group, moderator, "csv", sheet.encode())

    assert result.ok, result.problems
    assert [(notice.code, notice.number, notice.field) for notice in result.notices] == [
        ("ignored_column", 1, "Комментарий"),
        ("duplicate_column", 1, "Дата окончания"),
        ("extra_cells", 2, None),
    ]
    assert imported_steps(group) == [("Опрос", None, "2027-05-15", "planned")]


def test_a_notice_reads_as_row_column_and_what_was_skipped(app):
    notice = exports.ImportProblem("ignored_column", "row", 1, "Комментарий")

    with app.test_request_context(), force_locale("ru"):
        assert describe(notice) == "Строка 1: Комментарий: этот столбец пропущен"


def test_an_xlsx_with_a_title_above_the_table_excel_dates_and_percent_cells_imports(app, world, training, moderator):
    rows = [
        ["Дорожная карта «Чистый двор»"],
        [],
        ["№", "Шаг", "Начало", "Срок", "Статус", "Выполнено", "Кто участвует"],
        [1, "Опрос жителей", datetime(2027, 5, 1), 46522, "готово", 1, "Жители; Управа"],
        [2, "Субботник", None, "12.06.2027", "в работе", 0.5, "Жители"],
    ]
    raw_bytes = workbook_bytes(rows, first_row=2, number_formats={3: "DD.MM.YYYY", 6: "0%"})
    group = world.group(training, name="Из Excel")

    result = exports.import_map(group, moderator, "xlsx", raw_bytes)

    assert result.ok and not result.notices, (result.problems, result.notices)
    document = exports.document_of(group.roadmap)["map"]
    assert [
        (step["title"], step["starts_on"], step["due_on"], step["status"], step["progress"])
        for step in document["steps"]
    ] == [
        ("Опрос жителей", "2027-05-01", "2027-05-15", "done", 100),
        ("Субботник", None, "2027-06-12", "in_progress", 50),
    ]
    assert [item["name"] for item in document["stakeholders"]] == ["Жители", "Управа"]
    assert len(document["links"]) == 3


def test_xlsx_problems_name_the_row_as_the_sheet_numbers_it(app, world, training, moderator):
    rows = [["Шаг", "Срок", "Статус"], ["Опрос", "31.02.2027", "почти"]]
    group = world.group(training, name="С ошибкой")

    result = exports.import_map(group, moderator, "xlsx", workbook_bytes(rows, first_row=3))

    assert [(problem.number, problem.field, problem.code, problem.value) for problem in result.problems] == [
        (4, "Срок", "not_a_date", "31.02.2027"),
        (4, "Статус", "unknown_status", "почти"),
    ]
    assert group.roadmap.revision == 0


def test_an_xlsx_that_understates_its_size_still_imports_every_row(app, world, training, moderator):
    """Some programs write a wrong <dimension>; openpyxl's read-only mode would trust it."""
    written = zipfile.ZipFile(io.BytesIO(workbook_bytes([["Шаг"], ["Опрос"], ["Встреча"]])))
    understated = io.BytesIO()
    with zipfile.ZipFile(understated, "w") as archive:
        for member in written.infolist():
            content = written.read(member.filename)
            if member.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1"/>', content)
            archive.writestr(member, content)
    group = world.group(training, name="Из чужой программы")

    result = exports.import_map(group, moderator, "xlsx", understated.getvalue())

    assert result.ok and [title for title, *_rest in imported_steps(group)] == ["Опрос", "Встреча"]


@pytest.mark.parametrize("language", ["ru", "en"])
def test_xlsx_export_imports_back_as_the_same_steps(app, world, filled_group, moderator, language):
    with app.test_request_context():
        exported = exports.xlsx_of(filled_group.roadmap, language)
    copy = world.group(filled_group.training, name="Копия из Excel")

    result = exports.import_map(copy, moderator, "xlsx", exported)

    assert result.ok and not result.notices, (result.problems, result.notices)
    db.session.expire_all()
    with app.test_request_context():
        assert exports.csv_of(copy.roadmap, language) == exports.csv_of(filled_group.roadmap, language)
    assert (
        waits_for_by_title(copy)
        == waits_for_by_title(filled_group)
        == {
            "Согласовать площадки с управой": ["Опрос жителей"],
            "Установить контейнеры": ["Согласовать площадки с управой"],
        }
    )


def waits_for_by_title(group) -> dict[str, list[str]]:
    steps = snapshot(group.roadmap)["steps"]
    titles = {step["id"]: step["title"] for step in steps}
    return {step["title"]: [titles[id_] for id_ in step["depends_on"]] for step in steps if step["depends_on"]}


def test_a_spreadsheet_naming_a_step_number_it_does_not_have_is_refused_at_that_row(world, training, moderator):
    rows = "Шаг;Начинается после шага\r\nОпрос;\r\nПлощадки;1\r\nКонтейнеры;2, 7\r\n"
    result = exports.import_map(world.group(training, name="С ошибкой"), moderator, "csv", rows.encode("utf-8"))

    assert not result.ok
    assert [(problem.code, problem.number, problem.value) for problem in result.problems] == [
        ("no_such_step_number", 4, "7")
    ]


@pytest.mark.parametrize(
    "language, delimiter, header",
    [
        (
            "ru",
            ";",
            "Шаг;Описание;Ответственный;Начало;Срок;Статус;Выполнено, %;Нужные ресурсы;Как измерить успех;"
            "Кто участвует",
        ),
        (
            "en",
            ",",
            'Step,Description,Owner,Start,Due date,Status,"Progress, %",Resources needed,'
            "How success is measured,Stakeholders involved",
        ),
    ],
)
def test_csv_template_is_the_exports_header_and_imports_once_filled_in(
    moderator_browser, world, training, moderator, language, delimiter, header
):
    moderator_browser.post(f"/lang/{language}", data={"next": "/"})
    response = moderator_browser.get("/import/template.csv")
    assert response.status_code == 200 and response.headers["Content-Disposition"].startswith("attachment;")
    assert response.data.decode("utf-8-sig") == header + "\r\n"
    group = world.group(training, name="По шаблону")

    filled_in = response.data + delimiter.join(["Опрос", "", "Анна", "", "15.05.2027", "В работе"]).encode()
    result = exports.import_map(group, moderator, "csv", filled_in)

    assert result.ok, result.problems
    assert imported_steps(group) == [("Опрос", {"text": "Анна"}, "2027-05-15", "in_progress")]


def test_xlsx_template_has_the_steps_header_and_a_list_of_status_words(moderator_browser):
    response = moderator_browser.get("/import/template.xlsx")

    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert [cell.value for cell in sheet[1]][:6] == ["№", "Шаг", "Описание", "Ответственный", "Начало", "Срок"]
    assert sheet.max_row == 1 and sheet.freeze_panes == "A2"
    (status_choice,) = sheet.data_validations.dataValidation
    assert status_choice.formula1 == '"Запланирован,В работе,Выполнен,Есть препятствия"'
    assert str(status_choice.sqref) == "G2:G301"


def test_template_of_an_unknown_kind_is_not_found(moderator_browser):
    assert moderator_browser.get("/import/template.docx").status_code == 404


# --- import problems -------------------------------------------------------------------


def csv_involving(rows: int, stakeholders_per_row: int) -> str:
    """Steps that each involve a run of stakeholders, one name per line in the cell."""
    cells = ["\n".join(f"Сторона {first + n}" for n in range(stakeholders_per_row)) for first in range(rows)]
    return "title,stakeholders\n" + "".join(f'Шаг,"{cell}"\n' for cell in cells)


CSV_HEADER = "title,description,owner,starts_on,due_on,status,progress,resources,success_measure,stakeholders\n"
BROKEN_FILES = {
    "bad date": (
        "csv",
        CSV_HEADER + "Шаг 1,,,,2027-05-01,,,,,\nШаг 2,,,,,,,,,\nШаг 3,,,,2027-13-01,,,,,\n",
        [("row", 4, "due_on", "not_a_date", "2027-13-01")],
    ),
    "bad status and progress": (
        "csv",
        CSV_HEADER + "Шаг,,,,,почти,120,,,\n",
        [("row", 2, "status", "unknown_status", "почти"), ("row", 2, "progress", "not_a_percent", "120")],
    ),
    "date out of range": (
        "csv",
        "title,starts_on\nШаг,1812-09-07\n",
        [("row", 2, "starts_on", "date_out_of_range", "1812-09-07")],
    ),
    "title too long": ("csv", "title\n" + "Я" * 301 + "\n", [("row", 2, "title", "too_long", "Я" * 39 + "…")]),
    "control characters": ("csv", "title\nШаг\x07\n", [("row", 2, "title", "control_characters", "Шаг\ufffd")]),
    "no column of step titles": (
        "csv",
        "Примечание;Срок\nКупить краску;завтра\n",
        [("row", 1, None, "missing_title_column", None)],
    ),
    "a bad date the Russian way": (
        "csv",
        "Шаг;Срок;Начало\nОпрос;31.02.2027;15/05/27\nСубботник;1 мая;\n",
        [("row", 2, "Срок", "not_a_date", "31.02.2027"), ("row", 3, "Срок", "not_a_date", "1 мая")],
    ),
    "empty csv": ("csv", "\ufeff\r\n", [("file", None, None, "empty", None)]),
    "not json": ("json", "title,due_on\n", [("file", None, None, "not_json_at", None)]),
    "not utf-8 json": (
        "json",
        '{"format": "Дорожная карта"}'.encode("cp1251"),
        [("file", None, None, "not_utf8", None)],
    ),
    "json of something else": ("json", "[1, 2, 3]", [("file", None, None, "not_roadmap", None)]),
    "json from a newer version": (
        "json",
        '{"format": "roadmap", "version": 2, "map": {}}',
        [("file", None, None, "newer_version", None)],
    ),
    "json of the wrong shape": (
        "json",
        '{"format": "roadmap", "version": 1, "map": {"steps": {"a": 1}, "stakeholders": [1], "links": "all"}}',
        [
            ("map", None, "steps", "expected_list", None),
            ("map", None, "links", "expected_list", None),
            ("stakeholder", 1, None, "expected_object", None),
        ],
    ),
    "json with bad values": (
        "json",
        json.dumps(
            {
                "format": "roadmap",
                "version": 1,
                "map": {
                    "theme": "parks",
                    "colour": "green",
                    "stakeholders": [{"id": "s", "name": "Жители", "interest": 7}, {"id": "s", "name": "Управа"}],
                    "steps": [
                        {"id": "a", "title": "Шаг", "owner": {"stakeholder": "nobody"}, "progress": 12.5},
                        {"id": "b", "owner": {"member": 3}, "due_on": "2027-02-30"},
                    ],
                    "links": [{"step": "a", "stakeholder": "s"}, {"step": "zzz", "stakeholder": "s"}],
                },
            }
        ),
        [
            ("map", None, "theme", "not_one_of", "parks"),
            ("map", None, "colour", "unknown_field", None),
            ("stakeholder", 1, "interest", "not_a_score", "7"),
            ("stakeholder", 2, "id", "duplicate_id", "s"),
            ("step", 1, "owner", "unknown_stakeholder", "nobody"),
            ("step", 1, "progress", "not_a_percent", "12.5"),
            ("step", 2, "owner", "member_owner", None),
            ("step", 2, "due_on", "not_a_date", "2027-02-30"),
            ("link", 2, "step", "unknown_step", "zzz"),
        ],
    ),
    "json nested too deep": ("json", "[" * 100_000 + "]" * 100_000, [("file", None, None, "not_json", None)]),
    "json with a huge number": (
        "json",
        '{"format": "roadmap", "version": ' + "9" * 5000 + "}",
        [("file", None, None, "not_json", None)],
    ),
    "too many steps": ("csv", "title\n" + "шаг\n" * 301, [("file", None, None, "too_many", None)]),
    "too many links": (
        "csv",
        csv_involving(rows=120, stakeholders_per_row=10),  # 1200 links, 129 stakeholders
        [("file", None, "stakeholders", "too_many", None)],
    ),
    "too large": ("csv", "title\n" + "ш" * 300_000, [("file", None, None, "too_large", None)]),
    "empty json": ("json", "", [("file", None, None, "empty", None)]),
    "a zip named .csv": (
        "csv",
        b"PK\x03\x04\x14\x00\x08\x00\x98\x99\xff",  # 0x98 is neither UTF-8 nor cp1251
        [("file", None, None, "not_text", None)],
    ),
    "a csv named .xlsx": ("xlsx", "Шаг;Срок\nОпрос;15.05.2027\n", [("file", None, None, "not_xlsx", None)]),
}


@pytest.mark.parametrize("name", sorted(BROKEN_FILES))
def test_broken_import_files_are_reported_item_by_item_and_create_nothing(app, group, moderator, name):
    kind, raw, expected = BROKEN_FILES[name]
    raw_bytes = raw.encode("utf-8") if isinstance(raw, str) else raw

    result = exports.import_map(group, moderator, kind, raw_bytes)

    found = [(problem.place, problem.number, problem.field, problem.code, problem.value) for problem in result.problems]
    for place, number, field, code, value in expected:
        assert any(
            found_item[:4] == (place, number, field, code) and (value is None or found_item[4] == value)
            for found_item in found
        ), (name, found)
    assert not result.ok and result.content is None
    db.session.expire_all()
    assert group.roadmap.revision == 0


def test_a_problem_reads_as_row_field_message_and_value(app):
    problem = exports.ImportProblem("not_a_date", "row", 4, "due_on", "2027-13-01")

    with app.test_request_context(), force_locale("en"):
        assert describe(problem) == "Row 4: due_on: not a date (2027-13-01)"


def test_import_into_a_map_that_has_content_changes_nothing(app, filled_group, moderator):
    revision = filled_group.roadmap.revision

    result = exports.import_map(filled_group, moderator, "csv", "title\nЕщё шаг\n".encode())

    assert [problem.code for problem in result.problems] == ["map_not_empty"]
    db.session.expire_all()
    assert filled_group.roadmap.revision == revision


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["json", "csv", "xlsx"]),
    raw_bytes=st.one_of(
        st.binary(max_size=400),
        st.text(max_size=400).map(lambda text: text.encode("utf-8")),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda children: (
                st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
            ),
            max_leaves=20,
        ).map(lambda value: json.dumps({"format": "roadmap", "version": 1, "map": value}).encode()),
        st.lists(st.lists(st.text(max_size=12), max_size=5), max_size=5).map(
            lambda rows: "\n".join([",".join(exports.STEP_LABELS)] + [",".join(row) for row in rows]).encode()
        ),
        st.lists(
            st.lists(
                st.one_of(
                    st.none(),
                    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12),
                    st.integers(-(10**7), 10**7),
                    st.floats(allow_nan=False, allow_infinity=False, width=32),
                    st.dates(date(1800, 1, 1), date(2300, 1, 1)),
                ),
                max_size=6,
            ),
            max_size=5,
        ).map(lambda rows: workbook_bytes([["№", "Шаг", "Срок", "Начало", "Статус", "Выполнено"]] + rows)),
    ),
)
def test_reading_any_bytes_gives_content_or_problems_never_an_exception(app, kind, raw_bytes):
    result = exports.check_import(kind, raw_bytes)

    assert (result.content is None) == bool(result.problems)
    with app.test_request_context():
        assert all(describe(problem) for problem in result.problems)


# --- the import page -------------------------------------------------------------------


def upload(browser, training, file_name: str, raw_bytes: bytes, name: str = "Сквер у библиотеки"):
    return browser.post(
        f"/moderate/trainings/{training.id}/import",
        data={
            "name": name,
            "file": (io.BytesIO(raw_bytes), file_name),
        },
        content_type="multipart/form-data",
    )


def test_import_page_creates_a_group_with_the_imported_map(moderator_browser, filled_group):
    exported = exports.json_of(filled_group.roadmap)
    training = filled_group.training

    response = upload(moderator_browser, training, "карта.json", exported, name="Копия двора")

    assert response.status_code == 302 and response.headers["Location"].endswith(f"/moderate/trainings/{training.id}")
    copy = db.session.scalar(select(Group).where(Group.name == "Копия двора"))
    assert copy.training_id == training.id and copy.theme == "waste_sorting"
    assert without_ids(exports.document_of(copy.roadmap)) == without_ids(json.loads(exported))


def test_import_page_lists_the_problems_row_by_row_and_creates_nothing(moderator_browser, training):
    broken = (CSV_HEADER + "Шаг 1,,,,2027-05-01,,,,,\nШаг 2,,,,,,,,,\nШаг 3,,,,2027-13-01,,,,,\n").encode()
    groups_before = group_count()
    moderator_browser.post("/lang/en", data={"next": "/"})

    response = upload(moderator_browser, training, "steps.csv", broken)

    assert response.status_code == 200
    assert "Row 4: due_on: not a date (2027-13-01)" in response.get_data(as_text=True)
    assert group_count() == groups_before
    assert db.session.scalar(select(func.count()).select_from(Step)) == 0


def test_import_page_shows_a_lone_surrogate_in_a_title_as_a_marker_not_a_server_error(moderator_browser, training):
    document = {"format": "roadmap", "version": 1, "map": {"title": "Сквер \ud800 у библиотеки"}}
    moderator_browser.post("/lang/en", data={"next": "/"})

    response = upload(moderator_browser, training, "map.json", json.dumps(document).encode())

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert (
        f"The map: title: {exports.PROBLEMS['control_characters']} (Сквер {exports.UNSHOWABLE_MARKER} у библиотеки)"
        in page
    )


def test_import_page_never_echoes_a_nul_from_a_csv_and_shortens_long_values(moderator_browser, training):
    broken = (CSV_HEADER + "Шаг 1,,,,2027-13-01\x00" + "9" * 200 + ",,,,,\n").encode()
    moderator_browser.post("/lang/en", data={"next": "/"})

    response = upload(moderator_browser, training, "steps.csv", broken)

    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "\x00" not in page and "&#0;" not in page
    assert f"Row 2: due_on: not a date (2027-13-01{exports.UNSHOWABLE_MARKER}" + "9" * 28 + "…)" in page


def test_import_page_refuses_other_file_types(moderator_browser, training):
    groups_before = group_count()

    response = upload(moderator_browser, training, "map.docx", b"PK\x03\x04")

    assert response.status_code == 200 and group_count() == groups_before


def test_import_page_is_only_for_the_trainings_moderator(new_browser, world, training, filled_group):
    stranger = make_moderator("oleg@example.org", "Олег Дмитриев")
    other_moderator = new_browser()
    other_moderator.post("/sign-in", data={"email": stranger.email, "password": PASSWORD})
    participant = new_browser()
    participant.post(f"/join/{training.join_code}", data={"display_name": "Вера", "group_id": filled_group.id})
    url = f"/moderate/trainings/{training.id}/import"
    groups_before = group_count()

    assert other_moderator.get(url).status_code == 404
    assert upload(other_moderator, training, "map.csv", b"title\nx\n").status_code == 404
    assert participant.get(url).status_code in (403, 404)
    anonymous = new_browser().get(url)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].split("?")[0] in ("/sign-in", "/")
    assert group_count() == groups_before


def test_import_page_renders_for_the_moderator(moderator_browser, training):
    response = moderator_browser.get(f"/moderate/trainings/{training.id}/import")

    assert response.status_code == 200 and 'enctype="multipart/form-data"' in response.get_data(as_text=True)


def test_import_page_lists_the_accepted_columns_and_status_words_and_links_the_templates(moderator_browser, training):
    page = moderator_browser.get(f"/moderate/trainings/{training.id}/import").get_data(as_text=True)

    assert "Что сделать" in page and "Мероприятие" in page and "Дата окончания" in page and "Due date" in page
    assert "Есть препятствия" in page and "готово" in page.lower()
    assert 'href="/import/template.xlsx"' in page and 'href="/import/template.csv"' in page


def test_import_page_says_what_it_skipped_after_creating_the_group(moderator_browser, training):
    response = upload(moderator_browser, training, "шаги.csv", "Шаг;Комментарий\nОпрос;позвонить\n".encode("cp1251"))
    assert response.status_code == 302

    dashboard = moderator_browser.get(response.headers["Location"]).get_data(as_text=True)

    assert "создана из файла" in dashboard and "Строка 1: Комментарий: этот столбец пропущен" in dashboard


# --- who may export --------------------------------------------------------------------


@pytest.mark.parametrize("export", EXPORTS)
def test_exports_are_not_found_for_people_outside_the_group(new_browser, world, filled_group, export):
    sibling = world.group(filled_group.training, name="Сквер у библиотеки")
    outsider = new_browser()
    outsider.post(f"/join/{filled_group.training.join_code}", data={"display_name": "Пётр", "group_id": sibling.id})
    stranger = make_moderator("oleg@example.org", "Олег Дмитриев")
    other_moderator = new_browser()
    other_moderator.post("/sign-in", data={"email": stranger.email, "password": PASSWORD})

    assert outsider.get(export_url(filled_group, export)).status_code == 404
    assert other_moderator.get(export_url(filled_group, export)).status_code == 404
    assert new_browser().get(export_url(filled_group, export)).status_code == 302
    assert outsider.get(f"/maps/999999/{export}").status_code == 404


@pytest.mark.parametrize("export", EXPORTS)
def test_the_trainings_moderator_may_export(moderator_browser, filled_group, export):
    assert moderator_browser.get(export_url(filled_group, export)).status_code == 200


# --- the calendar ----------------------------------------------------------------------


def test_calendar_has_one_all_day_event_per_due_date_with_stable_uids(app, filled_group):
    with app.test_request_context():
        feed = exports.calendar_for(filled_group.roadmap)
        again = exports.calendar_for(filled_group.roadmap)

    calendar = icalendar.Calendar.from_ical(feed)
    assert calendar["X-WR-CALNAME"] == "Раздельный сбор на улице Садовой"
    events = calendar.walk("VEVENT")
    steps = exports.document_of(filled_group.roadmap)["map"]["steps"]
    assert [str(event["UID"]) for event in events] == [f"{step['id']}@roadmap" for step in steps if step["due_on"]]
    survey = events[0]
    assert str(survey["SUMMARY"]) == "Опрос жителей"
    assert survey.decoded("DTSTART") == date(2027, 5, 15) and survey.decoded("DTEND") == date(2027, 5, 16)
    assert "Анкета в подъездах" in survey["DESCRIPTION"] and "Марина" in survey["DESCRIPTION"]
    assert feed == again


def test_nothing_is_stored_by_an_export(member_browser, filled_group):
    before = (filled_group.roadmap.revision, db.session.scalar(select(func.count()).select_from(Stakeholder)))

    for export in EXPORTS:
        download(member_browser, filled_group, export)

    db.session.expire_all()
    after = (
        db.session.get(Roadmap, filled_group.roadmap.id).revision,
        db.session.scalar(select(func.count()).select_from(Stakeholder)),
    )
    assert after == before


# --- what serving pages loads ----------------------------------------------------------

LIBRARIES_AN_APP_LOADS = """
import sys
from roadmap import create_app
from roadmap.config import TestConfig
from roadmap.services import exports
instance = sys.argv[1]
create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/roadmap.db", "INSTANCE_PATH": instance})
print(" ".join(name for name in ("openpyxl", "docx", "weasyprint", "icalendar") if name in sys.modules))
"""


def test_an_app_loads_no_format_library_until_a_file_of_that_format_is_made(tmp_path):
    # A fresh interpreter: this one has loaded them all for the tests above.
    loaded = subprocess.run(
        [sys.executable, "-c", LIBRARIES_AN_APP_LOADS, str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == []
