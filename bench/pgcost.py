"""What one edit costs in process on PostgreSQL, and what shapes of its SQL would cost.

    .venv/bin/python -m bench.pgcost --postgres postgresql://postgres@127.0.0.1:5432/test

On a fresh PostgreSQL database and a fresh SQLite file (bench/world.py), in this process,
rounds alternating the variants so that the machine's drift touches each alike:
- `editing.apply`, a step's status, as the servers run it (as bench/micro.py's edit cost);
- the same edit's SQL on the psycopg connection: one statement per round trip as the app
  sends it (BEGIN, the revision, the step's row, its update, the log row, COMMIT), then
  in pipeline mode (the revision and the step's row in one round trip, the writes and
  COMMIT in a second), then as one statement (CTEs; it cannot decide anything between
  reading and writing, so it is the floor of that shape, not a way to run the app's rules);
- the floor: a one-row UPDATE and its COMMIT, which waits for the WAL to reach the disk;
- diagnostic only, never a setting: `editing.apply` with `synchronous_commit = off` for
  the benchmark's connection, the edit's cost without the disk's flush.
Each figure: the median wall time and the mean CPU time of this process per edit.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import text

from bench import world as bench_world
from roadmap.domain.permissions import Actor
from roadmap.extensions import db
from roadmap.models import Person, Roadmap
from roadmap.services import editing, snapshots

EDITS_PER_ROUND = 200
ROUNDS = 3
STATUSES = ("in_progress", "done")

_REVISION = "UPDATE roadmaps SET revision = revision + 1, updated_at = %(now)s WHERE id = %(map)s RETURNING revision"
_STEP_ROW = "SELECT * FROM steps WHERE id = %(step)s"
_STEP_STATUS = "UPDATE steps SET status = %(status)s WHERE id = %(step)s"
_LOG = (
    "INSERT INTO changes (roadmap_id, revision, op_id, author_id, created_at, op, before)"
    " VALUES (%(map)s, %(revision)s, %(op_id)s, %(author)s, %(now)s, %(op)s, '{}')"
)
_ONE_STATEMENT = """
    WITH taken AS (
        UPDATE roadmaps SET revision = revision + 1, updated_at = %(now)s WHERE id = %(map)s RETURNING id, revision),
    written AS (UPDATE steps SET status = %(status)s WHERE id = %(step)s RETURNING id)
    INSERT INTO changes (roadmap_id, revision, op_id, author_id, created_at, op, before)
    SELECT taken.id, taken.revision, %(op_id)s, %(author)s, %(now)s, %(op)s, '{}' FROM taken, written
"""


class Edits:
    """One map's first step, edited again and again by one of its members."""

    def __init__(self, world: bench_world.World):
        self.app = bench_world.bench_app(world.database_url, world.instance_path)
        self.map = world.micro_maps[0]
        self.count = 0
        with self.app.app_context():
            roadmap = db.session.get(Roadmap, self.map.roadmap_id)
            self.step_id = snapshots.snapshot(roadmap)["steps"][0]["id"]
            self.actor = Actor.of(db.session.get(Person, self.map.person_id))
            db.session.remove()

    def params(self) -> dict:
        self.count += 1
        status = STATUSES[self.count % 2]
        return {
            "map": self.map.roadmap_id,
            "step": self.step_id,
            "status": status,
            "op_id": uuid.uuid4().hex,
            "author": self.actor.id,
            "now": datetime.now(),
            "op": json.dumps({"type": "step.set", "step_id": self.step_id, "field": "status", "value": status}),
        }

    def apply(self) -> None:
        given = self.params()
        editing.apply(
            {
                "op_id": given["op_id"],
                "roadmap_id": given["map"],
                "type": "step.set",
                "step_id": given["step"],
                "field": "status",
                "value": given["status"],
            },
            actor=self.actor,
        )

    def driver(self):
        """The psycopg connection under the session's own pooled connection."""
        return db.session.connection().connection.driver_connection

    def one_per_round_trip(self) -> None:
        given, connection = self.params(), self.driver()
        cursor = connection.cursor()
        given["revision"] = cursor.execute(_REVISION, given).fetchone()[0]
        cursor.execute(_STEP_ROW, given).fetchall()
        cursor.execute(_STEP_STATUS, given)
        cursor.execute(_LOG, given)
        connection.commit()

    def pipelined(self) -> None:
        given, connection = self.params(), self.driver()
        with connection.pipeline():
            taken, step = connection.cursor(), connection.cursor()
            taken.execute(_REVISION, given)
            step.execute(_STEP_ROW, given)
            given["revision"] = taken.fetchone()[0]
            step.fetchall()
            connection.execute(_STEP_STATUS, given)
            connection.execute(_LOG, given)
            connection.commit()

    def one_statement(self) -> None:
        given, connection = self.params(), self.driver()
        connection.execute(_ONE_STATEMENT, given)
        connection.commit()

    def floor(self) -> None:
        connection = self.driver()
        connection.execute("UPDATE roadmaps SET revision = revision WHERE id = %(map)s", {"map": self.map.roadmap_id})
        connection.commit()


