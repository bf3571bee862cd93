"""How far a road map has come, and what changed since the training, from plain map data.

Used after the training, when alumni come back to mark steps done: the
progress bar and "what is next" on the map, and the "since the training"
summary that sets the map against the baseline frozen when the training ended.
Step dicts are the ones snapshots.snapshot() returns, in map order.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from roadmap.domain.errors import N_
from roadmap.domain.operations import STEP_FIELDS
from roadmap.domain.vocabulary import STEP_STATUSES

NEXT_STEPS_LIMIT = 3
# A step that is not marked done never counts as finished, whatever percent it
# claims: the plan reaches 100 only when the group has marked every step done.
UNFINISHED_CEILING = 99

CHANGE_LABELS = {
    "added": N_("Steps added"),
    "removed": N_("Steps removed"),
    "done_since": N_("Steps done"),
    "moved_deadlines": N_("Deadlines moved"),
    "changed_owners": N_("Owners changed"),
    "renamed": N_("Steps renamed"),
}


@dataclass(frozen=True)
class Progress:
    """How far the plan has come; overdue and next_steps hold the map's own step dicts."""

    percent: int
    done: int
    total: int
    # Every status in STEP_STATUSES order, zero counts included, so a template can loop over it.
    by_status: dict[str, int]
    # Unfinished steps whose due date has passed, in map order.
    overdue: list[dict]
    # Unfinished steps not overdue, by due date (undated last, in map order), at most NEXT_STEPS_LIMIT.
    next_steps: list[dict]


@dataclass(frozen=True)
class StepRef:
    step_id: str
    title: str


@dataclass(frozen=True)
class StepChange:
    """One field of one step, before (baseline) and after (now), in map-data form."""

    step_id: str
    # The title the step has now, to name it in a list.
    title: str
    before: object
    after: object


@dataclass(frozen=True)
class Comparison:
    """The map now against its baseline; each list is in current map order (removed: baseline order)."""

    added: list[StepRef]
    removed: list[StepRef]
    done_since: list[StepRef]
    moved_deadlines: list[StepChange]
    changed_owners: list[StepChange]
    renamed: list[StepChange]

    @property
    def is_empty(self) -> bool:
        """True when none of the categories above has an entry (other edits are not compared)."""
        return not any(getattr(self, item.name) for item in fields(self))


@dataclass(frozen=True)
class Differences:
    """A past map against the map now, to mark the past map: what is new, gone or changed since."""

    # Steps the map has now that the past map had not, in current map order.
    added: list[StepRef]
    # Steps of the past map deleted since, in past map order.
    removed: list[StepRef]
    # Step id -> the fields (STEP_FIELDS order, then "stakeholder_ids") whose value differs now.
    changed_fields: dict[str, list[str]]

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed_fields)


COMPARED_STEP_FIELDS = (*STEP_FIELDS, "stakeholder_ids")


def differences(past: dict, now: dict) -> Differences:
    """Every difference between two states of one map's steps, matched by id (see compare())."""
    past_by_id = {step["id"]: step for step in past["steps"]}
    now_ids = {step["id"] for step in now["steps"]}
    changed = {}
    for step in now["steps"]:
        before = past_by_id.get(step["id"])
        fields_changed = [name for name in COMPARED_STEP_FIELDS if before and before.get(name) != step.get(name)]
        if fields_changed:
            changed[step["id"]] = fields_changed
    return Differences(
        added=[_ref(step) for step in now["steps"] if step["id"] not in past_by_id],
        removed=[_ref(step) for step in past["steps"] if step["id"] not in now_ids],
        changed_fields=changed,
    )


def progress(map_data: dict, today: date, next_limit: int = NEXT_STEPS_LIMIT) -> Progress:
    """Overall progress, counts by status, overdue steps and what is next.

    The percent is the plain average over all steps, each step weighing the
    same, rounded down:
    - a step marked done counts 100;
    - any other step (planned, in progress, blocked) counts the progress
      percent the group entered, at most 99, or 0 when none was entered:
      "in progress" alone is not a measure of how far a step has come, and a
      blocked step keeps the work already done on it.
    So the plan shows 100 only when every step is done; a map without steps is 0.

    A step is overdue when it is not done and its due date is before today; a
    step due today is not overdue yet, and a step without a due date never is.
    Next steps are the unfinished steps (blocked ones included) that are not
    overdue, by due date, steps without a date after the dated ones, ties in
    map order: a page lists the overdue steps once, under their own heading.
    """
    steps = map_data["steps"]
    by_status = {status: 0 for status in STEP_STATUSES}
    for step in steps:
        by_status[step["status"]] = by_status.get(step["status"], 0) + 1
    percent = sum(_step_percent(step) for step in steps) // len(steps) if steps else 0
    unfinished = [step for step in steps if step["status"] != "done"]
    overdue = [
        step
        for step in unfinished
        if is_overdue(step["status"], date.fromisoformat(step["due_on"]) if step.get("due_on") else None, today)
    ]
    # sorted() is stable, so steps with the same (or no) date keep their map order.
    upcoming = [step for step in unfinished if step not in overdue]
    next_steps = sorted(upcoming, key=lambda step: (step.get("due_on") is None, step.get("due_on") or ""))
    return Progress(
        percent=percent,
        done=by_status["done"],
        total=len(steps),
        by_status=by_status,
        overdue=overdue,
        next_steps=next_steps[:next_limit],
    )


def is_overdue(status: str, due_on: date | None, today: date) -> bool:
    """Not done, and due before today (where the training is); a step due today is not overdue yet."""
    return status != "done" and due_on is not None and due_on < today


def _step_percent(step: dict) -> int:
    if step["status"] == "done":
        return 100
    return min(step.get("progress") or 0, UNFINISHED_CEILING)


def compare(baseline: dict, current: dict) -> Comparison:
    """The map now against its baseline snapshot, steps matched by id.

    A step deleted and added again has a new id, so it shows as removed and
    added. A step added after the training and already done is listed both as
    added and as done since. One step can appear in several lists (renamed and
    done, say). Before/after values are as in the map data: due dates as ISO
    strings or None, owners as {"member": id}, {"stakeholder": id},
    {"text": ...} or None.
    """
    before_by_id = {step["id"]: step for step in baseline["steps"]}
    kept = [(before_by_id[step["id"]], step) for step in current["steps"] if step["id"] in before_by_id]
    steps_differ = differences(baseline, current)
    return Comparison(
        added=steps_differ.added,
        removed=steps_differ.removed,
        done_since=[
            _ref(step)
            for step in current["steps"]
            if step["status"] == "done" and before_by_id.get(step["id"], {}).get("status") != "done"
        ],
        moved_deadlines=_changes(kept, "due_on"),
        changed_owners=_changes(kept, "owner"),
        renamed=_changes(kept, "title"),
    )


def _ref(step: dict) -> StepRef:
    return StepRef(step["id"], step["title"])


def _changes(kept: list[tuple[dict, dict]], field_name: str) -> list[StepChange]:
    return [
        StepChange(now["id"], now["title"], before.get(field_name), now.get(field_name))
        for before, now in kept
        if before.get(field_name) != now.get(field_name)
    ]
