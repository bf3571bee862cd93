"""Rebuild a road map from its change log, as plain data.

The log holds ops as the server applied them (merged text, computed
positions, restored items whole), so replaying them from revision 0 gives the
same map as snapshots.snapshot(), minus the members, which are not revisioned.

A replay may start from a map kept at an earlier revision (a checkpoint) instead
of from revision 0, and it hands back copies of the map at each multiple of
CHECKPOINT_EVERY it reaches, to be kept as checkpoints.
"""

from __future__ import annotations

import copy

from roadmap.domain.operations import STEP_DEFAULTS


def empty_map(roadmap_id: int, theme: str = "other") -> dict:
    return {
        "id": roadmap_id,
        "revision": 0,
        "title": "",
        "problem": "",
        "goal": "",
        "territory": "",
        "theme": theme,
        "expected_results": "",
        "locked": False,
        "steps": [],
        "stakeholders": [],
        "comment_counts": {},
    }


# Raise this whenever a change here gives another map for some log: checkpoints
# kept by an older version are then ignored and rewritten (models/changelog.Checkpoint).
# 2: steps carry depends_on. 3: maps carry comment_counts.
REPLAY_VERSION = 3
# Replaying ~100 changes takes about 2 ms; a checkpoint of a 30-step map is ~20 kB.
CHECKPOINT_EVERY = 100


# What a step holds besides its fields, for steps stored before it held them.
STEP_LISTS = {"stakeholder_ids": [], "depends_on": []}


def _with_defaults(step: dict) -> dict:
    return {**STEP_DEFAULTS, **copy.deepcopy(STEP_LISTS), **copy.deepcopy(step)}


def from_snapshot(snapshot: dict) -> dict:
    """A stored snapshot (a baseline) as a replay's start: steps get the fields added since it was taken."""
    start = {"comment_counts": {}, **{name: value for name, value in snapshot.items() if name != "members"}}
    start["steps"] = [_with_defaults(step) for step in snapshot["steps"]]
    return start


def replay(map_data: dict, changes: list[dict]) -> dict:
    """Apply changes (wire form: revision + op) in order to a copy of map_data."""
    return replay_keeping_checkpoints(map_data, changes)[0]


def replay_keeping_checkpoints(map_data: dict, changes: list[dict]) -> tuple[dict, list[dict]]:
    """replay(), and a copy of the map at each multiple of CHECKPOINT_EVERY it passed."""
    rebuilt = copy.deepcopy(map_data)
    passed = []
    for change in changes:
        if change["revision"] != rebuilt["revision"] + 1:
            raise ValueError(f"revision {change['revision']} does not follow {rebuilt['revision']}")
        apply_applied_op(rebuilt, change["op"])
        rebuilt["revision"] = change["revision"]
        if rebuilt["revision"] % CHECKPOINT_EVERY == 0:
            passed.append(copy.deepcopy(rebuilt))
    return rebuilt, passed


def _step(map_data: dict, step_id: str) -> dict | None:
    return next((step for step in map_data["steps"] if step["id"] == step_id), None)


def _stakeholder(map_data: dict, stakeholder_id: str) -> dict | None:
    return next((item for item in map_data["stakeholders"] if item["id"] == stakeholder_id), None)


def _sort(map_data: dict) -> None:
    map_data["steps"].sort(key=lambda step: (step["position"], step["id"]))
    map_data["stakeholders"].sort(key=lambda item: (item["created_at"], item["id"]))


def _without(items: list[dict], item_id: str) -> list[dict]:
    return [item for item in items if item["id"] != item_id]


