"""The moderator's facilitation tools through the real server: what editors and the dashboard see live.

The moderator works as on the dashboard page: signed in with a requests session,
posting the tool forms with the page's CSRF token and asking for JSON. The tools
run in the server process, so their broadcasts reach the python-socketio
clients; a service called in the test process would publish to nobody.
"""

from __future__ import annotations

import functools
import threading
import time
from html.parser import HTMLParser

import pytest
import requests

from tests.livesync import WAIT_TIMEOUT, SyncClient, new_op_id

pytestmark = pytest.mark.live

PASSWORD = "correct horse battery"  # what World.moderator() signs up with
EVERY_GROUP = ""


class Inbox:
    """The pushes of some events to one connection, recorded in the order their handlers ran."""

    def __init__(self, client: SyncClient, *events: str):
        self.name = client.name
        self._condition = threading.Condition()
        self._received: dict[str, list[dict]] = {event: [] for event in events}
        for event in events:
            client.sio.on(event, functools.partial(self._record, event))

    def _record(self, event: str, payload: dict) -> None:
        with self._condition:
            self._received[event].append(payload)
            self._condition.notify_all()

    def of(self, event: str) -> list[dict]:
        with self._condition:
            return list(self._received[event])

    def wait_for(self, event: str, predicate, what: str, timeout: float = WAIT_TIMEOUT) -> dict:
        """The first `event` payload that satisfies predicate, waiting for it to arrive."""

        def first_match():
            return next((payload for payload in self._received[event] if predicate(payload)), None)

        with self._condition:
            arrived = self._condition.wait_for(lambda: first_match() is not None, timeout)
            assert arrived, f"{self.name}: no {event!r} with {what} within {timeout} s; got {self._received[event]}"
            return first_match()


