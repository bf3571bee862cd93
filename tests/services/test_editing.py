"""Every kind of edit through the one writer, editing.apply, against a real database."""

import pytest
from conftest import new_id, passwordless_moderator
from sqlalchemy import func, select

from roadmap.domain.errors import EditRejected
from roadmap.domain.merging import merge_text
from roadmap.domain.operations import STAKEHOLDER_FIELDS, STEP_FIELDS
from roadmap.extensions import db
from roadmap.models import Change, Membership, Step
from roadmap.services import access, editing
from roadmap.services.snapshots import catch_up, snapshot
from roadmap.timeutil import utcnow

on_both_databases = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def training(world):
    return world.training(passwordless_moderator())


@pytest.fixture
def group(world, training):
    return world.group(training)


@pytest.fixture
def member(world, group):
    return world.member(group)


@pytest.fixture
def roadmap(group):
    return group.roadmap


@pytest.fixture
def other_roadmap(world, training):
    """A map of another group in the same training, with one step and one stakeholder."""
    other_group = world.group(training, name="Сквер у библиотеки")
    other_member = world.member(other_group, name="Олег")
    other_map = other_group.roadmap
    add_step(other_member, other_map, title="Чужой шаг")
    add_stakeholder(other_member, other_map, name="Чужая сторона")
    return other_map


def payload(roadmap, op_type, **keys):
    return {"op_id": new_id(), "roadmap_id": roadmap.id, "type": op_type, **keys}


def edit(actor, roadmap, op_type, **keys):
    return editing.apply(payload(roadmap, op_type, **keys), actor=actor)


def add_step(actor, roadmap, title="", **keys):
    step_id = new_id()
    edit(actor, roadmap, "step.add", step_id=step_id, fields={"title": title}, **keys)
    return step_id


def add_stakeholder(actor, roadmap, name="Жители дома 5", **fields):
    stakeholder_id = new_id()
    edit(actor, roadmap, "stakeholder.add", stakeholder_id=stakeholder_id, fields={"name": name, **fields})
    return stakeholder_id


def set_step(actor, roadmap, step_id, field, value, **keys):
    return edit(actor, roadmap, "step.set", step_id=step_id, field=field, value=value, **keys)


def rejection_code(actor, roadmap, op_type, **keys):
    with pytest.raises(EditRejected) as rejection:
        edit(actor, roadmap, op_type, **keys)
    return rejection.value.code


def step_titles(roadmap):
    return [step["title"] for step in snapshot(roadmap)["steps"]]


def step_in_snapshot(roadmap, step_id):
    return next(step for step in snapshot(roadmap)["steps"] if step["id"] == step_id)


def stakeholder_in_snapshot(roadmap, stakeholder_id):
    return next(holder for holder in snapshot(roadmap)["stakeholders"] if holder["id"] == stakeholder_id)


def stakeholder_fields(roadmap, stakeholder_id):
    holder = stakeholder_in_snapshot(roadmap, stakeholder_id)
    return {name: holder[name] for name in STAKEHOLDER_FIELDS}


def changes_of(roadmap):
    return db.session.scalars(select(Change).where(Change.roadmap_id == roadmap.id).order_by(Change.revision)).all()


def change_count(roadmap):
    return db.session.scalar(select(func.count(Change.id)).where(Change.roadmap_id == roadmap.id))


# --- the map -----------------------------------------------------------------


@on_both_databases
@pytest.mark.parametrize(
    "field, value",
    [
        ("title", "Раздельный сбор на улице Мира"),
        ("problem", "Контейнеры переполнены,\nвторсырьё уходит на полигон."),
        ("theme", "landscaping"),
    ],
)
def test_map_set_changes_a_map_field(member, roadmap, field, value):
    edit(member, roadmap, "map.set", field=field, value=value)

    assert snapshot(roadmap)[field] == value


# --- adding steps ------------------------------------------------------------


@on_both_databases
def test_step_add_without_after_id_puts_the_step_at_the_end(member, roadmap):
    add_step(member, roadmap, "Первый")
    add_step(member, roadmap, "Второй")

    add_step(member, roadmap, "Третий")

    assert step_titles(roadmap) == ["Первый", "Второй", "Третий"]


@on_both_databases
def test_step_add_with_null_after_id_puts_the_step_at_the_start(member, roadmap):
    add_step(member, roadmap, "Первый")
    add_step(member, roadmap, "Второй")

    add_step(member, roadmap, "Нулевой", after_id=None)

    assert step_titles(roadmap) == ["Нулевой", "Первый", "Второй"]


@on_both_databases
def test_step_add_after_a_step_puts_it_right_after_that_step(member, roadmap):
    first = add_step(member, roadmap, "Первый")
    add_step(member, roadmap, "Третий")

    add_step(member, roadmap, "Второй", after_id=first)

    assert step_titles(roadmap) == ["Первый", "Второй", "Третий"]


def test_step_add_into_an_empty_map_with_null_after_id_creates_the_first_step(member, roadmap):
    add_step(member, roadmap, "Единственный", after_id=None)

    assert step_titles(roadmap) == ["Единственный"]


@on_both_databases
def test_step_add_stores_its_initial_fields(member, roadmap):
    stakeholder_id = add_stakeholder(member, roadmap)
    fields = {
        "title": "Опрос жителей",
        "description": "Обойти подъезды с анкетой",
        "owner": {"stakeholder": stakeholder_id},
        "starts_on": "2027-05-01",
        "due_on": "2027-05-15",
        "status": "in_progress",
        "resources": "Анкеты, 3 волонтёра",
        "success_measure": "100 анкет",
    }
    step_id = new_id()

    edit(member, roadmap, "step.add", step_id=step_id, fields=fields)

    step = step_in_snapshot(roadmap, step_id)
    assert {name: step[name] for name in fields} == fields


