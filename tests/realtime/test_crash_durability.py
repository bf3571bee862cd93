"""Crash durability: SIGKILL the server under load; no acknowledged op is lost.

Several clients send ops continuously, one in flight each, as the editor does.
The server is killed with SIGKILL twice, mid-load, and started again on the same
port (LiveServer keeps the port it picked). The clients reconnect by themselves
(python-socketio reconnection), rejoin from their revision, and resend the op
whose ack the crash swallowed, with the same op id (protocol section 14).

Then every client's copy, the database and the replayed change log must agree,
every op any client saw acknowledged must be in the change log with the same
op id and the same revision (lost ops = 0), and every resent op must be logged
exactly once. The report is printed and written to
test-artifacts/crash_durability.txt.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter

import pytest

from tests.fuzz.test_convergence import (
    Ledger,
    MapUnderTest,
    ResendingClient,
    compare_everything,
    logged_changes,
    write_report,
)
from tests.livesync import new_op_id

pytestmark = pytest.mark.live

WRITERS = 5
CRASHES = 2
OPS_BETWEEN_CRASHES = 60  # acknowledged ops before each kill, and after the last restart
MAX_OPS_PER_WRITER = 1000
RUN_SECONDS = 120.0
REPORT_LINES: list[str] = []


class Load(Ledger):
    """The deliveries of all writers; the test waits on their progress and stops them."""

    def __init__(self):
        super().__init__()
        self.stop = threading.Event()

    def acked(self) -> int:
        with self.condition:
            return sum(delivery.acked for delivery in self.deliveries)

    def wait_for_acked(self, count: int, deadline: float) -> None:
        done = self.wait_for(lambda: sum(d.acked for d in self.deliveries) >= count or self.errors, deadline)
        assert done and not self.errors, f"load stalled at {self.acked()} acks (wanted {count}): {self.errors}"


def edits_of_one_writer(client: ResendingClient, writer: int):
    """An endless, varied stream of ops that all succeed: the writer's own steps, a shared field."""
    own_step, own_stakeholder = new_op_id(), new_op_id()
    yield {"type": "step.add", "step_id": own_step, "fields": {"title": f"Шаг {writer}"}}
    yield {"type": "stakeholder.add", "stakeholder_id": own_stakeholder, "fields": {"name": f"Сосед {writer}"}}
    for number in itertools.count():
        local = client.map_copy()
        step = next((step for step in local["steps"] if step["id"] == own_step), None)
        description = step["description"] if step else ""
        kind = number % 6
        if kind == 0:
            yield {
                "type": "step.set",
                "step_id": own_step,
                "field": "description",
                "value": f"{description} {writer}.{number}"[-2000:],
                "base": description,
            }
        elif kind == 1:
            yield {
                "type": "map.set",
                "field": "goal",
                "value": f"{local['goal']} {writer}.{number}"[-2000:],
                "base": local["goal"],
            }
        elif kind == 2:
            yield {
                "type": "step.add",
                "step_id": new_op_id(),
                "after_id": own_step,
                "fields": {"title": f"Подшаг {writer}.{number}"},
            }
        elif kind == 3:
            yield {"type": "step.move", "step_id": own_step, "after_id": None}
        elif kind == 4:
            yield {
                "type": ("step.link", "step.unlink")[number % 2],
                "step_id": own_step,
                "stakeholder_id": own_stakeholder,
            }
        else:
            yield {
                "type": "step.set",
                "step_id": own_step,
                "field": "status",
                "value": ("planned", "in_progress", "done", "blocked")[number % 4],
            }


def write_continuously(writer: int, client: ResendingClient, roadmap_id: int, load: Load, deadline: float):
    """One op in flight at a time, with no pause between ops, until the test says stop."""
    try:
        edits = edits_of_one_writer(client, writer)
        for _ in range(MAX_OPS_PER_WRITER):
            if load.stop.is_set():
                break
            payload = {"op_id": new_op_id(), "roadmap_id": roadmap_id, **next(edits)}
            load.record(client.submit(payload, deadline))
        load.finish(writer)
    except Exception as error:  # reported by the test
        load.finish(writer, f"{client.name}: {error!r}")


