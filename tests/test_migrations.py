"""Migrations keep the data already stored: run on a database migrated to the revision before."""
import pytest
from conftest import _test_app
from flask_migrate import upgrade
from sqlalchemy import text

from roadmap.extensions import db

BEFORE_UNSET_ASSESSMENTS = "527671599922"
NOW = "2027-04-22 10:00:00"
OLD_ROWS = [
    "INSERT INTO people (id, display_name, is_moderator, created_at) VALUES (1, 'Мод', 1, :now)",
    "INSERT INTO trainings (id, title, city, venue, starts_on, ends_on, join_code, moderator_id, created_at) "
    "VALUES (1, 'Школа', 'Вологда', 'Библиотека', '2027-04-22', '2027-04-24', 'ABCD2345', 1, :now)",
    "INSERT INTO groups (id, training_id, name, theme, archived, created_at) VALUES (1, 1, 'Двор', 'other', 0, :now), "
    "(2, 1, 'Сквер', 'other', 0, :now)",
    "INSERT INTO roadmaps (id, group_id, revision, title, problem, goal, territory, theme, expected_results, updated_at) "
    "VALUES (1, 1, 4, '', '', '', '', 'other', '', :now), (2, 2, 0, '', '', '', '', 'other', '', :now)",
    "INSERT INTO stakeholders (id, roadmap_id, name, sector, contact, interest, influence, engagement, created_at) "
    "VALUES ('holder-0001', 1, 'Управа', 'administration', '', 2, 5, 'consult', :now)",
]


@pytest.fixture
def app_before_unset_assessments(tmp_path):
    app = _test_app(f"sqlite:///{tmp_path / 'old.sqlite3'}", tmp_path / "instance")
    with app.app_context():
        upgrade(revision=BEFORE_UNSET_ASSESSMENTS)
        for statement in OLD_ROWS:
            db.session.execute(text(statement), {"now": NOW})
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_stakeholders_keep_their_sector_interest_and_influence_and_may_then_hold_unset(app_before_unset_assessments):
    upgrade(revision="rdy0001")

    kept = db.session.execute(text("SELECT sector, interest, influence FROM stakeholders")).one()
    assert tuple(kept) == ("administration", 2, 5)
    db.session.execute(text("UPDATE stakeholders SET sector = NULL, interest = NULL, influence = NULL"))
    assert tuple(db.session.execute(text("SELECT sector, interest, influence FROM stakeholders")).one()) == (None,) * 3


def test_a_map_never_edited_loses_its_creation_time_as_last_edit(app_before_unset_assessments):
    upgrade(revision="rdy0001")

    updated = dict(db.session.execute(text("SELECT id, updated_at FROM roadmaps")).all())
    assert updated[1] is not None and str(updated[1]).startswith("2027-04-22 10:00:00")
    assert updated[2] is None
