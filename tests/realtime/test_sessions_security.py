"""Sessions end when they should (issue 18): signing out everywhere and a new password revoke every
cookie, remember token, API token and open socket; every sign-in starts a new session; personal
sign-in links are checked when used; secrets stay out of the access log, the session cookie and
browser caches."""

from __future__ import annotations

import os
import re
import threading

import pytest
import requests
import socketio
from conftest import PASSWORD, LiveServer, secure_account

from roadmap.extensions import db
from roadmap.models import Person, SignInLink
from roadmap.services import accounts, identities, password_reset, share_links, sign_in_links, trainings
from roadmap.services.transactions import writing

WAIT_SECONDS = 10
ALUMNA_PASSWORD = "старый пароль 2027"
NEW_PASSWORD = "новый пароль 2028"
CSRF_FIELD = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@pytest.fixture
def alumna(world, group):
    return secure_account(world.member(group, "Анна"), "anna@example.org", ALUMNA_PASSWORD)


def signed_in(app, email: str, password: str):
    browser = app.test_client()
    response = browser.post("/sign-in", data={"email": email, "password": password})
    assert response.status_code == 302
    return browser


def holding_only(app, browser, cookie_name: str):
    """Another browser that holds one cookie copied from `browser`: what a thief could keep."""
    copy = app.test_client()
    copy.set_cookie(cookie_name, browser.get_cookie(cookie_name).value)
    return copy


def lets_in(browser, page: str) -> bool:
    return browser.get(page).status_code == 200


# Who is signed in where, and the page that only they open.
PEOPLE = {"moderator": "/moderate/", "alumna": "/me"}


def person_and_password(kind: str, moderator, alumna) -> tuple[Person, str]:
    return (moderator, PASSWORD) if kind == "moderator" else (alumna, ALUMNA_PASSWORD)


def change_password_through_a_reset_link(app, person: Person) -> None:
    token = password_reset.issue_reset_link(person)
    response = app.test_client().post(
        f"/reset-password/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302


def sign_out_everywhere(app, person: Person, password: str) -> None:
    response = signed_in(app, person.email, password).post("/sign-out/everywhere")
    assert response.status_code == 302


@pytest.mark.parametrize("kind", PEOPLE)
@pytest.mark.parametrize("cookie_name", ["session", "remember_token"])
@pytest.mark.parametrize("ending", ["sign_out_everywhere", "password_change"])
def test_an_old_session_or_remember_cookie_no_longer_lets_in(app, moderator, alumna, kind, cookie_name, ending):
    person, password = person_and_password(kind, moderator, alumna)
    laptop = signed_in(app, person.email, password)
    kept = holding_only(app, laptop, cookie_name)
    assert lets_in(kept, PEOPLE[kind])

    if ending == "sign_out_everywhere":
        sign_out_everywhere(app, person, password)
    else:
        change_password_through_a_reset_link(app, person)

    assert not lets_in(kept, PEOPLE[kind])
    assert not lets_in(laptop, PEOPLE[kind])


def test_signing_out_everywhere_ends_this_browser_too_and_clears_what_it_keeps(app, alumna):
    browser = signed_in(app, alumna.email, ALUMNA_PASSWORD)

    response = browser.post("/sign-out/everywhere")

    assert response.headers["Location"] == "/"
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert browser.get("/me").status_code == 302


def test_an_api_token_stops_working_when_its_person_signs_out_everywhere(app, client, alumna, group):
    headers = {"Authorization": f"Bearer {accounts.issue_token(alumna)}"}
    assert client.get(f"/api/maps/{group.roadmap.id}", headers=headers).status_code == 200

    sign_out_everywhere(app, alumna, ALUMNA_PASSWORD)

    assert client.get(f"/api/maps/{group.roadmap.id}", headers=headers).status_code == 401


# --- open sockets -----------------------------------------------------------------------------


class WatchedSocket:
    """A real Socket.IO client that notes when the server closes it."""

    def __init__(self, url: str, token: str, join_roadmap_id: int | None = None):
        self.closed = threading.Event()
        self.client = socketio.Client(reconnection=False)
        self.client.on("disconnect", lambda *_reason: self.closed.set())
        self.client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=WAIT_SECONDS)
        if join_roadmap_id is not None:
            ack = self.client.call(
                "join", {"roadmap_id": join_roadmap_id, "since_revision": None}, timeout=WAIT_SECONDS
            )
            assert ack["ok"], ack

    def close(self) -> None:
        if self.client.connected:
            self.client.disconnect()


