"""An import applies all of a file in one transaction with consecutive revisions, or nothing;
open maps see its changes in order and catch up on them after a reconnect."""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from conftest import SECRET_KEY, LiveServer, new_id
from sqlalchemy import func, select

from roadmap import create_app
from roadmap.config import TestConfig
from roadmap.domain.errors import EditRejected
from roadmap.domain.limits import MAX_LINKS_PER_MAP, MAX_STEPS_PER_MAP
from roadmap.extensions import db
from roadmap.models import Change, Roadmap, Stakeholder, Step, StepStakeholder
from roadmap.services import editing, exports

BOTH_DATABASES = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def content(steps: int, stakeholders: int = 2) -> exports.ImportedMap:
    return exports.ImportedMap(
        fields={"title": "Сквер у библиотеки"},
        stakeholders=[(f"s{index}", {"name": f"Партнёр {index}"}) for index in range(stakeholders)],
        steps=[(f"t{index}", {"title": f"Шаг {index}"}) for index in range(steps)],
        links=[(f"t{index}", f"s{index % stakeholders}") for index in range(min(steps, 10))],
    )


def stored(roadmap_id: int) -> tuple:
    db.session.expire_all()

    def count(model) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(model.roadmap_id == roadmap_id))

    return db.session.get(Roadmap, roadmap_id).revision, count(Step), count(Stakeholder), count(Change)


@BOTH_DATABASES
def test_an_import_refused_in_the_middle_leaves_the_group_exactly_as_before(group, moderator):
    before = stored(group.roadmap.id)
    # One step more than a map may hold: the import's last step.add is refused by the cap.
    checked = exports.ImportResult(problems=[], content=content(MAX_STEPS_PER_MAP + 1))

    imported = exports.apply_import(group, moderator, checked)

    assert [problem.code for problem in imported.problems] == ["not_applied"]
    assert imported.problems[0].params == {"reason": "too_many_steps"}
    assert before == stored(group.roadmap.id) == (0, 0, 0, 0)


@BOTH_DATABASES
def test_apply_many_names_the_refused_op_and_stores_nothing(group, marina):
    roadmap_id = group.roadmap.id
    ops = [
        {
            "op_id": new_id(),
            "roadmap_id": roadmap_id,
            "type": "step.add",
            "step_id": new_id(),
            "fields": {"title": "Опрос жителей"},
        },
        {
            "op_id": new_id(),
            "roadmap_id": roadmap_id,
            "type": "step.add",
            "step_id": new_id(),
            "fields": {"owner": {"member": 987654}},
        },
        {"op_id": new_id(), "roadmap_id": roadmap_id, "type": "map.set", "field": "goal", "value": "Сквер"},
    ]

    with pytest.raises(editing.OpRefused) as refused:
        editing.apply_many(ops, actor=marina)

    assert (refused.value.index, refused.value.code) == (1, "member_not_found")
    assert refused.value.extra["op_index"] == 1
    assert stored(roadmap_id) == (0, 0, 0, 0)


@BOTH_DATABASES
def test_an_import_is_logged_with_consecutive_revisions(group, moderator):
    imported = exports.apply_import(group, moderator, exports.ImportResult(problems=[], content=content(12)))

    revisions = db.session.scalars(
        select(Change.revision).where(Change.roadmap_id == group.roadmap.id).order_by(Change.revision)
    ).all()
    assert imported.ok and imported.ops_applied == len(revisions) == 1 + 2 + 12 + 10
    assert revisions == list(range(1, imported.ops_applied + 1))


def link_count(roadmap_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(StepStakeholder)
        .join(Step, Step.id == StepStakeholder.step_id)
        .where(Step.roadmap_id == roadmap_id)
    )


