"""One op's effect on a map, defined once as test vectors (tests/op_vectors/README.md) and held by
all three places that apply ops: the server (editing.apply, read back as a snapshot), the replay
of its change log (roadmap/domain/replay.py) and the browser (static/js/ops.js, in Node:
tests/js/ops.test.mjs, run from here too)."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from roadmap.domain.operations import (
    MAP_FIELDS,
    OP_TYPES,
    STAKEHOLDER_DEFAULTS,
    STAKEHOLDER_FIELDS,
    STEP_DEFAULTS,
    STEP_FIELDS,
    browser_field_schema,
)
from roadmap.domain.replay import empty_map, replay
from roadmap.extensions import db
from roadmap.models import Roadmap
from roadmap.services import editing, history, snapshots

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VECTOR_FOLDER = PROJECT_ROOT / "tests" / "op_vectors"
EMPTY_MAP = json.loads((VECTOR_FOLDER / "empty_map.json").read_text())
# Values the server makes that no vector can know: compared by the order they give, not as written.
SERVER_MADE_KEYS = {"created_at", "edited_at", "author_id"}
# The map's own keys that are not map data: not in the vectors, not compared.
NOT_MAP_DATA = {"id", "revision", "members"}
# The vectors' folder also holds the new map they start from and the field schema the browser gets.
NOT_VECTOR_FILES = {"empty_map.json", "field_schema.json"}


def _vectors() -> dict[str, dict]:
    """Every vector, by its file and name."""
    return {
        f"{path.stem}: {vector['name']}": vector
        for path in sorted(VECTOR_FOLDER.glob("*.json"))
        if path.name not in NOT_VECTOR_FILES
        for vector in json.loads(path.read_text())
    }


VECTORS = _vectors()


def complete_step(step: dict) -> dict:
    return {**STEP_DEFAULTS, "stakeholder_ids": [], "depends_on": [], **step}


def complete_stakeholder(stakeholder: dict) -> dict:
    return {**STAKEHOLDER_DEFAULTS, **stakeholder}


def complete_map(vector_map: dict) -> dict:
    """A vector's map with what it leaves out at its default, as the server holds it."""
    full = {**copy.deepcopy(EMPTY_MAP), **copy.deepcopy(vector_map)}
    full["steps"] = [complete_step(step) for step in full["steps"]]
    full["stakeholders"] = [complete_stakeholder(item) for item in full["stakeholders"]]
    return full


def complete_applied(op: dict) -> dict:
    """A vector's applied op with what it leaves out of the items it carries at its default."""
    full = copy.deepcopy(op)
    if op["type"] == "step.add":
        full["fields"] = {**STEP_DEFAULTS, **op["fields"]}
    elif op["type"] == "stakeholder.add":
        full["fields"] = {**STAKEHOLDER_DEFAULTS, **op["fields"]}
    elif op["type"] == "step.restore":
        full["step"] = complete_step(op["step"])
    elif op["type"] == "stakeholder.restore":
        full["stakeholder"] = complete_stakeholder(op["stakeholder"])
    elif op["type"] == "map.restore":
        full["map"]["steps"] = [complete_step(step) for step in op["map"]["steps"]]
        full["map"]["stakeholders"] = [complete_stakeholder(item) for item in op["map"]["stakeholders"]]
    return full


def without_server_made(value):
    if isinstance(value, dict):
        return {key: without_server_made(item) for key, item in value.items() if key not in SERVER_MADE_KEYS}
    if isinstance(value, list):
        return [without_server_made(item) for item in value]
    return value


def comparable_map(map_data: dict) -> dict:
    return without_server_made({key: value for key, value in map_data.items() if key not in NOT_MAP_DATA})


