"""Engine.IO and Socket.IO spoken by hand over a bare WebSocket.

For what python-socketio's own client cannot send: frames from another origin,
oversized frames, and payloads its JSON encoder refuses (integers longer than
Python will print, nesting deeper than it will recurse). Frames are written as
the Socket.IO protocol (v5 over Engine.IO v4) lays them out:
`40{auth}` connects, `42<ack id>[event, payload]` sends an event asking for an
ack, and the server answers `43<ack id>[ack]`; `2` is the server's ping, `3` the pong.
"""

from __future__ import annotations

import itertools
import json

import websocket

WAIT_SECONDS = 10


def websocket_url(server_url: str) -> str:
    return server_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"


def open_websocket(server_url: str, origin: str, sockopt: tuple = ()) -> websocket.WebSocket:
    return websocket.create_connection(websocket_url(server_url), origin=origin, timeout=WAIT_SECONDS, sockopt=sockopt)


def json_with(valid: dict, key: str, raw_value: str) -> str:
    """`valid` as JSON text, with `key` (one of its keys, or a new one) set to `raw_value`, JSON text as written."""
    others = json.dumps({name: value for name, value in valid.items() if name != key})
    return others[:-1] + (", " if len(others) > 2 else "") + f"{json.dumps(key)}: {raw_value}}}"


class RawSocketIO:
    """One authenticated Socket.IO connection whose event payloads are sent as raw JSON text."""

    def __init__(self, server_url: str, token: str, sockopt: tuple = ()):
        self.connection = open_websocket(server_url, server_url, sockopt)
        opened = self.connection.recv()
        assert opened.startswith("0{"), opened  # the Engine.IO open packet
        self.connection.send("40" + json.dumps({"token": token}))
        connected = self._next_packet()
        assert connected.startswith("40{"), connected
        self._ack_ids = itertools.count(1)

    def call_raw(self, event: str, payload_json: str):
        """Send `payload_json` as the event's one argument, exactly as written; return the ack."""
        ack_id = next(self._ack_ids)
        self.connection.send(f"42{ack_id}[{json.dumps(event)},{payload_json}]")
        ack_prefix = f"43{ack_id}["
        while True:
            packet = self._next_packet()
            if packet.startswith(ack_prefix):
                return json.loads(packet[len(ack_prefix) - 1 :])[0]

    def call(self, event: str, payload):
        return self.call_raw(event, json.dumps(payload))

    def _next_packet(self) -> str:
        """The next packet that is not a ping; broadcasts (`42[...]`) come through too."""
        while True:
            packet = self.connection.recv()
            if packet == "2":
                self.connection.send("3")
                continue
            return packet

    def close(self) -> None:
        self.connection.close()