def test_step_add_fills_fields_it_does_not_give_with_defaults(member, roadmap):
    step_id = add_step(member, roadmap, "Опрос жителей")

    step = step_in_snapshot(roadmap, step_id)
    assert {name: step[name] for name in STEP_FIELDS} == {
        "title": "Опрос жителей",
        "description": "",
        "owner": None,
        "starts_on": None,
        "due_on": None,
        "status": "planned",
        "progress": None,
        "resources": "",
        "success_measure": "",
    }
    assert step["stakeholder_ids"] == []


def test_step_add_with_a_member_owner_records_that_member(member, roadmap):
    step_id = new_id()

    edit(member, roadmap, "step.add", step_id=step_id, fields={"owner": {"member": member.id}})

    assert step_in_snapshot(roadmap, step_id)["owner"] == {"member": member.id}


def test_step_add_after_an_unknown_step_is_rejected(member, roadmap):
    assert rejection_code(member, roadmap, "step.add", step_id=new_id(), after_id=new_id()) == "step_not_found"


def test_step_add_after_a_deleted_step_is_rejected(member, roadmap):
    deleted = add_step(member, roadmap, "Удалённый")
    edit(member, roadmap, "step.delete", step_id=deleted)

    assert rejection_code(member, roadmap, "step.add", step_id=new_id(), after_id=deleted) == "step_not_found"


def test_step_add_with_an_id_already_used_in_the_map_is_rejected(member, roadmap):
    step_id = add_step(member, roadmap, "Первый")

    assert rejection_code(member, roadmap, "step.add", step_id=step_id) == "id_taken"


def test_step_add_with_an_id_used_in_another_map_is_rejected(member, roadmap, other_roadmap):
    foreign_step_id = snapshot(other_roadmap)["steps"][0]["id"]

    assert rejection_code(member, roadmap, "step.add", step_id=foreign_step_id) == "id_taken"


def test_step_add_with_an_id_used_by_a_deleted_step_is_rejected(member, roadmap):
    step_id = add_step(member, roadmap, "Удалённый")
    edit(member, roadmap, "step.delete", step_id=step_id)

    assert rejection_code(member, roadmap, "step.add", step_id=step_id) == "id_taken"


# --- changing step fields ----------------------------------------------------


@on_both_databases
@pytest.mark.parametrize(
    "field, value",
    [
        ("title", "Собрать инициативную группу"),
        ("description", "Найти 5 активных жителей.\nПровести первую встречу."),
        ("owner", {"text": "Управляющая компания"}),
        ("owner", None),
        ("starts_on", "2027-04-25"),
        ("due_on", "2027-06-30"),
        ("status", "blocked"),
        ("resources", "Помещение библиотеки, проектор"),
        ("success_measure", "Не менее 30 участников"),
    ],
)
def test_step_set_changes_the_field(member, roadmap, field, value):
    step_id = new_id()
    edit(
        member,
        roadmap,
        "step.add",
        step_id=step_id,
        fields={
            "title": "Шаг",
            "description": "Описание",
            "owner": {"text": "Прежний"},
            "starts_on": "2027-04-22",
            "due_on": "2027-04-24",
            "status": "in_progress",
            "resources": "Ресурсы",
            "success_measure": "Мера",
        },
    )

    set_step(member, roadmap, step_id, field, value)

    assert step_in_snapshot(roadmap, step_id)[field] == value


@on_both_databases
def test_step_owner_can_be_a_member_of_the_group(world, group, member, roadmap):
    colleague = world.member(group, name="Игорь")
    step_id = add_step(member, roadmap, "Шаг")

    set_step(member, roadmap, step_id, "owner", {"member": colleague.id})

    assert step_in_snapshot(roadmap, step_id)["owner"] == {"member": colleague.id}


@on_both_databases
def test_step_owner_can_be_a_stakeholder_of_the_map(member, roadmap):
    stakeholder_id = add_stakeholder(member, roadmap, "Администрация района", sector="administration")
    step_id = add_step(member, roadmap, "Шаг")

    set_step(member, roadmap, step_id, "owner", {"stakeholder": stakeholder_id})

    assert step_in_snapshot(roadmap, step_id)["owner"] == {"stakeholder": stakeholder_id}


@pytest.mark.parametrize("new_owner", [None, {"text": "Дворник"}])
def test_new_step_owner_replaces_a_member_owner(member, roadmap, new_owner):
    step_id = add_step(member, roadmap, "Шаг")
    set_step(member, roadmap, step_id, "owner", {"member": member.id})

    set_step(member, roadmap, step_id, "owner", new_owner)

    step = db.session.get(Step, step_id)
    assert step.owner_member_id is None
    assert step_in_snapshot(roadmap, step_id)["owner"] == new_owner


@pytest.mark.parametrize("field", ["starts_on", "due_on"])
def test_step_date_can_be_cleared(member, roadmap, field):
    step_id = add_step(member, roadmap, "Шаг")
    set_step(member, roadmap, step_id, field, "2027-05-01")

    set_step(member, roadmap, step_id, field, None)

    assert step_in_snapshot(roadmap, step_id)[field] is None


@on_both_databases
def test_step_owner_who_is_not_in_the_group_is_rejected(world, member, roadmap):
    outsider = world.member(world.group(name="Другая группа"), name="Чужой")
    step_id = add_step(member, roadmap, "Шаг")

    code = rejection_code(member, roadmap, "step.set", step_id=step_id, field="owner", value={"member": outsider.id})

    assert code == "member_not_found"


def test_step_owner_who_does_not_exist_is_rejected(member, roadmap):
    step_id = add_step(member, roadmap, "Шаг")

    code = rejection_code(member, roadmap, "step.set", step_id=step_id, field="owner", value={"member": 2**31 - 1})

    assert code == "member_not_found"


def test_step_added_with_an_owner_outside_the_group_is_rejected(world, member, roadmap):
    outsider = world.member(world.group(name="Другая группа"), name="Чужой")

    code = rejection_code(member, roadmap, "step.add", step_id=new_id(), fields={"owner": {"member": outsider.id}})

    assert code == "member_not_found"


