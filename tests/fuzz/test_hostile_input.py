"""Hostile and malformed Socket.IO input against the real server.

Each case must get an error ack (ok false, with an error code), change nothing,
and leave the server serving everyone else.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from roadmap.domain.operations import OP_TYPES
from roadmap.models import Training
from tests.livesync import DROPPED, SyncClient, SyncClients, new_op_id
from tests.rawsocket import RawSocketIO, json_with

pytestmark = pytest.mark.live

ONE_MEGABYTE = 1024 * 1024
NOT_OBJECTS = [[], "op", 42, 3.5, True, None]
ROOM_EVENTS = ["join", "catch_up", "op", "focus", "leave"]


@pytest.fixture
def live_server(unthrottled_live_server):
    """Every hostile payload is sent on one connection, far faster than a person types."""
    return unthrottled_live_server


@pytest.fixture
def clients(live_server, world):
    opened = SyncClients(live_server.url, world.token)
    yield opened
    opened.close_all()


@dataclass
class Scene:
    """One group's map with a step and a stakeholder; a hostile and a well-behaved member in it."""

    training: Training
    roadmap_id: int
    hostile: SyncClient
    bystander: SyncClient
    step_id: str
    stakeholder_id: str

    def valid_op(self, **overrides) -> dict:
        return {
            "op_id": new_op_id(),
            "roadmap_id": self.roadmap_id,
            "type": "step.set",
            "step_id": self.step_id,
            "field": "title",
            "value": "Подлинная правка",
            **overrides,
        }


@pytest.fixture
def scene(world, clients) -> Scene:
    group = world.group()
    # Both join the group before either connects: a snapshot's member list is not kept live.
    oleg, mallory = world.member(group, "Олег"), world.member(group, "Мэллори")
    bystander = clients.connect(oleg, group.roadmap.id)
    hostile = clients.connect(mallory, group.roadmap.id)
    step_id, stakeholder_id = new_op_id(), new_op_id()
    step_fields = {"title": "Опрос", "description": "Спросить соседей"}
    assert bystander.send_op("step.add", step_id=step_id, fields=step_fields)["ok"]
    assert bystander.send_op("stakeholder.add", stakeholder_id=stakeholder_id, fields={"name": "Школа"})["ok"]
    bystander.wait_for_revision(2)
    hostile.wait_for_revision(2)
    return Scene(group.training, group.roadmap.id, hostile, bystander, step_id, stakeholder_id)


def is_error_ack(ack) -> bool:
    return (
        isinstance(ack, dict)
        and ack.get("ok") is False
        and isinstance(ack.get("error"), dict)
        and isinstance(ack["error"].get("code"), str)
    )


def not_refused(client: SyncClient, attempts) -> list:
    """The (event, args, ack) of every attempt that did not get an error ack."""
    misses = []
    for event, *args in attempts:
        ack = client.call(event, *args)
        if not is_error_ack(ack):
            misses.append((event, args, ack))
    return misses


def assert_unchanged_and_still_serving(scene: Scene, before: dict) -> None:
    assert scene.bystander.fresh_snapshot() == before
    ack = scene.bystander.send_op("step.set", step_id=scene.step_id, field="status", value="in_progress")
    assert ack["ok"] and ack["revision"] == before["revision"] + 1, ack
    scene.bystander.wait_for_revision(ack["revision"])
    assert scene.bystander.disconnects == 0
    assert scene.bystander.map_copy() == scene.bystander.fresh_snapshot()


def test_payloads_that_are_not_objects_get_an_error_ack_from_every_event(scene):
    before = scene.bystander.fresh_snapshot()
    attempts = [(event, payload) for event in ROOM_EVENTS for payload in NOT_OBJECTS]
    attempts += [("op", [scene.valid_op()]), ("join", [{"roadmap_id": scene.roadmap_id}])]

    assert not_refused(scene.hostile, attempts) == []
    assert_unchanged_and_still_serving(scene, before)


