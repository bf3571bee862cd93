"""Co-moderators, added from the dashboard: another moderator runs the training with the same
rights (the dashboard, the tools, locking and editing every map), on SQLite and PostgreSQL."""

import re

import pytest

from roadmap.domain.errors import EditRejected
from roadmap.extensions import db
from roadmap.models import Person, SignInLink
from roadmap.services import editing, trainings
from tests.conftest import PASSWORD, make_moderator, new_id

BOTH_DATABASES = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def sign_in(client, email: str):
    response = client.post("/sign-in", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/moderate/")


def lock(roadmap_id: int, actor) -> int:
    applied = editing.apply(
        {"op_id": new_id(), "roadmap_id": roadmap_id, "type": "map.lock", "locked": True}, actor=actor
    )
    return applied.change["revision"]


@BOTH_DATABASES
def test_a_co_moderator_runs_the_training_and_loses_it_when_removed(world, training, group, moderator):
    vera = make_moderator("vera@example.org", "Вера Лебедева")
    with pytest.raises(EditRejected) as refused:
        lock(group.roadmap.id, vera)
    assert refused.value.code == "forbidden"

    trainings.add_co_moderator(training, moderator, "Vera@Example.org ", "")
    assert trainings.trainings_of(vera) == [training]
    assert lock(group.roadmap.id, vera) == 1  # map.lock is for those who run the training

    trainings.remove_co_moderator(training, vera.id)
    assert trainings.trainings_of(vera) == []
    with pytest.raises(EditRejected) as refused:
        editing.apply(
            {"op_id": new_id(), "roadmap_id": group.roadmap.id, "type": "map.lock", "locked": False}, actor=vera
        )
    assert refused.value.code == "forbidden"


def test_the_dashboard_adds_a_colleague_who_signs_in_through_the_link(app, client, training, moderator):
    sign_in(client, moderator.email)
    response = client.post(
        f"/moderate/trainings/{training.id}/moderators",
        data={"email": "olga@example.org", "display_name": "Ольга Ким"},
        headers={"X-Requested-With": "fetch"},
    )
    answer = response.get_json()
    assert answer["ok"] and "Ольга Ким" in answer["message"]
    olga = db.session.scalar(db.select(Person).where(Person.email == "olga@example.org"))
    assert olga.is_moderator and olga.password_hash is None
    token = re.search(r"/sign-in/link/([\w-]+)$", answer["url"]).group(1)
    assert db.session.scalar(db.select(SignInLink.token_hash).where(SignInLink.person_id == olga.id)) != token

    colleague = app.test_client()
    assert colleague.post(f"/sign-in/link/{token}").headers["Location"].endswith("/account")
    assert colleague.get(f"/moderate/trainings/{training.id}").status_code == 200
    assert colleague.post(f"/sign-in/link/{token}").status_code == 404  # the link works once


def test_the_dashboard_lists_who_runs_the_training(client, training, moderator):
    trainings.add_co_moderator(training, moderator, "olga@example.org", "Ольга Ким")
    sign_in(client, moderator.email)
    page = client.get(f"/moderate/trainings/{training.id}").get_data(as_text=True)
    listed = page[page.index('id="training-moderators"') :]
    assert moderator.display_name in listed and "Ольга Ким" in listed


@pytest.mark.parametrize(
    ("email", "message"),
    [
        pytest.param("participant@example.org", "принадлежит участнику", id="a participant's e-mail"),
        pytest.param("owner", "уже ведёт тренинг", id="the training's own moderator"),
    ],
)
def test_a_colleague_the_training_cannot_take_is_refused_with_a_reason(
    world, client, training, group, moderator, email, message
):
    participant = world.member(group, "Анна")
    participant.email = "participant@example.org"
    db.session.commit()
    sign_in(client, moderator.email)
    email = moderator.email if email == "owner" else email
    answer = client.post(
        f"/moderate/trainings/{training.id}/moderators", data={"email": email}, headers={"X-Requested-With": "fetch"}
    ).get_json()
    assert not answer["ok"] and message in answer["message"]
    assert not db.session.get(Person, participant.id).is_moderator


def test_only_those_who_run_the_training_add_co_moderators(world, client, training):
    stranger = make_moderator("stranger@example.org", "Чужой Модератор")
    sign_in(client, stranger.email)
    response = client.post(f"/moderate/trainings/{training.id}/moderators", data={"email": "x@example.org"})
    assert response.status_code == 404
    assert db.session.scalar(db.select(Person).where(Person.email == "x@example.org")) is None