def test_step_owner_stakeholder_of_another_map_is_rejected(member, roadmap, other_roadmap):
    foreign_stakeholder_id = snapshot(other_roadmap)["stakeholders"][0]["id"]
    step_id = add_step(member, roadmap, "Шаг")

    code = rejection_code(
        member, roadmap, "step.set", step_id=step_id, field="owner", value={"stakeholder": foreign_stakeholder_id}
    )

    assert code == "stakeholder_not_found"


def test_step_owner_stakeholder_that_was_deleted_is_rejected(member, roadmap):
    stakeholder_id = add_stakeholder(member, roadmap)
    edit(member, roadmap, "stakeholder.delete", stakeholder_id=stakeholder_id)
    step_id = add_step(member, roadmap, "Шаг")

    code = rejection_code(
        member, roadmap, "step.set", step_id=step_id, field="owner", value={"stakeholder": stakeholder_id}
    )

    assert code == "stakeholder_not_found"


@pytest.mark.parametrize(
    "op_type, keys",
    [
        ("step.set", {"field": "status", "value": "done"}),
        ("step.move", {"after_id": None}),
        ("step.delete", {}),
    ],
)
def test_editing_a_deleted_step_is_rejected(member, roadmap, op_type, keys):
    step_id = add_step(member, roadmap, "Шаг")
    edit(member, roadmap, "step.delete", step_id=step_id)

    assert rejection_code(member, roadmap, op_type, step_id=step_id, **keys) == "step_deleted"


@pytest.mark.parametrize(
    "op_type, keys",
    [
        ("step.set", {"field": "title", "value": "Захват"}),
        ("step.move", {"after_id": None}),
        ("step.delete", {}),
        ("step.restore", {}),
    ],
)
def test_editing_a_step_of_another_map_is_rejected(member, roadmap, other_roadmap, op_type, keys):
    foreign_step_id = snapshot(other_roadmap)["steps"][0]["id"]

    assert rejection_code(member, roadmap, op_type, step_id=foreign_step_id, **keys) == "step_not_found"


def test_editing_an_unknown_step_is_rejected(member, roadmap):
    assert rejection_code(member, roadmap, "step.set", step_id=new_id(), field="title", value="x") == "step_not_found"


# --- moving steps --------------------------------------------------------------


@on_both_databases
def test_step_move_with_null_after_id_puts_the_step_at_the_top(member, roadmap):
    add_step(member, roadmap, "Первый")
    add_step(member, roadmap, "Второй")
    last = add_step(member, roadmap, "Третий")

    edit(member, roadmap, "step.move", step_id=last, after_id=None)

    assert step_titles(roadmap) == ["Третий", "Первый", "Второй"]


@on_both_databases
def test_step_move_after_a_step_puts_it_right_after_that_step(member, roadmap):
    first = add_step(member, roadmap, "Первый")
    add_step(member, roadmap, "Второй")
    last = add_step(member, roadmap, "Третий")

    edit(member, roadmap, "step.move", step_id=last, after_id=first)

    assert step_titles(roadmap) == ["Первый", "Третий", "Второй"]


def test_step_move_after_the_last_step_puts_it_at_the_end(member, roadmap):
    first = add_step(member, roadmap, "Первый")
    add_step(member, roadmap, "Второй")
    last = add_step(member, roadmap, "Третий")

    edit(member, roadmap, "step.move", step_id=first, after_id=last)

    assert step_titles(roadmap) == ["Второй", "Третий", "Первый"]


def test_step_move_keeps_the_other_steps_positions(member, roadmap):
    add_step(member, roadmap, "Первый")
    add_step(member, roadmap, "Второй")
    last = add_step(member, roadmap, "Третий")
    positions_before = {step["id"]: step["position"] for step in snapshot(roadmap)["steps"] if step["id"] != last}

    edit(member, roadmap, "step.move", step_id=last, after_id=None)

    positions_after = {step["id"]: step["position"] for step in snapshot(roadmap)["steps"] if step["id"] != last}
    assert positions_after == positions_before


def test_step_cannot_move_after_itself(member, roadmap):
    step_id = add_step(member, roadmap, "Шаг")

    assert rejection_code(member, roadmap, "step.move", step_id=step_id, after_id=step_id) == "invalid_op"


def test_step_move_after_a_deleted_step_is_rejected(member, roadmap):
    step_id = add_step(member, roadmap, "Шаг")
    deleted = add_step(member, roadmap, "Удалённый")
    edit(member, roadmap, "step.delete", step_id=deleted)

    assert rejection_code(member, roadmap, "step.move", step_id=step_id, after_id=deleted) == "step_not_found"


def test_step_move_after_a_step_of_another_map_is_rejected(member, roadmap, other_roadmap):
    step_id = add_step(member, roadmap, "Шаг")
    foreign_step_id = snapshot(other_roadmap)["steps"][0]["id"]

    code = rejection_code(member, roadmap, "step.move", step_id=step_id, after_id=foreign_step_id)

    assert code == "step_not_found"


# --- deleting and restoring steps ----------------------------------------------


@on_both_databases
def test_step_delete_removes_the_step_from_the_snapshot(member, roadmap):
    add_step(member, roadmap, "Первый")
    second = add_step(member, roadmap, "Второй")

    edit(member, roadmap, "step.delete", step_id=second)

    assert step_titles(roadmap) == ["Первый"]


@on_both_databases
def test_step_restore_brings_the_step_back_in_its_place(member, roadmap):
    add_step(member, roadmap, "Первый")
    second = add_step(member, roadmap, "Второй")
    add_step(member, roadmap, "Третий")
    edit(member, roadmap, "step.delete", step_id=second)

    edit(member, roadmap, "step.restore", step_id=second)

    assert step_titles(roadmap) == ["Первый", "Второй", "Третий"]