def test_ops_missing_a_required_field_are_refused(scene):
    before = scene.bystander.fresh_snapshot()
    bare_ops = [{"op_id": new_op_id(), "roadmap_id": scene.roadmap_id, "type": op_type} for op_type in OP_TYPES]
    complete = scene.valid_op()
    without_one_key = [{k: v for k, v in complete.items() if k != missing} for missing in complete]
    room_events_without_map = [(event, {"since_revision": 0}) for event in ("join", "catch_up", "leave")]

    attempts = [("op", op) for op in bare_ops + without_one_key] + room_events_without_map
    assert not_refused(scene.hostile, attempts) == []
    assert_unchanged_and_still_serving(scene, before)


def test_ops_of_an_unknown_type_are_refused(scene):
    before = scene.bystander.fresh_snapshot()
    unknown_types = ["step.explode", "", "STEP.SET", "step.set ", "map", "__class__", None, 7, ["step.set"]]

    acks = [scene.hostile.call("op", scene.valid_op(type=op_type)) for op_type in unknown_types]

    assert [ack.get("error", {}).get("code") for ack in acks] == ["unknown_op"] * len(unknown_types)
    assert_unchanged_and_still_serving(scene, before)


def test_fields_of_the_wrong_type_or_shape_are_refused(scene):
    before = scene.bystander.fresh_snapshot()
    wrong_ops = [
        scene.valid_op(op_id=12345678),
        scene.valid_op(op_id="short"),
        scene.valid_op(op_id="x" * 65),
        scene.valid_op(roadmap_id=str(scene.roadmap_id)),
        scene.valid_op(roadmap_id=float(scene.roadmap_id)),
        scene.valid_op(roadmap_id=True),
        scene.valid_op(roadmap_id=0),
        scene.valid_op(roadmap_id=-1),
        scene.valid_op(roadmap_id=None),
        scene.valid_op(step_id="../../etc/passwd"),
        scene.valid_op(step_id=12345678),
        scene.valid_op(step_id=None),
        scene.valid_op(field="deleted_at"),
        scene.valid_op(field="__dict__"),
        scene.valid_op(field=None),
        scene.valid_op(field="status", value="finished"),
        scene.valid_op(field="due_on", value="2027-02-30"),
        scene.valid_op(field="due_on", value=20270201),
        scene.valid_op(field="owner", value={"member": "2"}),
        scene.valid_op(field="owner", value={"member": 2, "text": "двое"}),
        scene.valid_op(field="owner", value="Олег"),
        scene.valid_op(value=None),
        scene.valid_op(value=["Опрос"]),
        scene.valid_op(value={"text": "Опрос"}),
        scene.valid_op(value="Опрос\x00"),
        scene.valid_op(value="Опрос", base=5),
        scene.valid_op(extra="поле"),
        scene.valid_op(after_id=5),
        {
            "op_id": new_op_id(),
            "roadmap_id": scene.roadmap_id,
            "type": "step.add",
            "step_id": new_op_id(),
            "fields": [],
        },
        {
            "op_id": new_op_id(),
            "roadmap_id": scene.roadmap_id,
            "type": "step.add",
            "step_id": new_op_id(),
            "fields": {"deleted_at": "2027-01-01"},
        },
        {
            "op_id": new_op_id(),
            "roadmap_id": scene.roadmap_id,
            "type": "step.move",
            "step_id": scene.step_id,
            "after_id": scene.step_id,
        },
        {
            "op_id": new_op_id(),
            "roadmap_id": scene.roadmap_id,
            "type": "stakeholder.set",
            "stakeholder_id": scene.stakeholder_id,
            "field": "interest",
            "value": True,
        },
        {
            "op_id": new_op_id(),
            "roadmap_id": scene.roadmap_id,
            "type": "stakeholder.set",
            "stakeholder_id": scene.stakeholder_id,
            "field": "influence",
            "value": 6,
        },
    ]
    wrong_room_events = [
        ("join", {"roadmap_id": scene.roadmap_id, "since_revision": "2"}),
        ("catch_up", {"roadmap_id": scene.roadmap_id, "since_revision": 1.5}),
        ("join", {"roadmap_id": str(scene.roadmap_id)}),
        ("focus", {"focus": "description"}),
        ("focus", {"focus": {}}),
        ("focus", {"focus": {"field": 1}}),
        ("focus", {"focus": {"field": "title", "password": "x"}}),
        ("focus", {"focus": {"field": "x" * 41}}),
    ]

    attempts = [("op", op) for op in wrong_ops] + wrong_room_events
    assert not_refused(scene.hostile, attempts) == []
    assert_unchanged_and_still_serving(scene, before)