class _CsrfTokens(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tokens: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and (attributes.get("name") or "").endswith("csrf_token"):
            self.tokens[attributes["name"]] = attributes.get("value") or ""


def csrf_token(page: str) -> str:
    """The session's CSRF token as a page's forms carry it (the same value in every form)."""
    parser = _CsrfTokens()
    parser.feed(page)
    assert parser.tokens, "the page has no CSRF token"
    return next(iter(parser.tokens.values()))


class ModeratorDesk:
    """The moderator's dashboard page, driven over HTTP as its scripts drive it."""

    def __init__(self, base_url: str, moderator, training):
        self.base_url = base_url
        self.training_id = training.id
        self.browser = requests.Session()
        sign_in_page = self.browser.get(f"{base_url}/sign-in", timeout=10)
        signed_in = self.browser.post(
            f"{base_url}/sign-in",
            data={
                "csrf_token": csrf_token(sign_in_page.text),
                "email": moderator.email,
                "password": PASSWORD,
            },
            allow_redirects=False,
            timeout=10,
        )
        assert signed_in.status_code == 302, signed_in.text
        dashboard = self.browser.get(f"{base_url}/moderate/trainings/{training.id}", timeout=10)
        assert dashboard.status_code == 200
        self.csrf_token = csrf_token(dashboard.text)

    def use(self, tool: str, prefix: str, **fields) -> dict:
        """Post one tool form (its fields without the prefix); returns the JSON answer."""
        form = {f"{prefix}-{name}": value for name, value in fields.items()}
        form[f"{prefix}-csrf_token"] = self.csrf_token
        response = self.browser.post(
            f"{self.base_url}/moderate/trainings/{self.training_id}/{tool}",
            data=form,
            headers={"X-Requested-With": "fetch"},
            timeout=10,
        )
        assert response.status_code == 200, (tool, response.status_code, response.text)
        answer = response.json()
        assert answer["ok"], answer
        return answer

    def timer(self, action: str, group_id: str = EVERY_GROUP, **fields) -> dict:
        return self.use("timer", "timer", action=action, group_id=group_id, **fields)

    def announce(self, text: str, group_id: str = EVERY_GROUP) -> dict:
        return self.use("announcements", "announcement", text=text, group_id=group_id)

    def lock(self, locked: bool, group_id: str = EVERY_GROUP) -> dict:
        return self.use("lock", "lock", locked="1" if locked else "0", group_id=group_id)

    def open_vote(self, dots: int, hide_results: bool, group_id: str = EVERY_GROUP) -> dict:
        fields = {"dots": str(dots), "minutes": "", "group_id": group_id}
        if hide_results:
            fields["hide_results"] = "y"  # an unchecked box is simply absent
        return self.use("votes", "vote", **fields)

    def close_vote(self) -> dict:
        return self.use("votes/close", "close_vote")

    def clear_vote(self) -> dict:
        return self.use("votes/clear", "clear_vote")

    def end_training(self) -> dict:
        response = self.browser.post(
            f"{self.base_url}/moderate/trainings/{self.training_id}/end",
            data={"csrf_token": self.csrf_token},
            headers={"X-Requested-With": "fetch"},
            timeout=10,
        )
        assert response.status_code == 200 and response.json()["ok"], response.text
        return response.json()


@pytest.fixture
def quiet_group(world, training):
    """A second group of the training where nobody does anything."""
    return world.group(training, name="Зелёный сквер", theme="landscaping")


@pytest.fixture
def desk(live_server, moderator, training) -> ModeratorDesk:
    return ModeratorDesk(live_server.url, moderator, training)


@pytest.fixture
def dashboard(clients, moderator, training):
    """The moderator's dashboard connection, watching the training: (its inbox, the watch ack)."""
    connection = clients.connect(moderator)
    inbox = Inbox(connection, "dashboard")
    watched = connection.call("watch", {"training_id": training.id})
    assert watched["ok"], watched
    return inbox, watched


def summary_of(event: dict, group_id: int) -> dict | None:
    return next((summary for summary in event["groups"] if summary["group_id"] == group_id), None)


def group_summaries(inbox: Inbox, group_id: int) -> list[dict]:
    return [summary for event in inbox.of("dashboard") if (summary := summary_of(event, group_id))]


# --- the dashboard ---------------------------------------------------------------


def test_a_participants_edit_reaches_the_dashboard_in_the_summary_of_that_group_only(
    clients, training, group, marina, quiet_group, dashboard
):
    inbox, watched = dashboard
    assert {summary["group_id"] for summary in watched["groups"]} == {group.id, quiet_group.id}
    before = next(summary for summary in watched["groups"] if summary["group_id"] == group.id)
    marina_client = clients.connect(marina, group.roadmap.id)

    added = marina_client.send_op("step.add", step_id=new_op_id(), fields={"title": "Собрать жителей"})
    assert added["ok"], added

    event = inbox.wait_for(
        "dashboard",
        lambda event: (summary_of(event, group.id) or {}).get("steps") == before["steps"] + 1,
        what=f"{before['steps'] + 1} steps in group {group.id}",
    )
    summary = summary_of(event, group.id)
    assert event["training_id"] == training.id
    assert (summary["roadmap_id"], summary["revision"]) == (group.roadmap.id, added["revision"])
    assert summary["last_edit_at"] is not None
    assert [event for event in inbox.of("dashboard") if summary_of(event, quiet_group.id)] == []


def test_a_burst_of_edits_updates_the_dashboard_at_most_once_a_second_and_ends_on_the_final_count(
    clients, group, marina, dashboard
):
    inbox, watched = dashboard
    steps_before = next(summary["steps"] for summary in watched["groups"] if summary["group_id"] == group.id)
    marina_client = clients.connect(marina, group.roadmap.id)
    events_before = len(group_summaries(inbox, group.id))
    burst = 30
    started = time.monotonic()

    acks = [
        marina_client.send_op("step.add", step_id=new_op_id(), fields={"title": f"Шаг {number}"})
        for number in range(burst)
    ]
    assert all(ack["ok"] for ack in acks), acks
    inbox.wait_for(
        "dashboard",
        lambda event: (summary_of(event, group.id) or {}).get("steps") == steps_before + burst,
        what=f"{steps_before + burst} steps",
    )
    elapsed = time.monotonic() - started

    updates = group_summaries(inbox, group.id)[events_before:]
    assert len(updates) <= elapsed + 2, f"{len(updates)} dashboard updates in {elapsed:.1f} s"
    assert len(updates) < burst
    assert (updates[-1]["steps"], updates[-1]["revision"]) == (steps_before + burst, acks[-1]["revision"])


# --- the lock --------------------------------------------------------------------


def lock_changes(client: SyncClient, locked: bool) -> list[dict]:
    return [change for change in list(client.received) if change["op"] == {"type": "map.lock", "locked": locked}]


def test_a_lock_refuses_the_next_keystroke_of_a_participant_typing_and_an_unlock_lets_it_through(
    clients, desk, group, marina
):
    marina_client = clients.connect(marina, group.roadmap.id)
    step_id = new_op_id()
    assert marina_client.send_op("step.add", step_id=step_id, fields={"title": "Сход"})["ok"]
    typed = ""
    for word in ("Собрать", " жителей", " во дворе"):
        ack = marina_client.send_op("step.set", step_id=step_id, field="description", value=typed + word, base=typed)
        assert ack["ok"], ack
        typed += word

    desk.lock(True, group_id=str(group.id))
    marina_client.wait_until(lambda: lock_changes(marina_client, True), what="the map.lock change")
    lock_revision = lock_changes(marina_client, True)[0]["revision"]
    marina_client.wait_for_revision(lock_revision)
    assert marina_client.map_copy()["locked"] is True

    refused = marina_client.send_op(
        "step.set",
        step_id=step_id,
        field="description",
        value=typed + " в субботу",
        base=typed,
    )
    assert refused["ok"] is False
    assert refused["error"]["code"] == "locked"
    assert refused["error"]["message"]
    held = marina_client.fresh_snapshot()
    assert held["revision"] == lock_revision
    assert held["steps"][0]["description"] == typed

    desk.lock(False, group_id=str(group.id))
    marina_client.wait_until(lambda: lock_changes(marina_client, False), what="the unlock change")
    unlock_revision = lock_changes(marina_client, False)[0]["revision"]
    accepted = marina_client.send_op(
        "step.set",
        step_id=step_id,
        field="description",
        value=typed + " в субботу",
        base=typed,
    )
    assert accepted["ok"], accepted
    assert accepted["revision"] == unlock_revision + 1 == lock_revision + 2
    assert marina_client.fresh_snapshot()["steps"][0]["description"] == typed + " в субботу"


# --- the timer -------------------------------------------------------------------


def test_a_timer_survives_a_reconnect_and_a_pause_reaches_editors_and_later_joiners(clients, desk, group, marina, oleg):
    marina_client = clients.connect(marina, group.roadmap.id)
    inbox = Inbox(marina_client, "timer")

    started = desk.timer("start", minutes="10", label="Работа в группах")["timer"]
    pushed = inbox.wait_for("timer", lambda event: event["timer"]["id"] == started["id"], what="the started timer")
    assert (pushed["scope"], pushed["roadmap_id"]) == ("all", None)
    assert pushed["timer"]["running"] is True
    assert pushed["timer"]["ends_at"] == started["ends_at"]
    assert pushed["timer"]["duration_seconds"] == 600

    marina_client.disconnect()
    rejoined = marina_client.reconnect()
    assert rejoined["ok"], rejoined
    shown = rejoined["facilitation"]["timers"]["all"]
    assert (shown["id"], shown["ends_at"], shown["running"]) == (started["id"], started["ends_at"], True)

    desk.timer("pause")
    paused = inbox.wait_for(
        "timer",
        lambda event: event["timer"]["running"] is False,
        what="running false",
    )["timer"]
    assert paused["id"] == started["id"]
    assert paused["ends_at"] is None
    assert 590 <= paused["paused_remaining_seconds"] <= 600

    late_client = clients.connect(oleg, group.roadmap.id)
    assert late_client.join_acks[-1]["facilitation"]["timers"]["all"] == paused


# --- dot voting ------------------------------------------------------------------


def test_a_hidden_vote_shows_no_tally_to_anyone_until_the_moderator_closes_it(clients, desk, group, marina, oleg):
    marina_client = clients.connect(marina, group.roadmap.id)
    oleg_client = clients.connect(oleg, group.roadmap.id)
    inboxes = [Inbox(client, "vote") for client in (marina_client, oleg_client)]
    step_id = new_op_id()
    assert marina_client.send_op("step.add", step_id=step_id, fields={"title": "Сход жителей"})["ok"]

    vote_id = desk.open_vote(dots=3, hide_results=True)["vote"]["id"]
    for inbox in inboxes:
        opened = inbox.wait_for("vote", lambda event: event["vote"]["id"] == vote_id, what="the opened vote")
        assert (opened["vote"]["hide_results"], opened["vote"]["closed"]) == (True, False)

    def dot(client: SyncClient) -> dict:
        return client.call("dot", {"vote_id": vote_id, "step_id": step_id, "action": "add"})

    dot_acks = [dot(marina_client), dot(oleg_client), dot(marina_client)]
    assert all(ack["ok"] for ack in dot_acks), dot_acks
    for ack in dot_acks:
        assert (ack["vote"]["results"], ack["vote"]["ranking"]) == (None, None), ack
    assert dot_acks[1]["vote"]["my_dots"] == {step_id: 1}
    assert dot_acks[2]["vote"]["my_dots"] == {step_id: 2}

    desk.close_vote()
    for inbox in inboxes:
        closed = inbox.wait_for("vote", lambda event: event["vote"]["closed"], what="the closed vote")["vote"]
        assert closed["id"] == vote_id
        assert closed["results"] == {step_id: 3}
        assert (closed["ranking"][0]["step_id"], closed["ranking"][0]["dots"]) == (step_id, 3)
        while_open = [event["vote"] for event in inbox.of("vote") if not event["vote"]["closed"]]
        assert while_open and all((vote["results"], vote["ranking"]) == (None, None) for vote in while_open), (
            inbox.name,
            while_open,
        )

    late = dot(oleg_client)
    assert late["ok"] is False
    assert late["error"]["code"] == "vote_closed"


# --- announcements ---------------------------------------------------------------


def test_an_announcement_to_one_group_reaches_its_editors_and_not_another_groups(
    world, clients, desk, group, marina, quiet_group
):
    anya = world.member(quiet_group, "Аня")
    marina_client = clients.connect(marina, group.roadmap.id)
    anya_client = clients.connect(anya, quiet_group.roadmap.id)
    marina_inbox, anya_inbox = Inbox(marina_client, "announcement"), Inbox(anya_client, "announcement")

    to_one = desk.announce("Группа «Чистый двор»: покажите карту через 5 минут", group_id=str(group.id))
    to_one_id = to_one["announcement"]["id"]
    received = marina_inbox.wait_for(
        "announcement",
        lambda event: event["announcement"]["id"] == to_one_id,
        what="the group's announcement",
    )
    assert received["announcement"]["text"] == to_one["announcement"]["text"]
    assert received["announcement"]["group_id"] == group.id

    # The announcement to everyone is the fence: anything to Anya's group before it would have come first.
    to_all_id = desk.announce("Всем: перерыв 10 минут")["announcement"]["id"]
    for inbox in (marina_inbox, anya_inbox):
        inbox.wait_for("announcement", lambda event: event["announcement"]["id"] == to_all_id, what="the fence")

    assert [event["announcement"]["id"] for event in anya_inbox.of("announcement")] == [to_all_id]
    assert sorted(event["announcement"]["id"] for event in marina_inbox.of("announcement")) == [to_one_id, to_all_id]


# --- the end of the training -------------------------------------------------------


def test_ending_the_training_tells_editors_and_the_dashboard_there_is_no_timer_vote_or_announcement(
    clients, desk, moderator, training, group, marina
):
    marina_client = clients.connect(marina, group.roadmap.id)
    editor = Inbox(marina_client, "timer", "vote", "announcement")
    watcher = clients.connect(moderator)
    dashboard = Inbox(watcher, "timer", "vote")
    assert watcher.call("watch", {"training_id": training.id})["ok"]
    desk.timer("start", minutes="10")
    desk.timer("start", minutes="5", group_id=str(group.id))
    vote_id = desk.open_vote(dots=3, hide_results=True)["vote"]["id"]
    desk.announce("Всем: через 10 минут показываем карты")
    editor.wait_for("vote", lambda event: (event["vote"] or {}).get("id") == vote_id, what="the opened vote")

    desk.end_training()

    editor.wait_for("timer", lambda event: event["scope"] == "all" and event["timer"] is None, what="no timer for all")
    editor.wait_for("timer", lambda event: event["scope"] == "group" and event["timer"] is None, what="no group timer")
    editor.wait_for("vote", lambda event: event["vote"] is None, what="no vote")
    editor.wait_for("announcement", lambda event: event["announcement"] is None, what="no announcements")
    dashboard.wait_for("timer", lambda event: event["scope"] == "all" and event["timer"] is None, what="no timer")
    dashboard.wait_for("vote", lambda event: event["vote"] is None, what="no vote")
    rejoined = clients.connect(marina, group.roadmap.id).join_acks[-1]["facilitation"]
    assert rejoined["timers"] == {"all": None, "group": None}
    assert (rejoined["vote"], rejoined["announcements"]) == (None, [])


def test_a_cleared_vote_leaves_the_editors_of_its_map(clients, desk, group, marina):
    marina_client = clients.connect(marina, group.roadmap.id)
    editor = Inbox(marina_client, "vote")
    desk.open_vote(dots=2, hide_results=False, group_id=str(group.id))
    desk.close_vote()

    answer = desk.clear_vote()

    assert answer["vote"] is None
    cleared = editor.wait_for("vote", lambda event: event["vote"] is None, what="no vote")
    assert cleared["roadmap_id"] == group.roadmap.id
