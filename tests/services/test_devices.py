"""One person, many devices: codes that carry a sign-in to another device, the «Это вы?»
check for a name already in the group, and merging two entries that are one person."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import PASSWORD, SECRET_KEY, IsolatedClient, make_moderator, new_id, secure_account
from sqlalchemy import select

from roadmap import create_app
from roadmap.config import TestConfig
from roadmap.domain.permissions import Actor
from roadmap.extensions import db
from roadmap.models import Change, Dot, Membership, Person, SignInLink, Step
from roadmap.services import accounts, editing, identities, sign_in_links, snapshots, trainings, voting


@pytest.fixture
def moderator(app):
    return make_moderator("irina@example.org", "Ирина Соколова")


@pytest.fixture
def clock(app):
    """Moves the app's clock on by some minutes."""
    return lambda minutes: app.config.update(CLOCK_OFFSET=timedelta(minutes=minutes))


def add_step(person, group, title: str, **fields) -> str:
    step_id = new_id()
    editing.apply(
        {
            "op_id": new_id(),
            "roadmap_id": group.roadmap.id,
            "type": "step.add",
            "step_id": step_id,
            "fields": {"title": title, **fields},
        },
        actor=person,
    )
    return step_id


def owner_of(step_id: str):
    db.session.expire_all()
    return db.session.get(Step, step_id).owner_member_id


def signed_in_person(client) -> int | None:
    """Who the client's session cookie signs in as."""
    with client.session_transaction() as cookie_session:
        person_id = cookie_session.get("_user_id")
    person = accounts.person_for_session_id(person_id) if person_id else None
    return person.id if person else None


# --- device codes ---------------------------------------------------------------------------


def test_a_device_code_signs_in_as_the_same_person_once(group, app):
    anna = trainings.join_group(group.training, group.id, "Анна Петрова", None)
    code = identities.issue_device_code(anna)

    assert identities.use_device_code(code).id == anna.id
    assert identities.use_device_code(code) is None


def test_a_device_code_is_read_as_people_type_it(group):
    anna = trainings.join_group(group.training, group.id, "Анна Петрова", None)
    code = identities.issue_device_code(anna)

    typed = " " + identities.grouped(code).lower() + " "

    assert "-" in identities.grouped(code) and len(identities.grouped(code)) == 7
    assert identities.use_device_code(typed).id == anna.id


def test_a_device_code_works_for_ten_minutes_and_not_after(group, clock):
    anna = trainings.join_group(group.training, group.id, "Анна Петрова", None)
    boris = trainings.join_group(group.training, group.id, "Борис", None)
    annas, boris_code = identities.issue_device_code(anna), identities.issue_device_code(boris)

    clock(9)
    assert identities.use_device_code(annas).id == anna.id
    clock(11)
    assert identities.use_device_code(boris_code) is None


def test_a_new_code_retires_the_one_shown_before(group):
    anna = trainings.join_group(group.training, group.id, "Анна Петрова", None)
    first = identities.issue_device_code(anna)

    second = identities.issue_device_code(anna)

    assert identities.use_device_code(first) is None
    assert identities.use_device_code(second).id == anna.id


def test_only_a_keyed_hash_of_the_device_code_is_stored(group):
    anna = trainings.join_group(group.training, group.id, "Анна Петрова", None)
    code = identities.issue_device_code(anna)

    stored = db.session.scalars(select(SignInLink).where(SignInLink.person_id == anna.id)).one()
    assert stored.kind == "device" and stored.token_hash != code and code not in stored.token_hash
    assert len(stored.token_hash) == 64


def test_a_moderators_sign_in_link_is_not_a_device_code(group, moderator):
    anna = trainings.join_group(group.training, group.id, "Анна Петрова", None)

    token = sign_in_links.issue_sign_in_link(anna, moderator)

    assert identities.use_device_code(token[:6]) is None
    assert identities.use_device_code(token) is None


def test_a_moderator_gets_no_device_code(moderator):
    with pytest.raises(identities.MergeRefused):
        identities.issue_device_code(moderator)


def test_the_code_page_signs_the_new_device_in_and_the_old_one_stays(group, app):
    laptop, phone = app.test_client(), app.test_client()
    assert laptop.post("/", data={"join_code": group.training.join_code, "display_name": "Анна"}).status_code == 302
    page = laptop.post("/device").get_data(as_text=True)
    code = page.split('id="device-code"', 1)[1].split(">", 1)[1].split("<", 1)[0].strip()
    assert len(code) == 7 and 'src="data:image/svg+xml' in page

    assert phone.get(f"/device/continue?code={code}").status_code == 200  # opening the QR's link spends nothing
    landed = phone.post("/device/continue", data={"code": code})

    assert landed.status_code == 302 and landed.headers["Location"].endswith(f"/maps/{group.roadmap.id}")
    assert "remember_token" in landed.headers.get("Set-Cookie", "")
    assert signed_in_person(phone) == signed_in_person(laptop) is not None
    assert laptop.get(f"/maps/{group.roadmap.id}").status_code == 200
    assert phone.get(f"/maps/{group.roadmap.id}").status_code == 200
    assert len(group.memberships) == 1
    assert app.test_client().post("/device/continue", data={"code": code}).status_code == 404


