"""A WebSocket message over the size limit is refused from its frame headers, before its payload is read.

python-engineio's gevent driver builds each connection's `simple_websocket.Server` without a
`max_message_size`, and simple-websocket's limit, when given, counts a text message in
characters after reading it (150,000 Cyrillic letters are 300,000 bytes). `RefuseOversizedMessages`
hands simple-websocket the connection's socket behind `FrameSizeGuard`, which follows the
frame headers of the bytes it passes on: once a message's frames announce more than the limit
in total, it answers with a close frame (1009, message too big) and ends the connection,
having passed on none of that frame's payload.

The upgrade is also answered without permessage-deflate, which browsers offer and
simple-websocket accepts: our messages are a few hundred bytes, and each connection's zlib
compressor and decompressor would hold about 290 KiB and add about 25 µs to every message
sent (docs/performance.md). gevent-websocket, before gunicorn, never compressed either.
"""

from __future__ import annotations

import struct

TEXT, BINARY, CONTINUATION, CLOSE = 0x1, 0x2, 0x0, 0x8
MESSAGE_TOO_BIG = struct.pack("!BBH", 0x80 | CLOSE, 2 + 15, 1009) + b"message too big"


class FrameSizeGuard:
    """The socket as simple-websocket uses it (recv, send, close), with the frame headers followed
    and every frame sent whole."""

    def __init__(self, sock, max_message_bytes: int):
        self.sock = sock
        self.max_message_bytes = max_message_bytes
        self.header = b""  # the part of a frame header received so far
        self.payload_left = 0  # bytes of the current frame's payload still to come
        self.message_bytes = 0  # announced so far for the message being received

    def recv(self, size: int) -> bytes:
        data = self.sock.recv(size)
        if not self._within_limit(data):
            self.sock.sendall(MESSAGE_TOO_BIG)
            return b""  # simple-websocket takes this as the end of the connection
        return data

    def _within_limit(self, data: bytes) -> bool:
        position = 0
        while position < len(data):
            if self.payload_left:
                taken = min(self.payload_left, len(data) - position)
                self.payload_left -= taken
                position += taken
                continue
            taken = data[position : position + 14 - len(self.header)]  # 14: the longest header
            self.header += taken
            position += len(taken)
            length, header_size = _announced(self.header)
            if header_size is None:
                continue  # the header goes on in the next chunk
            position -= len(self.header) - header_size  # bytes after the header are payload
            opcode, self.header = self.header[0] & 0x0F, b""
            if opcode in (TEXT, BINARY):
                self.message_bytes = 0
            if opcode in (TEXT, BINARY, CONTINUATION):
                self.message_bytes += length
                if self.message_bytes > self.max_message_bytes:
                    return False
            self.payload_left = length
        return True

    def send(self, data: bytes) -> int:
        # simple-websocket sends each frame with one send() and ignores a partial count, which a
        # full socket buffer gives (a multi-megabyte snapshot, or a phone on slow Wi-Fi).
        self.sock.sendall(data)
        return len(data)

    def close(self) -> None:
        self.sock.close()


def _announced(header: bytes) -> tuple[int, int | None]:
    """(payload length, header size) of a client frame's header, or (0, None) if it is not all here."""
    if len(header) < 2:
        return 0, None
    length, size = header[1] & 0x7F, 2
    if length == 126:
        size = 4
        length = struct.unpack_from("!H", header, 2)[0] if len(header) >= size else 0
    elif length == 127:
        size = 10
        length = struct.unpack_from("!Q", header, 2)[0] if len(header) >= size else 0
    size += 4 if header[1] & 0x80 else 0  # the masking key
    return (length, size) if len(header) >= size else (0, None)


class RefuseOversizedMessages:
    """WSGI middleware, outside Flask-SocketIO's: a WebSocket upgrade's socket is handed on
    behind a FrameSizeGuard, so the simple_websocket.Server that python-engineio builds from
    the environ (it takes `gunicorn.socket`) reads every frame through the guard; the client's
    offer of extensions is left out of the handshake it sees, so none is negotiated."""

    def __init__(self, wsgi_app, max_message_bytes: int):
        self.wsgi_app = wsgi_app
        self.max_message_bytes = max_message_bytes

    def __call__(self, environ, start_response):
        sock = environ.get("gunicorn.socket")
        if sock is not None and environ.get("HTTP_UPGRADE", "").lower() == "websocket":
            environ["gunicorn.socket"] = FrameSizeGuard(sock, self.max_message_bytes)
            environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return self.wsgi_app(environ, start_response)


def bound_messages(app, max_message_bytes: int) -> None:
    """Every WebSocket `app` accepts refuses messages over `max_message_bytes`."""
    app.wsgi_app = RefuseOversizedMessages(app.wsgi_app, max_message_bytes)
