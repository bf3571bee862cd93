"""Time helpers: the database stores naive UTC datetimes."""
from datetime import datetime, timedelta, timezone

_offset = timedelta(0)


def set_clock_offset(days: float) -> None:
    """Shift the app's clock (Config.CLOCK_OFFSET_DAYS); zero in normal use."""
    global _offset
    _offset = timedelta(days=days)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None) + _offset
