"""What protects the app in transit: security headers, cookie flags, who may open the socket, message size.

Headers and cookies are checked through Flask's test client; the Socket.IO
rules against the real server (python -m roadmap.server), since they live in
its transport, and once in Chromium, where a page of another origin tries to
use a participant's cookies.
"""

from __future__ import annotations

import json
import threading
import uuid

import pytest
import requests
import socketio
import websocket
from conftest import PASSWORD, SECRET_KEY, IsolatedClient, LiveServer, World, _free_port
from conftest import make_moderator as make_signing_in_moderator
from flask_migrate import upgrade

from roadmap import create_app
from roadmap.config import TestConfig
from roadmap.domain.operations import MAX_OWNER_TEXT, STEP_FIELDS, TextField
from roadmap.extensions import db
from roadmap.models import Person
from tests.browsing import wait_for_element
from tests.livesync import DROPPED, SyncClient, new_op_id
from tests.rawsocket import open_websocket, websocket_url

TRANSPORT_LIMIT = 256 * 1024
FOREIGN_ORIGIN = "http://evil.example"
PUBLIC_ORIGIN = "https://roadmap.example.org"
WAIT_SECONDS = 10
WAIT_MS = WAIT_SECONDS * 1000
UNSAFE_SCRIPT_SOURCES = {
    "'unsafe-inline'",
    "'unsafe-eval'",
    "'unsafe-hashes'",
    "'wasm-unsafe-eval'",
    "*",
    "data:",
    "blob:",
    "http:",
    "https:",
    "filesystem:",
}
SAFE_REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}


# --- a site to visit -----------------------------------------------------------


def make_moderator() -> Person:
    """A moderator who signs in with PASSWORD."""
    return make_signing_in_moderator(f"mod-{uuid.uuid4().hex[:8]}@example.org", "Ирина Соколова")


class Site:
    """A training with one group, its moderator and a member, each with their own browser."""

    def __init__(self, app, world: World):
        self.app = app
        self.moderator = make_moderator()
        self.training = world.training(self.moderator)
        self.group = world.group(self.training)
        self.member = world.member(self.group, "Марина")
        self.token = world.token(self.member)

    def browser(self, visitor: str) -> IsolatedClient:
        browser = IsolatedClient(self.app, self.app.response_class, use_cookies=True)
        if visitor == "participant":
            response = browser.post("/", data={"join_code": self.training.join_code, "display_name": "Олег"})
            assert response.status_code == 302
        elif visitor == "moderator":
            response = browser.post("/sign-in", data={"email": self.moderator.email, "password": PASSWORD})
            assert response.status_code == 302
        return browser

    def url(self, path: str) -> str:
        return path.format(code=self.training.join_code, map_id=self.group.roadmap.id, training_id=self.training.id)


# (visitor, method, path, expected status): every kind of response the app gives.
EVERY_PAGE = [
    ("anonymous", "GET", "/", 200),
    ("anonymous", "POST", "/", 200),  # the join form with its errors
    ("anonymous", "GET", "/sign-in", 200),
    ("anonymous", "GET", "/setup", 404),
    ("anonymous", "GET", "/join/{code}", 200),
    ("anonymous", "GET", "/maps/{map_id}", 302),
    ("anonymous", "GET", "/moderate/", 302),
    ("anonymous", "GET", "/healthz", 200),
    ("anonymous", "GET", "/no-such-page", 404),
    ("anonymous", "GET", "/sign-out", 405),
    ("anonymous", "GET", "/static/css/app.css", 200),
    ("anonymous", "GET", "/static/js/editor.js", 200),
    ("anonymous", "GET", "/vendor/socket.io.esm.min.js", 200),
    ("anonymous", "GET", "/sw.js", 200),
    ("anonymous", "POST", "/api/join", 400),
    ("participant", "GET", "/", 200),
    ("participant", "GET", "/maps/{map_id}", 200),
    ("participant", "GET", "/moderate/", 403),
    ("moderator", "GET", "/moderate/", 200),
    ("moderator", "GET", "/moderate/trainings/{training_id}", 200),
    ("moderator", "GET", "/maps/{map_id}", 200),
    ("api", "GET", "/api/maps/{map_id}", 200),
]
PAGE_IDS = [f"{visitor}-{method}-{path}" for visitor, method, path, _ in EVERY_PAGE]


