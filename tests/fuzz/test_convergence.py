"""Convergence fuzz: many real clients edit two maps at once while their connections drop.

Twelve SyncClients connect to one live server: ten share one map and two share a
second. Hypothesis generates the op script, a list of bursts (which client, which
op type, which target, which field, how many ops in a row). One thread per client
sends its bursts, realised against the ids that client knows when it sends (its
local copy, plus every id the run has created), so edits of different people
land on the same steps, fields and texts at once. A text edit carries as `base`
what that person has typed into the field so far (protocol section 14, step 5),
which goes stale while others edit the same text, so the server has to merge.
All twelve op types are sent, and many ops are rejected on purpose: edits of
deleted steps, stale restores, bad values, ids of the other map, a map the sender
may not edit. Meanwhile a chaos thread drops and restores clients' connections
(`disconnect()` / `reconnect()`), paced by the others' progress, not by a clock.
An op whose ack is lost with the connection stays pending and is resent with the
same op id after the rejoin (protocol section 14, step 6).

When every client has caught up, each map must satisfy, exactly: every client's
local copy == snapshots.snapshot() minus members == replay of the change log from
revision 0; revisions are 1..N without gaps; every acknowledged op id is logged
once, at the revision its ack named; no rejected or unacknowledged op is logged;
every stored value is in the normal form the op schema produces. A one-line
report (ops sent, acked, rejected, merged texts, resends, disconnects,
divergences) is printed (`pytest -s`) and written to
test-artifacts/convergence.txt.

Sizes. CI runs one example of 2,000 ops with 24 connection drops, on PostgreSQL
when DATABASE_URL names a PostgreSQL server (as .ci/run does), else on SQLite.
For a longer run, on demand:

    ROADMAP_FUZZ_EXAMPLES=10 ROADMAP_FUZZ_OPS=10000 ROADMAP_FUZZ_DROPS=120 \\
        ROADMAP_FUZZ_DATABASES=sqlite,postgresql \\
        .venv/bin/pytest -s -p no:cacheprovider tests/fuzz/test_convergence.py

(postgresql needs DATABASE_URL=postgresql://…, as for the other tests.)

Why bursts are drawn as offsets: Hypothesis always runs its simplest example
first (every draw zero), and with max_examples=1 that is the only one. Each burst
is therefore drawn as offsets from a fixed pseudo-random base schedule, so the
simplest example is already a varied script over every client, op type and
target, and further examples vary it. The script is capped at BURSTS_MAX bursts
(Hypothesis's input budget); longer runs cycle through it with fresh details.
Shrinking is off: a concurrent run does not replay exactly, so a failure is
explained by the assertion messages and the report instead.
"""

from __future__ import annotations

import math
import os
import random
import string
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import socketio
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from roadmap.domain import vocabulary
from roadmap.domain.errors import EditRejected
from roadmap.domain.operations import (
    MAP_FIELDS,
    OP_TYPES,
    STAKEHOLDER_FIELDS,
    STEP_FIELDS,
    TextField,
    parse_value,
)
from roadmap.domain.replay import empty_map, replay
from roadmap.extensions import db
from roadmap.models import Change, Roadmap
from roadmap.services import snapshots
from tests.livesync import DROPPED, SyncClient, new_op_id

