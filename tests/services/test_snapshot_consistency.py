"""A snapshot is the map exactly at its revision, however busy the map, on SQLite and PostgreSQL.

A snapshot is read in several statements, and under PostgreSQL's READ COMMITTED
each statement sees whatever has committed by the time it starts. On a live
server three writers add, link and delete steps and stakeholders on one map
while a reader takes snapshots through `join` and `catch_up` (since_revision
null) and `GET /api/maps/<id>`; afterwards every snapshot is compared with the
change log replayed to the snapshot's revision. The service-level tests commit
edits between a snapshot's statements on purpose, from another connection.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass

import pytest
import requests
from conftest import ARTIFACTS, new_id
from sqlalchemy import event, select

from roadmap.domain.permissions import Actor
from roadmap.domain.replay import empty_map, replay
from roadmap.extensions import db
from roadmap.models import Change, Roadmap
from roadmap.services import editing, snapshots
from tests.fuzz.test_convergence import differences, without_members

on_both_databases = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)

WRITERS = 3
SNAPSHOTS_PER_CHANNEL = 110  # through join, catch_up and the HTTP API: 330 in all
MIN_SNAPSHOTS_DURING_WRITES = 300
CYCLES_PER_WRITER = 600  # bounds on the writers, who stop as soon as the reader is done
RUN_SECONDS = 60.0
CALL_TIMEOUT = 10.0
CHANNELS = ("join", "catch_up", "api")


@pytest.fixture
def live_server(unthrottled_live_server):
    """The writers send as fast as they can, far faster than a person types."""
    return unthrottled_live_server


def database_name(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


def maps_at(roadmap_id: int, theme: str, revisions: set[int]) -> dict[int, dict]:
    """The map replayed from the change log to each of `revisions`."""
    db.session.commit()  # end any read snapshot this session holds (SQLite WAL)
    log = [
        {"revision": revision, "op": op}
        for revision, op in db.session.execute(
            select(Change.revision, Change.op).where(Change.roadmap_id == roadmap_id).order_by(Change.revision)
        )
    ]
    replayed, current = {}, empty_map(roadmap_id, theme)
    for revision in sorted(revisions):
        current = replay(current, log[current["revision"] : revision])
        replayed[revision] = current
    return replayed


# --- under load, on a live server ----------------------------------------------------


def write_in_cycles(
    client, roadmap_id: int, stop: threading.Event, first_write: threading.Event, acked: Counter, errors: list
) -> None:
    """Add a step and a stakeholder, link them, delete the pair added one cycle before; until stopped."""
    deadline = time.monotonic() + RUN_SECONDS
    previous = None
    try:
        for cycle in range(CYCLES_PER_WRITER):
            if stop.is_set() or time.monotonic() > deadline:
                return
            step_id, stakeholder_id = new_id(), new_id()
            ops = [
                ("step.add", {"step_id": step_id, "fields": {"title": f"Шаг {cycle}"}}),
                ("stakeholder.add", {"stakeholder_id": stakeholder_id, "fields": {"name": f"Сосед {cycle}"}}),
                ("step.link", {"step_id": step_id, "stakeholder_id": stakeholder_id}),
            ]
            if previous:
                ops += [
                    ("step.delete", {"step_id": previous[0]}),
                    ("stakeholder.delete", {"stakeholder_id": previous[1]}),
                ]
            for op_type, keys in ops:
                ack = client.send_op(op_type, roadmap_id=roadmap_id, **keys)
                if not ack.get("ok"):
                    errors.append(f"{client.name} {op_type}: {ack}")
                    return
                acked[op_type] += 1
                first_write.set()
            previous = step_id, stakeholder_id
    except Exception as error:  # reported by the test
        errors.append(f"{client.name}: {error!r}")


@dataclass
class Taken:
    channel: str
    labelled: int  # the revision the answer gives
    snapshot: dict
    during_writes: bool


def snapshot_takers(reader, live_server, token: str, roadmap_id: int) -> dict:
    """For each channel, a call that returns (the revision the answer gives, the snapshot)."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"

    def by_socket(event_name):
        def take():
            ack = reader.call(event_name, {"roadmap_id": roadmap_id, "since_revision": None}, timeout=CALL_TIMEOUT)
            assert ack["ok"], ack
            return ack["revision"], ack["snapshot"]

        return take

    def by_http():
        response = http.get(f"{live_server.url}/api/maps/{roadmap_id}", timeout=CALL_TIMEOUT)
        assert response.status_code == 200, response.text
        snapshot = response.json()["snapshot"]
        return snapshot["revision"], snapshot

    return {"join": by_socket("join"), "catch_up": by_socket("catch_up"), "api": by_http}


