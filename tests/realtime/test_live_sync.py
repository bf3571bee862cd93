"""Live editing through the real server: several python-socketio clients keep one map in sync."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import socketio

from tests.livesync import SyncClient, new_op_id

pytestmark = pytest.mark.live


@pytest.fixture
def group(world):
    return world.group()


def step_fields(title: str, **more) -> dict:
    return {"title": title, **more}


def assert_in_sync(*sync_clients: SyncClient) -> dict:
    """Every client's local copy equals the server's map; returns that map."""
    server_map = sync_clients[0].fresh_snapshot()
    for client in sync_clients:
        local_map = client.map_copy()
        drifted = {
            key: (local_map.get(key), server_map.get(key))
            for key in server_map | local_map
            if local_map.get(key) != server_map.get(key)
        }
        assert not drifted, f"{client.name} drifted from the server (local, server): {drifted}"
    return server_map


def test_two_clients_apply_each_others_edits_in_revision_order(clients, group, marina, oleg):
    roadmap_id = group.roadmap.id
    marina_client = clients.connect(marina, roadmap_id)
    oleg_client = clients.connect(oleg, roadmap_id)
    first_step, second_step = new_op_id(), new_op_id()
    stakeholder_id = new_op_id()

    def marina_edits():
        acks = [marina_client.send_op("step.add", step_id=first_step, fields=step_fields("Собрать жителей"))]
        acks.append(marina_client.send_op("map.set", field="title", value="Чистый двор к маю"))
        acks.append(marina_client.send_op("step.set", step_id=first_step, field="due_on", value="2027-05-01"))
        acks.append(marina_client.send_op("map.set", field="goal", value="Раздельный сбор в каждом дворе"))
        return acks

    def oleg_edits():
        acks = [oleg_client.send_op("step.add", step_id=second_step, fields=step_fields("Найти контейнеры"))]
        acks.append(
            oleg_client.send_op(
                "stakeholder.add",
                stakeholder_id=stakeholder_id,
                fields={"name": "Управляющая компания"},
            )
        )
        acks.append(oleg_client.send_op("step.move", step_id=second_step, after_id=None))
        acks.append(oleg_client.send_op("step.link", step_id=second_step, stakeholder_id=stakeholder_id))
        return acks

    with ThreadPoolExecutor(max_workers=2) as pool:
        marina_acks, oleg_acks = pool.submit(marina_edits), pool.submit(oleg_edits)
        acks = marina_acks.result(timeout=30) + oleg_acks.result(timeout=30)

    assert all(ack["ok"] for ack in acks), acks
    assert sorted(ack["revision"] for ack in acks) == list(range(1, 9))
    for client in (marina_client, oleg_client):
        client.wait_for_revision(8)
        assert client.applied_revisions() == list(range(1, 9))
        assert {change["author"]["id"] for change in client.applied} == {marina.id, oleg.id}
    server_map = assert_in_sync(marina_client, oleg_client)
    assert [step["id"] for step in server_map["steps"]] == [second_step, first_step]
    assert server_map["steps"][0]["stakeholder_ids"] == [stakeholder_id]


def test_a_client_offline_while_others_edit_rejoins_from_its_revision_and_holds_the_identical_map(
    clients, group, marina, oleg
):
    roadmap_id = group.roadmap.id
    marina_client = clients.connect(marina, roadmap_id)
    oleg_client = clients.connect(oleg, roadmap_id)
    kept, moved, deleted, restored = new_op_id(), new_op_id(), new_op_id(), new_op_id()
    school, park = new_op_id(), new_op_id()
    for step_id, title in ((kept, "Опрос"), (moved, "Встреча"), (deleted, "Черновик"), (restored, "Листовки")):
        assert marina_client.send_op("step.add", step_id=step_id, fields=step_fields(title))["ok"]
    marina_client.wait_for_revision(4)

    marina_client.disconnect()
    offline_edits = [
        ("step.set", {"step_id": kept, "field": "description", "value": "Спросить 50 соседей"}),
        ("step.move", {"step_id": moved, "after_id": None}),
        ("step.delete", {"step_id": deleted}),
        ("step.delete", {"step_id": restored}),
        ("step.restore", {"step_id": restored}),
        ("stakeholder.add", {"stakeholder_id": school, "fields": {"name": "Школа №5", "sector": "ngo"}}),
        ("stakeholder.add", {"stakeholder_id": park, "fields": {"name": "Парк"}}),
        ("step.link", {"step_id": kept, "stakeholder_id": school}),
        ("step.link", {"step_id": kept, "stakeholder_id": park}),
        ("stakeholder.delete", {"stakeholder_id": park}),
        ("stakeholder.restore", {"stakeholder_id": park}),
        ("stakeholder.set", {"stakeholder_id": school, "field": "influence", "value": 5}),
        ("map.set", {"field": "problem", "value": "Мусор не сортируют"}),
    ]
    for op_type, fields in offline_edits:
        ack = oleg_client.send_op(op_type, **fields)
        assert ack["ok"], (op_type, ack)
    assert marina_client.revision == 4
    last_revision = 4 + len(offline_edits)

    rejoin_ack = marina_client.reconnect()

    assert rejoin_ack["ok"]
    assert [change["revision"] for change in rejoin_ack["changes"]] == list(range(5, last_revision + 1))
    marina_client.wait_for_revision(last_revision)
    server_map = assert_in_sync(marina_client, oleg_client)
    assert [step["id"] for step in server_map["steps"]] == [moved, kept, restored]
    assert server_map["steps"][1]["stakeholder_ids"] == sorted([school, park])


def test_clients_rejoin_by_themselves_after_a_server_crash_and_keep_editing_in_sync(
    clients, live_server, group, marina, oleg
):
    roadmap_id = group.roadmap.id
    marina_client = clients.connect(marina, roadmap_id)
    oleg_client = clients.connect(oleg, roadmap_id)
    step_id = new_op_id()
    assert marina_client.send_op("step.add", step_id=step_id, fields=step_fields("Опрос"))["ok"]
    oleg_client.wait_for_revision(1)

    live_server.kill()
    for client in (marina_client, oleg_client):
        client.wait_until(lambda client=client: client.disconnects == 1, what="the crash")
    live_server.start()
    for client in (marina_client, oleg_client):
        client.wait_until(lambda client=client: len(client.join_acks) == 2, what="a rejoin")
        assert client.join_acks[-1]["ok"] and client.join_acks[-1]["changes"] == []

    assert oleg_client.send_op("step.set", step_id=step_id, field="status", value="in_progress")["ok"]
    marina_client.wait_for_revision(2)
    assert marina_client.applied_revisions() == [1, 2]
    assert_in_sync(marina_client, oleg_client)


def test_an_op_sent_twice_is_applied_once_and_broadcast_once(clients, group, marina, oleg):
    roadmap_id = group.roadmap.id
    marina_client = clients.connect(marina, roadmap_id)
    oleg_client = clients.connect(oleg, roadmap_id)
    op_id, step_id = new_op_id(), new_op_id()

    first = marina_client.send_op("step.add", op_id=op_id, step_id=step_id, fields=step_fields("Опрос"))
    again = marina_client.send_op("step.add", op_id=op_id, step_id=step_id, fields=step_fields("Опрос"))
    # A later op is the fence: a second broadcast of the resend would arrive before it.
    fence = marina_client.send_op("map.set", field="title", value="После повтора")
    oleg_client.wait_for_revision(fence["revision"])

    assert (first["ok"], first["revision"], first["duplicate"]) == (True, 1, False)
    assert (again["ok"], again["revision"], again["duplicate"]) == (True, 1, True)
    assert fence["revision"] == 2
    assert [change["op_id"] for change in oleg_client.received].count(op_id) == 1
    server_map = assert_in_sync(marina_client, oleg_client)
    assert [step["id"] for step in server_map["steps"]] == [step_id]


def test_an_op_resent_before_its_first_ack_arrives_is_still_applied_once(clients, group, marina):
    marina_client = clients.connect(marina, group.roadmap.id)
    op_id = new_op_id()
    payload = {
        "op_id": op_id,
        "roadmap_id": group.roadmap.id,
        "type": "step.add",
        "step_id": new_op_id(),
        "fields": step_fields("Опрос"),
    }
    acks: list[dict] = []
    both_acked = threading.Event()

    def on_ack(ack):
        acks.append(ack)
        if len(acks) == 2:
            both_acked.set()

    marina_client.sio.emit("op", payload, callback=on_ack)
    marina_client.sio.emit("op", payload, callback=on_ack)
    assert both_acked.wait(10), acks

    assert sorted(ack["duplicate"] for ack in acks) == [False, True]
    assert {ack["revision"] for ack in acks} == {1}
    assert marina_client.fresh_snapshot()["revision"] == 1


def test_concurrent_edits_of_one_description_from_the_same_base_keep_both_peoples_words(clients, group, marina, oleg):
    roadmap_id = group.roadmap.id
    marina_client = clients.connect(marina, roadmap_id)
    oleg_client = clients.connect(oleg, roadmap_id)
    step_id = new_op_id()
    base = "Собрать жителей во дворе и договориться о раздельном сборе."
    assert marina_client.send_op("step.add", step_id=step_id, fields=step_fields("Сход", description=base))["ok"]
    oleg_client.wait_for_revision(1)
    both_ready = threading.Barrier(2, timeout=10)

    def edit(client: SyncClient, value: str) -> dict:
        both_ready.wait()
        return client.send_op("step.set", step_id=step_id, field="description", value=value, base=base)

    with ThreadPoolExecutor(max_workers=2) as pool:
        marina_ack = pool.submit(edit, marina_client, base + " Пригласить управдома.")
        oleg_ack = pool.submit(edit, oleg_client, "В субботу: " + base)
        acks = [marina_ack.result(timeout=30), oleg_ack.result(timeout=30)]

    assert all(ack["ok"] for ack in acks), acks
    for client in (marina_client, oleg_client):
        client.wait_for_revision(3)
        description = client.map_copy()["steps"][0]["description"]
        assert "управдома" in description and "субботу" in description, (client.name, description)
    assert_in_sync(marina_client, oleg_client)


@pytest.fixture
def other_group_map(world, clients, group):
    """A neighbouring group's map (same training) with one step, and a client of that group joined to it."""
    other_group = world.group(group.training, name="Зелёный сквер", theme="landscaping")
    owner = world.member(other_group, "Аня")
    owner_client = clients.connect(owner, other_group.roadmap.id)
    step_id = new_op_id()
    assert owner_client.send_op("step.add", step_id=step_id, fields=step_fields("Посадить липы"))["ok"]
    owner_client.wait_for_revision(1)
    return owner_client, step_id


