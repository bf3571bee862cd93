"""Exports while a group edits: does a moderator's download hold up the group's live edits?

    .venv/bin/python -m bench.run --scenario exports [--postgres URL]
    .venv/bin/python -m bench.exporting [--postgres URL] [--steps 300]   # the same

One group of 10 participants edits one map (STEPS steps, kept at that size: new-step edits
become text edits) at a human rate, one edit every INTERVAL seconds each, with bench/loadgen.py's
mix of typing and step changes. Against one app server (`python -m roadmap.server`):

1. quiet: the group edits for PHASE_SECONDS; nobody downloads;
2. exports: the group edits for PHASE_SECONDS again while a moderator, signed in through the
   sign-in form (a real session cookie), downloads the PDF, the DOCX, the XLSX and the history
   page back to back, over and over. Before each download an 11th member of the group changes
   a step's description over its own socket and waits for the ack, so the map's revision moves
   and every download makes its file anew instead of taking the kept one.

Edit-to-peer is the time from a participant's emit of an op to the `change` at each other
participant (bench/loadgen.py). Both phases run against the same server, first with the pool
of worker processes (the default) and then with HEAVY_WORK_PROCESSES=0 (everything on the
server's event loop, as before the pool), in one command. The target: the exports phase's
p99 within 1.5 x the quiet phase's, and no edit-to-peer above 100 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

import requests
import socketio
from sqlalchemy import select

from bench import world as bench_world
from bench.run import LoadgenProcess, Processes, Scenario, Server, _merge, database_name, scratch_run, warm_up

STEPS = 30
PARTICIPANTS = 10
INTERVAL = 1.5
PHASE_SECONDS = 30.0
GRACE = 5.0
PASSWORD = "Выгрузка-для-администрации-2027"
DOWNLOADS = ("export.pdf", "export.docx", "export.xlsx", "history")
REQUEST_TIMEOUT = 120.0
TARGET_P99_RATIO = 1.5
TARGET_MAX_MS = 100.0
POOL_SETTINGS = {"pool (2 worker processes)": {}, "inline (HEAVY_WORK_PROCESSES=0)": {"HEAVY_WORK_PROCESSES": "0"}}


def give_moderator_a_password(world: bench_world.World) -> str:
    """The benchmark's moderator signs in with PASSWORD; returns their e-mail."""
    from roadmap.extensions import db
    from roadmap.models import Person
    from roadmap.services import accounts
    from roadmap.services.transactions import writing

    app = bench_world.bench_app(world.database_url, world.instance_path)
    with app.app_context():
        with writing():
            moderator = db.session.scalar(select(Person).where(Person.is_moderator.is_(True)))
            moderator.password_hash = accounts.hash_password(PASSWORD)
            email = moderator.email
        db.session.remove()
        db.engine.dispose()
    return email


def signed_in(server: Server, email: str) -> requests.Session:
    browser = requests.Session()
    form = browser.get(f"{server.url}/sign-in", timeout=REQUEST_TIMEOUT)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text).group(1)
    answer = browser.post(
        f"{server.url}/sign-in",
        timeout=REQUEST_TIMEOUT,
        data={"email": email, "password": PASSWORD, "csrf_token": token},
    )
    if not answer.url.rstrip("/").endswith("/moderate"):
        raise RuntimeError(f"the moderator did not sign in: {answer.status_code} {answer.url}")
    return browser


class Downloader:
    """The moderator's downloads in a thread, each after an edit that moves the map's revision."""

    def __init__(self, server: Server, browser: requests.Session, group: dict):
        self.server, self.browser, self.group = server, browser, group
        self.editor = socketio.Client(reconnection=False)
        self.editor.connect(
            server.url, auth={"token": group["tokens"][PARTICIPANTS]}, transports=["websocket"], wait_timeout=10
        )
        joined = self.editor.call("join", {"roadmap_id": group["roadmap_id"], "since_revision": None}, timeout=30)
        if not joined.get("ok"):
            raise RuntimeError(f"the downloader's editor could not join: {joined}")
        self.seconds: dict[str, list[float]] = {name: [] for name in DOWNLOADS}
        self.failures: list[str] = []
        self.edits = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def download_each_once(self) -> None:
        for name in DOWNLOADS:
            self._move_revision()
            self._download(name)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(REQUEST_TIMEOUT)
        self.editor.disconnect()

    def _run(self) -> None:
        for _ in range(10_000):
            for name in DOWNLOADS:
                if self._stop.is_set():
                    return
                self._move_revision()
                self.seconds[name].append(self._download(name))

    def _move_revision(self) -> None:
        self.edits += 1
        op = {
            "op_id": uuid.uuid4().hex,
            "roadmap_id": self.group["roadmap_id"],
            "type": "step.set",
            "step_id": self.group["step_ids"][0],
            "field": "description",
            "value": f"Согласовать с управой, версия {self.edits}",
        }
        ack = self.editor.call("op", op, timeout=30)
        if not ack.get("ok"):
            self.failures.append(f"edit: {ack}")

    def _download(self, name: str) -> float:
        started = time.perf_counter()
        answer = self.browser.get(f"{self.server.url}/maps/{self.group['roadmap_id']}/{name}", timeout=REQUEST_TIMEOUT)
        if answer.status_code != 200:
            self.failures.append(f"{name}: {answer.status_code}")
        return time.perf_counter() - started


