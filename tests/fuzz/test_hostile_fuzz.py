"""Generated hostile payloads against every Socket.IO event: each gets a structured error, none changes anything.

Hypothesis generates at least FUZZ_PAYLOADS (default 1,000) payloads per event,
derandomized so CI is repeatable; set ROADMAP_FUZZ_PAYLOADS=10000 for a longer run.
Payloads are hostile by construction: wrong types, unexpected keys and nesting,
oversized text, C0 and C1 control characters and lone surrogates, negative and
huge numbers, ISO week dates and other almost-dates, non-ASCII focus fields, and
ids that belong to another group's map.

A second test sends what python-socketio's client cannot encode, as raw frames
over a bare WebSocket: integers of more digits than Python converts (over
4,300) or than any number the app reads needs (over 100), and nesting from 101
to 50,000 levels deep, as a whole payload or in place of any of its values
(at least FUZZ_RAW_PAYLOADS, default 150, per event).
"""

import os
import uuid
from collections import Counter

import pytest
import socketio
from conftest import ARTIFACTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from roadmap.domain.errors import MESSAGES
from roadmap.extensions import db
from roadmap.models import Change, Dot, Presence, Roadmap
from roadmap.services import editing, voting
from tests.rawsocket import RawSocketIO, json_with

pytestmark = pytest.mark.live
FUZZ_PAYLOADS = int(os.environ.get("ROADMAP_FUZZ_PAYLOADS", "1000"))
FUZZ_RAW_PAYLOADS = int(os.environ.get("ROADMAP_FUZZ_RAW_PAYLOADS", "150"))
ACK_TIMEOUT = 10
KNOWN_CODES = set(MESSAGES) | {"server_error"}

FUZZ_SETTINGS = settings(
    max_examples=FUZZ_PAYLOADS,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

edge_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "\x00",
            "abc\x00def",
            "\ud800",
            "a\udfffb",
            "\u202e",
            "\ufeff",
            "😀" * 50,
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "../../etc/passwd",
            "%s%s%n",
            "\n" * 100,
            "ы" * 4000,
            "\x85",
            "a\x9b[31mb",
            "\x80\x9f",
            "bell\x07\x1b[31m",
        ]
    ),
    # Long, but under the 256 KB transport limit even when escaped and nested
    # (that limit has its own test in test_transport_security.py).
    st.builds(lambda char, count: char * count, st.sampled_from(["x", "я", "\x07"]), st.integers(300, 4_000)),
)
key_text = st.text(max_size=20)
edge_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**31, 2**31 - 1, 2**63, -(2**63), 10**30]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
json_leaf = st.one_of(st.none(), edge_numbers, edge_text)
json_value = st.recursive(
    json_leaf,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(key_text, children, max_size=4)),
    max_leaves=8,
)
not_an_int = st.one_of(
    st.none(),
    edge_text,
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.lists(json_leaf, max_size=2),
    st.dictionaries(key_text, json_leaf, max_size=2),
)
bad_int = st.one_of(not_an_int, st.integers(max_value=0), st.integers(min_value=2**31))
# Days that are not exactly YYYY-MM-DD in ASCII digits, or not a real day of 1900-2200.
almost_days = st.one_of(
    st.sampled_from(
        [
            "2027-W20-1",
            "2027-W01-7",
            "2027W201",
            "20270517",
            "2027-137",
            "2027-5-17",
            "２０２７-05-17",
            "2027-05-1７",
            "٢٠٢٧-٠٥-١٧",
            "2027-05-17 ",
            " 2027-05-17",
            "2027-05-17\n",
            "2027-05-17T00:00",
            "2027/05/17",
            "17.05.2027",
            "2027-02-30",
            "1899-12-31",
            "2201-01-01",
            "+2027-05-17",
            "2027-05-17Z",
        ]
    ),
    st.builds(
        lambda week, day: f"{2000 + week % 200}-W{week % 53 + 1:02d}-{day}", st.integers(0, 10_000), st.integers(1, 7)
    ),
)
non_ascii_fields = st.sampled_from(["títle", "назва", "ｔｉｔｌｅ", "ª", "ǅ", "title\u0301", "ſtatus", "ǆ_x"])
bad_id = st.one_of(
    not_an_int.filter(lambda value: not isinstance(value, str)),
    st.text(max_size=7),
    st.text(min_size=41, max_size=60),
    st.sampled_from(["abcdefgh\n", "abc def ghi", "../../../../", "ÿÿÿÿÿÿÿÿ", "abcdefgh\x00"]),
)


