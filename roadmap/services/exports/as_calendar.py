"""The iCalendar feed of a map's due dates: the only user of icalendar.

DTSTAMP and LAST-MODIFIED are UTC, as RFC 5545 requires; X-WR-TIMEZONE names the
training's zone, and a due date is an all-day DATE, the same day in any zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
from flask_babel import gettext as _

from roadmap.domain.vocabulary import STEP_STATUSES
from roadmap.models import Roadmap
from roadmap.services.exports.reading import in_language, map_for_reading, map_title
from roadmap.timeutil import utcnow


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
    stamp = (roadmap.updated_at or utcnow()).replace(tzinfo=UTC)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Roadmap//Road map due dates//RU")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-timezone", data["training"]["timezone"])
    # Subscribed calendars poll; these ask for an hour (Google decides for itself).
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    with in_language(language):
        calendar.add("x-wr-calname", map_title(data))
        calendar.add(
            "x-wr-caldesc",
            _(
                "Due dates of the road map of %(group)s, %(training)s",
                group=data["group"]["name"],
                training=data["training"]["title"],
            ),
        )
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