def test_restored_step_keeps_its_fields(member, roadmap):
    step_id = add_step(member, roadmap, "Шаг")
    set_step(member, roadmap, step_id, "status", "blocked")
    edit(member, roadmap, "step.delete", step_id=step_id)

    edit(member, roadmap, "step.restore", step_id=step_id)

    assert step_in_snapshot(roadmap, step_id)["status"] == "blocked"


def test_step_can_be_placed_after_a_restored_step_whose_place_was_reused(member, roadmap):
    add_step(member, roadmap, "Первый")
    second = add_step(member, roadmap, "Второй")
    edit(member, roadmap, "step.delete", step_id=second)
    add_step(member, roadmap, "Новый второй")
    edit(member, roadmap, "step.restore", step_id=second)

    add_step(member, roadmap, "После второго", after_id=second)

    titles = step_titles(roadmap)
    assert titles.index("После второго") == titles.index("Второй") + 1


def test_restoring_a_step_that_is_not_deleted_is_rejected(member, roadmap):
    step_id = add_step(member, roadmap, "Шаг")

    assert rejection_code(member, roadmap, "step.restore", step_id=step_id) == "not_deleted"


# --- linking stakeholders to steps -----------------------------------------------


@on_both_databases
def test_step_link_involves_the_stakeholder_in_the_step(member, roadmap):
    step_id = add_step(member, roadmap, "Шаг")
    stakeholder_id = add_stakeholder(member, roadmap)

    edit(member, roadmap, "step.link", step_id=step_id, stakeholder_id=stakeholder_id)

    assert step_in_snapshot(roadmap, step_id)["stakeholder_ids"] == [stakeholder_id]


def test_linking_a_stakeholder_twice_links_it_once(member, roadmap):
    step_id = add_step(member, roadmap, "Шаг")
    stakeholder_id = add_stakeholder(member, roadmap)
    edit(member, roadmap, "step.link", step_id=step_id, stakeholder_id=stakeholder_id)

    edit(member, roadmap, "step.link", step_id=step_id, stakeholder_id=stakeholder_id)

    assert step_in_snapshot(roadmap, step_id)["stakeholder_ids"] == [stakeholder_id]


def test_step_unlink_removes_the_stakeholder_from_the_step(member, roadmap):
    step_id = add_step(member, roadmap, "Шаг")
    kept = add_stakeholder(member, roadmap, "Остаётся")
    removed = add_stakeholder(member, roadmap, "Уходит")
    edit(member, roadmap, "step.link", step_id=step_id, stakeholder_id=kept)
    edit(member, roadmap, "step.link", step_id=step_id, stakeholder_id=removed)

    edit(member, roadmap, "step.unlink", step_id=step_id, stakeholder_id=removed)

    assert step_in_snapshot(roadmap, step_id)["stakeholder_ids"] == [kept]


def test_unlinking_a_stakeholder_that_is_not_linked_is_accepted(member, roadmap):
    step_id = add_step(member, roadmap, "Шаг")
    stakeholder_id = add_stakeholder(member, roadmap)

    applied = edit(member, roadmap, "step.unlink", step_id=step_id, stakeholder_id=stakeholder_id)

    assert applied.revision == 3
    assert step_in_snapshot(roadmap, step_id)["stakeholder_ids"] == []


@pytest.mark.parametrize("op_type", ["step.link", "step.unlink"])
def test_linking_a_stakeholder_of_another_map_is_rejected(member, roadmap, other_roadmap, op_type):
    step_id = add_step(member, roadmap, "Шаг")
    foreign_stakeholder_id = snapshot(other_roadmap)["stakeholders"][0]["id"]

    code = rejection_code(member, roadmap, op_type, step_id=step_id, stakeholder_id=foreign_stakeholder_id)

    assert code == "stakeholder_not_found"


def test_linking_to_a_step_of_another_map_is_rejected(member, roadmap, other_roadmap):
    stakeholder_id = add_stakeholder(member, roadmap)
    foreign_step_id = snapshot(other_roadmap)["steps"][0]["id"]

    code = rejection_code(member, roadmap, "step.link", step_id=foreign_step_id, stakeholder_id=stakeholder_id)

    assert code == "step_not_found"


def test_linking_a_deleted_stakeholder_is_rejected(member, roadmap):
    step_id = add_step(member, roadmap, "Шаг")
    stakeholder_id = add_stakeholder(member, roadmap)
    edit(member, roadmap, "stakeholder.delete", stakeholder_id=stakeholder_id)

    code = rejection_code(member, roadmap, "step.link", step_id=step_id, stakeholder_id=stakeholder_id)

    assert code == "stakeholder_not_found"


# --- stakeholders ------------------------------------------------------------------


@on_both_databases
def test_stakeholder_add_stores_its_fields(member, roadmap):
    fields = {
        "name": "Редакция «Вологодской недели»",
        "sector": "media",
        "contact": "Анна, редактор",
        "interest": 2,
        "influence": 4,
        "engagement": "consult",
    }
    stakeholder_id = new_id()

    edit(member, roadmap, "stakeholder.add", stakeholder_id=stakeholder_id, fields=fields)

    assert stakeholder_fields(roadmap, stakeholder_id) == fields


def test_stakeholder_add_fills_fields_it_does_not_give_with_defaults(member, roadmap):
    stakeholder_id = add_stakeholder(member, roadmap, "ТСЖ")

    assert stakeholder_fields(roadmap, stakeholder_id) == {
        "name": "ТСЖ",
        "sector": None,
        "contact": "",
        "interest": None,
        "influence": None,
        "engagement": "inform",
    }


def test_the_applied_stakeholder_add_carries_the_unset_fields_as_null(member, roadmap):
    applied = edit(member, roadmap, "stakeholder.add", stakeholder_id=new_id(), fields={"name": "Управа"})

    fields = applied.change["op"]["fields"]
    assert (fields["sector"], fields["interest"], fields["influence"]) == (None, None, None)


