"""Two people in real Chromium co-edit one road map, one of them offline for a while."""
import pytest
from browsing import WAIT_MS, join  # noqa: F401 (test_browser_tools imports them from here)

from roadmap.extensions import db
from roadmap.models import Roadmap
from roadmap.services import snapshots

pytestmark = [pytest.mark.browser, pytest.mark.live]


def step_rows(page) -> list[dict]:
    return page.eval_on_selector_all(".step", """steps => steps.map(step => ({
        id: step.dataset.stepId,
        title: step.querySelector('[data-field=title]').value,
        status: step.querySelector('[data-field=status]').value,
        owner: step.querySelector('.owner-select').value,
        due_on: step.querySelector('[data-field=due_on]').value,
    }))""")


def server_rows(app, roadmap_id: int) -> list[dict]:
    with app.app_context():
        db.session.expire_all()
        snapshot = snapshots.snapshot(db.session.get(Roadmap, roadmap_id))
    rows = []
    for step in snapshot["steps"]:
        owner = step["owner"] or {}
        owner_value = f"member:{owner['member']}" if "member" in owner else ""
        rows.append({"id": step["id"], "title": step["title"], "status": step["status"],
                     "owner": owner_value, "due_on": step["due_on"] or ""})
    return rows


def test_two_people_co_edit_and_offline_edits_survive_a_reload(app, world, live_server, chromium, artifacts):
    group = world.group(name="Чистый двор")
    roadmap_id = group.roadmap.id
    join_code = group.training.join_code

    marina_context, marina = join(chromium, live_server, join_code, "Марина")
    oleg_context, oleg = join(chromium, live_server, join_code, "Олег", viewport={"width": 360, "height": 780})

    # Марина adds a step, makes Олег its owner and sets a due date.
    marina.fill("#new-step-title", "Встреча с жителями")
    marina.click("#add-step-form button[type=submit]")
    step = marina.locator(".step").first
    oleg_member_id = oleg.evaluate("JSON.parse(document.getElementById('editor-data').textContent).person.id")
    step.locator(".owner-select").select_option(f"member:{oleg_member_id}")
    step.locator("[data-field=due_on]").fill("2027-05-17")

    # Олег sees all of it without reloading.
    oleg.wait_for_function(
        """() => { const step = document.querySelector('.step');
                   return step && step.querySelector('[data-field=title]').value === 'Встреча с жителями'
                     && step.querySelector('[data-field=due_on]').value === '2027-05-17'
                     && step.querySelector('.owner-select').value !== ''; }""",
        timeout=WAIT_MS,
    )
    assert step_rows(oleg)[0]["owner"] == f"member:{oleg_member_id}"
    marina.screenshot(path=str(artifacts / "1-marina-added-step.png"), full_page=True)
    oleg.screenshot(path=str(artifacts / "2-oleg-sees-step-on-phone.png"), full_page=True)

    # Олег loses the network, edits, and reloads while still offline.
    oleg_context.set_offline(True)
    oleg.wait_for_selector('#connection[data-state="offline"]', timeout=WAIT_MS)
    oleg_step = oleg.locator(".step").first
    oleg_step.locator(".step-expand").click()  # on a phone a step is a summary row until opened
    oleg_step.locator("[data-field=status]").select_option("in_progress")
    title = oleg_step.locator("[data-field=title]")
    title.click()
    title.press("Control+End")
    title.type(" во дворе")
    title.press("Enter")
    oleg.wait_for_function(
        "() => document.querySelector('.connection-pending').textContent.includes('2')", timeout=WAIT_MS
    )
    oleg.reload()
    oleg.wait_for_selector('#connection[data-state="offline"]', timeout=WAIT_MS)
    after_reload = step_rows(oleg)[0]
    assert after_reload["title"] == "Встреча с жителями во дворе"
    assert after_reload["status"] == "in_progress"
    assert "2" in oleg.locator(".connection-pending").text_content()
    oleg.screenshot(path=str(artifacts / "3-oleg-offline-after-reload.png"), full_page=True)
    assert server_rows(app, roadmap_id)[0]["status"] == "planned", "nothing reached the server while offline"

    # Back online: the queued edits go out once and both end with the same map.
    oleg_context.set_offline(False)
    oleg.wait_for_selector('#connection[data-state="online"]', timeout=WAIT_MS)
    oleg.wait_for_function("() => document.querySelector('.connection-pending').textContent === ''", timeout=WAIT_MS)
    marina.wait_for_function(
        """() => document.querySelector('.step [data-field=title]').value === 'Встреча с жителями во дворе'
                 && document.querySelector('.step [data-field=status]').value === 'in_progress'""",
        timeout=WAIT_MS,
    )
    expected = server_rows(app, roadmap_id)
    assert step_rows(marina) == expected
    assert step_rows(oleg) == expected
    assert expected[0]["title"] == "Встреча с жителями во дворе"
    with app.app_context():
        assert db.session.get(Roadmap, roadmap_id).revision == 5  # add, owner, due date, status, title
    marina.screenshot(path=str(artifacts / "4-marina-converged.png"), full_page=True)
    oleg.screenshot(path=str(artifacts / "5-oleg-converged.png"), full_page=True)
    marina_context.close()
    oleg_context.close()
