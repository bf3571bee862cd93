"""Fixtures that build the world: an app on a real database, people, trainings, a live server."""

from __future__ import annotations

import atexit
import contextvars
import copy
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psutil
import pytest
import requests
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import event, text

from roadmap import create_app, heavy_work, hot_sql
from roadmap.config import TestConfig
from roadmap.database import create_fresh_postgres_database
from roadmap.extensions import db, limiter, socketio
from roadmap.models import Person
from roadmap.services import accounts, trainings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-secret-key"


def _postgres_database_url() -> str | None:
    """A fresh database for this test session on the server DATABASE_URL names."""
    base_url = os.environ.get("DATABASE_URL")
    if not base_url or not base_url.startswith("postgresql"):
        return None
    return create_fresh_postgres_database(base_url, f"roadmap_test_{os.getpid()}")


@pytest.fixture(scope="session")
def postgres_url():
    url = _postgres_database_url()
    if url is None:
        pytest.skip("DATABASE_URL is not set to a PostgreSQL server (.ci/run sets it)")
    return url


def _test_app(database_url: str, instance_path: Path):
    return create_app(
        TestConfig,
        overrides={
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": SECRET_KEY,
            "INSTANCE_PATH": str(instance_path),
        },
    )


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory) -> Path:
    """A database file migrated once per session; each test gets a copy."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "roadmap.sqlite3"
    template_app = _test_app(f"sqlite:///{path}", folder / "instance")
    with template_app.app_context():
        upgrade()
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def migrated_postgres_url(postgres_url) -> str:
    template_app = _test_app(postgres_url, Path("/tmp/roadmap-test-instance"))
    with template_app.app_context():
        upgrade()
        db.engine.dispose()
    return postgres_url


@pytest.fixture(scope="session")
def worker_folder(tmp_path_factory) -> Path:
    """This pytest worker's home for the database and instance folder its tests share in turn."""
    return tmp_path_factory.mktemp("worker")


@pytest.fixture
def database_url(request, worker_folder):
    """SQLite in a file holding a fresh copy of the migrated database; a test opts into PostgreSQL with
    @pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True) (emptied after it).

    Every SQLite test of a worker finds its copy at the same path, so the worker's one app serves them all."""
    backend = getattr(request, "param", "sqlite")
    if backend == "postgresql":
        return request.getfixturevalue("migrated_postgres_url")
    path = worker_folder / "roadmap.sqlite3"
    for leftover in (worker_folder / "roadmap.sqlite3-wal", worker_folder / "roadmap.sqlite3-shm"):
        leftover.unlink(missing_ok=True)
    # A new file, not the old one overwritten: a connection an earlier test left open keeps the old one.
    copy = worker_folder / "roadmap.sqlite3.copying"
    shutil.copyfile(request.getfixturevalue("migrated_sqlite_file"), copy)
    os.replace(copy, path)
    return f"sqlite:///{path}"


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own app context, as under the real server.

    The `app` fixture keeps an app context pushed for the services, and Flask reuses
    a pushed context for requests. They would then share `g`, where Flask-Login keeps
    the signed-in person, and a fresh client would be let in as the previous one.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


