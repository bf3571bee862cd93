"""Two people in real Chromium co-edit one road map, one of them offline for a while."""

import pytest
from browsing import WAIT_MS, join, keep_screenshot, settles, wait_for_element, wait_until  # noqa: F401 (test_browser_tools imports them from here)

from roadmap.extensions import db
from roadmap.models import Roadmap
from roadmap.services import snapshots

pytestmark = [pytest.mark.browser, pytest.mark.live]


def step_rows(page) -> list[dict]:
    return page.eval_on_selector_all(
        ".step",
        """steps => steps.map(step => ({
        id: step.dataset.stepId,
        title: step.querySelector('[data-field=title]').value,
        status: step.querySelector('[data-field=status]').value,
        owner: step.querySelector('.owner-select').value,
        due_on: step.querySelector('[data-field=due_on]').value,
    }))""",
    )


def server_rows(app, roadmap_id: int) -> list[dict]:
    with app.app_context():
        db.session.expire_all()
        snapshot = snapshots.snapshot(db.session.get(Roadmap, roadmap_id))
    rows = []
    for step in snapshot["steps"]:
        owner = step["owner"] or {}
        owner_value = f"member:{owner['member']}" if "member" in owner else ""
        rows.append(
            {
                "id": step["id"],
                "title": step["title"],
                "status": step["status"],
                "owner": owner_value,
                "due_on": step["due_on"] or "",
            }
        )
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
    wait_until(
        oleg,
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
    wait_for_element(oleg, '#connection[data-state="offline"]', timeout=WAIT_MS)
    oleg_step = oleg.locator(".step").first
    oleg_step.locator(".step-expand").click()  # on a phone a step is a summary row until opened
    oleg_step.locator("[data-field=status]").select_option("in_progress")
    title = oleg_step.locator("[data-field=title]")
    title.click()
    title.press("Control+End")
    title.type(" во дворе")
    title.press("Enter")
    wait_until(oleg, "() => document.querySelector('.connection-pending').textContent.includes('2')", timeout=WAIT_MS)
    oleg.reload()
    wait_for_element(oleg, '#connection[data-state="offline"]', timeout=WAIT_MS)
    after_reload = step_rows(oleg)[0]
    assert after_reload["title"] == "Встреча с жителями во дворе"
    assert after_reload["status"] == "in_progress"
    assert "2" in oleg.locator(".connection-pending").text_content()
    oleg.screenshot(path=str(artifacts / "3-oleg-offline-after-reload.png"), full_page=True)
    assert server_rows(app, roadmap_id)[0]["status"] == "planned", "nothing reached the server while offline"

    # Back online: the queued edits go out once and both end with the same map.
    oleg_context.set_offline(False)
    wait_for_element(oleg, '#connection[data-state="online"]', timeout=WAIT_MS)
    wait_until(oleg, "() => document.querySelector('.connection-pending').textContent === ''", timeout=WAIT_MS)
    wait_until(
        marina,
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


def stakeholder_row(app, roadmap_id: int) -> dict:
    with app.app_context():
        db.session.expire_all()
        [stakeholder] = snapshots.snapshot(db.session.get(Roadmap, roadmap_id))["stakeholders"]
    return {name: stakeholder[name] for name in ("sector", "interest", "influence")}


def test_a_new_stakeholder_starts_unset_on_a_phone_and_can_be_set_and_unset_again(
    app, world, live_server, chromium, artifacts
):
    group = world.group(name="Сквер у библиотеки", theme="landscaping")
    context, phone = join(
        chromium,
        live_server,
        group.training.join_code,
        "Вера",
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
    )

    phone.fill("#new-stakeholder-name", "Управа района")
    phone.click("#add-stakeholder-form button[type=submit]")
    card = phone.locator(".stakeholder").first
    card.wait_for(timeout=WAIT_MS)
    card.locator(".stakeholder-expand").tap()  # phone cards open on a tap
    chosen = {field: card.locator(f"[data-field={field}]") for field in ("sector", "interest", "influence")}
    assert [select.evaluate("select => select.selectedOptions[0].textContent") for select in chosen.values()] == [
        "не выбрано",
        "—",
        "—",
    ]
    assert settles(phone, "() => document.querySelector('.connection-pending').textContent === ''")
    assert stakeholder_row(app, group.roadmap.id) == {"sector": None, "interest": None, "influence": None}

    chosen["sector"].select_option("administration")
    chosen["influence"].select_option("5")
    assert settles(phone, "() => document.querySelector('.connection-pending').textContent === ''")
    assert stakeholder_row(app, group.roadmap.id) == {"sector": "administration", "interest": None, "influence": 5}
    # Influence 5 gives the "those who decide a lot" check something to check.
    assert settles(
        phone,
        """() => !document.querySelector('[data-check=influential_stakeholders_engaged]')
                                      .classList.contains('todo-na')""",
    )

    chosen["sector"].select_option("")
    assert settles(phone, "() => document.querySelector('.connection-pending').textContent === ''")
    assert stakeholder_row(app, group.roadmap.id)["sector"] is None

    phone.locator(".engagement-levels summary").tap()
    levels = phone.locator(".engagement-levels dd")
    assert levels.count() == 5 and levels.first.is_visible()
    assert "объявления" in levels.first.text_content()
    card.scroll_into_view_if_needed()
    keep_screenshot(phone, "stakeholder-unset-phone.png", artifacts)

    # The checklist says what to do for each open check and which have nothing to check yet.
    overdue = phone.locator("[data-check=no_overdue_steps]")
    assert "Пока нечего проверять" in overdue.text_content()
    assert "Заполните «Проблема»" in phone.locator("[data-check=header_filled]").text_content()
    assert phone.locator("#readiness-score").text_content() == "0%"
    phone.locator("#readiness").scroll_into_view_if_needed()
    keep_screenshot(phone, "readiness-phone.png", artifacts)
    context.close()
