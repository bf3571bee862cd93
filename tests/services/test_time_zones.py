"""One moment, every place a person reads it: the history page, the PDF, the XLSX,
the DOCX and the calendar feed all say it in the training's time zone.

The app's clock is set to 2027-01-15 23:55 UTC (its CLOCK_OFFSET); the
change is logged through editing.apply and read back from the real downloads.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import docx
import icalendar
import openpyxl
import pymupdf
import pytest
from conftest import new_id

from roadmap.services import dashboard, editing, share_links, trainings

MOMENT = datetime(2027, 1, 15, 23, 55)  # naive UTC, as the database stores it


@pytest.fixture
def at_the_moment(app):
    app.config["CLOCK_OFFSET"] = MOMENT - datetime.now(UTC).replace(tzinfo=None)


def map_in_zone(world, zone_name: str):
    """A training in `zone_name` whose group's map got one step at MOMENT; a member's signed-in browser."""
    training = world.training()
    trainings.update_settings(training, zone_name, 0, 9)
    group = world.group(training)
    browser = world.app.test_client()
    joined = browser.post(f"/join/{training.join_code}", data={"display_name": "Вера", "group_id": group.id})
    assert joined.status_code == 302
    member = group.memberships[0].person
    editing.apply(
        {
            "op_id": new_id(),
            "roadmap_id": group.roadmap.id,
            "type": "step.add",
            "step_id": new_id(),
            "fields": {"title": "Опрос жителей", "due_on": "2027-01-15", "owner": {"member": member.id}},
        },
        actor=member,
    )
    return group, member, browser


def plain(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


@pytest.mark.parametrize(
    ("zone_name", "day", "clock"),
    [
        ("Europe/Moscow", "16 января 2027", "02:55"),
        ("Asia/Yekaterinburg", "16 января 2027", "04:55"),
        ("UTC", "15 января 2027", "23:55"),
    ],
)
def test_one_moment_reads_the_same_in_the_history_pdf_xlsx_docx_and_calendar(
    world, at_the_moment, zone_name, day, clock
):
    group, member, browser = map_in_zone(world, zone_name)
    maps = f"/maps/{group.roadmap.id}"
    wall_clock = datetime(2027, 1, 15, 23, 55, tzinfo=UTC).astimezone(ZoneInfo(zone_name))

    history = plain(browser.get(f"{maps}/history").get_data(as_text=True))
    assert re.search(rf'<time datetime="2027-01-15T23:55:[\d.]+Z">{day}, {clock}</time>', history), history

    with pymupdf.open(stream=browser.get(f"{maps}/export.pdf").data, filetype="pdf") as pdf:
        pdf_text = plain(" ".join(page.get_text() for page in pdf))
    assert f"«Дорожная карта» {day} г." in pdf_text

    project_sheet = openpyxl.load_workbook(io.BytesIO(browser.get(f"{maps}/export.xlsx").data))["Проект"]
    project_rows = {row[0]: row[1] for row in project_sheet.iter_rows(values_only=True)}
    changed_at = project_rows["Последнее изменение"]
    assert (changed_at.date(), changed_at.strftime("%H:%M")) == (wall_clock.date(), clock)
    assert project_rows["Подготовлено"].date() == wall_clock.date()
    assert project_rows["Часовой пояс"].startswith(f"{zone_name} (UTC")
    assert (
        project_sheet["B" + str(list(project_rows).index("Последнее изменение") + 1)].number_format
        == "DD.MM.YYYY HH:MM"
    )

    document = docx.Document(io.BytesIO(browser.get(f"{maps}/export.docx").data))
    paragraphs = [plain(paragraph.text) for paragraph in document.paragraphs]
    assert paragraphs[paragraphs.index("Последнее изменение") + 1] == f"{day}, {clock}"  # as the history says it
    assert paragraphs[paragraphs.index("Подготовлено") + 1].startswith(f"{day}, ")

    feed = share_links.share(group.roadmap, member, "calendar")
    calendar = icalendar.Calendar.from_ical(browser.get(f"/calendar/{share_links.link_token(feed)}.ics").data)
    assert str(calendar["X-WR-TIMEZONE"]) == zone_name
    [event] = calendar.walk("VEVENT")
    stamp = event.decoded("LAST-MODIFIED").astimezone(ZoneInfo(str(calendar["X-WR-TIMEZONE"])))
    assert (stamp.date(), stamp.strftime("%H:%M")) == (wall_clock.date(), clock)
    assert event.decoded("DTSTAMP") == event.decoded("LAST-MODIFIED")
    assert event.decoded("DTSTART") == date(2027, 1, 15)  # a due date is a day, the same in every zone


@pytest.mark.parametrize(("zone_name", "overdue"), [("Europe/Moscow", True), ("UTC", False)])
def test_a_step_due_yesterday_where_the_training_is_counts_as_overdue(world, at_the_moment, zone_name, overdue):
    group, _member, browser = map_in_zone(world, zone_name)  # due 15 January; it is 16 January in Moscow

    [card] = dashboard.training_summaries(group.training)
    editor_page = browser.get(f"/maps/{group.roadmap.id}").get_data(as_text=True)
    editor_data = json.loads(re.search(r'id="editor-data">(.*?)</script>', editor_page, re.S).group(1))

    assert bool(card["progress"]["overdue_ids"]) is overdue
    assert bool(editor_data["readiness"]["progress"]["overdue_ids"]) is overdue
