"""What one participant can make the server do: how fast, over how many connections, how big a map.

An op flood is answered `rate_limited` while another person's edits go through;
connections beyond a person's or an address's cap are refused at connect; a map
holds at most MAX_STEPS_PER_MAP steps, MAX_STAKEHOLDERS_PER_MAP stakeholders and
MAX_LINKS_PER_MAP links, whether the edits come over the socket or HTTP.
"""

from __future__ import annotations

import threading

import pytest
import socketio
from conftest import LiveServer
from sqlalchemy import func, select

from roadmap.domain.limits import MAX_LINKS_PER_MAP, MAX_STAKEHOLDERS_PER_MAP, MAX_STEPS_PER_MAP
from roadmap.extensions import db
from roadmap.models import Step, StepStakeholder
from roadmap.services import editing
from tests.browsing import WAIT_MS, join, settles, wait_for_element
from tests.livesync import SyncClient, SyncClients, new_op_id

pytestmark = pytest.mark.live


@pytest.fixture
def serve(app, database_url, tmp_path):
    """Start a live server with some settings of its own; stopped after the test."""
    started = []

    def start(**settings) -> LiveServer:
        server = LiveServer(
            database_url,
            app.instance_path,
            tmp_path / f"server-{len(started)}.log",
            extra_env={name: str(value) for name, value in settings.items()},
        )
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def connect_to(world):
    """Open SyncClients against a given server; all closed after the test."""
    opened = []

    def connect(server: LiveServer, person, roadmap_id: int | None = None) -> SyncClient:
        group = SyncClients(server.url, world.token)
        opened.append(group)
        return group.connect(person, roadmap_id)

    yield connect
    for group in opened:
        group.close_all()


def add(roadmap_id: int, actor, op_type: str, **fields) -> None:
    editing.apply({"op_id": new_op_id(), "roadmap_id": roadmap_id, "type": op_type, **fields}, actor=actor)


def add_steps(roadmap_id: int, actor, count: int) -> list[str]:
    step_ids = [new_op_id() for _ in range(count)]
    for number, step_id in enumerate(step_ids):
        add(roadmap_id, actor, "step.add", step_id=step_id, fields={"title": f"Шаг {number + 1}"})
    return step_ids


def add_stakeholders(roadmap_id: int, actor, count: int) -> list[str]:
    stakeholder_ids = [new_op_id() for _ in range(count)]
    for number, stakeholder_id in enumerate(stakeholder_ids):
        add(roadmap_id, actor, "stakeholder.add", stakeholder_id=stakeholder_id, fields={"name": f"Сторона {number}"})
    return stakeholder_ids


def live_steps(roadmap_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.count()).select_from(Step).where(Step.roadmap_id == roadmap_id, Step.deleted_at.is_(None))
    )


def pipelined(client: SyncClient, ops: list[dict], timeout: float) -> list[dict]:
    """Send every op without waiting for acks, as a flooding client does; their acks in order."""
    acks: dict[int, dict] = {}
    every_ack = threading.Condition()

    def keep(number):
        def on_ack(ack):
            with every_ack:
                acks[number] = ack
                every_ack.notify_all()

        return on_ack

    for number, op in enumerate(ops):
        client.sio.emit("op", op, callback=keep(number))
    with every_ack:
        assert every_ack.wait_for(lambda: len(acks) == len(ops), timeout), f"{len(acks)} of {len(ops)} acks"
    return [acks[number] for number in range(len(ops))]


def step_adds(roadmap_id: int, count: int) -> list[dict]:
    return [
        {
            "op_id": new_op_id(),
            "roadmap_id": roadmap_id,
            "type": "step.add",
            "step_id": new_op_id(),
            "fields": {"title": f"Шаг {number}"},
        }
        for number in range(count)
    ]


def codes(acks: list[dict]) -> list[str]:
    return ["ok" if ack["ok"] else ack["error"]["code"] for ack in acks]


# --- the rate of events ---------------------------------------------------------------------