def signs_in_over_http(base_url: str, email: str, password: str) -> tuple[requests.Session, str]:
    browser = requests.Session()
    page = browser.get(f"{base_url}/sign-in", timeout=WAIT_SECONDS)
    response = browser.post(
        f"{base_url}/sign-in",
        data={
            "csrf_token": CSRF_FIELD.search(page.text).group(1),
            "email": email,
            "password": password,
        },
        allow_redirects=False,
        timeout=WAIT_SECONDS,
    )
    assert response.status_code == 302, response.text
    me = browser.get(f"{base_url}/me", timeout=WAIT_SECONDS)
    return browser, CSRF_FIELD.search(me.text).group(1)


def sign_out_everywhere_over_http(base_url: str, email: str, password: str) -> None:
    browser, csrf_token = signs_in_over_http(base_url, email, password)
    response = browser.post(
        f"{base_url}/sign-out/everywhere", data={"csrf_token": csrf_token}, allow_redirects=False, timeout=WAIT_SECONDS
    )
    assert response.status_code == 302, response.text


def test_signing_out_everywhere_closes_the_persons_open_sockets(live_server, alumna, oleg, group):
    token = accounts.issue_token(alumna)
    in_the_map = WatchedSocket(live_server.url, token, join_roadmap_id=group.roadmap.id)
    on_my_maps = WatchedSocket(live_server.url, token)  # connected, in no map (/me, a dashboard)
    someone_else = WatchedSocket(live_server.url, accounts.issue_token(oleg), join_roadmap_id=group.roadmap.id)
    try:
        sign_out_everywhere_over_http(live_server.url, alumna.email, ALUMNA_PASSWORD)

        assert in_the_map.closed.wait(WAIT_SECONDS)
        assert on_my_maps.closed.wait(WAIT_SECONDS)
        with pytest.raises(socketio.exceptions.ConnectionError):
            WatchedSocket(live_server.url, token)
        assert someone_else.client.call(
            "catch_up", {"roadmap_id": group.roadmap.id, "since_revision": 0}, timeout=WAIT_SECONDS
        )["ok"]
    finally:
        for socket in (in_the_map, on_my_maps, someone_else):
            socket.close()


