"""Edits that meet a lock are kept, shown as waiting, and sent on unlock (Chromium, a phone).

A phone goes offline and adds a stakeholder; the moderator locks the map; the
phone comes back. The stakeholder must stay on the phone, visibly waiting, also
after a reload, and reach the server when the moderator unlocks. The same for
«Отменить» pressed on a deleted step while the map is locked, and a person may
discard what waits, knowingly.
"""

import pytest
from browsing import WAIT_MS, join, wait_for_element, wait_until
from conftest import new_id

from roadmap.extensions import db
from roadmap.models import Roadmap
from roadmap.services import editing, snapshots

pytestmark = [pytest.mark.browser, pytest.mark.live]
PHONE = {"width": 360, "height": 740}


def server_map(app, roadmap_id: int) -> dict:
    with app.app_context():
        db.session.expire_all()
        return snapshots.snapshot(db.session.get(Roadmap, roadmap_id))


def stakeholder_names(page) -> list[str]:
    return page.eval_on_selector_all(".stakeholder [data-field=name]", "fields => fields.map(field => field.value)")


def wait_locked(page, locked: bool) -> None:
    wait_until(page, "locked => document.body.classList.contains('map-locked') === locked", arg=locked, timeout=WAIT_MS)


@pytest.fixture
def room(app, world, live_server, clients, chromium):
    """A group's map with one step, a phone in it and the moderator's own live connection."""
    moderator = world.moderator()
    group = world.group(world.training(moderator))
    roadmap_id = group.roadmap.id
    editing.apply(
        {
            "op_id": new_id(),
            "roadmap_id": roadmap_id,
            "type": "step.add",
            "step_id": new_id(),
            "fields": {"title": "Встреча с жителями"},
        },
        actor=moderator,
    )
    context, phone = join(
        chromium, live_server, group.training.join_code, "Анна", viewport=PHONE, is_mobile=True, has_touch=True
    )
    moderator_client = clients.connect(moderator, roadmap_id)
    yield context, phone, moderator_client, roadmap_id
    context.close()


def lock(moderator_client, locked: bool) -> None:
    assert moderator_client.send_op("map.lock", locked=locked)["ok"]


def add_stakeholder_offline_then_lock(context, phone, moderator_client, name: str) -> None:
    """The phone adds a stakeholder offline; the map is locked before the phone is back."""
    context.set_offline(True)
    wait_for_element(phone, '#connection[data-state="offline"]', timeout=WAIT_MS)
    phone.fill("#new-stakeholder-name", name)
    phone.click("#add-stakeholder-form button[type=submit]")
    lock(moderator_client, True)
    context.set_offline(False)
    wait_for_element(phone, '#connection[data-state="online"]', timeout=WAIT_MS)
    wait_locked(phone, True)
    wait_for_element(phone, '#connection[data-held="true"]', timeout=WAIT_MS)


def test_a_stakeholder_added_offline_waits_through_a_lock_and_a_reload_and_is_sent_on_unlock(app, room, artifacts):
    context, phone, moderator_client, roadmap_id = room
    add_stakeholder_offline_then_lock(context, phone, moderator_client, "Совет дома")

    assert stakeholder_names(phone) == ["Совет дома"]
    assert "ждёт разблокировки" in phone.locator(".connection-pending").text_content()
    assert phone.locator("#lock-waiting").is_visible()
    assert phone.locator(".stakeholder.is-waiting").count() == 1
    assert server_map(app, roadmap_id)["stakeholders"] == []
    phone.evaluate("window.scrollTo(0, 0)")
    phone.screenshot(path=str(artifacts / "1-phone-locked-top.png"))
    phone.locator(".stakeholder").evaluate("item => item.scrollIntoView({block: 'center'})")
    phone.screenshot(path=str(artifacts / "2-phone-locked-waiting-stakeholder.png"))
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "nothing sticks out sideways"

    phone.reload()
    wait_locked(phone, True)
    wait_for_element(phone, '#connection[data-held="true"]', timeout=WAIT_MS)
    assert stakeholder_names(phone) == ["Совет дома"]

    lock(moderator_client, False)
    wait_locked(phone, False)
    wait_until(phone, "() => document.querySelector('.connection-pending').textContent === ''", timeout=WAIT_MS)
    assert [item["name"] for item in server_map(app, roadmap_id)["stakeholders"]] == ["Совет дома"]
    assert phone.locator(".is-waiting").count() == 0
    phone.screenshot(path=str(artifacts / "3-phone-unlocked-and-sent.png"))


def test_undo_pressed_while_the_map_is_locked_restores_the_step_on_unlock(app, room):
    _context, phone, moderator_client, roadmap_id = room
    phone.click(".step .step-expand")
    phone.click(".step .step-delete")
    wait_until(phone, "() => document.querySelectorAll('.step').length === 0", timeout=WAIT_MS)
    wait_until(phone, "() => document.querySelector('.connection-pending').textContent === ''", timeout=WAIT_MS)
    assert server_map(app, roadmap_id)["steps"] == []

    lock(moderator_client, True)
    wait_locked(phone, True)
    phone.click(".toast-action")

    wait_for_element(phone, '#connection[data-held="true"]', timeout=WAIT_MS)
    assert phone.locator(".step").count() == 1
    assert server_map(app, roadmap_id)["steps"] == []
    lock(moderator_client, False)
    wait_until(phone, "() => document.querySelector('.connection-pending').textContent === ''", timeout=WAIT_MS)
    assert [step["title"] for step in server_map(app, roadmap_id)["steps"]] == ["Встреча с жителями"]


def test_a_person_can_discard_what_waits_for_the_unlock_knowingly(app, room):
    context, phone, moderator_client, roadmap_id = room
    add_stakeholder_offline_then_lock(context, phone, moderator_client, "Школа № 5")

    phone.once("dialog", lambda dialog: dialog.accept())
    phone.click("#discard-held")

    wait_until(phone, "() => document.querySelector('.connection-pending').textContent === ''", timeout=WAIT_MS)
    assert stakeholder_names(phone) == []
    lock(moderator_client, False)
    wait_locked(phone, False)
    # Ops go out in order: once a later one is saved, a discarded one would have been too.
    phone.fill("#new-stakeholder-name", "Управа района")
    phone.click("#add-stakeholder-form button[type=submit]")
    wait_until(phone, "() => document.querySelector('.connection-pending').textContent === ''", timeout=WAIT_MS)
    assert [item["name"] for item in server_map(app, roadmap_id)["stakeholders"]] == ["Управа района"]
