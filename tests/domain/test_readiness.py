"""The readiness check, check by check, on plain map data, and on a map filled from a template."""

import uuid
from datetime import date

import pytest

from roadmap.domain.readiness import HINTS, LABELS, assess
from roadmap.services import dashboard, editing, map_templates, snapshots

TODAY = date(2027, 5, 1)


def make_map(theme="other", steps=(), stakeholders=(), **header):
    return {
        "title": "",
        "problem": "Проблема",
        "goal": "Цель",
        "territory": "Двор",
        "expected_results": "",
        "theme": theme,
        **header,
        "steps": list(steps),
        "stakeholders": list(stakeholders),
    }


def step(step_id="s1", title="Шаг", owner=None, due_on=None, status="planned", stakeholder_ids=(), description=""):
    return {
        "id": step_id,
        "title": title,
        "owner": owner,
        "due_on": due_on,
        "status": status,
        "stakeholder_ids": list(stakeholder_ids),
        "description": description,
        "resources": "",
    }


def stakeholder(stakeholder_id="k1", sector="residents", influence=3, engagement="inform", interest=3):
    return {
        "id": stakeholder_id,
        "name": "Кто-то",
        "sector": sector,
        "influence": influence,
        "interest": interest,
        "engagement": engagement,
    }


def check(map_data, code):
    return next(item for item in assess(map_data, TODAY).checks if item.code == code)


def test_header_check_names_the_empty_header_fields():
    result = check(make_map(problem=" ", territory=""), "header_filled")
    assert not result.passed and result.failing_ids == ["problem", "territory"]


def test_header_check_passes_when_problem_goal_and_territory_are_filled():
    assert check(make_map(), "header_filled").passed


def test_steps_without_owner_or_due_date_are_pointed_at():
    steps = [
        step("a", owner={"member": 1}, due_on="2027-06-01"),
        step("b", owner={"text": "управа"}),
        step("c", due_on="2027-06-01"),
    ]
    result = check(make_map(steps=steps), "steps_have_owner_and_due_date")
    assert not result.passed and result.failing_ids == ["b", "c"]


def test_a_map_without_steps_does_not_pass_the_owner_check():
    assert not check(make_map(), "steps_have_owner_and_due_date").passed


@pytest.mark.parametrize(
    ("due_on", "status", "passed"),
    [
        ("2027-04-30", "planned", False),
        ("2027-05-01", "in_progress", True),
    ],
)
def test_unfinished_steps_past_their_due_date_fail(due_on, status, passed):
    assert check(make_map(steps=[step(due_on=due_on, status=status)]), "no_overdue_steps").passed is passed


@pytest.mark.parametrize(("due_on", "status"), [(None, "planned"), ("2027-04-30", "done")])
def test_without_an_unfinished_dated_step_lateness_has_nothing_to_check(due_on, status):
    result = check(make_map(steps=[step(due_on=due_on, status=status)]), "no_overdue_steps")
    assert not result.applicable and not result.passed


def test_residents_count_as_involved_when_linked_or_owning_a_step():
    residents = stakeholder("r", sector="residents")
    assert not check(make_map(steps=[step()], stakeholders=[residents]), "residents_involved").passed
    assert check(make_map(steps=[step(stakeholder_ids=["r"])], stakeholders=[residents]), "residents_involved").passed
    assert check(
        make_map(steps=[step(owner={"stakeholder": "r"})], stakeholders=[residents]), "residents_involved"
    ).passed


@pytest.mark.parametrize(
    ("influence", "linked", "engagement", "passed"),
    [
        (5, True, "collaborate", True),
        (4, True, "consult", False),
        (5, False, "empower", False),
    ],
)
def test_influential_stakeholders_must_be_linked_and_involved(influence, linked, engagement, passed):
    powerful = stakeholder("p", sector="administration", influence=influence, engagement=engagement)
    steps = [step(stakeholder_ids=["p"] if linked else [])]
    assert check(make_map(steps=steps, stakeholders=[powerful]), "influential_stakeholders_engaged").passed is passed


