"""The transport Roadmap had before gunicorn, kept to measure against: gevent's WSGI server with
gevent-websocket (unmaintained since 2017), TCP_NODELAY set on each accepted socket, and
gevent-websocket's frame reader patched to refuse a message over the limit from its headers.

    PYTHONPATH=<folder with gevent-websocket> python -m bench.old_transport app|baseline --port 5001

bench/run.py --transports old,new installs gevent-websocket into its temporary folder and puts
it on the PYTHONPATH of these processes only; the app does not depend on it. With it importable,
python-engineio's gevent driver uses it instead of simple-websocket.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402

from flask_migrate import upgrade  # noqa: E402
from gevent import pywsgi  # noqa: E402
from geventwebsocket.exceptions import ProtocolError, WebSocketError  # noqa: E402
from geventwebsocket.handler import WebSocketHandler  # noqa: E402
from geventwebsocket.websocket import Header, WebSocket  # noqa: E402

from roadmap.config import Config  # noqa: E402


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


def served(kind: str):
    """The app as roadmap.server's worker runs it (background loops, gc.freeze), or the baseline."""
    if kind == "baseline":
        from bench.baseline_server import create_baseline_app

        return create_baseline_app()[0]
    from roadmap import server

    app = server.served_app()
    with app.app_context():
        upgrade()
    server.worker_started(app)
    return app


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Serve the app or the baseline on the old transport.")
    parser.add_argument("kind", choices=("app", "baseline"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--quiet", action="store_true", help="accepted for the app's command line; no access log")
    args = parser.parse_args(argv)
    app = served(args.kind)
    BoundedWebSocket.max_message_bytes = Config.SOCKETIO_MAX_MESSAGE_BYTES
    server = NoDelayWSGIServer((args.host, args.port), app, handler_class=BoundedWebSocketHandler, log=None)
    print(f"{args.kind} (old transport) running at http://{args.host}:{args.port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