@pytest.fixture
def site(app, world) -> Site:
    return Site(app, world)


def fetch(site: Site, visitor: str, method: str, path: str, status: int):
    headers = {"Authorization": f"Bearer {site.token}"} if visitor == "api" else {}
    response = site.browser(visitor).open(site.url(path), method=method, headers=headers)
    assert response.status_code == status
    return response


def csp_directives(response) -> dict[str, list[str]]:
    policies = response.headers.getlist("Content-Security-Policy")
    assert len(policies) == 1, f"expected one policy, got {policies}"
    directives = {}
    for directive in policies[0].split(";"):
        name, *sources = directive.split()
        assert name not in directives, f"{name} appears twice"
        directives[name.lower()] = sources
    return directives


# --- headers on every response -------------------------------------------------


@pytest.mark.parametrize(("visitor", "method", "path", "status"), EVERY_PAGE, ids=PAGE_IDS)
def test_every_response_carries_a_strict_content_security_policy(site, visitor, method, path, status):
    policy = csp_directives(fetch(site, visitor, method, path, status))

    assert "'self'" in policy["script-src"]
    assert not UNSAFE_SCRIPT_SOURCES & {source.lower() for source in policy["script-src"]}
    assert not UNSAFE_SCRIPT_SOURCES & {source.lower() for source in policy["default-src"]}
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] in (["'self'"], ["'none'"])


@pytest.mark.parametrize(("visitor", "method", "path", "status"), EVERY_PAGE, ids=PAGE_IDS)
def test_every_response_forbids_framing_and_type_sniffing_and_keeps_the_referrer_on_the_site(
    site, visitor, method, path, status
):
    response = fetch(site, visitor, method, path, status)

    assert response.headers.getlist("X-Frame-Options") == ["DENY"]
    assert response.headers.getlist("X-Content-Type-Options") == ["nosniff"]
    assert response.headers.get("Referrer-Policy") in SAFE_REFERRER_POLICIES


@pytest.mark.parametrize(
    ("path", "mime_type"),
    [
        ("/static/js/editor.js", "text/javascript"),
        ("/vendor/socket.io.esm.min.js", "text/javascript"),
        ("/vendor/sortable.esm.js", "text/javascript"),
        ("/vendor/diff-match-patch-es.mjs", "text/javascript"),
        ("/sw.js", "text/javascript"),
        ("/static/css/app.css", "text/css"),
    ],
)
def test_scripts_and_styles_have_the_types_nosniff_requires(client, path, mime_type):
    response = client.get(path)

    assert response.status_code == 200
    assert response.mimetype == mime_type


@pytest.mark.live
def test_the_real_server_sends_the_same_headers(live_server):
    for path in ("/", "/sign-in", "/healthz", "/static/js/editor.js"):
        response = requests.get(live_server.url + path, timeout=WAIT_SECONDS)
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path


# --- cookies ---------------------------------------------------------------------


def set_cookies(response) -> dict[str, set[str]]:
    """Cookie name -> its lower-cased attributes (HttpOnly, SameSite=Lax, Secure, ...)."""
    cookies = {}
    for header in response.headers.getlist("Set-Cookie"):
        name_value, *attributes = (part.strip() for part in header.split(";"))
        cookies[name_value.split("=", 1)[0]] = {attribute.lower() for attribute in attributes}
    return cookies


def join_response(site: Site):
    browser = IsolatedClient(site.app, site.app.response_class, use_cookies=True)
    return browser.post("/", data={"join_code": site.training.join_code, "display_name": "Олег"})


def sign_in_response(site: Site):
    browser = IsolatedClient(site.app, site.app.response_class, use_cookies=True)
    return browser.post("/sign-in", data={"email": site.moderator.email, "password": PASSWORD})


