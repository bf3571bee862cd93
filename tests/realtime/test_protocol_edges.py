"""Edges of the protocol: focus field names, payloads the decoder could not read, and extra data on errors.

Schemas are checked directly; the error object is checked as the socket and the
HTTP API send it (Flask-SocketIO's and Flask's test clients, in-process).
"""

import pytest
from conftest import new_id

from roadmap.domain.errors import EditRejected
from roadmap.domain.messages import parse_message
from roadmap.domain.operations import parse_op
from roadmap.extensions import socketio
from roadmap.services import editing

CONFLICT = {"conflict": {"field": "title", "theirs": "Чистый двор", "revision": 7}}


def rejection(parse, *args) -> EditRejected:
    with pytest.raises(EditRejected) as rejected:
        parse(*args)
    return rejected.value


@pytest.mark.parametrize("field", ["títle", "назва", "ｔｉｔｌｅ", "ª", "ǅ", "title\u0301", "ſtatus", "due_оn"])
def test_a_focus_field_with_letters_outside_ascii_is_invalid(field):
    refused = rejection(parse_message, "focus", {"focus": {"field": field}})

    assert refused.code == "invalid_op" and "ASCII letters" in refused.detail


@pytest.mark.parametrize("field", ["_", "__", "x" * 41, "title1", "ti tle", "title\n", ""])
def test_a_focus_field_without_a_letter_or_with_other_characters_or_too_long_is_invalid(field):
    assert rejection(parse_message, "focus", {"focus": {"field": field}}).code == "invalid_op"


@pytest.mark.parametrize("field", ["title", "success_measure", "_private", "A" * 40, "x_"])
def test_a_focus_field_of_ascii_letters_and_underscores_is_accepted(field):
    assert parse_message("focus", {"focus": {"field": field}}) == {"focus": {"field": field}}


@pytest.mark.parametrize("kind", ["join", "catch_up", "leave", "focus", "watch", "dot", "api.join"])
def test_a_payload_the_decoder_could_not_read_is_invalid_with_the_reason(kind):
    from roadmap.domain.errors import Unreadable

    refused = rejection(parse_message, kind, Unreadable("an integer of more than 100 digits"))

    assert (refused.code, refused.detail) == ("invalid_op", "an integer of more than 100 digits")


def test_an_op_the_decoder_could_not_read_is_invalid_with_the_reason():
    from roadmap.domain.errors import Unreadable

    refused = rejection(parse_op, Unreadable("nested more than 100 levels deep"))

    assert (refused.code, refused.detail) == ("invalid_op", "nested more than 100 levels deep")


def test_a_rejection_carries_extra_data_into_its_error_object_after_code_message_and_detail():
    refused = EditRejected("too_long", "merged text over the limit", extra=CONFLICT)

    assert refused.error_object("Текст слишком длинный.") == {
        "code": "too_long",
        "message": "Текст слишком длинный.",
        "detail": "merged text over the limit",
        **CONFLICT,
    }


def test_a_rejection_without_extra_data_has_only_code_message_and_detail():
    assert EditRejected("too_long").error_object("Текст слишком длинный.") == {
        "code": "too_long",
        "message": "Текст слишком длинный.",
    }


@pytest.mark.parametrize("key", ["code", "message", "detail"])
def test_extra_data_cannot_replace_the_code_message_or_detail(key):
    with pytest.raises(ValueError):
        EditRejected("too_long", extra={key: "overridden"})


@pytest.fixture
def refusing_with_extra(monkeypatch):
    def refuse(payload, actor):
        raise EditRejected("step_deleted", extra=CONFLICT)

    monkeypatch.setattr(editing, "apply", refuse)


def test_the_socket_error_ack_carries_the_extra_data(app, world, group, marina, refusing_with_extra):
    client = socketio.test_client(app, auth={"token": world.token(marina)})

    ack = client.emit("op", {"op_id": new_id(), "roadmap_id": group.roadmap.id}, callback=True)

    assert ack == {"ok": False, "error": {"code": "step_deleted", "message": "Этот шаг удалён.", **CONFLICT}}
    client.disconnect()


def test_the_http_api_error_carries_the_extra_data(client, world, group, marina, refusing_with_extra):
    response = client.post(
        f"/api/maps/{group.roadmap.id}/ops",
        json={"op_id": new_id()},
        headers={"Authorization": f"Bearer {world.token(marina)}"},
    )

    assert response.status_code == 422
    assert response.get_json() == {
        "ok": False,
        "error": {"code": "step_deleted", "message": "Этот шаг удалён.", **CONFLICT},
    }
