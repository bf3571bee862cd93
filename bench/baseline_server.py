"""The floor: a bare Flask-SocketIO server on the app's stack, with no app in it.

    python -m bench.baseline_server --port 5001

Same transport as `python -m roadmap.server`: gunicorn's gevent worker with
roadmap/gunicorn_config.py's settings and simple-websocket behind the app's
message-size guard (roadmap/bounded_websocket.py), async mode gevent, one
connection's events in order (async_handlers=False), the same heartbeat; with
--old-transport (bench/old_transport.py), the transport the app had before
gunicorn. The events have the app's names and payload shapes, so one load
generator drives both, but nothing is validated or stored: `join` puts the
connection in the map's room, `op` numbers the payload and broadcasts it back
as a `change`. Whatever the app costs above this is the app's own work.
"""

from gevent import monkey

monkey.patch_all()

import argparse
import gc
from datetime import UTC, datetime

from flask import Flask, request
from flask_socketio import SocketIO, join_room, leave_room

from roadmap import bounded_websocket
from roadmap.config import Config


def create_baseline_app() -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "bench-baseline"
    socketio = SocketIO(
        app,
        async_mode="gevent",
        max_http_buffer_size=Config.SOCKETIO_MAX_MESSAGE_BYTES,
        ping_interval=Config.SOCKETIO_PING_INTERVAL,
        ping_timeout=Config.SOCKETIO_PING_TIMEOUT,
        manage_session=True,
        async_handlers=False,
    )
    revisions: dict[int, int] = {}
    joined: dict[str, int] = {}

    @app.get("/healthz")
    def health():
        return {"ok": True}

    @socketio.on("connect")
    def on_connect(auth=None):
        return True

    @socketio.on("join")
    def on_join(payload):
        roadmap_id = payload["roadmap_id"]
        previous = joined.get(request.sid)
        if previous is not None and previous != roadmap_id:
            leave_room(f"map:{previous}")
        join_room(f"map:{roadmap_id}")
        joined[request.sid] = roadmap_id
        revision = revisions.get(roadmap_id, 0)
        return {
            "ok": True,
            "revision": revision,
            "changes": [],
            "presence": [],
            "members": [],
            "me": {"id": 0, "name": "bench"},
        }

    @socketio.on("op")
    def on_op(payload):
        roadmap_id = payload["roadmap_id"]
        revision = revisions.get(roadmap_id, 0) + 1
        revisions[roadmap_id] = revision
        change = {
            "roadmap_id": roadmap_id,
            "revision": revision,
            "op_id": payload["op_id"],
            "author": {"id": 0, "name": "bench"},
            "op": payload,
            "at": datetime.now(UTC).replace(tzinfo=None).isoformat() + "Z",
        }
        # Broadcast first, then ack, in the order the app does it.
        socketio.emit("change", change, to=f"map:{roadmap_id}")
        return {"ok": True, "revision": revision, "duplicate": False}

    @socketio.on("disconnect")
    def on_disconnect(reason=None):
        joined.pop(request.sid, None)

    return app, socketio


def served_baseline() -> Flask:
    app = create_baseline_app()[0]
    bounded_websocket.bound_messages(app, Config.SOCKETIO_MAX_MESSAGE_BYTES)
    return app


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Run the bare Socket.IO baseline server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    from roadmap.server import RoadmapServer

    print(f"baseline running at http://{args.host}:{args.port}/", flush=True)
    options = {
        "bind": [f"{args.host}:{args.port}"],
        "accesslog": None,
        "post_worker_init": lambda worker: (gc.collect(), gc.freeze()),
    }
    RoadmapServer(options, served_baseline).run()


if __name__ == "__main__":
    main()
