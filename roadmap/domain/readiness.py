"""How ready a road map is: named checks and a score, computed from plain map data.

Used by the editor (the group's own to-do list) and the moderator's dashboard.
A check passes only on something the group has written:
- a check with nothing to check (no dated steps to be overdue, no stakeholder
  rated influence 4 or 5) is "not applicable": it neither passes nor fails and
  is left out of the score, so an empty map scores 0 %;
- a check that does not apply to a map (a theme-specific one) is left out;
- steps a map template put in and nobody has changed since (their ids are
  given by the caller, see services/map_templates) are left out of every
  check until the group edits them;
- a stakeholder's unset sector or influence is unknown: not residents, not
  administration, not influential.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date

from roadmap.domain.errors import N_

ENGAGED_ENOUGH = {"involve", "collaborate", "empower"}
INFLUENTIAL = 4
# Words that show a waste-sorting map says what is collected and where. They are
# searched for in lowercased text: re.IGNORECASE made this ten times slower, and
# the dashboard feed runs it for every changed map each second.
WASTE_FRACTIONS = re.compile(r"пластик|бумаг|стекл|картон|металл|батарейк|plastic|paper|glass|cardboard|metal|batter")
CONTAINER_PLACES = re.compile(r"контейнер|площадк|баки|бак\b|container|bin|collection point")
APPROVAL = re.compile(r"согласова|разрешени|одобрени|approv|permit|consent")

# What each check asks, as a participant would say it.
LABELS = {
    "header_filled": N_("The problem, the goal and the place are described"),
    "steps_have_owner_and_due_date": N_("Every step has someone responsible and a deadline"),
    "no_overdue_steps": N_("No step is late"),
    "residents_involved": N_("Residents take part in at least one step"),
    "influential_stakeholders_engaged": N_("Those who can decide a lot work on the steps with you"),
    "waste_fractions_and_places": N_("The map says what is collected and where the containers stand"),
    "landscaping_approval_step": N_("There is a step to agree the project with the administration"),
}
# How to make each check pass, in one sentence.
HINTS = {
    "header_filled": N_("Fill in «Problem», «Goal» and «Territory» at the top of the map."),
    "steps_have_owner_and_due_date": N_("For each step, write who does it and by what date."),
    "no_overdue_steps": N_(
        "A step is late when its deadline has passed and it is not marked done: mark it done or move the deadline."
    ),
    "residents_involved": N_("Tick a stakeholder whose sector is «Residents» in a step."),
    "influential_stakeholders_engaged": N_(
        "Stakeholders with influence 4 or 5 should be ticked in a step, and the way you work with them "
        "should be at least «Involve»: not just telling them or asking their opinion, but doing the work together."
    ),
    "waste_fractions_and_places": N_(
        "Name what is collected (plastic, paper, glass…) and where the containers will stand."
    ),
    "landscaping_approval_step": N_(
        "Add a step about agreeing the project (the word «agree» or «approval») and tick the administration in it."
    ),
}


@dataclass(frozen=True)
class Check:
    code: str
    passed: bool
    # Ids of the steps or stakeholders that fail the check, to point at them.
    failing_ids: list[str] = field(default_factory=list)
    # False when the map holds nothing this check looks at yet: it neither passes nor fails.
    applicable: bool = True

    @property
    def failed(self) -> bool:
        return self.applicable and not self.passed


def _nothing_to_check(code: str) -> Check:
    return Check(code, passed=False, applicable=False)


@dataclass(frozen=True)
class Readiness:
    checks: list[Check]
    # Steps a template put in that nobody has changed yet: left out of the checks.
    template_step_ids: list[str] = field(default_factory=list)

    @property
    def score(self) -> int:
        """Percent of applicable checks passed; 0 when none applies."""
        counted = [check for check in self.checks if check.applicable]
        if not counted:
            return 0
        return round(100 * sum(check.passed for check in counted) / len(counted))

    @property
    def failing(self) -> list[Check]:
        return [check for check in self.checks if check.failed]


def assess(map_data: dict, today: date, template_step_ids: Collection[str] = ()) -> Readiness:
    """Run every check that applies to this map, leaving out the template steps nobody has changed."""
    untouched = set(template_step_ids)
    counted = {**map_data, "steps": [step for step in map_data["steps"] if step["id"] not in untouched]}
    checks = [
        _header_filled(counted),
        _steps_have_owner_and_due_date(counted),
        _no_overdue_steps(counted, today),
        _residents_involved(counted),
        _influential_stakeholders_engaged(counted),
    ]
    if counted.get("theme") == "waste_sorting":
        checks.append(_waste_fractions_and_places(counted))
    if counted.get("theme") == "landscaping":
        checks.append(_landscaping_approval_step(counted))
    left_out = [step["id"] for step in map_data["steps"] if step["id"] in untouched]
    return Readiness(checks, left_out)


def _header_filled(map_data: dict) -> Check:
    missing = [name for name in ("problem", "goal", "territory") if not map_data.get(name, "").strip()]
    return Check("header_filled", not missing, missing)


def _steps_have_owner_and_due_date(map_data: dict) -> Check:
    # A plan without steps is not ready, so no steps fails rather than not applying.
    failing = [step["id"] for step in map_data["steps"] if not step.get("owner") or not step.get("due_on")]
    return Check("steps_have_owner_and_due_date", bool(map_data["steps"]) and not failing, failing)


def _no_overdue_steps(map_data: dict, today: date) -> Check:
    dated = [step for step in map_data["steps"] if step.get("due_on") and step.get("status") != "done"]
    if not dated:
        return _nothing_to_check("no_overdue_steps")
    failing = [step["id"] for step in dated if date.fromisoformat(step["due_on"]) < today]
    return Check("no_overdue_steps", not failing, failing)


def _stakeholders_of_sector(map_data: dict, sector: str) -> set[str]:
    return {item["id"] for item in map_data["stakeholders"] if item.get("sector") == sector}


def _steps_with(map_data: dict, stakeholder_ids: set[str]) -> list[dict]:
    """Steps that involve or are owned by one of the stakeholders."""
    return [
        step
        for step in map_data["steps"]
        if stakeholder_ids & set(step["stakeholder_ids"])
        or (step.get("owner") or {}).get("stakeholder") in stakeholder_ids
    ]


def _residents_involved(map_data: dict) -> Check:
    return Check("residents_involved", bool(_steps_with(map_data, _stakeholders_of_sector(map_data, "residents"))))


def _influential_stakeholders_engaged(map_data: dict) -> Check:
    influential = [item for item in map_data["stakeholders"] if (item.get("influence") or 0) >= INFLUENTIAL]
    if not influential:
        return _nothing_to_check("influential_stakeholders_engaged")
    linked = {stakeholder_id for step in map_data["steps"] for stakeholder_id in step["stakeholder_ids"]}
    failing = [
        item["id"] for item in influential if item["id"] not in linked or item["engagement"] not in ENGAGED_ENOUGH
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
    administration = _stakeholders_of_sector(map_data, "administration")
    approved = any(
        APPROVAL.search((step.get("title", "") + " " + step.get("description", "")).lower())
        for step in _steps_with(map_data, administration)
    )
    return Check("landscaping_approval_step", approved)
