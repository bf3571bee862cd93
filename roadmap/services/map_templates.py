"""Starting a new map from a template: typical steps and stakeholders, shipped as
editable JSON files in roadmap/map_templates/ (one per template, Russian and English).

A template is applied as ordinary ops through the edit pipeline, so the new map's
history starts with them and every open editor sees them arrive.
"""
from __future__ import annotations

import json
import uuid
from functools import cache
from pathlib import Path

from roadmap.domain.permissions import Actor
from roadmap.models import Group
from roadmap.services import editing

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
    template = _templates()[key]
    language = language if language in LANGUAGES else "ru"
    ops = list(_ops(template, group.roadmap.id, language))
    actor = Actor.of(moderator)
    for op in ops:
        editing.apply(op, actor=actor)
    return len(ops)


def _new_id() -> str:
    return uuid.uuid4().hex


def _ops(template: dict, roadmap_id: int, language: str):
    def op(kind: str, **values) -> dict:
        return {"op_id": _new_id(), "roadmap_id": roadmap_id, "type": kind, **values}

    stakeholder_ids = {}
    for stakeholder in template["stakeholders"]:
        stakeholder_ids[stakeholder["key"]] = _new_id()
        yield op("stakeholder.add", stakeholder_id=stakeholder_ids[stakeholder["key"]], fields={
            "name": stakeholder["name"][language], "sector": stakeholder["sector"],
            "interest": stakeholder["interest"], "influence": stakeholder["influence"],
            "engagement": stakeholder["engagement"], "contact": stakeholder["contact"][language],
        })
    for step in template["steps"]:
        step_id = _new_id()
        owner_key = step.get("owner_stakeholder")
        yield op("step.add", step_id=step_id, fields={
            "title": step["title"][language], "description": step["description"][language],
            "resources": step["resources"][language], "success_measure": step["success_measure"][language],
            "owner": {"stakeholder": stakeholder_ids[owner_key]} if owner_key else None,
        })
        for key in step["stakeholders"]:
            yield op("step.link", step_id=step_id, stakeholder_id=stakeholder_ids[key])
