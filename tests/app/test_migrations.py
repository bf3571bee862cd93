"""Migrations keep the data already stored: run on a database migrated to the revision before."""

import os
from contextlib import contextmanager

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from conftest import _test_app
from flask_migrate import upgrade
from sqlalchemy import text

from roadmap.database import create_fresh_postgres_database
from roadmap.extensions import db, migrate
from roadmap.services import share_links

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


@contextmanager
def app_migrated_to(revision: str, rows: list[str], database_url: str, instance_path):
    """An app on a database migrated to `revision` only, holding `rows`, in its app context."""
    app = _test_app(database_url, instance_path)
    with app.app_context():
        upgrade(revision=revision)
        for statement in rows:
            db.session.execute(text(statement), {"now": NOW, "yes": True, "no": False})
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app_before_unset_assessments(tmp_path):
    with app_migrated_to(
        BEFORE_UNSET_ASSESSMENTS, OLD_ROWS, f"sqlite:///{tmp_path / 'old.sqlite3'}", tmp_path / "instance"
    ) as app:
        yield app


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


BEFORE_HASHED_SHARE_LINKS = "sec0001"
CALENDAR_SECRET = "kalendar-alumni-podpisalis-0001"
REVOKED_SECRET = "otozvannaya-ssylka-na-kartu-0002"
ROWS_WITH_SHARE_LINKS = [
    "INSERT INTO people (id, display_name, is_moderator, created_at) VALUES (1, 'Мод', :yes, :now)",
    "INSERT INTO trainings (id, title, city, venue, starts_on, ends_on, join_code, moderator_id, created_at) "
    "VALUES (1, 'Школа', 'Вологда', 'Библиотека', '2027-04-22', '2027-04-24', 'ABCD2345', 1, :now)",
    "INSERT INTO groups (id, training_id, name, theme, archived, created_at) VALUES (1, 1, 'Двор', 'other', :no, :now)",
    "INSERT INTO roadmaps (id, group_id, revision, title, problem, goal, territory, theme, expected_results) "
    "VALUES (1, 1, 0, '', '', '', '', 'other', '')",
    "INSERT INTO share_links (id, roadmap_id, kind, token, created_by_id, created_at, revoked_at) VALUES "
    f"(1, 1, 'calendar', '{CALENDAR_SECRET}', 1, :now, NULL), (2, 1, 'view', '{REVOKED_SECRET}', 1, :now, :now)",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def app_with_stored_share_secrets(request, tmp_path):
    if request.param == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    else:
        server_url = os.environ.get("DATABASE_URL", "")
        if not server_url.startswith("postgresql"):
            pytest.skip("DATABASE_URL is not set to a PostgreSQL server (.ci/run sets it)")
        database_url = create_fresh_postgres_database(server_url, f"roadmap_migration_{os.getpid()}")
    with app_migrated_to(BEFORE_HASHED_SHARE_LINKS, ROWS_WITH_SHARE_LINKS, database_url, tmp_path / "instance") as app:
        yield app


def test_calendar_feeds_alumni_subscribed_to_keep_working_once_only_a_hash_is_stored(app_with_stored_share_secrets):
    upgrade(revision="sec0002d")

    feed = share_links.link_for_token(CALENDAR_SECRET, "calendar")
    assert feed is not None and feed.roadmap_id == 1
    assert share_links.link_for_token(REVOKED_SECRET, "view") is None
    stored = [str(value) for row in db.session.execute(text("SELECT * FROM share_links")) for value in row]
    assert not any(secret in value for value in stored for secret in (CALENDAR_SECRET, REVOKED_SECRET))
    assert share_links.link_token(feed) is None  # the share page cannot show it again, and says so
    upgrade()  # the feed is served by today's code, which reads today's tables
    assert app_with_stored_share_secrets.test_client().get(f"/calendar/{CALENDAR_SECRET}.ics").status_code == 200


# --- the migrations and the models agree ----------------------------------------------------------
# Each test gets a copy of one database migrated at the start of the session (conftest.py); these
# check once that the copy is what the code expects, which every test's app used to prove by running
# a no-op upgrade of its own.


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_tests_database_is_at_the_newest_migration(app):
    heads = ScriptDirectory.from_config(migrate.get_config()).get_heads()

    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()

    assert len(heads) == 1, f"the migrations branch: {heads}"
    assert set(current) == set(heads)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_migrated_schema_is_the_one_the_models_declare(app):
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)

    assert differences == []
