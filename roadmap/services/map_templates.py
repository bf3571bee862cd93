"""Starting a new map from a template: typical steps and stakeholders, shipped as
editable JSON files in roadmap/map_templates/ (one per template, Russian and English).

A template is applied as ordinary ops through the edit pipeline, in one transaction
(editing.apply_many), so the new map's history starts with them and every open
editor sees them arrive.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from roadmap.domain.permissions import Actor
from roadmap.models import Group
from roadmap.services import editing, exports

TEMPLATE_FOLDER = Path(__file__).resolve().parent.parent / "map_templates"
LANGUAGES = ("ru", "en")
# Between the random part of a template step's or stakeholder's id and its key in the template.
TEMPLATE_ID_MARK = "-t-"


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
    ops = list(exports.content_ops(group.roadmap, _content(_templates()[key], language), new_id=_template_id))
    editing.apply_many(ops, actor=Actor.of(moderator))
    return len(ops)


def untouched_step_ids(map_data: dict) -> list[str]:
    """Ids of the map's steps that are still exactly as a template put them in.

    Readiness leaves them out: a template's plan is not the group's until someone
    has changed something in the step (a deadline, the owner, the status, the
    text, who takes part). A template's steps and stakeholders are known by
    their ids (see _template_id), so renaming a stakeholder changes no step.
    """
    return [step["id"] for step in map_data["steps"] if _is_untouched_template_step(step)]


def _template_id(key: str) -> str:
    """A new id that says which template item it was made from: random, then the mark and the key."""
    return f"{uuid.uuid4().hex[:16]}{TEMPLATE_ID_MARK}{key}"


def _template_key(item_id: str | None) -> str | None:
    """The template key an id was made from, or None for an id the group made."""
    if not item_id:
        return None
    return item_id.partition(TEMPLATE_ID_MARK)[2] or None


def _owner_key(owner: dict | None) -> str | None:
    if not owner:
        return None
    return _template_key(owner.get("stakeholder")) or "an owner the template did not set"


def _is_untouched_template_step(step: dict) -> bool:
    template_step = _template_steps().get(_template_key(step["id"]))
    if template_step is None:
        return False
    return (
        step["status"] == "planned"
        and step.get("progress") is None
        and step.get("starts_on") is None
        and step.get("due_on") is None
        and _owner_key(step.get("owner")) == template_step.owner_key
        and (step["title"], step["description"], step["resources"], step["success_measure"]) in template_step.texts
        and {_template_key(stakeholder_id) for stakeholder_id in step["stakeholder_ids"]}
        == template_step.stakeholder_keys
    )


@dataclass(frozen=True)
class _TemplateStep:
    texts: frozenset[tuple]  # (title, description, resources, success_measure) in each language
    owner_key: str | None
    stakeholder_keys: frozenset[str]


@cache
def _template_steps() -> dict[str, _TemplateStep]:
    """Every template's steps by their key (_step_key)."""
    return {
        _step_key(template, index): _TemplateStep(
            texts=frozenset(
                tuple(step[name][language] for name in ("title", "description", "resources", "success_measure"))
                for language in LANGUAGES
            ),
            owner_key=step.get("owner_stakeholder"),
            stakeholder_keys=frozenset(step["stakeholders"]),
        )
        for template in _templates().values()
        for index, step in enumerate(template["steps"])
    }


def _step_key(template: dict, index: int) -> str:
    return f"{template['key']}-{index}"


def _content(template: dict, language: str) -> exports.ImportedMap:
    """The template in one language, in the shape an import has (keys are the template's own)."""
    stakeholders = [
        (
            item["key"],
            {
                "name": item["name"][language],
                "sector": item["sector"],
                "interest": item["interest"],
                "influence": item["influence"],
                "engagement": item["engagement"],
                "contact": item["contact"][language],
            },
        )
        for item in template["stakeholders"]
    ]
    steps, links = [], []
    for index, step in enumerate(template["steps"]):
        owner_key = step.get("owner_stakeholder")
        steps.append(
            (
                _step_key(template, index),
                {
                    "title": step["title"][language],
                    "description": step["description"][language],
                    "resources": step["resources"][language],
                    "success_measure": step["success_measure"][language],
                    "owner": {"stakeholder": owner_key} if owner_key else None,
                },
            )
        )
        links += [(_step_key(template, index), stakeholder_key) for stakeholder_key in step["stakeholders"]]
    return exports.ImportedMap(fields={}, stakeholders=stakeholders, steps=steps, links=links)