def test_map_ids_beyond_the_database_integer_range_are_refused_as_invalid_not_as_server_errors(scene):
    before = scene.bystander.fresh_snapshot()
    huge_ids = [2**63, 2**70, -(2**70)]

    codes = {
        (event, roadmap_id): scene.hostile.call(event, {"roadmap_id": roadmap_id}).get("error", {}).get("code")
        for event in ("join", "catch_up", "leave")
        for roadmap_id in huge_ids
    }

    assert {key: code for key, code in codes.items() if code not in ("invalid_op", "not_found")} == {}
    assert_unchanged_and_still_serving(scene, before)


def test_text_longer_than_its_field_allows_is_refused_even_when_a_merge_makes_it_so(scene):
    long_description = "Соседи " * 1000  # 7000 of the 10000 characters a description holds
    assert scene.bystander.send_op("step.set", step_id=scene.step_id, field="description", value=long_description)["ok"]
    scene.bystander.wait_for_revision(3)
    before = scene.bystander.fresh_snapshot()
    too_long = [
        scene.valid_op(value="Опрос" * 100),
        # ASCII, so the message stays under the transport limit and reaches the schema.
        scene.valid_op(field="description", value="b" * 200_000),
        scene.valid_op(field="description", value="b" * 10, base="b" * 200_000),
        {
            "op_id": new_op_id(),
            "roadmap_id": scene.roadmap_id,
            "type": "stakeholder.set",
            "stakeholder_id": scene.stakeholder_id,
            "field": "contact",
            "value": "@" * 501,
        },
        # From an empty base, 7000 new characters merged into the 7000 already there overflow the field.
        scene.valid_op(field="description", value="Дворы " * 1167, base=""),
    ]

    acks = [scene.hostile.call("op", op) for op in too_long]
    codes = [ack.get("error", {}).get("code") for ack in acks]
    assert codes == ["too_long", "too_long", "invalid_value", "too_long", "too_long"]
    assert_unchanged_and_still_serving(scene, before)


def test_a_message_over_the_transport_limit_closes_only_the_sending_connection(scene):
    before = scene.bystander.fresh_snapshot()

    outcome = scene.hostile.call("op", scene.valid_op(value="x" * ONE_MEGABYTE), or_dropped=True)

    assert outcome == DROPPED or is_error_ack(outcome), outcome
    if outcome == DROPPED:
        assert scene.hostile.disconnects == 1
    assert_unchanged_and_still_serving(scene, before)


# JSON that Python's decoder cannot turn into values as it stands: an integer past
# its 4,300-digit limit (and past the 100 digits any number the app reads could
# need), and nesting deeper than it recurses. python-socketio's own client cannot
# write these either, so they go out as raw frames.
UNREADABLE_JSON = {
    "integer of 5,000 digits": "9" * 5_000,
    "integer of 101 digits": "1" + "0" * 100,
    "arrays nested 900 deep": "[" * 900 + "]" * 900,
    "objects nested 5,000 deep": '{"a":' * 5_000 + "1" + "}" * 5_000,
    "arrays nested 50,000 deep": "[" * 50_000 + "1" + "]" * 50_000,
}


def valid_payloads(scene: Scene) -> dict[str, dict]:
    return {
        "op": scene.valid_op(),
        "join": {"roadmap_id": scene.roadmap_id, "since_revision": None},
        "catch_up": {"roadmap_id": scene.roadmap_id, "since_revision": 0},
        "focus": {"focus": {"field": "title", "step_id": scene.step_id}},
        "leave": {"roadmap_id": scene.roadmap_id},
        "watch": {"training_id": scene.training.id},
        "dot": {"vote_id": 1, "step_id": scene.step_id, "action": "add"},
    }


@pytest.fixture
def raw(scene, live_server):
    """A second connection of the hostile member, writing its frames by hand, joined to the scene's map."""
    connection = RawSocketIO(live_server.url, scene.hostile.token)
    assert connection.call("join", {"roadmap_id": scene.roadmap_id, "since_revision": None})["ok"]
    yield connection
    connection.close()