def setup_of(vector: dict) -> list[dict]:
    """The ops that make the vector's map_before: its own `setup`, or ones read off map_before."""
    if "setup" in vector:
        return vector["setup"]
    before = complete_map(vector["map_before"])
    ops = [
        {"type": "map.set", "field": name, "value": before[name]}
        for name in MAP_FIELDS
        if before[name] != EMPTY_MAP[name]
    ]
    ops += [
        {
            "type": "stakeholder.add",
            "stakeholder_id": item["id"],
            "fields": {name: item[name] for name in STAKEHOLDER_FIELDS},
        }
        for item in before["stakeholders"]
    ]
    ops += [
        {"type": "step.add", "step_id": step["id"], "fields": {name: step[name] for name in STEP_FIELDS}}
        for step in before["steps"]
    ]
    for step in before["steps"]:
        ops += [
            {"type": "step.link", "step_id": step["id"], "stakeholder_id": stakeholder_id}
            for stakeholder_id in step["stakeholder_ids"]
        ]
        ops += [
            {"type": "step.depend", "step_id": step["id"], "predecessor_id": predecessor_id}
            for predecessor_id in step["depends_on"]
        ]
    for step_id, count in before["comment_counts"].items():
        ops += [
            {
                "type": "comment.add",
                "comment_id": f"comment-{number}-{step_id}",
                "step_id": step_id,
                "body": "Кто договорится с управой?",
            }
            for number in range(count)
        ]
    if before["locked"]:
        ops.append({"type": "map.lock", "locked": True})
    return [{"op": op} for op in ops]


class MapUnderTest:
    """A fresh map on the real database, edited by its training's moderator (who may also lock it
    and hide comments) through editing.apply."""

    def __init__(self, world, moderator):
        self.actor = moderator
        self.roadmap_id = world.group(world.training(moderator), theme="other").roadmap.id
        self.sent = 0

    def apply(self, op: dict) -> dict:
        self.sent += 1
        payload = {**op, "op_id": f"vector-op-{self.sent}", "roadmap_id": self.roadmap_id}
        return editing.apply(payload, actor=self.actor).change["op"]

    def snapshot(self) -> dict:
        return snapshots.snapshot(db.session.get(Roadmap, self.roadmap_id), with_members=False)

    def replayed(self) -> dict:
        roadmap = db.session.get(Roadmap, self.roadmap_id)
        return replay(empty_map(roadmap.id, "other"), history.changes_up_to(roadmap.id, roadmap.revision))


def empty_the_database() -> None:
    """Step, stakeholder and comment ids are unique in the whole database, and vectors share theirs."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


# One app for all vectors, the database emptied before each: making an app per vector took most of the time.
@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_server_and_its_replayed_log_turn_each_map_before_into_its_map_after(world, subtests):
    for name, vector in VECTORS.items():
        with subtests.test(name):
            empty_the_database()
            _check_on_the_server(vector, MapUnderTest(world, world.moderator()))


def _check_on_the_server(vector: dict, roadmap: MapUnderTest) -> None:
    for earlier in setup_of(vector):
        applied = roadmap.apply(earlier["op"])
        if "applied" in earlier:
            assert without_server_made(applied) == without_server_made(complete_applied(earlier["applied"]))
    assert comparable_map(roadmap.snapshot()) == comparable_map(complete_map(vector["map_before"]))

    applied = roadmap.apply(vector["op"])

    assert without_server_made(applied) == without_server_made(complete_applied(vector["applied"]))
    expected = comparable_map(complete_map(vector["map_after"]))
    assert comparable_map(roadmap.snapshot()) == expected
    assert comparable_map(roadmap.replayed()) == expected


def test_the_vectors_empty_map_is_a_new_map_of_the_server_and_of_the_replay(world, moderator):
    roadmap = MapUnderTest(world, moderator)
    assert comparable_map(roadmap.snapshot()) == EMPTY_MAP
    assert comparable_map(empty_map(roadmap.roadmap_id, "other")) == EMPTY_MAP


def test_every_op_type_has_a_vector():
    covered = {vector["op"]["type"] for vector in VECTORS.values()}
    assert covered == set(OP_TYPES)


def test_the_field_schema_the_node_tests_give_ops_js_is_the_one_the_editor_page_gives():
    stored = json.loads((VECTOR_FOLDER / "field_schema.json").read_text(encoding="utf-8"))

    assert stored == json.loads(json.dumps(browser_field_schema())), (
        "refresh tests/op_vectors/field_schema.json from operations.browser_field_schema()"
    )


def test_the_browsers_ops_pass_the_same_vectors_in_node():
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node is not installed (make install-test installs the browser libraries with it)")
    # The files by name: Node 20 searches a folder given to --test, later versions take globs instead.
    test_files = sorted(
        str(path.relative_to(PROJECT_ROOT)) for path in (PROJECT_ROOT / "tests" / "js").glob("*.test.mjs")
    )
    completed = subprocess.run(
        [node, "--test", *test_files], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