@pytest.mark.parametrize(
    "signing_in", [join_response, sign_in_response], ids=["participant-joins", "moderator-signs-in"]
)
def test_session_and_remember_cookies_are_hidden_from_scripts_and_not_sent_by_other_sites(site, signing_in):
    cookies = set_cookies(signing_in(site))

    assert {"session", "remember_token"} <= set(cookies)
    for name in ("session", "remember_token"):
        assert "httponly" in cookies[name], name
        assert "samesite=lax" in cookies[name], name


@pytest.fixture
def secure_app(database_url, tmp_path):
    """The app as deployed behind HTTPS: cookies marked Secure."""
    app = create_app(
        TestConfig,
        overrides={
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": SECRET_KEY,
            "INSTANCE_PATH": str(tmp_path / "secure-instance"),
            "SESSION_COOKIE_SECURE": True,
            "REMEMBER_COOKIE_SECURE": True,
        },
    )
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize(
    "signing_in", [join_response, sign_in_response], ids=["participant-joins", "moderator-signs-in"]
)
def test_with_secure_cookies_configured_session_and_remember_cookies_are_sent_only_over_https(secure_app, signing_in):
    cookies = set_cookies(signing_in(Site(secure_app, World(secure_app))))

    assert {"session", "remember_token"} <= set(cookies)
    for name in ("session", "remember_token"):
        assert {"secure", "httponly", "samesite=lax"} <= cookies[name], name


# --- who may open the socket -------------------------------------------------------


def polling_handshake(server_url: str, origin: str | None) -> requests.Response:
    headers = {"Origin": origin} if origin else {}
    return requests.get(f"{server_url}/socket.io/?EIO=4&transport=polling", headers=headers, timeout=WAIT_SECONDS)


def websocket_session(server_url: str, origin: str) -> str | None:
    """The Engine.IO open packet a websocket from `origin` gets, or None when it gets none.

    The server refuses either way: gevent-websocket answers the upgrade before the
    app sees the request, so a refused origin gets its socket closed right after
    the 101 instead of a 400. Both leave the page without a session.
    """
    try:
        connection = open_websocket(server_url, origin)
    except websocket.WebSocketBadStatusException as refused:
        assert refused.status_code == 400
        return None
    try:
        return connection.recv() or None
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        return None
    finally:
        connection.close()


def socketio_client(server_url: str, token: str, origin: str, transport: str) -> socketio.Client:
    """A connected Socket.IO client that says it comes from `origin`."""
    if transport == "websocket":  # websocket-client sends its own Origin unless told which
        client = socketio.Client(reconnection=False, websocket_extra_options={"origin": origin})
        headers = {}
    else:
        client = socketio.Client(reconnection=False)
        headers = {"Origin": origin}
    try:
        client.connect(
            server_url, headers=headers, auth={"token": token}, transports=[transport], wait_timeout=WAIT_SECONDS
        )
    except Exception:
        client.shutdown()
        raise
    return client


def joins_the_map(client: socketio.Client, roadmap_id: int) -> bool:
    try:
        ack = client.call("join", {"roadmap_id": roadmap_id, "since_revision": None}, timeout=WAIT_SECONDS)
        return ack["ok"] and ack["snapshot"]["id"] == roadmap_id
    finally:
        client.shutdown()


def foreign_origins(server_url: str) -> list[str]:
    """Origins that are not the server's own: another site, look-alikes, another scheme or host, none."""
    port = server_url.rsplit(":", 1)[1]
    return [
        FOREIGN_ORIGIN,
        f"{server_url}.evil.example",
        f"http://localhost:{port}",
        f"https://127.0.0.1:{port}",
        "null",
    ]


@pytest.fixture
def member_token(world):
    group = world.group()
    return world.token(world.member(group, "Марина")), group.roadmap.id


