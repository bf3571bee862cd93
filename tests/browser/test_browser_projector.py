"""The projector in real Chromium: the join screen with a QR code phones can use, a 10-step map
fitted into a 1280×720 projector, every group at a glance, and dot-vote results as a slide,
switched with one click from the dashboard; the editor's vote bar says how to vote and ranks after."""

import io
import ipaddress
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from browsing import keep_screenshot, wait_for_element, wait_until
from conftest import LiveServer, new_id
from PIL import Image

from roadmap.services import editing, facilitation, map_templates, snapshots, venue, voting
from tests.browser.test_browser_dashboard import join_group, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.live]
WAIT_MS = 15_000
PROJECTOR = {"width": 1280, "height": 720}


def decoded_qr(locator) -> str:
    import zxingcpp

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(locator.screenshot())))
    assert len(found) == 1, "exactly one QR code on the element"
    return found[0].text


def open_projector(dashboard, live_server, training):
    projector = dashboard.context.new_page()
    projector.set_viewport_size(PROJECTOR)
    projector.on("pageerror", lambda error: pytest.fail(f"projector: page error {error}"))
    projector.goto(f"{live_server.url}/moderate/trainings/{training.id}/projector")
    return projector


def open_dashboard(chromium, live_server, moderator, training):
    dashboard = sign_in(chromium, live_server, moderator)
    dashboard.goto(f"{live_server.url}/moderate/trainings/{training.id}")
    wait_for_element(dashboard, '#dash-connection[data-state="online"]', timeout=WAIT_MS)
    return dashboard


@pytest.fixture
def venue_address():
    addresses = venue.venue_addresses()
    if not addresses:
        pytest.skip("this machine has no network address besides loopback, so phones could not reach it anyway")
    return addresses[0]


@pytest.fixture
def venue_server(app, database_url, tmp_path, venue_address):
    """The server still binds 127.0.0.1, but is told the venue address phones use (ROADMAP_JOIN_HOST)."""
    server = LiveServer(
        database_url, app.instance_path, tmp_path / "server.log", extra_env={"ROADMAP_JOIN_HOST": venue_address}
    )
    server.start()
    yield server
    server.stop()


def test_the_join_screen_shows_the_title_the_code_and_a_qr_code_for_a_venue_address(
    world, venue_server, venue_address, chromium, artifacts
):
    moderator = world.moderator(name="Ирина Соколова")
    training = world.training(moderator, title="Школа городских героев · Вологда")
    world.group(training, name="Чистый двор")
    dashboard = open_dashboard(chromium, venue_server, moderator, training)
    projector = open_projector(dashboard, venue_server, training)

    # A new training's projector starts on the join screen; a click elsewhere and back returns to it.
    wait_for_element(projector, ".projector-join", timeout=WAIT_MS)
    dashboard.click("[data-projector-mode=overview]")
    wait_for_element(projector, ".projector-overview", timeout=WAIT_MS)
    dashboard.click("[data-projector-mode=join]")
    wait_for_element(projector, ".projector-join", timeout=WAIT_MS)
    # The dashboard marks the button once the server has answered, which may come after the projector.
    wait_for_element(dashboard, "[data-projector-mode=join][aria-pressed=true]", timeout=WAIT_MS)
    assert dashboard.get_attribute("[data-projector-mode=overview]", "aria-pressed") == "false"

    join_link = decoded_qr(projector.locator(".projector-qr"))
    host = urlsplit(join_link).hostname
    assert not ipaddress.ip_address(host).is_loopback
    assert join_link == f"http://{venue_address}:{venue_server.port}/?code={training.join_code}"
    assert projector.locator(".projector-join-code").inner_text() == training.join_code
    assert projector.locator(".projector-join-title").inner_text() == "Школа городских героев · Вологда"
    assert projector.locator(".projector-join-url").inner_text() == f"http://{venue_address}:{venue_server.port}/"
    code_box = projector.locator(".projector-join-code").bounding_box()
    qr_box = projector.locator(".projector-qr").bounding_box()
    assert code_box["height"] >= 60 and qr_box["height"] >= 0.5 * PROJECTOR["height"], (code_box, qr_box)
    # Nothing of the dashboard's controls or scores on the projector.
    assert projector.locator(".group-card, form, .score").count() == 0
    assert dashboard.locator(".join-warning").count() == 0
    keep_screenshot(projector, "projector-join.png", artifacts)


