"""The start command and gunicorn's worker: migrations before serving, background work in the
worker, WebSocket messages over the limit refused from their headers, no permessage-deflate, TCP_NODELAY."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import time

import pytest
import requests
import websocket
from conftest import PROJECT_ROOT, LiveServer, _free_port, new_id
from sqlalchemy import create_engine, inspect, select

from roadmap import gunicorn_config
from roadmap.extensions import db
from roadmap.models import Presence
from roadmap.services import editing
from tests.livesync import SyncClients
from tests.rawsocket import RawSocketIO, open_websocket, websocket_url

LIMIT = 256 * 1024
WAIT_SECONDS = 15


@pytest.mark.live
def test_the_start_command_migrates_a_fresh_database_before_serving(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    server = LiveServer(database_url, str(tmp_path / "instance"), tmp_path / "server.log")
    server.start()
    try:
        tables = inspect(create_engine(database_url)).get_table_names()
        assert requests.get(server.url + "/sign-in", timeout=WAIT_SECONDS).status_code == 200
    finally:
        server.stop()
    assert {"alembic_version", "roadmaps", "presence", "people"} <= set(tables)


@pytest.mark.live
@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_worker_runs_the_presence_heartbeat(app, database_url, tmp_path, world, group, marina):
    server = LiveServer(
        database_url, app.instance_path, tmp_path / "server.log", extra_env={"PRESENCE_HEARTBEAT_SECONDS": "0.2"}
    )
    server.start()
    clients = SyncClients(server.url, world.token)
    try:
        clients.connect(marina, group.roadmap.id)
        joined_at = _seen_at()
        deadline = time.monotonic() + WAIT_SECONDS
        while _seen_at() == joined_at and time.monotonic() < deadline:
            time.sleep(0.05)  # reading the table until the heartbeat marks it, bounded by the deadline
        assert _seen_at() > joined_at
    finally:
        clients.close_all()
        server.stop()


def _seen_at():
    db.session.rollback()  # a fresh snapshot of what the server committed
    return db.session.scalars(select(Presence.seen_at)).one()


def _frame_header(opcode: int, length: int, final: bool = True) -> bytes:
    """A masked client frame's header announcing `length` bytes; the mask is zero, so the payload goes as is."""
    first = (0x80 if final else 0) | opcode
    return struct.pack("!BBQ", first, 0x80 | 127, length) + b"\0\0\0\0"


@pytest.mark.live
@pytest.mark.parametrize(
    "frames",
    [
        pytest.param([(0x1, LIMIT + 1, True, 0)], id="one frame, header only"),
        pytest.param(
            [(0x1, 200_000, False, 200_000), (0x0, LIMIT - 200_000 + 1, True, 0)],
            id="a continuation past the limit, its header only",
        ),
    ],
)
def test_a_message_over_the_limit_is_closed_with_1009_from_its_header(live_server, frames):
    connection = open_websocket(live_server.url, live_server.url)
    assert connection.recv().startswith("0{")
    for opcode, length, final, payload_sent in frames:
        connection.sock.sendall(_frame_header(opcode, length, final) + b"x" * payload_sent)

    code = None
    while code is None:  # an Engine.IO ping may come first
        opcode, data = connection.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = struct.unpack("!H", data[:2])[0]
    assert code == 1009
    connection.sock.settimeout(WAIT_SECONDS)
    assert _ended(connection.sock), "the server ended the connection"


@pytest.mark.live
def test_a_browsers_offer_of_permessage_deflate_is_declined(live_server):
    offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"  # what Chromium sends
    connection = websocket.create_connection(
        websocket_url(live_server.url), origin=live_server.url, header=[offer], timeout=WAIT_SECONDS
    )
    try:
        assert "sec-websocket-extensions" not in connection.getheaders()
        assert connection.recv().startswith("0{")  # an uncompressed frame
    finally:
        connection.close()


@pytest.mark.live
@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_message_larger_than_the_sockets_free_buffer_arrives_whole(live_server, world, group, marina):
    # simple-websocket writes a frame with one socket.send(), which takes what the buffer has room for.
    for number in range(100):
        editing.apply(
            {
                "op_id": new_id(),
                "roadmap_id": group.roadmap.id,
                "type": "step.add",
                "step_id": new_id(),
                "fields": {"title": f"Шаг {number}", "description": "ж" * 10_000},
            },
            actor=marina,
        )
    a_phone_on_slow_wifi = ((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),)  # the server's buffer fills at once
    client = RawSocketIO(live_server.url, world.token(marina), sockopt=a_phone_on_slow_wifi)
    try:
        joined = client.call("join", {"roadmap_id": group.roadmap.id})  # a snapshot of 6 MB as JSON (\\uXXXX)
        assert joined["ok"] and len(joined["snapshot"]["steps"]) == 100
    finally:
        client.close()


def _ended(sock) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:  # closed with the rest of the frame unread
        return True


@pytest.mark.live
def test_gunicorns_gevent_worker_accepts_connections_with_tcp_nodelay(tmp_path):
    port = _free_port()
    with open(tmp_path / "gunicorn.log", "ab") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--worker-class",
                gunicorn_config.worker_class,
                "--bind",
                f"127.0.0.1:{port}",
                "--no-control-socket",
                "tests.socket_options_app:app",
            ],
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        answer = None
        deadline = time.monotonic() + WAIT_SECONDS
        while answer is None and time.monotonic() < deadline:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/", timeout=1).text
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.05)  # polling the port until the worker answers, bounded by the deadline
        assert answer is not None and int(answer) != 0, answer
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