@pytest.mark.live
def test_socket_polling_handshake_from_a_foreign_origin_is_refused(live_server):
    for origin in foreign_origins(live_server.url):
        response = polling_handshake(live_server.url, origin)
        assert response.status_code == 400, origin
        assert "Access-Control-Allow-Origin" not in response.headers, origin


@pytest.mark.live
def test_socket_polling_handshake_from_the_same_origin_is_accepted(live_server):
    response = polling_handshake(live_server.url, live_server.url)

    assert response.status_code == 200
    assert response.text.startswith("0{") and "sid" in json.loads(response.text[1:])
    assert response.headers["Access-Control-Allow-Origin"] == live_server.url


@pytest.mark.live
def test_websocket_from_a_foreign_origin_gets_no_session(live_server):
    for origin in foreign_origins(live_server.url):
        assert websocket_session(live_server.url, origin) is None, origin


@pytest.mark.live
def test_websocket_from_the_same_origin_gets_a_session(live_server):
    assert websocket_session(live_server.url, live_server.url).startswith("0{")  # the Engine.IO open packet


@pytest.mark.live
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_a_socketio_client_claiming_a_foreign_origin_cannot_connect_even_with_a_valid_token(
    live_server, member_token, transport
):
    token, _ = member_token
    # ValueError: over websocket the server closes right after the upgrade (see
    # websocket_session), which this client reads as an empty packet.
    with pytest.raises((socketio.exceptions.ConnectionError, ValueError)):
        socketio_client(live_server.url, token, FOREIGN_ORIGIN, transport)


@pytest.mark.live
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_a_socketio_client_from_the_same_origin_connects_and_joins(live_server, member_token, transport):
    token, roadmap_id = member_token

    assert joins_the_map(socketio_client(live_server.url, token, live_server.url, transport), roadmap_id)


OPEN_SOCKET_JS = """url => new Promise((resolve) => {
  const socket = new WebSocket(url);
  socket.onmessage = (event) => { resolve('message ' + String(event.data).slice(0, 2)); socket.close(); };
  socket.onerror = () => resolve('error');
  socket.onclose = (event) => resolve('closed ' + event.code);
})"""


@pytest.mark.live
@pytest.mark.browser
def test_a_page_of_another_origin_cannot_open_the_socket_with_a_participants_cookies(live_server, world, chromium):
    group = world.group()
    context = chromium.new_context()
    try:
        own = context.new_page()
        own.goto(live_server.url + "/")
        own.fill("#join_code", group.training.join_code)
        own.fill("#display_name", "Марина")
        own.click("main button[type=submit]")
        wait_for_element(own, '#connection[data-state="online"]', timeout=WAIT_MS)
        # Another port on the same host: another origin, but the same site, so the
        # browser sends the participant's SameSite=Lax cookies along. Only the origin check is left.
        elsewhere = f"http://127.0.0.1:{_free_port()}"
        context.route(
            f"{elsewhere}/**",
            lambda route: route.fulfill(
                status=200, content_type="text/html", body="<!doctype html><title>Elsewhere</title><p>Hi</p>"
            ),
        )
        foreign = context.new_page()
        foreign.goto(elsewhere + "/")
        socket_url = websocket_url(live_server.url)

        refused = foreign.evaluate(OPEN_SOCKET_JS, socket_url)
        assert refused == "error" or refused.startswith("closed"), refused
        assert (
            foreign.evaluate(
                "url => fetch(url, {credentials: 'include'}).then(r => 'read ' + r.status, () => 'blocked')",
                f"{live_server.url}/socket.io/?EIO=4&transport=polling",
            )
            == "blocked"
        )
        assert own.evaluate(OPEN_SOCKET_JS, socket_url) == "message 0{"
    finally:
        context.close()


@pytest.fixture
def public_server(app, database_url, tmp_path, monkeypatch):
    """The real server configured with PUBLIC_ORIGIN, as behind a reverse proxy.

    LiveServer passes its own environment on to the server process, so setting
    the variable here (and only for this test) reaches the server's create_app.
    """
    monkeypatch.setenv("PUBLIC_ORIGIN", PUBLIC_ORIGIN)
    server = LiveServer(database_url, app.instance_path, tmp_path / "public-server.log")
    server.start()
    yield server
    server.stop()