def test_on_a_server_listening_on_loopback_only_the_dashboard_says_phones_cannot_reach_it(world, live_server, chromium):
    moderator = world.moderator()
    training = world.training(moderator)
    dashboard = open_dashboard(chromium, live_server, moderator, training)

    warning = dashboard.locator(".join-warning").inner_text()
    assert "ROADMAP_HOST=0.0.0.0 make run" in warning and "Телефоны" in warning
    assert decoded_qr(dashboard.locator(".join-qr")) == f"{live_server.url}/?code={training.join_code}"


def project_a_template_map(world, live_server, chromium):
    """The landscaping template's map on the projector, and the dashboard that chose it."""
    moderator = world.moderator()
    training = world.training(moderator)
    group = world.group(training, name="Сквер у библиотеки", theme="landscaping")
    map_templates.fill(group, moderator, "landscaping", "ru")
    facilitation.project(training, "map", group.id)
    dashboard = open_dashboard(chromium, live_server, moderator, training)
    projector = open_projector(dashboard, live_server, training)
    wait_for_element(projector, "#projected[data-fits] .projected-map", timeout=WAIT_MS)
    return group, dashboard, projector


def test_a_ten_step_template_map_fits_a_1280_by_720_projector_with_readable_step_titles(
    world, live_server, chromium, artifacts
):
    _group, _dashboard, projector = project_a_template_map(world, live_server, chromium)
    projector.screenshot(path=str(artifacts / "projector-map-1280x720.png"))

    steps = projector.locator(".projected-step")
    assert steps.count() == 10
    assert projector.get_attribute("#projected", "data-fits") == "true"
    for index in range(10):
        box = steps.nth(index).bounding_box()
        assert box["x"] >= 0 and box["y"] >= 0, (index, box)
        assert box["x"] + box["width"] <= PROJECTOR["width"] and box["y"] + box["height"] <= PROJECTOR["height"], (
            index,
            box,
        )
    title_px = projector.eval_on_selector(
        ".projected-step-title", "node => parseFloat(getComputedStyle(node).fontSize)"
    )
    assert title_px >= 20
    assert projector.evaluate("document.getElementById('projected').scrollTop") == 0
    print(f"step titles {title_px}px, layout {projector.get_attribute('#projected', 'data-layout')}")


def test_a_map_too_long_for_the_screen_scrolls_through_by_itself_at_readable_size(world, live_server, chromium):
    moderator = world.moderator()
    training = world.training(moderator)
    group = world.group(training, name="Сквер у библиотеки", theme="landscaping")
    for _ in range(4):
        map_templates.fill(group, moderator, "landscaping", "ru")
    facilitation.project(training, "map", group.id)
    dashboard = open_dashboard(chromium, live_server, moderator, training)
    projector = open_projector(dashboard, live_server, training)

    wait_for_element(projector, "#projected[data-fits] .projected-map", timeout=WAIT_MS)

    assert projector.locator(".projected-step").count() == 40
    assert projector.get_attribute("#projected", "data-fits") == "false"
    title_px = projector.eval_on_selector(
        ".projected-step-title", "node => parseFloat(getComputedStyle(node).fontSize)"
    )
    assert title_px >= 20
    # After a pause on the top of the map it moves down on its own, without anyone touching the projector.
    wait_until(projector, "() => document.getElementById('projected').scrollTop > 40", timeout=WAIT_MS)


def test_the_overview_shows_every_groups_title_readiness_and_step_count(world, live_server, chromium, artifacts):
    moderator = world.moderator()
    training = world.training(moderator)
    square = world.group(training, name="Сквер у библиотеки", theme="landscaping")
    map_templates.fill(square, moderator, "landscaping", "ru")
    world.group(training, name="Чистый двор")
    dashboard = open_dashboard(chromium, live_server, moderator, training)
    projector = open_projector(dashboard, live_server, training)

    dashboard.click("[data-projector-mode=overview]")

    wait_for_element(projector, ".projector-overview", timeout=WAIT_MS)
    cards = projector.locator(".overview-group")
    assert cards.locator(".overview-name").all_inner_texts() == ["Сквер у библиотеки", "Чистый двор"]
    assert cards.locator(".overview-steps").all_inner_texts() == ["10 шагов", "0 шагов"]
    assert cards.locator("progress").count() == 2
    projector.screenshot(path=str(artifacts / "projector-overview.png"))