def test_waste_sorting_map_must_name_fractions_and_container_places():
    vague = make_map(theme="waste_sorting", steps=[step(title="Поговорить с жителями")])
    specific = make_map(
        theme="waste_sorting", steps=[step(title="Поставить контейнеры для пластика и стекла у дома 14")]
    )
    assert not check(vague, "waste_fractions_and_places").passed
    assert check(specific, "waste_fractions_and_places").passed


@pytest.mark.parametrize("title", ["ПЛАСТИК И СТЕКЛО: Контейнеры во дворе", "Glass and Paper at the Collection Point"])
def test_waste_words_are_found_whatever_their_case(title):
    assert check(make_map(theme="waste_sorting", steps=[step(title=title)]), "waste_fractions_and_places").passed


def test_landscaping_map_needs_an_approval_step_with_the_administration():
    administration = stakeholder("adm", sector="administration")
    without = make_map(theme="landscaping", stakeholders=[administration], steps=[step(title="Согласование эскиза")])
    with_it = make_map(
        theme="landscaping",
        stakeholders=[administration],
        steps=[step(title="Согласование эскиза", stakeholder_ids=["adm"])],
    )
    assert not check(without, "landscaping_approval_step").passed
    assert check(with_it, "landscaping_approval_step").passed


def test_theme_checks_apply_only_to_their_theme():
    codes = {item.code for item in assess(make_map(theme="other"), TODAY).checks}
    assert "waste_fractions_and_places" not in codes and "landscaping_approval_step" not in codes


def test_score_is_the_percentage_of_applicable_checks_passed():
    residents = stakeholder("r", sector="residents")
    map_data = make_map(steps=[step(owner={"member": 1}, stakeholder_ids=["r"])], stakeholders=[residents])
    # 2 of 3: the step has no due date; with no due date and nobody influential, two checks have nothing to check
    assert assess(map_data, TODAY).score == 67
    map_data["steps"][0]["due_on"] = "2027-06-01"
    assert assess(map_data, TODAY).score == 100


def test_an_empty_map_scores_zero_and_passes_no_check():
    readiness = assess(make_map(problem="", goal="", territory=""), TODAY)
    assert readiness.score == 0
    assert not any(item.passed for item in readiness.checks)
    assert {item.code for item in readiness.checks if not item.applicable} == {
        "no_overdue_steps",
        "influential_stakeholders_engaged",
    }


def test_nobody_with_high_influence_leaves_that_check_out_of_the_score():
    result = check(make_map(stakeholders=[stakeholder(influence=3)]), "influential_stakeholders_engaged")
    assert not result.applicable and not result.passed


def test_a_stakeholder_with_unset_sector_is_not_residents():
    unknown = stakeholder("u", sector=None, influence=None, interest=None)
    map_data = make_map(steps=[step(stakeholder_ids=["u"], owner={"stakeholder": "u"})], stakeholders=[unknown])
    assert not check(map_data, "residents_involved").passed


def test_a_stakeholder_with_unset_influence_is_not_counted_as_influential():
    unknown = stakeholder("u", sector=None, influence=None, interest=None)
    assert not check(make_map(stakeholders=[unknown]), "influential_stakeholders_engaged").applicable


def test_a_stakeholder_with_unset_sector_is_not_the_administration():
    unknown = stakeholder("u", sector=None, influence=None)
    steps = [step(title="Согласование эскиза", stakeholder_ids=["u"])]
    assert not check(
        make_map(theme="landscaping", steps=steps, stakeholders=[unknown]), "landscaping_approval_step"
    ).passed


def test_untouched_template_steps_are_left_out_of_every_check():
    residents = stakeholder("r", sector="residents")
    map_data = make_map(steps=[step("tpl", stakeholder_ids=["r"])], stakeholders=[residents])
    readiness = assess(map_data, TODAY, template_step_ids=["tpl"])
    assert readiness.template_step_ids == ["tpl"]
    assert not next(item for item in readiness.checks if item.code == "residents_involved").passed


