"""Two server processes on one PostgreSQL database and one Redis message queue, as deployed.

A participant on each process works in the same map: everything one does or is shown
reaches the other. Departures and revoked links reach connections on either process,
and a process killed outright loses no acknowledged edit: its clients reconnect, through
a round-robin front like nginx's, to the one left.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid

import pytest
import socketio

from roadmap.services import share_links
from tests.conftest import LiveServer
from tests.livesync import DROPPED, WAIT_TIMEOUT, SyncClients, new_op_id
from tests.realtime.test_facilitation_live import Inbox, ModeratorDesk, csrf_token, summary_of

pytestmark = [
    pytest.mark.live,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]


@pytest.fixture
def processes(app, database_url, tmp_path):
    """Two live servers sharing the database and a message-queue channel of their own."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set: two processes pass Socket.IO messages through Redis (.ci/run sets it)")
    shared = {"SOCKETIO_MESSAGE_QUEUE": os.environ["REDIS_URL"], "SOCKETIO_CHANNEL": f"roadmap-test-{uuid.uuid4().hex}"}
    servers = [
        LiveServer(database_url, app.instance_path, tmp_path / f"server-{name}.log", extra_env=shared)
        for name in ("a", "b")
    ]
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def on_a(processes, world):
    opened = SyncClients(processes[0].url, world.token)
    yield opened
    opened.close_all()


@pytest.fixture
def on_b(processes, world):
    opened = SyncClients(processes[1].url, world.token)
    yield opened
    opened.close_all()


@pytest.fixture
def desk_on_a(processes, moderator, training) -> ModeratorDesk:
    return ModeratorDesk(processes[0].url, moderator, training)


def adds_step(step_id: str):
    return lambda change: change["op"].get("step_id") == step_id


def present_ids(client) -> set[int]:
    return {person["id"] for person in client.people_present()}


# --- what crosses between the processes ------------------------------------------------------


def test_an_edit_and_presence_cross_between_processes(on_a, on_b, group, marina, oleg):
    marina_client = on_a.connect(marina, group.roadmap.id)
    oleg_client = on_b.connect(oleg, group.roadmap.id)
    marina_client.wait_until(lambda: present_ids(marina_client) == {marina.id, oleg.id}, what="Oleg present")

    step_id = new_op_id()
    added = marina_client.send_op("step.add", step_id=step_id, fields={"title": "Собрать жителей"})
    assert added["ok"], added
    oleg_client.wait_for_revision(added["revision"])
    assert oleg_client.focus({"step_id": step_id, "field": "title"})["ok"]

    marina_client.wait_until(
        lambda: any(person["focus"] for person in marina_client.people_present() if person["id"] == oleg.id),
        what="Oleg's focus",
    )
    assert [step["title"] for step in oleg_client.map_copy()["steps"]] == ["Собрать жителей"]


def test_the_dashboard_on_one_process_hears_edits_through_the_other_once_a_push(
    on_a, on_b, moderator, training, group, marina, oleg
):
    dashboard = on_b.connect(moderator)
    inbox = Inbox(dashboard, "dashboard")
    watched = dashboard.call("watch", {"training_id": training.id})
    steps_before = next(summary["steps"] for summary in watched["groups"] if summary["group_id"] == group.id)
    marina_client, oleg_client = on_a.connect(marina, group.roadmap.id), on_b.connect(oleg, group.roadmap.id)
    burst = 20

    acks = [
        (marina_client if number % 2 else oleg_client).send_op(
            "step.add", step_id=new_op_id(), fields={"title": f"Шаг {number}"}
        )
        for number in range(burst)
    ]
    assert all(ack["ok"] for ack in acks), acks
    inbox.wait_for(
        "dashboard",
        lambda event: (summary_of(event, group.id) or {}).get("steps") == steps_before + burst,
        what=f"{steps_before + burst} steps",
    )

    updates = [
        summary
        for event in inbox.of("dashboard")
        if (summary := summary_of(event, group.id)) and summary["steps"] > steps_before
    ]
    revisions = [summary["revision"] for summary in updates]
    # One pusher for both processes: no state is sent twice, as two pushers would each send theirs.
    assert len(revisions) == len(set(revisions)), revisions


