"""Names and every other text a person types follow the op text rules: no control characters, no lone surrogates.

One definition (roadmap/domain/text.py) serves ops, every text field of every
form, and the services that take names from elsewhere (the JSON API, the CLI).
Names that PostgreSQL cannot store (NUL, lone surrogates) are tried on both databases.
"""

import io

import pytest
from conftest import PASSWORD, make_moderator
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import PasswordField, StringField

from roadmap.extensions import db
from roadmap.models import Announcement, Group, Person, Roadmap, Timer, Training, Vote
from roadmap.services import trainings

BOTH_DATABASES = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
# Werkzeug's test client cannot put a lone surrogate into a form (it is not UTF-8); the JSON API can.
TYPED_CONTROLS = {
    "NUL": "Мари\x00на",
    "bell and escape": "bell\x07\x1b[31m",
    "delete": "Марина\x7f",
    "next line (C1)": "Мари\x85на",
    "CSI (C1)": "Марина\x9b31m",
    "vertical tab": "Мари\x0bна",
}
CONTROLS = {**TYPED_CONTROLS, "lone surrogate": "\ud800 lone", "lone low surrogate": "Марина\udfff"}
FIELD_ERROR = "Уберите из текста управляющие символы."


def count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def page(response) -> str:
    return response.get_data(as_text=True)


# --- the one definition -----------------------------------------------------------


@pytest.mark.parametrize(
    "character",
    [
        chr(code)
        for code in [
            *range(0x00, 0x09),
            0x0B,
            0x0C,
            *range(0x0E, 0x20),
            *range(0x7F, 0xA0),
            0xD800,
            0xDBFF,
            0xDC00,
            0xDFFF,
        ]
    ],
)
def test_c0_controls_but_tab_and_line_breaks_delete_c1_controls_and_surrogates_are_control_characters(character):
    from roadmap.domain import text

    assert text.has_control_characters(f"a{character}b")


@pytest.mark.parametrize("typed", ["Марина\tОлег\r\n", "\xa0", "~", "😀", "\u200b", "\ufeff", "\u202e"])
def test_tab_line_breaks_and_every_other_character_are_allowed(typed):
    from roadmap.domain import text

    assert not text.has_control_characters(typed)


# --- joining: the JSON API and the forms --------------------------------------------


@BOTH_DATABASES
@pytest.mark.parametrize("name", CONTROLS.values(), ids=CONTROLS.keys())
def test_api_join_refuses_a_name_with_control_characters_and_stores_no_one(client, group, name):
    response = client.post("/api/join", json={"join_code": group.training.join_code, "display_name": name})

    assert response.status_code == 400
    assert response.get_json() == {
        "ok": False,
        "error": {"code": "invalid_value", "message": "В имени есть управляющие символы. Уберите их."},
    }
    assert count(Person, Person.is_moderator.is_(False)) == 0


@BOTH_DATABASES
@pytest.mark.parametrize("name", TYPED_CONTROLS.values(), ids=TYPED_CONTROLS.keys())
def test_join_form_refuses_a_name_with_control_characters_with_a_field_error(client, group, name):
    response = client.post("/", data={"join_code": group.training.join_code, "display_name": name})

    assert response.status_code == 200
    assert FIELD_ERROR in page(response)
    assert count(Person, Person.is_moderator.is_(False)) == 0


def test_group_picking_form_refuses_a_name_with_control_characters(client, world, group):
    world.group(group.training, "Сквер")

    response = client.post(f"/join/{group.training.join_code}", data={"display_name": "bell\x07", "group_id": group.id})

    assert response.status_code == 200
    assert FIELD_ERROR in page(response)
    assert count(Person, Person.is_moderator.is_(False)) == 0


@pytest.mark.parametrize("name", CONTROLS.values(), ids=CONTROLS.keys())
def test_joining_a_group_with_control_characters_in_the_name_is_refused_by_the_service(group, name):
    with pytest.raises(trainings.JoinError) as refused:
        trainings.join_group(group.training, group.id, name, None)

    assert refused.value.code == "invalid_value"


def test_a_name_keeps_its_whitespace_collapsed_and_its_length_cut(group):
    person = trainings.join_group(group.training, group.id, "  Марина \t\n  Петрова " + "я" * 100, None)

    assert person.display_name == ("Марина Петрова " + "я" * 100)[:80]


# --- moderators: the setup page and the CLI ---------------------------------------------


@BOTH_DATABASES
@pytest.mark.parametrize("name", TYPED_CONTROLS.values(), ids=TYPED_CONTROLS.keys())
def test_setup_page_refuses_a_moderator_name_with_control_characters(client, name):
    response = client.post(
        "/setup", data={"display_name": name, "email": "irina@example.org", "password": PASSWORD, "confirm": PASSWORD}
    )

    assert response.status_code == 200
    assert FIELD_ERROR in page(response)
    assert count(Person) == 0


@BOTH_DATABASES
@pytest.mark.parametrize("name", CONTROLS.values(), ids=CONTROLS.keys())
def test_create_moderator_command_refuses_a_name_with_control_characters(app, name):
    result = app.test_cli_runner().invoke(
        args=["create-moderator", "--email", "irina@example.org", "--name", name, "--password", PASSWORD]
    )

    assert result.exit_code == 1
    assert "Error: name has control characters" in result.output
    assert count(Person) == 0


