"""A small Roadmap sync client that follows docs/protocol.md.

    python examples/protocol_client.py --url http://127.0.0.1:5000 --code JOINCODE --name "Робот" [--group-id N]

It joins the training, connects over WebSocket, enters its group's map, adds a
step, sets its due date and status, edits its description three times (the
last edit from a stale base, to show the server's three-way merge), prints the
`change` broadcasts in revision order, resends one op id to show that the
server deduplicates it, and leaves.

Every run joins again and so becomes a new participant; a real client keeps
its token (valid 60 days) and its pending ops between runs. This one keeps one
op in flight at a time, which is what docs/protocol.md recommends.

Needs python-socketio[client] and websocket-client (both in the test extras).
"""

from __future__ import annotations

import argparse
import sys
import threading
import uuid

import requests
import socketio

STEP_TITLE = "Поставить контейнеры для раздельного сбора"
DUE_ON = "2027-05-15"
STATUS = "in_progress"
DESCRIPTION = "Договориться с управляющей компанией о площадке для контейнеров."
DESCRIPTION_ADDED = " Позвать жителей на встречу во дворе."
DESCRIPTION_PREFIX = "Срочно: "
TIMEOUT_SECONDS = 10.0


class ProtocolError(Exception):
    """The server refused something, or did not answer in time."""


def join_training(url: str, join_code: str, display_name: str, group_id: int | None) -> dict:
    """POST /api/join: a token for the socket and the HTTP API, and the group's map id."""
    body = {"join_code": join_code, "display_name": display_name}
    if group_id is not None:
        body["group_id"] = group_id
    response = requests.post(f"{url}/api/join", json=body, timeout=TIMEOUT_SECONDS)
    answer = response.json()
    if answer.get("ok"):
        return answer
    error = answer["error"]
    if error["code"] == "pick_group":
        choices = ", ".join(f"{group['id']} ({group['name']})" for group in answer["groups"])
        raise ProtocolError(f"this training has several groups, pass --group-id: {choices}")
    raise ProtocolError(f"join refused: {error['code']}: {error['message']}")


def new_op(roadmap_id: int, op_type: str, **keys) -> dict:
    """An op envelope with a fresh client-made id; resending it later must reuse that id."""
    return {"op_id": uuid.uuid4().hex, "roadmap_id": roadmap_id, "type": op_type, **keys}


class ChangeFeed:
    """Changes in revision order, whatever order the broadcasts arrive in.

    Broadcasts can come before the join ack, twice, or out of order; the feed
    keeps them by revision and hands them out gap-free from `revision` on.
    """

    def __init__(self):
        self._condition = threading.Condition()
        self._waiting: dict[int, dict] = {}
        self.revision: int | None = None  # the last revision applied, once joined
        self.applied: list[dict] = []

    def receive(self, change: dict) -> None:
        with self._condition:
            self._waiting[change["revision"]] = change
            self._advance()
            self._condition.notify_all()

    def start_at(self, revision: int, changes: list[dict] = ()) -> None:
        """Begin at `revision`: apply `changes` after it, then any broadcasts buffered meanwhile."""
        with self._condition:
            self.revision = revision
            for change in changes:
                self._waiting[change["revision"]] = change
            self._advance()

    def wait_for(self, revision: int, timeout: float) -> bool:
        """Block until every change up to `revision` is applied, or the timeout passes."""
        with self._condition:
            return self._condition.wait_for(lambda: self.revision is not None and self.revision >= revision, timeout)

    def _advance(self) -> None:
        if self.revision is None:
            return
        for stale in [revision for revision in self._waiting if revision <= self.revision]:
            del self._waiting[stale]
        while self.revision + 1 in self._waiting:
            self.revision += 1
            self.applied.append(self._waiting.pop(self.revision))


class LiveClient:
    """One Socket.IO connection; every event is a call that waits for its ack."""

    def __init__(self, url: str, token: str):
        self.url = url
        self.token = token
        self.feed = ChangeFeed()
        self.people: list[dict] = []
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("change", self.feed.receive)
        self.sio.on("presence", self._presence_changed)

    def connect(self) -> None:
        try:
            self.sio.connect(
                self.url,
                auth={"token": self.token},
                transports=["websocket"],
                wait_timeout=TIMEOUT_SECONDS,
            )
        except socketio.exceptions.ConnectionError as refused:
            raise ProtocolError(f"connection refused: {refused}") from None

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()

    def call(self, event: str, payload: dict) -> dict:
        try:
            ack = self.sio.call(event, payload, timeout=TIMEOUT_SECONDS)
        except socketio.exceptions.TimeoutError:
            raise ProtocolError(f"no ack for {event!r} within {TIMEOUT_SECONDS:.0f} s") from None
        if not ack.get("ok"):
            error = ack["error"]
            detail = f" ({error['detail']})" if error.get("detail") else ""
            raise ProtocolError(f"{event} refused: {error['code']}: {error['message']}{detail}")
        return ack

    def join(self, roadmap_id: int, since_revision: int | None = None) -> dict:
        ack = self.call("join", {"roadmap_id": roadmap_id, "since_revision": since_revision})
        if "changes" in ack:
            self.feed.start_at(since_revision, ack["changes"])
        else:
            self.feed.start_at(ack["revision"])  # a real client replaces its state with ack["snapshot"]
        return ack

    def send(self, op: dict) -> dict:
        return self.call("op", op)

    def wait_for_revision(self, roadmap_id: int, revision: int) -> None:
        """Wait for the broadcasts up to `revision`; on a gap that does not close, ask catch_up."""
        if self.feed.wait_for(revision, TIMEOUT_SECONDS):
            return
        caught_up = self.call("catch_up", {"roadmap_id": roadmap_id, "since_revision": self.feed.revision})
        if "snapshot" in caught_up:
            raise ProtocolError("fell too far behind; a real client would reload the snapshot")
        for change in caught_up["changes"]:
            self.feed.receive(change)
        if not self.feed.wait_for(revision, 0):
            raise ProtocolError(f"revision {revision} is missing even after catch_up")

    def _presence_changed(self, message: dict) -> None:
        self.people = message["people"]


