"""database.Prepared: the edit path's statements on the DBAPI cursor behave as SQLAlchemy's own."""
import json
from datetime import date, datetime

import pytest
from conftest import counted_queries, new_id
from sqlalchemy import bindparam, create_engine, event, insert, select, text
from sqlalchemy.exc import IntegrityError

from roadmap.database import Prepared
from roadmap.extensions import db
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
    editing.apply({"op_id": new_id(), "roadmap_id": _map_of(person).id, "type": "step.add",
                   "step_id": step_id, "fields": {"title": "Поставить контейнеры", **fields}}, actor=person)
    return step_id


@on_both_databases
def test_rows_come_back_with_the_types_and_names_sqlalchemy_gives(member):
    step_id = _add_step(member, due_on="2027-05-01", description="Договориться с УК")
    editing.apply({"op_id": new_id(), "roadmap_id": _map_of(member).id, "type": "step.delete",
                   "step_id": step_id}, actor=member)

    prepared = _STEP.run(db.session.connection(), {"step_id": step_id})
    core = db.session.connection().execute(select(_steps).where(_steps.c.id == step_id)).one()

    assert len(prepared) == 1
    assert prepared[0]._asdict() == core._asdict()
    assert prepared[0].due_on == date(2027, 5, 1)
    assert isinstance(prepared[0].deleted_at, datetime)
    assert prepared[0].title == "Поставить контейнеры"


@on_both_databases
def test_values_go_in_converted_as_sqlalchemy_would(member):
    roadmap = _map_of(member)
    written_at = datetime(2027, 4, 22, 10, 30, 15, 123456)
    op = {"type": "step.set", "value": "Двор «Ёлки» — 100 %", "nested": [1, None, True]}

    _LOG.run(db.session.connection(), {
        "roadmap_id": roadmap.id, "revision": 999, "op_id": "written-raw", "author_id": member.id,
        "created_at": written_at, "op": op, "before": {},
    })
    db.session.commit()

    change = db.session.scalar(select(Change).where(Change.op_id == "written-raw"))
    assert change.created_at == written_at
    assert change.op == op
    assert change.before == {}


@on_both_databases
def test_a_database_error_comes_out_as_sqlalchemys_and_the_session_recovers(member):
    roadmap = _map_of(member)
    step_id = _add_step(member)
    taken = db.session.scalar(select(Change).where(Change.roadmap_id == roadmap.id))

    with pytest.raises(IntegrityError):  # the log's unique (map, op id)
        _LOG.run(db.session.connection(), {
            "roadmap_id": roadmap.id, "revision": 999, "op_id": taken.op_id, "author_id": member.id,
            "created_at": datetime(2027, 4, 22), "op": {}, "before": {},
        })
    db.session.rollback()

    assert _STEP.run(db.session.connection(), {"step_id": step_id})[0].id == step_id


def test_a_statement_that_needs_column_defaults_is_refused(member):
    without_title = Prepared(insert(_steps).values(
        id=bindparam("id"), roadmap_id=bindparam("roadmap_id"), position=bindparam("position")))

    with pytest.raises(ValueError, match="column defaults"):
        without_title.run(db.session.connection(), {"id": new_id(), "roadmap_id": _map_of(member).id, "position": "a0"})


@on_both_databases
def test_a_name_used_twice_is_bound_twice(app):
    doubled = Prepared(text("SELECT :number + :number AS doubled, :word AS word"))

    rows = doubled.run(db.session.connection(), {"number": 21, "word": "ok"})

    assert [tuple(row) for row in rows] == [(42, "ok")]
    assert rows[0].doubled == 42


@on_both_databases
def test_statements_without_rows_return_no_rows_and_listeners_see_every_statement(member):
    step_id = _add_step(member)
    rename = Prepared(Step.__table__.update().where(_steps.c.id == bindparam("step_id"))
                      .values(title=bindparam("new_title")))

    with counted_queries() as statements:
        written = rename.run(db.session.connection(), {"step_id": step_id, "new_title": "Новое имя"})
        read = _STEP.run(db.session.connection(), {"step_id": step_id})

    assert written == []
    assert read[0].title == "Новое имя"
    assert len(statements) == 2
    assert statements[0].startswith("UPDATE steps SET title=")


def _log_row(person, op_id: str, op: dict | None = None) -> dict:
    return {"roadmap_id": _map_of(person).id, "revision": 1000 + len(op_id) * 7 + sum(map(ord, op_id)), "op_id": op_id, "author_id": person.id,
            "created_at": datetime(2027, 4, 22), "op": op or {}, "before": {}}


@on_both_databases
def test_listeners_get_a_context_that_carries_the_statement_from_before_to_after(member):
    row = _log_row(member, "heard")
    heard = []

    def before(conn, cursor, statement, parameters, context, executemany):
        context.started = statement

    def after(conn, cursor, statement, parameters, context, executemany):
        heard.append((context.started == context.statement == statement, context.parameters == parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        _LOG.run(db.session.connection(), row)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)

    assert heard == [(True, True)]


@on_both_databases
def test_on_a_connection_outside_a_transaction_it_begins_one_so_a_commit_keeps_the_row(member):
    row = _log_row(member, "outside-a-transaction")
    db.session.commit()

    with db.engine.connect() as connection:
        _LOG.run(connection, row)
        connection.commit()

    assert db.session.scalar(select(Change.id).where(Change.op_id == "outside-a-transaction")) is not None


@on_both_databases
def test_each_engine_gets_its_own_compiled_form_and_converters(member, database_url):
    wrapping = create_engine(database_url, json_serializer=lambda value: json.dumps({"wrapped": value}))
    db.session.commit()
    try:
        with wrapping.connect() as connection:
            _LOG.run(connection, _log_row(member, "by-the-other-engine", {"type": "x"}))
            connection.commit()
        _LOG.run(db.session.connection(), _log_row(member, "by-the-app", {"type": "x"}))
        db.session.commit()
    finally:
        wrapping.dispose()

    ops = dict(db.session.execute(select(Change.op_id, Change.op).where(Change.op_id.like("by-%"))).all())
    assert ops == {"by-the-other-engine": {"wrapped": {"type": "x"}}, "by-the-app": {"type": "x"}}


def test_a_parameter_with_its_own_value_needs_no_argument(member):
    step_id = _add_step(member)
    titled = Prepared(select(_steps.c.title).where(_steps.c.id == bindparam("step_id"), _steps.c.status == "planned"))

    assert [row.title for row in titled.run(db.session.connection(), {"step_id": step_id})] == ["Поставить контейнеры"]


@pytest.mark.parametrize("statement", [
    Step.__table__.update().values(title=bindparam("title")).returning(Step.__table__.c.deleted_at),
    select(Step.__table__.c.id).where(Step.__table__.c.id.in_(bindparam("ids", expanding=True))),
], ids=["returning", "expanding"])
def test_what_it_cannot_convert_or_render_it_refuses(app, statement):
    with pytest.raises(ValueError, match="prepared statement"):
        Prepared(statement).run(db.session.connection(), {"title": "x", "ids": ["a"]})
