"""The one tolerant JSON decoder, used for Socket.IO packets and Flask request bodies alike."""

import json

import pytest

from roadmap import tolerant_json
from roadmap.domain.errors import Unreadable

TOO_LONG = "an integer of more than 100 digits"
TOO_DEEP = "nested more than 100 levels deep"


def unreadable_reason(decoded) -> str | None:
    return decoded.reason if isinstance(decoded, Unreadable) else None


@pytest.mark.parametrize(
    "text",
    [
        '{"op_id": "abcdefgh", "roadmap_id": 12, "value": "Двор \\ud83d\\ude00", "base": null}',
        '[1, 2.5, -3e2, true, false, null, "x", {"a": [{}]}]',
        '"\\ud800"',
        "12",
        "NaN",
        "[" * 100 + "]" * 100,
        '"' + "[" * 5000 + '"',
        '["' + "]" * 300 + '", {"a": "[[[[[[{{{"}]',
        "-" + "9" * 100,
    ],
)
def test_json_within_the_limits_decodes_as_the_standard_library_does(text):
    assert json.dumps(tolerant_json.loads(text)) == json.dumps(json.loads(text))


@pytest.mark.parametrize("text", ["9" * 101, "-" + "9" * 101, "1" * 5_000, '{"roadmap_id": ' + "7" * 4_301 + "}"])
def test_an_integer_of_more_than_100_digits_makes_the_whole_value_unreadable(text):
    assert unreadable_reason(tolerant_json.loads(text)) == TOO_LONG


@pytest.mark.parametrize(
    "text",
    [
        "[" * 101 + "]" * 101,
        '{"a":' * 5_000 + "1" + "}" * 5_000,
        "[" * 50_000 + "]" * 50_000,
        '{"value": ' + "[" * 900 + "]" * 900 + "}",
    ],
)
def test_nesting_deeper_than_100_levels_makes_the_whole_value_unreadable(text):
    assert unreadable_reason(tolerant_json.loads(text)) == TOO_DEEP


@pytest.mark.parametrize("unreadable", ["9" * 5_000, "[" * 5_000 + "]" * 5_000])
def test_an_array_led_by_a_string_keeps_it_so_a_socketio_event_keeps_its_name(unreadable):
    event, payload = tolerant_json.loads(f'["op", {{"roadmap_id": {unreadable}}}, "more"]')

    assert event == "op" and isinstance(payload, Unreadable)


@pytest.mark.parametrize("text", ["", "{", '{"a": }', "[1,]", '2["op"]', "'x'", '"\\x"'])
def test_json_that_is_not_json_still_raises_value_error(text):
    with pytest.raises(ValueError):
        tolerant_json.loads(text)


def test_bytes_are_read_as_utf_8():
    assert tolerant_json.loads('{"name": "Марина"}'.encode()) == {"name": "Марина"}
    assert isinstance(tolerant_json.loads(b"[" * 200 + b"]" * 200), Unreadable)


def test_the_app_decodes_request_bodies_with_it(app):
    assert unreadable_reason(app.json.loads("[" * 5_000 + "]" * 5_000)) == TOO_DEEP
    assert app.json.loads('{"a": [1]}') == {"a": [1]}