def kill_and_restart(live_server, clients: list[ResendingClient], kills_so_far: int) -> None:
    """SIGKILL, then the same command on the same port once every client has seen the drop."""
    port = live_server.port
    # Each kill is to cut live connections: a client still reconnecting from the last
    # restart would see no drop to count (the other writers can ack 60 ops first).
    for client in clients:
        client.wait_until(lambda client=client: client.connected, what="a reconnect")
    live_server.kill()
    for client in clients:
        client.wait_until(lambda client=client: client.disconnects > kills_so_far, what="the kill")
    live_server.start()
    assert live_server.port == port  # the clients reconnect to the address they know


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_every_acknowledged_op_survives_server_kills_and_unacknowledged_ones_are_resent_and_applied_once(
    world, live_server, database_url
):
    started = time.monotonic()
    deadline = started + RUN_SECONDS
    group = world.group()
    people = [world.member(group, f"Участник {writer}") for writer in range(WRITERS)]
    home = MapUnderTest(group.roadmap.id, group.theme, [person.id for person in people])
    home.clients = [
        ResendingClient(live_server.url, world.token(person), name=f"w{number}") for number, person in enumerate(people)
    ]
    load = Load()
    acked_at_kills = []
    try:
        for client in home.clients:
            client.connect()
            assert client.join(home.roadmap_id)["ok"]
        writers = [
            threading.Thread(target=write_continuously, args=(writer, client, home.roadmap_id, load, deadline))
            for writer, client in enumerate(home.clients)
        ]
        for writer in writers:
            writer.start()
        for kills_so_far in range(CRASHES):
            load.wait_for_acked(load.acked() + OPS_BETWEEN_CRASHES, deadline)
            acked_at_kills.append(load.acked())
            kill_and_restart(live_server, home.clients, kills_so_far)
        load.wait_for_acked(load.acked() + OPS_BETWEEN_CRASHES, deadline)
        load.stop.set()
        for writer in writers:
            writer.join(timeout=max(1.0, deadline - time.monotonic()))
        assert not any(writer.is_alive() for writer in writers), "a writer overran the deadline"
        assert load.errors == []
        findings = compare_everything([home], load)
    finally:
        for client in home.clients:
            client.close()

    changes = logged_changes(home.roadmap_id)
    revision_of = {change["op_id"]: change["revision"] for change in changes}
    acked = [delivery for delivery in load.deliveries if delivery.acked]
    lost = [delivery.op_id for delivery in acked if revision_of.get(delivery.op_id) != delivery.ack["revision"]]
    resent = [delivery for delivery in load.deliveries if delivery.attempts > 1]
    report = (
        f"crash_durability[{database_url.split(':')[0]}]: writers={WRITERS} kills={CRASHES} "
        f"acked_when_killed={acked_at_kills} acked={len(acked)} lost={len(lost)} "
        f"rejected={len(load.deliveries) - len(acked)} resent_after_reconnect={len(resent)} "
        f"resent_but_applied_before_the_kill={sum(d.ack['duplicate'] for d in resent if d.acked)} "
        f"revisions={findings.revisions[0]} divergences={len(findings.divergences)} "
        f"log_problems={len(findings.log_problems)} seconds={time.monotonic() - started:.1f}"
    )
    print("\n" + report)
    REPORT_LINES.append(report)
    write_report(
        "crash_durability.txt",
        [*REPORT_LINES, *findings.divergences, *findings.log_problems, *(f"lost: {op_id}" for op_id in lost)],
    )

    assert lost == []
    assert resent, "no op was in flight at a kill, so resending was not exercised"
    logged_times = Counter(change["op_id"] for change in changes)
    assert all(logged_times[delivery.op_id] == 1 for delivery in resent)  # applied once, not lost
    assert findings.log_problems == []  # among them: each acked op logged once, at its revision
    assert findings.divergences == []
    assert len(acked) == len(load.deliveries), [d.ack for d in load.deliveries if not d.acked][:5]
