"""The pages and the JSON API over HTTP: Flask's test client on a real SQLite database."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import pytest
from conftest import PASSWORD, SECRET_KEY, IsolatedClient, World, make_moderator, new_id
from flask_migrate import upgrade
from sqlalchemy import func, select

from roadmap import create_app
from roadmap.config import TestConfig
from roadmap.extensions import db
from roadmap.models import Change, Group, Membership, Person, Roadmap, Step, Training
from roadmap.services import editing
from roadmap.services.trainings import JOIN_CODE_LENGTH

CONFUSABLE_CHARACTERS = set("0O1IL")
Browser = IsolatedClient


@pytest.fixture
def new_browser(app):
    return lambda: Browser(app, app.response_class, use_cookies=True)


@pytest.fixture
def browser(new_browser):
    return new_browser()


@pytest.fixture
def moderator(app):
    return make_moderator("irina@example.org", "Ирина Соколова")


@pytest.fixture
def sibling_group(world, training):
    """A second group in the same training."""
    return world.group(training, name="Сквер у библиотеки", theme="landscaping")


@pytest.fixture
def foreign_moderator(app):
    return make_moderator("oleg@example.org", "Олег Дмитриев")


@pytest.fixture
def foreign_group(world, foreign_moderator):
    """A group of a training someone else moderates."""
    return world.group(world.training(foreign_moderator, title="Другое обучение"), name="Чужая группа")


def sign_in(browser, person, password=PASSWORD, next_page=None):
    url = "/sign-in" + (f"?next={next_page}" if next_page else "")
    return browser.post(url, data={"email": person.email, "password": password})


def join(browser, join_code, name="Марина"):
    return browser.post("/", data={"join_code": join_code, "display_name": name})


def join_group(browser, group, name="Марина"):
    """Join a particular group through the group-picking page."""
    return browser.post(f"/join/{group.training.join_code}", data={"display_name": name, "group_id": group.id})


def map_url(group) -> str:
    return f"/maps/{group.roadmap.id}"


def count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def revision_of(group) -> int:
    return db.session.scalar(select(Roadmap.revision).where(Roadmap.id == group.roadmap.id))


def edit(actor, group, op_type, **keys):
    return editing.apply({"op_id": new_id(), "roadmap_id": group.roadmap.id, "type": op_type, **keys}, actor=actor)


def page(response) -> str:
    return response.get_data(as_text=True)


def editor_data(html: str) -> dict:
    block = re.search(r'<script type="application/json" id="editor-data">(.*?)</script>', html, re.DOTALL)
    return json.loads(block.group(1))


def path_of(response) -> str:
    return urlsplit(response.headers["Location"]).path


def stays_on_this_site(location: str) -> bool:
    """Whether a browser following this Location stays here (browsers drop tabs and
    newlines from URLs and read a backslash as a slash)."""
    as_browser_reads_it = re.sub(r"[\t\r\n]", "", location).replace("\\", "/")
    return urlsplit(urljoin("http://localhost/start", as_browser_reads_it)).netloc == "localhost"


# First run and moderator sign-in


def test_sign_in_sends_to_setup_while_no_moderator_exists(browser):
    response = browser.get("/sign-in")

    assert response.status_code == 302
    assert path_of(response) == "/setup"


def setup_form(**changes):
    return {
        "display_name": "Ирина Соколова",
        "email": "Irina@Example.org",
        "password": PASSWORD,
        "confirm": PASSWORD,
        **changes,
    }


def test_setup_creates_a_moderator_with_an_argon2id_password_hash(browser):
    response = browser.post("/setup", data=setup_form())

    assert response.status_code == 302
    moderator = db.session.scalar(select(Person).where(Person.email == "irina@example.org"))
    assert moderator.is_moderator
    assert moderator.password_hash.startswith("$argon2id$")
    assert PASSWORD not in moderator.password_hash


def test_setup_signs_the_new_moderator_in(browser):
    response = browser.post("/setup", data=setup_form())

    assert path_of(response) == "/moderate/"
    assert browser.get("/moderate/").status_code == 200


@pytest.mark.parametrize(
    "changes",
    [
        {"password": "short", "confirm": "short"},
        {"confirm": "another horse battery"},
        {"email": "not-an-address"},
        {"display_name": ""},
    ],
    ids=["short password", "passwords differ", "bad e-mail", "no name"],
)
def test_setup_with_invalid_input_creates_no_moderator(browser, changes):
    response = browser.post("/setup", data=setup_form(**changes))

    assert response.status_code == 200
    assert 'class="error"' in page(response)
    assert count(Person) == 0


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_setup_is_gone_once_a_moderator_exists(browser, moderator, method):
    response = browser.open("/setup", method=method, data=setup_form(email="mallory@example.org"))

    assert response.status_code == 404
    assert count(Person) == 1


def test_sign_in_with_the_right_password_opens_the_trainings_page(browser, moderator):
    response = sign_in(browser, moderator)

    assert path_of(response) == "/moderate/"
    assert browser.get("/moderate/").status_code == 200


def test_wrong_password_shows_an_error_and_does_not_sign_in(browser, moderator):
    response = sign_in(browser, moderator, password="wrong horse battery")

    assert response.status_code == 200
    assert "Неверная почта или пароль." in page(response)
    assert path_of(browser.get("/moderate/")) == "/sign-in"


def test_sign_in_returns_to_the_page_that_asked_for_it(browser, moderator, training):
    asked = browser.get(f"/moderate/trainings/{training.id}")
    assert path_of(asked) == "/sign-in"

    response = browser.post(asked.headers["Location"], data={"email": moderator.email, "password": PASSWORD})

    assert path_of(response) == f"/moderate/trainings/{training.id}"


@pytest.mark.parametrize(
    "hostile_next",
    [
        "//evil.example",
        "https://evil.example/",
        "/%09/evil.example",
        "/%0A/evil.example",
    ],
    ids=["protocol-relative", "absolute", "tab", "newline"],
)
def test_sign_in_does_not_follow_a_next_page_on_another_site(browser, moderator, hostile_next):
    response = sign_in(browser, moderator, next_page=hostile_next)

    assert response.status_code == 302
    assert stays_on_this_site(response.headers["Location"])


def test_sign_out_ends_the_moderator_session(browser, moderator):
    sign_in(browser, moderator)

    browser.post("/sign-out")

    assert path_of(browser.get("/moderate/")) == "/sign-in"


# Moderation: trainings, join codes, groups


def training_form(**changes):
    return {
        "title": "Школа городских героев",
        "city": "Вологда",
        "venue": "Библиотека",
        "starts_on": "2027-04-22",
        "ends_on": "2027-04-24",
        **changes,
    }


def test_moderator_creates_a_training_and_lands_on_its_page(browser, moderator):
    sign_in(browser, moderator)

    response = browser.post("/moderate/", data=training_form())

    created = db.session.scalar(select(Training))
    assert (created.title, created.city, created.venue) == ("Школа городских героев", "Вологда", "Библиотека")
    assert (created.starts_on.isoformat(), created.ends_on.isoformat()) == ("2027-04-22", "2027-04-24")
    assert created.moderator_id == moderator.id
    assert path_of(response) == f"/moderate/trainings/{created.id}"


def test_training_whose_last_day_is_before_the_first_is_rejected_with_an_error(browser, moderator):
    sign_in(browser, moderator)

    response = browser.post("/moderate/", data=training_form(starts_on="2027-04-24", ends_on="2027-04-22"))

    assert response.status_code == 200
    assert "Последний день не может быть раньше первого." in page(response)
    assert count(Training) == 0


def test_training_page_shows_its_join_code(browser, moderator):
    sign_in(browser, moderator)
    training_page = browser.post("/moderate/", data=training_form(), follow_redirects=True)

    join_code = db.session.scalar(select(Training.join_code))
    assert f'class="join-code" aria-label="Код для входа">{join_code}<' in page(training_page)


def test_join_codes_have_six_characters_none_of_them_confusable(world, moderator):
    codes = {world.training(moderator).join_code for _ in range(30)}

    assert len(codes) == 30
    for code in codes:
        assert JOIN_CODE_LENGTH == 6 and re.fullmatch(r"[A-Z2-9]{6}", code), code
        assert not CONFUSABLE_CHARACTERS & set(code), code


def test_moderator_adds_groups_with_themes(browser, moderator, training):
    sign_in(browser, moderator)

    browser.post(f"/moderate/trainings/{training.id}", data={"name": "Чистый двор", "theme": "waste_sorting"})
    response = browser.post(
        f"/moderate/trainings/{training.id}", data={"name": "Сквер", "theme": "landscaping"}, follow_redirects=True
    )

    groups = db.session.execute(select(Group.name, Group.theme).where(Group.training_id == training.id)).all()
    assert sorted(groups) == [("Сквер", "landscaping"), ("Чистый двор", "waste_sorting")]
    assert "theme-landscaping" in page(response) and "theme-waste_sorting" in page(response)


def test_each_new_group_starts_with_an_empty_map_of_its_theme(browser, moderator, training):
    sign_in(browser, moderator)

    browser.post(f"/moderate/trainings/{training.id}", data={"name": "Сквер", "theme": "landscaping"})

    roadmap = db.session.scalar(select(Roadmap).join(Group).where(Group.training_id == training.id))
    assert (roadmap.theme, roadmap.revision, roadmap.title) == ("landscaping", 0, "")


def test_group_with_an_unknown_theme_is_rejected(browser, moderator, training):
    sign_in(browser, moderator)

    response = browser.post(f"/moderate/trainings/{training.id}", data={"name": "Сквер", "theme": "space_travel"})

    assert response.status_code == 200
    assert count(Group) == 0


@dataclass
class Scene:
    """One training with two groups, and a training someone else moderates."""

    moderator: Person
    group: Group
    sibling_group: Group
    foreign_moderator: Person
    foreign_group: Group


@pytest.fixture
def scene(moderator, group, sibling_group, foreign_moderator, foreign_group):
    return Scene(moderator, group, sibling_group, foreign_moderator, foreign_group)


def enter_as(browser, visitor: str, scene: Scene) -> None:
    """Sign a browser in as one of the people in the scene, over HTTP."""
    if visitor == "its member":
        join_group(browser, scene.group)
    elif visitor == "member of another group":
        join_group(browser, scene.sibling_group)
    elif visitor == "member of another training":
        join_group(browser, scene.foreign_group)
    elif visitor == "its moderator":
        sign_in(browser, scene.moderator)
    elif visitor == "moderator of another training":
        sign_in(browser, scene.foreign_moderator)
    else:
        assert visitor == "anonymous"


@pytest.mark.parametrize(
    "visitor, status, redirect_path",
    [
        ("its moderator", 200, None),
        ("moderator of another training", 200, None),
        ("its member", 403, None),
        ("anonymous", 302, "/sign-in"),
    ],
)
def test_who_may_open_the_trainings_list(browser, scene, visitor, status, redirect_path):
    enter_as(browser, visitor, scene)

    response = browser.get("/moderate/")

    assert response.status_code == status
    if redirect_path:
        assert path_of(response) == redirect_path


@pytest.mark.parametrize(
    "visitor, status, redirect_path",
    [
        ("its moderator", 200, None),
        ("moderator of another training", 404, None),
        ("its member", 403, None),
        ("anonymous", 302, "/sign-in"),
    ],
)
def test_who_may_open_a_training_page(browser, scene, visitor, status, redirect_path):
    enter_as(browser, visitor, scene)

    response = browser.get(f"/moderate/trainings/{scene.group.training_id}")

    assert response.status_code == status
    if redirect_path:
        assert path_of(response) == redirect_path


@pytest.mark.parametrize(
    "visitor, status",
    [
        ("moderator of another training", 404),
        ("its member", 403),
        ("anonymous", 302),
    ],
)
def test_only_its_moderator_may_add_groups_to_a_training(browser, scene, visitor, status):
    enter_as(browser, visitor, scene)

    response = browser.post(
        f"/moderate/trainings/{scene.group.training_id}", data={"name": "Подброшенная группа", "theme": "other"}
    )

    assert response.status_code == status
    assert count(Group, Group.name == "Подброшенная группа") == 0


def test_trainings_list_shows_only_the_moderators_own_trainings(browser, scene):
    sign_in(browser, scene.foreign_moderator)

    response = browser.get("/moderate/")

    assert scene.foreign_group.training.join_code in page(response)
    assert scene.group.training.join_code not in page(response)


# Participants joining with a code


def test_with_one_group_the_participant_lands_directly_in_its_editor(browser, group):
    response = join(browser, group.training.join_code)

    assert path_of(response) == map_url(group)
    assert browser.get(map_url(group)).status_code == 200


@pytest.mark.parametrize(
    "typed", [str.lower, lambda code: f" {code[:3]} {code[3:]} ".lower()], ids=["lower case", "lower case with spaces"]
)
def test_join_code_is_case_insensitive_and_ignores_spaces(browser, group, typed):
    response = join(browser, typed(group.training.join_code))

    assert path_of(response) == map_url(group)


def test_joining_records_the_participant_in_the_group(browser, group):
    join(browser, group.training.join_code, name="  Марина   К. ")

    member = db.session.scalar(select(Person).join(Membership).where(Membership.group_id == group.id))
    assert member.display_name == "Марина К."
    assert not member.is_moderator and member.email is None


def test_with_several_groups_the_participant_is_asked_to_pick_one(browser, group, sibling_group):
    response = join(browser, group.training.join_code.lower())

    assert path_of(response) == f"/join/{group.training.join_code}"
    assert count(Membership) == 0


def test_group_picking_page_lists_the_groups_and_keeps_the_typed_name(browser, group, sibling_group):
    join(browser, group.training.join_code, name="Олег Д.")

    response = browser.get(f"/join/{group.training.join_code}")

    assert "Чистый двор" in page(response) and "Сквер у библиотеки" in page(response)
    assert 'value="Олег Д."' in page(response)


def test_picking_a_group_lands_in_its_editor(browser, group, sibling_group):
    join(browser, group.training.join_code)

    response = join_group(browser, sibling_group)

    assert path_of(response) == map_url(sibling_group)
    assert browser.get(map_url(sibling_group)).status_code == 200


def test_a_group_of_another_training_cannot_be_picked(browser, group, sibling_group, foreign_group):
    response = browser.post(
        f"/join/{group.training.join_code}", data={"display_name": "Марина", "group_id": foreign_group.id}
    )

    assert response.status_code == 200
    assert "Выберите рабочую группу." in page(response)
    assert count(Membership) == 0


def test_group_picking_page_of_an_unknown_code_is_404(browser):
    assert browser.get("/join/ZZZZZZ").status_code == 404


def test_unknown_code_shows_a_clear_error(browser, group):
    response = join(browser, "ZZZZZZ")

    assert response.status_code == 200
    assert "Тренинга с таким кодом нет. Уточните код у модератора." in page(response)
    assert count(Person, Person.is_moderator.is_(False)) == 0


def test_training_without_groups_tells_the_participant_to_ask_the_moderator(browser, training):
    response = join(browser, training.join_code, name="Марина")

    assert response.status_code == 200
    assert "В этом тренинге пока нет рабочих групп." in page(response)


def test_joining_sets_a_long_lived_remember_cookie(browser, group):
    response = join(browser, group.training.join_code)

    remember_cookie = next(
        header for header in response.headers.getlist("Set-Cookie") if header.startswith("remember_token=")
    )
    assert "HttpOnly" in remember_cookie and "Expires=" in remember_cookie


def test_remember_cookie_lets_a_new_session_back_into_the_map(browser, new_browser, group):
    join(browser, group.training.join_code)
    next_morning = new_browser()
    next_morning.set_cookie("remember_token", browser.get_cookie("remember_token").value)

    assert next_morning.get(map_url(group)).status_code == 200


def test_joining_a_second_group_from_the_same_browser_keeps_one_identity(browser, group, sibling_group):
    join_group(browser, group)
    join_group(browser, sibling_group, name="Марина К.")

    assert count(Person, Person.is_moderator.is_(False)) == 1
    assert count(Membership) == 2


def test_start_page_lists_the_participants_maps(browser, group, sibling_group):
    join_group(browser, group)

    response = browser.get("/")

    assert f'href="{map_url(group)}"' in page(response)
    assert f'href="{map_url(sibling_group)}"' not in page(response)


@pytest.mark.parametrize(
    "visitor, status",
    [
        ("its member", 200),
        ("its moderator", 200),
        ("member of another group", 404),
        ("member of another training", 404),
        ("moderator of another training", 404),
    ],
)
def test_who_may_open_a_map(browser, scene, visitor, status):
    enter_as(browser, visitor, scene)

    assert browser.get(map_url(scene.group)).status_code == status


def test_anonymous_visitor_of_a_map_is_sent_to_the_start_page(browser, group):
    response = browser.get(map_url(group))

    assert response.status_code == 302
    assert path_of(response) == "/"


def test_map_that_does_not_exist_is_404(browser, group):
    join_group(browser, group)

    assert browser.get("/maps/999999").status_code == 404


# The editor page


@pytest.fixture
def member_browser(browser, group):
    """A browser signed in as a member of `group`, by joining it."""
    join_group(browser, group)
    return browser


@pytest.fixture
def member(group):
    return db.session.scalar(select(Person).join(Membership).where(Membership.group_id == group.id))


@pytest.fixture
def filled_group(group, member_browser, member):
    edit(member, group, "map.set", field="title", value="Раздельный сбор на улице Садовой")
    for title in ("Опрос жителей", "Встреча с управляющей компанией"):
        edit(member, group, "step.add", step_id=new_id(), fields={"title": title})
    return group


def test_editor_page_renders_the_map_title(member_browser, filled_group):
    html = page(member_browser.get(map_url(filled_group)))

    assert "Раздельный сбор на улице Садовой</textarea>" in html
    assert editor_data(html)["snapshot"]["title"] == "Раздельный сбор на улице Садовой"


def test_editor_page_carries_the_steps_in_order(member_browser, filled_group):
    snapshot = editor_data(page(member_browser.get(map_url(filled_group))))["snapshot"]

    assert [step["title"] for step in snapshot["steps"]] == ["Опрос жителей", "Встреча с управляющей компанией"]
    assert snapshot["revision"] == 3


def test_editor_page_has_no_inline_script_but_the_json_data_block(member_browser, filled_group):
    html = page(member_browser.get(map_url(filled_group)))

    script_tags = re.findall(r"<script\b[^>]*>", html, re.IGNORECASE)
    inline = [tag for tag in script_tags if "src=" not in tag]
    assert inline == ['<script type="application/json" id="editor-data">']


def test_a_step_title_cannot_close_the_data_block(member_browser, group, member):
    hostile_title = "</script><script>alert(1)</script>"
    edit(member, group, "step.add", step_id=new_id(), fields={"title": hostile_title})

    html = page(member_browser.get(map_url(group)))

    assert "<script>alert(1)" not in html
    assert editor_data(html)["snapshot"]["steps"][0]["title"] == hostile_title


@pytest.mark.parametrize(
    "path", ["/", "/sign-in", "/join/{code}", "{map}", "/healthz", "/no-such-page", "/api/maps/{map_id}"]
)
def test_responses_carry_the_security_headers(member_browser, group, path):
    url = path.format(code=group.training.join_code, map=map_url(group), map_id=group.roadmap.id)

    response = member_browser.get(url)

    policy = dict(
        directive.strip().split(" ", 1) for directive in response.headers["Content-Security-Policy"].split(";")
    )
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-inline'" not in policy.get("default-src", "")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# Adding a step without JavaScript


def test_add_step_form_adds_a_step_through_the_edit_pipeline(member_browser, group, member):
    before = revision_of(group)

    response = member_browser.post(f"{map_url(group)}/steps", data={"title": "Опрос жителей"})

    assert path_of(response) == map_url(group)
    assert revision_of(group) == before + 1
    change = db.session.scalar(select(Change).where(Change.roadmap_id == group.roadmap.id))
    assert (change.revision, change.author_id, change.op["type"]) == (before + 1, member.id, "step.add")
    assert db.session.scalar(select(Step.title).where(Step.roadmap_id == group.roadmap.id)) == "Опрос жителей"


def test_step_added_without_javascript_shows_in_the_editor(member_browser, group):
    member_browser.post(f"{map_url(group)}/steps", data={"title": "Опрос жителей"})

    snapshot = editor_data(page(member_browser.get(map_url(group))))["snapshot"]

    assert [step["title"] for step in snapshot["steps"]] == ["Опрос жителей"]


def test_add_step_form_with_an_empty_title_adds_nothing(member_browser, group):
    member_browser.post(f"{map_url(group)}/steps", data={"title": ""})

    assert revision_of(group) == 0
    assert count(Change) == 0


@pytest.mark.parametrize(
    "visitor, status",
    [
        ("member of another group", 404),
        ("member of another training", 404),
        ("moderator of another training", 404),
        ("anonymous", 302),
    ],
)
def test_only_people_of_the_group_may_add_steps_without_javascript(browser, scene, visitor, status):
    enter_as(browser, visitor, scene)

    response = browser.post(f"{map_url(scene.group)}/steps", data={"title": "Чужой шаг"})

    assert response.status_code == status
    assert revision_of(scene.group) == 0


# Language


def test_start_page_is_in_russian_by_default(browser):
    html = page(browser.get("/"))

    assert "Код для входа" in html
    assert '<html lang="ru">' in html


def test_language_switch_to_english(browser):
    response = browser.post("/lang/en", data={"next": "/"})

    html = page(browser.get(response.headers["Location"]))
    assert "Join code" in html and "Код для входа" not in html


def test_language_switch_returns_to_the_page_it_was_used_on(browser):
    response = browser.post("/lang/en", data={"next": "/sign-in?next=/moderate/"})

    assert response.headers["Location"] == "/sign-in?next=/moderate/"


def test_unknown_language_leaves_the_page_in_russian(browser):
    browser.post("/lang/de", data={"next": "/"})

    assert "Код для входа" in page(browser.get("/"))


@pytest.mark.parametrize(
    "hostile_next",
    [
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
    ],
    ids=["protocol-relative", "absolute", "backslash", "tab", "newline"],
)
def test_language_switch_does_not_follow_a_next_page_on_another_site(browser, hostile_next):
    response = browser.post("/lang/en", data={"next": hostile_next})

    assert response.status_code == 302
    assert stays_on_this_site(response.headers["Location"])


# CSRF, with the protection on as in production


@pytest.fixture
def csrf_app(tmp_path):
    app = create_app(
        TestConfig,
        overrides={
            "WTF_CSRF_ENABLED": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'csrf.sqlite3'}",
            "INSTANCE_PATH": str(tmp_path / "csrf-instance"),
            "SECRET_KEY": SECRET_KEY,
        },
    )
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def csrf_browser(csrf_app):
    return Browser(csrf_app, csrf_app.response_class, use_cookies=True)


@pytest.fixture
def csrf_group(csrf_app):
    world = World(csrf_app)
    return world.group(world.training(make_moderator("irina@example.org", "Ирина Соколова")))


def csrf_token_on(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_join_form_without_csrf_token_is_refused_and_joins_no_one(csrf_browser, csrf_group):
    csrf_browser.get("/")

    response = join(csrf_browser, csrf_group.training.join_code)

    assert response.status_code == 400
    assert count(Person, Person.is_moderator.is_(False)) == 0
    assert csrf_browser.get_cookie("remember_token") is None


def test_join_form_with_its_csrf_token_is_accepted(csrf_browser, csrf_group):
    token = csrf_token_on(page(csrf_browser.get("/")))

    response = csrf_browser.post(
        "/", data={"join_code": csrf_group.training.join_code, "display_name": "Марина", "csrf_token": token}
    )

    assert path_of(response) == map_url(csrf_group)


def test_sign_in_form_without_csrf_token_is_refused_and_signs_no_one_in(csrf_browser, csrf_group):
    csrf_browser.get("/sign-in")

    response = sign_in(csrf_browser, csrf_group.training.moderator)

    assert response.status_code == 400
    assert path_of(csrf_browser.get("/moderate/")) == "/sign-in"


@pytest.mark.parametrize(
    "path",
    [
        "/join/{code}",
        "/setup",
        "/sign-out",
        "/lang/en",
        "/moderate/",
        "/moderate/trainings/{training_id}",
        "/maps/{map_id}/steps",
    ],
)
def test_every_form_post_without_csrf_token_is_refused(csrf_browser, csrf_group, path):
    url = path.format(
        code=csrf_group.training.join_code, training_id=csrf_group.training_id, map_id=csrf_group.roadmap.id
    )

    assert csrf_browser.post(url, data={}).status_code == 400


def test_api_needs_no_csrf_token(csrf_browser, csrf_group):
    response = csrf_browser.post(
        "/api/join", json={"join_code": csrf_group.training.join_code, "display_name": "Марина"}
    )

    assert response.status_code == 200


# JSON API


def api_join(browser, join_code, display_name="Марина", **extra):
    return browser.post("/api/join", json={"join_code": join_code, "display_name": display_name, **extra})


def test_api_join_returns_a_token_for_a_valid_code_and_group(browser, group, sibling_group):
    response = api_join(browser, group.training.join_code, group_id=sibling_group.id)

    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] and body["token"]
    assert body["roadmap_id"] == sibling_group.roadmap.id
    assert body["group"] == {"id": sibling_group.id, "name": "Сквер у библиотеки"}


def test_api_join_picks_the_only_group_by_itself(browser, group):
    response = api_join(browser, group.training.join_code)

    assert response.get_json()["roadmap_id"] == group.roadmap.id


def test_api_join_with_an_unknown_code_is_404(browser, group):
    response = api_join(browser, "ZZZZZZ")

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_code"


def test_api_join_without_a_group_lists_the_groups_when_there_are_several(browser, group, sibling_group):
    response = api_join(browser, group.training.join_code)

    assert response.status_code == 400
    body = response.get_json()
    assert body["error"]["code"] == "pick_group"
    assert body["groups"] == [
        {"id": group.id, "name": "Чистый двор"},
        {"id": sibling_group.id, "name": "Сквер у библиотеки"},
    ]
    assert count(Membership) == 0


def test_api_join_refuses_a_group_of_another_training(browser, group, foreign_group):
    response = api_join(browser, group.training.join_code, group_id=foreign_group.id)

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "group_not_found"
    assert count(Membership, Membership.group_id == foreign_group.id) == 0


def test_api_join_without_a_name_says_a_name_is_needed(browser, group):
    response = api_join(browser, group.training.join_code, display_name="   ")

    assert response.status_code == 400
    assert response.get_json()["error"] == {"code": "name_required", "message": "Введите, пожалуйста, своё имя."}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_api_snapshot_with_a_bearer_token(browser, group):
    token = api_join(browser, group.training.join_code).get_json()["token"]
    member = db.session.scalar(select(Person).join(Membership).where(Membership.group_id == group.id))
    edit(member, group, "step.add", step_id=new_id(), fields={"title": "Опрос жителей"})

    response = browser.get(f"/api/maps/{group.roadmap.id}", headers=bearer(token))

    assert response.status_code == 200
    snapshot = response.get_json()["snapshot"]
    assert (snapshot["id"], snapshot["revision"]) == (group.roadmap.id, 1)
    assert [step["title"] for step in snapshot["steps"]] == ["Опрос жителей"]


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("not-a-token"), {"Authorization": "Basic bWFyaW5hOnB3"}],
    ids=["no token", "forged token", "not a bearer token"],
)
def test_api_snapshot_without_a_valid_token_is_401(browser, group, headers):
    response = browser.get(f"/api/maps/{group.roadmap.id}", headers=headers)

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "not_authenticated"


def test_api_snapshot_of_another_groups_map_is_404(browser, group, sibling_group):
    token = api_join(browser, group.training.join_code, group_id=group.id).get_json()["token"]

    response = browser.get(f"/api/maps/{sibling_group.roadmap.id}", headers=bearer(token))

    assert response.status_code == 404


def test_api_does_not_accept_the_browser_session_instead_of_a_token(browser, group):
    join(browser, group.training.join_code)

    assert browser.get(f"/api/maps/{group.roadmap.id}").status_code == 401


DEEP_BODIES = {
    "arrays 5,000 deep": "[" * 5_000 + "]" * 5_000,
    "objects 5,000 deep": '{"a":' * 5_000 + "1" + "}" * 5_000,
    "a value nested 900 deep": '{"op_id": "abcdefgh12", "type": "map.set", "field": "title", "value": '
    + "[" * 900
    + "]" * 900
    + "}",
}


@pytest.mark.parametrize("body", DEEP_BODIES.values(), ids=DEEP_BODIES.keys())
def test_api_op_with_a_body_nested_too_deep_is_refused_as_invalid(browser, group, body):
    token = api_join(browser, group.training.join_code).get_json()["token"]

    response = browser.post(
        f"/api/maps/{group.roadmap.id}/ops", data=body, content_type="application/json", headers=bearer(token)
    )

    assert response.status_code == 422
    assert response.get_json()["error"] == {
        "code": "invalid_op",
        "message": "Не удалось прочитать изменение.",
        "detail": "nested more than 100 levels deep",
    }
    assert revision_of(group) == 0


def test_api_op_with_an_integer_of_5000_digits_is_refused_as_invalid(browser, group):
    token = api_join(browser, group.training.join_code).get_json()["token"]
    body = (
        '{"op_id": "abcdefgh12", "type": "step.set", "step_id": "abcdefgh", "field": "status", "value": "done", '
        '"base": ' + "9" * 5_000 + "}"
    )

    response = browser.post(
        f"/api/maps/{group.roadmap.id}/ops", data=body, content_type="application/json", headers=bearer(token)
    )

    assert response.status_code == 422
    assert response.get_json()["error"]["detail"] == "an integer of more than 100 digits"


@pytest.mark.parametrize("body", DEEP_BODIES.values(), ids=DEEP_BODIES.keys())
def test_api_join_with_a_body_nested_too_deep_is_a_bad_request(browser, group, body):
    response = browser.post("/api/join", data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request"
    assert count(Membership) == 0
