"""The timeline and step dependencies in real Chromium: a bar dragged on a laptop moves in a
second browser; a phone sets dates by tapping; a dependency that would close a circle is refused."""

from datetime import date, timedelta

import pytest
from browsing import NOTHING_PENDING, join, keep_screenshot, settles
from conftest import new_id

from roadmap.extensions import db
from roadmap.models import Roadmap
from roadmap.services import editing, snapshots

pytestmark = [pytest.mark.browser, pytest.mark.live]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
BAR = '.tl-bar[data-step-id="{}"]'


def stored_steps(app, page, roadmap_id: int) -> dict:
    """The steps as stored, once `page` has had every op it sent acknowledged."""
    assert settles(page, f"() => {NOTHING_PENDING}"), "ops still unacknowledged"
    with app.app_context():
        db.session.expire_all()
        snapshot = snapshots.snapshot(db.session.get(Roadmap, roadmap_id))
    return {step["id"]: step for step in snapshot["steps"]}


def day(offset: int) -> str:
    return (date.today() + timedelta(days=offset)).isoformat()


@pytest.fixture
def planned_map(world):
    """A map of four steps: a site to agree (dated), containers that wait for it (dated, starting
    too early), a party (dated, done) and leaflets without dates."""
    moderator = world.moderator()
    group = world.group(world.training(moderator))
    roadmap_id = group.roadmap.id
    ids = {key: new_id() for key in ("site", "containers", "party", "leaflets", "signatures", "survey")}
    fields = {
        "site": {"title": "Согласовать площадку", "starts_on": day(-10), "due_on": day(10)},
        "containers": {"title": "Поставить контейнеры", "starts_on": day(5), "due_on": day(20)},
        "party": {"title": "Праздник двора", "starts_on": day(-30), "due_on": day(-25), "status": "done"},
        "leaflets": {"title": "Листовки в подъезды"},
        "signatures": {"title": "Собрать подписи жителей", "starts_on": day(-24), "due_on": day(-14), "status": "done"},
        "survey": {"title": "Опрос о контейнерах", "starts_on": day(-14), "due_on": day(-3), "status": "in_progress"},
    }

    def apply(op_type, **keys):
        editing.apply({"op_id": new_id(), "roadmap_id": roadmap_id, "type": op_type, **keys}, actor=moderator)

    for key, step_id in ids.items():
        apply("step.add", step_id=step_id, fields=fields[key])
    apply("step.depend", step_id=ids["containers"], predecessor_id=ids["site"])
    apply("step.depend", step_id=ids["survey"], predecessor_id=ids["signatures"])
    apply("step.depend", step_id=ids["site"], predecessor_id=ids["signatures"])
    return group, ids


def test_dragging_a_bar_moves_it_in_a_second_browser(app, live_server, chromium, planned_map, artifacts):
    group, ids = planned_map
    marina_context, marina = join(chromium, live_server, group.training.join_code, "Марина", viewport=LAPTOP)
    oleg_context, oleg = join(chromium, live_server, group.training.join_code, "Олег", viewport=LAPTOP)
    site = ids["site"]
    assert settles(oleg, f"() => document.querySelector('{BAR.format(site)}') !== null")
    # Drawn: the arrow from the site to the containers, which start too early; the done party; the undated leaflets.
    assert oleg.locator(f'.tl-arrows path[data-from="{site}"][data-to="{ids["containers"]}"]').count() == 1
    assert "is-early" in oleg.locator(BAR.format(ids["containers"])).get_attribute("class")
    assert "is-done" in oleg.locator(BAR.format(ids["party"])).get_attribute("class")
    assert "Листовки в подъезды" in oleg.locator("#timeline-undated").inner_text()
    assert oleg.locator(".tl-today").count() == 1
    assert "is-overdue" in oleg.locator(BAR.format(ids["survey"])).get_attribute("class")
    oleg.locator("#timeline-section").scroll_into_view_if_needed()
    keep_screenshot(oleg, "timeline.png", artifacts, clip=oleg.locator("#timeline-section").bounding_box())
    before = oleg.locator(BAR.format(site)).bounding_box()

    # Марина drags the site's bar three weeks later with the mouse, in small moves (12 px a day).
    bar = marina.locator(BAR.format(site))
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    marina.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    marina.mouse.down()
    marina.mouse.move(box["x"] + box["width"] / 2 + 21 * 12, box["y"] + box["height"] / 2, steps=15)
    marina.mouse.up()

    assert settles(
        oleg, f"() => document.querySelector('{BAR.format(site)}').getBoundingClientRect().x > {before['x'] + 200}"
    ), "Олег's timeline did not move the bar"
    stored = stored_steps(app, marina, group.roadmap.id)[site]
    assert (stored["starts_on"], stored["due_on"]) == (day(11), day(31))
    # Then drag its end a week earlier: only the due date changes.
    marina.locator(BAR.format(site) + " .tl-handle-end").evaluate(
        "node => node.scrollIntoView({block: 'center', inline: 'center'})"
    )
    box = marina.locator(BAR.format(site)).bounding_box()
    marina.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
    marina.mouse.down()
    marina.mouse.move(box["x"] + box["width"] - 2 - 7 * 12, box["y"] + box["height"] / 2, steps=8)
    marina.mouse.up()
    stored = stored_steps(app, marina, group.roadmap.id)[site]
    assert (stored["starts_on"], stored["due_on"]) == (day(11), day(24))
    assert settles(oleg, f"() => document.querySelector('{BAR.format(site)}').getAttribute('aria-label').includes('–')")