def phase(
    server: Server,
    world: bench_world.World,
    folder: Path,
    processes: Processes,
    name: str,
    seconds: float,
    seed: int,
    downloader: Downloader | None = None,
) -> dict:
    group = world.load_groups[0]
    plan = {"groups": [{**group, "tokens": group["tokens"][:PARTICIPANTS], "max_steps": len(group["step_ids"])}]}
    scenario = Scenario(name, name, 1, PARTICIPANTS, "human", seconds, interval=INTERVAL)
    generator = LoadgenProcess(processes, folder, f"{name}-{seed}", plan, server, scenario, GRACE, seed)
    generator.wait_for("READY", timeout=120)
    load_average = os.getloadavg()[0]
    generator.go()
    if downloader is not None:
        downloader.start()
    result = _merge([generator.result(timeout=seconds + GRACE + REQUEST_TIMEOUT)])
    if downloader is not None:
        downloader.stop()
    result["load_average"] = load_average
    return result


def run_with(
    label: str,
    extra_env: dict,
    world: bench_world.World,
    email: str,
    folder: Path,
    processes: Processes,
    seconds: float,
    seed: int,
) -> dict:
    """The quiet and the exports phase against one fresh server with these settings."""
    env = {**extra_env, "EXPORT_RATE_LIMIT": "100000 per minute"}  # the moderator downloads far faster than a person
    with Server("app", world, folder, processes, extra_env=env) as server:
        warm_up(server, world.load_groups[0])
        downloader = Downloader(server, signed_in(server, email), world.load_groups[0])
        downloader.download_each_once()  # WeasyPrint's import and the workers' start are not billed to a phase
        print(f"{label}: quiet …", flush=True)
        quiet = phase(server, world, folder, processes, "quiet", seconds, seed)
        print(f"{label}: exports …", flush=True)
        during = phase(server, world, folder, processes, "exports", seconds, seed + 1, downloader)
    return {"quiet": quiet, "exports": during, "downloads": downloader.seconds, "failures": downloader.failures}


def _ms(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def _downloads(seconds: dict[str, list[float]]) -> str:
    return ", ".join(
        f"{name.removeprefix('export.')} {len(times)} x {statistics.median(times) * 1000:.0f} ms"
        if times
        else f"{name} 0"
        for name, times in seconds.items()
    )


def report(results: dict[str, dict], database: str, steps: int, seconds: float) -> str:
    lines = [
        f"{PARTICIPANTS} participants edit one {steps}-step map, one edit every {INTERVAL:g} s each, "
        f"{seconds:g} s quiet, then {seconds:g} s while a moderator downloads "
        f"{', '.join(DOWNLOADS)} back to back, each after an edit; {database}, {os.cpu_count()} cores.",
        "",
        "| server | edit-to-peer p50 / p99 / max quiet, ms | p50 / p99 / max during exports, ms "
        "| p99 ratio | target met | downloads: count x median | errors, missing deliveries, disconnects | load average |",
        "| --- | --- | --- | ---: | :---: | --- | --- | --- |",
    ]
    for label, result in results.items():
        quiet, during = result["quiet"]["peer"], result["exports"]["peer"]
        ratio = during["p99"] / quiet["p99"]
        met = ratio <= TARGET_P99_RATIO and during["max"] <= TARGET_MAX_MS
        troubles = sum(
            result[phase_name][key]
            for phase_name in ("quiet", "exports")
            for key in ("error_count", "missing_deliveries", "disconnects")
        )
        lines.append(
            f"| {label} | {_ms(quiet['p50'])} / {_ms(quiet['p99'])} / {_ms(quiet['max'])} "
            f"| {_ms(during['p50'])} / {_ms(during['p99'])} / {_ms(during['max'])} | {ratio:.2f} x "
            f"| {'yes' if met else '**no**'} | {_downloads(result['downloads'])} "
            f"| {troubles}; {len(result['failures'])} failed downloads or edits "
            f"| {result['quiet']['load_average']:.1f}, {result['exports']['load_average']:.1f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Edit-to-peer latency while a moderator downloads exports.")
    parser.add_argument(
        "--postgres", metavar="URL", help="a fresh database on this PostgreSQL server instead of SQLite"
    )
    parser.add_argument("--steps", type=int, default=STEPS, help="steps of the edited map")
    parser.add_argument("--only", choices=("pool", "inline"), help="run one of the two settings")
    parser.add_argument("--seconds", type=float, default=PHASE_SECONDS, help="length of each phase")
    args, _rest = parser.parse_known_args(argv)
    with scratch_run("roadmap-exports-") as (folder, processes):
        world = bench_world.build(
            folder,
            groups=1,
            clients_per_group=PARTICIPANTS + 1,
            steps_per_map=args.steps,
            micro_sizes=(10,),
            missed_ops=0,
            postgres_url=args.postgres,
        )
        email = give_moderator_a_password(world)
        results = {}
        for seed, (label, extra_env) in enumerate(POOL_SETTINGS.items(), start=1):
            if args.only and not label.startswith(args.only):
                continue
            results[label] = run_with(label, extra_env, world, email, folder, processes, args.seconds, seed=10 * seed)
        print(report(results, database_name(args.postgres), args.steps, args.seconds))
        return 0


if __name__ == "__main__":
    sys.exit(main())