def inconsistent(taken: Taken, replayed: dict[int, dict]) -> list[str]:
    """How the snapshot differs from the map at its revision; empty when it does not."""
    revision = taken.snapshot["revision"]
    found = [] if taken.labelled == revision else [f"the answer says revision {taken.labelled}"]
    return found + differences(replayed[revision], without_members(taken.snapshot))


@pytest.mark.live
@on_both_databases
def test_every_snapshot_taken_during_concurrent_writes_is_the_map_at_its_revision(
    world, group, live_server, clients, database_url
):
    roadmap_id = group.roadmap.id
    writers = [clients.connect(world.member(group, f"Пишущий {number}")) for number in range(WRITERS)]
    reader_person = world.member(group, "Читающая")
    reader = clients.connect(reader_person)
    take = snapshot_takers(reader, live_server, world.token(reader_person), roadmap_id)
    stop, first_write = threading.Event(), threading.Event()
    acked, errors = Counter(), []
    threads = [
        threading.Thread(target=write_in_cycles, args=(writer, roadmap_id, stop, first_write, acked, errors))
        for writer in writers
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    taken: list[Taken] = []
    try:
        assert first_write.wait(CALL_TIMEOUT), errors
        for _ in range(SNAPSHOTS_PER_CHANNEL):
            for channel in CHANNELS:
                labelled, snapshot = take[channel]()
                taken.append(Taken(channel, labelled, snapshot, all(thread.is_alive() for thread in threads)))
    finally:
        stop.set()
        for thread in threads:
            thread.join(CALL_TIMEOUT + 5)
    seconds = time.monotonic() - started

    replayed = maps_at(roadmap_id, group.theme, {item.snapshot["revision"] for item in taken})
    wrong = [(item, found) for item in taken if (found := inconsistent(item, replayed))]
    during = [item for item in taken if item.during_writes]
    report = (
        f"snapshot_consistency[{database_name(database_url)}]: snapshots={len(taken)} "
        f"during_writes={len(during)} {dict(Counter(item.channel for item in during))} "
        f"inconsistent={len(wrong)} {dict(Counter(item.channel for item, _ in wrong))} "
        f"revisions={max(replayed, default=0)} ops_acked={sum(acked.values())} seconds={seconds:.1f}"
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "snapshot_consistency.txt", "a", encoding="utf-8") as report_file:
        report_file.write(report + "\n")
    print(report)

    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    assert len(during) >= MIN_SNAPSHOTS_DURING_WRITES, report
    assert wrong == [], f"{report}; first: {wrong[0][0].channel} at {wrong[0][0].snapshot['revision']}: {wrong[0][1]}"


# --- at the service level, with edits committed between a snapshot's statements ----------


def add_linked_pair(app, actor: Actor, roadmap_id: int) -> None:
    """A new step and stakeholder, linked: three edits in a session (and connection) of their own."""
    step_id, stakeholder_id = new_id(), new_id()
    with app.app_context():
        for op_type, keys in (
            ("step.add", {"step_id": step_id, "fields": {"title": "Поставить контейнеры"}}),
            ("stakeholder.add", {"stakeholder_id": stakeholder_id, "fields": {"name": "Управляющая компания"}}),
            ("step.link", {"step_id": step_id, "stakeholder_id": stakeholder_id}),
        ):
            editing.apply({"op_id": new_id(), "roadmap_id": roadmap_id, "type": op_type, **keys}, actor=actor)


class EditsBetweenStatements:
    """Before each statement this thread runs after its first, another connection commits edits,
    as a busy map would; until `limit` went in, or one had to wait (a reader holding edits off)."""

    def __init__(self, app, actor: Actor, roadmap_id: int, limit: int, patience_seconds: float = 2.0):
        self.edit = lambda: add_linked_pair(app, actor, roadmap_id)
        self.limit, self.patience_seconds = limit, patience_seconds
        self.reader = threading.current_thread()
        self.statements = 0
        self.committed = 0
        self.held_off: list[threading.Thread] = []
        self.errors: list[str] = []

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self._before_statement)
        return self

    def __exit__(self, *_exc):
        event.remove(db.engine, "before_cursor_execute", self._before_statement)

    def _before_statement(self, *_args):
        if threading.current_thread() is not self.reader:
            return  # the edits' own statements
        self.statements += 1
        if self.statements == 1 or self.held_off or self.committed >= self.limit:
            return
        editor = threading.Thread(target=self._edit)
        editor.start()
        editor.join(self.patience_seconds)
        if editor.is_alive():
            self.held_off.append(editor)
        else:
            self.committed += 1

    def _edit(self):
        try:
            self.edit()
        except Exception as error:  # reported by the test
            self.errors.append(repr(error))


