"""In-process figures of the map at a past revision, a restore, and an import, each against
the way before it in the same run:

- the map at revision 2,000 of a map with a 2,000-change log: replayed from revision 0
  against history.map_at from the nearest checkpoint;
- a restore (map.restore) of revision 1,999: the time its write transaction holds the
  lock, with the checkpoints kept against none (then the replay from 0 runs first,
  outside the lock, and keeps them);
- the import of the largest file the caps allow (300 steps, 150 stakeholders, 1,000
  links: 1,450 ops): editing.apply_many in one transaction against editing.apply op by op.

A write transaction's hold time is measured from the session's `after_begin` to its
`after_commit` (SQLAlchemy's events): in SQLite that bounds the write lock.

    .venv/bin/python -m bench.replay [--postgres postgresql://…]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import delete, event

from bench.world import bench_app
from roadmap.database import create_fresh_postgres_database
from roadmap.domain.permissions import Actor
from roadmap.domain.replay import empty_map, replay
from roadmap.extensions import db
from roadmap.models import Checkpoint, Person, Roadmap
from roadmap.services import editing, exports, history, trainings
from roadmap.services.transactions import writing
from roadmap.timeutil import utcnow

LOG_LENGTH = 2000
REPEATS = 20


class TransactionClock:
    """The longest and the total time between a session transaction's begin and its commit."""

    def __init__(self):
        self.begun_at: float | None = None
        self.held: list[float] = []
        event.listen(db.session, "after_begin", self._begun)
        event.listen(db.session, "after_commit", self._committed)

    def _begun(self, *_args):
        self.begun_at = time.perf_counter()

    def _committed(self, *_args):
        if self.begun_at is not None:
            self.held.append((time.perf_counter() - self.begun_at) * 1000)
            self.begun_at = None

    @contextmanager
    def measuring(self):
        self.held = []
        yield self


def _op(roadmap_id: int, op_type: str, **keys) -> dict:
    return {"op_id": uuid.uuid4().hex, "roadmap_id": roadmap_id, "type": op_type, **keys}


def _median_ms(action, repeats: int = REPEATS) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _new_map(training, name: str) -> tuple[Roadmap, Actor]:
    group = trainings.create_group(training, name, "landscaping")
    member = trainings.join_group(training, group.id, f"Участник {name}", None)
    return group.roadmap, Actor.of(member)


def _long_log(roadmap: Roadmap, actor: Actor) -> None:
    """30 steps, then status and title edits up to LOG_LENGTH changes."""
    step_ids = [uuid.uuid4().hex for _ in range(30)]
    for index, step_id in enumerate(step_ids):
        editing.apply(
            _op(
                roadmap.id,
                "step.add",
                step_id=step_id,
                fields={"title": f"Шаг {index}", "description": "Встреча с жителями. " * 3},
            ),
            actor=actor,
        )
    for index in range(LOG_LENGTH - len(step_ids)):
        keys = (
            {"field": "status", "value": ("planned", "in_progress", "done")[index % 3]}
            if index % 2
            else {"field": "title", "value": f"Шаг {index}: встреча"}
        )
        editing.apply(_op(roadmap.id, "step.set", step_id=step_ids[index % 30], **keys), actor=actor)


def past_revisions(roadmap: Roadmap) -> dict:
    theme = roadmap.group.theme

    def from_zero(revision):
        return lambda: replay(empty_map(roadmap.id, theme), history.changes_up_to(roadmap.id, revision))

    history.map_at(roadmap, LOG_LENGTH)  # keeps the checkpoints
    return {
        "from 0, revision 2,000": _median_ms(from_zero(LOG_LENGTH)),
        "checkpoint, revision 2,000": _median_ms(lambda: history.map_at(roadmap, LOG_LENGTH)),
        "from 0, revision 1,999": _median_ms(from_zero(LOG_LENGTH - 1)),
        "checkpoint, revision 1,999 (99 changes replayed)": _median_ms(lambda: history.map_at(roadmap, LOG_LENGTH - 1)),
    }


def restores(roadmap: Roadmap, actor: Actor, clock: TransactionClock) -> dict:
    figures = {}
    for kept in (True, False):
        totals, locks = [], []
        for _ in range(5):
            if not kept:
                with writing():
                    db.session.execute(delete(Checkpoint).where(Checkpoint.roadmap_id == roadmap.id))
            with clock.measuring():
                started = time.perf_counter()
                editing.apply(_op(roadmap.id, "map.restore", revision=LOG_LENGTH - 1), actor=actor)
                totals.append((time.perf_counter() - started) * 1000)
                locks.append(clock.held[-1])  # the restore's own transaction commits last
        label = "checkpoints kept" if kept else "no checkpoints (replay from 0 before the lock)"
        figures[f"restore, {label}: total"] = statistics.median(totals)
        figures[f"restore, {label}: write transaction"] = statistics.median(locks)
    return figures


def largest_import() -> exports.ImportedMap:
    stakeholders = [(f"s{index}", {"name": f"Партнёр {index}", "sector": "ngo"}) for index in range(150)]
    steps = [
        (
            f"t{index}",
            {
                "title": f"Шаг {index}",
                "description": "Договориться о площадке. " * 3,
                "due_on": f"2027-05-{1 + index % 28:02d}",
                "owner": {"stakeholder": f"s{index % 150}"},
            },
        )
        for index in range(300)
    ]
    links = [(f"t{index % 300}", f"s{(index // 300 + index) % 150}") for index in range(1000)]
    return exports.ImportedMap(fields={"title": "Большая карта"}, stakeholders=stakeholders, steps=steps, links=links)


def imports(training, clock: TransactionClock) -> dict:
    content = largest_import()
    figures = {}
    for way in ("apply_many", "apply one by one"):
        roadmap, actor = _new_map(training, way)
        ops = list(exports.content_ops(roadmap, content))
        with clock.measuring():
            started = time.perf_counter()
            if way == "apply_many":
                editing.apply_many(ops, actor=actor)
            else:
                for op in ops:
                    editing.apply(op, actor=actor)
            total = (time.perf_counter() - started) * 1000
            held = clock.held
        figures[f"import of {len(ops)} ops, {way}: total"] = total
        figures[f"import of {len(ops)} ops, {way}: longest write transaction"] = max(held)
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a fresh database is made on it")
    arguments = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="roadmap-replay-bench-"))
    database_url = (
        create_fresh_postgres_database(arguments.postgres, f"roadmap_replay_{uuid.uuid4().hex[:8]}")
        if arguments.postgres
        else f"sqlite:///{folder / 'bench.sqlite3'}"
    )
    app = bench_app(database_url, folder / "instance")
    with app.app_context():
        upgrade()
        with writing():
            moderator = Person(email="bench@example.org", display_name="Bench Moderator", is_moderator=True)
            db.session.add(moderator)
        training = trainings.create_training(
            moderator, "Benchmark", "Вологда", "Библиотека", utcnow().date(), utcnow().date()
        )
        clock = TransactionClock()
        roadmap, actor = _new_map(training, "long log")
        _long_log(roadmap, actor)
        figures = {**past_revisions(roadmap), **restores(roadmap, actor, clock), **imports(training, clock)}
    print(f"database: {database_url.split('://')[0]}")
    for label, milliseconds in figures.items():
        print(f"{label}: {milliseconds:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
