"""What a write tells others goes out after its commit, never after a rollback; writes do not nest."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from roadmap.domain.errors import EditRejected
from roadmap.extensions import db, socketio
from roadmap.models import Change, Person
from roadmap.realtime import publisher
from roadmap.services.transactions import NestedWrite, writing
from tests.livesync import WAIT_TIMEOUT, new_op_id

BOTH_DATABASES = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def watching_dashboard(app, world, training, moderator):
    """A real Socket.IO test client on the app's namespace, following the training's dashboard."""
    client = socketio.test_client(app, auth={"token": world.token(moderator)})
    assert client.emit("watch", {"training_id": training.id}, callback=True)["ok"]
    client.get_received()
    return client


def announcement(text: str) -> dict:
    return {"id": 0, "group_id": None, "group_name": None, "text": text, "at": "2027-04-22T10:00:00Z"}


def announcements_heard(client) -> list[str]:
    return [
        event["args"][0]["announcement"]["text"] for event in client.get_received() if event["name"] == "announcement"
    ]


@BOTH_DATABASES
def test_an_event_published_in_a_write_that_rolls_back_is_never_sent(app, world, training, moderator):
    client = watching_dashboard(app, world, training, moderator)

    with pytest.raises(EditRejected):
        with writing():
            publisher.announced(training.id, None, announcement("Отменено"))
            raise EditRejected("invalid_value")
    with writing():
        publisher.announced(training.id, None, announcement("Сохранено"))

    assert announcements_heard(client) == ["Сохранено"]
    client.disconnect()


def test_an_event_published_in_a_write_waits_for_its_commit(app, world, training, moderator):
    client = watching_dashboard(app, world, training, moderator)

    with writing():
        publisher.announced(training.id, None, announcement("После записи"))
        heard_inside = announcements_heard(client)

    assert heard_inside == []
    assert announcements_heard(client) == ["После записи"]
    client.disconnect()


def test_an_event_published_outside_any_write_goes_out_at_once(app, world, training, moderator):
    client = watching_dashboard(app, world, training, moderator)

    publisher.announced(training.id, None, announcement("Сразу"))

    assert announcements_heard(client) == ["Сразу"]
    client.disconnect()


@BOTH_DATABASES
def test_a_peer_reading_the_database_when_an_edit_arrives_finds_it_stored(app, clients, group, marina, oleg):
    engine = db.engine
    stored_on_arrival: list[bool] = []
    arrived = threading.Event()
    oleg_client = clients.connect(oleg, group.roadmap.id)

    def read_database(change):
        with engine.connect() as connection:
            found = connection.scalar(
                select(Change.id).where(
                    Change.roadmap_id == change["roadmap_id"], Change.revision == change["revision"]
                )
            )
        stored_on_arrival.append(found is not None)
        arrived.set()

    oleg_client.sio.on("change", read_database)
    marina_client = clients.connect(marina, group.roadmap.id)
    assert marina_client.send_op("step.add", step_id=new_op_id(), fields={"title": "Собрать жителей"})["ok"]

    assert arrived.wait(WAIT_TIMEOUT)
    assert stored_on_arrival == [True]


def test_writing_refuses_to_nest(app):
    with pytest.raises(NestedWrite):
        with writing():
            db.session.add(Person(display_name="Внешняя"))
            with writing():
                db.session.add(Person(display_name="Внутренняя"))

    assert db.session.scalar(select(Person.id).where(Person.display_name == "Внешняя")) is None


def test_writing_refuses_to_commit_writes_made_outside_it(app):
    db.session.add(Person(display_name="Без блока"))

    with pytest.raises(NestedWrite):
        with writing():
            pass

    db.session.rollback()
    assert db.session.scalar(select(Person.id).where(Person.display_name == "Без блока")) is None


def test_writing_ends_a_read_transaction_first(app, marina):
    db.session.scalar(select(Person.id))  # a read transaction is open

    with writing():
        db.session.get(Person, marina.id).display_name = "Марина Петровна"

    db.session.expire_all()
    assert db.session.get(Person, marina.id).display_name == "Марина Петровна"
