"""The map at a past revision from checkpoints of the log's replay: equal, at every revision,
to the replay from revision 0 and, at the head, to the live map; a restore from a checkpoint
brings back what a restore from revision 0 would."""

from __future__ import annotations

import random

import pytest
from conftest import new_id
from sqlalchemy import func, select, update

from roadmap.domain.errors import EditRejected
from roadmap.domain.replay import CHECKPOINT_EVERY, REPLAY_VERSION, empty_map, replay
from roadmap.extensions import db
from roadmap.models import Checkpoint, Roadmap
from roadmap.services import baselines, editing, history, snapshots
from roadmap.services.transactions import writing

BOTH_DATABASES = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
STATUSES = ("planned", "in_progress", "done", "blocked")


def random_edits(rng: random.Random, people: list, group, count: int) -> None:
    """`count` random edits by the people, of every kind a group makes (refused ones are skipped)."""
    roadmap_id = group.roadmap.id
    deleted = []
    for _ in range(count):
        live = snapshots.snapshot(db.session.get(Roadmap, roadmap_id), with_members=False)
        step_ids = [step["id"] for step in live["steps"]]
        stakeholder_ids = [item["id"] for item in live["stakeholders"]]
        choice = rng.random()
        if choice < 0.2 or not step_ids:
            keys = {
                "type": "step.add",
                "step_id": new_id(),
                "fields": {"title": f"Шаг {rng.randrange(100)}"},
                "after_id": rng.choice([None, *step_ids]),
            }
        elif choice < 0.45:
            keys = {
                "type": "step.set",
                "step_id": rng.choice(step_ids),
                "field": "status",
                "value": rng.choice(STATUSES),
            }
        elif choice < 0.6:
            keys = {
                "type": "step.set",
                "step_id": rng.choice(step_ids),
                "field": "title",
                "value": f"Шаг {rng.randrange(1000)}",
            }
        elif choice < 0.67:
            keys = {"type": "step.move", "step_id": rng.choice(step_ids), "after_id": rng.choice([None, *step_ids])}
        elif choice < 0.72:
            keys = {"type": "step.delete", "step_id": rng.choice(step_ids)}
            deleted.append(keys["step_id"])
        elif choice < 0.79:
            keys = {"type": "step.depend", "step_id": rng.choice(step_ids), "predecessor_id": rng.choice(step_ids)}
        elif choice < 0.81:
            waiting = [(step["id"], predecessor) for step in live["steps"] for predecessor in step["depends_on"]]
            step_id, predecessor_id = rng.choice(waiting or [(step_ids[0], step_ids[0])])
            keys = {"type": "step.undepend", "step_id": step_id, "predecessor_id": predecessor_id}
        elif choice < 0.84 and deleted:
            keys = {"type": "step.restore", "step_id": rng.choice(deleted)}
        elif choice < 0.87:
            keys = {"type": "stakeholder.add", "stakeholder_id": new_id(), "fields": {"name": "Жители"}}
        elif choice < 0.92 and stakeholder_ids:
            keys = {"type": "step.link", "step_id": rng.choice(step_ids), "stakeholder_id": rng.choice(stakeholder_ids)}
        elif choice < 0.94 and stakeholder_ids:
            keys = {"type": "stakeholder.delete", "stakeholder_id": rng.choice(stakeholder_ids)}
        elif choice < 0.97 and live["revision"] > 2:
            keys = {"type": "map.restore", "revision": rng.randrange(live["revision"] - 1)}
        else:
            keys = {"type": "map.set", "field": "goal", "value": f"Цель {rng.randrange(1000)}"}
        try:
            editing.apply({"op_id": new_id(), "roadmap_id": roadmap_id, **keys}, actor=rng.choice(people))
        except EditRejected:
            pass


def replayed_from_zero(group, revision: int) -> dict:
    return replay(empty_map(group.roadmap.id, group.theme), history.changes_up_to(group.roadmap.id, revision))


def live_map(group) -> dict:
    db.session.expire_all()
    return snapshots.snapshot(db.session.get(Roadmap, group.roadmap.id), with_members=False)


@BOTH_DATABASES
@pytest.mark.parametrize("seed", [1, 2])
def test_the_map_at_every_revision_from_checkpoints_equals_the_replay_from_zero_and_the_live_map(
    seed, training, group, marina, oleg
):
    rng = random.Random(seed)
    random_edits(rng, [marina, oleg], group, 2 * CHECKPOINT_EVERY + 37)
    roadmap = db.session.get(Roadmap, group.roadmap.id)
    head = roadmap.revision

    # In an order that writes checkpoints and then starts from them: the head first, then every revision.
    assert history.map_at(roadmap, head) == live_map(group)
    for revision in [*range(head, -1, -1)]:
        assert history.map_at(roadmap, revision) == replayed_from_zero(group, revision), revision
    kept = db.session.scalars(select(Checkpoint.revision).where(Checkpoint.roadmap_id == roadmap.id)).all()
    assert sorted(kept) == list(range(CHECKPOINT_EVERY, head + 1, CHECKPOINT_EVERY))


@BOTH_DATABASES
def test_a_baseline_is_a_start_for_later_revisions(training, group, marina, oleg):
    rng = random.Random(3)
    random_edits(rng, [marina, oleg], group, 30)
    baselines.end_training(training)
    random_edits(rng, [marina, oleg], group, 20)
    roadmap = db.session.get(Roadmap, group.roadmap.id)

    for revision in range(roadmap.revision + 1):
        assert history.map_at(roadmap, revision) == replayed_from_zero(group, revision), revision
    assert history.map_at(roadmap, roadmap.revision) == live_map(group)


def test_a_checkpoint_of_another_replay_version_is_ignored_and_rewritten(training, group, marina, oleg):
    random_edits(random.Random(4), [marina, oleg], group, CHECKPOINT_EVERY + 5)
    roadmap = db.session.get(Roadmap, group.roadmap.id)
    history.map_at(roadmap, CHECKPOINT_EVERY + 1)
    with writing():
        db.session.execute(update(Checkpoint).values(replay_version=REPLAY_VERSION - 1, data={"not": "a map"}))

    assert history.map_at(roadmap, CHECKPOINT_EVERY + 1) == replayed_from_zero(group, CHECKPOINT_EVERY + 1)
    rewritten = db.session.scalars(select(Checkpoint).where(Checkpoint.roadmap_id == roadmap.id)).one()
    assert rewritten.replay_version == REPLAY_VERSION
    assert rewritten.data == replayed_from_zero(group, CHECKPOINT_EVERY)


@BOTH_DATABASES
def test_a_restore_from_a_checkpoint_brings_back_the_map_the_replay_from_zero_gives(training, group, marina, oleg):
    random_edits(random.Random(5), [marina, oleg], group, 2 * CHECKPOINT_EVERY + 20)
    past = 2 * CHECKPOINT_EVERY + 3
    wanted = replayed_from_zero(group, past)

    editing.apply(
        {"op_id": new_id(), "roadmap_id": group.roadmap.id, "type": "map.restore", "revision": past}, actor=marina
    )

    checkpoints = db.session.scalar(
        select(func.count()).select_from(Checkpoint).where(Checkpoint.roadmap_id == group.roadmap.id)
    )
    assert checkpoints == 2
    restored = live_map(group)
    assert {**restored, "revision": past} == wanted
    assert replayed_from_zero(group, restored["revision"]) == restored