def test_json_the_decoder_cannot_read_gets_an_invalid_op_ack_from_every_event(scene, raw):
    before = scene.bystander.fresh_snapshot()
    attempts = [
        (event, f"{key or 'payload'} = {shape}", json_with(valid, key, raw_json) if key else raw_json)
        for event, valid in valid_payloads(scene).items()
        for key in [None, *valid]
        for shape, raw_json in UNREADABLE_JSON.items()
    ]

    acks = {(event, where): raw.call_raw(event, payload_json) for event, where, payload_json in attempts}

    assert {
        attempt: ack for attempt, ack in acks.items() if not is_error_ack(ack) or ack["error"]["code"] != "invalid_op"
    } == {}
    assert all(isinstance(ack["error"].get("detail"), str) for ack in acks.values())
    assert raw.call("focus", {"focus": None}) == {"ok": True}, "the connection is still in its map"
    assert_unchanged_and_still_serving(scene, before)


@pytest.fixture
def other_map(world, clients, scene):
    """A neighbouring group's map: a live step, a deleted step, a stakeholder and its member."""
    group = world.group(scene.training, name="Зелёный сквер", theme="landscaping")
    owner = world.member(group, "Аня")
    owner_client = clients.connect(owner, group.roadmap.id)
    live_step, deleted_step, stakeholder_id = new_op_id(), new_op_id(), new_op_id()
    for op_type, fields in [
        ("step.add", {"step_id": live_step, "fields": {"title": "Посадить липы"}}),
        ("step.add", {"step_id": deleted_step, "fields": {"title": "Старый план"}}),
        ("step.delete", {"step_id": deleted_step}),
        ("stakeholder.add", {"stakeholder_id": stakeholder_id, "fields": {"name": "Парк"}}),
        ("step.link", {"step_id": live_step, "stakeholder_id": stakeholder_id}),
    ]:
        assert owner_client.send_op(op_type, **fields)["ok"]
    owner_client.wait_for_revision(5)
    return owner_client, owner, live_step, deleted_step, stakeholder_id


def test_ids_of_another_groups_items_are_refused_and_both_maps_stay_unchanged(scene, other_map):
    owner_client, owner, their_step, their_deleted_step, their_stakeholder = other_map
    ours_before, theirs_before = scene.bystander.fresh_snapshot(), owner_client.fresh_snapshot()
    mine, ours = scene.step_id, scene.stakeholder_id

    def op(op_type, **fields):
        return {"op_id": new_op_id(), "roadmap_id": scene.roadmap_id, "type": op_type, **fields}

    foreign_ops = [
        op("step.set", step_id=their_step, field="title", value="Моё"),
        op("step.move", step_id=their_step, after_id=None),
        op("step.move", step_id=mine, after_id=their_step),
        op("step.delete", step_id=their_step),
        op("step.restore", step_id=their_deleted_step),
        op("step.link", step_id=mine, stakeholder_id=their_stakeholder),
        op("step.link", step_id=their_step, stakeholder_id=ours),
        op("step.unlink", step_id=their_step, stakeholder_id=their_stakeholder),
        op("stakeholder.set", stakeholder_id=their_stakeholder, field="name", value="Моё"),
        op("stakeholder.delete", stakeholder_id=their_stakeholder),
        op("step.add", step_id=new_op_id(), after_id=their_step),
        op("step.add", step_id=their_step, fields={"title": "Подмена"}),
        op("stakeholder.add", stakeholder_id=their_stakeholder, fields={"name": "Подмена"}),
        op("step.set", step_id=mine, field="owner", value={"member": owner.id}),
        op("step.set", step_id=mine, field="owner", value={"stakeholder": their_stakeholder}),
    ]

    assert not_refused(scene.hostile, [("op", foreign_op) for foreign_op in foreign_ops]) == []
    assert owner_client.fresh_snapshot() == theirs_before
    assert_unchanged_and_still_serving(scene, ours_before)