def test_a_participant_can_neither_join_nor_edit_another_groups_map(clients, group, marina, other_group_map):
    owner_client, their_step = other_group_map
    their_map = owner_client.roadmap_id
    before = owner_client.fresh_snapshot()
    marina_client = clients.connect(marina)

    refusals = [
        marina_client.call("join", {"roadmap_id": their_map, "since_revision": None}),
        marina_client.call("catch_up", {"roadmap_id": their_map, "since_revision": 0}),
        marina_client.send_op("map.set", roadmap_id=their_map, field="title", value="Захвачено"),
        marina_client.send_op("step.set", roadmap_id=their_map, step_id=their_step, field="title", value="x"),
        marina_client.send_op("step.delete", roadmap_id=their_map, step_id=their_step),
        marina_client.send_op("step.add", roadmap_id=their_map, step_id=new_op_id(), fields={}),
    ]
    assert [ack.get("error", {}).get("code") for ack in refusals] == ["forbidden"] * len(refusals)
    assert owner_client.fresh_snapshot() == before

    # Their next change reaches their own client but not the participant who was refused.
    assert owner_client.send_op("map.set", field="title", value="Сквер")["ok"]
    owner_client.wait_for_revision(before["revision"] + 1)
    assert marina_client.received == [] and marina_client.roadmap is None


