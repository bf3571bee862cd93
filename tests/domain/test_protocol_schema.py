"""The one declared schema: the document and the browser take it from the declarations, and a
payload with several faults gets the error docs/protocol.md ranks first, whatever its key order."""

import pytest

from roadmap.domain.errors import EditRejected
from roadmap.domain.messages import parse_message
from roadmap.domain.operations import STAKEHOLDER_DEFAULTS, STEP_DEFAULTS, browser_field_schema, parse_op
from roadmap.protocol_schema import PROTOCOL_DOCUMENT, document_with_schema

ENVELOPE = {"op_id": "op-00000001", "roadmap_id": 1}


def test_the_protocol_document_holds_the_schema_the_declarations_make():
    document = PROTOCOL_DOCUMENT.read_text(encoding="utf-8")

    assert document == document_with_schema(document), "run: python -m roadmap.protocol_schema"


def test_the_browser_gets_the_text_fields_and_the_defaults_of_a_new_step_and_stakeholder():
    schema = browser_field_schema()

    assert schema["text_fields"] == {
        "map": ["title", "problem", "goal", "territory", "expected_results"],
        "step": ["title", "description", "resources", "success_measure"],
        "stakeholder": ["name", "contact"],
    }
    assert schema["defaults"] == {"step": STEP_DEFAULTS, "stakeholder": STAKEHOLDER_DEFAULTS}


def rejection_code(payload) -> str:
    with pytest.raises(EditRejected) as rejected:
        parse_op(payload)
    return rejected.value.code


@pytest.mark.parametrize(
    "faults, code",
    [
        pytest.param({"value": "т" * 301, "step_id": "bad"}, "invalid_op", id="a bad id before a value"),
        pytest.param({"field": "nope", "step_id": "bad"}, "invalid_op", id="a bad id before a field"),
        pytest.param({"after_others": 1, "value": "т" * 301}, "too_long", id="the value before after_others"),
        pytest.param({"surplus": 1, "step_id": "bad"}, "invalid_op", id="an unexpected key before a bad id"),
        pytest.param({"base": 5, "field": "nope"}, "invalid_field", id="the field before its base"),
    ],
)
@pytest.mark.parametrize("reversed_keys", [False, True], ids=["faults last", "faults first"])
def test_the_first_fault_in_the_documented_order_answers_whatever_the_key_order(faults, code, reversed_keys):
    payload = {**ENVELOPE, "type": "step.set", "step_id": "step-0001", "field": "title", "value": "Шаг", **faults}
    if reversed_keys:
        payload = dict(reversed(payload.items()))

    assert rejection_code(payload) == code


@pytest.mark.parametrize(
    "fields, code",
    [
        pytest.param({"due_on": "1899-12-31", "nope": 1}, "invalid_value", id="a day out of range before a bad name"),
        pytest.param({"nope": 1, "due_on": "1899-12-31"}, "invalid_field", id="a bad name before a day out of range"),
    ],
)
def test_the_fields_of_a_new_step_are_checked_in_the_order_sent(fields, code):
    assert rejection_code({**ENVELOPE, "type": "step.add", "step_id": "step-0001", "fields": fields}) == code


@pytest.mark.parametrize(
    "payload, code",
    [
        pytest.param(
            {**ENVELOPE, "type": "step.delete", "step_id": "step-0001", "\ud800": 1}, "invalid_op", id="as a key"
        ),
        pytest.param(
            {**ENVELOPE, "type": "map.set", "field": "theme", "value": "\udc00"}, "invalid_value", id="as a choice"
        ),
        pytest.param(
            {**ENVELOPE, "type": "step.add", "step_id": "step-0001", "fields": {"\ud800": 1}},
            "invalid_field",
            id="as a field name",
        ),
    ],
)
def test_a_lone_surrogate_where_a_name_or_choice_goes_is_refused_with_its_code(payload, code):
    assert rejection_code(payload) == code


@pytest.mark.parametrize(
    "kind, payload",
    [
        pytest.param("join", {"roadmap_id": 1, "\ud800": 1}, id="as a key"),
        pytest.param("dot", {"vote_id": 1, "step_id": "step-0001", "action": "\ud800"}, id="as a choice"),
    ],
)
def test_a_lone_surrogate_in_an_event_is_refused_as_malformed(kind, payload):
    with pytest.raises(EditRejected) as rejected:
        parse_message(kind, payload)
    assert rejected.value.code == "invalid_op"
