"""Finish-to-start dependencies between a map's steps: «Согласовать площадку» before
«Поставить контейнеры». A step depends on its predecessors: it should start once each
of them is due (the same day is fine).

The rules here are plain functions of step data (ids, dates) and of the map's
dependencies as {step id: set of the step ids it depends on}:
- cycle_through: adding a dependency that would close a cycle is refused, and the
  cycle is named so the message can say which steps;
- starting_too_early: a step that starts before a predecessor is due is flagged,
  never moved silently.
What one click of «Сдвинуть» moves is the browser's to work out (static/js/dependencies.js
shiftedDates): it sends ordinary step.set ops.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

Dependencies = Mapping[str, set[str]]  # step id -> the step ids it depends on


def cycle_through(dependencies: Dependencies, step_id: str, depends_on_id: str) -> list[str] | None:
    """The cycle that making `step_id` depend on `depends_on_id` would close, as step ids from
    `step_id` back to itself (["a", "b", "a"]), or None when there is none."""
    if step_id == depends_on_id:
        return [step_id, step_id]
    # A cycle means step_id is already among depends_on_id's predecessors, however far back.
    trail = _path_back(dependencies, depends_on_id, step_id)
    return None if trail is None else [step_id, *trail]


def _path_back(dependencies: Dependencies, start: str, wanted: str) -> list[str] | None:
    """The chain of predecessors from `start` to `wanted` (both included), by depth-first search."""
    stack = [(start, [start])]
    seen = {start}
    while stack:
        current, path = stack.pop()
        if current == wanted:
            return path
        for predecessor in sorted(dependencies.get(current, ())):
            if predecessor not in seen:
                seen.add(predecessor)
                stack.append((predecessor, [*path, predecessor]))
    return None


def start_of(step: dict) -> date | None:
    """When a step starts: its start date, or its due date when it has no start."""
    day = step.get("starts_on") or step.get("due_on")
    return date.fromisoformat(day) if day else None


def due_of(step: dict) -> date | None:
    day = step.get("due_on")
    return date.fromisoformat(day) if day else None


def starting_too_early(steps: list[dict], dependencies: Dependencies) -> list[tuple[str, str]]:
    """(step id, predecessor id) for each step that starts before a predecessor is due, in the
    steps' order; steps without the dates to compare are not flagged."""
    by_id = {step["id"]: step for step in steps}
    flagged = []
    for step in steps:
        start = start_of(step)
        for predecessor_id in sorted(dependencies.get(step["id"], ())):
            predecessor = by_id.get(predecessor_id)
            due = due_of(predecessor) if predecessor else None
            if start is not None and due is not None and start < due:
                flagged.append((step["id"], predecessor_id))
    return flagged