def test_an_op_flood_is_answered_rate_limited_while_another_persons_edits_succeed(clients, group, marina, oleg):
    roadmap_id = group.roadmap.id
    flooder, editor = clients.connect(marina, roadmap_id), clients.connect(oleg, roadmap_id)
    flood = {}
    flooding = threading.Thread(
        target=lambda: flood.setdefault("acks", pipelined(flooder, step_adds(roadmap_id, 400), timeout=60))
    )
    flooding.start()
    editor_acks = [editor.send_op("map.set", field="goal", value=f"Цель {number}") for number in range(10)]
    flooding.join(timeout=90)

    assert all(ack["ok"] for ack in editor_acks), editor_acks
    flood_codes = codes(flood["acks"])
    assert set(flood_codes) == {"ok", "rate_limited"}
    assert flood_codes.count("rate_limited") >= 200, flood_codes.count("ok")
    refused = next(ack for ack in flood["acks"] if not ack["ok"])
    assert refused["error"]["message"]
    assert live_steps(roadmap_id) == flood_codes.count("ok")


def test_a_browser_sends_rate_limited_ops_again_and_loses_none(chromium, serve, training, group):
    server = serve(SOCKET_EVENT_BURST=4, SOCKET_EVENTS_PER_SECOND=2)
    context, page = join(chromium, server, training.join_code, "Марина")
    refusals = []
    page.on(
        "websocket",
        lambda socket: socket.on(
            "framereceived", lambda frame: refusals.append(frame) if "rate_limited" in str(frame) else None
        ),
    )
    page.reload()  # the socket opened after the listener, so its frames are seen
    wait_for_element(page, '#connection[data-state="online"]', timeout=WAIT_MS)
    titles = [f"Шаг {number}" for number in range(12)]
    for title in titles:
        page.fill("#new-step-title", title)
        page.press("#new-step-title", "Enter")

    all_sent = "() => document.querySelector('#connection .connection-pending').textContent === ''"
    assert settles(page, all_sent, timeout=40_000), page.text_content("#connection")
    assert refusals, "the server never answered rate_limited"
    db.session.expire_all()
    assert sorted(step.title for step in group.roadmap.steps if step.deleted_at is None) == sorted(titles)
    context.close()


# --- connections ----------------------------------------------------------------------------