def test_a_vote_shows_the_turnout_while_open_and_ranks_steps_on_the_projector_dashboard_and_editor(
    world, live_server, clients, chromium, artifacts
):
    moderator = world.moderator(name="Ирина Соколова")
    training = world.training(moderator, title="Школа городских героев")
    yard = world.group(training, name="Чистый двор", theme="waste_sorting")
    square = world.group(training, name="Сквер у библиотеки", theme="landscaping")
    map_templates.fill(yard, moderator, "waste_sorting", "ru")
    map_templates.fill(square, moderator, "landscaping", "ru")
    oleg = world.member(square, name="Олег")
    world.member(square, name="Светлана")  # does not vote
    dashboard = open_dashboard(chromium, live_server, moderator, training)
    marina = join_group(chromium, live_server, training.join_code, "Марина", "Чистый двор")
    projector = open_projector(dashboard, live_server, training)

    dashboard.fill("#vote-question", "С чего начнём?")
    dashboard.fill("#vote-dots", "2")
    dashboard.click("form[action$='/votes'] button[type=submit]")
    dashboard.click("[data-projector-mode=votes]")

    # While the vote is open: Марина is told how to vote; the moderator and the projector see the turnout.
    wait_for_element(marina, "#vote-bar:not([hidden])", timeout=WAIT_MS)
    assert marina.locator("#vote-bar .vote-left").inner_text() == (
        "Нажмите +● на шагах, которые считаете самыми важными. Осталось точек: 2"
    )
    wait_for_element(dashboard, "#dash-vote .vote-turnout:has-text('Проголосовали: 0 из 3')", timeout=WAIT_MS)
    marina_steps = marina.locator(".step")
    marina_steps.nth(1).locator(".dot-add").click()
    wait_for_element(marina, "#vote-bar .vote-left:has-text('Осталось точек: 1')", timeout=WAIT_MS)
    marina_steps.nth(1).locator(".dot-add").click()
    wait_for_element(marina, "#vote-bar .vote-left:has-text('Осталось точек: 0')", timeout=WAIT_MS)
    marina.screenshot(path=str(artifacts / "editor-voting.png"))
    wait_for_element(dashboard, "#dash-vote .vote-turnout:has-text('Проголосовали: 1 из 3')", timeout=WAIT_MS)
    oleg_client = clients.connect(oleg, square.roadmap.id)
    square_steps = [step["id"] for step in oleg_client.fresh_snapshot()["steps"]]
    vote_id = voting.current_vote(training.id).id
    for step_id in (square_steps[2], square_steps[4]):
        assert oleg_client.call("dot", {"vote_id": vote_id, "step_id": step_id, "action": "add"})["ok"]
    wait_for_element(dashboard, "#dash-vote .vote-turnout:has-text('Проголосовали: 2 из 3')", timeout=WAIT_MS)
    dashboard.screenshot(path=str(artifacts / "dashboard-voting.png"))
    wait_for_element(projector, ".votes-turnout:has-text('Проголосовали: 2 из 3')", timeout=WAIT_MS)
    assert projector.locator(".vote-ranking li").count() == 0

    # Closed: the ranking across groups, and each group's own, on every screen.
    dashboard.click("form[action$='/votes/close'] button[type=submit]")
    wait_for_element(projector, ".votes-overall li", timeout=WAIT_MS)
    yard_step = marina_steps.nth(1).locator(".step-title").input_value()
    overall = projector.locator(".votes-overall li")
    assert overall.count() == 3
    assert overall.nth(0).locator(".vote-ranking-title").inner_text() == yard_step
    assert overall.nth(0).locator(".dot-count").inner_text() == "● 2"
    assert overall.nth(0).locator(".vote-ranking-group").inner_text() == "Чистый двор"
    assert sorted(overall.locator(".vote-ranking-group").all_inner_texts()) == [
        "Сквер у библиотеки",
        "Сквер у библиотеки",
        "Чистый двор",
    ]
    assert projector.locator(".votes-by-group h3").all_inner_texts() == ["Сквер у библиотеки", "Чистый двор"]
    wait_for_element(dashboard, "#dash-vote .dash-ranking li", timeout=WAIT_MS)
    assert dashboard.locator("#dash-vote .dash-ranking li").first.text_content() == f"● 2 {yard_step} Чистый двор"
    assert dashboard.locator("#dash-vote .vote-turnout").count() == 0
    wait_for_element(marina, "#vote-bar .vote-bar-ranking:not([hidden]) li", timeout=WAIT_MS)
    assert marina.locator("#vote-bar .vote-bar-ranking li").all_text_contents() == [f"● 2 {yard_step}"]
    assert marina.locator("#vote-bar .vote-left").inner_text() == "Наши шаги по числу точек:"
    assert marina.locator(".step-dots:visible").count() == 0
    keep_screenshot(projector, "vote-ranking.png", artifacts)
    dashboard.locator("#dash-vote").screenshot(path=str(artifacts / "dashboard-vote.png"))
    marina.locator("#vote-bar").screenshot(path=str(artifacts / "editor-vote-bar.png"))


