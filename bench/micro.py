"""In-process micro-benchmarks: SQL queries and time of join, catch-up and the editor page.

Queries are counted with an SQLAlchemy `before_cursor_execute` listener on the
engine and a listener on roadmap/hot_sql.py's statements, for the real handlers: the `join` event through Flask-SocketIO's test
client, the editor page through Flask's test client as a signed-in
participant. A count that stays flat as the map grows from few steps to many
means there is no N+1.
"""

from __future__ import annotations

import contextvars
import statistics
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import event

from bench.world import MicroMap, World, bench_app
from roadmap import hot_sql
from roadmap.domain.limits import MAX_STEPS_PER_MAP
from roadmap.domain.permissions import Actor
from roadmap.extensions import db, socketio
from roadmap.models import Person, Roadmap
from roadmap.realtime import dashboard_feed, publisher
from roadmap.services import editing, snapshots


class QueryCounter:
    def __init__(self, engine):
        self.count = 0
        self.statements: list[str] = []
        self.active = False
        event.listen(engine, "before_cursor_execute", self._count)
        hot_sql.listen(self._count_hot)  # the edit path's hand-written statements skip SQLAlchemy's events

    def _count(self, _connection, _cursor, statement, *_args):
        if self.active:
            self.count += 1
            self.statements.append(statement)

    def _count_hot(self, statement, _parameters):
        self._count(None, None, statement)

    @contextmanager
    def counting(self):
        self.count, self.statements, self.active = 0, [], True
        try:
            yield self
        finally:
            self.active = False


@dataclass
class Measured:
    queries: int
    median_ms: float
    max_ms: float


def _isolated(call, *args, **kwargs):
    """Run a test-client request in its own context, as under the real server (see tests/conftest.py)."""
    return contextvars.Context().run(call, *args, **kwargs)


def _timed(action, repeats: int, counter: QueryCounter) -> Measured:
    """The queries of the first run, and the median and max time of `repeats` runs."""
    with counter.counting():
        action()
        queries = counter.count
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return Measured(queries, statistics.median(timings), max(timings))


