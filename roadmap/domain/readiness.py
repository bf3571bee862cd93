"""How ready a road map is: named checks and a score, computed from plain map data.

Used by the editor (the group's own to-do list) and the moderator's dashboard.
Checks that do not apply to a map (a theme-specific one, say) are left out of
the score rather than counted as passed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from roadmap.domain.errors import N_

ENGAGED_ENOUGH = {"involve", "collaborate", "empower"}
# Words that show a waste-sorting map says what is collected and where. They are
# searched for in lowercased text: re.IGNORECASE made this ten times slower, and
# the dashboard feed runs it for every changed map each second.
WASTE_FRACTIONS = re.compile(r"пластик|бумаг|стекл|картон|металл|батарейк|plastic|paper|glass|cardboard|metal|batter")
CONTAINER_PLACES = re.compile(r"контейнер|площадк|баки|бак\b|container|bin|collection point")
APPROVAL = re.compile(r"согласова|разрешени|одобрени|approv|permit|consent")

LABELS = {
    "header_filled": N_("The problem, the goal and the territory are filled in"),
    "steps_have_owner_and_due_date": N_("Every step has an owner and a due date"),
    "no_overdue_steps": N_("No unfinished step is past its due date"),
    "residents_involved": N_("At least one step involves residents"),
    "influential_stakeholders_engaged": N_("Every stakeholder with influence 4–5 is linked to a step and involved or more"),
    "waste_fractions_and_places": N_("The map says what is collected and where the containers stand"),
    "landscaping_approval_step": N_("There is an approval step with the administration"),
}


@dataclass(frozen=True)
class Check:
    code: str
    passed: bool
    # Ids of the steps or stakeholders that fail the check, to point at them.
    failing_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Readiness:
    checks: list[Check]

    @property
    def score(self) -> int:
        """Percent of applicable checks passed."""
        if not self.checks:
            return 0
        return round(100 * sum(check.passed for check in self.checks) / len(self.checks))

    @property
    def failing(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]


def assess(map_data: dict, today: date) -> Readiness:
    """Run every check that applies to this map."""
    checks = [
        _header_filled(map_data),
        _steps_have_owner_and_due_date(map_data),
        _no_overdue_steps(map_data, today),
        _residents_involved(map_data),
        _influential_stakeholders_engaged(map_data),
    ]
    if map_data.get("theme") == "waste_sorting":
        checks.append(_waste_fractions_and_places(map_data))
    if map_data.get("theme") == "landscaping":
        checks.append(_landscaping_approval_step(map_data))
    return Readiness(checks)


def _header_filled(map_data: dict) -> Check:
    missing = [name for name in ("problem", "goal", "territory") if not map_data.get(name, "").strip()]
    return Check("header_filled", not missing, missing)


def _steps_have_owner_and_due_date(map_data: dict) -> Check:
    failing = [step["id"] for step in map_data["steps"] if not step.get("owner") or not step.get("due_on")]
    return Check("steps_have_owner_and_due_date", bool(map_data["steps"]) and not failing, failing)


def _no_overdue_steps(map_data: dict, today: date) -> Check:
    failing = [
        step["id"] for step in map_data["steps"]
        if step.get("due_on") and step.get("status") != "done" and date.fromisoformat(step["due_on"]) < today
    ]
    return Check("no_overdue_steps", not failing, failing)


def _residents_involved(map_data: dict) -> Check:
    residents = {item["id"] for item in map_data["stakeholders"] if item["sector"] == "residents"}
    involved = any(residents & set(step["stakeholder_ids"]) for step in map_data["steps"]) or any(
        (step.get("owner") or {}).get("stakeholder") in residents for step in map_data["steps"]
    )
    return Check("residents_involved", involved)


def _influential_stakeholders_engaged(map_data: dict) -> Check:
    linked = {stakeholder_id for step in map_data["steps"] for stakeholder_id in step["stakeholder_ids"]}
    failing = [
        item["id"] for item in map_data["stakeholders"]
        if item["influence"] >= 4 and (item["id"] not in linked or item["engagement"] not in ENGAGED_ENOUGH)
    ]
    return Check("influential_stakeholders_engaged", not failing, failing)


def _all_text(map_data: dict) -> str:
    parts = [map_data.get(name, "") for name in ("title", "problem", "goal", "territory", "expected_results")]
    for step in map_data["steps"]:
        parts += [step.get("title", ""), step.get("description", ""), step.get("resources", "")]
    return "\n".join(parts)


def _waste_fractions_and_places(map_data: dict) -> Check:
    text = _all_text(map_data).lower()
    return Check("waste_fractions_and_places", bool(WASTE_FRACTIONS.search(text) and CONTAINER_PLACES.search(text)))


def _landscaping_approval_step(map_data: dict) -> Check:
    administration = {item["id"] for item in map_data["stakeholders"] if item["sector"] == "administration"}
    for step in map_data["steps"]:
        with_administration = administration & set(step["stakeholder_ids"]) or (
            (step.get("owner") or {}).get("stakeholder") in administration
        )
        if with_administration and APPROVAL.search((step.get("title", "") + " " + step.get("description", "")).lower()):
            return Check("landscaping_approval_step", True)
    return Check("landscaping_approval_step", False)
