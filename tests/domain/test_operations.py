"""The one op schema: what parse_op accepts, and the code it rejects everything else with."""

import pytest

from roadmap.domain.errors import EditRejected
from roadmap.domain.operations import NOT_GIVEN, OP_TYPES, STAKEHOLDER_DEFAULTS, parse_op

STEP_ID = "step-0001"
OTHER_STEP_ID = "step-0002"
STAKEHOLDER_ID = "holder-0001"


def op(op_type, **keys):
    return {"op_id": "op-00000001", "roadmap_id": 1, "type": op_type, **keys}


def step_set(field, value):
    return op("step.set", step_id=STEP_ID, field=field, value=value)


def stakeholder_set(field, value):
    return op("stakeholder.set", stakeholder_id=STAKEHOLDER_ID, field=field, value=value)


def map_set(field, value):
    return op("map.set", field=field, value=value)


def assert_rejected(payload, code):
    with pytest.raises(EditRejected) as rejection:
        parse_op(payload)
    assert rejection.value.code == code


VALID_OPS = [
    pytest.param(map_set("title", "Чистый двор"), id="map.set"),
    pytest.param(op("map.lock", locked=True), id="map.lock"),
    pytest.param(op("map.restore", revision=3), id="map.restore"),
    pytest.param(op("step.add", step_id=STEP_ID), id="step.add"),
    pytest.param(step_set("title", "Собрать инициативную группу"), id="step.set"),
    pytest.param(op("step.move", step_id=STEP_ID, after_id=OTHER_STEP_ID), id="step.move"),
    pytest.param(op("step.delete", step_id=STEP_ID), id="step.delete"),
    pytest.param(op("step.restore", step_id=STEP_ID), id="step.restore"),
    pytest.param(op("step.link", step_id=STEP_ID, stakeholder_id=STAKEHOLDER_ID), id="step.link"),
    pytest.param(op("step.unlink", step_id=STEP_ID, stakeholder_id=STAKEHOLDER_ID), id="step.unlink"),
    pytest.param(op("step.depend", step_id=STEP_ID, predecessor_id=OTHER_STEP_ID), id="step.depend"),
    pytest.param(op("step.undepend", step_id=STEP_ID, predecessor_id=OTHER_STEP_ID), id="step.undepend"),
    pytest.param(op("stakeholder.add", stakeholder_id=STAKEHOLDER_ID), id="stakeholder.add"),
    pytest.param(stakeholder_set("name", "Управляющая компания"), id="stakeholder.set"),
    pytest.param(op("stakeholder.delete", stakeholder_id=STAKEHOLDER_ID), id="stakeholder.delete"),
    pytest.param(op("stakeholder.restore", stakeholder_id=STAKEHOLDER_ID), id="stakeholder.restore"),
    pytest.param(
        op("comment.add", comment_id="comment-0001", step_id=STEP_ID, body="Кто звонит в управу?", mentions=[7]),
        id="comment.add",
    ),
    pytest.param(op("comment.edit", comment_id="comment-0001", body="Кто звонит в управу? Я могу."), id="comment.edit"),
    pytest.param(op("comment.delete", comment_id="comment-0001"), id="comment.delete"),
    pytest.param(op("comment.hide", comment_id="comment-0001", hidden=True), id="comment.hide"),
]


def test_valid_ops_cover_every_op_type():
    assert {param.values[0]["type"] for param in VALID_OPS} == set(OP_TYPES)


@pytest.mark.parametrize("payload", VALID_OPS)
def test_valid_op_is_accepted_as_sent(payload):
    operation = parse_op(payload)

    assert (operation.op_id, operation.roadmap_id, operation.type) == ("op-00000001", 1, payload["type"])
    assert operation.step_id == payload.get("step_id")
    assert operation.stakeholder_id == payload.get("stakeholder_id")
    assert operation.field == payload.get("field")
    assert operation.value == payload.get("value")


