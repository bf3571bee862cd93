"""A load generator: groups of python-socketio AsyncClients editing one map each.

    python -m bench.loadgen --plan plan.json --url http://127.0.0.1:5000 \
        --protocol app --mode human --duration 30 --out result.json [--wait-go]

With several comma-separated URLs (server processes sharing one database and
message queue) the clients take them in turn, as behind a round-robin proxy, so
a group's clients sit on different servers.

The plan names the groups: each group's map id, one token per client, the
group's member ids and the ids of the steps its map starts with. Every client
connects over WebSocket, joins its group's map and then edits it:

- `human`: one edit every `--interval` seconds (2 s), at a random phase;
- `stress`: the next edit as soon as the previous one is acked.

Edits are a mix of what people do in the editor: a text edit with a `base`
(description or title), a status, an owner, a reorder (step.move) and a new
step. A client keeps one op in flight, as docs/protocol.md asks.

Measured, all with time.perf_counter in this one process, so the clocks of
sender and receivers agree (a group's clients always live in one process):

- ack latency: the op sent -> its ack;
- edit-to-peer latency: the op sent -> the `change` with its op_id at each
  OTHER client of the group;
- missing deliveries: peers that had no `change` for an acked op within
  `--grace` seconds after the run.

`--protocol baseline` drives bench/baseline_server.py, whose `op` only echoes:
the client code is the same; the flag says only where the starting state of
a map comes from (the join snapshot in the app, the plan in the baseline).

With `--wait-go` the generator connects and joins everyone, prints `READY`,
and starts editing only when it reads `GO` on standard input, so the caller
can measure the server with idle clients first. It always ends: every wait
has a timeout and every loop a deadline or a count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import socketio

ACK_TIMEOUT = 10.0
CONNECT_TIMEOUT = 15.0
CONNECT_CONCURRENCY = 20
GO_TIMEOUT = 180.0
LAG_TICK = 0.02
MAX_STEPS_PER_MAP = 200  # past this (or a group's "max_steps" in the plan), new-step edits become text edits
STATUSES = ("planned", "in_progress", "done", "blocked")
WORDS = (
    "двор",
    "контейнеры",
    "встреча",
    "жители",
    "субботник",
    "управа",
    "площадка",
    "листовки",
    "survey",
    "volunteers",
    "permit",
    "bins",
)


def percentile(samples: list[float], share: float) -> float | None:
    """The nearest-rank percentile of samples (share in 0..1); None for no samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))
    return ordered[rank]


def summary_ms(samples: list[float]) -> dict:
    return {
        "count": len(samples),
        "p50": percentile(samples, 0.50),
        "p95": percentile(samples, 0.95),
        "p99": percentile(samples, 0.99),
        "max": max(samples) if samples else None,
    }


@dataclass
class SentOp:
    group_index: int
    client_index: int
    sent_at: float
    acked_at: float | None = None
    ok: bool = False
    duplicate: bool = False


@dataclass
class GroupState:
    """What the group's clients know of their map, enough to make valid edits."""

    index: int
    roadmap_id: int
    member_ids: list[int]
    step_ids: list[str]
    max_steps: int = MAX_STEPS_PER_MAP
    texts: dict[tuple[str, str], str] = field(default_factory=dict)
    applied_op_ids: set[str] = field(default_factory=set)
    clients: list[BenchClient] = field(default_factory=list)

    def load_snapshot(self, snapshot: dict) -> None:
        self.step_ids = [step["id"] for step in snapshot["steps"]]
        for step in snapshot["steps"]:
            self.texts[(step["id"], "title")] = step["title"]
            self.texts[(step["id"], "description")] = step["description"]

    def apply(self, change: dict) -> None:
        """Apply a broadcast once, whichever client of the group got it first."""
        if change["op_id"] in self.applied_op_ids:
            return
        self.applied_op_ids.add(change["op_id"])
        op = change["op"]
        if op["type"] == "step.add" and op["step_id"] not in self.texts:
            self.step_ids.append(op["step_id"])
            fields = op.get("fields") or {}
            self.texts[(op["step_id"], "title")] = fields.get("title", "")
            self.texts[(op["step_id"], "description")] = fields.get("description", "")
        elif op["type"] == "step.set" and op["field"] in ("title", "description"):
            self.texts[(op["step_id"], op["field"])] = op["value"]

    def next_op(self, rng: random.Random) -> dict:
        """One edit of the mix: text with base, status, owner, reorder, new step."""
        roll = rng.random()
        if not self.step_ids or (roll < 0.10 and len(self.step_ids) < self.max_steps):
            fields = {"title": f"{rng.choice(WORDS)} {rng.randrange(1000)}", "status": rng.choice(STATUSES)}
            return {"type": "step.add", "step_id": uuid.uuid4().hex, "fields": fields}
        step_id = rng.choice(self.step_ids)
        if roll < 0.50:
            name = "description" if roll < 0.35 else "title"
            base = self.texts.get((step_id, name), "")
            limit = 600 if name == "description" else 120
            value = rng.choice(WORDS) if len(base) > limit else f"{base} {rng.choice(WORDS)}".strip()
            return {"type": "step.set", "step_id": step_id, "field": name, "value": value, "base": base}
        if roll < 0.70:
            return {"type": "step.set", "step_id": step_id, "field": "status", "value": rng.choice(STATUSES)}
        if roll < 0.85:
            pick = rng.random()
            if pick < 0.6 and self.member_ids:
                owner = {"member": rng.choice(self.member_ids)}
            elif pick < 0.9:
                owner = {"text": f"{rng.choice(WORDS)} team"}
            else:
                owner = None
            return {"type": "step.set", "step_id": step_id, "field": "owner", "value": owner}
        others = [other for other in self.step_ids if other != step_id]
        after_id = rng.choice(others) if others and rng.random() < 0.8 else None
        return {"type": "step.move", "step_id": step_id, "after_id": after_id}