# --- every form a moderator or a participant types into ----------------------------------


@pytest.fixture
def moderator_browser(app, training):
    browser = app.test_client()
    response = browser.post("/sign-in", data={"email": training.moderator.email, "password": PASSWORD})
    assert response.status_code == 302
    return browser


@pytest.fixture
def training(world):
    return world.training(make_moderator("irina@example.org", "Ирина Соколова"))


def import_file() -> tuple:
    return io.BytesIO("\ufefftitle,due_on\nОпрос жителей,2027-05-10\n".encode()), "map.csv"


MODERATOR_FORMS = {
    "training title": (
        "/moderate/",
        lambda bad: {"title": bad, "city": "Вологда", "starts_on": "2027-04-22", "ends_on": "2027-04-24"},
    ),
    "training city": (
        "/moderate/",
        lambda bad: {"title": "Школа", "city": bad, "starts_on": "2027-04-22", "ends_on": "2027-04-24"},
    ),
    "training venue": (
        "/moderate/",
        lambda bad: {
            "title": "Школа",
            "city": "Вологда",
            "venue": bad,
            "starts_on": "2027-04-22",
            "ends_on": "2027-04-24",
        },
    ),
    "group name": ("/moderate/trainings/{training_id}", lambda bad: {"name": bad, "theme": "other"}),
    "group rename": ("/moderate/groups/{group_id}/rename", lambda bad: {"name": bad}),
    "imported group name": (
        "/moderate/trainings/{training_id}/import",
        lambda bad: {"name": bad, "file": import_file()},
    ),
    "announcement": (
        "/moderate/trainings/{training_id}/announcements",
        lambda bad: {"announcement-text": bad, "announcement-group_id": ""},
    ),
    "timer label": (
        "/moderate/trainings/{training_id}/timer",
        lambda bad: {"timer-action": "start", "timer-minutes": "5", "timer-label": bad, "timer-group_id": ""},
    ),
    "vote question": (
        "/moderate/trainings/{training_id}/votes",
        lambda bad: {"vote-question": bad, "vote-dots": "3", "vote-group_id": ""},
    ),
}


def typed_world() -> dict:
    """What any text a moderator types ends up in."""
    return {
        "trainings": sorted(db.session.scalars(select(Training.title))),
        "groups": sorted(db.session.scalars(select(Group.name))),
        "announcements": count(Announcement),
        "timers": count(Timer),
        "votes": count(Vote),
    }


@pytest.mark.parametrize("form", MODERATOR_FORMS, ids=MODERATOR_FORMS.keys())
@pytest.mark.parametrize("bad", ["bell\x07\x1b[31m", "C1\x85", "NUL\x00"], ids=["bell and escape", "C1", "NUL"])
def test_every_moderator_form_refuses_text_with_control_characters(moderator_browser, world, training, form, bad):
    group = world.group(training)
    path, data = MODERATOR_FORMS[form]
    before = typed_world()

    response = moderator_browser.post(
        path.format(training_id=training.id, group_id=group.id), data=data(bad), headers={"X-Requested-With": "fetch"}
    )

    answer = response.get_json()["message"] if response.is_json else page(response)
    assert FIELD_ERROR in answer, answer[:500]
    assert typed_world() == before


@pytest.mark.parametrize("bad", ["C1\x85", "bell\x07"])
def test_add_step_form_refuses_a_title_with_control_characters(client, group, bad):
    client.post("/", data={"join_code": group.training.join_code, "display_name": "Марина"})

    client.post(f"/maps/{group.roadmap.id}/steps", data={"title": bad})

    assert db.session.scalar(select(Roadmap.revision).where(Roadmap.id == group.roadmap.id)) == 0


def test_account_page_refuses_an_e_mail_with_control_characters(client, group):
    client.post("/", data={"join_code": group.training.join_code, "display_name": "Марина"})

    response = client.post(
        "/account", data={"email": "marina\x85@example.org", "password": PASSWORD, "confirm": PASSWORD}
    )

    assert FIELD_ERROR in page(response)
    assert count(Person, Person.password_hash.is_not(None), Person.is_moderator.is_(False)) == 0


def every_form_class() -> list[type[FlaskForm]]:
    """Every form class of the views (the app fixture has imported them all)."""
    found, pending = [], list(FlaskForm.__subclasses__())
    while pending:
        form_class = pending.pop()
        pending.extend(form_class.__subclasses__())
        if form_class.__module__.startswith("roadmap.views"):
            found.append(form_class)
    return found


def test_every_text_field_of_every_form_refuses_control_characters(app):
    from roadmap.views.validators import NoControlCharacters

    with app.test_request_context():
        unchecked = [
            f"{form_class.__name__}.{field.name}"
            for form_class in every_form_class()
            for field in form_class(meta={"csrf": False})
            if isinstance(field, StringField)
            and not isinstance(field, PasswordField)
            and not any(isinstance(validator, NoControlCharacters) for validator in field.validators)
        ]

    assert every_form_class(), "no forms found"
    assert unchecked == []