pytestmark = pytest.mark.live

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FUZZ_EXAMPLES = int(os.environ.get("ROADMAP_FUZZ_EXAMPLES", "1"))
FUZZ_OPS = int(os.environ.get("ROADMAP_FUZZ_OPS", "2000"))
FUZZ_DROPS = int(os.environ.get("ROADMAP_FUZZ_DROPS", str(max(4, FUZZ_OPS * 12 // 1000))))
# The production database when the run has one (CI does), SQLite otherwise.
FUZZ_DATABASES = os.environ.get(
    "ROADMAP_FUZZ_DATABASES",
    "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite",
).split(",")
MAIN_MAP_CLIENTS = 10
SECOND_MAP_CLIENTS = 2
CLIENTS = MAIN_MAP_CLIENTS + SECOND_MAP_CLIENTS
BURST_MAX = 8
BURSTS_MAX = 460
BASE_SCHEDULE_SEED = 20270423
SEND_ATTEMPTS = 20
CATCH_UP_TIMEOUT = 60.0
# How many ops the others send while a dropped client is away.
OPS_WHILE_OFFLINE = 25


# --- a client that keeps an op pending until it is answered -------------------


@dataclass(frozen=True)
class Delivery:
    """One op and the answer the server finally gave to it."""

    payload: dict
    ack: dict
    attempts: int

    @property
    def op_id(self) -> str:
        return self.payload["op_id"]

    @property
    def op_type(self) -> str:
        return self.payload["type"]

    @property
    def roadmap_id(self) -> int:
        return self.payload["roadmap_id"]

    @property
    def acked(self) -> bool:
        return self.ack.get("ok") is True

    @property
    def error_code(self) -> str | None:
        return None if self.acked else self.ack["error"]["code"]


class ResendingClient(SyncClient):
    """A SyncClient that keeps each op pending until the server answers it (protocol section 14).

    When the connection drops before the ack, it waits for the automatic (or the
    test's) reconnect and for the rejoin that follows it, then sends the same
    payload again, with the same op id. A `server_error` is retried the same way.
    """

    def __init__(self, url: str, token: str | None, name: str = "client"):
        super().__init__(url, token, name)
        self.connections = 0
        self.joined_connection = 0
        self.server_errors = 0

    def _on_connect(self) -> None:
        with self._condition:
            self.connections += 1
        super()._on_connect()

    def _on_joined(self, ack) -> None:
        with self._condition:
            if isinstance(ack, dict) and ack.get("ok"):
                self.joined_connection = self.connections
        super()._on_joined(ack)

    def _rejoined(self) -> bool:
        return self.connected and self.joined_connection == self.connections

    def submit(self, payload: dict, deadline: float) -> Delivery:
        """Send one op until the server answers it; bounded by SEND_ATTEMPTS and the deadline."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.wait_until(self._rejoined, remaining, "a rejoined connection")
            try:
                ack = self.call("op", payload, timeout=min(remaining, 15.0), or_dropped=True)
            except socketio.exceptions.BadNamespaceError:
                continue  # dropped between the wait and the emit: still pending
            except TimeoutError:
                continue  # no answer yet: keep it, resend with the same op id
            if ack is DROPPED:
                continue
            if not ack["ok"] and ack["error"]["code"] == "server_error":
                self.server_errors += 1
                continue
            return Delivery(payload, ack, attempt)
        raise TimeoutError(f"{self.name}: op {payload['op_id']} got no answer in {SEND_ATTEMPTS} attempts")


# --- what the server holds --------------------------------------------------


def without_members(roadmap: dict) -> dict:
    return {key: value for key, value in roadmap.items() if key != "members"}


def logged_changes(roadmap_id: int) -> list[dict]:
    """The change log of one map in revision order, read in a fresh transaction."""
    db.session.commit()  # end the read snapshot this session may hold (SQLite WAL)
    rows = db.session.scalars(select(Change).where(Change.roadmap_id == roadmap_id).order_by(Change.revision)).all()
    return [{"revision": row.revision, "op_id": row.op_id, "op": row.op} for row in rows]


def database_map(roadmap_id: int) -> dict:
    db.session.commit()
    return without_members(snapshots.snapshot(db.session.get(Roadmap, roadmap_id)))


def differences(expected: dict, actual: dict | None, limit: int = 3) -> list[str]:
    """A short description of how actual differs from expected, for assertion messages."""
    if actual is None:
        return ["no map at all"]
    found = []
    for key in sorted(set(expected) | set(actual)):
        if expected.get(key) == actual.get(key):
            continue
        if key in ("steps", "stakeholders"):
            expected_items = {item["id"]: item for item in expected.get(key, [])}
            actual_items = {item["id"]: item for item in actual.get(key, [])}
            for item_id in sorted(set(expected_items) | set(actual_items)):
                if expected_items.get(item_id) != actual_items.get(item_id):
                    found.append(f"{key}[{item_id}]: {expected_items.get(item_id)} != {actual_items.get(item_id)}")
            if [i["id"] for i in expected.get(key, [])] != [i["id"] for i in actual.get(key, [])]:
                found.append(f"{key} order differs")
        else:
            found.append(f"{key}: {expected.get(key)!r:.120} != {actual.get(key)!r:.120}")
    return found[:limit]


def log_problems(changes: list[dict], deliveries: list[Delivery]) -> list[str]:
    """Gaps in revisions, acknowledged ops missing or moved, unacknowledged ops present."""
    problems = []
    revisions = [change["revision"] for change in changes]
    if revisions != list(range(1, len(changes) + 1)):
        problems.append(f"revisions are not 1..{len(changes)}: {revisions[:10]}…")
    logged = Counter(change["op_id"] for change in changes)
    revision_of = {change["op_id"]: change["revision"] for change in changes}
    problems += [f"op {op_id} logged {count} times" for op_id, count in logged.items() if count > 1]
    acked = {delivery.op_id: delivery for delivery in deliveries if delivery.acked}
    for op_id, delivery in acked.items():
        if op_id not in revision_of:
            problems.append(f"acknowledged op {op_id} ({delivery.op_type}) is not in the log")
        elif revision_of[op_id] != delivery.ack["revision"]:
            problems.append(f"op {op_id} acked at {delivery.ack['revision']}, logged at {revision_of[op_id]}")
    rejected = {delivery.op_id for delivery in deliveries if not delivery.acked}
    problems += [f"rejected op {op_id} is in the log" for op_id in rejected & set(logged)]
    problems += [f"op {op_id} is logged but nobody was told" for op_id in set(logged) - set(acked)]
    return problems


def unnormal_values(roadmap: dict) -> list[str]:
    """Stored values the op schema would not produce: they break clients that trust it."""
    found = []

    def check(where: str, schema: dict, values: dict) -> None:
        for name, spec in schema.items():
            try:
                normal = parse_value(spec, values[name])
            except EditRejected as rejected:
                found.append(f"{where}.{name} = {values[name]!r:.80} is {rejected.code}")
                continue
            if normal != values[name]:
                found.append(f"{where}.{name} = {values[name]!r:.80} is not in normal form")

    check("map", MAP_FIELDS, roadmap)
    for step in roadmap["steps"]:
        check(f"step {step['id']}", STEP_FIELDS, step)
    for stakeholder in roadmap["stakeholders"]:
        check(f"stakeholder {stakeholder['id']}", STAKEHOLDER_FIELDS, stakeholder)
    return found


def write_report(name: str, lines: list[str]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- the op script ---------------------------------------------------------

# Op types by weight: edits of existing things dominate, as in a real session.
KIND_WEIGHTS = {
    "map.set": 3,
    "step.add": 2,
    "step.set": 6,
    "step.move": 2,
    "step.delete": 2,
    "step.restore": 2,
    "step.link": 2,
    "step.unlink": 1,
    "step.depend": 2,
    "step.undepend": 1,
    "comment.add": 2,
    "comment.edit": 1,
    "comment.delete": 1,
    "comment.hide": 1,
    "stakeholder.add": 1,
    "stakeholder.set": 3,
    "stakeholder.delete": 1,
    "stakeholder.restore": 1,
}
# Participants cannot lock a map (see test_facilitation*.py); restoring a revision
# has its own tests (test_history.py).
assert set(KIND_WEIGHTS) == set(OP_TYPES) - {"map.lock", "map.restore"}
KIND_WHEEL = [kind for kind, weight in KIND_WEIGHTS.items() for _ in range(weight)]


@dataclass(frozen=True)
class Slot:
    """One op of the script: who sends it, what kind, and the choices that shape it."""

    client: int
    kind: str
    target: int  # which item, among the ids the sender knows when it sends
    variant: int  # which field: a burst edits one field, like a person typing into it
    seed: int  # the details of this one op: value, edit, occasional mistakes


class OpScript:
    """The ops of one run, in script order; each client sends its own slots in that order."""

    def __init__(self, slots: list[Slot]):
        self.slots = slots

    @classmethod
    def from_offsets(cls, offsets: list[tuple[int, ...]], ops: int, clients: int) -> OpScript:
        base = random.Random(BASE_SCHEDULE_SEED)
        bursts = []
        for drawn in offsets:
            client, kind, target, variant, length = ((base.randrange(256) + offset) % 256 for offset in drawn)
            bursts.append(
                (client % clients, KIND_WHEEL[kind % len(KIND_WHEEL)], target, variant, 1 + length % BURST_MAX)
            )
        slots: list[Slot] = []
        for cycle in range(math.ceil(ops / max(1, sum(burst[4] for burst in bursts)))):
            for index, (client, kind, target, variant, length) in enumerate(bursts):
                for repeat in range(length):
                    seed = ((cycle * BURSTS_MAX + index) * BURST_MAX + repeat) * 256 + variant
                    slots.append(Slot(client, kind, target, variant, seed))
        return cls(slots[:ops])

    def for_client(self, client: int) -> list[Slot]:
        return [slot for slot in self.slots if slot.client == client]

    def __repr__(self) -> str:
        kinds = Counter(slot.kind for slot in self.slots)
        return f"OpScript({len(self.slots)} ops, {dict(sorted(kinds.items()))})"


@st.composite
def op_scripts(draw, ops: int, clients: int) -> OpScript:
    """Bursts of (client, op type, target, variant, length), each drawn as offsets from the base."""
    bursts = min(BURSTS_MAX, max(1, math.ceil(ops / 4.5)))
    offsets = st.tuples(*[st.integers(0, 255)] * 5)
    return OpScript.from_offsets(draw(st.lists(offsets, min_size=bursts, max_size=bursts)), ops, clients)


# --- realising a slot against what a client knows ---------------------------

THEMES, STEP_STATUSES = tuple(vocabulary.THEMES), tuple(vocabulary.STEP_STATUSES)
SECTORS, ENGAGEMENT_LEVELS = tuple(vocabulary.SECTORS), tuple(vocabulary.ENGAGEMENT_LEVELS)

ID_CHARACTERS = string.ascii_letters + string.digits + "_-"
WORDS = ["Сход", "жителей", "двор", "🌳", "e\u0301", "контейнеры", "«ёлки»", "Ünï", "#5", "\t", "\n", " "]
HOT_ITEMS = 4  # most targets are among the first few items, so clients collide on them


def random_id(rng: random.Random) -> str:
    """Client-made ids in the whole allowed alphabet, not only hex."""
    if rng.random() < 0.5:
        return uuid.UUID(int=rng.getrandbits(128)).hex
    return "".join(rng.choice(ID_CHARACTERS) for _ in range(rng.randint(8, 40)))


@dataclass
class MapUnderTest:
    """One map of the run and everything the run has learnt about it."""

    roadmap_id: int
    theme: str  # at revision 0, for the replay
    member_ids: list[int]
    clients: list[ResendingClient] = field(default_factory=list)
    seeded: list[Delivery] = field(default_factory=list)  # the ops that set the map up
    step_ids: list[str] = field(default_factory=list)  # every step the run created here
    stakeholder_ids: list[str] = field(default_factory=list)
    comment_ids: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def remember(self, delivery: Delivery) -> None:
        if delivery.acked and delivery.op_type == "step.add":
            with self.lock:
                self.step_ids.append(delivery.payload["step_id"])
        elif delivery.acked and delivery.op_type == "stakeholder.add":
            with self.lock:
                self.stakeholder_ids.append(delivery.payload["stakeholder_id"])
        elif delivery.acked and delivery.op_type == "comment.add":
            with self.lock:
                self.comment_ids.append(delivery.payload["comment_id"])

    def known(self) -> tuple[list[str], list[str]]:
        with self.lock:
            return list(self.step_ids), list(self.stakeholder_ids)

    def known_comments(self) -> list[str]:
        with self.lock:
            return list(self.comment_ids)


class Realiser:
    """Turns a slot into an op payload from one client's point of view."""

    def __init__(self, client: ResendingClient, home: MapUnderTest, away: MapUnderTest, moderator_id: int):
        self.client = client
        self.home = home
        self.away = away
        self.moderator_id = moderator_id
        self.sent = 0
        # What this person has typed into each text field. While they type, broadcasts do
        # not overwrite it and their edits carry it as base (protocol section 14, step 5),
        # so their base goes stale as others edit the same text: the server must merge.
        self.typed: dict[tuple[str, str], str] = {}

    def payload(self, slot: Slot) -> dict:
        self.sent += 1
        # Salted with the map, so ids differ between the examples of one run (ids are global).
        rng = random.Random(f"{self.home.roadmap_id}:{slot.seed}")
        local = self.client.map_copy()
        steps_made, stakeholders_made = self.home.known()
        live_steps = [step["id"] for step in local["steps"]]
        live_stakeholders = [item["id"] for item in local["stakeholders"]]
        context = {
            "rng": rng,
            "target": slot.target,
            "variant": slot.variant,
            "local": local,
            # Gone: deleted, or added by someone else and not yet seen by this client.
            "live_steps": live_steps,
            "gone_steps": sorted(set(steps_made) - set(live_steps)),
            "live_stakeholders": live_stakeholders,
            "gone_stakeholders": sorted(set(stakeholders_made) - set(live_stakeholders)),
        }
        fields = getattr(self, "_" + slot.kind.replace(".", "_"))(**context)
        roadmap_id = self.home.roadmap_id
        if rng.random() < 0.01:
            roadmap_id = self.away.roadmap_id  # not a member there: forbidden
        return {"op_id": new_op_id(), "roadmap_id": roadmap_id, "type": slot.kind, **fields}

    # choosing targets

    def _pick(self, rng, target: int, candidates: list[str], stale: list[str]) -> str:
        """Mostly a hot live item; sometimes any live one, a gone one, or one of the other map."""
        roll = rng.random()
        if roll < 0.04 or not candidates:
            pool = stale or [random_id(rng)]
            return pool[target % len(pool)]
        if roll < 0.06:
            foreign = [item_id for ids in self.away.known() for item_id in ids]
            return foreign[target % len(foreign)] if foreign else random_id(rng)
        if roll < 0.75:
            return candidates[target % min(len(candidates), HOT_ITEMS)]
        return candidates[target % len(candidates)]

    def _text(self, rng, key: tuple[str, str], confirmed: str, spec: TextField) -> dict:
        """A person's edit of a text field, with the base it started from: what they typed so far,
        or, when they start typing there, the text of their local copy."""
        typed = self.typed.get(key)
        current = typed if typed is not None and rng.random() < 0.85 else confirmed
        edit = self._edited(rng, current, spec)
        if len(edit["value"]) <= spec.max_length and "\x07" not in edit["value"]:
            self.typed[key] = edit["value"]
        return edit

    def _edited(self, rng, current: str, spec: TextField) -> dict:
        word = f"{self.client.name}.{self.sent}{rng.choice(WORDS)}"
        at = rng.randint(0, len(current))
        end = min(len(current), at + rng.randint(1, 12))
        roll = rng.random()
        if len(current) > spec.max_length // 2 and roll < 0.6:
            return {"value": current[: len(current) // 3] + current[-len(current) // 3 :], "base": current}
        if roll < 0.35:
            value = current[:at] + word + current[at:]
        elif roll < 0.47:
            value = current + " " + word
        elif roll < 0.57:
            value = word + " " + current
        elif roll < 0.70:
            value = current[:at] + current[end:]
        elif roll < 0.82:
            value = current[:at] + word + current[end:]
        elif roll < 0.92:
            return {"value": word}  # no base: the sent value wins as it is
        elif roll < 0.95:
            value = ""
        elif roll < 0.98:
            return {"value": "ж" * (spec.max_length + 1), "base": current}  # too_long
        else:
            return {"value": current + "\x07", "base": current}  # a control character: invalid_value
        return {"value": value[: spec.max_length], "base": current}

    def _day(self, rng):
        roll = rng.random()
        if roll < 0.1:
            return None
        if roll < 0.13:
            return rng.choice(["2027-02-30", "1899-12-31", "27-05-01", 20270501])  # invalid_value
        return f"{rng.randint(2026, 2028)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"

    def _owner(self, rng, live_stakeholders, gone_stakeholders):
        roll = rng.random()
        if roll < 0.35:
            return {"member": rng.choice(self.home.member_ids)}
        if roll < 0.38:
            return {"member": rng.choice([self.moderator_id, *self.away.member_ids])}  # member_not_found
        if roll < 0.6:
            pool = live_stakeholders if rng.random() < 0.9 else gone_stakeholders
            return {"stakeholder": rng.choice(pool)} if pool else None
        if roll < 0.85:
            return {"text": rng.choice(["  Управдом ", "ТСЖ «Дом»", "школа №5\n", " "])}
        return None

    def _step_fields(self, rng, live_stakeholders, gone_stakeholders) -> dict:
        candidates = {
            "title": lambda: f"Шаг {self.client.name}.{self.sent}",
            "description": lambda: rng.choice(["", "Обойти подъезды.", "Раз\nдва"]),
            "status": lambda: rng.choice(STEP_STATUSES),
            "due_on": lambda: self._day(rng),
            "starts_on": lambda: self._day(rng),
            "owner": lambda: self._owner(rng, live_stakeholders, gone_stakeholders),
            "resources": lambda: rng.choice(["", "Мешки, перчатки"]),
        }
        chosen = rng.sample(sorted(candidates), rng.randint(0, 4))
        return {name: candidates[name]() for name in chosen}

    # one method per op type

    def _map_set(self, rng, variant, local, **_):
        name = sorted(MAP_FIELDS)[variant % len(MAP_FIELDS)]
        spec = MAP_FIELDS[name]
        if not isinstance(spec, TextField):
            return {"field": name, "value": rng.choice([*THEMES, "space"])}
        return {"field": name, **self._text(rng, ("map", name), local[name], spec)}

    def _step_add(self, rng, target, live_steps, gone_steps, live_stakeholders, gone_stakeholders, **_):
        steps_made = self.home.known()[0] + self.away.known()[0]
        step_id = steps_made[target % len(steps_made)] if steps_made and rng.random() < 0.03 else random_id(rng)
        fields = {"step_id": step_id, "fields": self._step_fields(rng, live_stakeholders, gone_stakeholders)}
        where = rng.random()
        if where < 0.3:
            return fields  # at the end
        if where < 0.45:
            return {**fields, "after_id": None}
        return {**fields, "after_id": self._pick(rng, target, live_steps, gone_steps)}

    def _step_set(self, rng, target, variant, local, live_steps, gone_steps, live_stakeholders, gone_stakeholders, **_):
        step_id = self._pick(rng, target, live_steps, gone_steps)
        names = [
            "title",
            "description",
            "description",
            "resources",
            "success_measure",
            "status",
            "owner",
            "starts_on",
            "due_on",
        ]
        name = names[variant % len(names)]
        spec = STEP_FIELDS[name]
        if name == "status":
            value = rng.choice([*STEP_STATUSES, *STEP_STATUSES, "cancelled"])
        elif name == "owner":
            value = self._owner(rng, live_stakeholders, gone_stakeholders)
        elif name in ("starts_on", "due_on"):
            value = self._day(rng)
        else:
            step = next((step for step in local["steps"] if step["id"] == step_id), None)
            text = self._text(rng, (step_id, name), step[name] if step else "", spec)
            return {"step_id": step_id, "field": name, **text}
        return {"step_id": step_id, "field": name, "value": value}

    def _step_move(self, rng, target, live_steps, gone_steps, **_):
        step_id = self._pick(rng, target, live_steps, gone_steps)
        if rng.random() < 0.25:
            return {"step_id": step_id, "after_id": None}
        # may be the step itself: invalid_op
        return {"step_id": step_id, "after_id": self._pick(rng, target + rng.randint(0, 5), live_steps, gone_steps)}

    def _step_delete(self, rng, target, live_steps, gone_steps, **_):
        return {"step_id": self._pick(rng, target, live_steps, gone_steps)}

    def _step_restore(self, rng, target, live_steps, gone_steps, **_):
        if gone_steps and rng.random() < 0.85:
            return {"step_id": gone_steps[target % len(gone_steps)]}
        return {"step_id": self._pick(rng, target, live_steps, gone_steps)}  # mostly not_deleted

    def _step_link(self, rng, target, live_steps, gone_steps, live_stakeholders, gone_stakeholders, **_):
        return {
            "step_id": self._pick(rng, target, live_steps, gone_steps),
            "stakeholder_id": self._pick(rng, rng.randrange(256), live_stakeholders, gone_stakeholders),
        }

    _step_unlink = _step_link

    def _step_depend(self, rng, target, live_steps, gone_steps, **_):
        # Random pairs close cycles often enough (dependency_cycle), and may pick the step itself.
        return {
            "step_id": self._pick(rng, target, live_steps, gone_steps),
            "predecessor_id": self._pick(rng, rng.randrange(256), live_steps, gone_steps),
        }

    _step_undepend = _step_depend

    # Comments: anyone's, so edits and deletes of another's (not_author) and hides by a
    # participant (moderators_only) are refused; deleted ones and gone steps are picked too.
    def _comment_add(self, rng, target, live_steps, gone_steps, **_):
        fields = {
            "comment_id": random_id(rng),
            "step_id": self._pick(rng, target, live_steps, gone_steps),
            "body": rng.choice(["Кто звонит в управу?", "Я могу.", "@Марина, посмотри", "  ", "Да"]),
        }
        comments = self.home.known_comments()
        if comments and rng.random() < 0.4:
            fields["parent_id"] = comments[target % len(comments)]
        if rng.random() < 0.3:
            fields["mentions"] = [rng.choice([*self.home.member_ids, self.moderator_id])]
        return fields

    def _comment_edit(self, rng, target, **_):
        return {"comment_id": self._comment(rng, target), "body": f"Правка {self.client.name}.{self.sent}"}

    def _comment_delete(self, rng, target, **_):
        return {"comment_id": self._comment(rng, target)}

    def _comment_hide(self, rng, target, **_):
        return {"comment_id": self._comment(rng, target), "hidden": rng.random() < 0.5}

    def _comment(self, rng, target: int) -> str:
        comments = self.home.known_comments()
        return comments[target % len(comments)] if comments else random_id(rng)

    def _stakeholder_add(self, rng, target, **_):
        fields = {
            "name": f"Участник {self.client.name}.{self.sent}",
            "sector": rng.choice(SECTORS),
            "interest": rng.randint(1, 5),
            "engagement": rng.choice(ENGAGEMENT_LEVELS),
            "contact": rng.choice(["", "+7 900 000-00-00"]),
        }
        chosen = rng.sample(sorted(fields), rng.randint(0, len(fields)))
        return {"stakeholder_id": random_id(rng), "fields": {name: fields[name] for name in chosen}}

    def _stakeholder_set(self, rng, target, variant, local, live_stakeholders, gone_stakeholders, **_):
        stakeholder_id = self._pick(rng, target, live_stakeholders, gone_stakeholders)
        names = ["name", "name", "contact", "sector", "engagement", "interest", "influence"]
        name = names[variant % len(names)]
        spec = STAKEHOLDER_FIELDS[name]
        if isinstance(spec, TextField):
            current = next((item[name] for item in local["stakeholders"] if item["id"] == stakeholder_id), "")
            text = self._text(rng, (stakeholder_id, name), current, spec)
            return {"stakeholder_id": stakeholder_id, "field": name, **text}
        if name == "sector":
            value = rng.choice([*SECTORS, "aliens"])
        elif name == "engagement":
            value = rng.choice(ENGAGEMENT_LEVELS)
        else:
            value = rng.choice([1, 2, 3, 4, 5, 5, 0, True])
        return {"stakeholder_id": stakeholder_id, "field": name, "value": value}

    def _stakeholder_delete(self, rng, target, live_stakeholders, gone_stakeholders, **_):
        return {"stakeholder_id": self._pick(rng, target, live_stakeholders, gone_stakeholders)}

    def _stakeholder_restore(self, rng, target, live_stakeholders, gone_stakeholders, **_):
        if gone_stakeholders and rng.random() < 0.85:
            return {"stakeholder_id": gone_stakeholders[target % len(gone_stakeholders)]}
        return {"stakeholder_id": self._pick(rng, target, live_stakeholders, gone_stakeholders)}


# --- the run -----------------------------------------------------------------


class Ledger:
    """Every delivery of the run, and a condition the chaos thread paces itself on."""

    def __init__(self):
        self.condition = threading.Condition()
        self.deliveries: list[Delivery] = []
        self.finished: set[int] = set()
        self.errors: list[str] = []
        self.drops = 0

    def record(self, delivery: Delivery) -> None:
        with self.condition:
            self.deliveries.append(delivery)
            self.condition.notify_all()

    def finish(self, worker: int, error: str | None = None) -> None:
        with self.condition:
            self.finished.add(worker)
            if error:
                self.errors.append(error)
            self.condition.notify_all()

    def wait_for(self, predicate, deadline: float) -> bool:
        with self.condition:
            return self.condition.wait_for(predicate, max(0.0, deadline - time.monotonic()))


def send_script(index: int, realiser: Realiser, slots: list[Slot], ledger: Ledger, deadline: float) -> None:
    client, home = realiser.client, realiser.home
    try:
        for slot in slots:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{client.name}: the run's deadline passed")
            delivery = client.submit(realiser.payload(slot), deadline)
            if delivery.roadmap_id == home.roadmap_id:
                home.remember(delivery)
            ledger.record(delivery)
        ledger.finish(index)
    except Exception as error:  # reported by the test
        ledger.finish(index, f"{client.name}: {error!r}")


def drop_connections(
    clients: list[ResendingClient], ledger: Ledger, drops: int, total_ops: int, rng: random.Random, deadline: float
) -> None:
    """Drop one or two clients at a time, spread over the run; bring them back after others' ops."""
    everyone = set(range(len(clients)))
    try:
        for number in range(drops):
            due = (number + 1) * total_ops // (drops + 1)
            ledger.wait_for(lambda due=due: len(ledger.deliveries) >= due or ledger.finished == everyone, deadline)
            if ledger.finished == everyone or time.monotonic() > deadline:
                return
            victims = rng.sample(range(len(clients)), 2 if rng.random() < 0.25 else 1)
            for victim in victims:
                clients[victim].disconnect()
                ledger.drops += 1
            back = len(ledger.deliveries) + OPS_WHILE_OFFLINE
            others = everyone - set(victims)
            ledger.wait_for(
                lambda back=back, others=others: len(ledger.deliveries) >= back or others <= ledger.finished,
                deadline,
            )
            for victim in victims:
                clients[victim].reconnect()
    except Exception as error:  # reported by the test
        with ledger.condition:
            ledger.errors.append(f"chaos: {error!r}")


def seed_map(home: MapUnderTest, deadline: float) -> None:
    """A few steps and stakeholders, so that the first ops have something to edit."""
    rng = random.Random(home.roadmap_id)
    payloads = [
        {"type": "step.add", "step_id": random_id(rng), "fields": {"title": f"Шаг {number}"}} for number in range(6)
    ] + [
        {"type": "stakeholder.add", "stakeholder_id": random_id(rng), "fields": {"name": f"Сосед {number}"}}
        for number in range(4)
    ]
    for payload in payloads:
        delivery = home.clients[0].submit({"op_id": new_op_id(), "roadmap_id": home.roadmap_id, **payload}, deadline)
        assert delivery.acked, delivery
        home.remember(delivery)
        home.seeded.append(delivery)


def open_maps(world, live_server, deadline: float) -> tuple[list[MapUnderTest], list[ResendingClient], int]:
    """Two groups of one training, each member with a joined client. Returns maps, clients, moderator id."""
    moderator = world.moderator()
    training = world.training(moderator)
    sizes = {"Чистый двор": (MAIN_MAP_CLIENTS, "waste_sorting"), "Зелёный сквер": (SECOND_MAP_CLIENTS, "landscaping")}
    maps, clients = [], []
    for group_name, (size, theme) in sizes.items():
        group = world.group(training, name=group_name, theme=theme)
        people = [world.member(group, f"Участник {number}") for number in range(size)]
        home = MapUnderTest(group.roadmap.id, database_map(group.roadmap.id)["theme"], [p.id for p in people])
        for number, person in enumerate(people):
            client = ResendingClient(live_server.url, world.token(person), name=f"m{home.roadmap_id}c{number}")
            clients.append(client)
            home.clients.append(client)
            client.connect()
            assert client.join(home.roadmap_id)["ok"]
        maps.append(home)
    for home in maps:
        seed_map(home, deadline)
    return maps, clients, moderator.id


def run_script(
    script: OpScript, maps: list[MapUnderTest], clients: list[ResendingClient], moderator_id: int, deadline: float
) -> Ledger:
    """Every client sends its slots from its own thread while the chaos thread drops connections."""
    ledger = Ledger()
    threads = []
    for index, client in enumerate(clients):
        home = next(home for home in maps if client in home.clients)
        away = next(other for other in maps if other is not home)
        realiser = Realiser(client, home, away, moderator_id)
        threads.append(
            threading.Thread(
                target=send_script,
                name=client.name,
                args=(index, realiser, script.for_client(index), ledger, deadline),
            )
        )
    threads.append(
        threading.Thread(
            target=drop_connections,
            name="chaos",
            args=(
                clients,
                ledger,
                FUZZ_DROPS,
                len(script.slots),
                random.Random(len(script.slots)),
                deadline,
            ),
        )
    )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "the run overran its deadline"
    assert ledger.errors == []
    for client in clients:
        if not client.connected:
            client.reconnect()
    return ledger


def merged_texts(changes: list[dict], deliveries: list[Delivery]) -> int:
    """Text edits the server merged with a concurrent one: the logged value is not the sent value."""
    sent = {d.op_id: d.payload for d in deliveries if d.acked and d.payload.get("base") is not None}
    return sum(
        1
        for change in changes
        if change["op_id"] in sent
        and change["op"]["value"] != sent[change["op_id"]]["value"]
        and "\n" not in sent[change["op_id"]]["value"]  # not a single-line field's normalisation
    )


@dataclass
class Findings:
    """What the final comparison of one run found; everything but the counts must stay empty."""

    divergences: list[str] = field(default_factory=list)  # copies of a map that disagree
    log_problems: list[str] = field(default_factory=list)
    unnormal_values: list[str] = field(default_factory=list)
    revisions: list[int] = field(default_factory=list)
    merged_texts: int = 0


def compare_everything(maps: list[MapUnderTest], ledger: Ledger) -> Findings:
    """Once every client has caught up: its copy, the database and the replayed log must be one map."""
    findings = Findings()
    for home in maps:
        deliveries = home.seeded + [d for d in ledger.deliveries if d.roadmap_id == home.roadmap_id]
        changes = logged_changes(home.roadmap_id)
        stored = database_map(home.roadmap_id)
        for client in home.clients:
            try:
                client.wait_for_revision(stored["revision"], timeout=CATCH_UP_TIMEOUT)
            except TimeoutError as error:
                findings.divergences.append(str(error))
                continue
            local = without_members(client.map_copy())
            if local != stored:
                findings.divergences.append(f"{client.name} != database: {differences(stored, local)}")
        replayed = replay(empty_map(home.roadmap_id, home.theme), changes)
        if replayed != stored:
            findings.divergences.append(f"replay of map {home.roadmap_id} != database: {differences(stored, replayed)}")
        findings.log_problems += log_problems(changes, deliveries)
        findings.unnormal_values += unnormal_values(stored)
        findings.revisions.append(stored["revision"])
        findings.merged_texts += merged_texts(changes, deliveries)
    return findings


REPORT_LINES: list[str] = []
RUN_SECONDS = 60 + FUZZ_OPS * 0.05


def report_line(database: str, clients: list, ledger: Ledger, findings: Findings, seconds: float) -> str:
    sent = ledger.deliveries
    rejected = Counter(delivery.error_code for delivery in sent if not delivery.acked)
    acked_by_type = Counter(delivery.op_type for delivery in sent if delivery.acked)
    return (
        f"convergence[{database}]: clients={len(clients)} ops_sent={len(sent)} "
        f"acked={sum(acked_by_type.values())} rejected={sum(rejected.values())} "
        f"merged_texts={findings.merged_texts} resent={sum(d.attempts > 1 for d in sent)} "
        f"duplicate_acks={sum(d.acked and d.ack['duplicate'] for d in sent)} disconnects={ledger.drops} "
        f"revisions={'+'.join(map(str, findings.revisions))} divergences={len(findings.divergences)} "
        f"log_problems={len(findings.log_problems)} seconds={seconds:.1f} "
        f"rejections={dict(sorted(rejected.items()))} acked_by_type={dict(sorted(acked_by_type.items()))}"
    )


@pytest.mark.timeout(FUZZ_EXAMPLES * (RUN_SECONDS + 2 * CATCH_UP_TIMEOUT + 60))
@pytest.mark.parametrize("database_url", FUZZ_DATABASES, indirect=True)
@settings(
    derandomize=True,
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.large_base_example,
        HealthCheck.data_too_large,
        HealthCheck.too_slow,
    ],
)
@given(script=op_scripts(FUZZ_OPS, CLIENTS))
def test_every_client_the_database_and_the_replayed_log_agree_after_random_concurrent_edits_and_dropped_connections(
    script, world, live_server, database_url
):
    started = time.monotonic()
    deadline = started + RUN_SECONDS
    maps, clients, moderator_id = open_maps(world, live_server, deadline)
    try:
        ledger = run_script(script, maps, clients, moderator_id, deadline)
        findings = compare_everything(maps, ledger)
    finally:
        for client in clients:
            client.close()
    report = report_line(database_url.split(":")[0], clients, ledger, findings, time.monotonic() - started)
    print("\n" + report)
    REPORT_LINES.append(report)
    write_report(
        "convergence.txt", [*REPORT_LINES, *findings.divergences, *findings.log_problems, *findings.unnormal_values]
    )

    assert len(ledger.deliveries) == len(script.slots)
    assert {delivery.op_type for delivery in ledger.deliveries} == set(KIND_WEIGHTS)
    assert sum(client.server_errors for client in clients) == 0
    assert findings.divergences == []
    assert findings.log_problems == []
    assert findings.unnormal_values == []
    assert "Traceback" not in live_server.log_path.read_text(errors="replace")
