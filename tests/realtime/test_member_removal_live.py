"""A member the moderator removes, moves or archives stops hearing the map at once.

The moderator works through the real dashboard forms on the live server, so the
removal runs in the server process that holds the sockets (see test_facilitation_live.py).
"""

from __future__ import annotations

import pytest

from tests.livesync import new_op_id
from tests.realtime.test_facilitation_live import Inbox, ModeratorDesk

pytestmark = pytest.mark.live


@pytest.fixture
def desk(live_server, moderator, training) -> ModeratorDesk:
    return ModeratorDesk(live_server.url, moderator, training)


@pytest.fixture
def other_group(world, training):
    return world.group(training, name="Зелёный сквер", theme="landscaping")


def membership_id(person, group) -> int:
    return next(membership.id for membership in person.memberships if membership.group_id == group.id)


def post_form(desk: ModeratorDesk, path: str, **fields) -> None:
    response = desk.browser.post(
        f"{desk.base_url}/moderate/{path}",
        data={"csrf_token": desk.csrf_token, **fields},
        headers={"X-Requested-With": "fetch"},
        timeout=10,
    )
    assert response.status_code == 200 and response.json()["ok"], response.text


def adds_step(step_id: str):
    return lambda change: change["op"].get("step_id") == step_id


def an_edit_reaches_only_the_one_who_stayed(stayed, gone) -> None:
    """An edit made after the departure reaches the client who stayed and not the one who left."""
    step_id = new_op_id()
    assert stayed.send_op("step.add", step_id=step_id, fields={"title": "Позвать управляющую компанию"})["ok"]
    stayed.wait_until(lambda: any(map(adds_step(step_id), stayed.received)), what="the new step's change")
    # The departed client asks the server something; the answer comes after any change queued
    # for this connection before it, so by then the step's change would have arrived.
    gone.call("focus", {"focus": None})
    assert not any(map(adds_step(step_id), list(gone.received)))


def test_a_removed_member_hears_no_more_changes_and_is_told(clients, desk, group, marina, oleg):
    roadmap_id = group.roadmap.id
    marina_client, oleg_client = clients.connect(marina, roadmap_id), clients.connect(oleg, roadmap_id)
    marina_inbox = Inbox(marina_client, "left_group")
    oleg_inbox = Inbox(oleg_client, "presence")

    post_form(desk, f"memberships/{membership_id(marina, group)}/remove")

    notice = marina_inbox.wait_for("left_group", lambda notice: True, "the removal")
    assert notice == {"roadmap_id": roadmap_id, "reason": "removed", "to": None}
    oleg_inbox.wait_for(
        "presence", lambda event: [person["id"] for person in event["people"]] == [oleg.id], "Marina gone from presence"
    )
    an_edit_reaches_only_the_one_who_stayed(oleg_client, marina_client)
    assert marina_client.join(roadmap_id)["error"]["code"] == "forbidden"


def test_a_moved_member_leaves_the_old_map_and_is_told_the_new_one(clients, desk, group, other_group, marina, oleg):
    roadmap_id = group.roadmap.id
    marina_client, oleg_client = clients.connect(marina, roadmap_id), clients.connect(oleg, roadmap_id)
    marina_inbox = Inbox(marina_client, "left_group")

    post_form(desk, f"memberships/{membership_id(marina, group)}/move", to_group_id=str(other_group.id))

    notice = marina_inbox.wait_for("left_group", lambda notice: True, "the move")
    assert notice == {
        "roadmap_id": roadmap_id,
        "reason": "moved",
        "to": {"group_id": other_group.id, "name": "Зелёный сквер", "roadmap_id": other_group.roadmap.id},
    }
    an_edit_reaches_only_the_one_who_stayed(oleg_client, marina_client)
    assert marina_client.join(other_group.roadmap.id)["ok"]


def test_archiving_a_group_sends_its_members_away_but_not_the_moderator(clients, desk, group, moderator, marina):
    roadmap_id = group.roadmap.id
    marina_client, moderator_client = clients.connect(marina, roadmap_id), clients.connect(moderator, roadmap_id)
    marina_inbox = Inbox(marina_client, "left_group")
    moderator_inbox = Inbox(moderator_client, "left_group")

    post_form(desk, f"groups/{group.id}/archive", archived="1")

    notice = marina_inbox.wait_for("left_group", lambda notice: True, "the archive")
    assert notice == {"roadmap_id": roadmap_id, "reason": "archived", "to": None}
    an_edit_reaches_only_the_one_who_stayed(moderator_client, marina_client)
    assert moderator_inbox.of("left_group") == []
