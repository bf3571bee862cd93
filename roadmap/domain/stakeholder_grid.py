"""The power/interest grid: stakeholders placed by influence (power) and interest, 1-5 each.

A score of 4 or 5 is high on either axis, as the readiness checks count influence
(readiness.INFLUENTIAL); 1-3 is low. The four quadrants say, in plain words, how
much attention a stakeholder needs. A stakeholder with both scores high whom the
group only informs is flagged: those are the people who can stop the project.
A stakeholder missing either score is not placed; it waits beside the grid.
static/js/stakeholder_grid.js draws the same grid in the editor, by the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from roadmap.domain.errors import N_
from roadmap.domain.readiness import INFLUENTIAL

HIGH = INFLUENTIAL
SCORES = (1, 2, 3, 4, 5)

# Quadrant keys by (high influence, high interest).
QUADRANT_BY_HALVES = {
    (True, True): "manage_closely",
    (True, False): "keep_satisfied",
    (False, True): "keep_informed",
    (False, False): "monitor",
}
QUADRANT_NAMES = {
    "manage_closely": N_("Manage closely"),
    "keep_satisfied": N_("Keep satisfied"),
    "keep_informed": N_("Keep informed"),
    "monitor": N_("Monitor"),
}
QUADRANT_ADVICE = {
    "manage_closely": N_("Work with them on the steps and agree decisions together."),
    "keep_satisfied": N_("Ask their opinion before deciding, and do not let them be surprised."),
    "keep_informed": N_("Tell them regularly how it goes and invite them to help."),
    "monitor": N_("Watch for changes; a short notice now and then is enough."),
}
ONLY_INFORMED_WARNING = N_(
    "Influential and interested, yet only informed: involve them more, or they may block the project."
)


def quadrant(stakeholder: dict) -> str | None:
    """The stakeholder's quadrant key, or None while either score is unset."""
    return quadrant_at(stakeholder.get("influence"), stakeholder.get("interest"))


def quadrant_at(influence: int | None, interest: int | None) -> str | None:
    """The quadrant key of a cell of the grid; None while either score is unset."""
    if influence is None or interest is None:
        return None
    return QUADRANT_BY_HALVES[(influence >= HIGH, interest >= HIGH)]


def only_informed(stakeholder: dict) -> bool:
    """Influential and interested, and engaged no further than «informing»."""
    return quadrant(stakeholder) == "manage_closely" and stakeholder.get("engagement") == "inform"


@dataclass
class Grid:
    """The stakeholders in their cells, by (influence, interest); those not placed yet; the flagged."""

    cells: dict[tuple[int, int], list[dict]] = field(default_factory=dict)
    waiting: list[dict] = field(default_factory=list)
    flagged: list[dict] = field(default_factory=list)

    def at(self, influence: int, interest: int) -> list[dict]:
        return self.cells.get((influence, interest), [])

    @property
    def placed(self) -> bool:
        return bool(self.cells)


def arrange(stakeholders: list[dict]) -> Grid:
    grid = Grid()
    for stakeholder in stakeholders:
        if quadrant(stakeholder) is None:
            grid.waiting.append(stakeholder)
            continue
        grid.cells.setdefault((stakeholder["influence"], stakeholder["interest"]), []).append(stakeholder)
        if only_informed(stakeholder):
            grid.flagged.append(stakeholder)
    return grid
