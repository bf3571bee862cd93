"""Where a `next` parameter may send someone (only to a path on this site), and links for other devices."""

from urllib.parse import urlsplit

from flask import current_app, request, url_for

from roadmap.services import venue


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


def venue_origin() -> venue.JoinOrigin:
    """Where phones at the venue reach this server (see services/venue.py)."""
    config = current_app.config
    return venue.join_origin(
        config.get("PUBLIC_ORIGIN"), config.get("JOIN_HOST"), config["HOST"], config["PORT"], request.host_url
    )


def public_url(endpoint: str, **values) -> str:
    """A full link for a QR code, at the address phones at the venue reach."""
    return venue_origin().origin + url_for(endpoint, **values)
