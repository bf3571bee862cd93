"""The code uses its libraries through their public interfaces, and the one documented exception is
pinned and watched."""

import ast
import os
from pathlib import Path

from conftest import PROJECT_ROOT

from roadmap.extensions import socketio

# Libraries whose private modules and names (a leading underscore) no code of ours may import.
WATCHED_LIBRARIES = (
    "sqlalchemy",
    "flask_sqlalchemy",
    "flask_socketio",
    "socketio",
    "engineio",
    "flask",
    "werkzeug",
    "flask_limiter",
    "flask_babel",
    "flask_login",
    "flask_wtf",
    "alembic",
)
OUR_CODE = ("roadmap", "bench", "tests", "examples", "migrations")


def _private_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules, names = [node.module], [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            modules, names = [alias.name for alias in node.names], []
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] not in WATCHED_LIBRARIES:
                continue
            private = [part for part in parts[1:] if part.startswith("_")] + [
                name for name in names if name.startswith("_")
            ]
            if private:
                found.append(f"{os.path.relpath(path, PROJECT_ROOT)}:{node.lineno} {module} {private}")
    return found


def test_no_code_imports_a_private_module_or_name_of_sqlalchemy_flask_socketio_or_their_kin():
    files = [path for folder in OUR_CODE for path in (PROJECT_ROOT / folder).rglob("*.py")]

    assert len(files) > 100
    assert [found for path in files for found in _private_imports(path)] == []


def test_the_private_scan_sees_what_it_looks_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from sqlalchemy.engine import _row\nfrom flask_socketio import _ManagedSession\n"
        "import sqlalchemy.sql._typing\nfrom sqlalchemy import select\n"
    )

    assert len(_private_imports(sample)) == 3


def test_socket_events_find_the_connection_session_flask_socketio_keeps_in_the_environ(app, world, training, moderator):
    # realtime/contexts.py skips opening the session cookie on each event when the connection's
    # environ holds Flask-SocketIO's "saved_session", which Flask-SocketIO then puts in place
    # (pyproject.toml pins the versions this holds for). If it stopped doing so, every event
    # after the first would find no actor and answer not_authenticated: this test fails first.
    client = socketio.test_client(app, auth={"token": world.token(moderator)})
    try:
        answers = [client.emit("watch", {"training_id": training.id}, callback=True) for _ in range(3)]
        sid = socketio.server.manager.sid_from_eio_sid(client.eio_sid, "/")
        environ = socketio.server.get_environ(sid)
    finally:
        client.disconnect()

    assert [answer["ok"] for answer in answers] == [True, True, True], answers
    assert "saved_session" in environ
