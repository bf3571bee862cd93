"""The JSON decoding of everything clients send: Socket.IO packets and Flask request bodies.

It is the standard library's, except that JSON it cannot turn into values comes
back as an Unreadable marker instead of raising: an integer of more than 100
digits (Python refuses over 4,300, and no number the app reads is near 100)
or nesting more than 100 levels deep (the decoder recurses, and would raise
RecursionError somewhere under 1,000). Every schema refuses the marker as
invalid_op, so the client gets an answer instead of a dropped packet or a 500.
Text that is not JSON still raises ValueError.

Socket.IO takes it as its `json` module (`dumps`, `loads`); Flask as `app.json`.
"""

from __future__ import annotations

import json
import re

from flask.json.provider import DefaultJSONProvider

from roadmap.domain.errors import Unreadable

MAX_INTEGER_DIGITS = 100
MAX_NESTING = 100
TOO_LONG = f"an integer of more than {MAX_INTEGER_DIGITS} digits"
TOO_DEEP = f"nested more than {MAX_NESTING} levels deep"
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(r"[\[\]{}]")
# A Socket.IO event is an array led by its name: ["op", {...}].
_LEADING_STRING = re.compile(r'\s*\[\s*("[^"\\]*(?:\\.[^"\\]*)*")\s*[,\]]')

dumps = json.dumps


class _IntegerTooLong(Exception):
    pass


def loads(text, **kwargs):
    """json.loads, with Unreadable for JSON too deep or with too long an integer.

    An array led by a string keeps that string, followed by the marker, so a
    Socket.IO event keeps its name and its handler can answer the ack.
    """
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    if _nested_too_deep(text):
        return _unreadable(text, TOO_DEEP)
    try:
        return json.loads(text, **{"parse_int": _bounded_int, **kwargs})
    except _IntegerTooLong:
        return _unreadable(text, TOO_LONG)


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _IntegerTooLong
    return int(digits)


def _nested_too_deep(text: str) -> bool:
    if text.count("[") + text.count("{") <= MAX_NESTING:
        return False  # too few brackets to nest that deep: every payload the app expects
    depth = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_NESTING:
            return True
    return False


def _unreadable(text: str, reason: str):
    leading = _LEADING_STRING.match(text)
    if leading is None:
        return Unreadable(reason)
    try:
        return [json.loads(leading.group(1)), Unreadable(reason)]
    except ValueError:
        return Unreadable(reason)


class TolerantJSONProvider(DefaultJSONProvider):
    """Flask's JSON, decoding with loads() above (request.get_json and the session cookie)."""

    def loads(self, s, **kwargs):
        return loads(s, **kwargs)