def test_an_old_client_giving_sector_interest_and_influence_still_sets_them(member, roadmap):
    stakeholder_id = add_stakeholder(member, roadmap, "Жители", sector="residents", interest=4, influence=2)

    stored = stakeholder_fields(roadmap, stakeholder_id)
    assert (stored["sector"], stored["interest"], stored["influence"]) == ("residents", 4, 2)


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", "Совет дома"),
        ("sector", "ngo"),
        ("contact", "Пётр, председатель, +7 900 000-00-00"),
        ("interest", 5),
        ("influence", 1),
        ("engagement", "collaborate"),
    ],
)
def test_stakeholder_set_changes_the_field(member, roadmap, field, value):
    stakeholder_id = add_stakeholder(member, roadmap)

    edit(member, roadmap, "stakeholder.set", stakeholder_id=stakeholder_id, field=field, value=value)

    assert stakeholder_in_snapshot(roadmap, stakeholder_id)[field] == value


@on_both_databases
def test_stakeholder_delete_removes_it_from_the_snapshot(member, roadmap):
    kept = add_stakeholder(member, roadmap, "Остаётся")
    removed = add_stakeholder(member, roadmap, "Уходит")

    edit(member, roadmap, "stakeholder.delete", stakeholder_id=removed)

    assert [holder["id"] for holder in snapshot(roadmap)["stakeholders"]] == [kept]


def test_deleted_stakeholder_is_no_longer_listed_on_its_steps(member, roadmap):
    step_id = add_step(member, roadmap, "Шаг")
    stakeholder_id = add_stakeholder(member, roadmap)
    edit(member, roadmap, "step.link", step_id=step_id, stakeholder_id=stakeholder_id)

    edit(member, roadmap, "stakeholder.delete", stakeholder_id=stakeholder_id)

    assert step_in_snapshot(roadmap, step_id)["stakeholder_ids"] == []


@on_both_databases
def test_stakeholder_restore_brings_it_back_with_its_links(member, roadmap):
    step_id = add_step(member, roadmap, "Шаг")
    stakeholder_id = add_stakeholder(member, roadmap, "Администрация")
    edit(member, roadmap, "step.link", step_id=step_id, stakeholder_id=stakeholder_id)
    edit(member, roadmap, "stakeholder.delete", stakeholder_id=stakeholder_id)

    edit(member, roadmap, "stakeholder.restore", stakeholder_id=stakeholder_id)

    assert stakeholder_in_snapshot(roadmap, stakeholder_id)["name"] == "Администрация"
    assert step_in_snapshot(roadmap, step_id)["stakeholder_ids"] == [stakeholder_id]


def test_restoring_a_stakeholder_that_is_not_deleted_is_rejected(member, roadmap):
    stakeholder_id = add_stakeholder(member, roadmap)

    assert rejection_code(member, roadmap, "stakeholder.restore", stakeholder_id=stakeholder_id) == "not_deleted"


def test_stakeholder_add_with_an_id_already_used_is_rejected(member, roadmap):
    stakeholder_id = add_stakeholder(member, roadmap)

    assert rejection_code(member, roadmap, "stakeholder.add", stakeholder_id=stakeholder_id) == "id_taken"


@pytest.mark.parametrize(
    "op_type, keys",
    [
        ("stakeholder.set", {"field": "name", "value": "Захват"}),
        ("stakeholder.delete", {}),
        ("stakeholder.restore", {}),
    ],
)
def test_editing_a_stakeholder_of_another_map_is_rejected(member, roadmap, other_roadmap, op_type, keys):
    foreign_stakeholder_id = snapshot(other_roadmap)["stakeholders"][0]["id"]

    code = rejection_code(member, roadmap, op_type, stakeholder_id=foreign_stakeholder_id, **keys)

    assert code == "stakeholder_not_found"


@pytest.mark.parametrize(
    "op_type, keys",
    [
        ("stakeholder.set", {"field": "interest", "value": 5}),
        ("stakeholder.delete", {}),
    ],
)
def test_editing_a_deleted_stakeholder_is_rejected(member, roadmap, op_type, keys):
    stakeholder_id = add_stakeholder(member, roadmap)
    edit(member, roadmap, "stakeholder.delete", stakeholder_id=stakeholder_id)

    assert rejection_code(member, roadmap, op_type, stakeholder_id=stakeholder_id, **keys) == "stakeholder_not_found"


# --- revisions and the change log -----------------------------------------------------


@on_both_databases
def test_each_applied_op_advances_the_revision_by_one(member, roadmap):
    step_id = add_step(member, roadmap, "Шаг")
    stakeholder_id = add_stakeholder(member, roadmap)

    revisions = [
        edit(member, roadmap, "map.set", field="goal", value="Цель").revision,
        set_step(member, roadmap, step_id, "status", "done").revision,
        edit(member, roadmap, "step.link", step_id=step_id, stakeholder_id=stakeholder_id).revision,
    ]

    assert revisions == [3, 4, 5]
    assert snapshot(roadmap)["revision"] == 5


@on_both_databases
def test_revisions_stay_gap_free_across_a_rejected_op(member, roadmap):
    edit(member, roadmap, "map.set", field="goal", value="Цель")
    with pytest.raises(EditRejected):
        edit(member, roadmap, "step.delete", step_id=new_id())

    edit(member, roadmap, "map.set", field="goal", value="Новая цель")

    assert [change.revision for change in changes_of(roadmap)] == [1, 2]


@on_both_databases
def test_applied_op_is_logged_with_revision_op_id_author_op_and_before(member, roadmap):
    edit(member, roadmap, "map.set", field="territory", value="ул. Мира")
    sent = payload(roadmap, "map.set", field="territory", value="ул. Мира, 10")

    applied = editing.apply(sent, actor=member)

    change = changes_of(roadmap)[-1]
    assert (change.revision, change.op_id, change.author_id) == (applied.revision, sent["op_id"], member.id)
    assert change.op == {"type": "map.set", "field": "territory", "value": "ул. Мира, 10"}
    assert change.before == {"value": "ул. Мира"}


