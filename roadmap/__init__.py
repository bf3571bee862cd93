"""Roadmap: live co-edited road maps for civic trainings."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from roadmap import instance_files, tolerant_json
from roadmap.config import Config, from_environment

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config_class: type[Config] = Config, overrides: dict | None = None) -> Flask:
    """The app: `config_class`'s defaults, then the environment's settings (unless the class
    says not to read it; a malformed one raises config.SettingError), then `overrides`."""
    environment = from_environment(os.environ) if config_class.READS_ENVIRONMENT else {}
    settings = {**environment, **(overrides or {})}
    instance_path = settings.get("INSTANCE_PATH") or config_class.INSTANCE_PATH
    app = Flask(
        __name__,
        instance_path=instance_path,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_relative_config=True,
    )
    app.config.from_object(config_class)
    app.config.update(settings)
    app.json = tolerant_json.TolerantJSONProvider(app)
    instance_files.ensure_private_folder(app.instance_path)
    _fill_instance_defaults(app)

    from roadmap import cli, database, i18n, security, views
    from roadmap.extensions import csrf, db, limiter, login_manager, migrate, socketio
    from roadmap.realtime import contexts
    from roadmap.realtime.namespace import LiveNamespace

    database.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    login_manager.init_app(app)
    views.init_app(app)
    cli.init_app(app)
    socketio.init_app(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        **_message_queue_options(app),
        cors_allowed_origins=app.config["PUBLIC_ORIGIN"] or None,
        max_http_buffer_size=app.config["SOCKETIO_MAX_MESSAGE_BYTES"],
        ping_interval=app.config["SOCKETIO_PING_INTERVAL"],
        ping_timeout=app.config["SOCKETIO_PING_TIMEOUT"],
        manage_session=True,
        json=tolerant_json,  # every packet gets an ack, even one whose JSON cannot be read
        # One connection's events run in arrival order, so an op that follows
        # the op creating its step never overtakes it.
        async_handlers=False,
    )
    socketio.on_namespace(LiveNamespace())
    contexts.init_app(app, socketio)
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app


def _fill_instance_defaults(app: Flask) -> None:
    """SQLite and a persistent secret key in the instance folder unless configured."""
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "roadmap.sqlite3")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_files.secret_key(app.instance_path)


def _message_queue_options(app: Flask) -> dict:
    """Flask-SocketIO keeps the options of an earlier init_app (a test process makes many apps):
    without a queue, say so, or the previous app's queue manager would stay."""
    if app.config["SOCKETIO_MESSAGE_QUEUE"]:
        return {"message_queue": app.config["SOCKETIO_MESSAGE_QUEUE"], "channel": app.config["SOCKETIO_CHANNEL"]}
    return {"message_queue": None, "client_manager": None}
