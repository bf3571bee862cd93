"""The readiness check, check by check, on plain map data."""
from datetime import date

import pytest

from roadmap.domain.readiness import assess

TODAY = date(2027, 5, 1)


def make_map(theme="other", steps=(), stakeholders=(), **header):
    return {
        "title": "", "problem": "Проблема", "goal": "Цель", "territory": "Двор", "expected_results": "",
        "theme": theme, **header, "steps": list(steps), "stakeholders": list(stakeholders),
    }


def step(step_id="s1", title="Шаг", owner=None, due_on=None, status="planned", stakeholder_ids=(), description=""):
    return {"id": step_id, "title": title, "owner": owner, "due_on": due_on, "status": status,
            "stakeholder_ids": list(stakeholder_ids), "description": description, "resources": ""}


def stakeholder(stakeholder_id="k1", sector="residents", influence=3, engagement="inform"):
    return {"id": stakeholder_id, "name": "Кто-то", "sector": sector, "influence": influence,
            "interest": 3, "engagement": engagement}


def check(map_data, code):
    return next(item for item in assess(map_data, TODAY).checks if item.code == code)


def test_header_check_names_the_empty_header_fields():
    result = check(make_map(problem=" ", territory=""), "header_filled")
    assert not result.passed and result.failing_ids == ["problem", "territory"]


def test_header_check_passes_when_problem_goal_and_territory_are_filled():
    assert check(make_map(), "header_filled").passed


def test_steps_without_owner_or_due_date_are_pointed_at():
    steps = [step("a", owner={"member": 1}, due_on="2027-06-01"), step("b", owner={"text": "управа"}), step("c", due_on="2027-06-01")]
    result = check(make_map(steps=steps), "steps_have_owner_and_due_date")
    assert not result.passed and result.failing_ids == ["b", "c"]


def test_a_map_without_steps_does_not_pass_the_owner_check():
    assert not check(make_map(), "steps_have_owner_and_due_date").passed


@pytest.mark.parametrize(("due_on", "status", "passed"), [
    ("2027-04-30", "planned", False),
    ("2027-04-30", "done", True),
    ("2027-05-01", "in_progress", True),
    (None, "planned", True),
])
def test_unfinished_steps_past_their_due_date_fail(due_on, status, passed):
    assert check(make_map(steps=[step(due_on=due_on, status=status)]), "no_overdue_steps").passed is passed


def test_residents_count_as_involved_when_linked_or_owning_a_step():
    residents = stakeholder("r", sector="residents")
    assert not check(make_map(steps=[step()], stakeholders=[residents]), "residents_involved").passed
    assert check(make_map(steps=[step(stakeholder_ids=["r"])], stakeholders=[residents]), "residents_involved").passed
    assert check(make_map(steps=[step(owner={"stakeholder": "r"})], stakeholders=[residents]), "residents_involved").passed


@pytest.mark.parametrize(("influence", "linked", "engagement", "passed"), [
    (5, True, "collaborate", True),
    (4, True, "consult", False),
    (5, False, "empower", False),
    (3, False, "inform", True),
])
def test_influential_stakeholders_must_be_linked_and_involved(influence, linked, engagement, passed):
    powerful = stakeholder("p", sector="administration", influence=influence, engagement=engagement)
    steps = [step(stakeholder_ids=["p"] if linked else [])]
    assert check(make_map(steps=steps, stakeholders=[powerful]), "influential_stakeholders_engaged").passed is passed


def test_waste_sorting_map_must_name_fractions_and_container_places():
    vague = make_map(theme="waste_sorting", steps=[step(title="Поговорить с жителями")])
    specific = make_map(theme="waste_sorting", steps=[step(title="Поставить контейнеры для пластика и стекла у дома 14")])
    assert not check(vague, "waste_fractions_and_places").passed
    assert check(specific, "waste_fractions_and_places").passed


@pytest.mark.parametrize("title", ["ПЛАСТИК И СТЕКЛО: Контейнеры во дворе", "Glass and Paper at the Collection Point"])
def test_waste_words_are_found_whatever_their_case(title):
    assert check(make_map(theme="waste_sorting", steps=[step(title=title)]), "waste_fractions_and_places").passed


def test_landscaping_map_needs_an_approval_step_with_the_administration():
    administration = stakeholder("adm", sector="administration")
    without = make_map(theme="landscaping", stakeholders=[administration], steps=[step(title="Согласование эскиза")])
    with_it = make_map(theme="landscaping", stakeholders=[administration],
                       steps=[step(title="Согласование эскиза", stakeholder_ids=["adm"])])
    assert not check(without, "landscaping_approval_step").passed
    assert check(with_it, "landscaping_approval_step").passed


def test_theme_checks_apply_only_to_their_theme():
    codes = {item.code for item in assess(make_map(theme="other"), TODAY).checks}
    assert "waste_fractions_and_places" not in codes and "landscaping_approval_step" not in codes


def test_score_is_the_percentage_of_applicable_checks_passed():
    residents = stakeholder("r", sector="residents")
    map_data = make_map(steps=[step(owner={"member": 1}, due_on="2027-06-01", stakeholder_ids=["r"])], stakeholders=[residents])
    assert assess(map_data, TODAY).score == 100
    assert assess(make_map(problem=""), TODAY).score == 40  # 2 of 5: no overdue, no influential stakeholders
