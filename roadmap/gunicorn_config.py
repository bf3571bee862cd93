"""Gunicorn's settings and server hooks for Roadmap.

    gunicorn -c python:roadmap.gunicorn_config          # serves roadmap.server:served_app()

`python -m roadmap.server` (what `make run` and the tests start) runs the migrations and
then gunicorn with these settings in its own process. Gunicorn's gevent worker serves
WebSocket through simple-websocket, as Flask-SocketIO's deployment docs advise for gevent.
One worker process by default: WORKERS=n for more, which then need Redis
(SOCKETIO_MESSAGE_QUEUE / REDIS_URL) to reach each other's clients.
"""

import logging
import os

wsgi_app = "roadmap.server:served_app()"
worker_class = "gevent"
# Gunicorn's master reads these before any app exists (run as `gunicorn -c`, they are all it has),
# so they come from the environment here, not from create_app; gunicorn checks their values.
# `python -m roadmap.server` replaces `bind` with where its app says to listen.
workers = os.environ.get("WORKERS", "1")
bind = [f"{os.environ.get('ROADMAP_HOST', '127.0.0.1')}:{os.environ.get('ROADMAP_PORT', '5000')}"]
worker_connections = 2000  # open WebSockets per worker: a city-wide training day, with room to spare
# Each WebSocket is a request that lasts as long as its page: a stopping worker waits this
# long for them, then closes them, and their clients reconnect to whichever worker remains.
graceful_timeout = 5
# One fixed path for every gunicorn on the machine (the tests start dozens at once); `gunicornc`
# is not needed to run Roadmap.
control_socket_disable = True
accesslog = "-"
errorlog = "-"


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def on_starting(server) -> None:
    configure_logging()


def post_worker_init(worker) -> None:
    """The worker has loaded the app (`worker.wsgi`): start its background work."""
    from roadmap import server

    server.worker_started(worker.wsgi)
