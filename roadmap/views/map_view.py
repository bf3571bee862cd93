"""What the read-only map template (templates/maps/_map_view.html) needs, for every page that shows one."""

from __future__ import annotations

from sqlalchemy import select

from roadmap.domain import timeline
from roadmap.domain.progress import progress
from roadmap.extensions import db
from roadmap.models import Person
from roadmap.timeutil import local_today


def map_view_context(
    group, map_data: dict, members: list[dict] | None = None, vote: dict | None = None, with_progress: bool = False
) -> dict:
    """`with_progress` adds the progress line, flags the overdue steps and draws the timeline, for pages
    read after the training (not the projector, whose map must fit one screen)."""
    members = map_data.get("members", []) if members is None else members
    names = {member["id"]: member["name"] for member in members}
    today = local_today(group.training.timezone)
    map_progress = progress(map_data, today) if with_progress else None
    return {
        "group": group,
        "map_data": map_data,
        "vote": vote,
        "overdue_ids": {step["id"] for step in map_progress.overdue} if map_progress else set(),
        "map_progress": map_progress,
        "timeline": timeline.lay_out(map_data["steps"], today) if with_progress else None,
        "members": {**_former_owner_names(map_data, names), **names},
        "stakeholders": {item["id"]: item for item in map_data["stakeholders"]},
    }


def _former_owner_names(map_data: dict, members: dict[int, str]) -> dict[int, str]:
    """Steps may still be owned by people who left the group: show their names, not a blank."""
    missing = {(step["owner"] or {}).get("member") for step in map_data["steps"]} - set(members) - {None}
    if not missing:
        return {}
    return dict(db.session.execute(select(Person.id, Person.display_name).where(Person.id.in_(missing))).all())
