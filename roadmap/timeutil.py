"""Time helpers: the database stores naive UTC datetimes."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import current_app

DEFAULT_ZONE = "Europe/Moscow"


def utcnow() -> datetime:
    """Now on the current app's clock: the real time plus its CLOCK_OFFSET (zero but in tests and
    demos). Code outside an app context pushes its app's, as the background loops do."""
    return datetime.now(UTC).replace(tzinfo=None) + current_app.config["CLOCK_OFFSET"]


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone `name`, or Europe/Moscow when it is empty or unknown."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def local(moment: datetime, zone_name: str | None) -> datetime:
    """A stored (naive UTC) moment as an aware datetime in the zone `zone_name`."""
    return moment.replace(tzinfo=UTC).astimezone(zone(zone_name))


def local_today(zone_name: str | None) -> date:
    """Today's date where the training is."""
    return local(utcnow(), zone_name).date()


def is_known_zone(name: str) -> bool:
    return name in available_timezones()
