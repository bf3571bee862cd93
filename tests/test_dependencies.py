"""Finish-to-start dependencies between steps (domain/dependencies.py): cycles refused and named,
steps starting before a predecessor is due flagged, and what one click's shift moves."""
import pytest

from roadmap.domain.dependencies import cycle_through, shifted_dates, starting_too_early

# «Согласовать площадку» (agree) before «Поставить контейнеры» (containers) before «Праздник» (party).
CHAIN = {"containers": {"agree"}, "party": {"containers"}}


def step(step_id, starts_on=None, due_on=None):
    return {"id": step_id, "starts_on": starts_on, "due_on": due_on}


@pytest.mark.parametrize(("step_id", "depends_on_id", "cycle"), [
    ("agree", "party", ["agree", "party", "containers", "agree"]),
    ("agree", "containers", ["agree", "containers", "agree"]),
    ("agree", "agree", ["agree", "agree"]),
    ("party", "agree", None),  # a shortcut along the chain's own direction is fine
    ("survey", "party", None),
])
def test_a_dependency_that_closes_a_cycle_is_found_with_its_steps(step_id, depends_on_id, cycle):
    assert cycle_through(CHAIN, step_id, depends_on_id) == cycle


def test_a_long_chain_is_searched_without_recursion():
    chain = {f"s{number}": {f"s{number - 1}"} for number in range(1, 5000)}
    assert len(cycle_through(chain, "s0", "s4999")) == 5001


def test_a_step_starting_before_its_predecessor_is_due_is_flagged_and_the_same_day_is_not():
    steps = [step("agree", "2027-05-01", "2027-05-20"), step("containers", "2027-05-10", "2027-06-01"),
             step("party", "2027-06-01", "2027-06-01"), step("undated")]
    dependencies = {**CHAIN, "undated": {"agree"}}
    assert starting_too_early(steps, dependencies) == [("containers", "agree")]


def test_a_step_without_a_start_is_compared_by_its_due_date():
    steps = [step("agree", None, "2027-05-20"), step("containers", None, "2027-05-19")]
    assert starting_too_early(steps, {"containers": {"agree"}}) == [("containers", "agree")]


def test_the_shift_moves_the_step_to_its_predecessors_due_date_keeping_its_length():
    steps = [step("agree", "2027-05-01", "2027-05-20"), step("containers", "2027-05-10", "2027-06-01"),
             step("party", "2027-06-01", "2027-06-01")]
    assert shifted_dates(steps, CHAIN, "containers") == {
        "containers": {"starts_on": "2027-05-20", "due_on": "2027-06-11"}}


def test_with_followers_every_step_after_it_that_would_start_too_early_moves_on():
    steps = [step("agree", "2027-05-01", "2027-05-20"), step("containers", "2027-05-10", "2027-06-01"),
             step("party", "2027-06-01", "2027-06-01"), step("report", "2027-07-01", "2027-07-10")]
    dependencies = {**CHAIN, "report": {"containers"}}
    assert shifted_dates(steps, dependencies, "containers", with_followers=True) == {
        "containers": {"starts_on": "2027-05-20", "due_on": "2027-06-11"},
        "party": {"starts_on": "2027-06-11", "due_on": "2027-06-11"},
        # «report» starts 1 July, after the new due date: it stays.
    }


def test_a_step_that_starts_late_enough_moves_nothing():
    steps = [step("agree", "2027-05-01", "2027-05-20"), step("containers", "2027-05-20", "2027-06-01")]
    assert shifted_dates(steps, {"containers": {"agree"}}, "containers", with_followers=True) == {}