class Tracker:
    """Every op sent and every `change` received, by op id."""

    def __init__(self):
        self.sent: dict[str, SentOp] = {}
        self.receipts: dict[str, dict[int, float]] = {}
        self.errors: Counter = Counter()
        self.disconnects = 0
        self.late_sends = 0
        self.phase = "setup"  # setup -> run -> drain -> closing

    def received(self, op_id: str, client_index: int, at: float) -> None:
        self.receipts.setdefault(op_id, {}).setdefault(client_index, at)


class BenchClient:
    def __init__(self, group: GroupState, index: int, token: str, tracker: Tracker):
        self.group = group
        self.index = index  # unique within the group
        self.token = token
        self.tracker = tracker
        self.connected = False
        self.lost = False
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("change", self._on_change)
        self.sio.on("disconnect", self._on_disconnect)

    async def _on_change(self, change: dict) -> None:
        at = time.perf_counter()
        self.tracker.received(change["op_id"], self.index, at)
        self.group.apply(change)

    async def _on_disconnect(self, reason=None) -> None:
        self.connected = False
        if self.tracker.phase != "closing":
            self.lost = True
            self.tracker.disconnects += 1

    async def connect_and_join(self, url: str, protocol: str) -> None:
        await self.sio.connect(
            url,
            auth={"token": self.token},
            transports=["websocket"],
            wait_timeout=CONNECT_TIMEOUT,
        )
        self.connected = True
        ack = await self.sio.call(
            "join",
            {"roadmap_id": self.group.roadmap_id, "since_revision": None},
            timeout=ACK_TIMEOUT,
        )
        if not ack.get("ok"):
            raise RuntimeError(f"join refused: {ack.get('error')}")
        if protocol == "app" and "snapshot" in ack:
            self.group.load_snapshot(ack["snapshot"])

    async def send_op(self, rng: random.Random) -> None:
        op_id = uuid.uuid4().hex
        payload = {"op_id": op_id, "roadmap_id": self.group.roadmap_id, **self.group.next_op(rng)}
        record = SentOp(self.group.index, self.index, time.perf_counter())
        self.tracker.sent[op_id] = record
        try:
            ack = await self.sio.call("op", payload, timeout=ACK_TIMEOUT)
        except socketio.exceptions.TimeoutError:
            self.tracker.errors["ack_timeout"] += 1
            return
        except socketio.exceptions.SocketIOError as failure:
            self.tracker.errors[type(failure).__name__] += 1
            return
        record.acked_at = time.perf_counter()
        if isinstance(ack, dict) and ack.get("ok"):
            record.ok = True
            record.duplicate = bool(ack.get("duplicate"))
            if record.duplicate:
                self.tracker.errors["unexpected_duplicate"] += 1
        else:
            code = (ack.get("error") or {}).get("code") if isinstance(ack, dict) else "bad_ack"
            self.tracker.errors[str(code)] += 1


