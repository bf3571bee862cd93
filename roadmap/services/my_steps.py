"""«Мои шаги»: every step a person owns across their maps, overdue first, and marking one done."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from roadmap.domain.progress import is_overdue
from roadmap.extensions import db
from roadmap.models import Group, Membership, Person, Roadmap, Step, Training
from roadmap.services import editing
from roadmap.timeutil import local_today


@dataclass(frozen=True)
class MyStep:
    step_id: str
    roadmap_id: int
    map_title: str
    title: str
    due_on: date | None
    status: str
    overdue: bool

    @property
    def done(self) -> bool:
        return self.status == "done"


def my_steps(person: Person) -> list[MyStep]:
    """The person's steps in the maps of groups they are still in (archived groups and deleted
    steps aside): overdue first, then by due date, then undated, done ones last.

    Overdue means due before today where the step's training is."""
    rows = db.session.execute(
        select(Step, Roadmap.title, Group.name, Training.timezone)
        .join(Roadmap, Roadmap.id == Step.roadmap_id)
        .join(Group, Group.id == Roadmap.group_id)
        .join(Training, Training.id == Group.training_id)
        .join(Membership, (Membership.group_id == Group.id) & (Membership.person_id == person.id))
        .where(Step.owner_member_id == person.id, Step.deleted_at.is_(None), Group.archived.is_(False))
    ).all()
    todays: dict[str, date] = {}
    steps = []
    for step, map_title, group_name, zone_name in rows:
        today = todays.setdefault(zone_name, local_today(zone_name))
        overdue = is_overdue(step.status, step.due_on, today)
        steps.append(
            (
                step.position,
                MyStep(
                    step.id, step.roadmap_id, map_title or group_name, step.title, step.due_on, step.status, overdue
                ),
            )
        )
    steps.sort(
        key=lambda item: (
            item[1].done,
            not item[1].overdue,
            item[1].due_on is None,
            item[1].due_on or date.max,
            item[1].map_title,
            item[1].roadmap_id,
            item[0],
        )
    )
    return [step for _position, step in steps]


def mark_done(person: Person, roadmap_id: int, step_id: str) -> editing.Applied:
    """«Готово»: the same step.set the editor sends, through the one writer. Raises EditRejected."""
    return editing.apply(
        {
            "op_id": uuid.uuid4().hex,
            "roadmap_id": roadmap_id,
            "type": "step.set",
            "step_id": step_id,
            "field": "status",
            "value": "done",
        },
        actor=person,
    )