@pytest.mark.parametrize(
    "payload, expected",
    [
        pytest.param(map_set("theme", "landscaping"), "landscaping", id="map theme"),
        pytest.param(map_set("problem", "Мусор\nвезде"), "Мусор\nвезде", id="multiline text keeps line breaks"),
        pytest.param(map_set("title", "Чистый\nдвор"), "Чистый двор", id="single-line text loses line breaks"),
        pytest.param(map_set("goal", "Цель:\tдвор"), "Цель:\tдвор", id="tab is allowed"),
        pytest.param(map_set("title", "т" * 200), "т" * 200, id="title at its limit"),
        pytest.param(step_set("description", "д" * 10000), "д" * 10000, id="description at its limit"),
        pytest.param(step_set("owner", None), None, id="owner null"),
        pytest.param(step_set("owner", {"member": 7}), {"member": 7}, id="owner member"),
        pytest.param(
            step_set("owner", {"stakeholder": STAKEHOLDER_ID}), {"stakeholder": STAKEHOLDER_ID}, id="owner stakeholder"
        ),
        pytest.param(step_set("owner", {"text": "  Дворник  "}), {"text": "Дворник"}, id="owner text is trimmed"),
        pytest.param(step_set("owner", {"text": "   "}), None, id="blank owner text means no owner"),
        pytest.param(step_set("owner", {"text": "о" * 200}), {"text": "о" * 200}, id="owner text at its limit"),
        pytest.param(step_set("due_on", "2027-04-24"), "2027-04-24", id="date"),
        pytest.param(step_set("due_on", "1900-01-01"), "1900-01-01", id="earliest date"),
        pytest.param(step_set("due_on", "2200-12-31"), "2200-12-31", id="latest date"),
        pytest.param(step_set("starts_on", None), None, id="null date"),
        pytest.param(step_set("starts_on", ""), None, id="empty date means no date"),
        pytest.param(step_set("status", "in_progress"), "in_progress", id="status"),
        pytest.param(stakeholder_set("interest", 1), 1, id="lowest score"),
        pytest.param(stakeholder_set("influence", 5), 5, id="highest score"),
        pytest.param(stakeholder_set("sector", "administration"), "administration", id="sector"),
        pytest.param(stakeholder_set("engagement", "empower"), "empower", id="engagement"),
    ],
)
def test_valid_value_is_accepted_in_its_stored_form(payload, expected):
    assert parse_op(payload).value == expected


def test_step_add_without_after_id_goes_at_the_end():
    assert parse_op(op("step.add", step_id=STEP_ID)).at_end


def test_step_add_with_null_after_id_goes_at_the_start():
    operation = parse_op(op("step.add", step_id=STEP_ID, after_id=None))

    assert not operation.at_end
    assert operation.after_id is None


def test_step_add_after_a_step_names_that_step():
    operation = parse_op(op("step.add", step_id=STEP_ID, after_id=OTHER_STEP_ID))

    assert not operation.at_end
    assert operation.after_id == OTHER_STEP_ID


def test_step_add_carries_its_initial_fields_in_stored_form():
    operation = parse_op(
        op(
            "step.add",
            step_id=STEP_ID,
            fields={
                "title": "Опрос\nжителей",
                "owner": {"text": " Марина "},
                "due_on": "",
                "status": "done",
            },
        )
    )

    assert operation.fields == {
        "title": "Опрос жителей",
        "owner": {"text": "Марина"},
        "due_on": None,
        "status": "done",
    }


def test_stakeholder_add_carries_its_initial_fields():
    fields = {
        "name": "ТСЖ",
        "sector": "residents",
        "contact": "Ольга, +7 900 000-00-00",
        "interest": 5,
        "influence": 2,
        "engagement": "collaborate",
    }

    assert parse_op(op("stakeholder.add", stakeholder_id=STAKEHOLDER_ID, fields=fields)).fields == fields


def test_text_edit_carries_its_base():
    assert parse_op(op("map.set", field="goal", value="новая", base="старая")).base == "старая"


def test_base_of_a_non_text_field_is_the_value_its_author_saw():
    parsed = parse_op(op("step.set", step_id=STEP_ID, field="status", value="done", base="planned"))

    assert (parsed.base, parsed.seen) == (None, "planned")


def test_base_of_a_non_text_field_is_read_as_a_value_of_the_field():
    parsed = parse_op(op("step.set", step_id=STEP_ID, field="owner", value=None, base={"text": "  Управа  "}))

    assert parsed.seen == {"text": "Управа"}


def test_an_op_without_a_base_has_seen_nothing():
    assert parse_op(op("step.set", step_id=STEP_ID, field="status", value="done")).seen is NOT_GIVEN


