"""The timeline as pages without scripts draw it (the PDF, the DOCX, the shared link): each
dated step's bar as a share of the whole span, the months along the top, today's line, and
the steps without dates listed beside. The editor draws the same picture in the browser
(static/js/timeline.js), where bars are dragged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from roadmap.domain.dependencies import due_of, start_of, starting_too_early

DONE_STATUSES = frozenset({"done"})
# Days shown before the earliest and after the latest date, so no bar touches an edge.
MARGIN_DAYS = 3


@dataclass(frozen=True)
class Bar:
    number: int  # the step's number, as the map lists it
    title: str
    starts_on: date
    due_on: date  # the last day the bar covers
    left: float  # percent of the span
    width: float
    done: bool
    overdue: bool
    too_early: bool  # starts before a step it waits for is due
    waits_for: tuple[int, ...]  # the numbers of the steps it waits for


@dataclass(frozen=True)
class Timeline:
    bars: list[Bar]
    undated: list[tuple[int, str]]  # (number, title) of the steps without dates
    months: list[tuple[date, float]]  # the first of each month in the span, and where it falls (percent)
    today_at: float | None  # where today's line falls (percent), or None when outside the span

    @property
    def has_dependencies(self) -> bool:
        return any(bar.waits_for for bar in self.bars)


def lay_out(steps: list[dict], today: date) -> Timeline:
    """The timeline of steps in map order (snapshot form: starts_on, due_on, status, depends_on)."""
    numbers = {step["id"]: number for number, step in enumerate(steps, 1)}
    early = {step_id for step_id, _predecessor in starting_too_early(steps, _dependencies(steps))}
    spans = {step["id"]: _span(step) for step in steps}
    dated = [step for step in steps if spans[step["id"]]]
    undated = [(numbers[step["id"]], step["title"]) for step in steps if not spans[step["id"]]]
    if not dated:
        return Timeline(bars=[], undated=undated, months=[], today_at=None)
    first = min(spans[step["id"]][0] for step in dated) - timedelta(days=MARGIN_DAYS)
    last = max(spans[step["id"]][1] for step in dated) + timedelta(days=MARGIN_DAYS)
    length = (last - first).days + 1

    def at(day: date) -> float:
        return round(100 * (day - first).days / length, 3)

    bars = []
    for step in dated:
        start, end = spans[step["id"]]
        done = step["status"] in DONE_STATUSES
        bars.append(
            Bar(
                number=numbers[step["id"]],
                title=step["title"],
                starts_on=start,
                due_on=end,
                left=at(start),
                width=round(100 * ((end - start).days + 1) / length, 3),
                done=done,
                overdue=not done and step.get("due_on") is not None and end < today,
                too_early=step["id"] in early,
                waits_for=tuple(sorted(numbers[id_] for id_ in step.get("depends_on", ()) if id_ in numbers)),
            )
        )
    months = [(day, at(day)) for day in _month_starts(first, last)]
    return Timeline(bars=bars, undated=undated, months=months, today_at=at(today) if first <= today <= last else None)


def _span(step: dict) -> tuple[date, date] | None:
    start = start_of(step)
    if start is None:
        return None
    end = due_of(step) or start
    return min(start, end), max(start, end)


def _dependencies(steps: list[dict]) -> dict[str, set[str]]:
    return {step["id"]: set(step.get("depends_on", ())) for step in steps}


def _month_starts(first: date, last: date) -> list[date]:
    day = first.replace(day=1)
    starts = []
    while day <= last:
        if day >= first:
            starts.append(day)
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return starts