@pytest.mark.live
def test_with_public_origin_configured_only_that_origin_may_open_the_socket(public_server):
    for origin in [
        public_server.url,
        *foreign_origins(public_server.url),
        "http://roadmap.example.org",
        "https://roadmap.example.org.evil.example",
    ]:
        assert polling_handshake(public_server.url, origin).status_code == 400, origin
        assert websocket_session(public_server.url, origin) is None, origin

    accepted = polling_handshake(public_server.url, PUBLIC_ORIGIN)
    assert accepted.status_code == 200
    assert accepted.headers["Access-Control-Allow-Origin"] == PUBLIC_ORIGIN
    assert websocket_session(public_server.url, PUBLIC_ORIGIN).startswith("0{")


@pytest.mark.live
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_with_public_origin_configured_a_client_from_it_connects_and_joins(public_server, member_token, transport):
    token, roadmap_id = member_token

    assert joins_the_map(socketio_client(public_server.url, token, PUBLIC_ORIGIN, transport), roadmap_id)


# --- message size ------------------------------------------------------------------


@pytest.fixture
def pair(world, clients):
    """A sender and a bystander in one map whose title is set."""
    group = world.group()
    oleg, mallory = world.member(group, "Олег"), world.member(group, "Мэллори")
    bystander = clients.connect(oleg, group.roadmap.id)
    sender = clients.connect(mallory, group.roadmap.id)
    assert bystander.send_op("map.set", field="title", value="Чистый двор")["ok"]
    sender.wait_for_revision(1)
    return sender, bystander


def title_op(sender: SyncClient, value: str) -> dict:
    return {"op_id": new_op_id(), "roadmap_id": sender.roadmap_id, "type": "map.set", "field": "title", "value": value}


def assert_others_still_served(live_server, bystander: SyncClient) -> None:
    assert bystander.fresh_snapshot()["title"] == "Чистый двор", "the oversized message changed nothing"
    ack = bystander.send_op("map.set", field="goal", value="Раздельный сбор")
    assert ack["ok"], ack
    assert requests.get(live_server.url + "/healthz", timeout=WAIT_SECONDS).status_code == 200


@pytest.mark.live
def test_a_websocket_message_over_256_kb_closes_the_sending_connection_and_others_are_still_served(live_server, pair):
    sender, bystander = pair

    outcome = sender.call("op", title_op(sender, "x" * (TRANSPORT_LIMIT + 1024)), or_dropped=True)

    assert outcome == DROPPED
    assert sender.disconnects == 1
    assert bystander.disconnects == 0
    assert_others_still_served(live_server, bystander)


@pytest.mark.live
def test_a_websocket_message_just_under_256_kb_reaches_the_app_and_is_refused_there(live_server, pair):
    sender, bystander = pair

    ack = sender.call("op", title_op(sender, "x" * (TRANSPORT_LIMIT - 4096)), or_dropped=True)

    assert ack != DROPPED and ack["error"]["code"] == "too_long"
    assert sender.disconnects == 0
    assert_others_still_served(live_server, bystander)


@pytest.mark.live
def test_a_websocket_message_over_256_kb_of_multibyte_text_closes_the_sending_connection(live_server, pair):
    """The limit is in bytes: 150 000 Cyrillic letters are 300 000 bytes of UTF-8."""
    sender, bystander = pair
    # Written by hand: the client would escape every letter as \u0436, six ASCII bytes each.
    message = "42" + json.dumps(["op", title_op(sender, "ж" * 150_000)], ensure_ascii=False)
    assert len(message.encode()) > TRANSPORT_LIMIT > len(message)

    sender.sio.eio.send(message)
    # Messages are read in order: an answer to this means the oversized one was read and kept.
    outcome = sender.call("catch_up", {"roadmap_id": sender.roadmap_id, "since_revision": None}, or_dropped=True)

    assert outcome == DROPPED, "the server read the message and went on serving this connection"
    assert sender.disconnects == 1
    assert_others_still_served(live_server, bystander)


