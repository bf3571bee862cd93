"""Many clients writing at once to the gevent server: every op lands, revisions stay gap-free.

The server runs in gevent mode; sqlite3 does not yield to gevent while it waits
for the write lock, so these writers would stall each other (or fail with
"database is locked") if a greenlet could wait there while another held it.
"""

import threading
import uuid

import pytest
import socketio
from sqlalchemy import select

from roadmap.extensions import db
from roadmap.models import Change, Roadmap

pytestmark = pytest.mark.live
WRITERS_PER_MAP = 5
OPS_PER_WRITER = 30
ACK_TIMEOUT = 20


def write_steadily(url: str, token: str, roadmap_id: int, results: list, errors: list):
    client = socketio.Client(reconnection=False)
    try:
        client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
        client.call("join", {"roadmap_id": roadmap_id}, timeout=ACK_TIMEOUT)
        step_id = uuid.uuid4().hex
        ops = [{"type": "step.add", "step_id": step_id, "fields": {"title": "Шаг"}}]
        for number in range(OPS_PER_WRITER - 1):
            if number % 3 == 0:
                ops.append({"type": "map.set", "field": "goal", "value": f"цель {number}", "base": None})
            else:
                ops.append(
                    {"type": "step.set", "step_id": step_id, "field": "description", "value": f"описание {number}"}
                )
        for op in ops:
            ack = client.call("op", {**op, "op_id": uuid.uuid4().hex, "roadmap_id": roadmap_id}, timeout=ACK_TIMEOUT)
            (results if ack.get("ok") else errors).append(ack)
    except Exception as error:  # reported by the test, not swallowed
        errors.append(repr(error))
    finally:
        client.disconnect()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_concurrent_writers_on_two_maps_all_land_with_gap_free_revisions(app, world, live_server):
    training = world.training()
    groups = [world.group(training, name=f"Группа {index}") for index in range(2)]
    writers = []
    results: list = []
    errors: list = []
    for group in groups:
        for index in range(WRITERS_PER_MAP):
            token = world.token(world.member(group, f"Участник {index}"))
            writers.append(
                threading.Thread(
                    target=write_steadily,
                    args=(live_server.url, token, group.roadmap.id, results, errors),
                )
            )
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)

    assert errors == []
    assert len(results) == len(writers) * OPS_PER_WRITER
    db.session.expire_all()
    for group in groups:
        roadmap = db.session.get(Roadmap, group.roadmap.id)
        revisions = db.session.scalars(
            select(Change.revision).where(Change.roadmap_id == roadmap.id).order_by(Change.revision)
        ).all()
        assert revisions == list(range(1, WRITERS_PER_MAP * OPS_PER_WRITER + 1))
        assert roadmap.revision == revisions[-1]
    server_log = live_server.log_path.read_text()
    assert "database is locked" not in server_log
    assert "Traceback" not in server_log
