"""The largest import a moderator can upload while a person in another group edits: how long the other's acks take.

    .venv/bin/python -m bench.importing [--postgres postgresql://…]   # prints a markdown table

Against one app server (python -m roadmap.server, SQLite or PostgreSQL):
1. quiet: the editor (its own group) sends an op every flood.EDIT_INTERVAL seconds, one in
   flight, for flood.QUIET_SECONDS; its acks' p50/p99/max are the quiet figures;
2. imports: the moderator, signed in through the form, uploads the JSON export of the largest
   map the caps allow (replay.largest_import: 1,451 ops) IMPORTS times, each into a new group,
   while the editor goes on as before; the editor's acks in that time are the figures during.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import threading
import time
from pathlib import Path

import requests

from bench import world as bench_world
from bench.flood import QUIET_SECONDS, _connect, _edit_until, _set
from bench.loadgen import percentile
from bench.replay import _new_map, largest_import
from bench.run import Processes, Server, database_name, scratch_run
from roadmap.extensions import db
from roadmap.models import Person, Training
from roadmap.services import accounts, editing, exports
from roadmap.services.transactions import writing

IMPORTS = 8
PASSWORD = "bench import password"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def prepare(world: bench_world.World) -> tuple[str, int, bytes]:
    """The moderator's password and the file to import: (moderator e-mail, training id, JSON export)."""
    app = bench_world.bench_app(world.database_url, world.instance_path)
    with app.app_context():
        with writing():
            moderator = db.session.query(Person).filter_by(is_moderator=True).one()
            moderator.password_hash = accounts.hash_password(PASSWORD)
        training = db.session.query(Training).one()
        roadmap, actor = _new_map(training, "Образец для импорта")
        editing.apply_many(list(exports.content_ops(roadmap, largest_import())), actor=actor)
        db.session.refresh(roadmap)
        exported = exports.json_of(roadmap)
        email, training_id = moderator.email, training.id
        db.session.remove()
        db.engine.dispose()
    return email, training_id, exported


def _csrf_token(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=30)
    page.raise_for_status()
    return _CSRF.search(page.text).group(1)


def _signed_in(server_url: str, email: str) -> requests.Session:
    session = requests.Session()
    token = _csrf_token(session, server_url + "/sign-in")
    answer = session.post(
        server_url + "/sign-in", timeout=30, data={"csrf_token": token, "email": email, "password": PASSWORD}
    )
    assert answer.url.endswith("/moderate/"), answer.url
    return session


def _import(session: requests.Session, page_url: str, exported: bytes, number: int) -> float:
    """Upload the file into a new group; seconds until the server answered."""
    token = _csrf_token(session, page_url)
    started = time.perf_counter()
    answer = session.post(
        page_url,
        timeout=120,
        data={"csrf_token": token, "name": f"Импорт {number}"},
        files={"file": ("map.json", exported, "application/json")},
        allow_redirects=False,
    )
    seconds = time.perf_counter() - started
    assert answer.status_code == 302, answer.status_code  # back to the training: the group was made
    return seconds


def run(
    world: bench_world.World, folder: Path, processes: Processes, email: str, training_id: int, exported: bytes
) -> dict:
    edited = world.load_groups[0]
    with Server("app", world, folder, processes) as server:
        moderator = _signed_in(server.url, email)
        page_url = f"{server.url}/moderate/trainings/{training_id}/import"
        _import(moderator, page_url, exported, 0)  # warms the worker pool and the import path
        editor = _connect(server.url, edited["tokens"][0], edited["roadmap_id"])
        try:
            quiet = _edit_until(editor, edited, _set(threading.Event()), QUIET_SECONDS)
            imports_done, during = threading.Event(), []
            editing_thread = threading.Thread(
                target=lambda: during.extend(_edit_until(editor, edited, imports_done, 0.0))
            )
            editing_thread.start()
            import_seconds = [_import(moderator, page_url, exported, number) for number in range(1, IMPORTS + 1)]
            imports_done.set()
            editing_thread.join(120)
        finally:
            editor.disconnect()
    return {"quiet": quiet, "during": during, "import_seconds": import_seconds}


def _ms(values: list[float], share: float | None) -> str:
    if not values:
        return "–"
    return f"{(max(values) if share is None else percentile(values, share)):.1f} ms"


def report(result: dict, database: str) -> str:
    seconds = result["import_seconds"]
    return "\n".join(
        [
            f"A moderator uploads the largest map the caps allow (1,451 ops) {IMPORTS} times, each into a new group, "
            f"while a person in another group edits a step every 100 ms, one op in flight; {database}. "
            f"An upload is answered in {statistics.median(seconds):.2f} s (median; {max(seconds):.2f} s at most).",
            "",
            "| editor's acks | count | p50 | p99 | max |",
            "| --- | --- | --- | --- | --- |",
            *(
                f"| {label} | {len(result[key])} | {_ms(result[key], 0.5)} | {_ms(result[key], 0.99)} "
                f"| {_ms(result[key], None)} |"
                for label, key in (("quiet", "quiet"), ("during the imports", "during"))
            ),
        ]
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres", metavar="URL", help="a fresh database on this PostgreSQL server instead of SQLite"
    )
    arguments = parser.parse_args(argv)
    with scratch_run("roadmap-importing-") as (folder, processes):
        world = bench_world.build(
            folder,
            groups=1,
            clients_per_group=1,
            steps_per_map=20,
            micro_sizes=(10,),
            missed_ops=0,
            postgres_url=arguments.postgres,
        )
        result = run(world, folder, processes, *prepare(world))
        print(report(result, f"{database_name(arguments.postgres)}, {os.cpu_count()} cores"))
        return 0


if __name__ == "__main__":
    sys.exit(main())