@pytest.mark.live
def test_a_polling_message_over_256_kb_closes_the_sending_connection_and_others_are_still_served(live_server, pair):
    sender, bystander = pair
    disconnected = threading.Event()
    poller = socketio.Client(reconnection=False)
    poller.on("disconnect", lambda *reason: disconnected.set())
    poller.connect(live_server.url, auth={"token": bystander.token}, transports=["polling"], wait_timeout=WAIT_SECONDS)
    try:
        assert poller.call("join", {"roadmap_id": sender.roadmap_id, "since_revision": None}, timeout=WAIT_SECONDS)[
            "ok"
        ]

        poller.emit("op", title_op(sender, "x" * (TRANSPORT_LIMIT + 1024)))

        assert disconnected.wait(WAIT_SECONDS), "the server kept the polling session open"
    finally:
        poller.shutdown()
    assert_others_still_served(live_server, bystander)


@pytest.mark.live
def test_a_websocket_frame_announced_over_256_kb_is_refused_without_waiting_for_all_of_it(live_server, pair):
    """The server must not buffer a message it will refuse: after the frame header and more
    than the limit of its body, it closes, while the rest (up to 64 MB) never comes."""
    _, bystander = pair
    connection = open_websocket(live_server.url, live_server.url)
    try:
        assert connection.recv().startswith("0{")
        announced = 64 * 1024 * 1024
        frame = websocket.ABNF.create_frame("x" * (TRANSPORT_LIMIT + 64 * 1024), websocket.ABNF.OPCODE_TEXT)
        header_and_part = frame.format()
        # Rewrite the 64-bit payload length (bytes 2..9 of a masked frame this size) to the announced one.
        assert header_and_part[1] & 0x7F == 127
        header_and_part = header_and_part[:2] + announced.to_bytes(8, "big") + header_and_part[10:]
        connection.sock.sendall(header_and_part)
        connection.settimeout(5)
        try:
            answer = connection.recv()
        except websocket.WebSocketTimeoutException:
            pytest.fail("the server kept reading a message announced at 64 MB instead of closing the connection")
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            answer = None
        assert not answer, f"the server answered {answer!r}"
    finally:
        connection.close()
    assert_others_still_served(live_server, bystander)


def largest_valid_ops(sender: SyncClient) -> dict[str, dict]:
    """The biggest op of each kind the schema allows: every text at its limit, in emoji, which python-socketio
    escapes as twelve bytes each (\\ud83d\\ude00): the costliest character there is on the wire."""
    emoji = "😀"
    step_id = new_op_id()[:32]
    texts = {name: emoji * spec.max_length for name, spec in STEP_FIELDS.items() if isinstance(spec, TextField)}
    return {
        "step.add with every text full": {
            "op_id": new_op_id(),
            "roadmap_id": sender.roadmap_id,
            "type": "step.add",
            "step_id": step_id,
            "fields": {**texts, "owner": {"text": emoji * MAX_OWNER_TEXT}},
        },
        "step.set of the description with a full base": {
            "op_id": new_op_id(),
            "roadmap_id": sender.roadmap_id,
            "type": "step.set",
            "step_id": step_id,
            "field": "description",
            "value": emoji * 9_999 + "!",
            "base": texts["description"],
            "after_others": True,
        },
    }


@pytest.mark.live
def test_the_largest_valid_ops_fit_the_transport_limit_even_with_every_character_escaped(live_server, pair):
    sender, _bystander = pair

    for name, op in largest_valid_ops(sender).items():
        encoded = len(("421" + json.dumps(["op", op], separators=(",", ":"))).encode())
        ack = sender.call("op", op, or_dropped=True)

        assert encoded < TRANSPORT_LIMIT, f"{name}: {encoded} bytes"
        assert ack != DROPPED and ack["ok"], f"{name} ({encoded} bytes): {ack}"
    assert sender.disconnects == 0
