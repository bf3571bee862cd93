"""Several app server processes on one PostgreSQL database and one Redis message queue.

    .venv/bin/python -m bench.run --scenario processes --postgres postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python -m bench.processes --postgres URL --redis redis://127.0.0.1:6379/0   # the same

The stress scenario of bench/run.py (10 groups x 10 clients, each sending its next edit
as soon as the last is acked) against 1 and then 2 app servers (`python -m roadmap.server`)
in the same command, alternating which goes first each round. The servers share a fresh
PostgreSQL database and the Redis message queue on a channel of this run's own. The
clients take the servers in turn, as behind a round-robin proxy, so a group's members
sit on different processes and every change crosses Redis to reach half of the peers.
Reported per count of processes: acked edits/s, edit-to-peer and ack p50/p99, the CPU of
all server processes per acked edit (psutil), and the CPU of this database's PostgreSQL
backends per acked edit (the processes pg_stat_activity names at the start and the end;
a pool's overflow connection that ended meanwhile, the shared WAL writer and the
checkpointer are not counted, so it is a lower bound).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil
from sqlalchemy import create_engine, text

from bench import world as bench_world
from bench.run import LoadgenProcess, Processes, Scenario, Server, _merge, scratch_run, warm_up

STRESS = Scenario("stress", "stress, 10 groups x 10 clients", 10, 10, "stress", 15.0)
PROCESS_COUNTS = (1, 2)
GRACE = 5.0


@dataclass(frozen=True)
class Entrances:
    """What a load generator connects to: the servers' URLs, taken in turn by its clients."""

    url: str
    kind: str = "app"


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    return sum(_cpu_by_pid(processes).values())


def _cpu_by_pid(processes: list[psutil.Process]) -> dict[int, float]:
    """User + system seconds of each process still alive."""
    seconds = {}
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            seconds[process.pid] = times.user + times.system
    return seconds


def _database_backends(database_url: str) -> list[psutil.Process]:
    """The PostgreSQL server processes serving connections to this run's database."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            pids = connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            ).scalars().all()
    finally:
        engine.dispose()
    found = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            found.append(psutil.Process(pid))
    return found


def _backend_cpu_since(database_url: str, before: dict[int, float]) -> float:
    """CPU seconds the database's backends used since `before`: all of a backend that started
    since, nothing of one that ended (a pool's overflow connection), so a lower bound."""
    after = _cpu_by_pid(_database_backends(database_url))
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def run_with(count: int, world: bench_world.World, folder: Path, processes: Processes, redis_url: str,
             seed: int) -> dict:
    """The stress scenario against `count` app servers sharing the database and the queue."""
    channel = f"roadmap-bench-{os.getpid()}-{count}-{seed}"
    queue = {"SOCKETIO_MESSAGE_QUEUE": redis_url, "SOCKETIO_CHANNEL": channel}
    groups = world.load_groups[: STRESS.groups]
    plan = {"groups": [{**group, "tokens": group["tokens"][: STRESS.clients_per_group]} for group in groups]}
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(Server("app", world, folder, processes, extra_env=queue))
                   for _ in range(count)]
        for server in servers:
            warm_up(server, groups[0])
        generator = LoadgenProcess(processes, folder, f"processes-{count}-{seed}", plan,
                                   Entrances(",".join(server.url for server in servers)), STRESS, GRACE, seed)
        generator.wait_for("READY", timeout=120)
        server_processes = [process for server in servers for process in server.processes_serving()]
        servers_before = _cpu_seconds(server_processes)
        backends_before = _cpu_by_pid(_database_backends(world.database_url))
        load_average = os.getloadavg()[0]
        generator.go()
        result = _merge([generator.result(timeout=STRESS.duration + GRACE + 60)])
        servers_cpu = _cpu_seconds(server_processes) - servers_before
        backends_cpu = _backend_cpu_since(world.database_url, backends_before)
    acked = max(1, result["acked"])
    result.update(processes=count, load_average=load_average,
                  server_cpu_ms_per_edit=1000 * servers_cpu / acked,
                  postgres_cpu_ms_per_edit=1000 * backends_cpu / acked)
    return result


ROWS = (
    ("acked edits/s", lambda r: f"{r['acked_per_second']:.0f}"),
    ("edit-to-peer p50 / p99 ms", lambda r: f"{r['peer']['p50']:.1f} / {r['peer']['p99']:.1f}"),
    ("ack p50 / p99 ms", lambda r: f"{r['ack']['p50']:.1f} / {r['ack']['p99']:.1f}"),
    ("server CPU ms per acked edit (all processes)", lambda r: f"{r['server_cpu_ms_per_edit']:.2f}"),
    ("PostgreSQL backends' CPU ms per acked edit (lower bound)", lambda r: f"{r['postgres_cpu_ms_per_edit']:.2f}"),
    ("errors / disconnects / missing deliveries",
     lambda r: f"{r['error_count']} / {r['disconnects']} / {r['missing_deliveries']}"),
    ("machine load average (1 min) at start", lambda r: f"{r['load_average']:.2f}"),
)


def report(rounds: list[dict[int, dict]]) -> str:
    header = " | ".join(f"{count} process{'es' if count > 1 else ''}, round {number}"
                        for number, by_count in enumerate(rounds, start=1) for count in sorted(by_count))
    lines = [f"| figure | {header} |", "| --- |" + " ---: |" * sum(len(by_count) for by_count in rounds)]
    for label, show in ROWS:
        cells = [show(by_count[count]) for by_count in rounds for count in sorted(by_count)]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for number, by_count in enumerate(rounds, start=1):
        one, two = by_count[1], by_count[2]
        lines.append(f"\nRound {number}: 2 processes use {two['server_cpu_ms_per_edit'] / one['server_cpu_ms_per_edit']:.2f} x"
                     f" the server CPU per acked edit of 1 process, at"
                     f" {two['acked_per_second'] / one['acked_per_second']:.2f} x its throughput.")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Stress 1 and 2 app processes sharing PostgreSQL and Redis.")
    parser.add_argument("--postgres", required=True, metavar="URL", help="the PostgreSQL server for a fresh database")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL"), metavar="URL",
                        help="the Redis server for the message queue (default: $REDIS_URL)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    if not args.redis:
        parser.error("--redis or REDIS_URL is needed")
    with scratch_run("roadmap-bench-processes-") as (folder, processes):
        world = bench_world.build(folder, groups=STRESS.groups, clients_per_group=STRESS.clients_per_group,
                                  steps_per_map=20, micro_sizes=(10,), missed_ops=10, postgres_url=args.postgres)
        rounds = []
        for number in range(args.rounds):
            order = PROCESS_COUNTS if number % 2 == 0 else tuple(reversed(PROCESS_COUNTS))
            by_count = {}
            for count in order:
                print(f"round {number + 1}: {count} process(es) …", flush=True)
                by_count[count] = run_with(count, world, folder, processes, args.redis, seed=number + 1)
            rounds.append(by_count)
        print(report(rounds))
        return 0

if __name__ == "__main__":
    sys.exit(main())