def test_wrong_device_codes_are_refused_after_the_limit(app, database_url, tmp_path, world):
    limited = create_app(
        TestConfig,
        overrides={
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": SECRET_KEY,
            "INSTANCE_PATH": str(tmp_path / "limited"),
            "DEVICE_CODE_RATE_LIMIT": "3 per minute",
        },
    )
    limited.test_client_class = IsolatedClient
    group = world.group()
    anna = trainings.join_group(group.training, group.id, "Анна", None)
    client = limited.test_client()

    answers = [client.post("/device/continue", data={"code": "AAA-AAA"}) for _ in range(3)]
    with limited.app_context():
        right_code = identities.issue_device_code(anna)
    refused = client.post("/device/continue", data={"code": right_code})

    assert [answer.status_code for answer in answers] == [404] * 3
    assert refused.status_code == 429


# --- a name already in the group ------------------------------------------------------------


@pytest.mark.parametrize("second_name", ["Анна Петрова", "анна петрова", "  Анна   Петрова ", "АННА ПЕТРОВА"])
def test_a_name_already_in_the_group_is_a_clash_whatever_its_case_and_spaces(group, second_name):
    trainings.join_group(group.training, group.id, "Анна Петрова", None)

    with pytest.raises(trainings.JoinError) as refused:
        trainings.join_group(group.training, group.id, second_name, None)
    assert refused.value.code == "name_taken"


def test_yo_and_ye_are_the_same_letter_in_a_name(group):
    trainings.join_group(group.training, group.id, "Пётр Семёнов", None)

    with pytest.raises(trainings.JoinError):
        trainings.join_group(group.training, group.id, "Петр Семенов", None)


def test_a_namesake_who_says_they_are_someone_else_joins_as_a_new_person(group):
    first = trainings.join_group(group.training, group.id, "Анна Петрова", None)

    second = trainings.join_group(group.training, group.id, "Анна Петрова", None, different_person=True)

    assert second.id != first.id
    assert db.session.scalar(select(db.func.count(Membership.id)).where(Membership.group_id == group.id)) == 2


def test_the_same_name_in_another_group_and_rejoining_oneself_are_no_clash(world, training, group):
    other_group = world.group(training, name="Сквер у библиотеки")
    anna = trainings.join_group(group.training, group.id, "Анна", None)
    trainings.join_group(training, other_group.id, "Анна", None)

    assert trainings.join_group(training, group.id, "анна", anna).id == anna.id


def test_the_join_page_asks_is_it_you_and_creates_nobody(group, client, app):
    trainings.join_group(group.training, group.id, "Анна Петрова", None)
    people_before = db.session.scalar(select(db.func.count(Person.id)))

    answer = client.post("/", data={"join_code": group.training.join_code, "display_name": "анна  петрова"})

    page = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "Это вы?" in page and "/device/continue" in page
    assert db.session.scalar(select(db.func.count(Person.id))) == people_before
    anyway = client.post(
        f"/join/{group.training.join_code}",
        data={"display_name": "Анна Петрова", "group_id": group.id, "different_person": "y"},
    )
    assert anyway.status_code == 302
    assert db.session.scalar(select(db.func.count(Person.id))) == people_before + 1


def test_api_join_with_a_taken_name_is_a_409_unless_it_says_it_is_someone_else(group, client):
    trainings.join_group(group.training, group.id, "Анна Петрова", None)
    body = {"join_code": group.training.join_code, "display_name": "Анна Петрова"}

    clash = client.post("/api/join", json=body)
    anyway = client.post("/api/join", json={**body, "different_person": True})
    not_a_flag = client.post("/api/join", json={**body, "different_person": "yes"})

    assert clash.status_code == 409 and clash.get_json()["error"]["code"] == "name_taken"
    assert anyway.status_code == 200 and anyway.get_json()["ok"] is True
    assert not_a_flag.status_code == 400 and not_a_flag.get_json()["error"]["code"] == "invalid_request"


# --- merging -----------------------------------------------------------------------------------


@pytest.fixture
def two_annas(group):
    """Анна on her laptop and Анна again from her phone, after its battery died."""
    laptop = trainings.join_group(group.training, group.id, "Анна Петрова", None)
    phone = trainings.join_group(group.training, group.id, "Анна Петрова", None, different_person=True)
    return laptop, phone