@pytest.fixture
def live_server(unthrottled_live_server):
    """The fuzz sends thousands of payloads on one connection."""
    return unthrottled_live_server


@pytest.fixture
def scene(app, world, live_server):
    """Map A with a step and a stakeholder; map B (another group) whose ids are foreign to A."""
    training = world.training()
    group_a, group_b = world.group(training, "А"), world.group(training, "Б")
    member_a, member_b = world.member(group_a, "Анна"), world.member(group_b, "Борис")
    ids = {}
    for label, group, member in (("a", group_a, member_a), ("b", group_b, member_b)):
        step_id, stakeholder_id = uuid.uuid4().hex, uuid.uuid4().hex
        for op in (
            {"type": "step.add", "step_id": step_id, "fields": {"title": "Шаг"}},
            {"type": "stakeholder.add", "stakeholder_id": stakeholder_id, "fields": {"name": "Жители"}},
        ):
            editing.apply({"op_id": uuid.uuid4().hex, "roadmap_id": group.roadmap.id, **op}, actor=member)
        ids[label] = {
            "roadmap_id": group.roadmap.id,
            "step_id": step_id,
            "stakeholder_id": stakeholder_id,
            "training_id": training.id,
        }
    ids["a"]["vote_id"] = voting.open_vote(training, dots_per_person=3).id
    hostile = socketio.Client(reconnection=False)
    hostile.connect(live_server.url, auth={"token": world.token(member_a)}, transports=["websocket"])
    assert hostile.call("join", {"roadmap_id": ids["a"]["roadmap_id"]}, timeout=ACK_TIMEOUT)["ok"]
    yield {"ids": ids, "client": hostile, "member_a": member_a, "live_server": live_server, "world": world}
    hostile.disconnect()


def state_fingerprint() -> tuple:
    db.session.expire_all()
    revisions = tuple(db.session.scalars(select(Roadmap.revision).order_by(Roadmap.id)))
    changes = db.session.scalar(select(func.count(Change.id)))
    focus = tuple(map(repr, db.session.scalars(select(Presence.focus))))
    dots = db.session.scalar(select(func.count(Dot.id)))
    return revisions, changes, focus, dots