def test_step_set_logs_the_value_it_replaced_and_the_step_title(member, roadmap):
    step_id = add_step(member, roadmap, "Опрос")
    set_step(member, roadmap, step_id, "due_on", "2027-05-01")

    set_step(member, roadmap, step_id, "due_on", "2027-05-20")

    assert changes_of(roadmap)[-1].before == {"value": "2027-05-01", "step_title": "Опрос"}


def test_step_add_logs_the_position_it_computed(member, roadmap):
    step_id = add_step(member, roadmap, "Опрос")

    logged = changes_of(roadmap)[-1].op
    assert (logged["type"], logged["step_id"]) == ("step.add", step_id)
    assert logged["position"] == step_in_snapshot(roadmap, step_id)["position"]


def test_applied_result_carries_the_change_as_broadcast(member, roadmap):
    sent = payload(roadmap, "map.set", field="goal", value="Цель")

    applied = editing.apply(sent, actor=member)

    assert applied.duplicate is False
    assert applied.change["roadmap_id"] == roadmap.id
    assert applied.change["op_id"] == sent["op_id"]
    assert applied.change["author"] == {"id": member.id, "name": member.display_name}
    assert applied.change["op"] == {"type": "map.set", "field": "goal", "value": "Цель"}


@on_both_databases
def test_resent_op_is_applied_once(member, roadmap):
    step_id = new_id()
    sent = payload(roadmap, "step.add", step_id=step_id, fields={"title": "Шаг"})
    first = editing.apply(sent, actor=member)

    again = editing.apply(sent, actor=member)

    assert again.duplicate is True
    assert again.revision == first.revision
    assert snapshot(roadmap)["revision"] == first.revision
    assert change_count(roadmap) == 1
    assert step_titles(roadmap) == ["Шаг"]


RESENDS = {
    # A resend meets the log's unique op id after the edit ran again…
    "step.set": lambda actor, roadmap, step_id: {
        "step_id": step_id,
        "field": "description",
        "base": "",
        "value": "Обход дворов",
    },
    "step.move": lambda actor, roadmap, step_id: {"step_id": step_id, "after_id": None},
    "map.set": lambda actor, roadmap, step_id: {"field": "goal", "value": "Чистый двор"},
    # …or the edit itself refuses the second time (the step is gone, the id is taken).
    "step.delete": lambda actor, roadmap, step_id: {"step_id": step_id},
    "stakeholder.add": lambda actor, roadmap, step_id: {"stakeholder_id": new_id(), "fields": {"name": "ТСЖ"}},
    # …or, for a restore, which is costly to redo, the op id is looked up first.
    "map.restore": lambda actor, roadmap, step_id: {"revision": 1},
}


@on_both_databases
@pytest.mark.parametrize("op_type", sorted(RESENDS))
def test_every_kind_of_resent_op_answers_with_the_first_result(member, roadmap, op_type):
    step_id = add_step(member, roadmap, "Шаг")
    add_step(member, roadmap, "Другой шаг")
    sent = payload(roadmap, op_type, **RESENDS[op_type](member, roadmap, step_id))
    first = editing.apply(sent, actor=member)
    after_first = snapshot(roadmap)

    again = editing.apply(sent, actor=member)

    assert again.duplicate is True
    assert again.change == first.change
    assert snapshot(roadmap) == after_first
    assert change_count(roadmap) == 3


@on_both_databases
def test_a_resend_after_losing_access_is_refused_not_answered(member, group, roadmap):
    sent = payload(roadmap, "map.set", field="goal", value="Чистый двор")
    editing.apply(sent, actor=member)
    db.session.delete(
        db.session.scalar(select(Membership).where(Membership.group_id == group.id, Membership.person_id == member.id))
    )
    db.session.commit()

    with pytest.raises(EditRejected) as rejection:
        editing.apply(sent, actor=member)

    assert rejection.value.code == "forbidden"


@on_both_databases
def test_a_resend_to_a_locked_map_is_refused_as_locked(member, training, roadmap):
    sent = payload(roadmap, "map.set", field="goal", value="Чистый двор")
    editing.apply(sent, actor=member)
    edit(training.moderator, roadmap, "map.lock", locked=True)

    with pytest.raises(EditRejected) as rejection:
        editing.apply(sent, actor=member)

    assert rejection.value.code == "locked"


def test_resent_op_id_with_another_value_changes_nothing(member, roadmap):
    sent = payload(roadmap, "map.set", field="goal", value="Первая цель")
    editing.apply(sent, actor=member)

    again = editing.apply({**sent, "value": "Другая цель"}, actor=member)

    assert again.duplicate is True
    assert again.change["op"]["value"] == "Первая цель"
    assert snapshot(roadmap)["goal"] == "Первая цель"


@on_both_databases
def test_rejected_op_changes_nothing_and_takes_no_revision(member, roadmap):
    step_id = add_step(member, roadmap, "Шаг")
    before = snapshot(roadmap)

    with pytest.raises(EditRejected):
        set_step(member, roadmap, step_id, "owner", {"member": 2**31 - 1})

    assert snapshot(roadmap) == before
    assert change_count(roadmap) == 1


def test_rejected_op_id_can_be_sent_again_once_it_is_valid(member, roadmap):
    step_id = add_step(member, roadmap, "Шаг")
    sent = payload(roadmap, "step.set", step_id=step_id, field="owner", value={"member": 2**31 - 1})
    with pytest.raises(EditRejected):
        editing.apply(sent, actor=member)

    applied = editing.apply({**sent, "value": {"member": member.id}}, actor=member)

    assert applied.duplicate is False
    assert step_in_snapshot(roadmap, step_id)["owner"] == {"member": member.id}


# --- concurrent edits ------------------------------------------------------------------


