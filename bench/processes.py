"""Several app server processes on one PostgreSQL database and one Redis message queue.

    .venv/bin/python -m bench.run --scenario processes --postgres postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python -m bench.processes --postgres URL --redis redis://127.0.0.1:6379/0   # the same

Two loads, each against 1 and then 2 app servers (`python -m roadmap.server`) in the same
command, alternating which goes first each round: the stress scenario of bench/run.py
(10 groups x 10 clients, each sending its next edit as soon as the last is acked), and
the same clients paced at an edit every 0.4 s each (250 a second). On a machine with
fewer cores than runnable processes, stress makes every process queue for the cores,
which itself costs CPU per edit (context switches, cold caches) and grows with the
number of processes; the paced load shows the CPU per edit without that. The servers share a fresh
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
# The same clients at a steady 250 edits a second, below what one process serves on two cores:
# the CPU per edit without the cost of processes queueing for the cores.
PACED = Scenario(
    "paced", "paced, 10 groups x 10 clients, an edit every 0.4 s each", 10, 10, "human", 15.0, interval=0.4
)
LOADS = {"stress": STRESS, "paced": PACED}
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
            pids = (
                connection.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
                .scalars()
                .all()
            )
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


def run_with(
    count: int,
    world: bench_world.World,
    folder: Path,
    processes: Processes,
    redis_url: str,
    seed: int,
    load: Scenario = STRESS,
) -> dict:
    """A load (stress or paced) against `count` app servers sharing the database and the queue."""
    channel = f"roadmap-bench-{os.getpid()}-{load.key}-{count}-{seed}"
    queue = {"SOCKETIO_MESSAGE_QUEUE": redis_url, "SOCKETIO_CHANNEL": channel}
    groups = world.load_groups[: load.groups]
    plan = {"groups": [{**group, "tokens": group["tokens"][: load.clients_per_group]} for group in groups]}
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(Server("app", world, folder, processes, extra_env=queue)) for _ in range(count)]
        for server in servers:
            warm_up(server, groups[0])
        generator = LoadgenProcess(
            processes,
            folder,
            f"processes-{load.key}-{count}-{seed}",
            plan,
            Entrances(",".join(server.url for server in servers)),
            load,
            GRACE,
            seed,
        )
        generator.wait_for("READY", timeout=120)
        server_processes = [process for server in servers for process in server.processes_serving()]
        servers_before = _cpu_seconds(server_processes)
        backends_before = _cpu_by_pid(_database_backends(world.database_url))
        load_average = os.getloadavg()[0]
        generator.go()
        result = _merge([generator.result(timeout=load.duration + GRACE + 60)])
        servers_cpu = _cpu_seconds(server_processes) - servers_before
        backends_cpu = _backend_cpu_since(world.database_url, backends_before)
    acked = max(1, result["acked"])
    result.update(
        processes=count,
        load_average=load_average,
        server_cpu_ms_per_edit=1000 * servers_cpu / acked,
        postgres_cpu_ms_per_edit=1000 * backends_cpu / acked,
    )
    return result


ROWS = (
    ("acked edits/s", lambda r: f"{r['acked_per_second']:.0f}"),
    ("edit-to-peer p50 / p99 ms", lambda r: f"{r['peer']['p50']:.1f} / {r['peer']['p99']:.1f}"),
    ("ack p50 / p99 ms", lambda r: f"{r['ack']['p50']:.1f} / {r['ack']['p99']:.1f}"),
    ("server CPU ms per acked edit (all processes)", lambda r: f"{r['server_cpu_ms_per_edit']:.2f}"),
    ("PostgreSQL backends' CPU ms per acked edit (lower bound)", lambda r: f"{r['postgres_cpu_ms_per_edit']:.2f}"),
    (
        "errors / disconnects / missing deliveries",
        lambda r: f"{r['error_count']} / {r['disconnects']} / {r['missing_deliveries']}",
    ),
    ("machine load average (1 min) at start", lambda r: f"{r['load_average']:.2f}"),
)


def report(rounds: list[dict[int, dict]], load: Scenario) -> str:
    """One load's table: a column per process count and round, then the ratio of each round."""
    header = " | ".join(
        f"{count} process{'es' if count > 1 else ''}, round {number}"
        for number, by_count in enumerate(rounds, start=1)
        for count in sorted(by_count)
    )
    lines = [
        f"{load.title}:\n",
        f"| figure | {header} |",
        "| --- |" + " ---: |" * sum(len(by_count) for by_count in rounds),
    ]
    for label, show in ROWS:
        cells = [show(by_count[count]) for by_count in rounds for count in sorted(by_count)]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for number, by_count in enumerate(rounds, start=1):
        one, two = by_count[1], by_count[2]
        lines.append(
            f"\n{load.key}, round {number}: 2 processes use"
            f" {two['server_cpu_ms_per_edit'] / one['server_cpu_ms_per_edit']:.2f} x"
            f" the server CPU per acked edit of 1 process, at"
            f" {two['acked_per_second'] / one['acked_per_second']:.2f} x its throughput."
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="1 and 2 app processes sharing PostgreSQL and Redis, under load.")
    parser.add_argument("--postgres", required=True, metavar="URL", help="the PostgreSQL server for a fresh database")
    parser.add_argument(
        "--redis",
        default=os.environ.get("REDIS_URL"),
        metavar="URL",
        help="the Redis server for the message queue (default: $REDIS_URL)",
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--loads", default="stress,paced", help="which loads, of: " + ", ".join(LOADS))
    args = parser.parse_args(argv)
    if not args.redis:
        parser.error("--redis or REDIS_URL is needed")
    loads = [LOADS[key] for key in args.loads.split(",")]
    with scratch_run("roadmap-bench-processes-") as (folder, processes):
        world = bench_world.build(
            folder,
            groups=STRESS.groups,
            clients_per_group=STRESS.clients_per_group,
            steps_per_map=20,
            micro_sizes=(10,),
            missed_ops=10,
            postgres_url=args.postgres,
        )
        rounds = {load.key: [] for load in loads}
        for number in range(args.rounds):
            order = PROCESS_COUNTS if number % 2 == 0 else tuple(reversed(PROCESS_COUNTS))
            for load in loads:
                by_count = {}
                for count in order:
                    print(f"round {number + 1}, {load.key}: {count} process(es) …", flush=True)
                    by_count[count] = run_with(count, world, folder, processes, args.redis, seed=number + 1, load=load)
                rounds[load.key].append(by_count)
        print("\n\n".join(report(rounds[load.key], load) for load in loads))
        return 0


if __name__ == "__main__":
    sys.exit(main())