def hostile_op(ids_a: dict, ids_b: dict):
    valid_ops = [
        {"type": "map.set", "field": "title", "value": "Название"},
        {"type": "step.set", "step_id": ids_a["step_id"], "field": "status", "value": "done"},
        {"type": "step.set", "step_id": ids_a["step_id"], "field": "description", "value": "текст", "base": ""},
        {"type": "step.move", "step_id": ids_a["step_id"], "after_id": None},
        {"type": "step.link", "step_id": ids_a["step_id"], "stakeholder_id": ids_a["stakeholder_id"]},
        {"type": "step.undepend", "step_id": ids_a["step_id"], "predecessor_id": ids_a["step_id"]},
        {"type": "comment.add", "comment_id": uuid.uuid4().hex, "step_id": ids_a["step_id"], "body": "Вопрос"},
        {"type": "stakeholder.set", "stakeholder_id": ids_a["stakeholder_id"], "field": "interest", "value": 4},
    ]
    envelope = st.fixed_dictionaries({"op_id": st.just(uuid.uuid4().hex), "roadmap_id": st.just(ids_a["roadmap_id"])})

    def with_bad(key_strategy):
        return st.tuples(st.sampled_from(valid_ops), key_strategy).map(
            lambda pair: {**pair[0], "op_id": uuid.uuid4().hex, "roadmap_id": ids_a["roadmap_id"], **pair[1]}
        )

    return st.one_of(
        json_value.filter(lambda value: not isinstance(value, dict)),
        st.dictionaries(key_text, json_value, max_size=5),
        st.tuples(envelope, st.one_of(edge_text, not_an_int)).map(lambda pair: {**pair[0], "type": pair[1]}),
        with_bad(
            st.fixed_dictionaries({"op_id": st.one_of(not_an_int, st.text(max_size=7), st.just("op id with spaces"))})
        ),
        with_bad(st.fixed_dictionaries({"roadmap_id": bad_int})),
        with_bad(st.fixed_dictionaries({"roadmap_id": st.just(ids_b["roadmap_id"])})),
        with_bad(st.fixed_dictionaries({"step_id": st.one_of(bad_id, st.just(ids_b["step_id"]))})),
        with_bad(st.fixed_dictionaries({"stakeholder_id": st.one_of(bad_id, st.just(ids_b["stakeholder_id"]))})),
        with_bad(st.fixed_dictionaries({"predecessor_id": st.one_of(bad_id, st.just(ids_b["step_id"]))})),
        with_bad(
            st.fixed_dictionaries(
                {
                    "field": st.one_of(
                        not_an_int, st.sampled_from(["id", "roadmap_id", "deleted_at", "position", "__class__"])
                    )
                }
            )
        ),
        with_bad(
            st.dictionaries(
                key_text.filter(
                    lambda key: (
                        key
                        not in {
                            "op_id",
                            "roadmap_id",
                            "type",
                            "step_id",
                            "stakeholder_id",
                            "predecessor_id",
                            "field",
                            "value",
                            "base",
                            "after_id",
                            "fields",
                            "comment_id",
                            "parent_id",
                            "body",
                            "mentions",
                            "hidden",
                        }
                    )
                ),
                json_value,
                min_size=1,
                max_size=3,
            )
        ),
        st.builds(
            lambda value: {
                "op_id": uuid.uuid4().hex,
                "roadmap_id": ids_a["roadmap_id"],
                "type": "step.set",
                "step_id": ids_a["step_id"],
                "field": "status",
                "value": value,
            },
            json_value.filter(lambda value: value not in ("planned", "in_progress", "done", "blocked")),
        ),
        st.builds(
            lambda value: {
                "op_id": uuid.uuid4().hex,
                "roadmap_id": ids_a["roadmap_id"],
                "type": "stakeholder.set",
                "stakeholder_id": ids_a["stakeholder_id"],
                "field": "influence",
                "value": value,
            },
            # null is "not rated yet", a valid influence.
            json_value.filter(lambda value: value is not None and (type(value) is not int or not 1 <= value <= 5)),
        ),
        st.builds(
            lambda text: {
                "op_id": uuid.uuid4().hex,
                "roadmap_id": ids_a["roadmap_id"],
                "type": "map.set",
                "field": "problem",
                "value": "ok" + text,
            },
            st.sampled_from(["\x00", "\ud800", "\x1b[31m", "я" * 5001]),
        ),
        st.builds(
            lambda field, day: {
                "op_id": uuid.uuid4().hex,
                "roadmap_id": ids_a["roadmap_id"],
                "type": "step.set",
                "step_id": ids_a["step_id"],
                "field": field,
                "value": day,
            },
            st.sampled_from(["due_on", "starts_on"]),
            almost_days,
        ),
        st.builds(
            lambda field, day: {
                "op_id": uuid.uuid4().hex,
                "roadmap_id": ids_a["roadmap_id"],
                "type": "step.add",
                "step_id": uuid.uuid4().hex,
                "fields": {"title": "Шаг", field: day},
            },
            st.sampled_from(["due_on", "starts_on"]),
            almost_days,
        ),
        st.builds(
            lambda owner: {
                "op_id": uuid.uuid4().hex,
                "roadmap_id": ids_a["roadmap_id"],
                "type": "step.set",
                "step_id": ids_a["step_id"],
                "field": "owner",
                "value": owner,
            },
            st.one_of(
                st.dictionaries(
                    key_text.filter(lambda key: key not in {"member", "stakeholder", "text"}),
                    json_leaf,
                    min_size=1,
                    max_size=2,
                ),
                st.fixed_dictionaries({"member": st.one_of(bad_int, st.integers(10_000, 2**31 - 1))}),
                st.fixed_dictionaries({"stakeholder": st.one_of(bad_id, st.just(ids_b["stakeholder_id"]))}),
                st.lists(json_leaf, max_size=2),
                edge_numbers,
            ),
        ),
        # A step may not wait for itself, nor for another map's step: dependency_cycle, step_not_found.
        st.builds(
            lambda predecessor: {
                "op_id": uuid.uuid4().hex,
                "roadmap_id": ids_a["roadmap_id"],
                "type": "step.depend",
                "step_id": ids_a["step_id"],
                "predecessor_id": predecessor,
            },
            st.sampled_from([ids_a["step_id"], ids_b["step_id"]]),
        ),
        # A comment without words, with words no field holds, naming non-members, answering another
        # map's step or nothing; hidden by a participant; edited or deleted when it does not exist.
        st.builds(
            lambda body: {
                "op_id": uuid.uuid4().hex,
                "roadmap_id": ids_a["roadmap_id"],
                "type": "comment.add",
                "comment_id": uuid.uuid4().hex,
                "step_id": ids_a["step_id"],
                "body": body,
            },
            st.one_of(
                st.sampled_from(["", "  \n\t ", "\x00", "\ud800", "я" * 2001]),
                not_an_int.filter(lambda value: not isinstance(value, str)),
            ),
        ),
        st.builds(
            lambda mentions: {
                "op_id": uuid.uuid4().hex,
                "roadmap_id": ids_a["roadmap_id"],
                "type": "comment.add",
                "comment_id": uuid.uuid4().hex,
                "step_id": ids_a["step_id"],
                "body": "@",
                "mentions": mentions,
            },
            st.one_of(
                json_value.filter(lambda value: not isinstance(value, list)),
                st.lists(st.one_of(bad_int, st.integers(10_000, 2**31 - 1)), min_size=1, max_size=3),
            ),
        ),
        st.builds(
            lambda keys: {
                "op_id": uuid.uuid4().hex,
                "roadmap_id": ids_a["roadmap_id"],
                "type": "comment.add",
                "comment_id": uuid.uuid4().hex,
                "body": "Ответ",
                **keys,
            },
            st.sampled_from(
                [
                    {"step_id": ids_b["step_id"]},
                    {"step_id": ids_a["step_id"], "parent_id": "no-such-comment"},
                    {"step_id": ids_a["step_id"], "parent_id": 5},
                ]
            ),
        ),
        st.builds(
            lambda kind: {
                "op_id": uuid.uuid4().hex,
                "roadmap_id": ids_a["roadmap_id"],
                "type": kind,
                "comment_id": uuid.uuid4().hex,
                **({"hidden": True} if kind == "comment.hide" else {"body": "x"} if kind == "comment.edit" else {}),
            },
            st.sampled_from(["comment.edit", "comment.delete", "comment.hide"]),
        ),
        # A participant may not lock, whatever the value: moderators_only or invalid_value.
        st.builds(
            lambda locked: {
                "op_id": uuid.uuid4().hex,
                "roadmap_id": ids_a["roadmap_id"],
                "type": "map.lock",
                "locked": locked,
            },
            json_value,
        ),
        st.builds(
            lambda fields: {
                "op_id": uuid.uuid4().hex,
                "roadmap_id": ids_a["roadmap_id"],
                "type": "step.add",
                "step_id": uuid.uuid4().hex,
                "fields": fields,
            },
            st.one_of(
                not_an_int.filter(lambda value: value is not None and not isinstance(value, dict)),
                st.dictionaries(
                    st.sampled_from(["title", "status", "due_on", "owner", "nope"]), json_value, min_size=1, max_size=3
                ).filter(lambda fields: _invalid_step_fields(fields)),
            ),
        ),
    )


