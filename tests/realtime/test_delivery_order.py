"""Duplicate and out-of-order delivery, in both directions.

Client to server: an op resent after its ack was lost with the connection is
applied once. Server to client: a client that receives the broadcasts
shuffled, duplicated and with gaps still ends with the server's map, because it
applies changes strictly in revision order and asks `catch_up` for the gaps.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from roadmap.domain.replay import empty_map, replay
from tests.fuzz.test_convergence import database_map, logged_changes, without_members
from tests.livesync import SyncClient, new_op_id

pytestmark = pytest.mark.live


@pytest.fixture
def group(world):
    return world.group()


def test_an_op_resent_after_its_ack_was_lost_with_the_connection_is_applied_once(clients, group, marina, oleg):
    roadmap_id = group.roadmap.id
    marina_client = clients.connect(marina, roadmap_id)
    oleg_client = clients.connect(oleg, roadmap_id)
    step_id = new_op_id()
    assert marina_client.send_op("step.add", step_id=step_id, fields={"title": "Опрос"})["ok"]
    payload = {
        "op_id": new_op_id(),
        "roadmap_id": roadmap_id,
        "type": "step.set",
        "step_id": step_id,
        "field": "description",
        "value": "Спросить 50 соседей",
        "base": "",
    }

    # Sent without an ack id, the op gets no ack whatever the timing: the client
    # learns nothing before its connection drops, just as when the ack is lost.
    marina_client.sio.emit("op", payload)
    oleg_client.wait_until(
        lambda: any(change["op_id"] == payload["op_id"] for change in oleg_client.received),
        what="the broadcast",
    )
    marina_client.disconnect()
    marina_client.reconnect()
    resent = marina_client.call("op", payload)
    fence = marina_client.send_op("map.set", field="title", value="После повтора")
    oleg_client.wait_for_revision(fence["revision"])
    marina_client.wait_for_revision(fence["revision"])

    assert (resent["ok"], resent["duplicate"], resent["revision"]) == (True, True, 2)
    assert fence["revision"] == 3
    assert [change["op_id"] for change in oleg_client.received].count(payload["op_id"]) == 1
    assert [change["op_id"] for change in logged_changes(roadmap_id)].count(payload["op_id"]) == 1
    stored = database_map(roadmap_id)
    assert stored["steps"][0]["description"] == "Спросить 50 соседей"
    for client in (marina_client, oleg_client):
        assert without_members(client.map_copy()) == stored


def make_history(author: SyncClient, member_id: int) -> int:
    """Every op type at least once, on a map author has joined. Returns the last revision."""
    first, second, third = new_op_id(), new_op_id(), new_op_id()
    school, park = new_op_id(), new_op_id()
    ops = [
        ("map.set", {"field": "title", "value": "Чистый двор"}),
        ("step.add", {"step_id": first, "fields": {"title": "Опрос", "due_on": "2027-05-01"}}),
        ("step.add", {"step_id": second, "after_id": None, "fields": {"title": "Сход"}}),
        ("step.add", {"step_id": third, "after_id": first, "fields": {"owner": {"member": member_id}}}),
        ("stakeholder.add", {"stakeholder_id": school, "fields": {"name": "Школа №5", "sector": "ngo"}}),
        ("stakeholder.add", {"stakeholder_id": park, "fields": {"name": "Парк"}}),
        ("step.link", {"step_id": first, "stakeholder_id": school}),
        ("step.link", {"step_id": first, "stakeholder_id": park}),
        ("step.link", {"step_id": second, "stakeholder_id": park}),
        ("step.set", {"step_id": first, "field": "description", "value": "Спросить соседей", "base": ""}),
        ("step.set", {"step_id": second, "field": "owner", "value": {"stakeholder": school}}),
        ("step.move", {"step_id": first, "after_id": None}),
        ("stakeholder.set", {"stakeholder_id": park, "field": "influence", "value": 5}),
        ("stakeholder.delete", {"stakeholder_id": park}),
        ("step.delete", {"step_id": second}),
        ("step.unlink", {"step_id": first, "stakeholder_id": school}),
        ("stakeholder.restore", {"stakeholder_id": park}),
        ("step.restore", {"step_id": second}),
        ("step.move", {"step_id": third, "after_id": second}),
        ("map.set", {"field": "goal", "value": "Раздельный сбор"}),
        ("step.delete", {"step_id": third}),
        ("step.set", {"step_id": first, "field": "status", "value": "done"}),
    ]
    for op_type, fields in ops:
        ack = author.send_op(op_type, **fields)
        assert ack["ok"], (op_type, ack)
    return ack["revision"]


def scrambled(changes: list[dict], rng: random.Random) -> tuple[list[dict], set[int]]:
    """The changes shuffled, some twice or three times, some never.

    The last one always arrives: a client learns of a gap only from a later change.
    """
    middle = [change["revision"] for change in changes[1:-1]]
    withheld = {rng.choice(middle)} | {revision for revision in middle if rng.random() < 0.25}
    if rng.random() < 0.5:
        withheld.add(changes[0]["revision"])
    delivered = [change for change in changes if change["revision"] not in withheld]
    delivered += [change for change in delivered if rng.random() < 0.4]
    delivered += [change for change in delivered if rng.random() < 0.2]
    rng.shuffle(delivered)
    return delivered, withheld


# One feeding thread, or four at once as python-socketio runs each message on its own thread.
@pytest.mark.parametrize("seed, feeders", [(1, 1), (2, 1), (3, 4), (4, 4)])
def test_a_client_fed_changes_shuffled_duplicated_and_with_gaps_catches_up_and_ends_with_the_servers_map(
    clients, group, marina, oleg, seed, feeders
):
    roadmap_id = group.roadmap.id
    # The reader joins at revision 0 and leaves the room: broadcasts reach it only through this test.
    reader = clients.connect(oleg, roadmap_id)
    assert reader.call("leave", {"roadmap_id": roadmap_id})["ok"]
    author = clients.connect(marina, roadmap_id)
    last_revision = make_history(author, marina.id)
    author.wait_for_revision(last_revision)
    history = author.applied
    assert [change["revision"] for change in history] == list(range(1, last_revision + 1))
    delivered, withheld = scrambled(history, random.Random(seed))
    assert reader.revision == 0 and reader.received == []

    with ThreadPoolExecutor(max_workers=feeders) as pool:
        # as the socket's change handler is called
        list(
            pool.map(
                lambda share: [reader._on_change(change) for change in share],
                [delivered[start::feeders] for start in range(feeders)],
            )
        )
    reader.wait_for_revision(last_revision)

    assert withheld and reader.catch_up_requests  # withheld changes can only come from catch_up
    assert reader.applied_revisions() == list(range(1, last_revision + 1))
    stored = database_map(roadmap_id)
    assert without_members(reader.map_copy()) == stored
    assert replay(empty_map(roadmap_id, group.theme), history) == stored
