"""The moderator's view of every group: what one card on the dashboard shows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select

from roadmap.domain.progress import progress
from roadmap.domain.readiness import assess
from roadmap.extensions import db
from roadmap.models import Group, Membership, Presence, Training
from roadmap.services import map_templates, snapshots
from roadmap.services.facilitation import iso
from roadmap.timeutil import local_today, utcnow


def readiness_data(map_data: dict, today: date) -> dict:
    """The checks as the editor and the dashboard show them; template steps nobody changed are left out."""
    readiness = assess(map_data, today, map_templates.untouched_step_ids(map_data))
    return {
        "score": readiness.score,
        "checks": [
            {
                "code": check.code,
                "passed": check.passed,
                "applicable": check.applicable,
                "failing_ids": check.failing_ids,
            }
            for check in readiness.checks
        ],
        "template_step_ids": readiness.template_step_ids,
    }


def progress_data(map_data: dict, today: date) -> dict:
    """Overall progress and the overdue steps, as the editor and the dashboard show them."""
    result = progress(map_data, today)
    return {
        "percent": result.percent,
        "done": result.done,
        "total": result.total,
        "overdue_ids": [step["id"] for step in result.overdue],
    }


def _online_people(roadmap_ids: list[int]) -> dict[int, int]:
    """How many distinct people have each map open now."""
    cutoff = utcnow() - timedelta(seconds=current_app.config["PRESENCE_STALE_SECONDS"])
    rows = db.session.execute(
        select(Presence.roadmap_id, func.count(func.distinct(Presence.person_id)))
        .where(Presence.roadmap_id.in_(roadmap_ids), Presence.seen_at >= cutoff)
        .group_by(Presence.roadmap_id)
    ).all()
    return dict(rows)


def _member_counts(group_ids: list[int]) -> dict[int, int]:
    rows = db.session.execute(
        select(Membership.group_id, func.count())
        .where(Membership.group_id.in_(group_ids))
        .group_by(Membership.group_id)
    ).all()
    return dict(rows)


def summaries(groups: list[Group], today: date | None = None) -> list[dict]:
    """One card per group; a handful of queries per group, none per step.

    `today` (for overdue steps) is today where each group's training is, unless given."""
    return list(each_summary(groups, today))


def each_summary(groups: list[Group], today: date | None = None) -> Iterator[dict]:
    """The cards one at a time, so a caller serving live connections can let them run between."""
    if not groups:
        return
    online = _online_people([group.roadmap.id for group in groups])
    members = _member_counts([group.id for group in groups])
    for group in groups:
        group_today = today or local_today(group.training.timezone)
        yield _summary(group, group_today, online.get(group.roadmap.id, 0), members.get(group.id, 0))


def _summary(group: Group, today: date, online: int, members: int) -> dict:
    roadmap = group.roadmap
    map_data = snapshots.snapshot(roadmap, with_members=False)
    steps = map_data["steps"]
    return {
        "group_id": group.id,
        "roadmap_id": roadmap.id,
        "name": group.name,
        "theme": group.theme,
        "archived": bool(group.archived),
        "title": map_data["title"],
        "revision": map_data["revision"],
        "locked": map_data["locked"],
        "online": online,
        "members": members,
        "steps": len(steps),
        "stakeholders": len(map_data["stakeholders"]),
        "steps_with_owner": sum(1 for step in steps if step["owner"]),
        "steps_with_due_date": sum(1 for step in steps if step["due_on"]),
        "steps_done": sum(1 for step in steps if step["status"] == "done"),
        "readiness": readiness_data(map_data, today),
        "progress": progress_data(map_data, today),
        "last_edit_at": iso(roadmap.updated_at) if roadmap.updated_at else None,
    }


def training_summaries(training: Training, today: date | None = None) -> list[dict]:
    return summaries(training.active_groups, today or local_today(training.timezone))


def groups_by_id(group_ids: set[int]) -> list[Group]:
    return db.session.scalars(select(Group).where(Group.id.in_(group_ids)).order_by(Group.id)).all()
