"""roadmap/hot_sql.py: the edit path's hand-written statements behave as SQLAlchemy's own would."""

import json
from datetime import date, datetime

import pytest
from conftest import new_id
from sqlalchemy import create_engine, select
from sqlalchemy.exc import IntegrityError

from roadmap import hot_sql
from roadmap.extensions import db
from roadmap.hot_sql import HotStatement
from roadmap.models import Change, Person, Step
from roadmap.services import editing

on_both_databases = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)

_steps = Step.__table__
# The app's own statements: a step's row, and the change log's insert.
_STEP = editing._STEP_ROW
_LOG = editing._LOG_CHANGE


@pytest.fixture
def member(world):
    organiser = Person(display_name="Мод Модераторов", is_moderator=True)
    db.session.add(organiser)
    db.session.commit()
    return world.member(world.group(world.training(organiser)))


def _map_of(person):
    return person.memberships[0].group.roadmap


def _add_step(person, **fields) -> str:
    step_id = new_id()
    editing.apply(
        {
            "op_id": new_id(),
            "roadmap_id": _map_of(person).id,
            "type": "step.add",
            "step_id": step_id,
            "fields": {"title": "Поставить контейнеры", **fields},
        },
        actor=person,
    )
    return step_id


def _log_row(person, op_id: str, op: dict | None = None) -> dict:
    return {
        "roadmap_id": _map_of(person).id,
        "revision": 1000 + sum(map(ord, op_id)),
        "op_id": op_id,
        "author_id": person.id,
        "created_at": datetime(2027, 4, 22),
        "op": op or {},
        "before": {},
    }


@on_both_databases
def test_rows_come_back_with_the_types_and_names_sqlalchemy_gives(member):
    step_id = _add_step(member, due_on="2027-05-01", description="Договориться с УК")
    editing.apply(
        {"op_id": new_id(), "roadmap_id": _map_of(member).id, "type": "step.delete", "step_id": step_id}, actor=member
    )

    hot = _STEP.rows(db.session.connection(), {"step_id": step_id})
    core = db.session.connection().execute(select(_steps).where(_steps.c.id == step_id)).one()

    assert len(hot) == 1
    assert hot[0]._asdict() == core._asdict()
    assert hot[0].due_on == date(2027, 5, 1)
    assert isinstance(hot[0].deleted_at, datetime)
    assert hot[0].title == "Поставить контейнеры"


@on_both_databases
def test_values_go_in_converted_as_sqlalchemy_would(member):
    written_at = datetime(2027, 4, 22, 10, 30, 15, 123456)
    op = {"type": "step.set", "value": "Двор «Ёлки» — 100 %", "nested": [1, None, True]}

    _LOG.rows(db.session.connection(), {**_log_row(member, "written-raw", op), "created_at": written_at})
    db.session.commit()

    change = db.session.scalar(select(Change).where(Change.op_id == "written-raw"))
    assert change.created_at == written_at
    assert change.op == op
    assert change.before == {}


@on_both_databases
def test_a_database_error_comes_out_as_sqlalchemys_and_the_session_recovers(member):
    step_id = _add_step(member)
    taken = db.session.scalar(select(Change).where(Change.roadmap_id == _map_of(member).id))

    with pytest.raises(IntegrityError):  # the log's unique (map, op id)
        _LOG.rows(db.session.connection(), _log_row(member, taken.op_id))
    db.session.rollback()

    assert _STEP.rows(db.session.connection(), {"step_id": step_id})[0].id == step_id


@on_both_databases
def test_a_name_used_twice_is_bound_twice(app):
    doubled = HotStatement("SELECT :number + :number AS doubled, :word AS word")

    rows = doubled.rows(db.session.connection(), {"number": 21, "word": "ok"})

    assert [tuple(row) for row in rows] == [(42, "ok")]
    assert rows[0].doubled == 42


@on_both_databases
def test_statements_without_rows_return_none_and_listeners_hear_every_statement(member):
    step_id = _add_step(member)
    heard = []

    def hear(sql, _parameters):
        heard.append(sql)

    hot_sql.listen(hear)
    try:
        written = editing._step_update(("title",)).rows(
            db.session.connection(), {"step_id": step_id, "new_title": "Новое имя"}
        )
        read = _STEP.rows(db.session.connection(), {"step_id": step_id})
    finally:
        hot_sql.remove(hear)

    assert written == []
    assert read[0].title == "Новое имя"
    assert len(heard) == 2
    assert heard[0].startswith('UPDATE steps SET "title" =')


@on_both_databases
def test_on_a_connection_outside_a_transaction_it_begins_one_so_a_commit_keeps_the_row(member):
    row = _log_row(member, "outside-a-transaction")
    db.session.commit()

    with db.engine.connect() as connection:
        _LOG.rows(connection, row)
        connection.commit()

    assert db.session.scalar(select(Change.id).where(Change.op_id == "outside-a-transaction")) is not None


@on_both_databases
def test_each_engine_gets_its_own_converters(member, database_url):
    wrapping = create_engine(database_url, json_serializer=lambda value: json.dumps({"wrapped": value}))
    db.session.commit()
    try:
        with wrapping.connect() as connection:
            _LOG.rows(connection, _log_row(member, "by-the-other-engine", {"type": "x"}))
            connection.commit()
        _LOG.rows(db.session.connection(), _log_row(member, "by-the-app", {"type": "x"}))
        db.session.commit()
    finally:
        wrapping.dispose()

    ops = dict(db.session.execute(select(Change.op_id, Change.op).where(Change.op_id.like("by-%"))).all())
    assert ops == {"by-the-other-engine": {"wrapped": {"type": "x"}}, "by-the-app": {"type": "x"}}
