"""The production server: gevent's WSGI server with WebSocket support.

    python -m roadmap.server [--demo] [--host 127.0.0.1] [--port 5000]
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import gc  # noqa: E402
import logging  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402

from flask_migrate import upgrade  # noqa: E402
from gevent import pywsgi  # noqa: E402
from geventwebsocket.exceptions import ProtocolError, WebSocketError  # noqa: E402
from geventwebsocket.handler import WebSocketHandler  # noqa: E402
from geventwebsocket.websocket import Header, WebSocket  # noqa: E402

from roadmap import access_log, create_app, database  # noqa: E402
from roadmap.extensions import socketio  # noqa: E402
from roadmap.realtime import dashboard_feed  # noqa: E402
from roadmap.services import reminders, venue  # noqa: E402

PRESENCE_HEARTBEAT_SECONDS = 20
log = logging.getLogger("roadmap.server")


class NoDelayWSGIServer(pywsgi.WSGIServer):
    """Sends small frames at once: without TCP_NODELAY acks wait ~40 ms on Nagle."""

    def handle(self, client_socket, address):
        client_socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(client_socket, address)


class BoundedWebSocket(WebSocket):
    """Refuses a message over the size limit from its frame headers, before reading it.

    gevent-websocket would otherwise read whatever length a client announces
    into memory, and Engine.IO only checks the finished message.
    """

    __slots__ = ()  # same layout as WebSocket, so an instance can be switched to this class
    max_message_bytes = 256 * 1024

    def read_frame(self):
        header = Header.decode_header(self.stream)
        if header.flags:
            raise ProtocolError
        if header.opcode in (self.OPCODE_TEXT, self.OPCODE_BINARY):
            self.handler.message_bytes = 0
        if header.opcode in (self.OPCODE_TEXT, self.OPCODE_BINARY, self.OPCODE_CONTINUATION):
            self.handler.message_bytes += header.length
            if self.handler.message_bytes > self.max_message_bytes:
                self._refuse_too_big()
        if not header.length:
            return header, b""
        payload = self.raw_read(header.length)
        if len(payload) != header.length:
            raise WebSocketError("Unexpected EOF reading frame payload")
        if header.mask:
            payload = header.unmask_payload(payload)
        return header, payload


    def _refuse_too_big(self):
        # WebSocket.close() drops the status code, so the close frame is built here.
        try:
            self.send_frame(struct.pack("!H", 1009) + b"message too big", opcode=self.OPCODE_CLOSE)
        except WebSocketError:
            pass
        self.closed = True
        raise ProtocolError("message too big")


class BoundedWebSocketHandler(WebSocketHandler):
    message_bytes = 0  # bytes announced so far for the message being read

    def log_request(self):
        # gevent-websocket writes each request to a logger of its own, ignoring the server's
        # `log`: --quiet was not quiet, and the access log could not mask secrets. Write where
        # pywsgi writes (a WebSocket's 101 is left out, as gevent-websocket does).
        if "101" not in str(self.status):
            self.server.log.write(self.format_request() + "\n")

    def upgrade_connection(self):
        result = super().upgrade_connection()
        if getattr(self, "websocket", None) is not None:
            # gevent-websocket builds its WebSocket by name; swap in the bounded subclass.
            self.websocket.__class__ = BoundedWebSocket
        return result


def _keep_presence_fresh(app, namespace) -> None:
    from roadmap.services import connections, presence

    while True:
        socketio.sleep(PRESENCE_HEARTBEAT_SECONDS)
        try:
            with app.app_context():
                presence.touch(sorted(namespace.local_sids))
                presence.forget_stale()
                connections.touch(sorted(namespace.local_sids))
                connections.forget_stale()
        except Exception:  # the heartbeat must outlive a passing database error
            log.exception("presence heartbeat failed")


def _phones_line(app, host: str, port: int) -> str:
    """What the moderator reads in the terminal: the address phones open, or why they cannot."""
    origin = venue.join_origin(app.config.get("PUBLIC_ORIGIN"), app.config.get("JOIN_HOST"), host, port,
                               f"http://{host}:{port}")
    if origin.reachable_from_phones:
        return f"Телефоны открывают: {origin.origin}/"
    return (f"Телефоны не откроют {host}: сервер слушает только этот компьютер. "
            "Запустите так: ROADMAP_HOST=0.0.0.0 make run")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Run the Roadmap server.")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--demo", action="store_true", help="seed the demo training if missing")
    parser.add_argument("--quiet", action="store_true", help="no access log")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    app = create_app(overrides={"SOCKETIO_ASYNC_MODE": "gevent", "SQLITE_CHECKPOINT_IN_BACKGROUND": True})
    host = args.host or app.config["HOST"]
    port = args.port or app.config["PORT"]
    app.config.update(HOST=host, PORT=port)  # the join link's address depends on where the server listens
    with app.app_context():
        upgrade()
        if args.demo:
            from roadmap import demo

            print(demo.ensure_demo(app.instance_path), flush=True)
    BoundedWebSocket.max_message_bytes = app.config["SOCKETIO_MAX_MESSAGE_BYTES"]
    namespace = socketio.server.namespace_handlers["/"]
    socketio.start_background_task(_keep_presence_fresh, app, namespace)
    socketio.start_background_task(dashboard_feed.run_forever, app, app.config["DASHBOARD_PUSH_SECONDS"])
    if app.config["REMINDERS_IN_SERVER"]:
        socketio.start_background_task(reminders.run_forever, app, app.config["REMINDERS_CHECK_SECONDS"])
    if database.checkpoints_in_background(app):
        socketio.start_background_task(database.keep_wal_checkpointed, app)
    server = NoDelayWSGIServer(
        (host, port), app, handler_class=BoundedWebSocketHandler,
        log=None if args.quiet else access_log.access_logger(app.url_map),
    )
    # Everything loaded so far lives as long as the process: keep it out of the
    # garbage collector's full passes, which otherwise stall every connection for
    # ~120 ms at a time (docs/performance.md).
    gc.collect()
    gc.freeze()
    this_computer = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # a browser cannot open 0.0.0.0
    print(f"Roadmap is running at http://{this_computer}:{port}/  (Ctrl+C to stop)", flush=True)
    print(_phones_line(app, host, port), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
