"""The benchmark: the app's real-time path against a bare Socket.IO floor.

    .venv/bin/python -m bench.run            # full run, about 5 minutes; writes docs/performance.md
    .venv/bin/python -m bench.run --quick    # shorter scenarios, same sizes
    .venv/bin/python -m bench.run --profile  # also samples the app under stress with py-spy
    .venv/bin/python -m bench.run --postgres postgresql://postgres@127.0.0.1:5432/test --report /tmp/pg.md
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python -m bench.run --scenario processes --postgres URL
    .venv/bin/python -m bench.run --transports old,new   # also on the transport before gunicorn
    .venv/bin/python -m bench.run --before /tmp/before   # also the app from another checkout (git worktree add)
    .venv/bin/python -m bench.run --scenario exports [--postgres URL]   # edits while a moderator downloads

It builds a fresh SQLite database (or, with --postgres, a fresh PostgreSQL database on
that server; bench/world.py), then:

1. in-process micro-benchmarks: SQL query counts and times of `join`
   (snapshot and catch-up) and of the editor page, as the map grows
   (bench/micro.py);
2. load scenarios, each against a fresh app server (`python -m roadmap.server`)
   and a fresh baseline (`python -m bench.baseline_server`), both on free
   127.0.0.1 ports, driven by the same load generator (bench/loadgen.py) in
   its own process(es); the server's CPU and RSS are sampled with psutil
   (gunicorn's master and its worker together); with --transports old,new each
   round runs both on the transport before gunicorn (bench/old_transport.py:
   gevent-websocket, installed into the temporary folder for those processes only)
   and on the current one;
3. over the wire, on the first scenario's servers while they are still idle:
   a join with a 300-step snapshot and a join 1,000 ops behind, timed by a
   client, against the bare server's join as the floor.

Every figure is reported next to the baseline's from the same command, as a
ratio, because the machine is shared and absolute timings drift. The exit
status is 0 when the run itself was sound (the baseline had no errors, missing
deliveries or disconnects), whether or not the app met its targets; with
--strict the app must have none either (tests/app/test_bench_smoke.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import queue
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Self

import psutil

from bench import loadgen, micro
from bench import world as bench_world
from bench.loadgen import percentile
from roadmap.config import Config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REPORT_PATH = PROJECT_ROOT / "docs" / "performance.md"
START_TIMEOUT = 30.0
SAMPLE_SECONDS = 0.25
SETTLE_SECONDS = 2.0
HUMAN_INTERVAL = 2.0  # seconds between one person's edits
LIBRARIES = (
    "flask",
    "flask-socketio",
    "python-socketio",
    "python-engineio",
    "gevent",
    "gunicorn",
    "simple-websocket",
    "wsproto",
    "sqlalchemy",
    "flask-sqlalchemy",
    "aiohttp",
    "psutil",
)
TRANSPORTS = ("old", "new")
# The servers a round can compare: the transport before gunicorn, the app at an earlier commit
# (--before: its own checkout), and the current code, which the report's main tables show.
VARIANT_TITLES = {
    "old": "the transport before gunicorn (gevent's WSGI server with gevent-websocket and wsaccel, "
    "`bench/old_transport.py`)",
    "before": "the code at an earlier commit (`--before`)",
}
OLD_TRANSPORT_PACKAGES = ("gevent-websocket==0.10.1", "wsaccel==0.6.7")

TARGETS = {
    "human_p50": "human rate, 300 clients: edit-to-peer p50 <= 1.5 x baseline",
    "human_p99": "human rate, 300 clients: edit-to-peer p99 <= 2 x baseline",
    "human_ack_p99": "human rate, 300 clients: ack p99 < 25 ms",
    "stress_throughput": "stress: acked edits/s >= 60 % of baseline",
    "catch_up": "catch-up of 1,000 missed ops (join, median) < 100 ms",
    "join_snapshot": "join snapshot of a 300-step map (median) < 50 ms",
    "memory": "idle memory < 150 KB per connected client",
    "n_plus_one": "no N+1 queries (count flat from the smallest to the largest map)",
}


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    groups: int
    clients_per_group: int
    mode: str
    duration: float
    interval: float = HUMAN_INTERVAL

    @property
    def clients(self) -> int:
        return self.groups * self.clients_per_group


@dataclass(frozen=True)
class Settings:
    scenarios: tuple[Scenario, ...]
    steps_per_map: int
    micro_sizes: tuple[int, ...]
    missed_ops: int
    repeats: int
    grace: float
    profile_seconds: float
    rounds: int = 1  # app/baseline pairs per load scenario; targets use the median round
    settle: float = SETTLE_SECONDS  # before each memory figure
    fresh_servers: bool = True  # False: one app and one baseline for every scenario (smoke)


def settings_for(quick: bool, smoke: bool) -> Settings:
    if smoke:
        return Settings(
            scenarios=(
                Scenario("human_small", "human rate, 1 group x 3 clients", 1, 3, "human", 2.0, interval=0.5),
                Scenario("stress", "stress, 1 group x 3 clients", 1, 3, "stress", 2.0),
            ),
            steps_per_map=20,
            micro_sizes=(5, 20),
            missed_ops=50,
            repeats=2,
            grace=2.0,
            profile_seconds=2.0,
            settle=0.3,
            fresh_servers=False,
        )
    duration = 10.0 if quick else 25.0
    return Settings(
        scenarios=(
            Scenario("human_small", "human rate, 1 group x 10 clients", 1, 10, "human", duration),
            Scenario("human_300", "human rate, 30 groups x 10 clients", 30, 10, "human", duration + 5),
            Scenario("stress", "stress, 10 groups x 10 clients", 10, 10, "stress", duration - 5),
        ),
        steps_per_map=20,
        micro_sizes=(10, 100, 300),
        missed_ops=1000,
        repeats=5 if quick else 20,
        grace=5.0,
        profile_seconds=10.0 if quick else 20.0,
        rounds=1 if quick else 3,
    )


# --- processes -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def scratch_run(prefix: str):
    """A temporary folder and the processes a scenario starts, both gone when it ends."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    processes = Processes()
    try:
        yield folder, processes
    finally:
        processes.stop_all()
        shutil.rmtree(folder, ignore_errors=True)


def database_name(postgres_url: str | None) -> str:
    return "PostgreSQL" if postgres_url else "SQLite (WAL)"