class Micro:
    def __init__(self, world: World):
        self.world = world
        self.app: Flask = bench_app(world.database_url, world.instance_path)
        with self.app.app_context():
            self.counter = QueryCounter(db.engine)

    def _socket(self, micro: MicroMap):
        return socketio.test_client(self.app, auth={"token": micro.token})

    def join(self, micro: MicroMap, since_revision: int | None, repeats: int) -> Measured:
        """The `join` handler, whole: room, presence, snapshot or changes, members."""
        client = _isolated(self._socket, micro)
        try:

            def join_once():
                ack = _isolated(
                    client.emit,
                    "join",
                    {"roadmap_id": micro.roadmap_id, "since_revision": since_revision},
                    callback=True,
                )
                assert ack and ack["ok"], ack
                client.get_received()  # drop the presence broadcasts

            return _timed(join_once, repeats, self.counter)
        finally:
            _isolated(client.disconnect)

    def op(self, micro: MicroMap, op_type: str) -> int:
        """Queries of one `op` event on this map (the first step's status, or a new step)."""
        client = _isolated(self._socket, micro)
        try:
            with self.app.app_context():
                first_step = snapshots.snapshot(db.session.get(Roadmap, micro.roadmap_id))["steps"][0]["id"]
                db.session.remove()
            if op_type == "step.set":
                keys = {"step_id": first_step, "field": "status", "value": "in_progress"}
            elif op_type == "step.move":
                keys = {"step_id": first_step, "after_id": None}
            else:
                keys = {"step_id": uuid.uuid4().hex, "fields": {"title": "Ещё шаг"}}
            payload = {"op_id": uuid.uuid4().hex, "roadmap_id": micro.roadmap_id, "type": op_type, **keys}
            with self.counter.counting():
                ack = _isolated(client.emit, "op", payload, callback=True)
                queries = self.counter.count
            assert ack and ack["ok"], ack
            micro.revision += 1
            if op_type == "step.add":  # keep the map at its size for the figures taken later
                _isolated(
                    client.emit,
                    "op",
                    {
                        "op_id": uuid.uuid4().hex,
                        "roadmap_id": micro.roadmap_id,
                        "type": "step.delete",
                        "step_id": keys["step_id"],
                    },
                    callback=True,
                )
                micro.revision += 1
            return queries
        finally:
            _isolated(client.disconnect)

    def catch_up_service(self, micro: MicroMap, behind: int, repeats: int) -> Measured:
        """snapshots.catch_up alone: the database read and the change dicts."""
        with self.app.app_context():
            roadmap = db.session.get(Roadmap, micro.roadmap_id)

            def catch_up_once():
                answer = snapshots.catch_up(roadmap, roadmap.revision - behind)
                assert len(answer["changes"]) == behind

            measured = _timed(catch_up_once, repeats, self.counter)
            db.session.remove()
        return measured

    def render(self, micro: MicroMap, repeats: int) -> Measured:
        """GET /maps/<id> as a signed-in participant of the map's group."""
        browser = self.app.test_client()
        with self.app.app_context():
            user_id = db.session.get(Person, micro.person_id).get_id()  # the id with its sign-in generation
        with browser.session_transaction() as session:
            session["_user_id"] = user_id
            session["_fresh"] = True

        def render_once():
            response = _isolated(browser.get, f"/maps/{micro.roadmap_id}")
            assert response.status_code == 200, response.status_code

        return _timed(render_once, repeats, self.counter)

    def edit_cost(self, micro: MicroMap, repeats: int) -> Measured:
        """editing.apply alone, in process: a status edit on a step (parse, authorise, apply,
        log, commit; the broadcast goes to a server with no clients here)."""
        with self.app.app_context():
            roadmap = db.session.get(Roadmap, micro.roadmap_id)
            step_id = snapshots.snapshot(roadmap)["steps"][0]["id"]
            actor = Actor.of(db.session.get(Person, micro.person_id))
            statuses = iter(("in_progress", "done") * (repeats + 1))

            def edit_once():
                editing.apply(
                    {
                        "op_id": uuid.uuid4().hex,
                        "roadmap_id": micro.roadmap_id,
                        "type": "step.set",
                        "step_id": step_id,
                        "field": "status",
                        "value": next(statuses),
                    },
                    actor=actor,
                )
                micro.revision += 1

            measured = _timed(edit_once, repeats, self.counter)
            db.session.remove()
        return measured

    def dashboard(self, roadmap_ids: list[int], repeats: int) -> Measured:
        """One throttled dashboard push after every one of these maps changed: the summaries
        with their readiness checks, and the emits (to a server with no clients here)."""
        publisher.take_changed_maps()  # what building the world noted
        with self.app.app_context():

            def flush_once():
                for roadmap_id in roadmap_ids:
                    publisher.note_change(roadmap_id)
                assert dashboard_feed.flush() == len(roadmap_ids)

            measured = _timed(flush_once, repeats, self.counter)
            db.session.remove()
        return measured

    def close(self) -> None:
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def _first_line(statement: str, width: int = 110) -> str:
    flat = " ".join(statement.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def run_all(world: World, repeats: int, behind: int) -> dict:
    """Every in-process figure, keyed for the report."""
    micro = Micro(world)
    try:
        largest, smallest = world.largest, world.micro_maps[0]
        results = {
            "sizes": [m.steps for m in world.micro_maps],
            "join_snapshot": {},
            "render": {},
            "op_status": {},
            "op_add": {},
            "op_move": {},
        }
        for micro_map in world.micro_maps:
            results["join_snapshot"][micro_map.steps] = micro.join(micro_map, None, repeats).__dict__
            if micro_map is largest:
                results["join_statements"] = [_first_line(sql) for sql in micro.counter.statements]
            results["render"][micro_map.steps] = micro.render(micro_map, repeats).__dict__
        few = min(10, behind)
        results["join_catch_up"] = {
            few: micro.join(largest, largest.revision - few, repeats).__dict__,
            behind: micro.join(largest, largest.revision - behind, repeats).__dict__,
        }
        results["catch_up_service"] = {behind: micro.catch_up_service(largest, behind, repeats).__dict__}
        busy = [group["roadmap_id"] for group in world.load_groups]
        results["dashboard"] = {
            1: micro.dashboard(busy[:1], repeats).__dict__,
            len(busy): micro.dashboard(busy, repeats).__dict__,
        }
        # Ops last: they change the maps the figures above were taken on.
        results["edit_cost"] = micro.edit_cost(smallest, max(repeats * 10, 20)).__dict__
        for micro_map in (smallest, largest):
            results["op_status"][micro_map.steps] = micro.op(micro_map, "step.set")
            results["op_move"][micro_map.steps] = micro.op(micro_map, "step.move")
            if micro_map.steps < MAX_STEPS_PER_MAP:  # a full map refuses a new step
                results["op_add"][micro_map.steps] = micro.op(micro_map, "step.add")
        return results
    finally:
        micro.close()
