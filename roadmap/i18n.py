"""Locale choice: Russian unless the person picked English."""

from flask import Flask, current_app, g, request, session
from flask_babel import refresh

from roadmap.extensions import babel


def select_locale() -> str:
    chosen = session.get("lang") if _has_request() else None
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    """The zone of the training whose pages, exports or mails are being made (see show_times_in)."""
    return g.get("timezone") or current_app.config["BABEL_DEFAULT_TIMEZONE"]


def show_times_in(zone: str) -> None:
    """From here on, Flask-Babel's format_datetime/format_time show times in `zone` (an IANA name)."""
    g.timezone = zone
    refresh()


def _has_request() -> bool:
    try:
        return request is not None and bool(request.environ)
    except RuntimeError:
        return False


def init_app(app: Flask) -> None:
    from roadmap import PROJECT_ROOT

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(PROJECT_ROOT / "roadmap" / "translations"))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
