"""The calendar feed as a calendar app reads it: a link back to the map, the owner, a
reminder the day before, all-day dates, the training's zone, and no e-mail addresses."""

from __future__ import annotations

from datetime import date, timedelta

import icalendar
import pytest
from conftest import new_id, secure_account

from roadmap.services import editing, share_links


@pytest.fixture
def feed(app, group, marina):
    """The feed of a map with an open step Marina owns and a done one; Marina has an e-mail."""
    secure_account(marina, "marina@example.org", "correct horse battery")
    for title, status, due_on in (
        ("Опрос жителей", "in_progress", "2027-05-15"),
        ("Собрать подписи", "done", "2027-05-01"),
    ):
        editing.apply(
            {
                "op_id": new_id(),
                "roadmap_id": group.roadmap.id,
                "type": "step.add",
                "step_id": new_id(),
                "fields": {"title": title, "status": status, "due_on": due_on, "owner": {"member": marina.id}},
            },
            actor=marina,
        )
    feed = share_links.share(group.roadmap, marina, "calendar")
    response = app.test_client().get(f"/calendar/{share_links.link_token(feed)}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    return response.data


def events_by_title(calendar: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(event["SUMMARY"]): event for event in calendar.walk("VEVENT")}


def test_each_event_links_back_to_the_map_and_names_the_owner(feed, group):
    survey = events_by_title(icalendar.Calendar.from_ical(feed))["Опрос жителей"]

    map_url = f"http://localhost/maps/{group.roadmap.id}"
    assert str(survey["URL"]) == map_url
    assert f"Дорожная карта: {map_url}" in survey["DESCRIPTION"]
    assert "Ответственный: Марина" in survey["DESCRIPTION"]


def test_owners_e_mail_is_not_published_as_attendee_or_organizer(feed):
    assert b"ATTENDEE" not in feed and b"ORGANIZER" not in feed and b"marina@example.org" not in feed


def test_an_open_step_reminds_the_day_before_and_a_done_one_does_not(feed):
    events = events_by_title(icalendar.Calendar.from_ical(feed))

    [alarm] = events["Опрос жителей"].walk("VALARM")
    assert alarm.decoded("TRIGGER") == timedelta(days=-1)
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert str(alarm["DESCRIPTION"]) == "Завтра срок: Опрос жителей"
    assert events["Собрать подписи"].walk("VALARM") == []


def test_a_due_date_is_an_all_day_event_and_the_calendar_names_its_zone_and_map(feed, group):
    calendar = icalendar.Calendar.from_ical(feed)
    survey = events_by_title(calendar)["Опрос жителей"]

    assert "DTSTART;VALUE=DATE:20270515" in feed.decode()
    assert survey.decoded("DTSTART") == date(2027, 5, 15) and survey.decoded("DTEND") == date(2027, 5, 16)
    assert str(survey["TRANSP"]) == "TRANSPARENT"
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/Moscow"
    assert str(calendar["X-WR-CALNAME"]) == group.name  # the map has no title yet
    assert "Чистый двор" in str(calendar["X-WR-CALDESC"])