@pytest.fixture
def two_servers(app, database_url, tmp_path):
    """Two server processes on one database, passing Socket.IO messages through Redis."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set (.ci/run sets it)")
    queue = {"SOCKETIO_MESSAGE_QUEUE": os.environ["REDIS_URL"]}
    servers = [
        LiveServer(database_url, app.instance_path, tmp_path / f"server-{number}.log", extra_env=queue)
        for number in (1, 2)
    ]
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.stop()


def test_signing_out_everywhere_on_one_server_closes_sockets_held_by_another(two_servers, alumna):
    holding, answering = two_servers
    socket = WatchedSocket(holding.url, accounts.issue_token(alumna))
    try:
        sign_out_everywhere_over_http(answering.url, alumna.email, ALUMNA_PASSWORD)

        assert socket.closed.wait(WAIT_SECONDS)
    finally:
        socket.close()


# --- a new session on every sign-in ---------------------------------------------------------------


def csrf_secret(browser) -> str | None:
    with browser.session_transaction() as session:
        return session.get("csrf_token")


def test_signing_in_starts_a_new_session_with_a_new_csrf_secret(client, alumna):
    client.get("/sign-in")
    before = csrf_secret(client)
    assert before

    client.post("/sign-in", data={"email": alumna.email, "password": ALUMNA_PASSWORD})
    client.get("/me")

    assert csrf_secret(client) not in (None, before)


def test_joining_starts_a_new_session_and_keeps_the_chosen_language(client, training, group):
    client.post("/lang/en", data={"next": "/"})
    client.get("/")
    before = csrf_secret(client)
    assert before

    response = client.post("/", data={"join_code": training.join_code, "display_name": "Олег"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"])

    assert csrf_secret(client) not in (None, before)
    assert 'lang="en"' in page.get_data(as_text=True)


# --- personal sign-in links, checked when used ----------------------------------------------------


def joins_another_moderators_training(world, person: Person) -> None:
    other_group = world.group(world.training(world.moderator(name="Другой модератор")), "Сквер")
    trainings.join_group(other_group.training, other_group.id, person.display_name, person)


def sets_a_password(world, person: Person) -> None:
    secure_account(person, "olga@example.org", "пароль на потом 2027")


def gets_a_newer_link(world, person: Person) -> None:
    moderator = db.session.get(Person, person.memberships[0].group.training.moderator_id)
    sign_in_links.issue_sign_in_link(person, moderator)


@pytest.mark.parametrize("since_issued", [joins_another_moderators_training, sets_a_password, gets_a_newer_link])
def test_a_sign_in_link_is_refused_once_it_would_no_longer_be_issued(app, world, moderator, group, since_issued):
    olga = world.member(group, "Ольга")
    token = sign_in_links.issue_sign_in_link(olga, moderator)

    since_issued(world, olga)

    browser = app.test_client()
    assert browser.get(f"/sign-in/link/{token}").status_code == 404
    assert browser.post(f"/sign-in/link/{token}").status_code == 404
    assert browser.get("/me").status_code == 302


def test_a_sign_in_link_still_works_for_a_member_of_this_moderators_trainings_only(app, world, moderator, group):
    olga = world.member(group, "Ольга")
    token = sign_in_links.issue_sign_in_link(olga, moderator)

    browser = app.test_client()
    assert browser.post(f"/sign-in/link/{token}").status_code == 302
    assert browser.get("/me").status_code == 200


def test_cancelling_links_retires_every_unused_way_in(world, moderator, group):
    olga = world.member(group, "Ольга")
    token = sign_in_links.issue_sign_in_link(olga, moderator)
    code = identities.issue_device_code(olga)

    with writing():
        identities.cancel_links(db.session.get(Person, olga.id))

    assert sign_in_links.sign_in_link(token) is None
    assert identities.use_device_code(code) is None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_links_issued_at_once_leave_one_that_works(app, world, moderator, group):
    olga = world.member(group, "Ольга")
    people = 8
    start = threading.Barrier(people)
    failures = []

    def issue():
        with app.app_context():
            try:
                person, issuer = db.session.get(Person, olga.id), db.session.get(Person, moderator.id)
                start.wait(WAIT_SECONDS)
                sign_in_links.issue_sign_in_link(person, issuer)
            except Exception as error:  # noqa: BLE001 - reported below
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=issue) for _ in range(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS * 3)

    assert failures == []
    db.session.rollback()
    live = db.session.scalars(
        db.select(SignInLink).where(SignInLink.person_id == olga.id, SignInLink.used_at.is_(None))
    ).all()
    assert len(live) == 1


# --- secrets kept out of logs, cookies and caches ------------------------------------------------


@pytest.fixture
def logging_server(app, database_url, tmp_path):
    server = LiveServer(database_url, app.instance_path, tmp_path / "server.log", access_log=True)
    server.start()
    yield server
    server.stop()


def test_the_access_log_masks_share_calendar_and_sign_in_tokens(logging_server, world, moderator, group):
    olga = world.member(group, "Ольга")
    secrets = {
        "view": share_links.link_token(share_links.share(group.roadmap, moderator, "view")),
        "calendar": share_links.link_token(share_links.share(group.roadmap, moderator, "calendar")),
        "link": sign_in_links.issue_sign_in_link(olga, moderator),
        "reset": password_reset.issue_reset_link(moderator),
    }
    for path in (
        f"/shared/{secrets['view']}",
        f"/shared/{secrets['view']}/map",
        f"/calendar/{secrets['calendar']}.ics",
        f"/sign-in/link/{secrets['link']}",
        f"/reset-password/{secrets['reset']}",
        "/device/continue?code=K7M-4QP",
    ):
        requests.get(logging_server.url + path, timeout=WAIT_SECONDS)
    logging_server.stop()

    log = logging_server.log_path.read_text()
    for secret in secrets.values():
        assert secret not in log
        assert secret[:4] + "…" in log
    assert "K7M-4QP" not in log and "/device/continue?code=… " in log
    assert re.search(r'"GET /calendar/\S{4}…\.ics HTTP/1\.1" 200', log)


def test_the_no_javascript_sign_in_link_is_shown_on_a_page_never_kept_in_the_cookie(app, world, moderator, group):
    olga = world.member(group, "Ольга")
    browser = signed_in(app, moderator.email, PASSWORD)

    response = browser.post(f"/moderate/memberships/{olga.memberships[0].id}/link")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    url = re.search(r"http://localhost/sign-in/link/[\w-]{16}", response.get_data(as_text=True)).group(0)
    with browser.session_transaction() as session:
        assert url.rsplit("/", 1)[1] not in repr(dict(session))


def no_store_pages(scene) -> dict[str, tuple[str, str]]:
    """Pages that show a secret: (who looks, method and path)."""
    training, group, view_token, link_token = scene
    return {
        "share page": ("alumna", f"GET /maps/{group.roadmap.id}/share"),
        "read-only link": ("nobody", f"GET /shared/{view_token}"),
        "read-only map": ("nobody", f"GET /shared/{view_token}/map"),
        "sign-in link": ("nobody", f"GET /sign-in/link/{link_token}"),
        "dashboard with the join code": ("moderator", f"GET /moderate/trainings/{training.id}"),
        "account": ("alumna", "GET /account"),
        "sign-in sheet": ("moderator", f"POST /moderate/groups/{group.id}/sign-in-sheet"),
        "device code": ("participant", "POST /device"),
    }


@pytest.mark.parametrize(
    "page",
    [
        "share page",
        "read-only link",
        "read-only map",
        "sign-in link",
        "dashboard with the join code",
        "account",
        "sign-in sheet",
        "device code",
    ],
)
def test_pages_that_show_a_secret_are_not_stored(app, world, moderator, training, group, alumna, page):
    olga = world.member(group, "Ольга")
    scene = (
        training,
        group,
        share_links.link_token(share_links.share(group.roadmap, moderator, "view")),
        sign_in_links.issue_sign_in_link(olga, moderator),
    )
    who, request_line = no_store_pages(scene)[page]
    browser = {
        "alumna": lambda: signed_in(app, alumna.email, ALUMNA_PASSWORD),
        "moderator": lambda: signed_in(app, moderator.email, PASSWORD),
        "nobody": app.test_client,
    }.get(who, app.test_client)()
    if who == "participant":
        browser.post("/", data={"join_code": training.join_code, "display_name": "Пётр"})
    method, path = request_line.split(" ")

    response = browser.open(path, method=method)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_an_ordinary_page_may_be_cached(client):
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")


@pytest.mark.parametrize("secure_cookies", [False, True])
def test_strict_transport_security_only_when_cookies_are_secure(app, secure_cookies):
    app.config["SESSION_COOKIE_SECURE"] = secure_cookies
    response = app.test_client().get("/")

    assert ("Strict-Transport-Security" in response.headers) is secure_cookies
    assert "camera=()" in response.headers["Permissions-Policy"]


@pytest.mark.parametrize("forget", ["", "1"])
def test_signing_out_tells_the_browser_to_drop_its_caches_and_storage(app, alumna, forget):
    browser = signed_in(app, alumna.email, ALUMNA_PASSWORD)

    response = browser.post("/sign-out", data={"forget": forget})

    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
