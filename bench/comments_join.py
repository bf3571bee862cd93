"""What comments cost a join: a 300-step map with 1,000 comments against the same map without any.

    .venv/bin/python -m bench.comments_join                 # SQLite; writes docs/comments-performance.md
    .venv/bin/python -m bench.comments_join --postgres postgresql://postgres@127.0.0.1:5432/test --report -

Both maps are built the way bench/world.py builds the micro-benchmark's (300 steps, 5
stakeholders, links), in one fresh database; then 1,000 comments (a quarter of them
replies, some with a mention) go to one of them through editing.apply. The `join`
handler is timed whole, in this process, through Flask-SocketIO's test client
(bench/micro.py): the snapshot, which carries each step's number of comments but
not the comments, and the person's unread counts. The map without comments is the
baseline, in the same run, its joins taken in turns with the other map's. A step's thread, loaded when its card opens, is timed too.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.micro import Measured, Micro, _isolated, _timed
from bench.world import build
from roadmap.extensions import db
from roadmap.models import Membership, Person, Roadmap
from roadmap.services import editing, snapshots

PROJECT = Path(__file__).resolve().parent.parent
REPORT = PROJECT / "docs" / "comments-performance.md"
STEPS, COMMENTS = 300, 1000
TARGET_MS = 50


def add_comments(micro, count: int) -> str:
    """`count` comments on the map's steps, by its first member, some answering earlier ones; the busiest step."""
    roadmap = db.session.get(Roadmap, micro.roadmap_id)
    author = db.session.get(Person, micro.person_id)
    others = [
        membership.person_id
        for membership in db.session.query(Membership).filter_by(group_id=roadmap.group_id)
        if membership.person_id != author.id
    ]
    step_ids = [step["id"] for step in snapshots.snapshot(roadmap, with_members=False)["steps"]]
    made: list[tuple[str, str]] = []
    for index in range(count):
        step_id = step_ids[(index * 7) % len(step_ids)] if index % 10 else step_ids[0]
        parent = next((comment_id for comment_id, on in reversed(made[-20:]) if on == step_id), None)
        comment_id = uuid.uuid4().hex
        keys = {"parent_id": parent} if parent and index % 4 == 0 else {}
        if index % 25 == 0 and others:
            keys["mentions"] = [others[index % len(others)]]
        editing.apply(
            {
                "op_id": uuid.uuid4().hex,
                "roadmap_id": micro.roadmap_id,
                "type": "comment.add",
                "comment_id": comment_id,
                "step_id": step_id,
                "body": f"Комментарий {index}: кто звонит в управу и когда? " * (1 + index % 3),
                **keys,
            },
            actor=author,
        )
        made.append((comment_id, step_id))
    return step_ids[0]


def measure(repeats: int, postgres_url: str | None) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        world = build(
            Path(folder),
            groups=0,
            clients_per_group=0,
            steps_per_map=0,
            micro_sizes=(STEPS, STEPS),
            missed_ops=0,
            postgres_url=postgres_url,
        )
        plain, commented = world.micro_maps
        micro = Micro(world)
        with micro.app.app_context():
            busiest = add_comments(commented, COMMENTS)
            counts = snapshots.snapshot(db.session.get(Roadmap, commented.roadmap_id))["comment_counts"]
            db.session.remove()
        joined_plain, joined_commented = alternating_joins(micro, [plain, commented], repeats)
        thread = micro_thread(micro, commented, busiest, repeats)
        return {
            "database": "PostgreSQL" if postgres_url else "SQLite",
            "repeats": repeats,
            "plain": joined_plain,
            "commented": joined_commented,
            "thread": thread,
            "counted": sum(counts.values()),
            "busiest_count": counts.get(busiest, 0),
        }


def alternating_joins(micro: Micro, maps: list, repeats: int) -> list[Measured]:
    """Each map's whole `join`, taken in turns so that the machine's drift touches both alike."""
    clients = [_isolated(micro._socket, each) for each in maps]
    try:

        def join(index: int):
            ack = _isolated(
                clients[index].emit,
                "join",
                {"roadmap_id": maps[index].roadmap_id, "since_revision": None},
                callback=True,
            )
            assert ack and ack["ok"], ack
            clients[index].get_received()  # drop the presence broadcasts

        queries = []
        for index in range(len(maps)):
            with micro.counter.counting():
                join(index)
                queries.append(micro.counter.count)
        timings: list[list[float]] = [[] for _ in maps]
        for _ in range(repeats):
            for index in range(len(maps)):
                started = time.perf_counter()
                join(index)
                timings[index].append((time.perf_counter() - started) * 1000)
        return [Measured(count, statistics.median(times), max(times)) for count, times in zip(queries, timings)]
    finally:
        for client in clients:
            _isolated(client.disconnect)


def micro_thread(micro: Micro, commented, step_id: str, repeats: int):
    """The `comments` event for the step with the most comments: its whole thread."""
    client = _isolated(micro._socket, commented)
    try:

        def load_once():
            ack = _isolated(
                client.emit, "comments", {"roadmap_id": commented.roadmap_id, "step_id": step_id}, callback=True
            )
            assert ack and ack["ok"], ack

        return _timed(load_once, repeats, micro.counter)
    finally:
        _isolated(client.disconnect)


def report(figures: dict) -> str:
    plain, commented, thread = figures["plain"], figures["commented"], figures["thread"]
    verdict = "meets" if commented.median_ms < TARGET_MS else "misses"
    return "\n".join(
        [
            "# Comments and the join",
            "",
            "Written by `bench/comments_join.py`; edit that, not this file. Reproduce with "
            "`.venv/bin/python -m bench.comments_join`.",
            "",
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {figures['database']}, Python {platform.python_version()}, "
            f"{platform.machine()}; median of {figures['repeats']} joins, in-process (Flask-SocketIO's test client).",
            f"Two {STEPS}-step maps in one database; one has {COMMENTS} comments "
            f"({figures['counted']} counted in its snapshot, {figures['busiest_count']} on its busiest step).",
            "",
            "| request | queries | median ms | max ms | × the map without comments |",
            "| --- | ---: | ---: | ---: | ---: |",
            f"| join, {STEPS} steps, no comments (baseline) | {plain.queries} | {plain.median_ms:.1f} | "
            f"{plain.max_ms:.1f} | 1.0 |",
            f"| join, {STEPS} steps, {COMMENTS} comments | {commented.queries} | {commented.median_ms:.1f} | "
            f"{commented.max_ms:.1f} | {commented.median_ms / plain.median_ms:.2f} |",
            f"| `comments` for the busiest step ({figures['busiest_count']}) | {thread.queries} | "
            f"{thread.median_ms:.1f} | {thread.max_ms:.1f} | – |",
            "",
            f"Target: a join under {TARGET_MS} ms with {COMMENTS} comments (issue 16): this run {verdict} it. "
            "The join carries each step's count and the person's unread counts, not the comments: "
            "a thread loads when its card opens.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a fresh database is made on it")
    parser.add_argument("--report", default=str(REPORT), help="where to write the report; - for stdout only")
    arguments = parser.parse_args()
    text = report(measure(arguments.repeats, arguments.postgres))
    print(text)
    if arguments.report != "-":
        Path(arguments.report).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
