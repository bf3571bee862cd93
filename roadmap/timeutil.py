"""Time helpers: the database stores naive UTC datetimes."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_ZONE = "Europe/Moscow"

_offset = timedelta(0)


def set_clock_offset(days: float) -> None:
    """Shift the app's clock (Config.CLOCK_OFFSET_DAYS); zero in normal use."""
    global _offset
    _offset = timedelta(days=days)


def clock_offset_days() -> float:
    """The shift set_clock_offset made, for a worker process to take the same clock."""
    return _offset / timedelta(days=1)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None) + _offset


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone `name`, or Europe/Moscow when it is empty or unknown."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def local(moment: datetime, zone_name: str | None) -> datetime:
    """A stored (naive UTC) moment as an aware datetime in the zone `zone_name`."""
    return moment.replace(tzinfo=timezone.utc).astimezone(zone(zone_name))


def local_today(zone_name: str | None) -> date:
    """Today's date where the training is."""
    return local(utcnow(), zone_name).date()


def is_known_zone(name: str) -> bool:
    return name in available_timezones()
