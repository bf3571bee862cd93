"""Locale choice: Russian unless the person picked English."""
from flask import Flask, current_app, request, session

from roadmap.extensions import babel


def select_locale() -> str:
    chosen = session.get("lang") if _has_request() else None
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _has_request() -> bool:
    try:
        return request is not None and bool(request.environ)
    except RuntimeError:
        return False


def init_app(app: Flask) -> None:
    from roadmap import PROJECT_ROOT

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(PROJECT_ROOT / "roadmap" / "translations"))
    babel.init_app(app, locale_selector=select_locale)