def test_a_dependency_that_would_close_a_circle_is_refused_with_the_steps_named(
    app, live_server, chromium, planned_map
):
    group, ids = planned_map
    context, page = join(chromium, live_server, group.training.join_code, "Марина", viewport=LAPTOP)
    for card in page.locator(".step").all():
        card.locator(".step-expand").click()
    site_card = page.locator(f'.step[data-step-id="{ids["site"]}"]')
    site_card.scroll_into_view_if_needed()
    options = site_card.locator(".predecessor-select option").all_inner_texts()
    assert "2. Поставить контейнеры" in options

    site_card.locator(".predecessor-select").select_option(ids["containers"])

    refused = site_card.locator(".dependency-refused")
    assert settles(page, "node => !node.hidden", arg=refused.element_handle())
    assert "«Согласовать площадку» → «Поставить контейнеры» → «Согласовать площадку»" in refused.inner_text()
    assert stored_steps(app, page, group.roadmap.id)[ids["site"]]["depends_on"] == [ids["signatures"]]

    # A dependency without a circle is added, and one click moves the late step and those after it.
    party_card = page.locator(f'.step[data-step-id="{ids["party"]}"]')
    party_card.locator(".predecessor-select").select_option(ids["containers"])
    assert settles(
        page, "node => node.querySelectorAll('.predecessor-chip').length === 1", arg=party_card.element_handle()
    )
    containers_card = page.locator(f'.step[data-step-id="{ids["containers"]}"]')
    assert containers_card.locator(".starts-too-early").is_visible()
    containers_card.locator(".shift-followers").click()
    steps = stored_steps(app, page, group.roadmap.id)
    assert (steps[ids["containers"]]["starts_on"], steps[ids["containers"]]["due_on"]) == (day(10), day(25))
    assert (steps[ids["party"]]["starts_on"], steps[ids["party"]]["due_on"]) == (day(25), day(30))
    assert steps[ids["party"]]["depends_on"] == [ids["containers"]]
    assert settles(page, "node => node.querySelector('.starts-too-early').hidden", arg=containers_card.element_handle())


def test_on_a_phone_the_timeline_scrolls_and_dates_are_set_by_tapping(
    app, live_server, chromium, planned_map, artifacts
):
    group, ids = planned_map
    context, page = join(
        chromium, live_server, group.training.join_code, "Марина", viewport=PHONE, is_mobile=True, has_touch=True
    )
    page.locator("#timeline-toggle").tap()
    assert settles(page, "() => document.getElementById('timeline-section').open")
    scroller = page.locator("#timeline")
    assert settles(page, "node => node.scrollWidth > node.clientWidth", arg=scroller.element_handle())

    # The leaflets have no dates: tap them in the list beside, and pick the dates.
    page.locator("#timeline-undated button", has_text="Листовки в подъезды").tap()
    editor = page.locator("#timeline-editor")
    assert editor.is_visible()
    editor.locator('input[name="starts_on"]').fill(day(3))
    editor.locator('input[name="due_on"]').fill(day(6))
    editor.locator(".tl-editor-close").tap()
    steps = stored_steps(app, page, group.roadmap.id)
    assert (steps[ids["leaflets"]]["starts_on"], steps[ids["leaflets"]]["due_on"]) == (day(3), day(6))
    assert settles(page, f"() => document.querySelector('{BAR.format(ids['leaflets'])}') !== null")
    assert page.locator("#timeline-undated").is_hidden()

    # A tap on a bar opens its dates too.
    page.locator(BAR.format(ids["containers"])).scroll_into_view_if_needed()
    page.locator(BAR.format(ids["containers"])).tap()
    assert "Поставить контейнеры" in editor.locator(".tl-editor-title").inner_text()
    assert editor.locator(".starts-too-early").is_visible()
    keep_screenshot(page, "timeline-phone.png", artifacts, full_page=False)
    editor.locator('input[name="due_on"]').fill(day(28))
    steps = stored_steps(app, page, group.roadmap.id)
    assert steps[ids["containers"]]["due_on"] == day(28)
