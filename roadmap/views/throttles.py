"""How often the server makes a file for someone: exports per signed-in person, a calendar feed
per link. Both are counted before the work, so parallel requests cannot slip past the limit."""

from __future__ import annotations

import math
import time

from flask import current_app, jsonify, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address
from flask_login import current_user

from roadmap.extensions import limiter
from roadmap.services.sign_in_links import token_hash

TOO_MANY_DOWNLOADS = _l("You have downloaded many files in a short time. Wait a minute and try again.")
CALENDAR_TOO_OFTEN = _l("This calendar has been asked for too often. Try again in a minute.")


def person_or_address() -> str:
    """Whom a download counts against: the signed-in person on any device and network,
    else the client address."""
    if current_user.is_authenticated:
        return f"person:{current_user.id}"
    return get_remote_address()


def calendar_link() -> str:
    # The hash, so the rate-limit storage (Redis) holds no secret either.
    return "calendar:" + token_hash(request.view_args.get("calendar_token", ""))


def _answer_too_many(message):
    """A 429 that says in the reader's language what happened and when to try again; JSON to a client
    that asks for JSON. Flask-Limiter embeds it in the RateLimitExceeded it raises."""

    def answer(request_limit: RequestLimit):
        text = str(message)
        if request.accept_mimetypes.accept_json and not request.accept_mimetypes.accept_html:
            response = make_response(jsonify({"ok": False, "error": {"code": "rate_limited", "message": text}}), 429)
        else:
            roadmap_id = (request.view_args or {}).get("roadmap_id")
            back_url = url_for("alumni.share", roadmap_id=roadmap_id) if roadmap_id else None
            response = make_response(
                render_template(
                    "errors/too_many.html", heading=_("Too many downloads"), message=text, back_url=back_url
                ),
                429,
            )
        response.headers["Retry-After"] = str(_seconds_until_reset(request_limit))
        return response

    return answer


# One count for every format: what costs is making the file, whichever it is.
throttled_export = limiter.shared_limit(
    lambda: current_app.config["EXPORT_RATE_LIMIT"],
    scope="exports",
    key_func=person_or_address,
    on_breach=_answer_too_many(TOO_MANY_DOWNLOADS),
)
throttled_calendar_feed = limiter.limit(
    lambda: current_app.config["CALENDAR_FEED_RATE_LIMIT"],
    key_func=calendar_link,
    on_breach=_answer_too_many(CALENDAR_TOO_OFTEN),
)


def _seconds_until_reset(request_limit: RequestLimit) -> int:
    """Whole seconds until the window resets; the storage rounds its reset time up to a second,
    which could promise 61 seconds of a one-minute window."""
    window_seconds = request_limit.limit.get_expiry()
    return min(window_seconds, max(1, math.ceil(request_limit.reset_at - time.time())))