async def _run_human(
    client: BenchClient, rng: random.Random, start: float, deadline: float, interval: float, max_ops: int
) -> None:
    next_at = start + rng.uniform(0, interval)
    for _ in range(max_ops):
        now = time.perf_counter()
        if next_at >= deadline:
            await asyncio.sleep(max(0.0, deadline - now))  # the run ends for everyone at once
            return
        if next_at > now:
            await asyncio.sleep(next_at - now)
        if time.perf_counter() >= deadline or not client.connected:
            return
        await client.send_op(rng)
        next_at += interval
        now = time.perf_counter()
        if next_at < now:  # the previous op took longer than a whole interval
            client.tracker.late_sends += 1
            next_at = now


async def _run_stress(client: BenchClient, rng: random.Random, deadline: float, max_ops: int) -> None:
    for _ in range(max_ops):
        if time.perf_counter() >= deadline or not client.connected:
            return
        await client.send_op(rng)


async def _watch_loop_lag(lags: list[float], stop: asyncio.Event, limit: int = 100_000) -> None:
    """How late the event loop wakes a sleeper: the generator's own saturation."""
    for _ in range(limit):
        if stop.is_set():
            return
        before = time.perf_counter()
        await asyncio.sleep(LAG_TICK)
        lags.append((time.perf_counter() - before - LAG_TICK) * 1000)


def _expected_peers(tracker: Tracker, groups: list[GroupState]):
    """(op, peer client) pairs that must see a change: acked ops, peers still connected."""
    for op_id, record in tracker.sent.items():
        if not record.ok or record.duplicate:
            continue
        for peer in groups[record.group_index].clients:
            if peer.index != record.client_index and not peer.lost:
                yield op_id, record, peer


async def _drain(tracker: Tracker, groups: list[GroupState], grace: float) -> None:
    """Wait until every expected delivery arrived, at most `grace` seconds."""
    deadline = time.perf_counter() + grace
    while time.perf_counter() < deadline:
        missing = sum(
            1
            for op_id, _, peer in _expected_peers(tracker, groups)
            if peer.index not in tracker.receipts.get(op_id, {})
        )
        if not missing:
            return
        await asyncio.sleep(0.1)


async def _wait_for_go() -> bool:
    loop = asyncio.get_running_loop()
    try:
        line = await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), GO_TIMEOUT)
    except TimeoutError:
        return False
    return line.strip() == "GO"


async def run(
    plan: dict,
    urls: list[str],
    protocol: str,
    mode: str,
    duration: float,
    interval: float,
    grace: float,
    wait_go: bool,
    seed: int,
) -> dict:
    tracker = Tracker()
    groups: list[GroupState] = []
    client_index = 0
    for group_index, group_plan in enumerate(plan["groups"]):
        group = GroupState(
            group_index,
            group_plan["roadmap_id"],
            list(group_plan["member_ids"]),
            list(group_plan["step_ids"]),
            group_plan.get("max_steps", MAX_STEPS_PER_MAP),
        )
        for token in group_plan["tokens"]:
            group.clients.append(BenchClient(group, client_index, token, tracker))
            client_index += 1
        groups.append(group)
    clients = [client for group in groups for client in group.clients]

    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    connect_started = time.perf_counter()

    async def connect(client: BenchClient) -> None:
        async with gate:
            try:
                url = urls[client.index % len(urls)]
                await asyncio.wait_for(client.connect_and_join(url, protocol), CONNECT_TIMEOUT + ACK_TIMEOUT)
            except Exception as failure:  # noqa: BLE001 -- any failure is counted; the client sits the run out
                tracker.errors[f"connect:{type(failure).__name__}"] += 1
                client.lost = True

    await asyncio.gather(*(connect(client) for client in clients))
    connect_seconds = time.perf_counter() - connect_started
    ready = [client for client in clients if client.connected and not client.lost]
    print(f"READY {len(ready)}/{len(clients)}", flush=True)
    if wait_go and not await _wait_for_go():
        tracker.errors["no_go"] += 1
        ready = []

    lags: list[float] = []
    stop_watch = asyncio.Event()
    watcher = asyncio.create_task(_watch_loop_lag(lags, stop_watch))
    cpu_before = time.process_time()
    tracker.phase = "run"
    start = time.perf_counter()
    deadline = start + duration
    max_ops = int(duration / interval) + 2 if mode == "human" else 1_000_000
    tasks = []
    for client in ready:
        rng = random.Random(seed * 100_003 + client.index)
        if mode == "human":
            tasks.append(_run_human(client, rng, start, deadline, interval, max_ops))
        else:
            tasks.append(_run_stress(client, rng, deadline, max_ops))
    await asyncio.gather(*tasks)
    run_seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_before
    stop_watch.set()
    await watcher
    tracker.phase = "drain"
    await _drain(tracker, groups, grace)

    tracker.phase = "closing"
    await asyncio.gather(
        *(asyncio.wait_for(client.sio.disconnect(), 5) for client in clients if client.sio.connected),
        return_exceptions=True,
    )
    return _results(
        tracker, groups, protocol, mode, len(ready), len(clients), run_seconds, connect_seconds, cpu_seconds, lags
    )


