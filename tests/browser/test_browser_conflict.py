"""An edit made offline does not silently overwrite a newer one (Chromium, a laptop and a phone).

The phone, offline, sets a step «В работе»; meanwhile the laptop sets it «Выполнен».
When the phone comes back the server refuses the stale edit with `conflict`, and
the phone's owner is told, in words, who changed what, and chooses; the choice is
a new op. The refused edit stays visible until then, across a reload.
"""

import pytest
from browsing import WAIT_MS, join, wait_for_element, wait_until
from conftest import new_id

from roadmap.extensions import db
from roadmap.models import Roadmap
from roadmap.services import editing, snapshots

pytestmark = [pytest.mark.browser, pytest.mark.live]
PHONE = {"width": 360, "height": 740}
NOTHING_PENDING = "() => document.querySelector('.connection-pending').textContent === ''"


def server_status(app, roadmap_id: int) -> str:
    with app.app_context():
        db.session.expire_all()
        return snapshots.snapshot(db.session.get(Roadmap, roadmap_id))["steps"][0]["status"]


def shows_status(page, status: str) -> None:
    wait_until(
        page,
        "status => document.querySelector('.step [data-field=status]').value === status",
        arg=status,
        timeout=WAIT_MS,
    )


@pytest.fixture
def laptop_and_offline_phone_disagree(app, world, live_server, chromium):
    """Мария on a laptop set «Выполнен» while Анна's phone, offline, had set «В работе»."""
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
    laptop_context, laptop = join(chromium, live_server, group.training.join_code, "Мария")
    phone_context, phone = join(
        chromium, live_server, group.training.join_code, "Анна", viewport=PHONE, is_mobile=True, has_touch=True
    )
    phone_context.set_offline(True)
    wait_for_element(phone, '#connection[data-state="offline"]', timeout=WAIT_MS)
    phone.click(".step .step-expand")  # on a phone a step is a summary row until opened
    phone.select_option(".step [data-field=status]", "in_progress")
    laptop.select_option(".step [data-field=status]", "done")
    wait_until(laptop, NOTHING_PENDING, timeout=WAIT_MS)
    phone_context.set_offline(False)
    wait_for_element(phone, "#conflicts .conflict-card", timeout=WAIT_MS)
    yield laptop, phone, roadmap_id
    laptop_context.close()
    phone_context.close()


def test_the_offline_edit_is_refused_and_its_author_is_told_who_changed_what(
    app, laptop_and_offline_phone_disagree, artifacts
):
    laptop, phone, roadmap_id = laptop_and_offline_phone_disagree
    wait_until(phone, NOTHING_PENDING, timeout=WAIT_MS)
    story = phone.locator(".conflict-story").text_content()
    phone.screenshot(path=str(artifacts / "conflict-prompt-on-a-360px-phone.png"))

    assert "Пока вы были не в сети" in story
    assert "«Выполнен»" in story and "Мария" in story and "«Встреча с жителями»" in story
    assert "«В работе»" in phone.locator(".conflict-yours").text_content()
    assert phone.locator(".conflict-keep").text_content() == "Оставить «Выполнен»"
    assert phone.locator(".conflict-set-mine").text_content() == "Поставить «В работе»"
    shows_status(phone, "done")
    assert server_status(app, roadmap_id) == "done"
    assert laptop.eval_on_selector(".step [data-field=status]", "select => select.value") == "done"
    box = phone.locator(".conflict-card").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], "the prompt fits the phone's width"


def test_the_refused_edit_survives_a_reload_and_setting_it_is_a_new_op(app, laptop_and_offline_phone_disagree):
    laptop, phone, roadmap_id = laptop_and_offline_phone_disagree
    phone.reload()
    wait_for_element(phone, '#connection[data-state="online"]', timeout=WAIT_MS)
    wait_for_element(phone, "#conflicts .conflict-card", timeout=WAIT_MS)

    phone.click(".conflict-set-mine")

    wait_for_element(phone, "#conflicts", state="hidden", timeout=WAIT_MS)
    shows_status(laptop, "in_progress")
    wait_until(phone, NOTHING_PENDING, timeout=WAIT_MS)
    assert server_status(app, roadmap_id) == "in_progress"


def test_keeping_the_other_value_sends_nothing(app, laptop_and_offline_phone_disagree):
    laptop, phone, roadmap_id = laptop_and_offline_phone_disagree

    phone.click(".conflict-keep")

    wait_for_element(phone, "#conflicts", state="hidden", timeout=WAIT_MS)
    phone.reload()
    wait_for_element(phone, '#connection[data-state="online"]', timeout=WAIT_MS)
    assert phone.locator("#conflicts .conflict-card").count() == 0
    # Ops go out in order: once a later edit is saved, nothing else was waiting.
    phone.fill("#new-step-title", "Субботник")
    phone.click("#add-step-form button[type=submit]")
    wait_until(phone, NOTHING_PENDING, timeout=WAIT_MS)
    assert server_status(app, roadmap_id) == "done"