def _invalid_step_fields(fields: dict) -> bool:
    from roadmap.domain.errors import EditRejected
    from roadmap.domain.operations import STEP_FIELDS, parse_value

    for name, value in fields.items():
        if name not in STEP_FIELDS:
            return True
        try:
            parse_value(STEP_FIELDS[name], value)
        except EditRejected:
            return True
    return False


def hostile_map_request(ids_a: dict, ids_b: dict):
    return st.one_of(
        json_value.filter(lambda value: not isinstance(value, dict)),
        st.fixed_dictionaries(
            {"roadmap_id": st.one_of(bad_int, st.just(ids_b["roadmap_id"]), st.integers(10_000, 2**31 - 1))}
        ),
        st.fixed_dictionaries(
            {
                "roadmap_id": st.just(ids_a["roadmap_id"]),
                "since_revision": st.one_of(
                    not_an_int.filter(lambda value: value is not None),
                    st.integers(max_value=-1),
                    st.integers(min_value=2**31),
                ),
            }
        ),
        st.fixed_dictionaries({"roadmap_id": st.just(ids_a["roadmap_id"])}).flatmap(
            lambda base: st.dictionaries(
                key_text.filter(lambda key: key not in ("roadmap_id", "since_revision")),
                json_value,
                min_size=1,
                max_size=3,
            ).map(lambda extra: {**base, **extra})
        ),
    )