@pytest.mark.parametrize("after_others", [True, False])
def test_a_text_edit_says_whether_it_goes_after_others_text(after_others):
    parsed = parse_op(op("map.set", field="goal", value="новая", base="старая", after_others=after_others))

    assert parsed.after_others is after_others


@pytest.mark.parametrize("after_others", [1, "true", None])
def test_after_others_is_true_or_false(after_others):
    assert_rejected(
        op("map.set", field="goal", value="новая", base="старая", after_others=after_others), "invalid_value"
    )


@pytest.mark.parametrize("op_id", ["abcdefgh", "a" * 64, "client-1:op.17_x"])
def test_op_id_of_8_to_64_allowed_characters_is_accepted(op_id):
    assert parse_op({**op("step.delete", step_id=STEP_ID), "op_id": op_id}).op_id == op_id


@pytest.mark.parametrize("step_id", ["abcdefgh", "a" * 40, "Step_01-x"])
def test_id_of_8_to_40_allowed_characters_is_accepted(step_id):
    assert parse_op(op("step.delete", step_id=step_id)).step_id == step_id


@pytest.mark.parametrize("payload", [None, [], "step.add", 42, ["type", "step.add"]])
def test_payload_that_is_not_an_object_is_invalid(payload):
    assert_rejected(payload, "invalid_op")


@pytest.mark.parametrize("op_type", [None, 7, "", "step.rename", "STEP.ADD", "map", ["step.add"]])
def test_unknown_op_type_is_rejected(op_type):
    assert_rejected(op(op_type, step_id=STEP_ID), "unknown_op")


def test_op_without_type_is_rejected_as_unknown():
    payload = op("step.delete", step_id=STEP_ID)
    del payload["type"]

    assert_rejected(payload, "unknown_op")


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(op("map.set", field="title"), id="map.set without value"),
        pytest.param(op("map.set", value="x"), id="map.set without field"),
        pytest.param(op("step.add"), id="step.add without step_id"),
        pytest.param(op("step.set", step_id=STEP_ID, value="x"), id="step.set without field"),
        pytest.param(op("step.set", field="title", value="x"), id="step.set without step_id"),
        pytest.param(op("step.move", step_id=STEP_ID), id="step.move without after_id"),
        pytest.param(op("step.delete"), id="step.delete without step_id"),
        pytest.param(op("step.link", step_id=STEP_ID), id="step.link without stakeholder_id"),
        pytest.param(op("step.unlink", stakeholder_id=STAKEHOLDER_ID), id="step.unlink without step_id"),
        pytest.param(op("stakeholder.add"), id="stakeholder.add without stakeholder_id"),
        pytest.param(
            op("stakeholder.set", stakeholder_id=STAKEHOLDER_ID, field="name"), id="stakeholder.set without value"
        ),
        pytest.param(op("stakeholder.restore"), id="stakeholder.restore without stakeholder_id"),
    ],
)
def test_op_missing_a_required_key_is_invalid(payload):
    assert_rejected(payload, "invalid_op")


@pytest.mark.parametrize("missing", ["op_id", "roadmap_id"])
def test_op_without_its_envelope_key_is_invalid(missing):
    payload = op("step.delete", step_id=STEP_ID)
    del payload[missing]

    assert_rejected(payload, "invalid_op")


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(op("step.delete", step_id=STEP_ID, field="title"), id="field on step.delete"),
        pytest.param(op("map.set", field="title", value="x", step_id=STEP_ID), id="step_id on map.set"),
        pytest.param(op("step.move", step_id=STEP_ID, after_id=None, position="a0"), id="position on step.move"),
        pytest.param(op("step.add", step_id=STEP_ID, field="title", value="x"), id="field on step.add"),
        pytest.param(
            op("stakeholder.add", stakeholder_id=STAKEHOLDER_ID, after_id=None), id="after_id on stakeholder.add"
        ),
        pytest.param(op("step.set", step_id=STEP_ID, field="title", value="x", revision=3), id="revision on step.set"),
        pytest.param({**op("step.delete", step_id=STEP_ID), 1: "x"}, id="non-string key"),
    ],
)
def test_op_with_an_unexpected_key_is_invalid(payload):
    assert_rejected(payload, "invalid_op")


@pytest.mark.parametrize("roadmap_id", [None, "1", 1.0, True, 0, -1, 2**31])
def test_roadmap_id_that_is_not_a_positive_int32_is_invalid(roadmap_id):
    assert_rejected({**op("step.delete", step_id=STEP_ID), "roadmap_id": roadmap_id}, "invalid_op")


