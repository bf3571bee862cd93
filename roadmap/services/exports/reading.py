"""The map as a reader sees it, which every export writes out: the snapshot with names in
place of ids, the labels of the fields, the project's header, the team, the file's name, and
the portable document that the JSON export is.

The document: {"format": "roadmap", "version": 1, "map": {the map fields,
"stakeholders": [{"id", the stakeholder fields}], "steps": [{"id", the step
fields}], "links": [{"step": step id, "stakeholder": stakeholder id}]}}. The
ids only connect things inside the document; an import makes new ones. An owner
is null, {"stakeholder": id} or {"text": name}: members belong to their group,
so a member owner is exported as {"text": the member's name}.
"""

from __future__ import annotations

import re
from contextlib import nullcontext
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime

from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from roadmap.domain.errors import N_
from roadmap.domain.operations import MAP_FIELDS, MAX_OWNER_TEXT, STAKEHOLDER_FIELDS, STEP_FIELDS
from roadmap.domain.vocabulary import ENGAGEMENT_LEVELS, SECTORS, STEP_STATUSES, THEMES
from roadmap.extensions import db
from roadmap.models import Person, Roadmap
from roadmap.services import snapshots
from roadmap.timeutil import local, utcnow

FORMAT = "roadmap"
VERSION = 1

PROJECT_LABELS = {
    "title": N_("Project title"),
    "problem": N_("Problem"),
    "goal": N_("Goal"),
    "territory": N_("Territory"),
    "theme": N_("Theme"),
    "expected_results": N_("Expected results"),
}
# The keys are the CSV columns, in order.
STEP_LABELS = {
    "title": N_("Step"),
    "description": N_("Description"),
    "owner": N_("Owner"),
    "starts_on": N_("Start"),
    "due_on": N_("Due date"),
    "status": N_("Status"),
    "progress": N_("Progress, %"),
    "resources": N_("Resources needed"),
    "success_measure": N_("How success is measured"),
    "stakeholders": N_("Stakeholders involved"),
}
# Exported beside the steps' columns (XLSX, DOCX, PDF); not read back by an import of a table.
WAITS_FOR_LABEL = N_("Starts after step")
STAKEHOLDER_LABELS = {
    "name": N_("Name or organisation"),
    "sector": N_("Sector"),
    "contact": N_("Contact person"),
    "interest": N_("Interest"),
    "influence": N_("Influence"),
    "engagement": N_("Engagement"),
}
# Shown after a name, joined by commas: "Марина — участник рабочей группы, ответственный за шаги 1, 5".
TEAM_ROLES = {
    "member": N_("working group member"),
    "owner": N_("owner of steps %(numbers)s"),
    "moderator": N_("moderator of the training"),
}
# Characters XML 1.0 (DOCX, XLSX) cannot hold; display names are not filtered for them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NOT_IN_FILE_NAMES = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


def map_for_reading(roadmap: Roadmap) -> dict:
    """The snapshot plus what a reader needs: owner and stakeholder names, the group and the training."""
    data = snapshots.snapshot(roadmap)
    stakeholder_names = {item["id"]: item["name"] for item in data["stakeholders"]}
    member_names = {member["id"]: member["name"] for member in data["members"]}
    for step in data["steps"]:
        step["owner_name"] = _owner_name(step["owner"], member_names, stakeholder_names)
        step["stakeholder_names"] = sorted(
            (stakeholder_names[stakeholder_id] for stakeholder_id in step["stakeholder_ids"]), key=str.casefold
        )
    group = roadmap.group
    training = group.training
    data["group"] = {"name": group.name}
    data["training"] = {
        "title": training.title,
        "city": training.city,
        "starts_on": training.starts_on,
        "ends_on": training.ends_on,
        "timezone": training.timezone,
    }
    # Aware datetimes in the training's zone.
    data["changed_at"] = local(roadmap.updated_at, training.timezone) if roadmap.updated_at else None
    data["prepared_at"] = local(utcnow(), training.timezone)
    return data


def _owner_name(owner: dict | None, member_names: dict, stakeholder_names: dict) -> str:
    if not owner:
        return ""
    if "member" in owner:
        name = member_names.get(owner["member"]) or _former_member_name(owner["member"])
        # Display names are not checked for control characters, and the JSON export
        # carries this name as owner text, which an import checks for them.
        return xml_text(name)[:MAX_OWNER_TEXT].strip()
    if "stakeholder" in owner:
        return stakeholder_names.get(owner["stakeholder"], "")
    return owner["text"]


def _former_member_name(person_id: int) -> str:
    """Someone who left the group still owns their steps under their name."""
    person = db.session.get(Person, person_id)
    return person.display_name if person else ""


def xml_text(text: str) -> str:
    """The text without the characters an XML file (DOCX, XLSX) cannot hold."""
    return _NOT_XML.sub("", text)


def map_title(data: dict) -> str:
    return data["title"] or data["group"]["name"]


def download_name(roadmap: Roadmap, extension: str, suffix: str = "") -> str:
    """A file name from the map's title, safe on every desktop system; `suffix` tells two files of one
    format apart ("… A3.pdf")."""
    title = _NOT_IN_FILE_NAMES.sub(" ", roadmap.title or roadmap.group.name)
    stem = " ".join(title.split())[:80].strip(" .") or "roadmap"
    return f"{stem}{suffix}.{extension}"


def in_language(language: str | None):
    """Word what follows in `language`; in the current locale when it is None."""
    return force_locale(language) if language else nullcontext()


def _day(iso_day: str | None) -> date | None:
    return date.fromisoformat(iso_day) if iso_day else None