def test_extra_positional_arguments_are_refused_without_applying_the_op(scene):
    before = scene.bystander.fresh_snapshot()
    attempts = [
        ("op", scene.valid_op(), "extra"),
        ("op", scene.valid_op(), scene.valid_op()),
        ("join", {"roadmap_id": scene.roadmap_id}, {"roadmap_id": scene.roadmap_id}),
        ("catch_up", {"roadmap_id": scene.roadmap_id, "since_revision": 0}, 1),
        ("focus", {"focus": None}, None),
        ("leave", {"roadmap_id": scene.roadmap_id}, "now"),
    ]

    assert not_refused(scene.hostile, attempts) == []
    assert_unchanged_and_still_serving(scene, before)


def test_events_that_do_not_exist_get_an_error_ack(scene):
    before = scene.bystander.fresh_snapshot()
    unknown_events = ["edit", "delete_map", "JOIN", "on_join", "__init__", "", "x" * 500]

    assert not_refused(scene.hostile, [(event, {"roadmap_id": scene.roadmap_id}) for event in unknown_events]) == []
    assert_unchanged_and_still_serving(scene, before)


def test_a_client_cannot_fake_its_own_disconnect_with_a_disconnect_event(scene):
    hostile_id = scene.hostile.join_acks[-1]["me"]["id"]

    ack = scene.hostile.call("disconnect", "client disconnect")

    # Still connected, so still present and still able to say what it edits.
    focus_ack = scene.hostile.focus({"field": "title", "step_id": scene.step_id})
    assert focus_ack == {"ok": True}
    scene.bystander.wait_until(
        lambda: any(person["id"] == hostile_id and person["focus"] for person in scene.bystander.people_present()),
        what="the hostile member's focus",
    )
    assert is_error_ack(ack), ack


def test_a_connect_event_on_an_open_connection_gets_an_error_ack_and_keeps_the_identity(scene):
    hostile_id = scene.hostile.join_acks[-1]["me"]["id"]

    ack = scene.hostile.call("connect", {"token": "not-a-token"}, timeout=2)

    assert is_error_ack(ack), ack
    rejoined = scene.hostile.call("join", {"roadmap_id": scene.roadmap_id, "since_revision": None})
    assert rejoined["me"]["id"] == hostile_id


def still_in_the_map(client) -> bool:
    ack = client.focus(None)
    assert ack == {"ok": True} or ack["error"].get("detail") == "join a map first", ack
    return ack == {"ok": True}


def test_leave_with_a_bad_payload_whose_map_id_reads_still_leaves_and_answers_the_error(scene, world):
    other_map_id = world.group(scene.training, name="Сквер", theme="landscaping").roadmap.id
    hostile_id = scene.hostile.join_acks[-1]["me"]["id"]
    bad_leaves = {
        "an unexpected key": {"roadmap_id": scene.roadmap_id, "now": True},
        "another group's map": {"roadmap_id": other_map_id},
        "a map that does not exist": {"roadmap_id": 2**31 - 1},
    }

    def present() -> list[int]:
        return [person["id"] for person in scene.bystander.people_present()]

    outcomes = {}
    for name, payload in bad_leaves.items():
        ack = scene.hostile.call("leave", payload)
        outcomes[name] = (ack.get("error", {}).get("code"), still_in_the_map(scene.hostile))
        scene.bystander.wait_until(lambda: hostile_id not in present(), what=f"the member gone after {name}")
        assert scene.hostile.join(scene.roadmap_id)["ok"]
        scene.bystander.wait_until(lambda: hostile_id in present(), what="the member back")

    assert outcomes == {
        "an unexpected key": ("invalid_op", False),
        "another group's map": ("forbidden", False),
        "a map that does not exist": ("not_found", False),
    }


def test_leave_whose_map_id_cannot_be_read_leaves_nothing(scene):
    unreadable_leaves = [
        {},
        {"roadmap_id": "1"},
        {"roadmap_id": 0},
        {"roadmap_id": 2**31},
        {"roadmap_id": None},
        {"roadmap_id": True},
        {"roadmap_id": 1.0},
        [],
        None,
    ]

    outcomes = [
        (scene.hostile.call("leave", payload).get("error", {}).get("code"), still_in_the_map(scene.hostile))
        for payload in unreadable_leaves
    ]

    assert outcomes == [("invalid_op", True)] * len(unreadable_leaves)