@pytest.mark.parametrize(
    "op_id",
    [
        pytest.param(None, id="null"),
        pytest.param(12345678, id="number"),
        pytest.param("abcdefg", id="7 characters"),
        pytest.param("a" * 65, id="65 characters"),
        pytest.param("abcd efgh", id="space"),
        pytest.param("abcd/efgh", id="slash"),
        pytest.param("операция-1", id="non-ascii"),
        pytest.param("abcdefgh\n", id="trailing newline"),
    ],
)
def test_bad_op_id_is_invalid(op_id):
    assert_rejected({**op("step.delete", step_id=STEP_ID), "op_id": op_id}, "invalid_op")


BAD_IDS = [
    pytest.param(None, id="null"),
    pytest.param(12345678, id="number"),
    pytest.param("abcdefg", id="7 characters"),
    pytest.param("a" * 41, id="41 characters"),
    pytest.param("abcd efgh", id="space"),
    pytest.param("abcd.efgh", id="dot"),
    pytest.param("../../etc", id="path"),
    pytest.param("шаг-номер-1", id="non-ascii"),
    pytest.param("abcdefgh\n", id="trailing newline"),
]


@pytest.mark.parametrize("step_id", BAD_IDS)
def test_bad_step_id_is_invalid(step_id):
    assert_rejected(op("step.delete", step_id=step_id), "invalid_op")


@pytest.mark.parametrize("stakeholder_id", BAD_IDS)
def test_bad_stakeholder_id_is_invalid(stakeholder_id):
    assert_rejected(op("step.link", step_id=STEP_ID, stakeholder_id=stakeholder_id), "invalid_op")


@pytest.mark.parametrize("after_id", [param for param in BAD_IDS if param.values[0] is not None])
def test_bad_after_id_is_invalid(after_id):
    assert_rejected(op("step.move", step_id=STEP_ID, after_id=after_id), "invalid_op")


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(map_set("position", "a0"), id="map position"),
        pytest.param(map_set("revision", 5), id="map revision"),
        pytest.param(map_set("Title", "x"), id="field names are case-sensitive"),
        pytest.param(map_set(None, "x"), id="null field"),
        pytest.param(map_set(["title"], "x"), id="list field"),
        pytest.param(step_set("deleted_at", None), id="step deleted_at"),
        pytest.param(step_set("owner_member_id", 7), id="step owner column"),
        pytest.param(step_set("name", "x"), id="stakeholder field on a step"),
        pytest.param(stakeholder_set("title", "x"), id="step field on a stakeholder"),
        pytest.param(op("step.add", step_id=STEP_ID, fields={"position": "a0"}), id="unknown field in step.add"),
        pytest.param(
            op("stakeholder.add", stakeholder_id=STAKEHOLDER_ID, fields={"roadmap_id": 2}),
            id="unknown field in stakeholder.add",
        ),
    ],
)
def test_field_that_cannot_be_changed_is_rejected(payload):
    assert_rejected(payload, "invalid_field")


@pytest.mark.parametrize("fields", [None, [], "title", [["title", "x"]]])
def test_initial_fields_that_are_not_an_object_are_invalid(fields):
    assert_rejected(op("step.add", step_id=STEP_ID, fields=fields), "invalid_op")


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(map_set("title", None), id="null text"),
        pytest.param(map_set("title", 5), id="number as text"),
        pytest.param(map_set("problem", ["a", "b"]), id="list as text"),
        pytest.param(step_set("description", {"text": "x"}), id="object as text"),
        pytest.param(op("step.add", step_id=STEP_ID, fields={"title": 1}), id="number as text in step.add"),
        pytest.param(stakeholder_set("contact", False), id="boolean as text"),
    ],
)
def test_value_of_the_wrong_type_is_rejected(payload):
    assert_rejected(payload, "invalid_value")


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(map_set("title", "т" * 201), id="map title"),
        pytest.param(map_set("territory", "т" * 501), id="map territory"),
        pytest.param(map_set("goal", "т" * 5001), id="map goal"),
        pytest.param(step_set("title", "т" * 301), id="step title"),
        pytest.param(step_set("description", "т" * 10001), id="step description"),
        pytest.param(step_set("resources", "т" * 5001), id="step resources"),
        pytest.param(step_set("owner", {"text": "т" * 201}), id="owner text"),
        pytest.param(stakeholder_set("name", "т" * 301), id="stakeholder name"),
        pytest.param(op("step.add", step_id=STEP_ID, fields={"title": "т" * 301}), id="title in step.add"),
        pytest.param(
            op("stakeholder.add", stakeholder_id=STAKEHOLDER_ID, fields={"contact": "т" * 501}),
            id="contact in stakeholder.add",
        ),
    ],
)
def test_text_over_its_limit_is_too_long(payload):
    assert_rejected(payload, "too_long")