def test_the_dashboard_puts_a_groups_stakeholder_grid_on_the_projector_and_it_fits(
    world, live_server, chromium, artifacts
):
    group, dashboard, projector = project_a_template_map(world, live_server, chromium)
    assert not projector.locator(".power-grid").is_visible(), "the projected map leaves the grid out"

    dashboard.locator(f'.group-card[data-group-id="{group.id}"] .card-project-grid').click()
    wait_for_element(projector, "#projected[data-fits] .projector-grid .power-grid-table", timeout=WAIT_MS)
    keep_screenshot(projector, "projector-grid-1280x720.png", artifacts)
    rated = [
        item
        for item in snapshots.snapshot(group.roadmap)["stakeholders"]
        if item["interest"] is not None and item["influence"] is not None
    ]
    assert projector.locator(".power-grid-chip").count() == len(rated) > 0
    assert projector.get_attribute("#projected", "data-fits") == "true"
    assert dashboard.locator(f'.group-card[data-group-id="{group.id}"] .card-project-grid').is_disabled()


def test_the_dashboard_puts_a_groups_timeline_on_the_projector_and_it_fits(world, live_server, chromium, artifacts):
    group, dashboard, projector = project_a_template_map(world, live_server, chromium)
    steps = snapshots.snapshot(group.roadmap)["steps"]
    author = group.training.moderator
    start = date.today() - timedelta(days=20)
    for index, step in enumerate(steps[:8]):  # the template leaves dates to the group: give eight of ten
        for field, day in (
            ("starts_on", start + timedelta(days=9 * index)),
            ("due_on", start + timedelta(days=9 * index + 12)),
        ):
            editing.apply(
                {
                    "op_id": new_id(),
                    "roadmap_id": group.roadmap.id,
                    "type": "step.set",
                    "step_id": step["id"],
                    "field": field,
                    "value": day.isoformat(),
                },
                actor=author,
            )
    editing.apply(
        {
            "op_id": new_id(),
            "roadmap_id": group.roadmap.id,
            "type": "step.depend",
            "step_id": steps[1]["id"],
            "predecessor_id": steps[0]["id"],
        },
        actor=author,
    )

    dashboard.locator(f'.group-card[data-group-id="{group.id}"] .card-project-timeline').click()
    wait_for_element(projector, "#projected[data-fits] .projector-timeline .tp-chart", timeout=WAIT_MS)
    keep_screenshot(projector, "projector-timeline-1280x720.png", artifacts)
    assert projector.locator(".projector-timeline rect.tp-bar").count() == 8
    assert "Без дат" in projector.locator(".projector-timeline .tp-undated").inner_text()
    assert projector.get_attribute("#projected", "data-fits") == "true"
    assert dashboard.locator(f'.group-card[data-group-id="{group.id}"] .card-project-timeline').is_disabled()
