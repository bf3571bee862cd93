"""Finish-to-start dependencies between steps: cycles refused and named, steps starting before a
predecessor is due flagged, and what one click's shift moves. The server's rules
(roadmap/domain/dependencies.py) and the browser's (static/js/dependencies.js, run here in Node)
answer the same cases alike; the shift is the browser's alone, as only a click makes one."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from roadmap.domain.dependencies import cycle_through, starting_too_early

BROWSER_RULES = (Path(__file__).resolve().parents[2] / "static" / "js" / "dependencies.js").as_uri()
# «Согласовать площадку» (agree) before «Поставить контейнеры» (containers) before «Праздник» (party).
CHAIN = {"containers": {"agree"}, "party": {"containers"}}


def step(step_id, starts_on=None, due_on=None):
    return {"id": step_id, "starts_on": starts_on, "due_on": due_on}


def with_dependencies(steps: list[dict], dependencies: dict) -> list[dict]:
    """The steps as the browser holds them: each with its depends_on."""
    return [{**item, "depends_on": sorted(dependencies.get(item["id"], ()))} for item in steps]


def in_browser(call: str, **arguments):
    """`call` (an expression over `rules` and `arguments`) evaluated by the browser's module in Node."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node is not installed (make install-test installs the browser libraries with it)")
    script = (
        f"import * as rules from {json.dumps(BROWSER_RULES)};\n"
        "const arguments_ = JSON.parse(process.argv[1]);\n"
        f"console.log(JSON.stringify((({', '.join(arguments)}) => {call})"
        f"({', '.join(f'arguments_.{name}' for name in arguments)})));"
    )
    completed = subprocess.run(
        [node, "--input-type=module", "-e", script, json.dumps(arguments)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(completed.stdout)


@pytest.mark.parametrize(
    ("step_id", "depends_on_id", "cycle"),
    [
        ("agree", "party", ["agree", "party", "containers", "agree"]),
        ("agree", "containers", ["agree", "containers", "agree"]),
        ("agree", "agree", ["agree", "agree"]),
        ("party", "agree", None),  # a shortcut along the chain's own direction is fine
        ("survey", "party", None),
    ],
)
def test_a_dependency_that_closes_a_cycle_is_found_with_its_steps(step_id, depends_on_id, cycle):
    assert cycle_through(CHAIN, step_id, depends_on_id) == cycle
    steps = with_dependencies([step(name) for name in ("agree", "containers", "party", "survey")], CHAIN)
    assert in_browser("rules.cycleThrough(steps, a, b)", steps=steps, a=step_id, b=depends_on_id) == cycle


def test_a_long_chain_is_searched_without_recursion():
    chain = {f"s{number}": {f"s{number - 1}"} for number in range(1, 5000)}
    assert len(cycle_through(chain, "s0", "s4999")) == 5001


def test_a_step_starting_before_its_predecessor_is_due_is_flagged_and_the_same_day_is_not():
    steps = [
        step("agree", "2027-05-01", "2027-05-20"),
        step("containers", "2027-05-10", "2027-06-01"),
        step("party", "2027-06-01", "2027-06-01"),
        step("undated"),
    ]
    dependencies = {**CHAIN, "undated": {"agree"}}
    assert starting_too_early(steps, dependencies) == [("containers", "agree")]
    flagged = in_browser(
        "rules.startingTooEarly(steps).map((flag) => [flag.step.id, flag.predecessor.id])",
        steps=with_dependencies(steps, dependencies),
    )
    assert flagged == [["containers", "agree"]]


def test_a_step_without_a_start_is_compared_by_its_due_date():
    steps = [step("agree", None, "2027-05-20"), step("containers", None, "2027-05-19")]
    assert starting_too_early(steps, {"containers": {"agree"}}) == [("containers", "agree")]
    flagged = in_browser(
        "rules.startingTooEarly(steps).length", steps=with_dependencies(steps, {"containers": {"agree"}})
    )
    assert flagged == 1


def test_the_shift_moves_the_step_to_its_predecessors_due_date_keeping_its_length():
    steps = [
        step("agree", "2027-05-01", "2027-05-20"),
        step("containers", "2027-05-10", "2027-06-01"),
        step("party", "2027-06-01", "2027-06-01"),
    ]
    assert in_browser("rules.shiftOps(steps, 'containers')", steps=with_dependencies(steps, CHAIN)) == [
        {"type": "step.set", "step_id": "containers", "field": "starts_on", "value": "2027-05-20"},
        {"type": "step.set", "step_id": "containers", "field": "due_on", "value": "2027-06-11"},
    ]


def test_with_followers_every_step_after_it_that_would_start_too_early_moves_on():
    steps = [
        step("agree", "2027-05-01", "2027-05-20"),
        step("containers", "2027-05-10", "2027-06-01"),
        step("party", "2027-06-01", "2027-06-01"),
        step("report", "2027-07-01", "2027-07-10"),
    ]
    dependencies = {**CHAIN, "report": {"containers"}}
    assert in_browser(
        "rules.shiftedDates(steps, 'containers', true)", steps=with_dependencies(steps, dependencies)
    ) == {
        "containers": {"starts_on": "2027-05-20", "due_on": "2027-06-11"},
        "party": {"starts_on": "2027-06-11", "due_on": "2027-06-11"},
        # «report» starts 1 July, after the new due date: it stays.
    }


def test_a_step_that_starts_late_enough_moves_nothing():
    steps = [step("agree", "2027-05-01", "2027-05-20"), step("containers", "2027-05-20", "2027-06-01")]
    assert (
        in_browser(
            "rules.shiftedDates(steps, 'containers', true)", steps=with_dependencies(steps, {"containers": {"agree"}})
        )
        == {}
    )
