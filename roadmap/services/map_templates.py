"""Starting a new map from a template: typical steps and stakeholders, shipped as
editable JSON files in roadmap/map_templates/ (one per template, Russian and English).

A template is applied as ordinary ops through the edit pipeline, so the new map's
history starts with them and every open editor sees them arrive.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from roadmap.domain.permissions import Actor
from roadmap.models import Group
from roadmap.services import editing, exports

TEMPLATE_FOLDER = Path(__file__).resolve().parent.parent / "map_templates"
LANGUAGES = ("ru", "en")


@cache
def _templates() -> dict[str, dict]:
    templates = {}
    for path in sorted(TEMPLATE_FOLDER.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        templates[data["key"]] = data
    return templates


def choices(language: str) -> list[tuple[str, str]]:
    """(key, name) of every template, named in the language given."""
    language = language if language in LANGUAGES else "ru"
    return [(key, data["name"][language]) for key, data in _templates().items()]


def theme_of(key: str) -> str:
    return _templates()[key]["theme"]


def exists(key: str) -> bool:
    return key in _templates()


def fill(group: Group, moderator, key: str, language: str) -> int:
    """Add the template's stakeholders, steps and links to the group's map; returns the ops applied."""
    language = language if language in LANGUAGES else "ru"
    ops = list(exports.content_ops(group.roadmap, _content(_templates()[key], language)))
    actor = Actor.of(moderator)
    for op in ops:
        editing.apply(op, actor=actor)
    return len(ops)


def untouched_step_ids(map_data: dict) -> list[str]:
    """Ids of the map's steps that are still exactly as a template put them in.

    Readiness leaves them out: a template's plan is not the group's until someone
    has looked at a step and changed something in it (a deadline, the owner,
    the status, the text, who takes part). Stakeholders are matched by name.
    """
    names = {item["id"]: item["name"] for item in map_data["stakeholders"]}
    return [
        step["id"] for step in map_data["steps"]
        if _looks_untouched(step) and _step_fingerprint(step, names) in _template_step_fingerprints()
    ]


def _looks_untouched(step: dict) -> bool:
    return (step["status"] == "planned" and step.get("progress") is None
            and step.get("starts_on") is None and step.get("due_on") is None)


def _step_fingerprint(step: dict, names: dict[str, str]) -> tuple:
    owner = step.get("owner") or {}
    if owner and "stakeholder" not in owner:
        owner_name = ("not a template owner",)
    else:
        owner_name = names.get(owner.get("stakeholder"), "") if owner else None
    linked = frozenset(names.get(stakeholder_id, "") for stakeholder_id in step["stakeholder_ids"])
    return (step["title"], step["description"], step["resources"], step["success_measure"], owner_name, linked)


@cache
def _template_step_fingerprints() -> frozenset[tuple]:
    fingerprints = set()
    for template in _templates().values():
        for language in LANGUAGES:
            names = {item["key"]: item["name"][language] for item in template["stakeholders"]}
            for step in template["steps"]:
                owner_key = step.get("owner_stakeholder")
                fingerprints.add((
                    step["title"][language], step["description"][language], step["resources"][language],
                    step["success_measure"][language], names[owner_key] if owner_key else None,
                    frozenset(names[key] for key in step["stakeholders"]),
                ))
    return frozenset(fingerprints)


def _content(template: dict, language: str) -> exports.ImportedMap:
    """The template in one language, in the shape an import has (keys are the template's own)."""
    stakeholders = [
        (item["key"], {
            "name": item["name"][language], "sector": item["sector"], "interest": item["interest"],
            "influence": item["influence"], "engagement": item["engagement"], "contact": item["contact"][language],
        })
        for item in template["stakeholders"]
    ]
    steps, links = [], []
    for index, step in enumerate(template["steps"]):
        owner_key = step.get("owner_stakeholder")
        steps.append((index, {
            "title": step["title"][language], "description": step["description"][language],
            "resources": step["resources"][language], "success_measure": step["success_measure"][language],
            "owner": {"stakeholder": owner_key} if owner_key else None,
        }))
        links += [(index, stakeholder_key) for stakeholder_key in step["stakeholders"]]
    return exports.ImportedMap(fields={}, stakeholders=stakeholders, steps=steps, links=links)