@pytest.mark.parametrize(
    "bad_char",
    [
        pytest.param("\x00", id="NUL"),
        pytest.param("\x07", id="bell"),
        pytest.param("\x0b", id="vertical tab"),
        pytest.param("\x1b", id="escape"),
        pytest.param("\x7f", id="delete"),
        pytest.param("\ud800", id="lone high surrogate"),
        pytest.param("\udfff", id="lone low surrogate"),
        pytest.param("\x80", id="first C1 control"),
        pytest.param("\x85", id="next line (C1)"),
        pytest.param("\x9b", id="control sequence introducer (C1)"),
        pytest.param("\x9f", id="last C1 control"),
    ],
)
@pytest.mark.parametrize(
    "make_payload",
    [
        pytest.param(lambda text: map_set("title", text), id="map title"),
        pytest.param(lambda text: step_set("description", text), id="step description"),
        pytest.param(lambda text: step_set("owner", {"text": text}), id="owner text"),
        pytest.param(
            lambda text: op("stakeholder.add", stakeholder_id=STAKEHOLDER_ID, fields={"name": text}),
            id="name in stakeholder.add",
        ),
    ],
)
def test_text_with_control_characters_is_rejected(make_payload, bad_char):
    assert_rejected(make_payload(f"Встреча{bad_char}с жителями"), "invalid_value")


@pytest.mark.parametrize("text", ["Встреча\tс\nжителями\r", "\xa0неразрывный пробел", "«ёлка» 😀", "~\x7e"])
def test_text_with_tab_line_breaks_and_printable_characters_is_accepted(text):
    assert parse_op(step_set("description", text)).value == text


@pytest.mark.parametrize("day", ["2027-W20-1", "2027-W01-7", "2027-W53-7"])
@pytest.mark.parametrize("field", ["starts_on", "due_on"])
def test_an_iso_week_date_is_not_a_day(field, day):
    assert_rejected(step_set(field, day), "invalid_value")


@pytest.mark.parametrize("field", ["starts_on", "due_on"])
def test_an_iso_week_date_among_the_fields_of_a_new_step_is_not_a_day(field):
    assert_rejected(op("step.add", step_id=STEP_ID, fields={"title": "Встреча", field: "2027-W20-1"}), "invalid_value")


@pytest.mark.parametrize("day", ["２０２７-05-17", "2027-05-1７", "٢٠٢٧-٠٥-١٧", "2027-05-17\n", "2027W201", "2027-137"])
def test_a_day_written_with_other_digits_or_in_another_iso_form_is_rejected(day):
    assert_rejected(step_set("due_on", day), "invalid_value")


@pytest.mark.parametrize("day", ["2027-05-17", "1900-01-01", "2200-12-31", "2028-02-29"])
def test_a_day_in_yyyy_mm_dd_is_accepted_as_written(day):
    assert parse_op(step_set("due_on", day)).value == day


@pytest.mark.parametrize(
    "day",
    [
        "2027-02-30",
        "2027-13-01",
        "22.04.2027",
        "2027/04/22",
        "20270422",
        "2027-4-22",
        " 2027-04-22",
        "2027-04-22T10:00",
        "1899-12-31",
        "2201-01-01",
        "сегодня",
        20270422,
        ["2027-04-22"],
    ],
)
@pytest.mark.parametrize("field", ["starts_on", "due_on"])
def test_bad_date_is_rejected(field, day):
    assert_rejected(step_set(field, day), "invalid_value")


@pytest.mark.parametrize("score", [0, 6, -1, 3.0, "3", True, ""])
@pytest.mark.parametrize("field", ["interest", "influence"])
def test_score_outside_1_to_5_is_rejected(field, score):
    assert_rejected(stakeholder_set(field, score), "invalid_value")


