"""Step order under many moves into one gap: keys grow, nothing breaks."""

import uuid

import pytest

from roadmap.extensions import db
from roadmap.models import Roadmap
from roadmap.services import editing, snapshots

MOVES = 500


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_hundreds_of_alternating_moves_into_one_gap_keep_a_consistent_order(world):
    group = world.group()
    member = world.member(group)
    roadmap_id = group.roadmap.id
    step_ids = [uuid.uuid4().hex for _ in range(3)]

    def apply(**op):
        return editing.apply({"op_id": uuid.uuid4().hex, "roadmap_id": roadmap_id, **op}, actor=member)

    for step_id in step_ids:
        apply(type="step.add", step_id=step_id)
    first, second, third = step_ids
    for number in range(MOVES):
        apply(type="step.move", step_id=second if number % 2 else third, after_id=first)

    steps = snapshots.snapshot(db.session.get(Roadmap, roadmap_id))["steps"]
    assert [step["id"] for step in steps] == [first, second, third]  # the last move put `second` after `first`
    assert len(steps[1]["position"]) > 64