def test_a_connection_without_a_valid_token_is_refused(live_server, world, marina):
    forged = world.token(marina)[:-4] + "AAAA"
    refused_auths = [
        None,
        {},
        {"token": None},
        {"token": 12345},
        {"token": "not-a-token"},
        {"token": forged},
        "a-string",
    ]
    accepted = []
    for auth in refused_auths:
        client = socketio.Client(reconnection=False)
        try:
            client.connect(live_server.url, auth=auth, transports=["websocket"], wait_timeout=5)
            accepted.append(auth)
        except socketio.exceptions.ConnectionError:
            pass
        finally:
            client.shutdown()
    assert accepted == []


def test_presence_shows_who_is_in_the_map_and_what_they_edit_until_they_disconnect(clients, group, marina, oleg):
    roadmap_id = group.roadmap.id
    marina_client = clients.connect(marina, roadmap_id)
    oleg_client = clients.connect(oleg, roadmap_id)
    step_id = new_op_id()

    def oleg_entry():
        return next((person for person in marina_client.people_present() if person["id"] == oleg.id), None)

    marina_client.wait_until(lambda: oleg_entry() is not None, what="Oleg in presence")
    assert oleg_entry()["name"] == "Олег" and oleg_entry()["focus"] == []

    assert oleg_client.focus({"field": "description", "step_id": step_id}) == {"ok": True}
    marina_client.wait_until(lambda: (oleg_entry() or {}).get("focus"), what="Oleg's focus")
    assert oleg_entry()["focus"] == [{"field": "description", "step_id": step_id}]

    oleg_client.close()
    marina_client.wait_until(lambda: oleg_entry() is None, what="Oleg gone from presence")
    assert [person["id"] for person in marina_client.people_present()] == [marina.id]