def test_every_check_has_a_label_and_a_hint():
    codes = {
        item.code for theme in ("landscaping", "waste_sorting") for item in assess(make_map(theme=theme), TODAY).checks
    }
    assert codes == set(LABELS) == set(HINTS)


# A map filled from a template, through the real edit pipeline.


def set_owner(member, roadmap, step_id, owner):
    payload = {
        "op_id": uuid.uuid4().hex,
        "roadmap_id": roadmap.id,
        "type": "step.set",
        "step_id": step_id,
        "field": "owner",
        "value": owner,
    }
    editing.apply(payload, actor=member)


def readiness_of(roadmap) -> dict:
    return dashboard.readiness_data(snapshots.snapshot(roadmap, with_members=False), TODAY)


@pytest.mark.parametrize("template", ["landscaping", "waste_sorting"])
def test_a_fresh_template_map_scores_zero(world, training, moderator, template):
    group = world.group(training, theme=template)
    map_templates.fill(group, moderator, template, "ru")
    readiness = readiness_of(group.roadmap)
    assert readiness["score"] == 0
    assert len(readiness["template_step_ids"]) == 10
    assert not any(item["passed"] for item in readiness["checks"])


def test_setting_an_owner_on_a_template_step_makes_it_count(world, training, moderator):
    group = world.group(training, theme="landscaping")
    map_templates.fill(group, moderator, "landscaping", "ru")
    marina = world.member(group, "Марина")
    first_step = snapshots.snapshot(group.roadmap)["steps"][0]

    set_owner(marina, group.roadmap, first_step["id"], {"member": marina.id})

    readiness = readiness_of(group.roadmap)
    assert first_step["id"] not in readiness["template_step_ids"]
    assert len(readiness["template_step_ids"]) == 9
    assert {item["code"] for item in readiness["checks"] if item["passed"]} == {"residents_involved"}
    assert readiness["score"] == 20


def rename_stakeholder(member, roadmap, stakeholder_id, name):
    payload = {
        "op_id": uuid.uuid4().hex,
        "roadmap_id": roadmap.id,
        "type": "stakeholder.set",
        "stakeholder_id": stakeholder_id,
        "field": "name",
        "value": name,
    }
    editing.apply(payload, actor=member)


def test_renaming_a_template_stakeholder_does_not_make_its_steps_count(world, training, moderator):
    group = world.group(training, theme="landscaping")
    map_templates.fill(group, moderator, "landscaping", "ru")
    marina = world.member(group, "Марина")
    for stakeholder in snapshots.snapshot(group.roadmap)["stakeholders"]:
        rename_stakeholder(marina, group.roadmap, stakeholder["id"], stakeholder["name"] + " (дома 12–18)")

    readiness = readiness_of(group.roadmap)
    assert len(readiness["template_step_ids"]) == 10 and readiness["score"] == 0


def test_linking_another_stakeholder_to_a_template_step_makes_it_count(world, training, moderator):
    group = world.group(training, theme="landscaping")
    map_templates.fill(group, moderator, "landscaping", "ru")
    marina = world.member(group, "Марина")
    stakeholder_id = uuid.uuid4().hex
    editing.apply(
        {
            "op_id": uuid.uuid4().hex,
            "roadmap_id": group.roadmap.id,
            "type": "stakeholder.add",
            "stakeholder_id": stakeholder_id,
            "fields": {"name": "Школа №5"},
        },
        actor=marina,
    )
    last_step = snapshots.snapshot(group.roadmap)["steps"][-1]["id"]

    editing.apply(
        {
            "op_id": uuid.uuid4().hex,
            "roadmap_id": group.roadmap.id,
            "type": "step.link",
            "step_id": last_step,
            "stakeholder_id": stakeholder_id,
        },
        actor=marina,
    )

    assert last_step not in readiness_of(group.roadmap)["template_step_ids"]


def test_an_english_template_map_is_recognised_too(world, training, moderator):
    group = world.group(training, theme="waste_sorting")
    map_templates.fill(group, moderator, "waste_sorting", "en")
    assert len(readiness_of(group.roadmap)["template_step_ids"]) == 10