@pytest.mark.parametrize("field", ["sector", "interest", "influence"])
def test_a_stakeholder_assessment_can_be_set_back_to_unset(field):
    assert parse_op(stakeholder_set(field, None)).value is None


@pytest.mark.parametrize("field", ["sector", "interest", "influence"])
def test_unset_is_a_valid_base_for_a_stakeholder_assessment(field):
    value = "media" if field == "sector" else 4
    assert parse_op({**stakeholder_set(field, value), "base": None}).seen is None


def test_a_new_stakeholder_starts_with_sector_interest_and_influence_unset():
    assert {STAKEHOLDER_DEFAULTS[name] for name in ("sector", "interest", "influence")} == {None}


def test_engagement_still_needs_a_level():
    assert_rejected(stakeholder_set("engagement", None), "invalid_value")


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(step_set("status", "finished"), id="unknown status"),
        pytest.param(step_set("status", "Done"), id="status is case-sensitive"),
        pytest.param(step_set("status", None), id="null status"),
        pytest.param(map_set("theme", "parks"), id="unknown theme"),
        pytest.param(map_set("theme", 1), id="number as theme"),
        pytest.param(stakeholder_set("sector", "government"), id="unknown sector"),
        pytest.param(stakeholder_set("engagement", "partner"), id="unknown engagement"),
        pytest.param(
            op("stakeholder.add", stakeholder_id=STAKEHOLDER_ID, fields={"sector": "press"}),
            id="unknown sector in stakeholder.add",
        ),
    ],
)
def test_value_outside_its_choices_is_rejected(payload):
    assert_rejected(payload, "invalid_value")


@pytest.mark.parametrize(
    "owner",
    [
        pytest.param("Марина", id="plain string"),
        pytest.param(7, id="plain number"),
        pytest.param([], id="list"),
        pytest.param({}, id="empty object"),
        pytest.param({"member": 7, "text": "Марина"}, id="two kinds"),
        pytest.param({"group": 7}, id="unknown kind"),
        pytest.param({"member": "7"}, id="member id as string"),
        pytest.param({"member": 0}, id="member id zero"),
        pytest.param({"member": True}, id="member id boolean"),
        pytest.param({"member": 2**31}, id="member id too large"),
        pytest.param({"stakeholder": "short"}, id="bad stakeholder id"),
        pytest.param({"stakeholder": 7}, id="stakeholder id as number"),
        pytest.param({"text": 7}, id="owner text as number"),
        pytest.param({"text": None}, id="owner text null"),
    ],
)
def test_bad_owner_is_rejected(owner):
    assert_rejected(step_set("owner", owner), "invalid_value")


@pytest.mark.parametrize(
    "base",
    [
        pytest.param(5, id="number"),
        pytest.param(["старая"], id="list"),
        pytest.param("т" * 201, id="over the field's limit"),
    ],
)
def test_bad_base_of_a_text_edit_is_rejected(base):
    assert_rejected(op("map.set", field="title", value="новая", base=base), "invalid_value")


@pytest.mark.parametrize("locked", [1, 0, "true", None, [], {}])
def test_lock_that_is_not_a_boolean_is_rejected(locked):
    with pytest.raises(EditRejected) as rejected:
        parse_op(op("map.lock", locked=locked))
    assert rejected.value.code == "invalid_value"


@pytest.mark.parametrize("body", ["", "   \n ", "я" * 2001, "\x00", 5, None])
def test_a_comment_needs_some_text_within_its_limit(body):
    assert_rejected(
        op("comment.add", comment_id="comment-0001", step_id=STEP_ID, body=body),
        "too_long" if isinstance(body, str) and len(body) > 2000 else "invalid_value",
    )


@pytest.mark.parametrize("mentions", [7, [0], ["7"], [True], list(range(1, 22))])
def test_mentions_are_a_short_list_of_person_ids(mentions):
    assert_rejected(
        op("comment.add", comment_id="comment-0001", step_id=STEP_ID, body="Текст", mentions=mentions), "invalid_value"
    )


def test_a_comment_is_stripped_and_its_mentions_sorted_once():
    parsed = parse_op(
        op("comment.add", comment_id="comment-0001", step_id=STEP_ID, body="  Текст \n", mentions=[9, 7, 9])
    )
    assert (parsed.body, parsed.mentions) == ("Текст", (7, 9))
