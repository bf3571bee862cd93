"""A live-sync test client: a real python-socketio client holding a local copy of one road map.

The local copy is the last snapshot plus every broadcast change applied strictly
in revision order, the way a browser keeps its map. Tests compare it with a
fresh snapshot fetched from the server (`fresh_snapshot()`).

python-socketio runs each incoming message on its own thread, so changes can be
handled out of order even on one connection: they wait in a buffer until the
gap before them is filled, by a later event or by a `catch_up` request.
Waiting is done on one Condition, never by sleeping.
"""

from __future__ import annotations

import copy
import threading
import uuid

import socketio

ACK_TIMEOUT = 10.0
WAIT_TIMEOUT = 10.0
DROPPED = "connection dropped before the ack"


def new_op_id() -> str:
    return uuid.uuid4().hex


class NeedsSnapshot(Exception):
    """A broadcast op that carries too little to replay locally (a restore without its item)."""


def apply_op(roadmap: dict, op: dict) -> None:
    """Apply one op, in the resolved form the server broadcasts, to a snapshot-shaped map."""
    kind = op["type"]
    steps = {step["id"]: step for step in roadmap["steps"]}
    stakeholders = {stakeholder["id"]: stakeholder for stakeholder in roadmap["stakeholders"]}
    if kind == "map.set":
        roadmap[op["field"]] = op["value"]
    elif kind == "map.lock":
        roadmap["locked"] = op["locked"]
    elif kind == "map.restore":
        roadmap.update(copy.deepcopy(op["map"]))
    elif kind == "step.add":
        roadmap["steps"].append(
            {"id": op["step_id"], "position": op["position"], **op["fields"], "stakeholder_ids": [], "depends_on": []}
        )
    elif kind == "step.set":
        steps[op["step_id"]][op["field"]] = op["value"]
    elif kind == "step.move":
        steps[op["step_id"]]["position"] = op["position"]
    elif kind == "step.delete":
        roadmap["steps"].remove(steps[op["step_id"]])
        # A snapshot lists only dependencies on live steps.
        for step in roadmap["steps"]:
            step["depends_on"] = [i for i in step["depends_on"] if i != op["step_id"]]
    elif kind == "step.restore" and "step" in op:
        roadmap["steps"].append(copy.deepcopy(op["step"]))
        for step_id in op.get("dependent_ids", []):
            steps[step_id]["depends_on"] = sorted(set(steps[step_id]["depends_on"]) | {op["step_id"]})
    elif kind == "step.depend":
        predecessors = steps[op["step_id"]]["depends_on"]
        steps[op["step_id"]]["depends_on"] = sorted(set(predecessors) | {op["predecessor_id"]})
    elif kind == "step.undepend":
        predecessors = steps[op["step_id"]]["depends_on"]
        steps[op["step_id"]]["depends_on"] = [i for i in predecessors if i != op["predecessor_id"]]
    elif kind == "step.link":
        linked = steps[op["step_id"]]["stakeholder_ids"]
        steps[op["step_id"]]["stakeholder_ids"] = sorted(set(linked) | {op["stakeholder_id"]})
    elif kind == "step.unlink":
        linked = steps[op["step_id"]]["stakeholder_ids"]
        steps[op["step_id"]]["stakeholder_ids"] = [i for i in linked if i != op["stakeholder_id"]]
    elif kind == "stakeholder.add":
        stakeholder = {"id": op["stakeholder_id"], **op["fields"]}
        if "created_at" in op:
            stakeholder["created_at"] = op["created_at"]
        roadmap["stakeholders"].append(stakeholder)
    elif kind == "stakeholder.set":
        stakeholders[op["stakeholder_id"]][op["field"]] = op["value"]
    elif kind == "stakeholder.delete":
        roadmap["stakeholders"].remove(stakeholders[op["stakeholder_id"]])
        # A snapshot lists only links to live stakeholders.
        for step in roadmap["steps"]:
            step["stakeholder_ids"] = [i for i in step["stakeholder_ids"] if i != op["stakeholder_id"]]
    elif kind == "stakeholder.restore" and "stakeholder" in op:
        roadmap["stakeholders"].append(copy.deepcopy(op["stakeholder"]))
        for step_id in op.get("step_ids", []):
            if step_id in steps:
                linked = steps[step_id]["stakeholder_ids"]
                steps[step_id]["stakeholder_ids"] = sorted(set(linked) | {op["stakeholder_id"]})
    elif kind.startswith("comment."):
        counts = roadmap.setdefault("comment_counts", {})
        counts[op["step_id"]] = counts.get(op["step_id"], 0) + op["count_change"]
        if not counts[op["step_id"]]:
            del counts[op["step_id"]]
    else:
        raise NeedsSnapshot(kind)
    roadmap["steps"].sort(key=lambda step: (step["position"], step["id"]))
    roadmap["stakeholders"].sort(key=lambda stakeholder: (stakeholder.get("created_at", ""), stakeholder["id"]))


