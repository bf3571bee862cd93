"""Rebuild a road map from its change log, as plain data.

The log holds ops as the server applied them (merged text, computed
positions, restored items whole), so replaying them from revision 0 gives the
same map as snapshots.snapshot(), minus the members, which are not revisioned.
"""
from __future__ import annotations

import copy

from roadmap.domain.operations import STEP_DEFAULTS


def empty_map(roadmap_id: int, theme: str = "other") -> dict:
    return {
        "id": roadmap_id, "revision": 0, "title": "", "problem": "", "goal": "", "territory": "",
        "theme": theme, "expected_results": "", "locked": False, "steps": [], "stakeholders": [],
    }


def replay(map_data: dict, changes: list[dict]) -> dict:
    """Apply changes (wire form: revision + op) in order to a copy of map_data."""
    rebuilt = copy.deepcopy(map_data)
    for change in changes:
        if change["revision"] != rebuilt["revision"] + 1:
            raise ValueError(f"revision {change['revision']} does not follow {rebuilt['revision']}")
        apply_applied_op(rebuilt, change["op"])
        rebuilt["revision"] = change["revision"]
    return rebuilt


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
        map_data["steps"] = [{**STEP_DEFAULTS, **step} for step in map_data["steps"]]
    elif kind == "step.add":
        # Defaults first: a log written before a field existed (progress) does not carry it.
        map_data["steps"].append({
            "id": op["step_id"], "position": op["position"], **STEP_DEFAULTS, **op["fields"], "stakeholder_ids": [],
        })
    elif kind in ("step.set", "step.move"):
        step = _step(map_data, op["step_id"])
        if kind == "step.set":
            step[op["field"]] = op["value"]
        else:
            step["position"] = op["position"]
    elif kind == "step.delete":
        map_data["steps"] = _without(map_data["steps"], op["step_id"])
    elif kind == "step.restore":
        map_data["steps"].append({**STEP_DEFAULTS, **copy.deepcopy(op["step"])})
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
    else:
        raise ValueError(f"unknown op type {kind!r}")
    _sort(map_data)