def hostile_focus(ids_a: dict, ids_b: dict):
    return st.one_of(
        json_value.filter(lambda value: not isinstance(value, dict)),
        st.fixed_dictionaries(
            {
                "focus": st.one_of(
                    edge_numbers,
                    st.text(max_size=20),
                    st.lists(json_leaf, max_size=3),
                    st.dictionaries(
                        key_text.filter(lambda key: key not in ("field", "step_id", "stakeholder_id")),
                        json_leaf,
                        min_size=1,
                        max_size=3,
                    ),
                    st.fixed_dictionaries(
                        {
                            "field": not_an_int.filter(lambda value: not isinstance(value, str))
                            | st.text(min_size=41, max_size=60)
                        }
                    ),
                    st.fixed_dictionaries({"field": st.just("title"), "step_id": bad_id}),
                    st.fixed_dictionaries({"field": non_ascii_fields}),
                )
            }
        ),
        st.dictionaries(key_text.filter(lambda key: key != "focus"), json_value, min_size=1, max_size=3),
    )


def _extra_keys(valid: dict):
    return st.dictionaries(key_text.filter(lambda key: key not in valid), json_value, min_size=1, max_size=3).map(
        lambda extra: {**valid, **extra}
    )


def _without_one_key(valid: dict):
    return st.sampled_from(sorted(valid)).map(lambda missing: {k: v for k, v in valid.items() if k != missing})


def hostile_dot(ids_a: dict, ids_b: dict):
    """Dots that must all be refused: the sender is in group A only, and the vote is open on every map."""
    valid = {"vote_id": ids_a["vote_id"], "step_id": ids_a["step_id"], "action": "add"}
    return st.one_of(
        json_value.filter(lambda value: not isinstance(value, dict)),
        st.one_of(bad_int, st.integers(10_000, 2**31 - 1)).map(lambda vote_id: {**valid, "vote_id": vote_id}),
        st.one_of(bad_id, st.just(ids_b["step_id"]), st.just(uuid.uuid4().hex)).map(
            lambda step_id: {**valid, "step_id": step_id}
        ),
        json_value.filter(lambda action: action not in ("add", "remove")).map(
            lambda action: {**valid, "action": action}
        ),
        _extra_keys(valid),
        _without_one_key(valid),
    )