@on_both_databases
def test_two_edits_of_one_description_from_the_same_base_both_survive(world, group, member, roadmap):
    colleague = world.member(group, name="Игорь")
    base = "Встреча с жителями"
    step_id = add_step(member, roadmap, "Шаг")
    set_step(member, roadmap, step_id, "description", base)

    set_step(member, roadmap, step_id, "description", base + " во дворе дома 5", base=base)
    set_step(colleague, roadmap, step_id, "description", "Субботник и " + base, base=base)

    assert step_in_snapshot(roadmap, step_id)["description"] == "Субботник и Встреча с жителями во дворе дома 5"


@on_both_databases
def test_a_typed_letter_is_carried_through_the_log_past_an_equal_letter_typed_before_it(world, group, member, roadmap):
    """Вера starts typing right where Борис's word ends; he types a space at his word's end
    while her space is on its way, then her next letter arrives from before his space. Each
    op says where its letter goes and which revision it was typed over, so the server puts
    it after her own space, and says where."""
    boris = world.member(group, name="Борис")
    edit(member, roadmap, "map.set", field="goal", value="второй")
    edit(
        member,
        roadmap,
        "map.set",
        field="goal",
        value="второй ",
        base="второй",
        insert_at=6,
        base_revision=1,
        after_others=True,
    )
    edit(boris, roadmap, "map.set", field="goal", value="второй ", base="второй", insert_at=6, base_revision=1)

    applied = edit(
        member, roadmap, "map.set", field="goal", value="второй т", base="второй ", insert_at=7, base_revision=2
    )

    assert snapshot(roadmap)["goal"] == "второй  т"
    assert applied.change["op"]["insert_at"] == 8


def test_an_op_whose_base_was_not_the_text_at_its_base_revision_is_merged_not_carried(world, group, member, roadmap):
    boris = world.member(group, name="Борис")
    edit(member, roadmap, "map.set", field="goal", value="a a  ")
    edit(boris, roadmap, "map.set", field="goal", value="aaa a  ", base="a a  ", insert_at=0)
    edit(boris, roadmap, "map.set", field="goal", value="aaaa a  ", base="aaa a  ", insert_at=1)
    sent = {"field": "goal", "value": "aX a  ", "base": "a a  ", "insert_at": 1}

    wrong = edit(member, roadmap, "map.set", **sent, base_revision=2)  # its base was the text at revision 1

    assert wrong.change["op"]["value"] == merge_text("a a  ", "aX a  ", "aaaa a  ", insert_at=1)


def test_a_resolved_text_op_says_where_its_inserted_text_stands(member, roadmap):
    edit(member, roadmap, "map.set", field="goal", value="Цель")

    applied = edit(member, roadmap, "map.set", field="goal", value="Цель п", base="Цель")

    assert applied.change["op"] == {"type": "map.set", "field": "goal", "value": "Цель п", "insert_at": 4}


def test_map_text_edits_from_the_same_base_are_merged(member, roadmap):
    base = "Сортировать отходы."
    edit(member, roadmap, "map.set", field="goal", value=base)

    edit(member, roadmap, "map.set", field="goal", value=base + " Во всех дворах.", base=base)
    edit(member, roadmap, "map.set", field="goal", value="Вместе: " + base, base=base)

    assert snapshot(roadmap)["goal"] == "Вместе: Сортировать отходы. Во всех дворах."


def test_stakeholder_text_edits_from_the_same_base_are_merged(member, roadmap):
    base = "Ольга"
    stakeholder_id = add_stakeholder(member, roadmap, contact=base)

    edit(
        member,
        roadmap,
        "stakeholder.set",
        stakeholder_id=stakeholder_id,
        field="contact",
        value=base + ", +7 900 000-00-00",
        base=base,
    )
    edit(
        member,
        roadmap,
        "stakeholder.set",
        stakeholder_id=stakeholder_id,
        field="contact",
        value="Председатель " + base,
        base=base,
    )

    assert stakeholder_in_snapshot(roadmap, stakeholder_id)["contact"] == "Председатель Ольга, +7 900 000-00-00"


def test_merged_text_is_what_the_change_log_records(member, roadmap):
    base = "Встреча с жителями"
    step_id = add_step(member, roadmap, "Шаг")
    set_step(member, roadmap, step_id, "description", base + " во дворе")

    set_step(member, roadmap, step_id, "description", "Первая " + base, base=base)

    assert changes_of(roadmap)[-1].op["value"] == "Первая Встреча с жителями во дворе"


def test_text_edit_without_a_base_replaces_the_text(member, roadmap):
    step_id = add_step(member, roadmap, "Шаг")
    set_step(member, roadmap, step_id, "description", "Встреча с жителями во дворе")

    set_step(member, roadmap, step_id, "description", "Опрос")

    assert step_in_snapshot(roadmap, step_id)["description"] == "Опрос"


def test_merge_that_would_exceed_the_text_limit_is_rejected(world, group, member, roadmap):
    colleague = world.member(group, name="Игорь")
    base = "Встреча"
    step_id = add_step(member, roadmap, "Шаг")
    set_step(member, roadmap, step_id, "description", base)
    set_step(member, roadmap, step_id, "description", base + " " + "а" * 6000, base=base)

    code = rejection_code(
        colleague, roadmap, "step.set", step_id=step_id, field="description", value="б" * 6000 + " " + base, base=base
    )

    assert code == "too_long"


@on_both_databases
def test_plain_field_without_a_base_is_last_writer_wins(world, group, member, roadmap):
    colleague = world.member(group, name="Игорь")
    step_id = add_step(member, roadmap, "Шаг")

    set_step(member, roadmap, step_id, "status", "in_progress")
    set_step(colleague, roadmap, step_id, "status", "blocked")

    assert step_in_snapshot(roadmap, step_id)["status"] == "blocked"


def test_owner_is_last_writer_wins(world, group, member, roadmap):
    colleague = world.member(group, name="Игорь")
    step_id = add_step(member, roadmap, "Шаг")

    set_step(member, roadmap, step_id, "owner", {"member": member.id})
    set_step(colleague, roadmap, step_id, "owner", {"text": "Дворник"})

    assert step_in_snapshot(roadmap, step_id)["owner"] == {"text": "Дворник"}