def replayed_to(roadmap_id: int, theme: str, revision: int) -> dict:
    return maps_at(roadmap_id, theme, {revision})[revision]


@on_both_databases
def test_a_snapshot_reads_revision_and_fields_afresh_when_the_session_holds_an_older_map(app, group, marina):
    roadmap = db.session.get(Roadmap, group.roadmap.id)
    held_revision = roadmap.revision
    with app.app_context():
        editing.apply(
            {
                "op_id": new_id(),
                "roadmap_id": roadmap.id,
                "type": "map.set",
                "field": "title",
                "value": "Раздельный сбор во дворе",
                "base": None,
            },
            actor=Actor.of(marina),
        )
    add_linked_pair(app, Actor.of(marina), roadmap.id)
    assert roadmap.revision == held_revision  # the session's copy is now older than the map

    taken = snapshots.snapshot(roadmap, with_members=False)

    assert taken["revision"] == held_revision + 4
    assert taken["title"] == "Раздельный сбор во дворе"
    assert taken == replayed_to(roadmap.id, group.theme, taken["revision"])


@on_both_databases
def test_edits_committed_between_a_snapshots_statements_do_not_leak_into_it(app, group, marina):
    roadmap = db.session.get(Roadmap, group.roadmap.id)
    add_linked_pair(app, Actor.of(marina), roadmap.id)

    with EditsBetweenStatements(app, Actor.of(marina), roadmap.id, limit=1) as edits:
        taken = snapshots.snapshot(roadmap, with_members=False)

    assert (edits.committed, edits.errors) == (1, [])
    assert taken == replayed_to(roadmap.id, group.theme, taken["revision"])


@on_both_databases
def test_a_snapshot_is_the_map_at_one_revision_even_when_edits_interrupt_every_read(app, group, marina):
    roadmap = db.session.get(Roadmap, group.roadmap.id)

    with EditsBetweenStatements(app, Actor.of(marina), roadmap.id, limit=20) as edits:
        taken = snapshots.snapshot(roadmap, with_members=False)
    # Edits a snapshot held off go in once it is read, before the reader's transaction ends.
    for editor in edits.held_off:
        editor.join(CALL_TIMEOUT)
    still_waiting = [editor for editor in edits.held_off if editor.is_alive()]
    db.session.rollback()

    assert still_waiting == []
    assert edits.errors == []
    assert edits.committed >= 2
    assert taken == replayed_to(roadmap.id, group.theme, taken["revision"])
