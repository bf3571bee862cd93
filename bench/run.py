"""The benchmark: the app's real-time path against a bare Socket.IO floor.

    .venv/bin/python -m bench.run            # full run, about 5 minutes; writes docs/performance.md
    .venv/bin/python -m bench.run --quick    # shorter scenarios, same sizes
    .venv/bin/python -m bench.run --profile  # also samples the app under stress with py-spy
    .venv/bin/python -m bench.run --postgres postgresql://postgres@127.0.0.1:5432/test --report /tmp/pg.md
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python -m bench.run --scenario processes --postgres URL
    .venv/bin/python -m bench.run --transports old,new   # also on the transport before gunicorn
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
--strict the app must have none either (tests/test_bench_smoke.py).
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
from roadmap.config import Config
from bench import world as bench_world
from bench.loadgen import percentile

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REPORT_PATH = PROJECT_ROOT / "docs" / "performance.md"
START_TIMEOUT = 30.0
SAMPLE_SECONDS = 0.25
SETTLE_SECONDS = 2.0
HUMAN_INTERVAL = 2.0  # seconds between one person's edits
LIBRARIES = ("flask", "flask-socketio", "python-socketio", "python-engineio", "gevent", "gunicorn",
             "simple-websocket", "wsproto", "sqlalchemy", "flask-sqlalchemy", "aiohttp", "psutil")
TRANSPORTS = ("old", "new")
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
            steps_per_map=20, micro_sizes=(5, 20), missed_ops=50, repeats=2, grace=2.0, profile_seconds=2.0,
            settle=0.3, fresh_servers=False,
        )
    duration = 10.0 if quick else 25.0
    return Settings(
        scenarios=(
            Scenario("human_small", "human rate, 1 group x 10 clients", 1, 10, "human", duration),
            Scenario("human_300", "human rate, 30 groups x 10 clients", 30, 10, "human", duration + 5),
            Scenario("stress", "stress, 10 groups x 10 clients", 10, 10, "stress", duration - 5),
        ),
        steps_per_map=20, micro_sizes=(10, 100, 300), missed_ops=1000,
        repeats=5 if quick else 20, grace=5.0, profile_seconds=10.0 if quick else 20.0,
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

    def start(self, command: list[str], **options) -> subprocess.Popen:
        child = subprocess.Popen(command, cwd=PROJECT_ROOT, **options)
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
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    *OLD_TRANSPORT_PACKAGES], check=True, timeout=300)
    return target


class Server:
    """The app or the baseline in its own process, bound to 127.0.0.1, on the current transport
    (gunicorn) or, with `old_transport` (gevent-websocket's folder), on the one before."""

    def __init__(self, kind: str, world: bench_world.World, folder: Path, processes: Processes,
                 old_transport: Path | None = None, extra_env: dict | None = None):
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes = processes
        self.log_path = folder / f"{kind}-{self.port}.log"
        env = {key: value for key, value in os.environ.items()
               if key not in ("REDIS_URL", "SOCKETIO_MESSAGE_QUEUE", "SOCKETIO_ASYNC_MODE")}
        env["PYTHONUNBUFFERED"] = "1"
        if kind == "app":
            env.update(DATABASE_URL=world.database_url, SECRET_KEY=bench_world.SECRET_KEY,
                       ROADMAP_INSTANCE_PATH=str(world.instance_path),
                       # Stress sends as fast as acks come back, which the event rate limit refuses;
                       # the scenarios measure the real-time path, bench/flood.py the limit.
                       SOCKET_EVENTS_PER_SECOND="0",
                       # The load generator connects its hundreds of clients from one address.
                       SOCKET_CONNECTIONS_PER_ADDRESS="1000")
            self.command = [sys.executable, "-m", "roadmap.server", "--host", "127.0.0.1",
                            "--port", str(self.port), "--quiet"]
        else:
            self.command = [sys.executable, "-m", "bench.baseline_server", "--host", "127.0.0.1",
                            "--port", str(self.port)]
        if old_transport is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(old_transport), str(PROJECT_ROOT)])
            self.command = [sys.executable, "-m", "bench.old_transport", kind, *self.command[3:]]
        self.env = {**env, **(extra_env or {})}
        self.child: subprocess.Popen | None = None

    def __enter__(self) -> Self:
        self.log_file = open(self.log_path, "ab")
        self.child = self.processes.start(self.command, env=self.env, stdout=self.log_file,
                                          stderr=subprocess.STDOUT)
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
        return sum(times.user + times.system
                   for times in (process.cpu_times() for process in self.processes_serving()))


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

    def __init__(self, processes: Processes, folder: Path, name: str, plan: dict, server: Server,
                 scenario: Scenario, grace: float, seed: int):
        self.plan_path = folder / f"{name}-plan.json"
        self.out_path = folder / f"{name}-result.json"
        self.plan_path.write_text(json.dumps(plan))
        command = [
            sys.executable, "-m", "bench.loadgen", "--plan", str(self.plan_path), "--url", server.url,
            "--protocol", server.kind, "--mode", scenario.mode, "--duration", str(scenario.duration),
            "--interval", str(scenario.interval), "--grace", str(grace), "--seed", str(seed),
            "--wait-go", "--out", str(self.out_path),
        ]
        self.processes = processes
        self.child = processes.start(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
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
    merged = {key: sum(part[key] for part in parts) for key in (
        "clients", "clients_ready", "groups", "sent", "acked", "deliveries", "missing_deliveries",
        "own_echo_missing", "error_count", "disconnects", "late_sends", "loadgen_cpu_seconds",
    )}
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


def run_scenario(kind: str, scenario: Scenario, world: bench_world.World, settings: Settings,
                 folder: Path, processes: Processes, loadgen_processes: int, seed: int,
                 profile_to: Path | None = None, probes: dict | None = None,
                 server: Server | None = None, old_transport: Path | None = None) -> dict:
    """One scenario against `server`, or a fresh one; with `probes` (a dict to fill), the joins over
    the wire are timed first, on the idle server, before its memory is measured."""
    groups = world.load_groups[: scenario.groups]
    plan_groups = [{**group, "tokens": group["tokens"][: scenario.clients_per_group]} for group in groups]
    split = max(1, min(loadgen_processes, len(plan_groups)))
    with contextlib.ExitStack() as stack:
        if server is None:
            server = stack.enter_context(Server(kind, world, folder, processes, old_transport))
        warm_up(server, plan_groups[0])
        if probes is not None:
            probes.update(probe_joins(server, world, settings))
        time.sleep(settings.settle)
        idle_rss = server.rss()
        generators = [
            LoadgenProcess(processes, folder, f"{scenario.key}-{kind}-{index}",
                           {"groups": plan_groups[index::split]}, server, scenario, settings.grace, seed)
            for index in range(split)
        ]
        for generator in generators:
            generator.wait_for("READY", timeout=120)
        time.sleep(settings.settle)
        clients_rss = server.rss()
        profiler = None
        if profile_to is not None:
            profiler = processes.start(
                [_py_spy(), "record", "--pid", str(server.child.pid), "--subprocesses", "--format", "raw",
                 "--rate", "250",
                 "--duration", str(int(scenario.duration)), "--nonblocking", "--output", str(profile_to)],
                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            )
            time.sleep(1.0)  # py-spy attaches
        load_average = os.getloadavg()[0]
        with Sampler(server, scenario.duration + settings.grace + 60) as sampler:
            for generator in generators:
                generator.go()
            parts = [generator.result(timeout=scenario.duration + settings.grace + 60)
                     for generator in generators]
        if profiler is not None:
            profiler.wait(timeout=scenario.duration + 30)
            processes.stop(profiler)
    result = _merge(parts)
    result.update(
        load_average=load_average, server_rss_idle=idle_rss, server_rss_clients=clients_rss,
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
        figure = asyncio.run(loadgen.probe_joins(
            server.url, largest.token, largest.roadmap_id, since_revision, settings.repeats))
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
        rows = [(name, 100 * count / total) for name, count in counts.items()
                if not only_project or "roadmap/" in name]
        return sorted(rows, key=lambda row: -row[1])[:top]

    return {"samples": total, "self": ranked(self_counts), "inclusive": ranked(inclusive),
            "inclusive_project": ranked(inclusive, only_project=True)}


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
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "nproc": os.cpu_count(),
        "code": _code_version(),
        "cpu": model, "python": platform.python_version(), "platform": platform.platform(),
        "versions": versions, "command": command, "load_average": os.getloadavg(),
        "loadgen": loadgen_note,
    }


def _code_version() -> str:
    """The commit measured, and whether the app's code had changes on top of it."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                                text=True, timeout=10, check=False).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--", "roadmap", "migrations"],
                                 cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10, check=False).stdout.strip()
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
        "peer_p50": app["peer"]["p50"], "base_peer_p50": base["peer"]["p50"],
        "peer_p99": app["peer"]["p99"], "base_peer_p99": base["peer"]["p99"],
        "ack_p99": app["ack"]["p99"], "base_ack_p99": base["ack"]["p99"],
        "p50_ratio": app["peer"]["p50"] / base["peer"]["p50"],
        "p99_ratio": app["peer"]["p99"] / base["peer"]["p99"],
        "throughput_share": app["acked_per_second"] / base["acked_per_second"],
        "cpu_ms_per_edit": app["server_cpu_ms_per_edit"], "base_cpu_ms_per_edit": base["server_cpu_ms_per_edit"],
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
        rows.append((TARGETS["human_ack_p99"], f"{_ms(ack_p99)} ms, baseline {_ms(base_ack_p99)} ms"
                     f"{_of_rounds(rounds, 'ack_p99', '{:.1f} ms')}", ack_p99 < 25))
        per_client = app["server_rss_per_client"] / 1024
        rows.append((TARGETS["memory"], f"{per_client:.0f} KB per client (baseline {base['server_rss_per_client'] / 1024:.0f} KB)", per_client < 150))
    else:
        for key in ("human_p50", "human_p99", "human_ack_p99", "memory"):
            rows.append((TARGETS[key], "not run (no 300-client scenario in this mode)", None))
    stress = results["scenarios"].get("stress")
    if stress:
        rounds = results["rounds"]["stress"]
        share = statistics.median([figures["throughput_share"] for figures in rounds])
        shares = [{"percent": 100 * figures["throughput_share"]} for figures in rounds]
        rows.append((TARGETS["stress_throughput"], f"{100 * share:.0f} % of the baseline's edits/s"
                     f"{_of_rounds(shares, 'percent', '{:.0f} %', best=max)}", share >= 0.6))
    wire = results["wire"]
    for key, probe, size, limit, unit in (("catch_up", "app_catch_up", 1000, 100, "changes"),
                                          ("join_snapshot", "app_snapshot", 300, 50, "steps")):
        figure = wire[probe]
        measured = (f"{_ms(figure['median'])} ms for {figure['count']} {unit} "
                    f"(bare join {_ms(wire['baseline_join']['median'])} ms)")
        if figure["count"] < size:  # a smoke run: too small to judge
            rows.append((TARGETS[key], measured + ", smaller than the target's", None))
        else:
            rows.append((TARGETS[key], measured, figure["median"] < limit))
    flat, detail = _queries_flat(results["micro"])
    rows.append((TARGETS["n_plus_one"], detail, flat))
    return rows


# What profiling showed and what was done about it; the figures of each run are above.
FINDINGS = [
    "Session 1, py-spy on the stress scenario: 78 % of the app server's CPU was SQLAlchemy ORM overhead around "
    "`editing.apply` (identity map, unit-of-work flush, statement compilation). Since then the permission check, "
    "revision, change-log insert and live-step reads and writes are prebuilt Core statements, and the actor lives "
    "on the connection.",
    "Session 3, the 300-client tail (p99 274 ms against the baseline's 14 ms on a quiet machine) was stalls, not "
    "the cost of an edit. gevent's blocking monitor, `gc.callbacks` timings and greenlet-switch tracing found "
    "three: (1) the garbage collector's full passes took 120-140 ms every ~8 s, because the process holds ~170,000 "
    "objects from its imports (Flask, SQLAlchemy, WeasyPrint, openpyxl…); `gc.freeze()` before serving cut them "
    "to 20-35 ms; (2) the dashboard feed built 30 group cards in one go, ~50 ms once a second; it now yields "
    "between cards, reads snapshots as rows instead of ORM objects, and the readiness checks match lowercased text "
    "instead of using `re.IGNORECASE`, which was ten times slower; (3) SQLite's automatic checkpoint ran inside "
    "the commit that filled the write-ahead log, about every 150 edits, blocking the event loop for 5 ms or more; "
    "the server now checkpoints in a native thread once a second.",
    "Garbage per `op` event fell from 131 to 13 objects (`gc.DEBUG_SAVEALL` over 1,000 events): Werkzeug raised "
    "`NotFound`, with a traceback, for the Socket.IO path in every event's request context; a URL rule for that "
    "path stops it (`realtime/contexts.py`), and the session cookie is now read once per connection, not per event.",
    "An ordinary edit is now 4 statements instead of 6: the revision `UPDATE … RETURNING` also returns the "
    "access facts (correlated subqueries), and the op id is looked up only when an allowed edit fails (the "
    "log's unique key refuses a resend). Step updates are prebuilt per set of columns. One `op` event in "
    "process (Flask-SocketIO's test client) went from 1.03 ms to about 0.6 ms; `editing.apply` from 0.61 to "
    "about 0.4 ms.",
    "Session 4: the edit's statements and a snapshot's three queries run as `database.Prepared`: SQLAlchemy "
    "compiles each once per dialect and supplies its bind and result processors, and the statement runs on the "
    "DBAPI cursor. One small Core statement cost 44-73 µs hot against 10-12 µs on the cursor; the execution "
    "context, cache key and result object were the difference. Step positions for `step.move` and `step.add` are "
    "read by a prepared statement too (they were an ORM query, a fifth of `apply` on a mixed load). Paired runs "
    "on 2026-11-27, old code (fcb5288) against new, same minutes: `editing.apply` on the load generator's mix, "
    "mean of the best 100 of 1,000, 0.74 / 0.77 / 1.14 ms before against 0.44 / 0.57 / 0.65 ms after; a "
    "dashboard push for 30 busy groups 45 / 45 / 65 ms before against 19 / 20 / 19 ms after (medians of 20).",
    "Where the app's CPU goes now, py-spy on the live 300-client run (2026-11-27, 250 Hz, 30 s): the app drew "
    "1.6 times the baseline's samples. Its Socket.IO and WebSocket work costs about what the baseline's does "
    "(the baseline also reads the session cookie on every event, which the app no longer does); the rest is "
    "`editing.apply`, 37 % of the app's samples (was 40 %), and the dashboard feed, 7.5 % (was 11.7 %). Inside "
    "`apply`, SQLite's own C code is 10 % of all samples, about 0.3 ms per edit for its 4 statements and commit, "
    "four times its cost in a tight loop because each event arrives with cold CPU caches; opening and committing "
    "the session's transaction is another 9 %. The app's CPU per acked edit fell from 2.1-2.6 times the "
    "baseline's (session 3) to 1.8-2.0 times (session 4's three full runs).",
    "Why p50 and ack p99 follow the CPU cost of an edit: edits arrive at random, about 150 a second, and one "
    "process serves them one at a time, so latency is mostly waiting. For a single queue the median time in "
    "the system is ln 2 x S / (1 - load): with S = 4.2 ms and the server 60 % busy that is about 7 ms, with the "
    "baseline's 2.2 ms and 30 % busy about 2 ms, and both add the same 3-4 ms of network and client time; that "
    "is the 10-14 ms against 4-7 ms measured in session 4's runs. A p50 within 1.5 x needs the app's CPU per edit within about "
    "1.4 x the baseline's, where the database's C code alone is 0.3 ms of the remaining 2 ms difference, and "
    "the further steps below add up to about 14 %. The absolute ack p99 target (25 ms) assumed a bare floor of "
    "~9 ms p99; in the three full runs of 2026-11-27 (session 4) the bare server's own ack p99 was 43, 34 and 94 ms, "
    "above the target before any app work.",
    "The rounds show how noisy this shared 2-core machine is: the same code gave 1.11x, 2.67x and 3.14x the "
    "baseline's p50 at 300 clients in three pairs minutes apart (2026-11-27, session 3), and the bare "
    "server's CPU per edit moved between 1.4 and 2.3 ms between sessions. The load generator's processes share "
    "the two cores with the server.",
    "PostgreSQL is not the quick win here: `--postgres --quick` on the same machine (2026-11-27, session 4, the "
    "database server on the same two cores) gave 2.49 ms per in-process edit (2.64 before this session), stress "
    "at 45 % of the baseline (20 % before), and at 300 clients a p50 of 30 x with the app at 78 % of a core "
    "and PostgreSQL beside it: the two cores were oversubscribed. Each statement is a round trip; PostgreSQL is "
    "the database for several server processes, not for one.",
    "What would go further: the edit's transaction on a connection kept for edits, skipping the session's "
    "begin and commit (up to 9 % of the CPU), and a per-map copy for the dashboard feed, updated by replaying "
    "each change instead of a snapshot per changed map each second (about 5 %). Several server processes "
    "behind the Redis message queue would spread the load, but they need PostgreSQL (SQLite's busy wait blocks "
    "gevent across processes), which costs three to six times SQLite's CPU per edit (2.49 ms in process against "
    "0.42-0.76 ms in session 4's runs) "
    "plus its own server's CPU, on the same two cores as the load generator: on this machine that is a loss.",
    "Session 5 (2026-12-02, another machine: Intel Xeon, 2 cores): text fields merge by position "
    "(`domain/merging.py`): typing costs 0.02 ms for a 1,000- or 10,000-character field, against 0.04-0.06 ms for "
    "the patches before, and a merge of two rewrites of a whole 10,000-character text at most about 10 ms, "
    "against 1-2 s before, as a large diff gives up after 5 ms. Client JSON is read by a decoder that bounds "
    "integers and nesting; a snapshot reads the map's revision in two of its statements. Paired quick runs, the "
    "session's starting code (ff0e6ee) against its end, same minutes: stress 61 % and 61 % of the baseline "
    "before against 64 % and 60 % after, 0.81-0.83 ms of server CPU per acked edit in both; 300 clients, p50 "
    "3.7 against 3.7 ms, ack p99 14.2 against 14.0 ms, 1.66 against 1.65 ms per edit. The full run's stress "
    "share (59 %, against 74 % on 2026-11-27) is the machine: the bare server's CPU per edit fell from "
    "1.3-1.4 ms to 0.40 ms on this CPU, the app's from 2.0-2.2 ms to 0.87 ms. With exact places for typing "
    "(a text op's resolved `at`, one more diff per text edit) two quick stress runs gave 59 % and 62 %, "
    "0.87 and 0.83 ms per edit.",
    "Issue 18 (2026-12-02, the same machine), an op flood (`.venv/bin/python -m bench.run --scenario flood`, "
    "`bench/flood.py`): one socket sends 1,000 `step.add` ops at once while a person in another group edits every "
    "100 ms. Before the event rate limit the security review measured that person's ack median going from 5 ms to "
    "1,072 ms. Now, SQLite: with the limit (a burst of 60, then 20 a second) the flood is answered in 0.4 s, 64 "
    "applied and 936 `rate_limited`, and the editor's ack p50/p99 is 4.3/244 ms during it against 3.9/8.8 ms "
    "quiet (the p99 of about 50 acks is the one or two that met the 0.4 s burst); with the limit off in the same "
    "command, 216 applied (the map then holds its 300 steps) and 784 `too_many_steps`, 2.8 s, and the editor's "
    "p50/p99 6.7/1,690 ms against 4.2/15.5 ms quiet. PostgreSQL (`--postgres`): with the limit 11.2/55 ms during "
    "against 7.5/24 ms quiet; without it 10.8/32 ms against 12.3/21 ms, as each statement's round trip lets "
    "gevent serve the other connection. The load scenarios above run with the limit off "
    "(`SOCKET_EVENTS_PER_SECOND=0`): stress sends as fast as acks come back, which is what the limit refuses.",
    "Issue 15 (2026-12-03, the same machine, its load average 11-18 from other work during every run below), "
    "one edit on PostgreSQL in process (`.venv/bin/python -m bench.pgcost --postgres URL`, variants "
    "alternating in one command, 3 rounds of 200 edits each, median wall / mean CPU of the process): "
    "`editing.apply` (a step's status: BEGIN, 4 statements, COMMIT: 6 round trips) 5.06 / 0.77 ms; the same "
    "SQL on the psycopg connection, one statement per round trip, 3.98 / 0.32 ms; pipelined (psycopg's "
    "pipeline mode, 2 round trips) 4.77 / 0.40 ms; as one statement with CTEs (3 round trips) 4.01 / 0.24 ms; "
    "the floor, a one-row UPDATE and its COMMIT, 3.57 / 0.18 ms; SQLite's `editing.apply` 0.17 / 0.21 ms. With "
    "`synchronous_commit = off` for the benchmark's connection only (a diagnostic, not a setting: it would let "
    "PostgreSQL lose acknowledged edits if it crashed) `editing.apply` takes 1.00 / 0.60 ms. So the wall time "
    "of an edit on PostgreSQL is the COMMIT waiting for the WAL to reach this machine's disk (a bare durable "
    "commit measured 1.0-3.6 ms in this session, 15 us for a round trip without it); fewer round trips save at "
    "most a few tenths of a millisecond, within the noise, and no shape of the SQL brings a durable edit under "
    "1.0 ms here. The edit's CPU in process, what bounds a server's throughput since gevent serves other "
    "sockets while psycopg waits, is 0.6-0.8 ms on PostgreSQL (against 0.21-0.25 ms on SQLite): under 1.0 ms, "
    "of which 0.3-0.4 ms is psycopg and the round trips and the rest SQLAlchemy's session (begin, commit, the "
    "pool's checkout and reset). The edit path is therefore unchanged: pipeline mode would not pay (its "
    "results have no `cursor.description` until fetched, so SQLAlchemy's own executions inside it see no rows) "
    "and one statement cannot check the edit's rules between its read and its write. What would cut the wall "
    "time is the disk: group commit (`commit_delay`) or a faster WAL device on a busy server.",
    "Issue 15 (2026-12-03), several processes (`REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python -m "
    "bench.run --scenario processes --postgres URL`, bench/processes.py): the stress scenario against 1 and 2 "
    "app servers on one fresh PostgreSQL database and the Redis queue (a channel of the run's own, "
    "`SOCKETIO_CHANNEL`), the clients taking the servers in turn so that each group's members sit on both. Two "
    "rounds in one command, with the machine's load average at 11-18 (other sessions' tests on the same two "
    "cores): 1 process acked 55 and 50 edits/s at 3.03 and 2.97 ms of server CPU per acked edit; 2 processes "
    "26 and 42 edits/s at 5.93 and 4.48 ms (1.96 x and 1.51 x), with no errors, disconnects or missing "
    "deliveries. The target (2 processes within 1.2 x the CPU per edit of 1) is not met in these runs, and the "
    "figures are not sound enough to say where the rest goes: with four times more runnable processes than "
    "cores, each process's CPU per edit grows with the number of processes sharing the cores (context switches "
    "and cold caches, which the machine's load varied by half between rounds), and the 1-process figure itself "
    "is 3.5 times session 5's quiet SQLite figure. Not yet done: py-spy on both servers on a quiet machine to "
    "separate that from the queue's own work (with a message queue every emit goes through Redis and back to "
    "every process, the sender's too). A third run, one round with the PostgreSQL backends' CPU counted (a "
    "lower bound: an overflow connection that closed during the run is missed), load average 10-12: 1 process "
    "262 edits/s at 2.22 ms of server CPU and at least 0.10 ms of PostgreSQL's per acked edit; 2 processes 116 "
    "edits/s at 3.13 ms and 0.49 ms (1.41 x).",
    "Issue 15 (2026-12-03, the same machine), the map at a past revision and imports, in process (`.venv/"
    "bin/python -m bench.replay`, medians): a map whose log holds 2,000 changes (30 steps) is rebuilt at "
    "revision 2,000 in 0.7 ms from its checkpoint against 39.6 ms replayed from revision 0, and at revisi"
    "on 1,999 (99 changes after the nearest checkpoint) in 1.5 ms against 34.1 ms; PostgreSQL 4.5 and 4.9"
    " ms against 45 and 46 ms. A restore of revision 1,999 holds the write transaction 9.8 ms (PostgreSQL"
    " 27.6 ms) whether or not checkpoints were kept, as a restore keeps them before it takes the lock; wi"
    "th none kept it costs 59 ms in all (PostgreSQL 100 ms) against 17 ms (35 ms). Checkpoints are writte"
    "n by replays, never by an edit: `editing.apply` measured 0.183-0.196 ms before and 0.190-0.199 ms af"
    "ter in five alternating runs. The largest import the caps allow (300 steps, 150 stakeholders, 1,000 "
    "links: 1,451 ops) takes 2.2 s in one transaction through `editing.apply_many` against 2.7 s op by op"
    " on SQLite, and 6.7 s against 14.5 s on PostgreSQL; but that one transaction holds SQLite's write lo"
    "ck for all of its 2.2 s, where op by op no lock was held longer than 21 ms. Most of it was the 1,000"
    " `step.link` ops (1.8 ms each: ORM loads of the stakeholder and the link, and a count of the map's l"
    "inks for the cap). Since then the stakeholder and link ops read and write with Core statements, and "
    "the caps' counts and the live steps' positions are read once per write transaction (`editing.MapHold"
    "ings`) and kept true by its ops: the same import takes 238-289 ms of CPU against 1,243-1,538 ms befo"
    "re (two alternating runs of each, load average 10: 247-493 ms of wall time against 1.4-5.5 s), and o"
    "n PostgreSQL 0.9-1.0 s of CPU against 2.5-3.6 s (wall 2.8-7.1 s against 9.4-30 s, under that load); "
    "`editing.apply` of a step title measured 0.51-0.63 ms before and after alike (noise of the load). Be"
    "tween the ops `apply_many` yields to gevent, so the server's other greenlets run while the import ho"
    "lds the transaction; one that wants SQLite's write lock waits on the patched RLock without blocking "
    "the loop. Live (`.venv/bin/python -m bench.importing`): a moderator uploads that map's JSON 8 times "
    "while a person in another group edits every 100 ms; on SQLite an upload is answered in 0.77 s agains"
    "t 3.13 s before, and the editor's acks, which need the write lock, wait behind it: p50 19.5 ms, max "
    "861 ms during the imports (quiet p99 20.8 ms) against p50 74 ms, max 3,991 ms before. On PostgreSQL,"
    " where only rows are locked, the editor goes on: 268 acks during the imports at p50 15.7 ms, p99 184"
    " ms, max 332 ms (quiet p50 12.0 ms, p99 39.2 ms); the publishing of the 1,451 changes after the comm"
    "it does not yield yet.",
    "Issue 15 (2026-12-03, the same machine), edits while a moderator downloads (`.venv/bin/python -m bench.run "
    "--scenario exports [--postgres URL]`, bench/exporting.py): 10 participants edit one 30-step map (kept at 30:"
    " new-step edits become text edits), one edit every 1.5 s each, 30 s quiet and then 30 s while a moderator "
    "signed in through the form downloads the PDF, the DOCX, the XLSX and the history page back to back; before "
    "each download an 11th member changes a step's description over its socket and waits for the ack, so the "
    "revision moves and no download is the kept file. The pool and HEAVY_WORK_PROCESSES=0 (the loop renders, as "
    "before the pool) run against fresh servers in one command. On a quiet machine (load average 0.3-2.6 at the "
    "phases' starts): SQLite with the pool, edit-to-peer p99 8.7 ms quiet against 26.0 ms during the exports (3.0"
    " x: **not met**), max 49 ms (met), 53 PDFs (median 393 ms), 52 DOCX (126 ms), 52 XLSX (35 ms), 52 history "
    "pages (40 ms); inline 7.5 against 822 ms (110 x), max 969 ms. A second SQLite run minutes later (load "
    "average 1.1-2.1), after the commit that runs jobs on the caller's clock: with the pool 68.2 against 1,477 ms"
    " (max 1,874 ms), inline 10.4 against 416 ms: stalls of up to 1.9 s with the pool, about one PDF's time, not "
    "explained yet (not the server's WAL checkpoint, which is PASSIVE; the server's log was not kept), so on "
    "SQLite the target is not met and its tail needs a look with gevent's blocking monitor. PostgreSQL with the "
    "pool 14.9 against 17.6 ms (1.18 x), max 19.3 ms: **met**, 47 PDFs at 364 ms; inline 28.3 against 431 ms (15 "
    "x). With other sessions' tests running (load average 5.5-12) nothing met it, the quiet phases alone having "
    "p99 19-266 ms: SQLite with the pool 39.8 against 128 ms (3.2 x), inline 139 against 2,927 ms; PostgreSQL 139"
    " against 225 ms (1.6 x), inline 266 against 1,358 ms; a 300-step map on SQLite (20 s phases) 46 against 152 "
    "ms with the pool (PDFs of 5.7 s), 19 against 4,802 ms inline. What is left on the loop, measured in process "
    "with a gevent probe (a greenlet sleeping 1 ms, its overshoot counted) around each request on the quiet "
    "machine, 30 steps, pool: the longest hold per download is 3-8 ms (the history page, rendered in the web "
    "process, 5-10 ms). On SQLite every read and commit of a download (the session, the kept-file lookup, keeping"
    " the new file) blocks the loop, where psycopg lets gevent serve the edits while it waits; a moderator "
    "downloading about seven files a second puts such a hold in front of a few per cent of the edits, which would"
    " explain the SQLite p99 (not yet shown). Two changes came of the measuring: a PDF's page (its template, 6-13"
    " ms for 30 steps on the loop, ten times that at 300) is rendered in the worker along with WeasyPrint's work,"
    " and the workers run at `nice` 10, so the server's loop gets the cores first. Before both, in a separate "
    "command under load (5.5-6.3), the pool gave 37.8 against 85.7 ms on SQLite. The live test of acks during a "
    "PDF (tests/test_heavy_work.py) now fails without the pool: it sends the request before the first op and asks"
    " for 20 acks before the file's headers; inline none arrive, with the pool it passes (twice each way). Its "
    "server makes one PDF first: the first loads WeasyPrint and its fonts in pieces with the loop running between"
    " them (holds of 3.9, 0.9 and 0.2 s in process), which let acks through even without a pool.",
    "2026-12-03, issue 15, the server moved to gunicorn's gevent worker with simple-websocket; old = gevent's "
    "WSGI server with gevent-websocket 0.10.1 and wsaccel (`bench/old_transport.py`), always in the same "
    "command, SQLite. Where the time goes, py-spy at 250 Hz on the app's worker during human_300 (30 x 10 "
    "clients, 15 s, 2,250 acked edits on each; load average 2.8 old, 5.0 new): the WebSocket layer costs the "
    "same on both, 113 samples new (wsproto's frame parsing and building 72, simple-websocket's reader "
    "greenlet and send 35, `FrameSizeGuard` 6), about 0.2 ms per edit for one frame in and ten out, against "
    "118 for gevent-websocket (it unmasks in a pure-Python byte loop; wsaccel only validates UTF-8); the "
    "socket calls themselves, one `send` per peer, 304 against 400 samples; CPU per acked edit 2.32 against "
    "2.56 ms. Measured alone: wsproto reads a 300-byte masked text frame in 11.5 µs and writes one in 3.3 µs, "
    "`FrameSizeGuard` walks a recv's headers in 0.9 µs, and the reader greenlet's `Event` handoff (two more "
    "greenlet switches per incoming message than gevent-websocket, which read in the handler's greenlet) takes "
    "about 5.5 µs. Gunicorn's worker adds nothing per message (the access log is one line when a WebSocket "
    "ends, off with `--quiet`), and `gc.freeze()` runs at the same point on both (`server.worker_started`). So "
    "the earlier differences were the machine, not the transport. Figures, new against old: quick run on a "
    "quiet machine (load average 0.8): human_300 edit-to-peer p50 5.7 against 5.4 ms (1.05 x), p99 19.8 "
    "against 20.4 ms (0.97 x), CPU per acked edit 2.37 against 2.33 ms (1.02 x); stress 843 against 804 acked "
    "edits/s (1.05 x), CPU per acked edit 1.20 against 1.27 ms. Quick run at load average 2.1: human_300 p50 "
    "1.08 x, p99 1.02 x, CPU 0.96 x; stress 573 against 884 edits/s (0.65 x) while the bare baseline went 1.46 "
    "x the other way in the same minutes. Full run, three rounds (load average 3.3 to 11.3, other sessions' "
    "test suites on the two cores): stress median 749 against 351 edits/s, CPU per acked edit 1.36 against "
    "1.45 ms; human_300's latencies were seconds on both transports and say nothing, its CPU per acked edit "
    "1.74 against 1.91 ms. Two real differences were found and fixed: simple-websocket accepted "
    "permessage-deflate, which every browser offers (the load generator's aiohttp clients do not, so no "
    "benchmark saw it), at about 290 KiB of zlib state per connection and 28 µs instead of 4 µs per message "
    "sent; the upgrade now declines it, as gevent-websocket did. And simple-websocket writes each frame with "
    "one `send()` and ignores a partial count, so a message larger than the socket's free buffer was cut and "
    "the connection stalled (tested with a 6 MB snapshot to a client with a 4 KiB receive buffer); "
    "`FrameSizeGuard` now sends whole frames. python-engineio gives no way to set simple-websocket's "
    "`receive_bytes` (4096), which our messages fit in anyway.",
    "Issue 15 (2026-12-03, later the same day, on a quiet machine: load average 1.0), one edit on PostgreSQL in "
    "process again (`.venv/bin/python -m bench.pgcost --postgres URL`, median wall / mean CPU): `editing.apply` "
    "1.72 / 0.93 ms; its SQL one statement per round trip 1.11 / 0.47 ms; pipelined 0.99 / 0.49 ms; one "
    "statement 0.68 / 0.25 ms; the floor (one UPDATE and COMMIT) 0.57 / 0.22 ms; `apply` with "
    "`synchronous_commit` off 1.41 / 0.97 ms; SQLite's `apply` 0.29 / 0.32 ms. So the 4-5 ms of the loaded runs "
    "above were the load, and on a quiet machine the commit's flush is about 0.3 ms. cProfile of 500 edits: 1.45 "
    "of the 1.72 ms is psycopg waiting on 6 round trips (BEGIN, the revision's UPDATE … RETURNING, the step's "
    "SELECT, its UPDATE, the log's INSERT, COMMIT), about 0.24 ms each with PostgreSQL's own work. The 1.0 ms "
    "target therefore needs three round trips, not one: BEGIN sent with the first statement (psycopg's pipeline "
    "mode), the step read folded into its UPDATE … RETURNING, and the log's INSERT pipelined with the COMMIT. "
    "That rewrites the same statements issue 17 moves from `database.Prepared` to public SQLAlchemy, so it is "
    "left for that change; the target is not met today.",
    "Issue 15 (2026-12-03, quiet machine, load average 1.0-2.2), 1 against 2 processes on PostgreSQL with the "
    "Redis queue (`REDIS_URL=… .venv/bin/python -m bench.run --scenario processes --postgres URL`, now on "
    "gunicorn, counting each server's master and worker): 371 and 365 acked edits/s with one process at 2.51 and "
    "2.54 ms of server CPU per acked edit; 377 and 352 edits/s with two at 2.95 and 3.24 ms: 1.18 x and 1.27 x "
    "the CPU per edit (the 1.2 x target met in one round of two), no errors, disconnects or missing deliveries. "
    "Throughput does not grow here because the two cores also run PostgreSQL and the load generator; the extra "
    "CPU of the second process is its share of the queue (every change is published to Redis and read back by "
    "both processes) and its own background loops.",
    "Issue 15 (2026-12-03, at the end of the session, on the merged code: gunicorn, the transport fixes, the PDF "
    "page in the worker, workers at nice 10), edits while a moderator downloads, on a quiet machine "
    "(`.venv/bin/python -m bench.run --scenario exports [--postgres URL]`, load average 0.4-1.3 at the phases' "
    "starts except the first, 6.9 just after the test suite): edit-to-peer p50 / p99 / max quiet against during "
    "the exports, with the pool, SQLite 6.3 / 13.6 / 15.7 against 5.6 / 11.3 / 18.1 ms (0.83 x) and 4.8 / 7.7 / "
    "8.3 against 4.3 / 9.4 / 10.0 ms (1.21 x); PostgreSQL 7.8 / 12.3 / 15.5 against 7.7 / 14.8 / 16.1 ms (1.20 "
    "x): the target (p99 within 1.5 x, nothing over 100 ms) met in all three. Inline (HEAVY_WORK_PROCESSES=0) in "
    "the same commands: p99 378, 342 and 332 ms during the exports (29-39 x), max 366-473 ms. About 50 PDFs "
    "(median 360-445 ms), 50 DOCX, 50 XLSX and 50 history pages per 30 s phase, each after an edit.",
    "Issue 15 (2026-12-03, the end of the session, quiet machine, load average 0.7-3.8), 1 against 2 processes "
    "again (`--scenario processes --postgres URL`): one process 492 and 488 acked edits/s at 1.93 and 1.93 ms of "
    "server CPU per acked edit, two processes 473 and 475 edits/s at 2.38 and 2.37 ms: 1.24 x and 1.23 x, just "
    "over the 1.2 x target in both rounds, PostgreSQL's backends 0.10-0.15 against 0.24 ms. The second process "
    "adds about 0.45 ms per edit: with the queue each process reads every change back from Redis and runs "
    "python-socketio's emit for its own clients, so the per-change work that does not depend on the number of "
    "recipients is paid once per process; not yet broken down with py-spy.",
    "Issue 15 (2026-12-03, a new session on another quiet machine: Intel Xeon, 2 cores, load average 0.3), one "
    "edit on PostgreSQL in process (`.venv/bin/python -m bench.pgcost --postgres URL`, three commands of 3 and 5 "
    "rounds, median wall / mean CPU): `editing.apply` 0.71, 0.74 and 0.74 / 0.44-0.48 ms, under the 1.0 ms "
    "target; its SQL one statement per round trip 0.39-0.41 / 0.18-0.21 ms, pipelined 0.38-0.40 / 0.22-0.24 ms, "
    "as one statement 0.26-0.27 / 0.09-0.11 ms, the floor (one UPDATE and COMMIT) 0.20-0.22 / 0.07-0.08 ms, "
    "`apply` with `synchronous_commit` off 0.59-0.61 ms; SQLite's `apply` 0.20 / 0.21-0.22 ms in the same "
    "commands (3.6 x; 5.9 x on the previous machine, whose durable commit alone took 0.3 ms more). The code is "
    "the one that measured 1.72 ms there: the edit is still six round trips, and pipelining them gains nothing "
    "measurable on either machine.",
    "Issue 15 (2026-12-03, the same session), 1 against 2 processes on PostgreSQL and Redis (`.venv/bin/python "
    "-m bench.processes --postgres URL`, now under two loads: stress, and the same 100 clients paced at 250 "
    "edits/s, below what one process serves): stress 1.97 / 2.09 ms of server CPU per acked edit with one "
    "process against 2.57 / 2.39 ms with two (1.31 x and 1.14 x; four single rounds earlier in the session 1.24, "
    "1.29, 1.20 and 1.32 x), throughput 0.94-1.10 x; paced 2.43 / 2.38 against 2.94 / 3.16 ms (1.21 x and 1.33 "
    "x). So the 1.2 x target is not met, and the paced load shows it is not the processes queueing for two "
    "cores: a process pays for every wakeup. `.venv/bin/python -m bench.wakeups` measures that without the app: "
    "a gevent process that waits for Redis messages arriving 400 a second spends 80 us of CPU per message on a "
    "bare socket and 146-149 us through redis-py's `PubSub.listen()` (as python-socketio's RedisManager reads), "
    "against 1.3 us for a send and recv on a socket pair in a tight loop: on this virtual machine waking a "
    "sleeping process costs far more than the work. With two processes every change wakes the other process once "
    "more (hearing its own echo, each process already pays once), and each process, half as busy, wakes for more "
    "of its own clients' frames instead of finding them batched. hiredis (a C parser for redis-py) made no "
    "difference (140 against 132-147 us per heard message in the app's server). What would cut it is fewer "
    "messages: python-socketio publishes one per emit; coalescing a loop iteration's emits into one would help "
    "under stress only, and needs a client manager of our own. Left open.",
]


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
                f"{figures['load_average']:.2f} |")
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


def _transports_section(results: dict) -> list[str]:
    """Old transport (gevent-websocket under gevent's WSGI server) against new (gunicorn, simple-websocket)."""
    if set(results.get("transports", {})) != set(TRANSPORTS):
        return []
    old, new = results["transports"]["old"], results["transports"]["new"]
    lines = ["", "## Old transport against new", "",
             "The same scenarios in the same rounds, on the transport before gunicorn (gevent's WSGI server",
             "with gevent-websocket and wsaccel, `bench/old_transport.py`) and on gunicorn's gevent worker",
             "with simple-websocket; each row is from the round with the median judged ratio.", ""]
    for key, new_pair in new["scenarios"].items():
        old_pair = old["scenarios"][key]
        lines += [f"### {key}", "", "| figure | old | new | new / old |", "| --- | ---: | ---: | ---: |"]
        for label, kind, pick, form in TRANSPORT_ROWS:
            old_value, new_value = pick(old_pair[kind]), pick(new_pair[kind])
            cells = ["–" if value is None else form.format(value) for value in (old_value, new_value)]
            lines.append(f"| {label} | {cells[0]} | {cells[1]} | {_ratio(new_value, old_value)} |")
        lines.append("")
    for transport in TRANSPORTS:
        profile = results["transports"][transport].get("profile")
        if profile and "self" in profile:
            leaves = ", ".join(f"`{name}` {share:.1f} %" for name, share in profile["self"][:8])
            lines.append(f"Top leaves under stress, {transport} transport ({profile['samples']} samples): {leaves}.")
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
        (f"- CPU: {machine['cpu']}, nproc {machine['nproc']} (load average at start "
        f"{' / '.join(f'{value:.2f}' for value in machine['load_average'])})"),
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
    lines += ["", (f"One edit in process (`editing.apply`, a step's status, no clients): {edit_cost['queries']} queries, "
                   f"{edit_cost['median_ms']:.2f} ms median.")]
    lines += _transports_section(results)
    lines += ["", "## Findings", ""] + [f"- {finding}" for finding in FINDINGS]
    notes = reading_notes(results, settings)
    if notes:
        lines += ["", "Reading this run:", ""] + [f"- {note}" for note in notes]
    lines += [
        "",
        "## Load scenarios",
        "",
        ("Each client keeps one op in flight. Human rate: one edit every "
        f"{settings.scenarios[0].interval:g} s per client, at a random phase; the mix is 25 % description"),
        "with base, 15 % title with base, 20 % status, 15 % owner, 15 % reorder (`step.move`), 10 % new step.",
        "Stress: each client sends its next edit as soon as the previous one is acked.",
        "Edit-to-peer is the time from sending an op to the `change` arriving at each *other*",
        "client of the group; ack is the time to the op's ack. A delivery is missing when a peer had",
        f"no `change` for an acked op {settings.grace:g} s after the run. "
        + ("Each server is started fresh for each scenario; " if settings.fresh_servers
           else "One app and one baseline server serve every scenario; ")
        + "RSS per client = (RSS with every",
        "client joined and idle − RSS after one warm-up join) / clients. Server CPU is user + system",
        "time of the server process over the run, so \"ms per acked edit\" is the app's cost of an edit.",
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
    for key, label in (("app_snapshot", f"app, snapshot of a {largest}-step map"),
                       ("app_catch_up", f"app, {settings.missed_ops} ops behind"),
                       ("baseline_join", "bare server")):
        figure = wire[key]
        answer = f"{figure['count']} {'changes' if figure['form'] == 'changes' else 'steps'}"
        lines.append(f"| {label} | {answer} | {_ms(figure['median'])} | {_ms(figure['max'])} | "
                     f"{figure['bytes']} | {_ratio(figure['median'], wire['baseline_join']['median'])} |")
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
    for key, label in (("join_snapshot", "join (snapshot): queries / ms"),
                       ("render", "editor page: queries / ms")):
        cells = [f"{micro_results[key][size]['queries']} / {micro_results[key][size]['median_ms']:.1f}"
                 for size in micro_results["sizes"]]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for key, label in (("op_status", "op step.set status: queries"), ("op_move", "op step.move: queries"),
                       ("op_add", "op step.add: queries")):
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
        lines += ["", "## Where the app spends its time under stress", "",
                  "The profile failed:", "", "```", profile["error"], "```"]
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
            lines.append(f"| `{left[0]}` | {'' if left[1] is None else f'{left[1]:.1f}'} | | "
                         f"`{right[0]}` | {'' if right[1] is None else f'{right[1]:.1f}'} |")
    lines.append("")
    return "\n".join(lines)


def run_problems(results: dict, strict: bool) -> list[str]:
    """What makes the figures untrustworthy: trouble on the baseline, or clients that never
    joined. Trouble in the app under load is a finding, reported in the tables; with
    `strict` it fails the run as well."""
    problems = []
    pairs = [(f"{key}/{transport}", pair) for transport, figures in results["transports"].items()
             for key, pair in figures["scenarios"].items()]
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
    parser.add_argument("--report", help=f"where to write the markdown (default {REPORT_PATH.relative_to(PROJECT_ROOT)})")
    parser.add_argument("--json", help="also write every figure as JSON here")
    parser.add_argument("--loadgen-processes", type=int, default=0,
                        help="load generator processes per scenario (default: 1, or 2 from 200 clients)")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 on any error, disconnect or missing delivery, in the app too (CI)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, logs)")
    parser.add_argument("--postgres", metavar="URL",
                        help="run the app on a fresh database on this PostgreSQL server instead of SQLite")
    parser.add_argument("--transports", default="new",
                        help="old,new: each round also on the transport before gunicorn (gevent-websocket)")
    parser.add_argument("--scenario", action="append", default=[],
                        help="run only this scenario (human_small, human_300, stress; or, alone, flood:"
                             " bench/flood.py, or processes: bench/processes.py, which needs --postgres and REDIS_URL, or"
                             " exports: bench/exporting.py)")
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
    report_path = Path(args.report) if args.report else (None if args.smoke else REPORT_PATH)
    command = ".venv/bin/python -m bench.run" + "".join(
        f" --{name}" for name in ("quick", "smoke", "profile") if getattr(args, name)) + (
        f" --transports {args.transports}" if args.transports != "new" else "")
    folder = Path(tempfile.mkdtemp(prefix="roadmap-bench-"))
    processes = Processes()
    started = time.perf_counter()

    def processes_for(scenario: Scenario) -> int:
        return args.loadgen_processes or (2 if scenario.clients >= 200 else 1)

    shared_servers = contextlib.ExitStack()
    try:
        _say(started, f"building the database in {folder} …")
        world = bench_world.build(
            folder, groups=max(s.groups for s in settings.scenarios),
            clients_per_group=max(s.clients_per_group for s in settings.scenarios),
            steps_per_map=settings.steps_per_map, micro_sizes=settings.micro_sizes,
            missed_ops=settings.missed_ops, postgres_url=args.postgres,
        )
        _say(started, "in-process micro-benchmarks …")
        results = {"micro": micro.run_all(world, settings.repeats, settings.missed_ops)}
        results["wire"] = {}
        old_folder = install_old_transport(folder) if "old" in transports else None
        folders = {"old": old_folder, "new": None}
        by_transport = {transport: {"scenarios": {}, "rounds": {}} for transport in transports}
        servers = {}
        if not settings.fresh_servers:
            servers = {(transport, kind): shared_servers.enter_context(
                           Server(kind, world, folder, processes, folders[transport]))
                       for transport in transports for kind in ("app", "baseline")}
        for number, scenario in enumerate(settings.scenarios):
            rounds = {transport: [] for transport in transports}
            for round_index in range(settings.rounds):
                for transport in transports:
                    # Alternate who goes first, so a drift in the machine's load does not favour one side.
                    order = ("app", "baseline") if (number + round_index) % 2 == 0 else ("baseline", "app")
                    pair = {}
                    for kind in order:
                        _say(started, f"{scenario.title}, {scenario.duration:g} s, round {round_index + 1}"
                                      f" of {settings.rounds}: {kind}, {transport} transport …")
                        first = number == 0 and round_index == 0 and transport == current
                        pair[kind] = run_scenario(kind, scenario, world, settings, folder, processes,
                                                  processes_for(scenario), seed=number + 1 + 100 * round_index,
                                                  probes=results["wire"] if first else None,
                                                  server=servers.get((transport, kind)),
                                                  old_transport=folders[transport])
                    rounds[transport].append(pair)
            for transport in transports:
                by_transport[transport]["rounds"][scenario.key] = [round_ratios(pair) for pair in rounds[transport]]
                by_transport[transport]["scenarios"][scenario.key] = median_round(scenario, rounds[transport])
        results.update(by_transport[current])
        results["transports"] = by_transport
        if args.profile:
            stress = next(s for s in settings.scenarios if s.mode == "stress")
            stress = Scenario(stress.key, stress.title, stress.groups, stress.clients_per_group, "stress",
                              settings.profile_seconds)
            for transport in transports:
                _say(started, f"profiling the app under stress for {stress.duration:g} s, {transport} transport …")
                raw = folder / f"stress-profile-{transport}.txt"
                try:
                    run_scenario("app", stress, world, settings, folder, processes, processes_for(stress),
                                 seed=99, profile_to=raw, old_transport=folders[transport])
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
            for s in settings.scenarios)
        if any(processes_for(s) > 1 for s in settings.scenarios):
            loadgen_note += (
                " (from 200 clients the groups are split over two processes: one process lagged two to"
                " three times as much at 300 clients on this 2-core machine; a group's clients always"
                " share one process, so sender and peers share one clock)"
            )
        results["machine"] = _machine(command, loadgen_note)
        results["machine"]["database"] = (
            "PostgreSQL (a fresh database, psycopg 3)" if args.postgres else "SQLite (WAL) in a temporary file")
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
