"""Guessing a join code or a password stops at one budget per client address, counted before the
work is done, however many requests arrive at once; a room of 30 behind one address still joins,
but new people per address are capped; a moderator renews the code, closes joining and keeps a
removed person out."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from roadmap import create_app
from roadmap.config import TestConfig
from roadmap.extensions import db
from roadmap.models import Membership, Person
from tests.conftest import PASSWORD, SECRET_KEY, IsolatedClient, LiveServer

THREADS = 100


@pytest.fixture
def serve(app, database_url, tmp_path):
    """Starts the real server with the given settings; stopped after the test."""
    started = []

    def start(**settings) -> LiveServer:
        server = LiveServer(
            database_url, app.instance_path, tmp_path / f"server-{len(started)}.log", extra_env=settings
        )
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def limited_app(app, database_url, tmp_path):
    limited = create_app(
        TestConfig,
        overrides={
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": SECRET_KEY,
            "INSTANCE_PATH": str(tmp_path / "limited"),
            "JOIN_RATE_LIMIT": "10 per minute",
        },
    )
    limited.test_client_class = IsolatedClient
    return limited


def at_once(count: int, prepare, attempt) -> list[int]:
    """`prepare(n)` in each of `count` threads, then, released together, `attempt(prepared)`: the status codes."""
    start_line = threading.Barrier(count)

    def run(n: int) -> int:
        prepared = prepare(n)
        start_line.wait(timeout=60)
        return attempt(prepared)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def form_session(url: str) -> tuple[requests.Session, str]:
    """A session holding the form's cookie and token. Its connection is closed after the form: the
    server drops idle keep-alive connections after 2 s, and one dropped as the POST goes out would
    be a reset, not an answer."""
    browser = requests.Session()
    return browser, csrf_token(browser.get(url, timeout=30, headers={"Connection": "close"}).text)


def join_api(server, code: str, name: str, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(
        f"{server.url}/api/join", json={"join_code": code, "display_name": name}, headers=headers, timeout=60
    )


# --- guessing, from threads against the real server --------------------------------------------------


def test_wrong_passwords_sent_at_once_stop_exactly_at_the_limit(world, serve):
    world.moderator(email="irina@example.org")
    server = serve(SIGN_IN_RATE_LIMIT="10 per minute")

    def wrong_password(prepared) -> int:
        browser, token = prepared
        return browser.post(
            f"{server.url}/sign-in",
            timeout=60,
            allow_redirects=False,
            data={"csrf_token": token, "email": "irina@example.org", "password": "wrong password"},
        ).status_code

    statuses = at_once(THREADS, lambda _n: form_session(f"{server.url}/sign-in"), wrong_password)
    assert statuses.count(200) == 10  # the form again, with «Неверный e-mail или пароль»
    assert statuses.count(429) == THREADS - 10


def test_wrong_join_codes_sent_at_once_stop_exactly_at_the_limit_across_routes(world, serve):
    world.group()
    server = serve(JOIN_RATE_LIMIT="10 per minute")

    def guess(n: int) -> int:
        if n % 2:
            return requests.get(f"{server.url}/join/ZZZZ{n:02d}", timeout=60).status_code
        return join_api(server, f"ZZZZ{n:02d}", "Бот").status_code

    statuses = at_once(THREADS, lambda n: n, guess)
    assert statuses.count(404) == 10
    assert statuses.count(429) == THREADS - 10


def test_thirty_people_joining_at_once_from_one_address_all_get_in(world, serve):
    code = world.group().training.join_code
    server = serve()
    typos = [join_api(server, "ZZZZZZ", "Опечатка").status_code for _ in range(5)]

    statuses = at_once(30, lambda n: f"Участник {n}", lambda name: join_api(server, code, name).status_code)
    assert typos == [404] * 5
    assert statuses == [200] * 30


def test_new_people_beyond_the_cap_from_one_address_are_refused(world, serve):
    group = world.group()
    code = group.training.join_code
    server = serve(JOIN_SUCCESS_RATE_LIMIT="40 per minute")

    answers = at_once(50, lambda n: f"Участник {n}", lambda name: join_api(server, code, name))
    assert sorted(answer.status_code for answer in answers) == [200] * 40 + [429] * 10
    assert {answer.json()["error"]["code"] for answer in answers if answer.status_code == 429} == {"rate_limited"}
    db.session.expire_all()
    assert db.session.query(Membership).filter_by(group_id=group.id).count() == 40


# --- one budget for every route that tries a join code -----------------------------------------------


def test_the_join_page_of_a_wrong_code_is_limited(limited_app, world):
    world.group()
    client = limited_app.test_client()
    statuses = [client.get(f"/join/ZZZZ{n:02d}").status_code for n in range(11)]
    assert statuses == [404] * 10 + [429]


def test_the_form_join_and_the_json_join_share_one_budget(limited_app, world):
    world.group()
    client = limited_app.test_client()
    by_form = [client.post("/", data={"join_code": "ZZZZZZ", "display_name": "Кто-то"}).status_code for _ in range(5)]
    by_api = [
        client.post("/api/join", json={"join_code": "ZZZZZZ", "display_name": "Бот"}).status_code for _ in range(5)
    ]
    assert by_form == [200] * 5 and by_api == [404] * 5
    assert client.post("/", data={"join_code": "ZZZZZZ", "display_name": "Кто-то"}).status_code == 429
    assert client.post("/api/join", json={"join_code": "ZZZZZZ", "display_name": "Бот"}).status_code == 429


# --- what a moderator does about a code that got out ---------------------------------------------------


def signed_in_moderator(app, moderator):
    client = app.test_client()
    assert client.post("/sign-in", data={"email": moderator.email, "password": PASSWORD}).status_code == 302
    return client


def api_join(app, code: str, name: str, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().post("/api/join", json={"join_code": code, "display_name": name}, headers=headers)


def test_a_renewed_join_code_lets_nobody_in_with_the_old_one(app, moderator, training, group):
    old_code = training.join_code
    answer = signed_in_moderator(app, moderator).post(f"/moderate/trainings/{training.id}/join-code")
    assert answer.status_code == 302
    db.session.expire_all()
    assert training.join_code != old_code
    assert api_join(app, old_code, "Пётр").status_code == 404
    assert app.test_client().get(f"/join/{old_code}").status_code == 404
    assert api_join(app, training.join_code, "Пётр").status_code == 200


def test_closed_joining_says_so_and_reopened_joining_lets_people_in(app, moderator, training, group):
    moderator_client = signed_in_moderator(app, moderator)
    assert (
        moderator_client.post(f"/moderate/trainings/{training.id}/joining", data={"joining_open": "0"}).status_code
        == 302
    )

    page = app.test_client().get(f"/join/{training.join_code}")
    assert page.status_code == 403
    assert "Вход в тренинг закрыт: рабочие группы уже сформированы" in page.get_data(as_text=True)
    by_form = app.test_client().post("/", data={"join_code": training.join_code, "display_name": "Пётр"})
    assert by_form.status_code == 403 and "Вход закрыт" in by_form.get_data(as_text=True)
    refused = api_join(app, training.join_code, "Пётр")
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (403, "joining_closed")

    assert (
        moderator_client.post(f"/moderate/trainings/{training.id}/joining", data={"joining_open": "1"}).status_code
        == 302
    )
    assert api_join(app, training.join_code, "Пётр").status_code == 200


def test_a_co_moderator_may_renew_the_code_and_close_joining(app, world, moderator, training, group):
    from roadmap.services import trainings

    vera = world.moderator(email="vera@example.org", name="Вера")
    trainings.add_co_moderator(training, moderator, vera.email, "")
    client = signed_in_moderator(app, vera)
    assert client.post(f"/moderate/trainings/{training.id}/joining", data={"joining_open": "0"}).status_code == 302
    assert client.post(f"/moderate/trainings/{training.id}/join-code").status_code == 302
    db.session.expire_all()
    assert training.joining_closed_at is not None

    stranger = signed_in_moderator(app, world.moderator(email="stranger@example.org"))
    assert stranger.post(f"/moderate/trainings/{training.id}/joining", data={"joining_open": "1"}).status_code == 404
    assert stranger.post(f"/moderate/trainings/{training.id}/join-code").status_code == 404


# --- keeping a removed person out ---------------------------------------------------------------------


def joined_browser(app, code: str, name: str):
    browser = app.test_client()
    assert browser.post("/", data={"join_code": code, "display_name": name}).status_code == 302
    return browser


def test_a_removed_and_blocked_person_is_refused_until_allowed_again(app, world, moderator, training, group):
    pavel_browser = joined_browser(app, training.join_code, "Павел")
    pavel = db.session.query(Person).filter_by(display_name="Павел").one()
    pavel_token = world.token(pavel)
    membership = db.session.query(Membership).filter_by(person_id=pavel.id).one()
    moderator_client = signed_in_moderator(app, moderator)

    removed = moderator_client.post(f"/moderate/memberships/{membership.id}/remove", data={"block": "y"})
    assert removed.status_code == 302
    page = pavel_browser.get(f"/join/{training.join_code}")
    assert page.status_code == 403
    assert "не пускает обратно по коду" in page.get_data(as_text=True)
    again = pavel_browser.post(f"/join/{training.join_code}", data={"display_name": "Павел", "group_id": group.id})
    assert again.status_code == 403
    refused = api_join(app, training.join_code, "Павел", token=pavel_token)
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (403, "join_blocked")
    members_page = moderator_client.get(f"/moderate/trainings/{training.id}/groups").get_data(as_text=True)
    assert "Павел" in members_page and "Разрешить снова" in members_page

    assert moderator_client.post(f"/moderate/trainings/{training.id}/blocked/{pavel.id}/allow").status_code == 302
    assert "Разрешить снова" not in moderator_client.get(f"/moderate/trainings/{training.id}/groups").get_data(
        as_text=True
    )
    back = pavel_browser.post(f"/join/{training.join_code}", data={"display_name": "Павел", "group_id": group.id})
    assert back.status_code == 302
    assert db.session.query(Membership).filter_by(person_id=pavel.id, group_id=group.id).count() == 1


def test_a_person_removed_without_the_box_ticked_may_come_back(app, world, moderator, training, group):
    pavel_browser = joined_browser(app, training.join_code, "Павел")
    membership = db.session.query(Membership).one()
    assert signed_in_moderator(app, moderator).post(f"/moderate/memberships/{membership.id}/remove").status_code == 302
    assert pavel_browser.get(f"/join/{training.join_code}").status_code == 200
