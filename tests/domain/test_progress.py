"""Progress of a road map and what changed since the training, on plain map data."""

from dataclasses import fields
from datetime import date

import pytest

from roadmap.domain.progress import CHANGE_LABELS, Comparison, StepChange, StepRef, compare, progress

TODAY = date(2027, 5, 1)


def make_map(steps=()):
    return {
        "id": 1,
        "revision": 0,
        "title": "Раздельный сбор",
        "problem": "",
        "goal": "",
        "territory": "",
        "theme": "other",
        "expected_results": "",
        "locked": False,
        "steps": list(steps),
        "stakeholders": [],
    }


def step(step_id="s1", title="Шаг", status="planned", progress=None, due_on=None, owner=None):
    return {
        "id": step_id,
        "position": 1,
        "title": title,
        "description": "",
        "owner": owner,
        "starts_on": None,
        "due_on": due_on,
        "status": status,
        "progress": progress,
        "resources": "",
        "success_measure": "",
        "stakeholder_ids": [],
    }


def ids(steps):
    return [item["id"] for item in steps]


def test_a_map_without_steps_is_at_zero_percent():
    result = progress(make_map(), TODAY)
    assert (result.percent, result.done, result.total) == (0, 0, 0)
    assert result.overdue == [] and result.next_steps == []


def test_a_map_with_every_step_done_is_at_one_hundred_percent():
    assert progress(make_map([step("a", status="done"), step("b", status="done")]), TODAY).percent == 100


def test_a_done_step_counts_fully_whatever_percent_it_was_left_at():
    assert progress(make_map([step(status="done", progress=30)]), TODAY).percent == 100


def test_percent_averages_done_steps_and_entered_percents():
    steps = [
        step("a", status="done"),
        step("b", status="in_progress", progress=40),
        step("c", status="planned", progress=10),
        step("d", status="planned"),
    ]
    assert progress(make_map(steps), TODAY).percent == 37  # (100 + 40 + 10 + 0) / 4 = 37.5, rounded down


def test_in_progress_without_a_percent_counts_nothing():
    assert progress(make_map([step("a", status="done"), step("b", status="in_progress")]), TODAY).percent == 50


def test_a_blocked_step_keeps_the_percent_already_done():
    assert (
        progress(make_map([step("a", status="blocked", progress=60), step("b", status="blocked")]), TODAY).percent == 30
    )


def test_a_step_not_marked_done_never_counts_as_finished():
    assert progress(make_map([step(status="in_progress", progress=100)]), TODAY).percent == 99


def test_the_plan_shows_one_hundred_only_when_every_step_is_done():
    steps = [step(f"d{number}", status="done") for number in range(199)] + [step("last", status="planned")]
    assert progress(make_map(steps), TODAY).percent == 99


def test_counts_cover_every_status_in_vocabulary_order():
    steps = [
        step("a", status="done"),
        step("b", status="blocked"),
        step("c", status="done"),
        step("d", status="planned"),
    ]
    result = progress(make_map(steps), TODAY)
    assert list(result.by_status.items()) == [("planned", 1), ("in_progress", 0), ("done", 2), ("blocked", 1)]
    assert (result.done, result.total) == (2, 4)


@pytest.mark.parametrize(
    ("due_on", "status", "overdue"),
    [
        ("2027-04-30", "planned", True),
        ("2027-04-30", "blocked", True),
        ("2027-05-01", "in_progress", False),
        ("2027-04-01", "done", False),
        (None, "planned", False),
    ],
)
def test_unfinished_steps_past_their_due_date_are_overdue(due_on, status, overdue):
    result = progress(make_map([step(due_on=due_on, status=status)]), TODAY)
    assert (result.overdue != []) is overdue


def test_overdue_steps_are_the_step_dicts_in_map_order():
    late, early = step("late", due_on="2027-04-30"), step("early", due_on="2027-01-10")
    result = progress(make_map([late, step("fine", due_on="2027-06-01"), early]), TODAY)
    assert result.overdue == [late, early]


def test_next_steps_are_unfinished_steps_by_due_date_with_undated_last_in_map_order():
    steps = [
        step("undated1"),
        step("june", due_on="2027-06-01"),
        step("done", status="done", due_on="2027-01-01"),
        step("may", due_on="2027-05-20", status="blocked"),
        step("undated2"),
        step("june_too", due_on="2027-06-01"),
    ]
    assert ids(progress(make_map(steps), TODAY, next_limit=10).next_steps) == [
        "may",
        "june",
        "june_too",
        "undated1",
        "undated2",
    ]


def test_next_steps_leave_out_the_overdue_steps_listed_on_their_own():
    steps = [step("soon", due_on="2027-05-02"), step("late", due_on="2027-04-01")]
    result = progress(make_map(steps), TODAY)
    assert ids(result.next_steps) == ["soon"] and ids(result.overdue) == ["late"]