def apply_applied_op(map_data: dict, op: dict) -> None:
    """Apply one logged op in place."""
    kind = op["type"]
    if kind == "map.set":
        map_data[op["field"]] = op["value"]
    elif kind == "map.lock":
        map_data["locked"] = op["locked"]
    elif kind == "map.restore":
        map_data.update(copy.deepcopy(op["map"]))
        map_data["steps"] = [_with_defaults(step) for step in map_data["steps"]]
    elif kind == "step.add":
        # Defaults first: a log written before a field existed (progress) does not carry it.
        map_data["steps"].append(
            {
                "id": op["step_id"],
                "position": op["position"],
                **STEP_DEFAULTS,
                **op["fields"],
                "stakeholder_ids": [],
                "depends_on": [],
            }
        )
    elif kind in ("step.set", "step.move"):
        step = _step(map_data, op["step_id"])
        if kind == "step.set":
            step[op["field"]] = op["value"]
        else:
            step["position"] = op["position"]
    elif kind == "step.delete":
        map_data["steps"] = _without(map_data["steps"], op["step_id"])
        for step in map_data["steps"]:
            step["depends_on"] = [sid for sid in step["depends_on"] if sid != op["step_id"]]
    elif kind == "step.restore":
        map_data["steps"].append(_with_defaults(op["step"]))
        for step in map_data["steps"]:
            if step["id"] in op.get("dependent_ids", ()):
                step["depends_on"] = sorted({*step["depends_on"], op["step_id"]})
    elif kind in ("step.depend", "step.undepend"):
        step = _step(map_data, op["step_id"])
        predecessors = set(step["depends_on"])
        (predecessors.add if kind == "step.depend" else predecessors.discard)(op["predecessor_id"])
        step["depends_on"] = sorted(predecessors)
    elif kind in ("step.link", "step.unlink"):
        step = _step(map_data, op["step_id"])
        linked = set(step["stakeholder_ids"])
        (linked.add if kind == "step.link" else linked.discard)(op["stakeholder_id"])
        step["stakeholder_ids"] = sorted(linked)
    elif kind == "stakeholder.add":
        map_data["stakeholders"].append({"id": op["stakeholder_id"], **op["fields"], "created_at": op["created_at"]})
    elif kind == "stakeholder.set":
        _stakeholder(map_data, op["stakeholder_id"])[op["field"]] = op["value"]
    elif kind == "stakeholder.delete":
        map_data["stakeholders"] = _without(map_data["stakeholders"], op["stakeholder_id"])
        for step in map_data["steps"]:
            step["stakeholder_ids"] = [sid for sid in step["stakeholder_ids"] if sid != op["stakeholder_id"]]
    elif kind == "stakeholder.restore":
        map_data["stakeholders"].append(copy.deepcopy(op["stakeholder"]))
        for step in map_data["steps"]:
            if step["id"] in op["step_ids"]:
                step["stakeholder_ids"] = sorted({*step["stakeholder_ids"], op["stakeholder_id"]})
    elif kind.startswith("comment."):
        _count_comments(map_data, op)
    else:
        raise ValueError(f"unknown op type {kind!r}")
    _sort(map_data)


def _count_comments(map_data: dict, op: dict) -> None:
    """A step's number of visible comments, kept by the op's count_change (comments are not map data)."""
    counts = map_data.setdefault("comment_counts", {})
    count = counts.get(op["step_id"], 0) + op["count_change"]
    if count:
        counts[op["step_id"]] = count
    else:
        counts.pop(op["step_id"], None)


def replay_comments(changes: list[dict]) -> list[dict]:
    """Every comment the logged changes made, in the order they were added, as comments.comment_data
    gives them: the log alone rebuilds the discussion, as it does the map."""
    comments: dict[str, dict] = {}
    for change in changes:
        op = change["op"]
        kind = op["type"]
        if kind == "comment.add":
            comments[op["comment_id"]] = {
                "id": op["comment_id"],
                "step_id": op["step_id"],
                "parent_id": op["parent_id"],
                "author_id": op["author_id"],
                "body": op["body"],
                "mentions": op["mentions"],
                "created_at": op["created_at"],
                "edited_at": None,
                "deleted": False,
                "hidden": False,
            }
        elif kind == "comment.edit":
            comments[op["comment_id"]].update(body=op["body"], mentions=op["mentions"], edited_at=op["edited_at"])
        elif kind == "comment.delete":
            comments[op["comment_id"]]["deleted"] = True
        elif kind == "comment.hide":
            comments[op["comment_id"]]["hidden"] = op["hidden"]
    return list(comments.values())