def test_merging_moves_memberships_ownership_and_dots_and_logs_owner_changes_as_ops(
    world, training, group, two_annas, moderator
):
    laptop, phone = two_annas
    other_group = world.group(training, name="Сквер у библиотеки")
    trainings.join_group(training, other_group.id, "Анна Петрова", phone)
    step_id = add_step(phone, group, "Опрос жителей", owner={"member": phone.id})
    vote = voting.open_vote(training, dots_per_person=3)
    voting.place_dot(vote.id, step_id, Actor.of(phone))
    voting.place_dot(vote.id, step_id, Actor.of(phone))
    revision_before = group.roadmap.revision

    identities.merge_people(phone, laptop, moderator)

    db.session.expire_all()
    assert owner_of(step_id) == laptop.id
    owner_change = db.session.scalars(
        select(Change).where(Change.roadmap_id == group.roadmap.id).order_by(Change.revision.desc())
    ).first()
    assert owner_change.revision > revision_before
    assert owner_change.author_id == moderator.id and owner_change.op["type"] == "step.set"
    assert owner_change.op["field"] == "owner" and owner_change.op["value"] == {"member": laptop.id}
    assert {m.group_id for m in db.session.get(Person, laptop.id).memberships} == {group.id, other_group.id}
    assert db.session.get(Person, phone.id).memberships == []
    assert db.session.scalar(select(db.func.count(Dot.id)).where(Dot.person_id == laptop.id)) == 2
    names = [member["name"] for member in snapshots.members_data(group.id)]
    assert names == ["Анна Петрова"]


def test_the_change_log_keeps_its_authors_after_a_merge(group, two_annas, moderator):
    laptop, phone = two_annas
    add_step(phone, group, "Написать в администрацию")

    identities.merge_people(phone, laptop, moderator)

    authors = db.session.scalars(select(Change.author_id).where(Change.roadmap_id == group.roadmap.id)).all()
    assert authors == [phone.id]


def test_signing_in_as_the_merged_person_signs_in_as_the_kept_one(group, two_annas, moderator, app):
    laptop, phone = two_annas
    token = accounts.issue_token(phone)

    identities.merge_people(phone, laptop, moderator)

    assert accounts.person_for_token(token).id == laptop.id
    assert accounts.signed_in_as(db.session.get(Person, phone.id)).id == laptop.id


def test_merging_a_duplicate_who_kept_access_moves_the_e_mail_and_password_to_the_kept_one(
    group, two_annas, moderator, client
):
    laptop, phone = two_annas
    secure_account(phone, "anna@example.org", "лето в сквере 2027")

    identities.merge_people(phone, laptop, moderator)

    db.session.expire_all()
    assert db.session.get(Person, laptop.id).email == "anna@example.org"
    assert db.session.get(Person, phone.id).email is None
    assert accounts.authenticate("anna@example.org", "лето в сквере 2027").id == laptop.id


def test_a_merge_into_someone_merged_later_follows_to_the_last_one(group, moderator):
    first = trainings.join_group(group.training, group.id, "Анна", None)
    second = trainings.join_group(group.training, group.id, "Анна", None, different_person=True)
    third = trainings.join_group(group.training, group.id, "Анна", None, different_person=True)

    identities.merge_people(third, second, moderator)
    identities.merge_people(second, first, moderator)

    assert accounts.signed_in_as(db.session.get(Person, third.id)).id == first.id


@pytest.mark.parametrize("case", ["same", "moderator", "other_moderator", "both_secured", "locked"])
def test_merges_that_would_hand_over_too_much_are_refused(world, group, two_annas, moderator, case):
    laptop, phone = two_annas
    expected = {
        "same": "same_person",
        "moderator": "not_allowed",
        "other_moderator": "not_allowed",
        "both_secured": "both_secured",
        "locked": "map_locked",
    }[case]
    if case == "same":
        phone = laptop
    elif case == "moderator":
        phone = moderator
    elif case == "other_moderator":
        foreign = world.group(world.training(world.moderator(email="other@example.org")), name="Чужая")
        trainings.join_group(foreign.training, foreign.id, "Анна Петрова", phone)
    elif case == "both_secured":
        secure_account(laptop, "anna@example.org", "лето в сквере 2027")
        secure_account(phone, "anna.p@example.org", "лето в сквере 2027")
    else:
        add_step(phone, group, "Опрос", owner={"member": phone.id})
        editing.apply(
            {"op_id": new_id(), "roadmap_id": group.roadmap.id, "type": "map.lock", "locked": True}, actor=moderator
        )

    with pytest.raises(identities.MergeRefused) as refused:
        identities.merge_people(phone, laptop, moderator)
    assert refused.value.code == expected


def test_the_dashboard_merges_after_a_csrf_form_post(group, two_annas, moderator, app):
    laptop, phone = two_annas
    client = app.test_client()
    client.post("/sign-in", data={"email": moderator.email, "password": PASSWORD})
    kept_membership = next(m.id for m in laptop.memberships)
    assert "Объединить с" in client.get(f"/moderate/trainings/{group.training_id}").get_data(as_text=True)

    answer = client.post(
        f"/moderate/memberships/{kept_membership}/merge",
        data={"duplicate_person_id": phone.id},
        headers={"X-Requested-With": "fetch"},
    )

    assert answer.status_code == 200 and answer.get_json()["ok"] is True
    db.session.rollback()
    assert db.session.get(Person, phone.id).merged_into_id == laptop.id