def _results(
    tracker: Tracker,
    groups: list[GroupState],
    protocol: str,
    mode: str,
    ready: int,
    total: int,
    run_seconds: float,
    connect_seconds: float,
    cpu_seconds: float,
    lags: list[float],
) -> dict:
    ack_ms = [
        (record.acked_at - record.sent_at) * 1000
        for record in tracker.sent.values()
        if record.ok and record.acked_at is not None
    ]
    peer_ms: list[float] = []
    missing = 0
    for op_id, record, peer in _expected_peers(tracker, groups):
        received_at = tracker.receipts.get(op_id, {}).get(peer.index)
        if received_at is None:
            missing += 1
        else:
            peer_ms.append((received_at - record.sent_at) * 1000)
    acked = sum(1 for record in tracker.sent.values() if record.ok)
    senders = {client.index: client for group in groups for client in group.clients}
    own_echo_missing = sum(
        1
        for op_id, record in tracker.sent.items()
        if record.ok
        and not record.duplicate
        and not senders[record.client_index].lost
        and record.client_index not in tracker.receipts.get(op_id, {})
    )
    return {
        "protocol": protocol,
        "mode": mode,
        "clients": total,
        "clients_ready": ready,
        "groups": len(groups),
        "run_seconds": run_seconds,
        "connect_seconds": connect_seconds,
        "sent": len(tracker.sent),
        "acked": acked,
        "deliveries": len(peer_ms),
        "missing_deliveries": missing,
        "own_echo_missing": own_echo_missing,
        "errors": dict(tracker.errors),
        "error_count": sum(tracker.errors.values()),
        "disconnects": tracker.disconnects,
        "late_sends": tracker.late_sends,
        "loadgen_cpu_seconds": cpu_seconds,
        "loop_lag_ms": summary_ms(lags),
        # Raw samples, so that runs split over processes merge into one distribution.
        "ack_ms": [round(sample, 3) for sample in ack_ms],
        "peer_ms": [round(sample, 3) for sample in peer_ms],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Drive a Roadmap (or baseline) server with Socket.IO clients.")
    parser.add_argument(
        "--plan",
        required=True,
        help="JSON: {groups: [{roadmap_id, tokens, member_ids, step_ids, max_steps (optional)}]}",
    )
    parser.add_argument("--url", required=True, help="a server's URL, or several, comma-separated")
    parser.add_argument("--protocol", choices=("app", "baseline"), default="app")
    parser.add_argument("--mode", choices=("human", "stress"), default="human")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between a client's edits (human)")
    parser.add_argument("--grace", type=float, default=5.0, help="seconds to wait for late deliveries")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wait-go", action="store_true")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    plan = json.loads(Path(args.plan).read_text())
    results = asyncio.run(
        run(
            plan,
            args.url.split(","),
            args.protocol,
            args.mode,
            args.duration,
            args.interval,
            args.grace,
            args.wait_go,
            args.seed,
        )
    )
    Path(args.out).write_text(json.dumps(results))
    print(
        f"DONE acked={results['acked']} errors={results['error_count']} missing={results['missing_deliveries']}",
        flush=True,
    )


async def probe_joins(url: str, token: str, roadmap_id: int, since_revision: int | None, repeats: int) -> dict:
    """Time `repeats` joins of one map over one connection: the round trip a client waits for."""
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=CONNECT_TIMEOUT)
    timings, sizes = [], []
    try:
        for _ in range(repeats):
            started = time.perf_counter()
            ack = await sio.call(
                "join", {"roadmap_id": roadmap_id, "since_revision": since_revision}, timeout=ACK_TIMEOUT
            )
            timings.append((time.perf_counter() - started) * 1000)
            if not ack.get("ok"):
                raise RuntimeError(f"join refused: {ack.get('error')}")
            sizes.append(len(json.dumps(ack, ensure_ascii=False).encode()))
            form = "changes" if "changes" in ack else "snapshot"
            count = len(ack["changes"]) if form == "changes" else len(ack["snapshot"]["steps"])
    finally:
        await sio.disconnect()
    return {"ms": timings, "bytes": max(sizes), "form": form, "count": count}


if __name__ == "__main__":
    main()