@BOTH_DATABASES
def test_an_imports_links_are_refused_past_the_cap_exactly_where_edits_one_by_one_are(group, moderator):
    roadmap_id = group.roadmap.id
    pairs = [(f"t{index // 100}", f"s{index % 100}") for index in range(MAX_LINKS_PER_MAP + 2)]
    almost_full = exports.ImportedMap(
        fields={},
        stakeholders=[(f"s{index}", {"name": f"Партнёр {index}"}) for index in range(100)],
        steps=[(f"t{index}", {"title": f"Шаг {index}"}) for index in range(11)],
        links=pairs[: MAX_LINKS_PER_MAP - 2],
    )
    prefix = new_id()[:8]
    editing.apply_many(
        list(exports.content_ops(group.roadmap, almost_full, new_id=lambda key: prefix + key)), actor=moderator
    )

    def link(kind: str, pair: tuple[str, str]) -> dict:
        step_key, stakeholder_key = pair
        return {
            "op_id": new_id(),
            "roadmap_id": roadmap_id,
            "type": kind,
            "step_id": prefix + step_key,
            "stakeholder_id": prefix + stakeholder_key,
        }

    last, over = pairs[MAX_LINKS_PER_MAP - 2 : MAX_LINKS_PER_MAP], pairs[MAX_LINKS_PER_MAP]
    # The batch's own links count: the cap is reached by its second new link, an unlink frees a
    # place, a link the map holds already takes none; the link after that is one too many.
    batch = [
        link("step.link", last[0]),
        link("step.link", last[1]),
        link("step.unlink", last[1]),
        link("step.link", last[1]),
        link("step.link", pairs[0]),
        link("step.link", over),
    ]

    with pytest.raises(editing.OpRefused) as refused:
        editing.apply_many(batch, actor=moderator)
    assert (refused.value.index, refused.value.code) == (5, "too_many_links")
    assert link_count(roadmap_id) == MAX_LINKS_PER_MAP - 2

    for op in batch[:5]:
        editing.apply(op, actor=moderator)
    with pytest.raises(EditRejected) as one_by_one:
        editing.apply(batch[5], actor=moderator)
    assert (one_by_one.value.code, one_by_one.value.extra) == (refused.value.code, {"max": MAX_LINKS_PER_MAP})
    assert link_count(roadmap_id) == MAX_LINKS_PER_MAP


@pytest.fixture
def queue_channel() -> str:
    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set (.ci/run sets it)")
    return f"roadmap-test-{uuid.uuid4().hex}"


@pytest.fixture
def server_on_queue(app, database_url, tmp_path, queue_channel):
    """The live server, hearing what this process publishes through Redis on a channel of its own."""
    server = LiveServer(
        database_url,
        app.instance_path,
        tmp_path / "server.log",
        extra_env={"SOCKETIO_MESSAGE_QUEUE": os.environ["REDIS_URL"], "SOCKETIO_CHANNEL": queue_channel},
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def publishing_app(database_url, tmp_path, queue_channel):
    """An app in this process that publishes through the same queue and channel."""
    return create_app(
        TestConfig,
        overrides={
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": SECRET_KEY,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SOCKETIO_MESSAGE_QUEUE": os.environ["REDIS_URL"],
            "SOCKETIO_CHANNEL": queue_channel,
        },
    )


def test_an_open_map_sees_the_import_in_order_and_catches_up_after_reconnecting_in_the_middle(
    server_on_queue, publishing_app, world, group, moderator, marina
):
    from tests.livesync import SyncClients

    clients = SyncClients(server_on_queue.url, world.token)
    try:
        watcher = clients.connect(marina, group.roadmap.id)
        group_id, moderator_id = group.id, moderator.id
        checked = exports.ImportResult(problems=[], content=content(200, stakeholders=20))
        outcome = {}

        def run_import():
            with publishing_app.app_context():
                from roadmap.models import Group, Person

                outcome["imported"] = exports.apply_import(
                    db.session.get(Group, group_id), db.session.get(Person, moderator_id), checked
                )
                db.session.remove()

        importing = threading.Thread(target=run_import)
        importing.start()
        watcher.wait_for_revision(20, timeout=30)
        watcher.disconnect()
        importing.join(timeout=60)
        imported = outcome["imported"]
        assert imported.ok
        watcher.reconnect()
        watcher.wait_for_revision(imported.ops_applied, timeout=30)

        assert watcher.applied_revisions() == list(range(1, imported.ops_applied + 1))
        assert watcher.map_copy() == watcher.fresh_snapshot()
    finally:
        clients.close_all()