def test_timers_announcements_votes_and_the_lock_cross_between_processes(desk_on_a, on_a, on_b, group, marina, oleg):
    marina_client, oleg_client = on_a.connect(marina, group.roadmap.id), on_b.connect(oleg, group.roadmap.id)
    step_id = new_op_id()
    assert marina_client.send_op("step.add", step_id=step_id, fields={"title": "Сход жителей"})["ok"]
    oleg_inbox = Inbox(oleg_client, "timer", "announcement", "vote")

    started = desk_on_a.timer("start", minutes="10", label="Работа в группах")["timer"]
    oleg_inbox.wait_for("timer", lambda event: event["timer"]["id"] == started["id"], what="the timer")
    desk_on_a.announce("Через 5 минут перерыв")
    oleg_inbox.wait_for(
        "announcement", lambda event: event["announcement"]["text"] == "Через 5 минут перерыв", what="the announcement"
    )
    desk_on_a.open_vote(dots=2, hide_results=False)
    vote = oleg_inbox.wait_for("vote", lambda event: event["vote"] and not event["vote"]["closed"], what="the vote")
    assert marina_client.call("dot", {"vote_id": vote["vote"]["id"], "step_id": step_id, "action": "add"})["ok"]
    oleg_inbox.wait_for(
        "vote", lambda event: event["vote"] and (event["vote"]["results"] or {}).get(step_id) == 1, what="Marina's dot"
    )

    desk_on_a.lock(True, group_id=str(group.id))
    oleg_client.wait_until(lambda: oleg_client.roadmap["locked"] is True, what="the lock")
    refused = oleg_client.send_op("step.set", step_id=step_id, field="title", value="Сход")
    assert refused["error"]["code"] == "locked"


# --- what reaches connections on the other process ----------------------------------------------


def test_revoking_a_read_only_link_disconnects_its_viewers_on_every_process(processes, group, moderator, desk_on_a):
    view = share_links.share(group.roadmap, moderator, "view")
    cut = {server.url: threading.Event() for server in processes}
    viewers = []
    for server in processes:
        viewer = socketio.Client(reconnection=False)
        viewer.on("disconnect", lambda *reason, url=server.url: cut[url].set())
        viewer.connect(
            server.url,
            auth={"share": share_links.link_token(view)},
            transports=["websocket"],
            wait_timeout=WAIT_TIMEOUT,
        )
        viewers.append(viewer)
    try:
        share_page = desk_on_a.browser.get(f"{processes[0].url}/maps/{group.roadmap.id}/share", timeout=10)
        revoked = desk_on_a.browser.post(
            f"{processes[0].url}/maps/{group.roadmap.id}/share/view",
            timeout=10,
            data={"action": "revoke", "csrf_token": csrf_token(share_page.text)},
        )
        assert revoked.status_code == 200

        assert all(event.wait(WAIT_TIMEOUT) for event in cut.values()), {url: e.is_set() for url, e in cut.items()}
    finally:
        for viewer in viewers:
            viewer.shutdown()


@pytest.fixture
def other_group(world, training):
    return world.group(training, name="Зелёный сквер", theme="landscaping")


def membership_id(person, group) -> int:
    return next(membership.id for membership in person.memberships if membership.group_id == group.id)


DEPARTURES = {
    "removed": lambda group, other_group, marina: (f"memberships/{membership_id(marina, group)}/remove", {}),
    "moved": lambda group, other_group, marina: (
        f"memberships/{membership_id(marina, group)}/move",
        {"to_group_id": str(other_group.id)},
    ),
    "archived": lambda group, other_group, marina: (f"groups/{group.id}/archive", {"archived": "1"}),
}