def hostile_watch(ids_a: dict, ids_b: dict):
    """Watching is the moderator's: a participant is refused whatever the payload."""
    valid = {"training_id": ids_a["training_id"]}
    return st.one_of(
        json_value.filter(lambda value: not isinstance(value, dict)),
        st.one_of(bad_int, st.integers(10_000, 2**31 - 1), st.just(ids_a["training_id"])).map(
            lambda training_id: {"training_id": training_id}
        ),
        _extra_keys(valid),
        st.just({}),
    )


STRATEGIES = {
    "dot": hostile_dot,
    "watch": hostile_watch,
    "op": hostile_op,
    "join": hostile_map_request,
    "catch_up": hostile_map_request,
    "leave": hostile_map_request,
    "focus": hostile_focus,
}


def roadmap_id_is_readable(payload) -> bool:
    """Whether `leave` must leave: its roadmap_id is an integer in range, whatever else is wrong."""
    roadmap_id = payload.get("roadmap_id") if isinstance(payload, dict) else None
    return type(roadmap_id) is int and 1 <= roadmap_id < 2**31


def structured_error_code(ack) -> str | None:
    error = ack.get("error") if isinstance(ack, dict) else None
    if (
        isinstance(ack, dict)
        and ack.get("ok") is False
        and isinstance(error, dict)
        and error.get("code") in KNOWN_CODES
        and isinstance(error.get("message"), str)
    ):
        return error["code"]
    return None


def write_report(
    event: str, tally: Counter, unstructured: list, server_log: str, kind: str = "", note: str = ""
) -> None:
    report = (
        f"{event}{kind}: {tally['payloads']} payloads, {sum(tally.values()) - tally['payloads']} structured errors "
        f"{dict((code, count) for code, count in tally.items() if code != 'payloads')}, "
        f"{len(unstructured)} unstructured, {server_log.count('Traceback')} unhandled exceptions{note}"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / "hostile_fuzz.txt", "a") as report_file:
        report_file.write(report + "\n")
    print(report)


def assert_still_serving(scene, before: tuple) -> None:
    """A well-formed edit from the same connection still lands."""
    ack = scene["client"].call(
        "op",
        {
            "op_id": uuid.uuid4().hex,
            "roadmap_id": scene["ids"]["a"]["roadmap_id"],
            "type": "map.set",
            "field": "title",
            "value": "После атаки",
        },
        timeout=ACK_TIMEOUT,
    )
    assert ack["ok"] and ack["revision"] == before[0][0] + 1


@pytest.mark.parametrize("event", sorted(STRATEGIES))
def test_generated_hostile_payloads_get_structured_errors_and_change_nothing(scene, event):
    client = scene["client"]
    roadmap_id = scene["ids"]["a"]["roadmap_id"]
    before = state_fingerprint()
    tally = Counter()
    unstructured = []
    wrongly_left = []
    left = []

    @FUZZ_SETTINGS
    @given(payload=STRATEGIES[event](scene["ids"]["a"], scene["ids"]["b"]))
    def send(payload):
        ack = client.call(event, payload, timeout=ACK_TIMEOUT)
        tally["payloads"] += 1
        code = structured_error_code(ack)
        if code is None:
            unstructured.append((payload, ack))
        else:
            tally[code] += 1
        if event == "leave":  # a leave whose roadmap_id reads leaves, even when refused; no other does
            in_map = client.call("focus", {"focus": None}, timeout=ACK_TIMEOUT).get("ok") is True
            if in_map == roadmap_id_is_readable(payload):
                wrongly_left.append(payload)
            if not in_map:
                left.append(payload)
                assert client.call("join", {"roadmap_id": roadmap_id}, timeout=ACK_TIMEOUT)["ok"]

    send()

    server_log = scene["live_server"].log_path.read_text()
    write_report(
        event,
        tally,
        unstructured,
        server_log,
        note=f", left the map on {len(left)}, wrongly on {len(wrongly_left)}" if event == "leave" else "",
    )
    assert tally["payloads"] >= FUZZ_PAYLOADS
    assert unstructured[:3] == []
    assert wrongly_left[:3] == []
    assert tally["server_error"] == 0
    assert "Traceback" not in server_log
    assert state_fingerprint() == before
    assert_still_serving(scene, before)


