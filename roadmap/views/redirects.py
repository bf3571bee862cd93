"""Where a `next` parameter may send someone: only to a path on this site."""
from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    """The target if it is a local path, else None.

    Browsers drop tabs and newlines and read a backslash as a slash, so
    "/\\t/evil.example" would leave the site: such targets are refused.
    """
    if not target or not target.startswith("/"):
        return None
    if any(char in target for char in "\\\t\r\n") or any(ord(char) < 32 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    return target