def _timed(action, count: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(count):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def measure(world: bench_world.World, variants: dict[str, str], rounds: int, count: int) -> dict:
    """{variant: (median wall ms, mean CPU ms)} over `rounds` rounds of `count` edits each."""
    edits = Edits(world)
    samples = {name: ([], []) for name in variants}
    with edits.app.app_context():
        for number in range(rounds):
            order = list(variants) if number % 2 == 0 else list(reversed(variants))
            for name in order:
                action = getattr(edits, variants[name])
                if name.startswith("diagnostic"):
                    db.session.execute(text("SET synchronous_commit = off"))  # this connection only
                    db.session.commit()
                walls, cpus = _timed(action, count)
                if name.startswith("diagnostic"):
                    db.session.execute(text("SET synchronous_commit = on"))
                    db.session.commit()
                samples[name][0].extend(walls)
                samples[name][1].extend(cpus)
        db.session.remove()
        db.engine.dispose()
    return {
        name: (1000 * statistics.median(walls), 1000 * statistics.mean(cpus)) for name, (walls, cpus) in samples.items()
    }


POSTGRES_VARIANTS = {
    "editing.apply (6 round trips)": "apply",
    "its SQL, one statement per round trip (6)": "one_per_round_trip",
    "its SQL, pipelined (2 round trips)": "pipelined",
    "its SQL as one statement (3 round trips with BEGIN and COMMIT)": "one_statement",
    "floor: a one-row UPDATE and COMMIT (3 round trips)": "floor",
    "diagnostic: editing.apply with synchronous_commit off": "apply",
}


def _build(folder: Path, postgres_url: str | None) -> bench_world.World:
    folder.mkdir()
    return bench_world.build(
        folder,
        groups=1,
        clients_per_group=3,
        steps_per_map=5,
        micro_sizes=(10,),
        missed_ops=10,
        postgres_url=postgres_url,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="One edit's cost in process on PostgreSQL and SQLite.")
    parser.add_argument("--postgres", required=True, metavar="URL")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--edits", type=int, default=EDITS_PER_ROUND, help="edits per variant and round")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="roadmap-bench-pgcost-"))
    try:
        figures = {
            f"PostgreSQL: {name}": figure
            for name, figure in measure(
                _build(folder / "pg", args.postgres), POSTGRES_VARIANTS, args.rounds, args.edits
            ).items()
        }
        figures.update(
            {
                f"SQLite: {name}": figure
                for name, figure in measure(
                    _build(folder / "sqlite", None), {"editing.apply": "apply"}, args.rounds, args.edits
                ).items()
            }
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("| variant | wall ms (median) | CPU ms of this process (mean) |\n| --- | ---: | ---: |")
    for name, (wall, cpu) in figures.items():
        print(f"| {name} | {wall:.2f} | {cpu:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