class SharedApps:
    """One app per database URL for the whole worker, reset between tests.

    Building an app cost 0.3-0.8 s (Werkzeug compiles every URL rule's builder), paid by nearly every
    test. Tests change an app in three ways, each undone here: its config (restored from a copy), its
    instance folder (emptied), and the rate limiter's counts (reset). Its database is the copy the
    `database_url` fixture makes, or PostgreSQL's tables, emptied after each test.

    Flask-SocketIO and Flask-Limiter serve one app per process: each create_app points them at its
    own settings. After a test made an app of its own, the shared one is built again."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.apps: dict[str, tuple[object, dict]] = {}
        self.socket_servers: list = []  # socketio.server as each shared app left it

    def fresh(self, database_url: str):
        if database_url not in self.apps or not any(server is socketio.server for server in self.socket_servers):
            instance = self.folder / f"instance-{len(self.socket_servers)}"
            app = _test_app(database_url, instance)
            app.test_client_class = IsolatedClient
            self.apps[database_url] = (app, copy.deepcopy(dict(app.config)))
            self.socket_servers.append(socketio.server)
        app, config = self.apps[database_url]
        app.config.clear()
        app.config.update(copy.deepcopy(config))
        # The heavy-work pool's processes keep an app per configuration, and with it a connection
        # to the database file this test replaced: a configuration of its own makes them build anew.
        app.config["TEST_ID"] = uuid.uuid4().hex
        heavy_work.forget_configuration(app)
        _empty_folder(Path(app.instance_path))
        limiter.reset()
        return app


def _empty_folder(folder: Path) -> None:
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


@pytest.fixture(scope="session")
def shared_apps(worker_folder) -> SharedApps:
    return SharedApps(worker_folder)


@pytest.fixture
def app(database_url, shared_apps):
    app = shared_apps.fresh(database_url)
    with (
        app.app_context()
    ):  # on a fresh copy of the session's migrated database (tests/app/test_migrations.py checks it)
        yield app
        db.session.remove()
        if not database_url.startswith("sqlite"):
            _empty_all_tables()
        db.engine.dispose()


def _empty_all_tables():
    names = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
    db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    db.session.commit()


@pytest.fixture
def client(app):
    return app.test_client()


PASSWORD = "correct horse battery"


def make_moderator(email: str, name: str) -> Person:
    """A moderator who signs in with PASSWORD (hashed with TestConfig's cheapest Argon2 profile)."""
    person = Person(email=email, display_name=name, is_moderator=True, password_hash=accounts.hash_password(PASSWORD))
    db.session.add(person)
    db.session.commit()
    return person


def secure_account(person: Person, email: str, password: str) -> Person:
    """`person` with a password and a confirmed e-mail, as after opening the confirmation mail."""
    tokens = []
    accounts.request_address(person, email, lambda token: tokens.append(token) or token)
    accounts.confirm_address(tokens[0])
    return accounts.change_password(db.session.get(Person, person.id), password)


def passwordless_moderator(display_name: str = "Мод Модераторов"):
    """A moderator without a password: hashing one (Argon2) costs a third of a second,
    and most tests never sign in."""
    moderator = Person(display_name=display_name, is_moderator=True)
    db.session.add(moderator)
    db.session.commit()
    return moderator


@contextmanager
def counted_queries():
    """Collect the SQL statements run inside the block."""
    statements = []

    def count(_connection, _cursor, statement, *_args):
        statements.append(statement)

    def count_hot(statement, _parameters):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    hot_sql.listen(count_hot)  # the edit path's hand-written statements skip SQLAlchemy's events
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
        hot_sql.remove(count_hot)


@dataclass
class World:
    """Builds trainings, groups and people through the real services."""

    app: object

    def moderator(self, email: str | None = None, name: str = "Мод Модераторов"):
        """A moderator who signs in with PASSWORD (tests/app/test_cli.py makes one the real way, with the
        password rules)."""
        return make_moderator(email or f"mod-{uuid.uuid4().hex[:8]}@example.org", name)

    def training(self, moderator=None, title: str = "Школа городских героев"):
        moderator = moderator or self.moderator()
        return trainings.create_training(
            moderator, title, "Вологда", "Библиотека", date(2027, 4, 22), date(2027, 4, 24)
        )

    def group(self, training=None, name: str = "Чистый двор", theme: str = "waste_sorting"):
        training = training or self.training()
        return trainings.create_group(training, name, theme)

    def member(self, group, name: str = "Марина"):
        """A new person in the group; a namesake of a member is taken as someone else (see tests/services/test_devices.py)."""
        return trainings.join_group(group.training, group.id, name, None, different_person=True)

    def token(self, person) -> str:
        return accounts.issue_token(person)


@pytest.fixture
def world(app):
    return World(app)


# The usual cast; a test file overrides `moderator` or `group` when it needs another.
@pytest.fixture
def moderator(world):
    return world.moderator()


@pytest.fixture
def training(world, moderator):
    return world.training(moderator)


@pytest.fixture
def group(world, training):
    return world.group(training)


@pytest.fixture
def marina(world, group):
    return world.member(group, "Марина")


@pytest.fixture
def oleg(world, group):
    return world.member(group, "Олег")


def new_id() -> str:
    return uuid.uuid4().hex


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    """The real server (python -m roadmap.server) in its own process: gunicorn's master, which
    leads a process group of its own with its worker; `process` is the master."""

    def __init__(
        self,
        database_url: str,
        instance_path: str,
        log_path: Path,
        extra_env: dict | None = None,
        access_log: bool = False,
    ):
        self.extra_env = extra_env or {}
        self.access_log = access_log
        self.database_url = database_url
        self.instance_path = instance_path
        self.log_path = log_path
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": SECRET_KEY,
            "ROADMAP_INSTANCE_PATH": self.instance_path,
            "PYTHONUNBUFFERED": "1",
            # Rate limits live in Redis when REDIS_URL is set: each server counts on its own, so
            # one test's attempts (or an earlier run's) never use up another's.
            "RATELIMIT_KEY_PREFIX": f"roadmap-test-limits-{uuid.uuid4().hex}",
            "ARGON2_PROFILE": "CHEAPEST",  # as TestConfig: real hashes, at the lowest cost
            **self.extra_env,
        }
        argv = ["--host", "127.0.0.1", "--port", str(self.port), *([] if self.access_log else ["--quiet"])]
        if os.environ.get("ROADMAP_TEST_FORK_SERVERS", "1") == "1":
            self.process = ServerZygote.fork(env, argv, self.log_path)
        else:
            self.log_file = open(self.log_path, "ab")
            self.process = subprocess.Popen(
                [sys.executable, "-m", "roadmap.server", *argv],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=self.log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early, see {self.log_path}:\n{self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):  # the master listens before its worker serves
                pass
            time.sleep(0.05)  # polling the port until it answers, bounded by the deadline
        raise RuntimeError(f"server did not start in {timeout} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except (subprocess.TimeoutExpired, psutil.TimeoutExpired):
                self.kill()
        self._close_log()

    def kill(self) -> None:
        """SIGKILL to the master and its worker at once: no cleanup, as in a crash. (Killed alone,
        the master would leave its worker serving its connections until it noticed.)"""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if getattr(self, "log_file", None) is not None:
            self.log_file.close()
            self.log_file = None


class ForkedServer:
    """A server forked by tests/server_zygote.py: the parts of Popen's interface LiveServer uses.

    It is the zygote's child, not ours; the kernel reaps it (the zygote ignores SIGCHLD),
    so it is gone, not a zombie, once it has exited."""

    def __init__(self, pid: int):
        self.pid = pid
        self._process = psutil.Process(pid)

    def poll(self) -> int | None:
        try:
            running = self._process.is_running() and self._process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            running = False
        return None if running else 1

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def wait(self, timeout: float | None = None) -> None:
        try:
            self._process.wait(timeout=timeout)
        except psutil.NoSuchProcess:
            pass

    def _signal(self, number: int) -> None:
        try:
            self._process.send_signal(number)
        except psutil.NoSuchProcess:
            pass


class ServerZygote:
    """One process per pytest worker that forks live servers (tests/server_zygote.py)."""

    _process: subprocess.Popen | None = None
    _lock = threading.Lock()

    @classmethod
    def fork(cls, env: dict, argv: list[str], log_path: Path) -> ForkedServer:
        with cls._lock:
            if cls._process is None or cls._process.poll() is not None:
                cls._process = subprocess.Popen(
                    [sys.executable, "-m", "tests.server_zygote"],
                    cwd=PROJECT_ROOT,
                    text=True,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
                atexit.register(cls._process.kill)
            cls._process.stdin.write(json.dumps({"env": env, "argv": argv, "log": str(log_path)}) + "\n")
            cls._process.stdin.flush()
            answer = cls._process.stdout.readline()
        if not answer.strip().isdigit():
            raise RuntimeError(f"the server zygote did not fork: {answer!r}")
        return ForkedServer(int(answer))


@pytest.fixture
def clients(live_server, world):
    """Synchronising Socket.IO clients (tests/livesync.py), closed after the test."""
    from tests.livesync import SyncClients

    opened = SyncClients(live_server.url, world.token)
    yield opened
    opened.close_all()


@pytest.fixture
def live_server(app, database_url, tmp_path):
    server = LiveServer(database_url, app.instance_path, tmp_path / "server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def unthrottled_live_server(app, database_url, tmp_path):
    """The server with no per-socket event rate: for tests that send far faster than a person
    to see how each event is answered (the limit has its tests in test_socket_limits.py)."""
    server = LiveServer(
        database_url, app.instance_path, tmp_path / "server.log", extra_env={"SOCKET_EVENTS_PER_SECOND": "0"}
    )
    server.start()
    yield server
    server.stop()


CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def chromium_browser():
    """One Chromium per pytest worker."""
    if not os.path.exists(CHROMIUM_PATH):
        pytest.skip(f"{CHROMIUM_PATH} is missing (make test installs it when run as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def chromium(chromium_browser):
    """The worker's Chromium; every context a test opened is closed after it. Left open, the
    pages of earlier tests go on running their scripts (reconnecting to servers long gone,
    timers, the projector's scrolling) and slow every later test in the worker."""
    yield chromium_browser
    for context in list(chromium_browser.contexts):
        context.close()


@pytest.fixture
def artifacts(request) -> Path:
    """A folder for this test's screenshots, kept after the run."""
    folder = ARTIFACTS / request.node.name.replace("[", "-").replace("]", "")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class SmtpInbox:
    """A real SMTP server (aiosmtpd) on 127.0.0.1, in this process, keeping what arrives."""

    def __init__(self):
        import threading

        self.messages: list = []  # email.message.EmailMessage, in arrival order
        self.envelopes: list = []
        self._arrived = threading.Condition()
        self.port = _free_port()

    async def handle_DATA(self, _server, _session, envelope):
        from email import message_from_bytes
        from email.policy import default

        with self._arrived:
            self.envelopes.append(envelope)
            self.messages.append(message_from_bytes(envelope.content, policy=default))
            self._arrived.notify_all()
        return "250 OK"

    def config(self) -> dict:
        """App settings that send to this server."""
        return {
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": self.port,
            "MAIL_USE_TLS": False,
            "MAIL_USE_SSL": False,
            "MAIL_FROM": "Roadmap <roadmap@example.org>",
        }

    def environment(self) -> dict:
        """The same settings for a live server process."""
        return {
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(self.port),
            "MAIL_USE_TLS": "0",
            "MAIL_FROM": "Roadmap <roadmap@example.org>",
        }

    def wait_for(self, predicate=lambda message: True, timeout: float = 15.0):
        """The first message that satisfies `predicate`, waiting for it to arrive."""
        with self._arrived:
            found = self._arrived.wait_for(
                lambda: next((m for m in self.messages if predicate(m)), None), timeout=timeout
            )
        if found is None:
            raise AssertionError(f"no such mail within {timeout} s; arrived: {[m['Subject'] for m in self.messages]}")
        return found

    def to(self, address: str) -> list:
        return [message for message in self.messages if address in message["To"]]


@contextmanager
def serving(inbox: SmtpInbox):
    """`inbox` (an SmtpInbox or a subclass) answering SMTP on 127.0.0.1 for the block."""
    from aiosmtpd.controller import Controller

    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_inbox():
    with serving(SmtpInbox()) as inbox:
        yield inbox
