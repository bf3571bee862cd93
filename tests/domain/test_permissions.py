"""Who may edit which road map, as the one writer enforces it."""

from functools import cached_property

import pytest
from conftest import new_id
from sqlalchemy import func, select

from roadmap.domain.errors import EditRejected
from roadmap.extensions import db
from roadmap.models import Change
from roadmap.services import editing
from roadmap.services.snapshots import snapshot


class Scene:
    """Our training with two groups (the map under test is the first group's) and another training.

    Built lazily, so each test pays only for the people it uses.
    """

    def __init__(self, world):
        self.world = world

    @cached_property
    def moderator(self):
        return self.world.moderator(name="Анна Модераторова")

    @cached_property
    def training(self):
        return self.world.training(self.moderator)

    @cached_property
    def group(self):
        return self.world.group(self.training, name="Чистый двор")

    @cached_property
    def roadmap(self):
        return self.group.roadmap

    @cached_property
    def participant(self):
        return self.world.member(self.group, name="Марина")

    @cached_property
    def sibling_group(self):
        return self.world.group(self.training, name="Сквер у библиотеки", theme="landscaping")

    @cached_property
    def other_moderator(self):
        return self.world.moderator(name="Борис Модераторов")

    @cached_property
    def other_group(self):
        other_training = self.world.training(self.other_moderator, title="Школа активных горожан")
        return self.world.group(other_training, name="Зелёный квартал")


@pytest.fixture
def scene(world):
    return Scene(world)


ALLOWED_EDITORS = [
    pytest.param(lambda scene: scene.participant, id="participant of the group"),
    pytest.param(lambda scene: scene.moderator, id="moderator of the training"),
]
FORBIDDEN_EDITORS = [
    pytest.param(
        lambda scene: scene.world.member(scene.sibling_group, name="Олег"),
        id="participant of another group of the training",
    ),
    pytest.param(
        lambda scene: scene.world.member(scene.other_group, name="Олег"), id="participant of another training"
    ),
    pytest.param(lambda scene: scene.other_moderator, id="moderator of another training"),
]


def edit(actor, roadmap_id, op_type, **keys):
    payload = {"op_id": new_id(), "roadmap_id": roadmap_id, "type": op_type, **keys}
    return editing.apply(payload, actor=actor)


def change_count(roadmap):
    return db.session.scalar(select(func.count(Change.id)).where(Change.roadmap_id == roadmap.id))


@pytest.mark.parametrize("editor", ALLOWED_EDITORS)
def test_allowed_person_edits_the_group_map(scene, editor):
    edit(editor(scene), scene.roadmap.id, "map.set", field="goal", value="Площадка для раздельного сбора")

    assert snapshot(scene.roadmap)["goal"] == "Площадка для раздельного сбора"


@pytest.mark.parametrize("group_name", ["group", "sibling_group"])
def test_moderator_edits_every_group_map_of_their_training(scene, group_name):
    roadmap = getattr(scene, group_name).roadmap

    edit(scene.moderator, roadmap.id, "map.set", field="goal", value="Цель от модератора")

    assert snapshot(roadmap)["goal"] == "Цель от модератора"


@pytest.mark.parametrize("editor", FORBIDDEN_EDITORS)
def test_person_without_access_is_forbidden(scene, editor):
    outsider = editor(scene)

    with pytest.raises(EditRejected) as rejection:
        edit(outsider, scene.roadmap.id, "map.set", field="goal", value="Чужая цель")

    assert rejection.value.code == "forbidden"


@pytest.mark.parametrize("editor", FORBIDDEN_EDITORS)
def test_forbidden_edit_changes_nothing(scene, editor):
    step_id = new_id()
    edit(scene.participant, scene.roadmap.id, "step.add", step_id=step_id, fields={"title": "Опрос жителей"})
    before = snapshot(scene.roadmap)
    outsider = editor(scene)

    with pytest.raises(EditRejected):
        edit(outsider, scene.roadmap.id, "step.delete", step_id=step_id)

    assert snapshot(scene.roadmap) == before
    assert change_count(scene.roadmap) == 1


def test_forbidden_person_cannot_replay_an_applied_op_id(scene):
    payload = {
        "op_id": new_id(),
        "roadmap_id": scene.roadmap.id,
        "type": "map.set",
        "field": "goal",
        "value": "Цель группы",
    }
    editing.apply(payload, actor=scene.participant)
    outsider = scene.world.member(scene.sibling_group, name="Олег")

    with pytest.raises(EditRejected) as rejection:
        editing.apply(payload, actor=outsider)

    assert rejection.value.code == "forbidden"


@pytest.mark.parametrize("editor", ALLOWED_EDITORS)
def test_edit_of_a_map_that_does_not_exist_is_not_found(scene, editor):
    person = editor(scene)
    missing_roadmap_id = scene.roadmap.id + 1000

    with pytest.raises(EditRejected) as rejection:
        edit(person, missing_roadmap_id, "map.set", field="goal", value="Цель")

    assert rejection.value.code == "not_found"


def test_edit_of_a_map_that_does_not_exist_changes_no_other_map(scene):
    before = snapshot(scene.roadmap)

    with pytest.raises(EditRejected):
        edit(scene.moderator, scene.roadmap.id + 1000, "map.set", field="goal", value="Цель")

    assert snapshot(scene.roadmap) == before
    assert db.session.scalar(select(func.count(Change.id))) == 0
