"""The start command: migrations and the demo, then gunicorn's gevent worker serving the app.

    python -m roadmap.server [--demo] [--host 127.0.0.1] [--port 5000] [--quiet]

Gunicorn's settings and hooks are in roadmap/gunicorn_config.py; a deployment can run
`gunicorn -c python:roadmap.gunicorn_config` itself once `flask --app wsgi db upgrade` has run.
"""

from gevent import monkey

# The gevent worker patches too, but only after the fork: patched first, every module
# this process imports (and the forked worker inherits) is loaded cooperative.
monkey.patch_all()

import argparse  # noqa: E402
import functools  # noqa: E402
import gc  # noqa: E402
import logging  # noqa: E402
from collections.abc import Callable  # noqa: E402

import gevent  # noqa: E402
from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from gunicorn.app.base import BaseApplication  # noqa: E402

from roadmap import access_log, bounded_websocket, create_app, database, gunicorn_config  # noqa: E402
from roadmap.config import SettingError  # noqa: E402
from roadmap.extensions import db, socketio  # noqa: E402
from roadmap.realtime import dashboard_feed  # noqa: E402
from roadmap.services import reminders, venue  # noqa: E402

SERVED = {"SOCKETIO_ASYNC_MODE": "gevent", "SQLITE_CHECKPOINT_IN_BACKGROUND": True}
log = logging.getLogger("roadmap.server")


def served_app(overrides: dict | None = None) -> Flask:
    """The app as a server process serves it: gevent, checkpoints in a native thread, bounded
    WebSocket messages. Gunicorn's worker calls this (`roadmap.server:served_app()`)."""
    app = create_app(overrides={**SERVED, **(overrides or {})})
    bounded_websocket.bound_messages(app, app.config["SOCKETIO_MAX_MESSAGE_BYTES"])
    return app


def worker_started(app: Flask) -> None:
    """In each worker process, once its app is loaded: the background work of that process
    (loops that need a running server; start any other per-process work here, once)."""
    access_log.mask_secrets(app.url_map)
    namespace = socketio.server.namespace_handlers["/"]
    socketio.start_background_task(_keep_presence_fresh, app, namespace)
    socketio.start_background_task(dashboard_feed.run_forever, app, app.config["DASHBOARD_PUSH_SECONDS"])
    if app.config["REMINDERS_IN_SERVER"]:
        socketio.start_background_task(reminders.run_forever, app, app.config["REMINDERS_CHECK_SECONDS"])
    if database.checkpoints_in_background(app):
        socketio.start_background_task(database.keep_wal_checkpointed, app)
    # Everything loaded so far lives as long as the process: keep it out of the
    # garbage collector's full passes, which otherwise stall every connection for
    # ~120 ms at a time (docs/performance.md).
    gc.collect()
    gc.freeze()


def _keep_presence_fresh(app: Flask, namespace) -> None:
    from roadmap.services import connections, presence

    while True:
        socketio.sleep(app.config["PRESENCE_HEARTBEAT_SECONDS"])
        try:
            with app.app_context():
                presence.touch(sorted(namespace.local_sids))
                presence.forget_stale()
                connections.touch(sorted(namespace.local_sids))
                connections.forget_stale()
        except Exception:  # the heartbeat must outlive a passing database error
            log.exception("presence heartbeat failed")


class RoadmapServer(BaseApplication):
    """Gunicorn run in this process with roadmap/gunicorn_config.py's settings, `options` on top,
    serving what `load` returns (bench/baseline_server.py serves its bare app this way)."""

    def __init__(self, options: dict, load: Callable[[], Callable]):
        self.options = options
        self.load = load
        super().__init__()

    def load_config(self) -> None:
        for name, value in {**vars(gunicorn_config), **self.options}.items():
            if name in self.cfg.settings:
                try:
                    self.cfg.set(name, value)
                except ValueError as malformed:
                    raise SystemExit(f"Roadmap cannot start: gunicorn's {name}={value!r}: {malformed}") from None


def _phones_line(app: Flask, host: str, port: int) -> str:
    """What the moderator reads in the terminal: the address phones open, or why they cannot."""
    origin = venue.join_origin(
        app.config.get("PUBLIC_ORIGIN"), app.config.get("JOIN_HOST"), host, port, f"http://{host}:{port}"
    )
    if origin.reachable_from_phones:
        return f"Телефоны открывают: {origin.origin}/"
    return (
        f"Телефоны не откроют {host}: сервер слушает только этот компьютер. "
        "Запустите так: ROADMAP_HOST=0.0.0.0 make run"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Run the Roadmap server.")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--demo", action="store_true", help="seed the demo training if missing")
    parser.add_argument("--quiet", action="store_true", help="no access log")
    args = parser.parse_args(argv)
    gunicorn_config.configure_logging()

    try:
        app = create_app()
    except SettingError as malformed:
        raise SystemExit(f"Roadmap cannot start: {malformed}") from None
    host = args.host or app.config["HOST"]
    port = args.port or app.config["PORT"]
    address = {"HOST": host, "PORT": port}  # the join link's address depends on where the server listens
    app.config.update(address)
    with app.app_context():
        upgrade()
        if args.demo:
            from roadmap import demo

            print(demo.ensure_demo(app.instance_path), flush=True)
        db.engine.dispose()  # the worker opens its own connections
    # Flask-Limiter's in-memory storage started a 10 ms timer, a greenlet here: let it end
    # before gunicorn forks, or the worker inherits it half run.
    gevent.sleep(0.05)
    this_computer = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # a browser cannot open 0.0.0.0
    print(f"Roadmap is running at http://{this_computer}:{port}/  (Ctrl+C to stop)", flush=True)
    print(_phones_line(app, host, port), flush=True)
    options = {"bind": [f"{host}:{port}"], **({"accesslog": None} if args.quiet else {})}
    RoadmapServer(options, functools.partial(served_app, address)).run()


if __name__ == "__main__":
    main()