def refusal_of(server: LiveServer, token: str) -> dict | None:
    """The connect_error data when the server refuses a new connection with this token, else None."""
    sio = socketio.Client(reconnection=False)
    refused = []
    sio.on("connect_error", refused.append)
    try:
        sio.connect(server.url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    except socketio.exceptions.ConnectionError:
        return refused[0] if refused else {"message": "?"}
    sio.disconnect()
    return None


def test_a_person_gets_no_more_connections_than_the_cap(serve, connect_to, world, group, marina):
    server = serve(SOCKET_CONNECTIONS_PER_PERSON=3)
    held = [connect_to(server, marina) for _ in range(3)]
    assert refusal_of(server, world.token(marina)) == {"message": "too_many_connections"}
    assert refusal_of(server, world.token(world.member(group, "Олег"))) is None

    held[0].disconnect()
    assert refusal_of(server, world.token(marina)) is None


def test_one_address_gets_no_more_connections_than_the_cap(serve, connect_to, world, group):
    server = serve(SOCKET_CONNECTIONS_PER_ADDRESS=3)
    for name in ("Марина", "Олег", "Ирина"):
        connect_to(server, world.member(group, name))
    assert refusal_of(server, world.token(world.member(group, "Пётр"))) == {"message": "too_many_connections"}


# --- how much a map holds -------------------------------------------------------------------


def test_a_map_at_the_step_cap_refuses_one_more_step_over_the_socket(clients, group, marina):
    roadmap_id = group.roadmap.id
    step_ids = add_steps(roadmap_id, marina, MAX_STEPS_PER_MAP)
    client = clients.connect(marina, roadmap_id)

    refused = client.send_op("step.add", step_id=new_op_id(), fields={"title": "Ещё один"})
    assert refused["error"]["code"] == "too_many_steps"
    assert refused["error"]["max"] == MAX_STEPS_PER_MAP
    assert "столько шагов, сколько она может вместить" in refused["error"]["message"]  # Russian by default

    # A deleted step frees its place; restoring it then needs a free place again.
    assert client.send_op("step.delete", step_id=step_ids[0])["ok"]
    assert client.send_op("step.add", step_id=new_op_id(), fields={"title": "Вместо первого"})["ok"]
    assert client.send_op("step.restore", step_id=step_ids[0])["error"]["code"] == "too_many_steps"
    assert live_steps(roadmap_id) == MAX_STEPS_PER_MAP


def test_a_3000_step_attempt_over_the_socket_stops_at_the_cap(serve, connect_to, group, marina):
    server = serve(SOCKET_EVENTS_PER_SECOND=0)  # no rate limit: only the cap stops it
    roadmap_id = group.roadmap.id
    client = connect_to(server, marina, roadmap_id)

    # In rounds of 500: python-socketio's client stalls with 3,000 unanswered events in flight.
    flood_codes = [code for _ in range(6) for code in codes(pipelined(client, step_adds(roadmap_id, 500), timeout=60))]

    assert flood_codes[:MAX_STEPS_PER_MAP] == ["ok"] * MAX_STEPS_PER_MAP
    assert set(flood_codes[MAX_STEPS_PER_MAP:]) == {"too_many_steps"}
    assert live_steps(roadmap_id) == MAX_STEPS_PER_MAP


def post_op(client, token: str, roadmap_id: int, op_type: str, **fields):
    return client.post(
        f"/api/maps/{roadmap_id}/ops",
        headers={"Authorization": f"Bearer {token}"},
        json={"op_id": new_op_id(), "type": op_type, **fields},
    )


def test_a_map_at_the_stakeholder_cap_refuses_one_more_over_http(client, world, group, marina):
    roadmap_id = group.roadmap.id
    first, *_ = add_stakeholders(roadmap_id, marina, MAX_STAKEHOLDERS_PER_MAP)
    token = world.token(marina)

    refused = post_op(client, token, roadmap_id, "stakeholder.add", stakeholder_id=new_op_id(), fields={"name": "Ещё"})
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "too_many_stakeholders"

    assert post_op(client, token, roadmap_id, "stakeholder.delete", stakeholder_id=first).status_code == 200
    assert (
        post_op(
            client, token, roadmap_id, "stakeholder.add", stakeholder_id=new_op_id(), fields={"name": "Вместо первой"}
        ).status_code
        == 200
    )
    restored = post_op(client, token, roadmap_id, "stakeholder.restore", stakeholder_id=first)
    assert restored.json["error"]["code"] == "too_many_stakeholders"


def test_a_map_at_the_link_cap_refuses_one_more_link_over_http(client, world, group, marina):
    roadmap_id = group.roadmap.id
    per_step = 50
    step_ids = add_steps(roadmap_id, marina, MAX_LINKS_PER_MAP // per_step + 1)
    stakeholder_ids = add_stakeholders(roadmap_id, marina, per_step)
    # A thousand link ops take 20 s; the rows they would write are the same.
    db.session.add_all(
        StepStakeholder(step_id=step_id, stakeholder_id=stakeholder_id)
        for step_id in step_ids[:-1]
        for stakeholder_id in stakeholder_ids
    )
    db.session.commit()
    token = world.token(marina)

    refused = post_op(client, token, roadmap_id, "step.link", step_id=step_ids[-1], stakeholder_id=stakeholder_ids[0])
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "too_many_links"
    # Linking what is linked already adds nothing, so it is not refused.
    again = post_op(client, token, roadmap_id, "step.link", step_id=step_ids[0], stakeholder_id=stakeholder_ids[0])
    assert again.status_code == 200
