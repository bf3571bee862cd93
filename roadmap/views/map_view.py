"""What the read-only map template (templates/maps/_map_view.html) needs, for every page that shows one."""
from __future__ import annotations


def map_view_context(group, map_data: dict, members: list[dict] | None = None, vote: dict | None = None,
                     overdue_ids=()) -> dict:
    members = map_data.get("members", []) if members is None else members
    return {
        "group": group, "map_data": map_data, "vote": vote, "overdue_ids": set(overdue_ids),
        "members": {member["id"]: member["name"] for member in members},
        "stakeholders": {item["id"]: item for item in map_data["stakeholders"]},
    }
