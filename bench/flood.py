"""One socket floods the server with ops while another person edits: how long the other's acks take.

    .venv/bin/python -m bench.flood                  # prints a markdown table
    .venv/bin/python -m bench.run --scenario flood   # the same

Against one app server (python -m roadmap.server, SQLite or --postgres), two groups:
1. quiet: the editor (group 2) sends an op every EDIT_INTERVAL seconds, one in flight,
   for QUIET_SECONDS; its acks' p50/p99 are the quiet figures;
2. flood: the flooder (group 1) sends FLOOD_OPS `step.add` ops at once, without waiting
   for acks, while the editor goes on as before until every flood ack is back (and for
   QUIET_SECONDS at least); the editor's acks in that time are the flood figures.
Both are run with the server's event rate limit (the defaults of roadmap/config.py) and
again with it off (SOCKET_EVENTS_PER_SECOND=0), in the same command, so the figures compare.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import socketio

from bench import world as bench_world
from bench.loadgen import percentile
from bench.run import Processes, Server, database_name, scratch_run

FLOOD_OPS = 1000
EDIT_INTERVAL = 0.1
QUIET_SECONDS = 5.0
ACK_TIMEOUT = 60.0


def _op(roadmap_id: int, op_type: str, **fields) -> dict:
    return {"op_id": uuid.uuid4().hex, "roadmap_id": roadmap_id, "type": op_type, **fields}


def _connect(url: str, token: str, roadmap_id: int) -> socketio.Client:
    client = socketio.Client(reconnection=False)
    client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    joined = client.call("join", {"roadmap_id": roadmap_id, "since_revision": None}, timeout=ACK_TIMEOUT)
    assert joined["ok"], joined
    return client


def _edit_until(client: socketio.Client, group: dict, done: threading.Event, at_least: float) -> list[float]:
    """An op at a time, every EDIT_INTERVAL, until `done` is set and `at_least` seconds passed; ack times in ms."""
    latencies, started, number = [], time.perf_counter(), 0
    step_id = group["step_ids"][0]
    while not (done.is_set() and time.perf_counter() - started >= at_least):
        sent = time.perf_counter()
        ack = client.call(
            "op",
            _op(group["roadmap_id"], "step.set", step_id=step_id, field="title", value=f"Встреча с жителями {number}"),
            timeout=ACK_TIMEOUT,
        )
        latencies.append((time.perf_counter() - sent) * 1000)
        assert ack["ok"], ack
        number += 1
        time.sleep(max(0.0, EDIT_INTERVAL - (time.perf_counter() - sent)))  # a person's pace, not a wait for an event
    return latencies


def _flood(client: socketio.Client, roadmap_id: int) -> tuple[Counter, float]:
    codes, all_back = Counter(), threading.Event()
    lock = threading.Lock()
    started = time.perf_counter()

    def on_ack(ack):
        with lock:
            codes["ok" if ack["ok"] else ack["error"]["code"]] += 1
            if sum(codes.values()) == FLOOD_OPS:
                all_back.set()

    for number in range(FLOOD_OPS):
        client.emit(
            "op",
            _op(roadmap_id, "step.add", step_id=uuid.uuid4().hex, fields={"title": f"Шаг {number}"}),
            callback=on_ack,
        )
    if not all_back.wait(ACK_TIMEOUT * 2):
        codes["no ack"] = FLOOD_OPS - sum(codes.values())
    return codes, time.perf_counter() - started


def run_once(world: bench_world.World, folder: Path, processes: Processes, limited: bool) -> dict:
    flooded, edited = world.load_groups[0], world.load_groups[1]
    server = Server("app", world, folder, processes)  # with the rate limit off, as for every scenario
    if limited:
        del server.env["SOCKET_EVENTS_PER_SECOND"]  # the default of roadmap/config.py
    with server:
        editor = _connect(server.url, edited["tokens"][0], edited["roadmap_id"])
        flooder = _connect(server.url, flooded["tokens"][0], flooded["roadmap_id"])
        try:
            quiet = _edit_until(editor, edited, _set(threading.Event()), QUIET_SECONDS)
            flood_done, during = threading.Event(), []
            editing = threading.Thread(
                target=lambda: during.extend(_edit_until(editor, edited, flood_done, QUIET_SECONDS))
            )
            editing.start()
            codes, flood_seconds = _flood(flooder, flooded["roadmap_id"])
            flood_done.set()
            editing.join(ACK_TIMEOUT * 2)
        finally:
            editor.disconnect()
            flooder.disconnect()
    return {"quiet": quiet, "during": during, "codes": codes, "flood_seconds": flood_seconds}


def _set(event: threading.Event) -> threading.Event:
    event.set()
    return event


def _ms(values: list[float], share: float) -> str:
    return f"{percentile(values, share):.1f} ms" if values else "–"


def report(results: dict[str, dict], database: str) -> str:
    lines = [
        f"One socket sends {FLOOD_OPS:,} `step.add` ops at once (pipelined) into its map while another person, "
        f"in another group, edits a step every {EDIT_INTERVAL * 1000:.0f} ms, one op in flight; {database}.",
        "",
        "| server | editor's ack p50 quiet | p99 quiet | p50 during the flood | p99 during the flood "
        "| flood acks | flood answered in |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, result in results.items():
        codes = ", ".join(f"{count} {code}" for code, count in sorted(result["codes"].items()))
        lines.append(
            f"| {label} | {_ms(result['quiet'], 0.5)} | {_ms(result['quiet'], 0.99)} | {_ms(result['during'], 0.5)} "
            f"| {_ms(result['during'], 0.99)} | {codes} | {result['flood_seconds']:.1f} s |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="An op flood from one socket against another person's acks.")
    parser.add_argument(
        "--postgres", metavar="URL", help="a fresh database on this PostgreSQL server instead of SQLite"
    )
    args, _rest = parser.parse_known_args(argv)
    with scratch_run("roadmap-flood-") as (folder, processes):
        world = bench_world.build(
            folder,
            groups=2,
            clients_per_group=1,
            steps_per_map=20,
            micro_sizes=(10,),
            missed_ops=0,
            postgres_url=args.postgres,
        )
        results = {
            "rate limit on (burst 60, 20/s)": run_once(world, folder, processes, limited=True),
            "rate limit off": run_once(world, folder, processes, limited=False),
        }
        print(report(results, f"{database_name(args.postgres)}, {os.cpu_count()} cores"))
        return 0


if __name__ == "__main__":
    sys.exit(main())