def test_next_steps_are_limited_to_three_by_default():
    steps = [step(f"s{number}", due_on=f"2027-06-0{number}") for number in range(1, 6)]
    assert ids(progress(make_map(steps), TODAY).next_steps) == ["s1", "s2", "s3"]


def test_a_finished_map_has_no_next_steps():
    assert progress(make_map([step(status="done")]), TODAY).next_steps == []


def test_an_unchanged_map_gives_an_empty_comparison():
    baseline = make_map([step("a", due_on="2027-06-01", owner={"member": 3}), step("b")])
    result = compare(baseline, make_map([step("a", due_on="2027-06-01", owner={"member": 3}), step("b")]))
    assert result.is_empty
    assert result == Comparison([], [], [], [], [], [])


def test_a_step_only_in_the_current_map_is_added():
    result = compare(make_map([step("a")]), make_map([step("a"), step("new", title="Субботник")]))
    assert result.added == [StepRef("new", "Субботник")]
    assert not result.is_empty


def test_a_step_only_in_the_baseline_is_removed_under_its_baseline_title():
    result = compare(make_map([step("a"), step("gone", title="Листовки")]), make_map([step("a")]))
    assert result.removed == [StepRef("gone", "Листовки")] and result.added == []


def test_a_step_deleted_and_added_again_shows_as_removed_and_added():
    result = compare(make_map([step("old", title="Встреча с УК")]), make_map([step("new", title="Встреча с УК")]))
    assert result.removed == [StepRef("old", "Встреча с УК")]
    assert result.added == [StepRef("new", "Встреча с УК")]


def test_a_step_done_now_and_not_in_the_baseline_is_done_since():
    baseline = make_map([step("a", status="in_progress"), step("b", status="done"), step("c")])
    current = make_map([step("a", status="done"), step("b", status="done"), step("c", status="blocked")])
    assert compare(baseline, current).done_since == [StepRef("a", "Шаг")]


def test_a_step_added_and_done_after_the_training_is_added_and_done_since():
    result = compare(make_map(), make_map([step("new", status="done")]))
    assert result.added == result.done_since == [StepRef("new", "Шаг")]


def test_a_moved_deadline_shows_old_and_new_date():
    result = compare(make_map([step(due_on="2027-05-15")]), make_map([step(due_on="2027-06-30")]))
    assert result.moved_deadlines == [StepChange("s1", "Шаг", "2027-05-15", "2027-06-30")]


def test_a_deadline_set_after_the_training_shows_none_to_the_date():
    result = compare(make_map([step()]), make_map([step(due_on="2027-06-30")]))
    assert result.moved_deadlines == [StepChange("s1", "Шаг", None, "2027-06-30")]


def test_a_cleared_deadline_shows_the_old_date_to_none():
    result = compare(make_map([step(due_on="2027-05-15")]), make_map([step()]))
    assert result.moved_deadlines == [StepChange("s1", "Шаг", "2027-05-15", None)]


def test_an_owner_changed_from_a_member_to_text_shows_both_owners():
    result = compare(make_map([step(owner={"member": 7})]), make_map([step(owner={"text": "Совет дома"})]))
    assert result.changed_owners == [StepChange("s1", "Шаг", {"member": 7}, {"text": "Совет дома"})]


def test_an_owner_set_or_removed_is_a_changed_owner():
    assert compare(make_map([step()]), make_map([step(owner={"stakeholder": "k1"})])).changed_owners == [
        StepChange("s1", "Шаг", None, {"stakeholder": "k1"}),
    ]
    assert compare(make_map([step(owner={"member": 7})]), make_map([step()])).changed_owners == [
        StepChange("s1", "Шаг", {"member": 7}, None),
    ]


def test_a_renamed_step_shows_old_and_new_title():
    result = compare(make_map([step(title="Опрос")]), make_map([step(title="Опрос жителей дома 14")]))
    assert result.renamed == [StepChange("s1", "Опрос жителей дома 14", "Опрос", "Опрос жителей дома 14")]


def test_a_step_renamed_and_done_is_listed_in_both():
    result = compare(make_map([step(title="Опрос")]), make_map([step(title="Опрос жителей", status="done")]))
    assert result.renamed == [StepChange("s1", "Опрос жителей", "Опрос", "Опрос жителей")]
    assert result.done_since == [StepRef("s1", "Опрос жителей")]


def test_changes_are_listed_in_current_map_order():
    baseline = make_map([step("a", due_on="2027-05-01"), step("b", due_on="2027-05-02")])
    current = make_map([step("b", due_on="2027-06-02"), step("a", due_on="2027-06-01")])
    assert [change.step_id for change in compare(baseline, current).moved_deadlines] == ["b", "a"]


def test_every_comparison_category_has_a_label():
    assert set(CHANGE_LABELS) == {item.name for item in fields(Comparison)}
