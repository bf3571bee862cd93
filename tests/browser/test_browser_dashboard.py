"""A moderator runs two groups from the dashboard in real Chromium: timer, announcement,
a participant's step counted live, the lock turning an editor read-only, and the projector."""

import pytest
from browsing import sign_in_moderator, wait_for_element, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.live]
WAIT_MS = 15_000


def new_page(browser, name: str, viewport: dict):
    context = browser.new_context(viewport=viewport, locale="ru-RU")
    page = context.new_page()
    page.on("pageerror", lambda error: pytest.fail(f"{name}: page error {error}"))
    return page


def join_group(browser, live_server, join_code: str, name: str, group_name: str):
    page = new_page(browser, name, {"width": 390, "height": 844})
    page.goto(live_server.url + "/")
    page.fill("#join_code", join_code)
    page.fill("#display_name", name)
    page.click("main button[type=submit]")
    page.get_by_label(group_name).check()
    page.click("main button[type=submit]")
    wait_for_element(page, '#connection[data-state="online"]', timeout=WAIT_MS)
    return page


def sign_in(browser, live_server, moderator):
    return sign_in_moderator(browser, live_server, moderator, {"width": 1440, "height": 1000})


def card(dashboard, group_name: str):
    return dashboard.locator(".group-card", has=dashboard.locator(".group-card-name", has_text=group_name))


def step_count_on_card(dashboard, group_name: str) -> str:
    return card(dashboard, group_name).locator("dt.stat-steps + dd").inner_text()


def test_a_moderator_runs_two_groups_from_the_dashboard(world, live_server, chromium, artifacts):
    moderator = world.moderator(name="Ирина Соколова")
    training = world.training(moderator)
    world.group(training, name="Чистый двор", theme="waste_sorting")
    world.group(training, name="Сквер у библиотеки", theme="landscaping")

    dashboard = sign_in(chromium, live_server, moderator)
    dashboard.goto(f"{live_server.url}/moderate/trainings/{training.id}")
    wait_for_element(dashboard, '#dash-connection[data-state="online"]', timeout=WAIT_MS)
    marina = join_group(chromium, live_server, training.join_code, "Марина", "Чистый двор")
    oleg = join_group(chromium, live_server, training.join_code, "Олег", "Сквер у библиотеки")

    # A 20-minute timer and an announcement for every group: both editors show them.
    dashboard.fill("#timer-minutes", "20")
    dashboard.fill("#timer-label", "Черновик шагов")
    dashboard.click("button[name='timer-action'][value=start]")
    dashboard.fill("#announcement-text", "Через 20 минут каждая группа показывает свою карту")
    dashboard.click("form[data-tool=announcement] button[type=submit]")
    for page in (marina, oleg):
        wait_for_element(page, "#editor-timer:not([hidden])", timeout=WAIT_MS)
        wait_for_element(page, ".announcement", timeout=WAIT_MS)
        assert page.locator("#editor-timer .countdown-label").inner_text() == "Черновик шагов"
        minutes = int(page.locator("#editor-timer .countdown").inner_text().split(":")[0])
        assert 19 <= minutes <= 20
        assert "каждая группа показывает" in page.locator(".announcement").inner_text()
    assert dashboard.locator("#announcement-log li").count() == 1

    # Марина adds a step; the dashboard counts it without a reload.
    assert step_count_on_card(dashboard, "Чистый двор") == "0"
    marina.fill("#new-step-title", "Опросить жителей домов 12–18")
    marina.click("#add-step-form button[type=submit]")
    wait_until(
        dashboard,
        """() => [...document.querySelectorAll('.group-card')].some(card =>
             card.querySelector('.group-card-name').textContent === 'Чистый двор'
             && card.querySelector('dt.stat-steps + dd').textContent === '1')""",
        timeout=WAIT_MS,
    )
    assert step_count_on_card(dashboard, "Сквер у библиотеки") == "0"
    assert card(dashboard, "Чистый двор").locator("dt.stat-online + dd").inner_text() == "1 / 1"
    marina.evaluate("window.scrollTo(0, 0)")
    marina.screenshot(path=str(artifacts / "1-participant-timer-and-announcement.png"))

    # Shown on the projector: from the join screen a new training starts on, to Марина's map live.
    projector = dashboard.context.new_page()
    projector.set_viewport_size({"width": 1600, "height": 900})
    projector.goto(f"{live_server.url}/moderate/trainings/{training.id}/projector")
    wait_for_element(projector, ".projector-join", timeout=WAIT_MS)
    card(dashboard, "Чистый двор").locator(".card-project").click()
    wait_for_element(projector, ".projected-map", timeout=WAIT_MS)
    assert "Опросить жителей домов 12–18" in projector.locator(".projected-steps").inner_text()

    # The moderator locks every map: Марина's editor turns read-only while she looks at it.
    marina.locator(".step [data-field=title]").first.focus()
    dashboard.click("button[name='lock-locked'][value='1']")
    wait_for_element(marina, "#lock-banner:not([hidden])", timeout=WAIT_MS)
    wait_for_element(oleg, "#lock-banner:not([hidden])", timeout=WAIT_MS)
    assert marina.locator(".step [data-field=title]").first.is_disabled()
    assert marina.locator("#map-title").is_disabled()
    assert not marina.locator("#add-step-form").is_visible()
    wait_until(
        dashboard,
        "() => [...document.querySelectorAll('.group-card')].every(card => card.dataset.locked === 'true')",
        timeout=WAIT_MS,
    )
    wait_for_element(projector, ".projected-map .lock-badge", timeout=WAIT_MS)

    dashboard.screenshot(path=str(artifacts / "2-dashboard.png"), full_page=True)
    projector.screenshot(path=str(artifacts / "3-projector.png"))
    marina.screenshot(path=str(artifacts / "4-participant-locked.png"))

    # Unlocked again, the editor is editable without a reload.
    dashboard.click("button[name='lock-locked'][value='0']")
    wait_for_element(marina, "#lock-banner", state="hidden", timeout=WAIT_MS)
    assert marina.locator("#map-title").is_enabled()