# --- snapshot and catch-up ----------------------------------------------------------


@on_both_databases
def test_snapshot_lists_steps_in_position_order(member, roadmap):
    first = add_step(member, roadmap, "Б")
    add_step(member, roadmap, "В")
    add_step(member, roadmap, "А", after_id=None)
    add_step(member, roadmap, "Б2", after_id=first)

    assert step_titles(roadmap) == ["А", "Б", "Б2", "В"]


def test_snapshot_positions_increase_down_the_list(member, roadmap):
    first = add_step(member, roadmap, "Первый")
    add_step(member, roadmap, "Третий")
    add_step(member, roadmap, "Второй", after_id=first)
    add_step(member, roadmap, "Нулевой", after_id=None)

    positions = [step["position"] for step in snapshot(roadmap)["steps"]]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)


def test_snapshot_leaves_out_deleted_steps_and_stakeholders(member, roadmap):
    add_step(member, roadmap, "Живой")
    deleted_step = add_step(member, roadmap, "Удалённый")
    kept = add_stakeholder(member, roadmap, "Живая")
    deleted_stakeholder = add_stakeholder(member, roadmap, "Удалённая")
    edit(member, roadmap, "step.delete", step_id=deleted_step)
    edit(member, roadmap, "stakeholder.delete", stakeholder_id=deleted_stakeholder)

    state = snapshot(roadmap)

    assert [step["title"] for step in state["steps"]] == ["Живой"]
    assert [holder["id"] for holder in state["stakeholders"]] == [kept]


def test_snapshot_carries_the_current_revision(member, roadmap):
    add_step(member, roadmap, "Шаг")
    applied = edit(member, roadmap, "map.set", field="goal", value="Цель")

    assert snapshot(roadmap)["revision"] == applied.revision


@on_both_databases
def test_catch_up_returns_only_the_missed_changes(member, roadmap):
    add_step(member, roadmap, "Шаг")
    seen = edit(member, roadmap, "map.set", field="goal", value="Цель").revision
    missed = [
        edit(member, roadmap, "map.set", field="goal", value="Новая цель"),
        edit(member, roadmap, "map.set", field="theme", value="landscaping"),
    ]

    result = catch_up(roadmap, seen)

    assert [change["revision"] for change in result["changes"]] == [applied.revision for applied in missed]
    assert [change["op_id"] for change in result["changes"]] == [applied.change["op_id"] for applied in missed]
    assert result["revision"] == missed[-1].revision
    assert "snapshot" not in result


def test_caught_up_changes_name_their_author(member, roadmap):
    edit(member, roadmap, "map.set", field="goal", value="Цель")

    result = catch_up(roadmap, 0)

    assert result["changes"][0]["author"] == {"id": member.id, "name": member.display_name}


def test_catch_up_at_the_current_revision_returns_no_changes(member, roadmap):
    current = edit(member, roadmap, "map.set", field="goal", value="Цель").revision

    assert catch_up(roadmap, current) == {"revision": current, "changes": []}


@pytest.mark.parametrize(
    "since_revision",
    [
        pytest.param(lambda current: None, id="none"),
        pytest.param(lambda current: -1, id="negative"),
        pytest.param(lambda current: current + 1, id="ahead of the map"),
    ],
)
def test_catch_up_sends_a_snapshot_when_the_revision_is_unusable(member, roadmap, since_revision):
    current = edit(member, roadmap, "map.set", field="goal", value="Цель").revision

    result = catch_up(roadmap, since_revision(current))

    assert result == {"revision": current, "snapshot": snapshot(roadmap)}


def test_catch_up_sends_a_snapshot_when_more_than_max_ops_behind(app, member, roadmap):
    app.config["CATCH_UP_MAX_OPS"] = 2
    for goal in ("Раз", "Два", "Три"):
        current = edit(member, roadmap, "map.set", field="goal", value=goal).revision

    result = catch_up(roadmap, current - 3)

    assert result == {"revision": current, "snapshot": snapshot(roadmap)}


def test_catch_up_exactly_max_ops_behind_sends_the_changes(app, member, roadmap):
    app.config["CATCH_UP_MAX_OPS"] = 2
    for goal in ("Раз", "Два", "Три"):
        current = edit(member, roadmap, "map.set", field="goal", value=goal).revision

    result = catch_up(roadmap, current - 2)

    assert [change["op"]["value"] for change in result["changes"]] == ["Два", "Три"]


def test_caught_up_step_changes_carry_the_positions_the_snapshot_shows(member, roadmap):
    seen = snapshot(roadmap)
    first = add_step(member, roadmap, "Первый")
    add_step(member, roadmap, "Нулевой", after_id=None)
    edit(member, roadmap, "step.move", step_id=first, after_id=None)

    positions = {}
    for change in catch_up(roadmap, seen["revision"])["changes"]:
        positions[change["op"]["step_id"]] = change["op"]["position"]

    assert positions == {step["id"]: step["position"] for step in snapshot(roadmap)["steps"]}


# --- the access facts an edit takes with its revision -----------------------------------


@on_both_databases
def test_the_revision_statement_returns_the_same_access_facts_as_map_access(world, training, group, member, roadmap):
    # The facts are gathered by two statements (services/access.py): one for edits,
    # one for everything else. They must never disagree.
    other_group = world.group(training, name="Сквер у библиотеки")
    outsider = world.member(other_group, name="Олег")
    group.archived = True
    db.session.commit()
    for person in (member, outsider, training.moderator):
        expected = access.map_access(roadmap.id, person.id)
        revision, taken = access.take_next_revision(db.session.connection(), roadmap.id, person.id, utcnow())
        db.session.rollback()
        assert taken == expected
        assert revision == roadmap.revision + 1
    assert access.take_next_revision(db.session.connection(), roadmap.id + 1000, member.id, utcnow()) is None
    db.session.rollback()