class Processes:
    """Every child this run starts, so that all of them end, whatever happens."""

    def __init__(self):
        self.children: list[subprocess.Popen] = []

    def start(self, command: list[str], cwd: Path = PROJECT_ROOT, **options) -> subprocess.Popen:
        child = subprocess.Popen(command, cwd=cwd, **options)
        self.children.append(child)
        return child

    def stop(self, child: subprocess.Popen, timeout: float = 10.0) -> None:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=timeout)
        if child in self.children:
            self.children.remove(child)

    def stop_all(self) -> None:
        for child in list(self.children):
            self.stop(child)


def install_old_transport(folder: Path) -> Path:
    """gevent-websocket in a folder of its own, for the PYTHONPATH of old-transport servers only."""
    target = folder / "old-transport"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            *OLD_TRANSPORT_PACKAGES,
        ],
        check=True,
        timeout=300,
    )
    return target


class Server:
    """The app or the baseline in its own process, bound to 127.0.0.1, on the current transport
    (gunicorn) or, with `old_transport` (gevent-websocket's folder), on the one before; with
    `source`, run from that checkout of the project instead of this one."""

    def __init__(
        self,
        kind: str,
        world: bench_world.World,
        folder: Path,
        processes: Processes,
        old_transport: Path | None = None,
        extra_env: dict | None = None,
        source: Path | None = None,
    ):
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes = processes
        self.log_path = folder / f"{kind}-{self.port}.log"
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("REDIS_URL", "SOCKETIO_MESSAGE_QUEUE", "SOCKETIO_ASYNC_MODE")
        }
        env["PYTHONUNBUFFERED"] = "1"
        if kind == "app":
            env.update(
                DATABASE_URL=world.database_url,
                SECRET_KEY=bench_world.SECRET_KEY,
                ROADMAP_INSTANCE_PATH=str(world.instance_path),
                # Stress sends as fast as acks come back, which the event rate limit refuses;
                # the scenarios measure the real-time path, bench/flood.py the limit.
                SOCKET_EVENTS_PER_SECOND="0",
                # The load generator connects its hundreds of clients from one address.
                SOCKET_CONNECTIONS_PER_ADDRESS="1000",
            )
            self.command = [
                sys.executable,
                "-m",
                "roadmap.server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--quiet",
            ]
        else:
            self.command = [
                sys.executable,
                "-m",
                "bench.baseline_server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ]
        self.source = source or PROJECT_ROOT
        if source is not None:
            env["PYTHONPATH"] = str(source)
        if old_transport is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(old_transport), str(self.source)])
            self.command = [sys.executable, "-m", "bench.old_transport", kind, *self.command[3:]]
        self.env = {**env, **(extra_env or {})}
        self.child: subprocess.Popen | None = None

    def __enter__(self) -> Self:
        self.log_file = open(self.log_path, "ab")
        self.child = self.processes.start(
            self.command, cwd=self.source, env=self.env, stdout=self.log_file, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.child.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        self.process = psutil.Process(self.child.pid)
                        return self
            except OSError:
                pass
            time.sleep(0.05)  # polling the port, bounded by the deadline
        raise RuntimeError(f"{self.kind} server did not start in {START_TIMEOUT} s")

    def __exit__(self, *_exc) -> None:
        self.processes.stop(self.child)
        self.log_file.close()

    def processes_serving(self) -> list[psutil.Process]:
        """The server process and its children (gunicorn's worker)."""
        return [self.process, *self.process.children(recursive=True)]

    def rss(self) -> int:
        return sum(process.memory_info().rss for process in self.processes_serving())

    def cpu_seconds(self) -> float:
        return sum(times.user + times.system for times in (process.cpu_times() for process in self.processes_serving()))


class Sampler:
    """CPU and RSS of one process every SAMPLE_SECONDS, in a thread, until stopped."""

    def __init__(self, server: Server, limit_seconds: float):
        self.server = server
        self.limit = int(limit_seconds / SAMPLE_SECONDS) + 1
        self.cpu_percents: list[float] = []
        self.rss_values: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last_cpu, last_at = self.server.cpu_seconds(), time.perf_counter()
        for _ in range(self.limit):
            if self._stop.wait(SAMPLE_SECONDS):
                return
            try:
                cpu, at = self.server.cpu_seconds(), time.perf_counter()
                self.rss_values.append(self.server.rss())
            except psutil.Error:
                return
            self.cpu_percents.append(100 * (cpu - last_cpu) / (at - last_at))
            last_cpu, last_at = cpu, at

    def __enter__(self) -> Self:
        self.started_cpu, self.started_at = self.server.cpu_seconds(), time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.cpu_used = self.server.cpu_seconds() - self.started_cpu
        self.wall = time.perf_counter() - self.started_at
        self._stop.set()
        self._thread.join(timeout=5)


class LoadgenProcess:
    """One bench.loadgen process, its output read by a thread so that no read blocks forever."""

    def __init__(
        self,
        processes: Processes,
        folder: Path,
        name: str,
        plan: dict,
        server: Server,
        scenario: Scenario,
        grace: float,
        seed: int,
    ):
        self.plan_path = folder / f"{name}-plan.json"
        self.out_path = folder / f"{name}-result.json"
        self.plan_path.write_text(json.dumps(plan))
        command = [
            sys.executable,
            "-m",
            "bench.loadgen",
            "--plan",
            str(self.plan_path),
            "--url",
            server.url,
            "--protocol",
            server.kind,
            "--mode",
            scenario.mode,
            "--duration",
            str(scenario.duration),
            "--interval",
            str(scenario.interval),
            "--grace",
            str(grace),
            "--seed",
            str(seed),
            "--wait-go",
            "--out",
            str(self.out_path),
        ]
        self.processes = processes
        self.child = processes.start(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.process = psutil.Process(self.child.pid)

    def _read(self) -> None:
        for line in self.child.stdout:
            self.output.append(line)
            self.lines.put(line)
        self.lines.put("")  # end of output

    def wait_for(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line.startswith(prefix):
                return line.strip()
            if line == "":
                break
        raise RuntimeError(f"load generator gave no {prefix!r}:\n{''.join(self.output)[-3000:]}")

    def go(self) -> None:
        self.child.stdin.write("GO\n")
        self.child.stdin.flush()

    def result(self, timeout: float) -> dict:
        self.child.wait(timeout=timeout)
        if self.child.returncode != 0:
            raise RuntimeError(f"load generator failed:\n{''.join(self.output)[-3000:]}")
        self.processes.stop(self.child)
        return json.loads(self.out_path.read_text())


def _merge(parts: list[dict]) -> dict:
    """One result from the load generators' parts: counts add up, samples pool."""
    merged = {
        key: sum(part[key] for part in parts)
        for key in (
            "clients",
            "clients_ready",
            "groups",
            "sent",
            "acked",
            "deliveries",
            "missing_deliveries",
            "own_echo_missing",
            "error_count",
            "disconnects",
            "late_sends",
            "loadgen_cpu_seconds",
        )
    }
    merged["run_seconds"] = max(part["run_seconds"] for part in parts)
    merged["errors"] = {}
    for part in parts:
        for code, count in part["errors"].items():
            merged["errors"][code] = merged["errors"].get(code, 0) + count
    merged["ack"] = loadgen.summary_ms([sample for part in parts for sample in part["ack_ms"]])
    merged["peer"] = loadgen.summary_ms([sample for part in parts for sample in part["peer_ms"]])
    merged["loop_lag_p99"] = max((part["loop_lag_ms"]["p99"] or 0) for part in parts)
    merged["loadgen_processes"] = len(parts)
    merged["acked_per_second"] = merged["acked"] / merged["run_seconds"]
    merged["deliveries_per_second"] = merged["deliveries"] / merged["run_seconds"]
    merged["loadgen_cpu_percent"] = 100 * merged["loadgen_cpu_seconds"] / merged["run_seconds"] / len(parts)
    return merged


def warm_up(server: Server, group: dict) -> None:
    """One join before the idle figure, so first-use caches are not billed to the clients."""
    asyncio.run(loadgen.probe_joins(server.url, group["tokens"][0], group["roadmap_id"], None, 2))


def run_scenario(
    kind: str,
    scenario: Scenario,
    world: bench_world.World,
    settings: Settings,
    folder: Path,
    processes: Processes,
    loadgen_processes: int,
    seed: int,
    profile_to: Path | None = None,
    probes: dict | None = None,
    server: Server | None = None,
    old_transport: Path | None = None,
    source: Path | None = None,
) -> dict:
    """One scenario against `server`, or a fresh one; with `probes` (a dict to fill), the joins over
    the wire are timed first, on the idle server, before its memory is measured."""
    groups = world.load_groups[: scenario.groups]
    plan_groups = [{**group, "tokens": group["tokens"][: scenario.clients_per_group]} for group in groups]
    split = max(1, min(loadgen_processes, len(plan_groups)))
    with contextlib.ExitStack() as stack:
        if server is None:
            server = stack.enter_context(Server(kind, world, folder, processes, old_transport, source=source))
        warm_up(server, plan_groups[0])
        if probes is not None:
            probes.update(probe_joins(server, world, settings))
        time.sleep(settings.settle)
        idle_rss = server.rss()
        generators = [
            LoadgenProcess(
                processes,
                folder,
                f"{scenario.key}-{kind}-{index}",
                {"groups": plan_groups[index::split]},
                server,
                scenario,
                settings.grace,
                seed,
            )
            for index in range(split)
        ]
        for generator in generators:
            generator.wait_for("READY", timeout=120)
        time.sleep(settings.settle)
        clients_rss = server.rss()
        profiler = None
        if profile_to is not None:
            profiler = processes.start(
                [
                    _py_spy(),
                    "record",
                    "--pid",
                    str(server.child.pid),
                    "--subprocesses",
                    "--format",
                    "raw",
                    "--rate",
                    "250",
                    "--duration",
                    str(int(scenario.duration)),
                    "--nonblocking",
                    "--output",
                    str(profile_to),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
            time.sleep(1.0)  # py-spy attaches
        load_average = os.getloadavg()[0]
        with Sampler(server, scenario.duration + settings.grace + 60) as sampler:
            for generator in generators:
                generator.go()
            parts = [generator.result(timeout=scenario.duration + settings.grace + 60) for generator in generators]
        if profiler is not None:
            profiler.wait(timeout=scenario.duration + 30)
            processes.stop(profiler)
    result = _merge(parts)
    result.update(
        load_average=load_average,
        server_rss_idle=idle_rss,
        server_rss_clients=clients_rss,
        server_rss_peak=max(sampler.rss_values or [clients_rss]),
        server_rss_per_client=(clients_rss - idle_rss) / max(1, result["clients_ready"]),
        server_cpu_avg=100 * sampler.cpu_used / sampler.wall,
        server_cpu_peak=max(sampler.cpu_percents or [0.0]),
        server_cpu_ms_per_edit=1000 * sampler.cpu_used / max(1, result["acked"]),
    )
    return result


def probe_joins(server: Server, world: bench_world.World, settings: Settings) -> dict:
    """Joins timed by a client over WebSocket: the app's big answers, or the bare server's join."""
    largest = world.largest
    if server.kind == "app":
        probes = {
            "app_snapshot": (None,),
            "app_catch_up": (largest.revision - settings.missed_ops,),
        }
    else:
        probes = {"baseline_join": (None,)}
    results = {}
    for key, (since_revision,) in probes.items():
        figure = asyncio.run(
            loadgen.probe_joins(server.url, largest.token, largest.roadmap_id, since_revision, settings.repeats)
        )
        samples = figure.pop("ms")
        figure.update(median=percentile(samples, 0.5), max=max(samples), runs=len(samples))
        results[key] = figure
    return results


# --- profile -------------------------------------------------------------


def _py_spy() -> str:
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
    return found


def summarise_profile(raw_path: Path, top: int = 20) -> dict:
    """Self and inclusive shares of functions from py-spy's raw (collapsed stack) output."""
    if not raw_path.exists():
        return {}
    self_counts: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in raw_path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short_frame(frame) for frame in stack.split(";")[1:]]  # the first is the thread
        if not frames:
            continue
        total += count
        self_counts[frames[-1]] = self_counts.get(frames[-1], 0) + count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count

    def ranked(counts: dict[str, int], only_project: bool = False) -> list[tuple[str, float]]:
        rows = [(name, 100 * count / total) for name, count in counts.items() if not only_project or "roadmap/" in name]
        return sorted(rows, key=lambda row: -row[1])[:top]

    return {
        "samples": total,
        "self": ranked(self_counts),
        "inclusive": ranked(inclusive),
        "inclusive_project": ranked(inclusive, only_project=True),
    }


def _short_frame(frame: str) -> str:
    """'func (/long/path/site-packages/pkg/mod.py:12)' -> 'func (pkg/mod.py)'."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", str(PROJECT_ROOT) + "/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


# --- report --------------------------------------------------------------


def _machine(command: str, loadgen_note: str) -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "-"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "code": _code_version(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "command": command,
        "load_average": os.getloadavg(),
        "loadgen": loadgen_note,
    }


def _code_version() -> str:
    """The commit measured, and whether the app's code had changes on top of it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "roadmap", "migrations"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit or 'unknown'}" + (" with uncommitted changes in roadmap/ or migrations/" if changed else "")


def _ms(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def _ratio(app_value, baseline_value) -> str:
    if app_value is None or baseline_value in (None, 0):
        return "–"
    return f"{app_value / baseline_value:.2f}"


SCENARIO_ROWS = (
    ("clients connected", lambda r: r["clients_ready"], "{:d}"),
    ("edits acked", lambda r: r["acked"], "{:d}"),
    ("acked edits/s", lambda r: r["acked_per_second"], "{:.1f}"),
    ("deliveries to peers/s", lambda r: r["deliveries_per_second"], "{:.1f}"),
    ("edit-to-peer p50 ms", lambda r: r["peer"]["p50"], "{:.1f}"),
    ("edit-to-peer p95 ms", lambda r: r["peer"]["p95"], "{:.1f}"),
    ("edit-to-peer p99 ms", lambda r: r["peer"]["p99"], "{:.1f}"),
    ("edit-to-peer max ms", lambda r: r["peer"]["max"], "{:.1f}"),
    ("ack p50 ms", lambda r: r["ack"]["p50"], "{:.1f}"),
    ("ack p95 ms", lambda r: r["ack"]["p95"], "{:.1f}"),
    ("ack p99 ms", lambda r: r["ack"]["p99"], "{:.1f}"),
    ("ack max ms", lambda r: r["ack"]["max"], "{:.1f}"),
    ("errors", lambda r: r["error_count"], "{:d}"),
    ("disconnects", lambda r: r["disconnects"], "{:d}"),
    ("missing deliveries", lambda r: r["missing_deliveries"], "{:d}"),
    ("server CPU avg %", lambda r: r["server_cpu_avg"], "{:.0f}"),
    ("server CPU peak % (0.25 s)", lambda r: r["server_cpu_peak"], "{:.0f}"),
    ("server CPU ms per acked edit", lambda r: r["server_cpu_ms_per_edit"], "{:.2f}"),
    ("server RSS idle MB", lambda r: r["server_rss_idle"] / 2**20, "{:.1f}"),
    ("server RSS with clients MB", lambda r: r["server_rss_clients"] / 2**20, "{:.1f}"),
    ("server RSS peak MB", lambda r: r["server_rss_peak"] / 2**20, "{:.1f}"),
    ("server RSS per client KB", lambda r: r["server_rss_per_client"] / 1024, "{:.0f}"),
    ("load generator CPU % (per process)", lambda r: r["loadgen_cpu_percent"], "{:.0f}"),
    ("load generator loop lag p99 ms", lambda r: r["loop_lag_p99"], "{:.1f}"),
    ("machine load average (1 min) at start", lambda r: r["load_average"], "{:.2f}"),
)


def _scenario_table(app_result: dict, baseline_result: dict) -> list[str]:
    lines = ["| figure | app | baseline | app / baseline |", "| --- | ---: | ---: | ---: |"]
    for label, pick, form in SCENARIO_ROWS:
        app_value, baseline_value = pick(app_result), pick(baseline_result)
        cells = ["–" if value is None else form.format(value) for value in (app_value, baseline_value)]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} | {_ratio(app_value, baseline_value)} |")
    return lines


def round_ratios(pair: dict) -> dict:
    """The figures of one app/baseline pair that the targets judge."""
    app, base = pair["app"], pair["baseline"]
    return {
        "peer_p50": app["peer"]["p50"],
        "base_peer_p50": base["peer"]["p50"],
        "peer_p99": app["peer"]["p99"],
        "base_peer_p99": base["peer"]["p99"],
        "ack_p99": app["ack"]["p99"],
        "base_ack_p99": base["ack"]["p99"],
        "p50_ratio": app["peer"]["p50"] / base["peer"]["p50"],
        "p99_ratio": app["peer"]["p99"] / base["peer"]["p99"],
        "throughput_share": app["acked_per_second"] / base["acked_per_second"],
        "cpu_ms_per_edit": app["server_cpu_ms_per_edit"],
        "base_cpu_ms_per_edit": base["server_cpu_ms_per_edit"],
        "load_average": max(app["load_average"], base["load_average"]),
    }


def _judged_ratio(scenario: Scenario) -> str:
    return "throughput_share" if scenario.mode == "stress" else "p50_ratio"


def median_round(scenario: Scenario, rounds: list[dict]) -> dict:
    """The pair whose judged ratio is the median of the rounds: the one the tables show."""
    key = _judged_ratio(scenario)
    ranked = sorted(rounds, key=lambda pair: round_ratios(pair)[key])
    return ranked[(len(ranked) - 1) // 2]


def _of_rounds(rounds: list[dict], key: str, form: str, best=min) -> str:
    """' (median of 3 rounds; best 1.31 x)', so the report shows the best figure reached as well."""
    if len(rounds) < 2:
        return ""
    return f" (median of {len(rounds)} rounds; best {form.format(best(figures[key] for figures in rounds))})"


def evaluate_targets(results: dict) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for each target, on the median over the rounds of each scenario;
    met is None when the run had no such scenario."""
    rows = []
    human = results["scenarios"].get("human_300")
    if human:
        app, base = human["app"], human["baseline"]
        rounds = results["rounds"]["human_300"]
        p50 = statistics.median([figures["p50_ratio"] for figures in rounds])
        p99 = statistics.median([figures["p99_ratio"] for figures in rounds])
        ack_p99 = statistics.median([figures["ack_p99"] for figures in rounds])
        base_ack_p99 = statistics.median([figures["base_ack_p99"] for figures in rounds])
        rows.append((TARGETS["human_p50"], f"{p50:.2f} x{_of_rounds(rounds, 'p50_ratio', '{:.2f} x')}", p50 <= 1.5))
        rows.append((TARGETS["human_p99"], f"{p99:.2f} x{_of_rounds(rounds, 'p99_ratio', '{:.2f} x')}", p99 <= 2.0))
        rows.append(
            (
                TARGETS["human_ack_p99"],
                f"{_ms(ack_p99)} ms, baseline {_ms(base_ack_p99)} ms{_of_rounds(rounds, 'ack_p99', '{:.1f} ms')}",
                ack_p99 < 25,
            )
        )
        per_client = app["server_rss_per_client"] / 1024
        rows.append(
            (
                TARGETS["memory"],
                f"{per_client:.0f} KB per client (baseline {base['server_rss_per_client'] / 1024:.0f} KB)",
                per_client < 150,
            )
        )
    else:
        for key in ("human_p50", "human_p99", "human_ack_p99", "memory"):
            rows.append((TARGETS[key], "not run (no 300-client scenario in this mode)", None))
    stress = results["scenarios"].get("stress")
    if stress:
        rounds = results["rounds"]["stress"]
        share = statistics.median([figures["throughput_share"] for figures in rounds])
        shares = [{"percent": 100 * figures["throughput_share"]} for figures in rounds]
        rows.append(
            (
                TARGETS["stress_throughput"],
                f"{100 * share:.0f} % of the baseline's edits/s{_of_rounds(shares, 'percent', '{:.0f} %', best=max)}",
                share >= 0.6,
            )
        )
    wire = results["wire"]
    for key, probe, size, limit, unit in (
        ("catch_up", "app_catch_up", 1000, 100, "changes"),
        ("join_snapshot", "app_snapshot", 300, 50, "steps"),
    ):
        figure = wire[probe]
        measured = (
            f"{_ms(figure['median'])} ms for {figure['count']} {unit} "
            f"(bare join {_ms(wire['baseline_join']['median'])} ms)"
        )
        if figure["count"] < size:  # a smoke run: too small to judge
            rows.append((TARGETS[key], measured + ", smaller than the target's", None))
        else:
            rows.append((TARGETS[key], measured, figure["median"] < limit))
    flat, detail = _queries_flat(results["micro"])
    rows.append((TARGETS["n_plus_one"], detail, flat))
    return rows


# What profiling showed and what was done about it; the figures of each run are above.
FINDINGS_PATH = PROJECT_ROOT / "docs" / "performance-findings.md"


def findings() -> list[str]:
    """The bullets of docs/performance-findings.md, where the prose about the figures is kept."""
    return [line for line in FINDINGS_PATH.read_text().splitlines() if line.startswith("- ")]


def _dashboard_line(figures: dict, interval: float) -> str:
    busiest = max(figures, key=int)
    one, many = figures[min(figures, key=int)], figures[busiest]
    return (
        f"Dashboard update with {busiest} busy groups (every map changed since the last push; no target set): "
        f"{many['queries']} queries, {many['median_ms']:.1f} ms median "
        f"({one['queries']} queries, {one['median_ms']:.1f} ms for one group, so {many['median_ms'] / max(one['median_ms'], 1e-9):.1f} x). "
        f"Pushed at most every {interval:g} s, it takes {100 * many['median_ms'] / 1000 / interval:.1f} % of one core."
    )


def _queries_flat(micro_results: dict) -> tuple[bool, str]:
    checks = {
        "join snapshot": [figure["queries"] for figure in micro_results["join_snapshot"].values()],
        "join catch-up": [figure["queries"] for figure in micro_results["join_catch_up"].values()],
        "editor page": [figure["queries"] for figure in micro_results["render"].values()],
        "op step.set": list(micro_results["op_status"].values()),
        "op step.move": list(micro_results["op_move"].values()),
        "op step.add": list(micro_results["op_add"].values()),
    }
    flat = all(len(set(counts)) == 1 for counts in checks.values())
    detail = "; ".join(f"{name} {'→'.join(str(count) for count in counts)}" for name, counts in checks.items())
    return flat, detail


def reading_notes(results: dict, settings: Settings) -> list[str]:
    """Plain remarks on what limits the figures of this run, derived from the figures."""
    notes = []
    nproc = results["machine"]["nproc"] or 1
    for scenario in settings.scenarios:
        pair = results["scenarios"][scenario.key]
        app, baseline = pair["app"], pair["baseline"]
        if scenario.mode == "human":
            offered = app["clients_ready"] / scenario.interval
            if app["acked_per_second"] < 0.9 * offered:
                notes.append(
                    f"{scenario.title}: the app acked {app['acked_per_second']:.0f} of the "
                    f"{offered:.0f} edits/s offered, so it was saturated and its latencies are mostly "
                    f"queueing (the baseline acked {baseline['acked_per_second']:.0f}/s)."
                )
        lags = [result["loop_lag_p99"] for result in (app, baseline)]
        if max(lags) > 50:
            notes.append(
                f"{scenario.title}: the load generator's event loop lagged (p99 {lags[0]:.0f} ms with the "
                f"app, {lags[1]:.0f} ms with the baseline), so its latencies include client-side delay."
            )
        loads = [result["load_average"] for result in (app, baseline)]
        if max(loads) > nproc:
            notes.append(
                f"{scenario.title}: the machine's load average was {loads[0]:.1f} (app) and "
                f"{loads[1]:.1f} (baseline) on {nproc} CPUs: other work competed for the CPU."
            )
    costs = [pair["app"]["server_cpu_ms_per_edit"] for pair in results["scenarios"].values()]
    if costs:
        cost = min(costs)
        notes.append(
            f"The app spent at least {cost:.1f} ms of server CPU per acked edit, so one app process on a "
            f"free core acks at most about {1000 / cost:.0f} edits/s; 300 clients at one edit per "
            f"{HUMAN_INTERVAL:g} s offer {300 / HUMAN_INTERVAL:.0f}/s."
        )
    return notes


def _rounds_table(results: dict, settings: Settings) -> list[str]:
    """Every round's judged figures, so the spread between pairs run minutes apart shows."""
    if settings.rounds < 2:
        return []
    lines = [
        "",
        f"Each load scenario ran as {settings.rounds} app/baseline pairs (rounds), alternating which went first;",
        "each target above takes the median of its own figure over the rounds (so the p50 and the p99",
        "medians may come from different rounds), and the scenario tables below show the round with",
        "the median p50 ratio (human rate) or throughput share (stress).",
        "",
        "| scenario | round | edit-to-peer p50 app / baseline | p99 app / baseline | ack p99 ms | "
        "edits/s, app as share of baseline | CPU ms per edit app / baseline | load average |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for scenario in settings.scenarios:
        for number, figures in enumerate(results["rounds"][scenario.key], start=1):
            lines.append(
                f"| {scenario.key} | {number} | "
                f"{_ms(figures['peer_p50'])} / {_ms(figures['base_peer_p50'])} = {figures['p50_ratio']:.2f} x | "
                f"{_ms(figures['peer_p99'])} / {_ms(figures['base_peer_p99'])} = {figures['p99_ratio']:.2f} x | "
                f"{_ms(figures['ack_p99'])} | {100 * figures['throughput_share']:.0f} % | "
                f"{figures['cpu_ms_per_edit']:.2f} / {figures['base_cpu_ms_per_edit']:.2f} | "
                f"{figures['load_average']:.2f} |"
            )
    return lines


TRANSPORT_ROWS = (
    ("app: acked edits/s", "app", lambda r: r["acked_per_second"], "{:.1f}"),
    ("app: edit-to-peer p50 ms", "app", lambda r: r["peer"]["p50"], "{:.1f}"),
    ("app: edit-to-peer p99 ms", "app", lambda r: r["peer"]["p99"], "{:.1f}"),
    ("app: ack p99 ms", "app", lambda r: r["ack"]["p99"], "{:.1f}"),
    ("app: server CPU ms per acked edit", "app", lambda r: r["server_cpu_ms_per_edit"], "{:.2f}"),
    ("app: server RSS per client KB", "app", lambda r: r["server_rss_per_client"] / 1024, "{:.0f}"),
    ("baseline: acked edits/s", "baseline", lambda r: r["acked_per_second"], "{:.1f}"),
    ("baseline: edit-to-peer p50 ms", "baseline", lambda r: r["peer"]["p50"], "{:.1f}"),
    ("baseline: edit-to-peer p99 ms", "baseline", lambda r: r["peer"]["p99"], "{:.1f}"),
    ("baseline: server CPU ms per acked edit", "baseline", lambda r: r["server_cpu_ms_per_edit"], "{:.2f}"),
)


def _variant_sections(results: dict, current: str = "new") -> list[str]:
    """Each other variant of the servers (VARIANT_TITLES) against the current code, from the same rounds."""
    lines = []
    variants = results.get("transports", {})
    if current not in variants:
        return lines
    for variant, title in VARIANT_TITLES.items():
        if variant not in variants:
            continue
        lines += [
            "",
            f"## {variant.capitalize()} against {current}",
            "",
            f"The same scenarios in the same rounds, on {title} and on the current code",
            "(gunicorn's gevent worker with simple-websocket); each row is from the round with the median",
            "judged ratio.",
            "",
        ]
        for key, new_pair in variants[current]["scenarios"].items():
            other_pair = variants[variant]["scenarios"][key]
            lines += [
                f"### {key}",
                "",
                f"| figure | {variant} | {current} | {current} / {variant} |",
                "| --- | ---: | ---: | ---: |",
            ]
            for label, kind, pick, form in TRANSPORT_ROWS:
                other_value, new_value = pick(other_pair[kind]), pick(new_pair[kind])
                cells = ["–" if value is None else form.format(value) for value in (other_value, new_value)]
                lines.append(f"| {label} | {cells[0]} | {cells[1]} | {_ratio(new_value, other_value)} |")
            lines.append("")
    for variant, figures in variants.items():
        profile = figures.get("profile")
        if len(variants) > 1 and profile and "self" in profile:
            leaves = ", ".join(f"`{name}` {share:.1f} %" for name, share in profile["self"][:8])
            lines.append(f"Top leaves under stress, {variant} ({profile['samples']} samples): {leaves}.")
            lines.append("")
    return lines


def render_report(results: dict, settings: Settings) -> str:
    machine = results["machine"]
    lines = [
        "# Performance",
        "",
        "The real-time path of Roadmap measured against a bare Flask-SocketIO server on the same",
        "stack (gunicorn's gevent worker with one worker process, simple-websocket behind the app's",
        "message-size guard, async_handlers=False; `bench/baseline_server.py`), which does no",
        "validation and no database work: its `op` only numbers the payload and broadcasts it.",
        "The machine is shared, so compare the **ratios**: each pair ran in the same command,",
        "minutes apart. This file is written by the benchmark; edit `bench/run.py`, not this file.",
        "",
        "Reproduce with:",
        "",
        "```sh",
        ".venv/bin/pip install -r bench/requirements.txt   # aiohttp, psutil (py-spy for --profile)",
        machine["command"],
        "```",
        "",
        "## Machine",
        "",
        f"- date: {machine['date']}; code: commit {machine['code']}",
        (
            f"- CPU: {machine['cpu']}, nproc {machine['nproc']} (load average at start "
            f"{' / '.join(f'{value:.2f}' for value in machine['load_average'])})"
        ),
        f"- Python {machine['python']} on {machine['platform']}",
        "- " + ", ".join(f"{name} {version}" for name, version in machine["versions"].items()),
        f"- database: {machine['database']}; one server process each",
        f"- load generator: {machine['loadgen']}",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "| --- | --- | :---: |",
    ]
    for target, measured, met in results["targets"]:
        lines.append(f"| {target} | {measured} | {'–' if met is None else ('yes' if met else '**no**')} |")
    lines += _rounds_table(results, settings)
    lines += ["", _dashboard_line(results["micro"]["dashboard"], Config.DASHBOARD_PUSH_SECONDS)]
    edit_cost = results["micro"]["edit_cost"]
    lines += [
        "",
        (
            f"One edit in process (`editing.apply`, a step's status, no clients): {edit_cost['queries']} queries, "
            f"{edit_cost['median_ms']:.2f} ms median."
        ),
    ]
    lines += _variant_sections(results)
    lines += ["", "## Findings", "", f"From `{FINDINGS_PATH.relative_to(PROJECT_ROOT)}`:", ""] + findings()
    notes = reading_notes(results, settings)
    if notes:
        lines += ["", "Reading this run:", ""] + [f"- {note}" for note in notes]
    lines += [
        "",
        "## Load scenarios",
        "",
        (
            "Each client keeps one op in flight. Human rate: one edit every "
            f"{settings.scenarios[0].interval:g} s per client, at a random phase; the mix is 25 % description"
        ),
        "with base, 15 % title with base, 20 % status, 15 % owner, 15 % reorder (`step.move`), 10 % new step.",
        "Stress: each client sends its next edit as soon as the previous one is acked.",
        "Edit-to-peer is the time from sending an op to the `change` arriving at each *other*",
        "client of the group; ack is the time to the op's ack. A delivery is missing when a peer had",
        f"no `change` for an acked op {settings.grace:g} s after the run. "
        + (
            "Each server is started fresh for each scenario; "
            if settings.fresh_servers
            else "One app and one baseline server serve every scenario; "
        )
        + "RSS per client = (RSS with every",
        "client joined and idle − RSS after one warm-up join) / clients. Server CPU is user + system",
        'time of the server process over the run, so "ms per acked edit" is the app\'s cost of an edit.',
        "",
    ]
    for scenario in settings.scenarios:
        pair = results["scenarios"][scenario.key]
        lines += [f"### {scenario.title}, {scenario.duration:g} s", ""]
        lines += _scenario_table(pair["app"], pair["baseline"])
        errors = {kind: pair[kind]["errors"] for kind in ("app", "baseline") if pair[kind]["errors"]}
        if errors:
            lines += ["", f"Errors by code: `{json.dumps(errors)}`"]
        lines.append("")
    wire, micro_results = results["wire"], results["micro"]
    largest = max(micro_results["sizes"])
    lines += [
        "## Joins over the wire",
        "",
        f"A client times `join` on one WebSocket connection, median of {wire['app_snapshot']['runs']} runs,",
        "against the bare server's `join` (an empty answer) as the floor of the transport.",
        "",
        "| join | answer | median ms | max ms | answer bytes | / bare join |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for key, label in (
        ("app_snapshot", f"app, snapshot of a {largest}-step map"),
        ("app_catch_up", f"app, {settings.missed_ops} ops behind"),
        ("baseline_join", "bare server"),
    ):
        figure = wire[key]
        answer = f"{figure['count']} {'changes' if figure['form'] == 'changes' else 'steps'}"
        lines.append(
            f"| {label} | {answer} | {_ms(figure['median'])} | {_ms(figure['max'])} | "
            f"{figure['bytes']} | {_ratio(figure['median'], wire['baseline_join']['median'])} |"
        )
    lines += [
        "",
        "## In-process: queries and time",
        "",
        "The handlers themselves, without the network: `join` through Flask-SocketIO's test client,",
        "the editor page (`GET /maps/<id>`, signed in as a participant) through Flask's test client.",
        "Queries are counted with a `before_cursor_execute` listener on the engine. Flat counts as",
        "the map grows mean no N+1. Time is the median of the runs.",
        "",
        "| request | " + " | ".join(f"{size} steps" for size in micro_results["sizes"]) + " |",
        "| --- | " + " | ".join("---:" for _ in micro_results["sizes"]) + " |",
    ]
    for key, label in (("join_snapshot", "join (snapshot): queries / ms"), ("render", "editor page: queries / ms")):
        cells = [
            f"{micro_results[key][size]['queries']} / {micro_results[key][size]['median_ms']:.1f}"
            for size in micro_results["sizes"]
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for key, label in (
        ("op_status", "op step.set status: queries"),
        ("op_move", "op step.move: queries"),
        ("op_add", "op step.add: queries"),
    ):
        cells = [str(micro_results[key].get(size, "–")) for size in micro_results["sizes"]]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    catch_up = micro_results["join_catch_up"]
    lines += [
        "",
        "| catch-up on the largest map | queries | median ms |",
        "| --- | ---: | ---: |",
    ]
    for behind, figure in catch_up.items():
        lines.append(f"| join {behind} ops behind | {figure['queries']} | {figure['median_ms']:.1f} |")
    for behind, figure in micro_results["catch_up_service"].items():
        lines.append(f"| `snapshots.catch_up` alone, {behind} ops | {figure['queries']} | {figure['median_ms']:.1f} |")
    lines += ["", f"The {len(micro_results['join_statements'])} statements of one `join` (snapshot):", ""]
    lines += [f"{index}. `{statement}`" for index, statement in enumerate(micro_results["join_statements"], 1)]
    profile = results.get("profile")
    if profile and "error" in profile:
        lines += [
            "",
            "## Where the app spends its time under stress",
            "",
            "The profile failed:",
            "",
            "```",
            profile["error"],
            "```",
        ]
    elif profile:
        lines += [
            "",
            "## Where the app spends its time under stress",
            "",
            f"py-spy, {profile['samples']} samples of the app server during the stress scenario",
            "(active samples only: the idle hub is not sampled). Shares are of all samples.",
            "",
            "| inclusive, project code | % | | self (leaf) | % |",
            "| --- | ---: | --- | --- | ---: |",
        ]
        rows = max(len(profile["inclusive_project"]), len(profile["self"]))
        for index in range(min(rows, 15)):
            left = profile["inclusive_project"][index] if index < len(profile["inclusive_project"]) else ("", None)
            right = profile["self"][index] if index < len(profile["self"]) else ("", None)
            lines.append(
                f"| `{left[0]}` | {'' if left[1] is None else f'{left[1]:.1f}'} | | "
                f"`{right[0]}` | {'' if right[1] is None else f'{right[1]:.1f}'} |"
            )
    lines.append("")
    return "\n".join(lines)


def run_problems(results: dict, strict: bool) -> list[str]:
    """What makes the figures untrustworthy: trouble on the baseline, or clients that never
    joined. Trouble in the app under load is a finding, reported in the tables; with
    `strict` it fails the run as well."""
    problems = []
    pairs = [
        (f"{key}/{transport}", pair)
        for transport, figures in results["transports"].items()
        for key, pair in figures["scenarios"].items()
    ]
    for key, pair in pairs:
        for kind, result in pair.items():
            if kind == "app" and not strict:
                continue
            for figure in ("error_count", "missing_deliveries", "disconnects"):
                if result[figure]:
                    problems.append(f"{key}/{kind}: {figure} = {result[figure]}")
            if result["clients_ready"] != result["clients"]:
                problems.append(f"{key}/{kind}: only {result['clients_ready']} of {result['clients']} clients joined")
    return problems


def _say(started: float, message: str) -> None:
    print(f"[{time.perf_counter() - started:5.1f} s] {message}", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark Roadmap's real-time path against a bare Socket.IO server.")
    parser.add_argument("--quick", action="store_true", help="10 s scenarios and fewer repeats")
    parser.add_argument("--smoke", action="store_true", help="tiny numbers for CI; writes no report unless --report")
    parser.add_argument("--profile", action="store_true", help="sample the app with py-spy during an extra stress run")
    parser.add_argument(
        "--report", help=f"where to write the markdown (default {REPORT_PATH.relative_to(PROJECT_ROOT)})"
    )
    parser.add_argument("--json", help="also write every figure as JSON here")
    parser.add_argument(
        "--loadgen-processes",
        type=int,
        default=0,
        help="load generator processes per scenario (default: 1, or 2 from 200 clients)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 on any error, disconnect or missing delivery, in the app too (CI)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, logs)")
    parser.add_argument(
        "--postgres", metavar="URL", help="run the app on a fresh database on this PostgreSQL server instead of SQLite"
    )
    parser.add_argument(
        "--transports",
        default="new",
        help="old,new: each round also on the transport before gunicorn (gevent-websocket)",
    )
    parser.add_argument(
        "--before",
        metavar="DIR",
        type=Path,
        help="each round also runs the app and the baseline from this checkout of the project"
        " (e.g. git worktree add /tmp/before <commit>), to compare code before and after",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        help="run only this scenario (human_small, human_300, stress; or, alone, flood:"
        " bench/flood.py, or processes: bench/processes.py, which needs --postgres and REDIS_URL, or"
        " exports: bench/exporting.py)",
    )
    args = parser.parse_args(argv)
    if args.scenario == ["flood"]:
        from bench import flood

        return flood.main(["--postgres", args.postgres] if args.postgres else [])
    if args.scenario == ["processes"]:
        from bench import processes

        return processes.main(["--postgres", args.postgres] if args.postgres else [])
    if args.scenario == ["exports"]:
        from bench import exporting

        return exporting.main(["--postgres", args.postgres] if args.postgres else [])
    settings = settings_for(args.quick, args.smoke)
    if args.scenario:
        chosen = tuple(s for s in settings.scenarios if s.key in args.scenario)
        if not chosen:
            parser.error(f"no such scenario; choose from {', '.join(s.key for s in settings.scenarios)}")
        settings = dataclasses.replace(settings, scenarios=chosen)
    transports = tuple(args.transports.split(","))
    if not transports or any(transport not in TRANSPORTS for transport in transports):
        parser.error(f"--transports: a list of {', '.join(TRANSPORTS)}")
    current = transports[-1]  # the one the report's main tables show
    if args.before:
        transports = (*transports[:-1], "before", current)
    report_path = Path(args.report) if args.report else (None if args.smoke else REPORT_PATH)
    command = (
        ".venv/bin/python -m bench.run"
        + "".join(f" --{name}" for name in ("quick", "smoke", "profile") if getattr(args, name))
        + (f" --transports {args.transports}" if args.transports != "new" else "")
        + (f" --before {args.before}" if args.before else "")
    )
    folder = Path(tempfile.mkdtemp(prefix="roadmap-bench-"))
    processes = Processes()
    started = time.perf_counter()

    def processes_for(scenario: Scenario) -> int:
        return args.loadgen_processes or (2 if scenario.clients >= 200 else 1)

    shared_servers = contextlib.ExitStack()
    try:
        _say(started, f"building the database in {folder} …")
        world = bench_world.build(
            folder,
            groups=max(s.groups for s in settings.scenarios),
            clients_per_group=max(s.clients_per_group for s in settings.scenarios),
            steps_per_map=settings.steps_per_map,
            micro_sizes=settings.micro_sizes,
            missed_ops=settings.missed_ops,
            postgres_url=args.postgres,
        )
        _say(started, "in-process micro-benchmarks …")
        results = {"micro": micro.run_all(world, settings.repeats, settings.missed_ops)}
        results["wire"] = {}
        old_folder = install_old_transport(folder) if "old" in transports else None
        variant_options = {"old": {"old_transport": old_folder}, "before": {"source": args.before}, "new": {}}
        by_transport = {transport: {"scenarios": {}, "rounds": {}} for transport in transports}
        servers = {}
        if not settings.fresh_servers:
            servers = {
                (transport, kind): shared_servers.enter_context(
                    Server(kind, world, folder, processes, **variant_options[transport])
                )
                for transport in transports
                for kind in ("app", "baseline")
            }
        for number, scenario in enumerate(settings.scenarios):
            rounds = {transport: [] for transport in transports}
            for round_index in range(settings.rounds):
                for transport in transports:
                    # Alternate who goes first, so a drift in the machine's load does not favour one side.
                    order = ("app", "baseline") if (number + round_index) % 2 == 0 else ("baseline", "app")
                    pair = {}
                    for kind in order:
                        _say(
                            started,
                            f"{scenario.title}, {scenario.duration:g} s, round {round_index + 1}"
                            f" of {settings.rounds}: {kind}, {transport} …",
                        )
                        first = number == 0 and round_index == 0 and transport == current
                        pair[kind] = run_scenario(
                            kind,
                            scenario,
                            world,
                            settings,
                            folder,
                            processes,
                            processes_for(scenario),
                            seed=number + 1 + 100 * round_index,
                            probes=results["wire"] if first else None,
                            server=servers.get((transport, kind)),
                            **variant_options[transport],
                        )
                    rounds[transport].append(pair)
            for transport in transports:
                by_transport[transport]["rounds"][scenario.key] = [round_ratios(pair) for pair in rounds[transport]]
                by_transport[transport]["scenarios"][scenario.key] = median_round(scenario, rounds[transport])
        results.update(by_transport[current])
        results["transports"] = by_transport
        if args.profile:
            stress = next(s for s in settings.scenarios if s.mode == "stress")
            stress = Scenario(
                stress.key, stress.title, stress.groups, stress.clients_per_group, "stress", settings.profile_seconds
            )
            for transport in transports:
                _say(started, f"profiling the app under stress for {stress.duration:g} s, {transport} …")
                raw = folder / f"stress-profile-{transport}.txt"
                try:
                    run_scenario(
                        "app",
                        stress,
                        world,
                        settings,
                        folder,
                        processes,
                        processes_for(stress),
                        seed=99,
                        profile_to=raw,
                        **variant_options[transport],
                    )
                    by_transport[transport]["profile"] = summarise_profile(raw)
                except (RuntimeError, OSError, subprocess.SubprocessError) as failure:
                    # The figures above stand without it; say why it is missing.
                    by_transport[transport]["profile"] = {"error": str(failure)[:500]}
                    print(f"profiling failed: {failure}", file=sys.stderr)
                if args.keep:
                    print(f"raw profile: {raw}")
            results["profile"] = by_transport[current]["profile"]
        loadgen_note = "python-socketio AsyncClient over WebSocket; " + "; ".join(
            f"{s.key}: {s.clients} clients in {processes_for(s)} process{'es' if processes_for(s) > 1 else ''}"
            for s in settings.scenarios
        )
        if any(processes_for(s) > 1 for s in settings.scenarios):
            loadgen_note += (
                " (from 200 clients the groups are split over two processes: one process lagged two to"
                " three times as much at 300 clients on this 2-core machine; a group's clients always"
                " share one process, so sender and peers share one clock)"
            )
        results["machine"] = _machine(command, loadgen_note)
        results["machine"]["database"] = (
            "PostgreSQL (a fresh database, psycopg 3)" if args.postgres else "SQLite (WAL) in a temporary file"
        )
        results["targets"] = evaluate_targets(results)
        report = render_report(results, settings)
        print(report)
        if report_path:
            report_path.write_text(report)
            print(f"written to {report_path}")
        results["elapsed_seconds"] = time.perf_counter() - started
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1, default=str))
        problems = run_problems(results, args.strict)
        print(f"finished in {time.perf_counter() - started:.0f} s", flush=True)
        if problems:
            print("the run was not sound:\n  " + "\n  ".join(problems), file=sys.stderr)
            return 1
        return 0
    finally:
        shared_servers.close()
        processes.stop_all()
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