@pytest.mark.parametrize("reason", sorted(DEPARTURES))
def test_a_member_sent_away_through_one_process_hears_nothing_more_on_the_other(
    reason, desk_on_a, on_b, group, other_group, moderator, marina
):
    marina_client = on_b.connect(marina, group.roadmap.id)
    stayed = on_b.connect(moderator, group.roadmap.id)  # on the same process, which emits to it directly
    marina_inbox = Inbox(marina_client, "left_group")
    path, fields = DEPARTURES[reason](group, other_group, marina)

    response = desk_on_a.browser.post(
        f"{desk_on_a.base_url}/moderate/{path}",
        data={"csrf_token": desk_on_a.csrf_token, **fields},
        headers={"X-Requested-With": "fetch"},
        timeout=10,
    )
    assert response.status_code == 200 and response.json()["ok"], response.text

    notice = marina_inbox.wait_for("left_group", lambda notice: True, f"the {reason} notice")
    assert notice["reason"] == reason
    step_id = new_op_id()
    assert stayed.send_op("step.add", step_id=step_id, fields={"title": "Позвать управляющую компанию"})["ok"]
    stayed.wait_until(lambda: any(map(adds_step(step_id), stayed.received)), what="the new step's change")
    marina_client.call("focus", {"focus": None})  # answered after anything queued for her before it
    assert not any(map(adds_step(step_id), list(marina_client.received)))


# --- a process killed outright ---------------------------------------------------------------------


class Front:
    """A TCP front on 127.0.0.1 handing each new connection to the next live backend in turn,
    as nginx's round robin with failover does: a backend that refuses is skipped."""

    def __init__(self, backend_ports: list[int]):
        self.backend_ports = backend_ports
        self.turn = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            backend = self._connect_backend()
            if backend is None:
                client.close()
                continue
            for source, target in ((client, backend), (backend, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _connect_backend(self) -> socket.socket | None:
        for _attempt in self.backend_ports:
            port = self.backend_ports[self.turn % len(self.backend_ports)]
            self.turn += 1
            try:
                return socket.create_connection(("127.0.0.1", port), timeout=2)
            except OSError:
                continue
        return None

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        source.settimeout(None)
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        for end in (source, target):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def front(processes):
    opened = Front([server.port for server in processes])
    yield opened
    opened.close()


def test_killing_one_process_loses_no_acknowledged_edit_and_its_clients_reconnect_to_the_other(
    processes, front, world, group, marina, oleg
):
    through_front = SyncClients(front.url, world.token)
    try:
        marina_client = through_front.connect(marina, group.roadmap.id)  # the front's first turn: process A
        oleg_client = through_front.connect(oleg, group.roadmap.id)  # its second: process B
        acked: list[tuple[str, int]] = []
        enough_before_the_kill = threading.Event()

        def edit_on() -> None:
            for number in range(300):
                step_id = new_op_id()
                ack = marina_client.call(
                    "op",
                    {
                        "op_id": step_id,
                        "roadmap_id": group.roadmap.id,
                        "type": "step.add",
                        "step_id": step_id,
                        "fields": {"title": f"Шаг {number}"},
                    },
                    or_dropped=True,
                )
                if ack is DROPPED:
                    return
                assert ack["ok"], ack
                acked.append((step_id, ack["revision"]))
                if len(acked) == 10:
                    enough_before_the_kill.set()

        editor = threading.Thread(target=edit_on)
        editor.start()
        assert enough_before_the_kill.wait(WAIT_TIMEOUT)
        processes[0].kill()
        editor.join(WAIT_TIMEOUT)
        assert not editor.is_alive()

        marina_client.wait_until(
            lambda: marina_client.connected and marina_client.disconnects >= 1 and len(marina_client.join_acks) >= 2,
            what="a reconnect to process B",
        )
        stored = {step["id"] for step in oleg_client.fresh_snapshot()["steps"]}
        assert {step_id for step_id, _revision in acked} <= stored
        after = marina_client.send_op("step.add", step_id=new_op_id(), fields={"title": "После сбоя"})
        assert after["ok"], after
        oleg_client.wait_for_revision(after["revision"])
        assert oleg_client.disconnects == 0
    finally:
        through_front.close_all()
