"""The flask commands, create-moderator and seed-demo, through Flask's CLI runner on a real database."""

import pytest
from sqlalchemy import func, select

from roadmap.extensions import db
from roadmap.models import Change, Group, Membership, Person, Roadmap, Stakeholder, Step, Training
from roadmap.services import accounts, comments, snapshots

PASSWORD = "correct horse battery"
DEMO_TITLE = "Школа городских героев"


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def test_create_moderator_creates_a_moderator_who_can_sign_in(runner):
    result = runner.invoke(
        args=["create-moderator", "--email", "Irina@Example.org", "--name", "Ирина Соколова", "--password", PASSWORD]
    )

    assert result.exit_code == 0, result.output
    assert "Moderator Irina@Example.org created." in result.output
    moderator = accounts.authenticate("irina@example.org", PASSWORD)
    assert moderator.is_moderator and moderator.display_name == "Ирина Соколова"


def test_create_moderator_asks_for_what_is_missing(runner):
    result = runner.invoke(
        args=["create-moderator"], input=f"irina@example.org\nИрина Соколова\n{PASSWORD}\n{PASSWORD}\n"
    )

    assert result.exit_code == 0, result.output
    assert count(Person, Person.email == "irina@example.org", Person.is_moderator) == 1


def test_create_moderator_refuses_a_too_short_password_with_a_message(runner):
    result = runner.invoke(
        args=["create-moderator", "--email", "irina@example.org", "--name", "Ирина", "--password", "short"]
    )

    assert result.exit_code == 1
    assert "Error: password too short" in result.output
    assert count(Person) == 0


def test_create_moderator_refuses_an_e_mail_already_taken(runner):
    db.session.add(Person(email="irina@example.org", display_name="Ирина", is_moderator=True))
    db.session.commit()

    result = runner.invoke(
        args=["create-moderator", "--email", "IRINA@example.org", "--name", "Самозванка", "--password", PASSWORD]
    )

    assert result.exit_code == 1
    assert "Error: email taken" in result.output
    assert count(Person) == 1


@pytest.fixture
def seeded(runner):
    """The output of a first `flask seed-demo`."""
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return result.output


def demo_training() -> Training:
    return db.session.scalar(select(Training).where(Training.title == DEMO_TITLE))


def test_seed_demo_creates_the_demo_training_with_three_groups(seeded):
    training = demo_training()

    assert training.city == "Вологда"
    assert len(training.active_groups) == 3
    assert training.moderator.is_moderator


def test_seed_demo_fills_some_maps_partly_and_leaves_one_empty(seeded):
    filled, empty = [], []
    for group in demo_training().groups:
        has_steps = count(Step, Step.roadmap_id == group.roadmap.id) > 0
        has_stakeholders = count(Stakeholder, Stakeholder.roadmap_id == group.roadmap.id) > 0
        assert has_steps == has_stakeholders, group.name
        (filled if has_steps else empty).append(group)

    assert len(filled) == 2 and len(empty) == 1
    assert all(group.roadmap.title and group.memberships for group in filled)
    assert all(group.roadmap.revision == count(Change, Change.roadmap_id == group.roadmap.id) for group in filled)


def test_seed_demo_maps_show_a_chain_on_the_timeline_and_a_question_in_the_comments(seeded):
    for group in demo_training().groups:
        steps = snapshots.snapshot(group.roadmap)["steps"]
        if not steps:
            continue
        assert [step["depends_on"] for step in steps] == [[]] + [[earlier["id"]] for earlier in steps[:-1]]
        assert [item["body"].startswith("@") for item in comments.comments_of(group.roadmap.id)] == [True]


def test_seed_demo_prints_the_join_code_and_a_moderator_login_that_works(seeded):
    assert f"join code {demo_training().join_code}" in seeded
    login_line = next(line for line in seeded.splitlines() if line.startswith("Moderator sign-in: "))
    email, password = login_line.removeprefix("Moderator sign-in: ").split(" / ")

    assert accounts.authenticate(email, password).id == demo_training().moderator_id


def table_sizes() -> dict:
    return {
        model.__name__: count(model)
        for model in (Person, Training, Group, Roadmap, Membership, Step, Stakeholder, Change)
    }


def test_seed_demo_run_twice_creates_nothing_new(seeded, runner):
    sizes_after_first_run = table_sizes()

    second = runner.invoke(args=["seed-demo"])

    assert second.exit_code == 0, second.output
    assert table_sizes() == sizes_after_first_run
    assert second.output == seeded