def describe(op: dict) -> str:
    subject = op.get("step_id") or op.get("stakeholder_id") or "map"
    if "fields" in op:
        title = op["fields"].get("title") or op["fields"].get("name") or ""
        position = f" at position {op['position']!r}" if "position" in op else ""
        return f"{op['type']:<16} {subject[:8]}  «{title}»{position}"
    if "field" in op:
        return f"{op['type']:<16} {subject[:8]}  {op['field']} = {op['value']!r}"
    if "position" in op:
        return f"{op['type']:<16} {subject[:8]}  to position {op['position']!r}"
    return f"{op['type']:<16} {subject[:8]}"


def print_snapshot(ack: dict, people: list[dict]) -> None:
    snapshot = ack["snapshot"]
    print(f"Map {snapshot['id']} «{snapshot['title'] or '(untitled)'}» at revision {ack['revision']}")
    print(
        f"  steps: {len(snapshot['steps'])}, stakeholders: {len(snapshot['stakeholders'])}, "
        f"members: {', '.join(member['name'] for member in snapshot['members'])}"
    )
    print(f"  here now: {', '.join(person['name'] for person in people)}")


def run(url: str, join_code: str, name: str, group_id: int | None) -> None:
    joined = join_training(url, join_code, name, group_id)
    roadmap_id = joined["roadmap_id"]
    print(f"Joined group «{joined['group']['name']}» as person {joined['person_id']}")

    client = LiveClient(url, joined["token"])
    client.connect()
    try:
        ack = client.join(roadmap_id)
        print_snapshot(ack, ack["presence"])
        start_revision = ack["revision"]

        step_id = uuid.uuid4().hex
        add_step = new_op(roadmap_id, "step.add", step_id=step_id, fields={"title": STEP_TITLE})
        ops = [
            add_step,
            # A plain field's edit says what it saw, so a newer change by someone else is not overwritten.
            new_op(roadmap_id, "step.set", step_id=step_id, field="due_on", value=DUE_ON, base=None),
            new_op(roadmap_id, "step.set", step_id=step_id, field="status", value=STATUS, base="planned"),
            # A text edit says what it started from; the new step's description was "".
            new_op(roadmap_id, "step.set", step_id=step_id, field="description", value=DESCRIPTION, base=""),
            new_op(
                roadmap_id,
                "step.set",
                step_id=step_id,
                field="description",
                value=DESCRIPTION + DESCRIPTION_ADDED,
                base=DESCRIPTION,
            ),
            # As if a second device, still showing the older text, typed a prefix.
            new_op(
                roadmap_id,
                "step.set",
                step_id=step_id,
                field="description",
                value=DESCRIPTION_PREFIX + DESCRIPTION,
                base=DESCRIPTION,
            ),
        ]
        print(f"\nSending {len(ops)} ops, one at a time:")
        first_revision = None
        last_revision = start_revision
        for op in ops:
            op_ack = client.send(op)
            first_revision = first_revision or op_ack["revision"]
            last_revision = op_ack["revision"]
            print(f"  ack  {op['type']:<9} {op.get('field', ''):<12} -> revision {op_ack['revision']}")

        client.wait_for_revision(roadmap_id, last_revision)
        print(f"\nChanges from revision {start_revision + 1} to {last_revision}, in order:")
        for change in client.feed.applied:
            if change["revision"] <= last_revision:
                print(f"  r{change['revision']:<4} {change['author']['name']:<10} {describe(change['op'])}")
        merged = [
            change["op"]["value"]
            for change in client.feed.applied
            if change["op"].get("step_id") == step_id and change["op"].get("field") == "description"
        ][-1]
        both_kept = merged == DESCRIPTION_PREFIX + DESCRIPTION + DESCRIPTION_ADDED
        print(f"\nDescription after the three-way merge ({'both edits kept' if both_kept else 'merged'}):\n  {merged}")

        resent = client.send(add_step)
        print(f"\nResent op {add_step['op_id'][:8]}: revision {resent['revision']}, duplicate {resent['duplicate']}")
        if not resent["duplicate"] or resent["revision"] != first_revision:
            raise ProtocolError("the resent op was applied a second time")
        after = client.call("catch_up", {"roadmap_id": roadmap_id, "since_revision": client.feed.revision})
        print(f"  catch_up since {client.feed.revision}: {len(after.get('changes', []))} new changes")

        client.call("leave", {"roadmap_id": roadmap_id})
        print("\nLeft the map. Done.")
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Example Roadmap sync client.")
    parser.add_argument("--url", required=True, help="server address, e.g. http://127.0.0.1:5000")
    parser.add_argument("--code", required=True, help="the training's join code")
    parser.add_argument("--name", required=True, help="display name")
    parser.add_argument("--group-id", type=int, help="working group id, when the training has several")
    args = parser.parse_args(argv)
    try:
        run(args.url.rstrip("/"), args.code, args.name, args.group_id)
    except ProtocolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except requests.RequestException as error:
        print(f"error: cannot reach {args.url}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
