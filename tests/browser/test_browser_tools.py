"""Editor tools in real Chromium: keyboard reorder, delete with undo, stakeholder chips, presence."""

import pytest

from tests.browser.test_browser_editor import WAIT_MS, join
from tests.browsing import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.live]


def titles(page) -> list[str]:
    return page.eval_on_selector_all(".step [data-field=title]", "nodes => nodes.map(node => node.value)")


def add_step(page, title: str) -> None:
    page.fill("#new-step-title", title)
    page.click("#add-step-form button[type=submit]")


def test_keyboard_reorder_and_undo_of_a_delete_reach_the_other_person(world, live_server, chromium, artifacts):
    group = world.group()
    anna_context, anna = join(chromium, live_server, group.training.join_code, "Анна")
    boris_context, boris = join(chromium, live_server, group.training.join_code, "Борис")
    for title in ("Опрос", "Встреча", "Субботник"):
        add_step(anna, title)
    wait_until(boris, "() => document.querySelectorAll('.step').length === 3", timeout=WAIT_MS)

    anna.locator(".step").nth(2).locator(".drag-handle").focus()
    anna.keyboard.press("ArrowUp")
    anna.keyboard.press("ArrowUp")
    assert titles(anna) == ["Субботник", "Опрос", "Встреча"]
    wait_until(
        boris,
        "() => [...document.querySelectorAll('.step [data-field=title]')].map(n => n.value).join() === 'Субботник,Опрос,Встреча'",
        timeout=WAIT_MS,
    )

    anna.locator(".step").nth(1).locator(".step-expand").click()
    anna.locator(".step").nth(1).locator(".step-delete").click()
    wait_until(boris, "() => document.querySelectorAll('.step').length === 2", timeout=WAIT_MS)
    anna.screenshot(path=str(artifacts / "1-undo-toast.png"))
    anna.locator(".toast-action").click()
    wait_until(
        boris,
        "() => [...document.querySelectorAll('.step [data-field=title]')].map(n => n.value).join() === 'Субботник,Опрос,Встреча'",
        timeout=WAIT_MS,
    )
    assert titles(anna) == ["Субботник", "Опрос", "Встреча"]
    anna_context.close()
    boris_context.close()


def test_stakeholder_linked_to_a_step_and_presence_markers_follow_focus_and_closed_tabs(
    world, live_server, chromium, artifacts
):
    group = world.group()
    vera_context, vera = join(chromium, live_server, group.training.join_code, "Вера")
    gleb_context, gleb = join(
        chromium, live_server, group.training.join_code, "Глеб", viewport={"width": 360, "height": 780}
    )
    add_step(vera, "Согласование с управой")
    vera.fill("#new-stakeholder-name", "Управа района")
    vera.click("#add-stakeholder-form button[type=submit]")
    vera.locator(".step .step-expand").click()
    vera.locator(".step .chip").click()
    wait_until(
        gleb,
        "() => document.querySelector('.step .chip[aria-pressed=true]')?.textContent === 'Управа района'",
        timeout=WAIT_MS,
    )
    wait_until(vera, "() => document.querySelectorAll('#presence .avatar').length === 2", timeout=WAIT_MS)

    gleb.locator(".step .step-expand").click()  # on a phone a step is a summary row until opened
    gleb.locator(".step [data-field=title]").click()
    wait_until(
        vera,
        "() => document.querySelector('.step [data-field=title]').classList.contains('is-being-edited')"
        " && document.querySelector('.step .editing-tag')?.textContent === 'Глеб'",
        timeout=WAIT_MS,
    )
    vera.screenshot(path=str(artifacts / "1-gleb-editing-marker.png"))

    gleb_context.close()  # a closed tab leaves the map for everyone else
    wait_until(
        vera,
        "() => document.querySelectorAll('#presence .avatar').length === 1 && !document.querySelector('.editing-tag')",
        timeout=WAIT_MS,
    )
    vera_context.close()


def test_editing_tags_of_two_people_on_one_field_both_go_when_they_stop(world, live_server, chromium):
    import socketio

    group = world.group()
    viewer_context, viewer = join(chromium, live_server, group.training.join_code, "Вера")
    editors = []
    for name in ("Анна", "Борис"):
        client = socketio.Client(reconnection=False)
        client.connect(
            live_server.url, auth={"token": world.token(world.member(group, name))}, transports=["websocket"]
        )
        assert client.call("join", {"roadmap_id": group.roadmap.id}, timeout=10)["ok"]
        assert client.call("focus", {"focus": {"field": "title"}}, timeout=10)["ok"]
        editors.append(client)
    wait_until(viewer, "() => document.querySelectorAll('.map-header .editing-tag').length === 2", timeout=WAIT_MS)

    for client in editors:
        assert client.call("focus", {"focus": None}, timeout=10)["ok"]
    wait_until(viewer, "() => document.querySelectorAll('.editing-tag').length === 0", timeout=WAIT_MS)
    for client in editors:
        client.disconnect()
    viewer_context.close()