class SyncClient:
    """One participant's connection: joins a map and keeps it in sync, as the editor does."""

    def __init__(self, url: str, token: str | None, name: str = "client"):
        self.url = url
        self.token = token
        self.name = name
        self.sio = socketio.Client(
            reconnection=True,
            reconnection_delay=0.1,
            reconnection_delay_max=0.5,
            randomization_factor=0.05,
        )
        self._condition = threading.Condition()
        self._send_lock = threading.Lock()
        self.roadmap_id: int | None = None
        self.roadmap: dict | None = None  # the local copy; read it through map_copy()
        self.revision: int | None = None
        self.applied: list[dict] = []  # changes in the order they were applied to the local copy
        self.received: list[dict] = []  # every `change` event as it arrived, duplicates included
        self.presence_events: list[dict] = []
        self.join_acks: list[dict] = []
        self.catch_up_requests: list[int | None] = []
        self.connected = False
        self.disconnects = 0
        self._pending: dict[int, dict] = {}
        self._catching_up = False
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("change", self._on_change)
        self.sio.on("presence", self._on_presence)

    # --- connection ---------------------------------------------------------

    def connect(self) -> SyncClient:
        auth = {"token": self.token} if self.token is not None else None
        self.sio.connect(self.url, auth=auth, transports=["websocket"], wait_timeout=WAIT_TIMEOUT)
        return self

    def disconnect(self) -> None:
        """Leave as a closed laptop does; the local copy stays as it was."""
        self.sio.disconnect()
        self.wait_until(lambda: not self.connected, what="disconnected")

    def reconnect(self) -> dict:
        """Connect again; the connect handler rejoins with since_revision. Returns that join's ack."""
        joins_before = len(self.join_acks)
        self.connect()
        self.wait_until(lambda: len(self.join_acks) > joins_before, what="rejoined")
        return self.join_acks[-1]

    def close(self) -> None:
        self.sio.shutdown()

    def _on_connect(self) -> None:
        with self._condition:
            self.connected = True
            roadmap_id, since = self.roadmap_id, self.revision
            self._condition.notify_all()
        if roadmap_id is not None:
            # A reconnect: ask only for what was missed. Not a blocking call: this
            # runs on the client's message thread.
            self._emit("join", {"roadmap_id": roadmap_id, "since_revision": since}, callback=self._on_joined)

    def _on_disconnect(self, reason=None) -> None:
        with self._condition:
            self.connected = False
            self.disconnects += 1
            self._catching_up = False  # an unanswered catch_up is lost with the connection
            self._condition.notify_all()

    # --- calls --------------------------------------------------------------

    def _emit(self, event: str, *args, callback=None) -> None:
        data = args[0] if len(args) == 1 else (tuple(args) if args else None)
        with self._send_lock:
            self.sio.emit(event, data, callback=callback)

    def call(self, event: str, *args, timeout: float = ACK_TIMEOUT, or_dropped: bool = False):
        """Emit an event with any positional arguments and return the server's ack.

        With or_dropped, returns DROPPED instead of waiting out the timeout when
        the server closes the connection before it answers.
        """
        answer: list[tuple] = []

        def on_ack(*ack_args):
            with self._condition:
                answer.append(ack_args)
                self._condition.notify_all()

        with self._condition:
            drops_before = self.disconnects
        self._emit(event, *args, callback=on_ack)
        self.wait_until(
            lambda: answer or (or_dropped and self.disconnects > drops_before),
            timeout,
            f"ack for {event!r}",
        )
        if not answer:
            return DROPPED
        ack_args = answer[0]
        return ack_args[0] if len(ack_args) == 1 else (None if not ack_args else ack_args)

    def join(self, roadmap_id: int) -> dict:
        """Enter a map from scratch (a snapshot); reconnects rejoin from the local revision by themselves."""
        ack = self.call("join", {"roadmap_id": roadmap_id, "since_revision": None})
        if isinstance(ack, dict) and ack.get("ok"):
            with self._condition:
                self.roadmap_id = roadmap_id
            self._on_joined(ack)
        return ack

    def send_op(self, op_type: str, *, op_id: str | None = None, roadmap_id: int | None = None, **fields) -> dict:
        """Send one op to the joined map (or roadmap_id); returns the ack."""
        payload = {
            "op_id": op_id or new_op_id(),
            "roadmap_id": self.roadmap_id if roadmap_id is None else roadmap_id,
            "type": op_type,
            **fields,
        }
        return self.call("op", payload)

    def fresh_snapshot(self, roadmap_id: int | None = None) -> dict:
        """The map as the server holds it now, without touching the local copy."""
        ack = self.call("catch_up", {"roadmap_id": roadmap_id or self.roadmap_id, "since_revision": None})
        assert ack["ok"], ack
        return ack["snapshot"]

    def focus(self, focus: dict | None) -> dict:
        return self.call("focus", {"focus": focus})

    # --- keeping the local copy ----------------------------------------------

    def _on_joined(self, ack) -> None:
        with self._condition:
            if isinstance(ack, dict) and ack.get("ok"):
                self._take_caught_up(ack)
            self.join_acks.append(ack)
            self._condition.notify_all()

    def _on_caught_up(self, ack) -> None:
        with self._condition:
            self._catching_up = False
            if isinstance(ack, dict) and ack.get("ok"):
                self._take_caught_up(ack)
            self._condition.notify_all()

    def _on_change(self, change) -> None:
        with self._condition:
            self.received.append(change)
            self._accept(change)
            self._condition.notify_all()

    def _on_presence(self, event) -> None:
        with self._condition:
            self.presence_events.append(event)
            self._condition.notify_all()

    def _take_caught_up(self, caught_up: dict) -> None:
        if "snapshot" in caught_up:
            self._take_snapshot(caught_up["snapshot"])
        for change in caught_up.get("changes", []):
            self._accept(change)

    def _take_snapshot(self, snapshot: dict) -> None:
        if self.revision is not None and snapshot["revision"] < self.revision:
            return  # older than what is already applied
        self.roadmap = copy.deepcopy(snapshot)
        self.revision = snapshot["revision"]
        self._pending = {rev: change for rev, change in self._pending.items() if rev > self.revision}
        self._drain()

    def _accept(self, change: dict) -> None:
        if self.revision is not None and change["revision"] <= self.revision:
            return
        # Before the first snapshot arrives, changes wait: the server joins the
        # room before it reads the snapshot, so some may be newer than it.
        self._pending[change["revision"]] = change
        if self.revision is not None:
            self._drain()

    def _drain(self) -> None:
        while self.revision + 1 in self._pending:
            change = self._pending[self.revision + 1]
            try:
                apply_op(self.roadmap, change["op"])
            except NeedsSnapshot:
                self._request_catch_up(since_revision=None)
                return
            del self._pending[change["revision"]]
            self.revision = change["revision"]
            self.roadmap["revision"] = self.revision
            self.applied.append(change)
        if self._pending:
            self._request_catch_up(since_revision=self.revision)

    def _request_catch_up(self, since_revision: int | None) -> None:
        # Events run on separate threads, so a gap is often filled a moment later;
        # one request in flight at a time keeps that from becoming a storm.
        if self._catching_up or not self.connected:
            return
        self._catching_up = True
        self.catch_up_requests.append(since_revision)
        self._emit(
            "catch_up",
            {"roadmap_id": self.roadmap_id, "since_revision": since_revision},
            callback=self._on_caught_up,
        )

    # --- waiting --------------------------------------------------------------

    def wait_until(self, predicate, timeout: float = WAIT_TIMEOUT, what: str = "condition") -> None:
        with self._condition:
            if not self._condition.wait_for(predicate, timeout):
                raise TimeoutError(
                    f"{self.name}: no {what} within {timeout} s "
                    f"(revision {self.revision}, pending {sorted(self._pending)}, connected {self.connected})"
                )

    def wait_for_revision(self, revision: int, timeout: float = WAIT_TIMEOUT) -> None:
        self.wait_until(
            lambda: self.revision is not None and self.revision >= revision,
            timeout,
            f"revision {revision}",
        )

    def map_copy(self) -> dict:
        with self._condition:
            return copy.deepcopy(self.roadmap)

    def applied_revisions(self) -> list[int]:
        with self._condition:
            return [change["revision"] for change in self.applied]

    def people_present(self) -> list[dict]:
        """The people of the most recent presence event (or the join ack's list)."""
        with self._condition:
            if self.presence_events:
                return self.presence_events[-1]["people"]
            return self.join_acks[-1]["presence"] if self.join_acks else []


class SyncClients:
    """Opens clients against one live server and closes them all at the end of a test."""

    def __init__(self, url: str, token_for):
        self.url = url
        self.token_for = token_for
        self.opened: list[SyncClient] = []

    def connect(self, person, roadmap_id: int | None = None) -> SyncClient:
        client = SyncClient(self.url, self.token_for(person), name=person.display_name)
        self.opened.append(client)
        client.connect()
        if roadmap_id is not None:
            ack = client.join(roadmap_id)
            assert ack["ok"], ack
        return client

    def close_all(self) -> None:
        for client in self.opened:
            client.close()