def reader_values(step: dict) -> dict:
    """A step's values by column, as people read them: names, labels, dates."""
    return {
        "title": step["title"],
        "description": step["description"],
        "owner": step["owner_name"],
        "starts_on": _day(step["starts_on"]),
        "due_on": _day(step["due_on"]),
        "status": _(STEP_STATUSES[step["status"]]),
        "progress": step["progress"],
        "resources": step["resources"],
        "success_measure": step["success_measure"],
        "stakeholders": "; ".join(step["stakeholder_names"]),
    }


def stakeholder_values(stakeholder: dict) -> dict:
    return {
        "name": stakeholder["name"],
        "sector": _(SECTORS[stakeholder["sector"]]) if stakeholder["sector"] else "",
        "contact": stakeholder["contact"],
        "interest": _unset_as_empty(stakeholder["interest"]),
        "influence": _unset_as_empty(stakeholder["influence"]),
        "engagement": _(ENGAGEMENT_LEVELS[stakeholder["engagement"]]),
    }


def _unset_as_empty(value):
    return "" if value is None else value


def project_values(data: dict) -> list[tuple[str, str | datetime]]:
    """(label, text) of the header fields, then the training and the group, then
    when the map changed and the file was made (aware datetimes) and in which zone."""
    training = data["training"]
    values = [
        (_(label), _(THEMES[data[name]]) if name == "theme" else data[name]) for name, label in PROJECT_LABELS.items()
    ]
    values += [
        (_("Training"), training["title"]),
        (_("City"), training["city"]),
        (_("Dates"), f"{format_date(training['starts_on'], 'medium')} – {format_date(training['ends_on'], 'medium')}"),
        (_("Working group"), data["group"]["name"]),
    ]
    if data["changed_at"]:
        values.append((_("Last change"), data["changed_at"]))
    values += [(_("Prepared"), data["prepared_at"]), (_("Time zone"), _zone_label(data["prepared_at"]))]
    return values


def _zone_label(moment: datetime) -> str:
    """The zone of an aware moment as people read it, e.g. "Europe/Moscow (UTC+3)"."""
    offset_minutes = int(moment.utcoffset().total_seconds()) // 60
    hours, minutes = divmod(abs(offset_minutes), 60)
    offset = f"{'+' if offset_minutes >= 0 else '−'}{hours}" + (f":{minutes:02d}" if minutes else "")
    return f"{moment.tzinfo.key} (UTC{offset})"


def document_of(roadmap: Roadmap) -> dict:
    """The whole map as a versioned, portable document (see the module docstring)."""
    data = map_for_reading(roadmap)
    stakeholder_order = {item["id"]: index for index, item in enumerate(data["stakeholders"])}
    step_order = {step["id"]: index for index, step in enumerate(data["steps"])}
    return {
        "format": FORMAT,
        "version": VERSION,
        "map": {
            **{name: data[name] for name in MAP_FIELDS},
            "stakeholders": [
                {"id": item["id"], **{name: item[name] for name in STAKEHOLDER_FIELDS}} for item in data["stakeholders"]
            ],
            "steps": [
                {"id": step["id"], **{name: step[name] for name in STEP_FIELDS}, "owner": _portable_owner(step)}
                for step in data["steps"]
            ],
            "links": [
                {"step": step["id"], "stakeholder": stakeholder_id}
                for step in data["steps"]
                for stakeholder_id in sorted(step["stakeholder_ids"], key=stakeholder_order.__getitem__)
            ],
            "dependencies": [
                {"step": step["id"], "after": predecessor_id}
                for step in data["steps"]
                for predecessor_id in sorted(step["depends_on"], key=step_order.__getitem__)
            ],
        },
    }


def _portable_owner(step: dict) -> dict | None:
    owner = step["owner"]
    if owner and "member" in owner:
        return {"text": step["owner_name"]} if step["owner_name"] else None
    if owner and "stakeholder" in owner and not step["owner_name"]:
        return None  # the stakeholder was deleted
    return owner


@dataclass
class TeamMember:
    """One person or organisation on the team page of the PDF, with the numbers of the steps they own."""

    name: str
    roles: list[str] = dataclass_field(default_factory=list)  # keys of TEAM_ROLES, in that order
    step_numbers: list[int] = dataclass_field(default_factory=list)


def team_of(roadmap: Roadmap, map_data: dict) -> list[TeamMember]:
    """Who carries the plan, each once: the group's members, then owners from outside the group
    (stakeholders, names typed as owners), then the training's moderators."""
    training = roadmap.group.training
    team: dict[tuple, TeamMember] = {}

    def entry(key: tuple, name: str) -> TeamMember:
        return team.setdefault(key, TeamMember(name))

    for member in map_data["members"]:
        entry(("person", member["id"]), member["name"]).roles.append("member")
    stakeholder_names = {item["id"]: item["name"] for item in map_data["stakeholders"]}
    for number, step in enumerate(map_data["steps"], start=1):
        owner = step["owner"] or {}
        if "member" in owner:
            key = ("person", owner["member"])
        elif "stakeholder" in owner:
            key = ("stakeholder", owner["stakeholder"])
        elif owner.get("text", "").strip():
            key = ("text", owner["text"].strip().casefold())
        else:
            continue
        owner_entry = entry(key, step["owner_name"] or stakeholder_names.get(owner.get("stakeholder"), ""))
        owner_entry.step_numbers.append(number)
    moderators = [training.moderator] + [link.person for link in training.co_moderators]
    for person in moderators:
        entry(("person", person.id), person.display_name).roles.append("moderator")
    for member in team.values():
        if member.step_numbers:
            member.roles.append("owner")
        member.roles.sort(key=list(TEAM_ROLES).index)
    return list(team.values())
