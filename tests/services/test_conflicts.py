"""An edit of a plain field made from a stale view is refused with `conflict`, never applied silently.

A plain field's op may carry `base`, the value its author saw. When someone else
has changed the field since, the server refuses the op (it is not logged and
takes no revision) and says who changed it to what; the author's choice is a
new op. Ops without a base stay last-writer-wins, as old clients expect.
"""

import pytest
from conftest import new_id, passwordless_moderator
from sqlalchemy import select

from roadmap.domain.errors import EditRejected
from roadmap.extensions import db
from roadmap.models import Change
from roadmap.services import editing
from roadmap.services.snapshots import snapshot

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def training(world):
    return world.training(passwordless_moderator())


@pytest.fixture
def roadmap(group):
    return group.roadmap


def edit(actor, roadmap, op_type, **keys):
    return editing.apply({"op_id": new_id(), "roadmap_id": roadmap.id, "type": op_type, **keys}, actor=actor)


def refusal(actor, roadmap, op_type, **keys) -> EditRejected:
    with pytest.raises(EditRejected) as refused:
        edit(actor, roadmap, op_type, **keys)
    return refused.value


def add_step(actor, roadmap, **fields):
    step_id = new_id()
    edit(actor, roadmap, "step.add", step_id=step_id, fields={"title": "Встреча с жителями", **fields})
    return step_id


def step_of(roadmap, step_id):
    return next(step for step in snapshot(roadmap)["steps"] if step["id"] == step_id)


def test_an_offline_status_change_does_not_overwrite_a_newer_one(oleg, marina, roadmap):
    step_id = add_step(oleg, roadmap)
    edit(marina, roadmap, "step.set", step_id=step_id, field="status", value="done", base="planned")
    revision = snapshot(roadmap)["revision"]

    refused = refusal(oleg, roadmap, "step.set", step_id=step_id, field="status", value="in_progress", base="planned")

    assert refused.code == "conflict"
    assert step_of(roadmap, step_id)["status"] == "done"
    assert snapshot(roadmap)["revision"] == revision, "a refused op takes no revision"


def test_a_conflict_says_who_changed_the_field_to_what_and_when(oleg, marina, roadmap):
    step_id = add_step(oleg, roadmap)
    applied = edit(marina, roadmap, "step.set", step_id=step_id, field="status", value="done")

    conflict = refusal(
        oleg, roadmap, "step.set", step_id=step_id, field="status", value="in_progress", base="planned"
    ).extra["conflict"]

    assert conflict == {
        "field": "status",
        "step_id": step_id,
        "value": "in_progress",
        "base": "planned",
        "current": "done",
        "changed_by": {"id": marina.id, "name": "Марина"},
        "changed_at": applied.change["at"],
        "revision": applied.revision,
    }


@pytest.mark.parametrize(
    "field, first, theirs, mine",
    [
        ("owner", None, {"text": "Управа района"}, {"text": "Совет дома"}),
        ("due_on", None, "2027-05-17", "2027-05-20"),
        ("starts_on", "2027-05-01", "2027-05-03", None),
        ("progress", None, 50, 20),
    ],
)
def test_every_plain_step_field_is_checked(oleg, marina, roadmap, field, first, theirs, mine):
    step_id = add_step(oleg, roadmap, **{field: first})
    edit(marina, roadmap, "step.set", step_id=step_id, field=field, value=theirs, base=first)

    refused = refusal(oleg, roadmap, "step.set", step_id=step_id, field=field, value=mine, base=first)

    assert refused.code == "conflict"
    assert refused.extra["conflict"]["current"] == theirs
    assert step_of(roadmap, step_id)[field] == theirs


@pytest.mark.parametrize(
    "field, theirs, mine",
    [
        ("sector", "administration", "business"),
        ("interest", 5, 1),
        ("influence", 4, 2),
        ("engagement", "involve", "consult"),
    ],
)
def test_stakeholder_plain_fields_are_checked(oleg, marina, roadmap, field, theirs, mine):
    stakeholder_id = new_id()
    edit(oleg, roadmap, "stakeholder.add", stakeholder_id=stakeholder_id, fields={"name": "Совет дома"})
    seen = snapshot(roadmap)["stakeholders"][0][field]
    edit(marina, roadmap, "stakeholder.set", stakeholder_id=stakeholder_id, field=field, value=theirs, base=seen)

    refused = refusal(
        oleg, roadmap, "stakeholder.set", stakeholder_id=stakeholder_id, field=field, value=mine, base=seen
    )

    assert refused.code == "conflict"
    assert refused.extra["conflict"]["stakeholder_id"] == stakeholder_id


def test_the_map_theme_is_checked(oleg, marina, roadmap):
    seen = snapshot(roadmap)["theme"]
    edit(marina, roadmap, "map.set", field="theme", value="landscaping", base=seen)

    refused = refusal(oleg, roadmap, "map.set", field="theme", value="other", base=seen)

    assert refused.code == "conflict"
    assert refused.extra["conflict"]["changed_by"]["name"] == "Марина"


