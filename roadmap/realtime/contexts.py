"""Socket.IO events in Flask's request machinery, made cheap.

Flask-SocketIO runs every event inside a request context built from its
connection's environ. Two parts of that context are wasted work per event,
and the first also leaves garbage that stalls the server when it is collected
(docs/performance.md): URL matching and opening the session cookie.
"""

from flask import Flask, abort
from flask.sessions import SecureCookieSessionInterface
from flask_socketio import SocketIO


def init_app(app: Flask, socketio: SocketIO) -> None:
    """After socketio.init_app. Replaces the app's session interface."""
    if not socketio.manage_session:
        raise RuntimeError("SocketIOAwareSessionInterface relies on Flask-SocketIO's manage_session")
    # Engine.IO's middleware answers this path before Flask, so the rule only
    # spares Werkzeug raising NotFound (with a traceback) on every event. Events
    # run in the environ of the connection's opening GET, whatever the transport.
    path = "/" + socketio.server_options.get("socketio_path", "socket.io").strip("/") + "/"
    app.add_url_rule(path, "socketio_path", _answered_by_socketio, strict_slashes=False)
    app.session_interface = SocketIOAwareSessionInterface()


def _answered_by_socketio():
    abort(404)


class SocketIOAwareSessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, opened once per Socket.IO connection rather than per event.

    Flask-SocketIO keeps the connection's session in the environ ("saved_session")
    from its first event on and puts it in place of the one opened here. That key is
    not a documented interface: pyproject.toml pins the Flask-SocketIO versions it
    holds for, and tests/app/test_public_apis.py fails if it stops holding.
    """

    def open_session(self, app, request):
        if "saved_session" in request.environ:
            return self.session_class()
        return super().open_session(app, request)