# What python-socketio's client cannot encode, written as JSON text by hand.
huge_integers = st.one_of(st.integers(4_301, 20_000), st.integers(101, 4_300)).flatmap(
    lambda digits: st.sampled_from(["", "-"]).map(lambda sign: sign + "9" * digits)
)
deep_nesting = st.tuples(st.integers(101, 50_000), st.sampled_from(["array", "object", "mixed"])).map(
    lambda shape: nested_json(*shape)
)
unreadable_json = st.one_of(
    huge_integers,
    deep_nesting,
    st.sampled_from(
        [
            "[" * 900 + "]" * 900,
            '{"a":' * 5_000 + "1" + "}" * 5_000,
        ]
    ),
)


def nested_json(levels: int, kind: str) -> str:
    if kind == "array":
        return "[" * levels + "]" * levels
    if kind == "object":  # 5 characters a level: kept under the 256 KB transport limit
        levels = min(levels, 20_000)
        return '{"a":' * levels + "null" + "}" * levels
    return '[{"a":' * (levels // 2) + "[]" + "}]" * (levels // 2)


def valid_payload(event: str, ids: dict) -> dict:
    return {
        "op": {
            "op_id": uuid.uuid4().hex,
            "roadmap_id": ids["roadmap_id"],
            "type": "step.set",
            "step_id": ids["step_id"],
            "field": "status",
            "value": "done",
            "base": "",
        },
        "join": {"roadmap_id": ids["roadmap_id"], "since_revision": None},
        "catch_up": {"roadmap_id": ids["roadmap_id"], "since_revision": 0},
        "leave": {"roadmap_id": ids["roadmap_id"]},
        "focus": {"focus": {"field": "title", "step_id": ids["step_id"]}},
        "watch": {"training_id": ids["training_id"]},
        "dot": {"vote_id": ids["vote_id"], "step_id": ids["step_id"], "action": "add"},
    }[event]


def raw_hostile(event: str, ids: dict):
    """A valid payload with one value (or the whole of it) replaced by JSON the decoder cannot read."""
    valid = valid_payload(event, ids)
    places = st.one_of(st.none(), st.sampled_from(sorted(valid)), key_text)
    return st.tuples(places, unreadable_json).map(
        lambda pair: pair[1] if pair[0] is None else json_with(valid, pair[0], pair[1])
    )


@pytest.mark.parametrize("event", sorted(STRATEGIES))
def test_raw_frames_python_cannot_decode_get_invalid_op_and_change_nothing(scene, event):
    raw = RawSocketIO(scene["live_server"].url, scene["world"].token(scene["member_a"]))
    assert raw.call("join", {"roadmap_id": scene["ids"]["a"]["roadmap_id"]})["ok"]
    before = state_fingerprint()
    tally = Counter()
    unstructured = []

    @settings(FUZZ_SETTINGS, max_examples=FUZZ_RAW_PAYLOADS)
    @given(payload_json=raw_hostile(event, scene["ids"]["a"]))
    def send(payload_json):
        ack = raw.call_raw(event, payload_json)
        tally["payloads"] += 1
        code = structured_error_code(ack)
        if code != "invalid_op" or not ack["error"].get("detail"):
            unstructured.append((payload_json[:80], ack))
        else:
            tally[code] += 1

    try:
        send()
        still_in_map = raw.call("focus", {"focus": None})
        after = state_fingerprint()
    finally:
        raw.close()

    server_log = scene["live_server"].log_path.read_text()
    write_report(event, tally, unstructured, server_log, kind=" (raw frames)")
    assert tally["payloads"] >= FUZZ_RAW_PAYLOADS
    assert unstructured[:3] == []
    assert still_in_map == {"ok": True}, "a leave that could not be read left the map"
    assert "Traceback" not in server_log
    assert after == before
    assert_still_serving(scene, before)
