"""A WSGI app that answers with TCP_NODELAY of the socket gunicorn accepted for the request
(tests/app/test_server.py): the option is read where it is set, on the server's side."""

import socket


def app(environ, start_response):
    nodelay = environ["gunicorn.socket"].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(nodelay).encode()]