def test_a_step_added_with_the_value_counts_as_its_last_change(oleg, marina, roadmap):
    step_id = add_step(marina, roadmap, status="blocked")

    conflict = refusal(oleg, roadmap, "step.set", step_id=step_id, field="status", value="done", base="planned").extra[
        "conflict"
    ]

    assert conflict["changed_by"]["name"] == "Марина"


def test_an_edit_without_a_base_is_last_writer_wins_as_for_old_clients(oleg, marina, roadmap):
    step_id = add_step(oleg, roadmap)
    edit(marina, roadmap, "step.set", step_id=step_id, field="status", value="done")

    edit(oleg, roadmap, "step.set", step_id=step_id, field="status", value="in_progress")

    assert step_of(roadmap, step_id)["status"] == "in_progress"


def test_an_edit_from_the_value_there_now_is_applied(oleg, marina, roadmap):
    step_id = add_step(oleg, roadmap)
    edit(marina, roadmap, "step.set", step_id=step_id, field="status", value="done")

    edit(oleg, roadmap, "step.set", step_id=step_id, field="status", value="in_progress", base="done")

    assert step_of(roadmap, step_id)["status"] == "in_progress"


def test_overwriting_ones_own_later_change_is_not_a_conflict(oleg, roadmap):
    step_id = add_step(oleg, roadmap)
    edit(oleg, roadmap, "step.set", step_id=step_id, field="status", value="done", base="planned")

    edit(oleg, roadmap, "step.set", step_id=step_id, field="status", value="blocked", base="planned")

    assert step_of(roadmap, step_id)["status"] == "blocked"


def test_a_resend_of_an_applied_op_is_a_duplicate_even_after_someone_changed_the_field(oleg, marina, roadmap):
    step_id = add_step(oleg, roadmap)
    sent = {
        "op_id": new_id(),
        "roadmap_id": roadmap.id,
        "type": "step.set",
        "step_id": step_id,
        "field": "status",
        "value": "in_progress",
        "base": "planned",
    }
    first = editing.apply(sent, actor=oleg)
    edit(marina, roadmap, "step.set", step_id=step_id, field="status", value="done")

    again = editing.apply(sent, actor=oleg)

    assert again.duplicate is True and again.revision == first.revision
    assert step_of(roadmap, step_id)["status"] == "done"


def test_a_text_field_still_merges_whatever_base_it_carries(oleg, marina, roadmap):
    step_id = add_step(oleg, roadmap)
    edit(
        marina,
        roadmap,
        "step.set",
        step_id=step_id,
        field="title",
        value="Встреча с жителями дома 5",
        base="Встреча с жителями",
    )

    edit(
        oleg,
        roadmap,
        "step.set",
        step_id=step_id,
        field="title",
        value="Первая встреча с жителями",
        base="Встреча с жителями",
    )

    assert step_of(roadmap, step_id)["title"] == "Первая встреча с жителями дома 5"


@pytest.mark.parametrize("field, theirs", [("sector", "residents"), ("interest", 3), ("influence", 5)])
def test_unset_is_a_base_like_any_value_of_a_stakeholder_assessment(oleg, marina, roadmap, field, theirs):
    stakeholder_id = new_id()
    edit(oleg, roadmap, "stakeholder.add", stakeholder_id=stakeholder_id, fields={"name": "Управа"})
    edit(marina, roadmap, "stakeholder.set", stakeholder_id=stakeholder_id, field=field, value=theirs, base=None)

    refused = refusal(
        oleg,
        roadmap,
        "stakeholder.set",
        stakeholder_id=stakeholder_id,
        field=field,
        value="media" if field == "sector" else 1,
        base=None,
    )

    assert refused.code == "conflict"
    assert snapshot(roadmap)["stakeholders"][0][field] == theirs


@pytest.mark.parametrize(
    "field, base",
    [
        ("status", "finished"),
        ("due_on", "17.05.2027"),
        ("progress", "50"),
        ("owner", {"person": 1}),
    ],
)
def test_a_base_that_is_no_value_of_the_field_is_refused(oleg, roadmap, field, base):
    step_id = add_step(oleg, roadmap)

    refused = refusal(
        oleg, roadmap, "step.set", step_id=step_id, field=field, value=None if field != "status" else "done", base=base
    )

    assert refused.code == "invalid_value"


def test_an_edit_to_the_value_someone_else_already_set_is_applied(oleg, marina, roadmap):
    step_id = add_step(oleg, roadmap)
    edit(marina, roadmap, "step.set", step_id=step_id, field="status", value="done")

    applied = edit(oleg, roadmap, "step.set", step_id=step_id, field="status", value="done", base="planned")

    assert applied.duplicate is False and step_of(roadmap, step_id)["status"] == "done"


def test_a_step_logged_before_a_field_existed_counts_with_that_fields_default(oleg, marina, roadmap):
    """Logs written before `progress` existed do not carry it in a step.add."""
    step_id = add_step(marina, roadmap)
    added = db.session.scalar(select(Change).where(Change.roadmap_id == roadmap.id))
    added.op = {**added.op, "fields": {name: value for name, value in added.op["fields"].items() if name != "progress"}}
    db.session.commit()

    refused = refusal(oleg, roadmap, "step.set", step_id=step_id, field="progress", value=30, base=20)

    assert refused.code == "conflict" and refused.extra["conflict"]["changed_by"]["name"] == "Марина"
