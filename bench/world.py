"""The benchmark's world: a fresh SQLite database with trainings, groups, people and maps.

Everything is made in this process through the app's own services
(create_app, trainings.join_group, editing.apply, accounts.issue_token), as
tests/conftest.py does. Only the moderator is inserted directly: an Argon2
hash would cost time and nothing here signs in with a password.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade

from roadmap import create_app
from roadmap.config import Config
from roadmap.database import create_fresh_postgres_database
from roadmap.extensions import db
from roadmap.models import Person, Roadmap
from roadmap.services import accounts, editing, trainings
from roadmap.services.transactions import writing

SECRET_KEY = "bench-secret-key"
STATUSES = ("planned", "in_progress", "done", "blocked")


def bench_app(database_url: str, instance_path: Path) -> Flask:
    """The app in this process: threading mode, no Redis, the benchmark's secret key."""
    return create_app(
        Config,
        overrides={
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": SECRET_KEY,
            "INSTANCE_PATH": str(instance_path),
            "SOCKETIO_ASYNC_MODE": "threading",
            "SOCKETIO_MESSAGE_QUEUE": None,
            "RATELIMIT_STORAGE_URI": "memory://",
        },
    )


@dataclass
class MicroMap:
    """A map for the micro-benchmarks, with one participant to read it as."""

    steps: int
    roadmap_id: int
    person_id: int
    token: str
    revision: int = 0


@dataclass
class World:
    database_url: str
    instance_path: Path
    load_groups: list[dict] = field(default_factory=list)  # loadgen plan entries
    micro_maps: list[MicroMap] = field(default_factory=list)  # ascending by steps

    @property
    def largest(self) -> MicroMap:
        return self.micro_maps[-1]


def _step_fields(rng_index: int, member_ids: list[int], stakeholder_ids: list[str]) -> dict:
    """A step as people fill it in: a title, some text, a date, a status and often an owner."""
    owners = [None, {"text": "управа района"}]
    owners += [{"member": person_id} for person_id in member_ids[:2]]
    owners += [{"stakeholder": stakeholder_id} for stakeholder_id in stakeholder_ids[:1]]
    return {
        "title": f"Шаг {rng_index}: встреча с жителями",
        "description": "Договориться с управляющей компанией о площадке. " * (1 + rng_index % 3),
        "due_on": f"2027-05-{1 + rng_index % 28:02d}",
        "status": STATUSES[rng_index % len(STATUSES)],
        "owner": owners[rng_index % len(owners)],
    }


def _op(roadmap_id: int, op_type: str, **keys) -> dict:
    return {"op_id": uuid.uuid4().hex, "roadmap_id": roadmap_id, "type": op_type, **keys}


def _fill_map(
    roadmap_id: int, author: Person, member_ids: list[int], steps: int, stakeholders: int = 0, link_every: int = 0
) -> list[str]:
    stakeholder_ids = []
    for index in range(stakeholders):
        stakeholder_id = uuid.uuid4().hex
        editing.apply(
            _op(
                roadmap_id,
                "stakeholder.add",
                stakeholder_id=stakeholder_id,
                fields={"name": f"Партнёр {index}", "sector": "ngo"},
            ),
            actor=author,
        )
        stakeholder_ids.append(stakeholder_id)
    step_ids = []
    for index in range(steps):
        step_id = uuid.uuid4().hex
        editing.apply(
            _op(roadmap_id, "step.add", step_id=step_id, fields=_step_fields(index, member_ids, stakeholder_ids)),
            actor=author,
        )
        step_ids.append(step_id)
        if link_every and stakeholder_ids and index % link_every == 0:
            editing.apply(
                _op(
                    roadmap_id,
                    "step.link",
                    step_id=step_id,
                    stakeholder_id=stakeholder_ids[index % len(stakeholder_ids)],
                ),
                actor=author,
            )
    return step_ids


def build(
    folder: Path,
    groups: int,
    clients_per_group: int,
    steps_per_map: int,
    micro_sizes: tuple[int, ...],
    missed_ops: int,
    postgres_url: str | None = None,
) -> World:
    """Create the database (a SQLite file in `folder`, or a fresh PostgreSQL database) and
    everything the benchmark needs in it."""
    database_url = (
        create_fresh_postgres_database(postgres_url, f"roadmap_bench_{os.getpid()}")
        if postgres_url
        else f"sqlite:///{folder / 'bench.sqlite3'}"
    )
    world = World(database_url, folder / "instance")
    app = bench_app(world.database_url, world.instance_path)
    with app.app_context():
        upgrade()
        with writing():
            moderator = Person(email="bench@example.org", display_name="Bench Moderator", is_moderator=True)
            db.session.add(moderator)
        training = trainings.create_training(
            moderator, "Benchmark", "Вологда", "Библиотека", date(2027, 4, 22), date(2027, 4, 24)
        )
        for group_number in range(groups):
            group = trainings.create_group(training, f"Группа {group_number + 1}", "waste_sorting")
            members = [
                trainings.join_group(training, group.id, f"Участник {group_number}-{index}", None)
                for index in range(clients_per_group)
            ]
            member_ids = [member.id for member in members]
            step_ids = _fill_map(group.roadmap.id, members[0], member_ids, steps_per_map)
            world.load_groups.append(
                {
                    "roadmap_id": group.roadmap.id,
                    "tokens": [accounts.issue_token(member) for member in members],
                    "member_ids": member_ids,
                    "step_ids": step_ids,
                }
            )
        for steps in micro_sizes:
            group = trainings.create_group(training, f"Карта на {steps} шагов", "landscaping")
            members = [
                trainings.join_group(training, group.id, f"Читатель {steps}-{index}", None) for index in range(3)
            ]
            member_ids = [member.id for member in members]
            step_ids = _fill_map(group.roadmap.id, members[0], member_ids, steps, stakeholders=5, link_every=3)
            world.micro_maps.append(
                MicroMap(
                    steps,
                    group.roadmap.id,
                    members[0].id,
                    accounts.issue_token(members[0]),
                )
            )
        # The largest map also has a history to catch up on: ops a client missed.
        largest = world.micro_maps[-1]
        author = db.session.get(Person, largest.person_id)
        for index in range(missed_ops):
            step_id = step_ids[index % len(step_ids)]
            if index % 2:
                op = _op(
                    largest.roadmap_id,
                    "step.set",
                    step_id=step_id,
                    field="status",
                    value=STATUSES[index % len(STATUSES)],
                )
            else:
                op = _op(
                    largest.roadmap_id,
                    "step.set",
                    step_id=step_id,
                    field="title",
                    value=f"Шаг {index}: встреча с жителями",
                )
            editing.apply(op, actor=author)
        for micro in world.micro_maps:
            micro.revision = db.session.get(Roadmap, micro.roadmap_id).revision
        db.session.remove()
        db.engine.dispose()
    return world
