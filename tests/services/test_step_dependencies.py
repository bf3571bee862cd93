"""Finish-to-start dependencies between steps through the one writer: step.depend and
step.undepend, cycles refused, deleted steps' arrows hidden and brought back, the log
replaying to the same map, on SQLite and PostgreSQL."""

import pytest
from conftest import new_id

from roadmap.domain.errors import EditRejected
from roadmap.domain.replay import empty_map, replay
from roadmap.extensions import db
from roadmap.models import Roadmap
from roadmap.services import editing, history
from roadmap.services.snapshots import snapshot

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def plan(world, training):
    """A group's map with three steps: a site to agree, containers to place, a party to hold."""
    group = world.group(training)
    member = world.member(group)
    steps = {}
    for key, title in (
        ("site", "Согласовать площадку"),
        ("containers", "Поставить контейнеры"),
        ("party", "Провести праздник двора"),
    ):
        steps[key] = new_id()
        edit(member, group.roadmap, "step.add", step_id=steps[key], fields={"title": title})
    return group.roadmap, member, steps


def edit(actor, roadmap, op_type, **keys):
    return editing.apply({"op_id": new_id(), "roadmap_id": roadmap.id, "type": op_type, **keys}, actor=actor)


def refusal(actor, roadmap, op_type, **keys) -> EditRejected:
    with pytest.raises(EditRejected) as rejection:
        edit(actor, roadmap, op_type, **keys)
    return rejection.value


def predecessors(roadmap) -> dict[str, list[str]]:
    db.session.expire_all()
    return {step["id"]: step["depends_on"] for step in snapshot(db.session.get(Roadmap, roadmap.id))["steps"]}


def replayed(roadmap) -> dict:
    changes = history.changes_up_to(roadmap.id, db.session.get(Roadmap, roadmap.id).revision)
    return replay(empty_map(roadmap.id, roadmap.group.theme), changes)


def test_a_step_waits_for_another_and_stops_waiting(plan):
    roadmap, member, steps = plan

    applied = edit(member, roadmap, "step.depend", step_id=steps["containers"], predecessor_id=steps["site"])
    assert applied.change["op"] == {
        "type": "step.depend",
        "step_id": steps["containers"],
        "predecessor_id": steps["site"],
    }
    assert predecessors(roadmap)[steps["containers"]] == [steps["site"]]

    edit(member, roadmap, "step.depend", step_id=steps["containers"], predecessor_id=steps["site"])  # again: no-op
    assert predecessors(roadmap)[steps["containers"]] == [steps["site"]]

    edit(member, roadmap, "step.undepend", step_id=steps["containers"], predecessor_id=steps["site"])
    assert predecessors(roadmap)[steps["containers"]] == []


def test_a_dependency_that_closes_a_circle_is_refused_and_names_the_circle(plan):
    roadmap, member, steps = plan
    edit(member, roadmap, "step.depend", step_id=steps["containers"], predecessor_id=steps["site"])
    edit(member, roadmap, "step.depend", step_id=steps["party"], predecessor_id=steps["containers"])
    revision = db.session.get(Roadmap, roadmap.id).revision

    refused = refusal(member, roadmap, "step.depend", step_id=steps["site"], predecessor_id=steps["party"])
    assert refused.code == "dependency_cycle"
    assert refused.extra["cycle"] == [steps["site"], steps["party"], steps["containers"], steps["site"]]
    assert (
        refusal(member, roadmap, "step.depend", step_id=steps["site"], predecessor_id=steps["site"]).code
        == "dependency_cycle"
    )
    db.session.expire_all()
    assert db.session.get(Roadmap, roadmap.id).revision == revision  # nothing was logged
    assert predecessors(roadmap)[steps["site"]] == []


def test_a_deleted_predecessor_hides_its_arrow_and_its_restore_brings_it_back(plan):
    roadmap, member, steps = plan
    edit(member, roadmap, "step.depend", step_id=steps["containers"], predecessor_id=steps["site"])
    edit(member, roadmap, "step.depend", step_id=steps["site"], predecessor_id=steps["party"])

    edit(member, roadmap, "step.delete", step_id=steps["site"])
    assert predecessors(roadmap)[steps["containers"]] == []
    assert (
        refusal(member, roadmap, "step.depend", step_id=steps["party"], predecessor_id=steps["site"]).code
        == "step_deleted"
    )

    restored = edit(member, roadmap, "step.restore", step_id=steps["site"]).change["op"]
    assert restored["step"]["depends_on"] == [steps["party"]]
    assert restored["dependent_ids"] == [steps["containers"]]
    assert predecessors(roadmap)[steps["containers"]] == [steps["site"]]
    assert replayed(roadmap) == {key: value for key, value in snapshot(roadmap).items() if key != "members"}


def test_restoring_a_step_drops_an_arrow_that_would_now_close_a_circle(plan):
    roadmap, member, steps = plan
    # containers waits for site, site waits for party; while site is gone, party comes to wait for containers.
    edit(member, roadmap, "step.depend", step_id=steps["containers"], predecessor_id=steps["site"])
    edit(member, roadmap, "step.depend", step_id=steps["site"], predecessor_id=steps["party"])
    edit(member, roadmap, "step.delete", step_id=steps["site"])
    edit(member, roadmap, "step.depend", step_id=steps["party"], predecessor_id=steps["containers"])

    restored = edit(member, roadmap, "step.restore", step_id=steps["site"]).change["op"]

    assert restored["step"]["depends_on"] == [steps["party"]]
    assert restored["dependent_ids"] == []  # containers → site → party → containers would be a circle
    assert predecessors(roadmap) == {
        steps["site"]: [steps["party"]],
        steps["containers"]: [],
        steps["party"]: [steps["containers"]],
    }
    assert replayed(roadmap) == {key: value for key, value in snapshot(roadmap).items() if key != "members"}


def test_another_maps_step_cannot_be_a_predecessor(plan, world, training):
    roadmap, member, steps = plan
    other_group = world.group(training, name="Сквер")
    other_step = new_id()
    edit(world.member(other_group, name="Олег"), other_group.roadmap, "step.add", step_id=other_step)

    assert (
        refusal(member, roadmap, "step.depend", step_id=steps["site"], predecessor_id=other_step).code
        == "step_not_found"
    )


def test_restoring_a_past_revision_brings_its_dependencies_back(plan):
    roadmap, member, steps = plan
    edit(member, roadmap, "step.depend", step_id=steps["containers"], predecessor_id=steps["site"])
    revision = db.session.get(Roadmap, roadmap.id).revision
    edit(member, roadmap, "step.undepend", step_id=steps["containers"], predecessor_id=steps["site"])
    edit(member, roadmap, "step.depend", step_id=steps["site"], predecessor_id=steps["containers"])
    edit(member, roadmap, "step.set", step_id=steps["party"], field="title", value="Субботник")

    edit(member, roadmap, "map.restore", revision=revision)

    assert predecessors(roadmap) == {steps["site"]: [], steps["containers"]: [steps["site"]], steps["party"]: []}
    assert replayed(roadmap) == {key: value for key, value in snapshot(roadmap).items() if key != "members"}
