"""The moderator controls who comes in with the join code, from the dashboard in real Chromium:
removes a member with «Не пускать обратно по коду» and lets them back with «Разрешить снова»,
makes a new code, and closes joining once the groups are formed, then opens it again."""

import pytest

from tests.browsing import WAIT_MS, join, sign_in_moderator, wait_for_element, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.live]


def dashboard_of(chromium, live_server, moderator, training):
    page = sign_in_moderator(chromium, live_server, moderator, {"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/moderate/trainings/{training.id}")
    wait_for_element(page, '#dash-connection[data-state="online"]', timeout=WAIT_MS)
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def join_page_heading(page, live_server, code: str) -> str:
    """The heading of the code's join page, or its status when there is no such page."""
    response = page.goto(f"{live_server.url}/join/{code}")
    return page.locator("main h1").inner_text() if response.status != 404 else "404"


def test_a_removed_member_kept_out_is_refused_until_let_back(world, live_server, chromium):
    moderator = world.moderator(name="Ирина Соколова")
    training = world.training(moderator)
    yard = world.group(training, name="Чистый двор")
    dashboard = dashboard_of(chromium, live_server, moderator, training)
    _context, anna = join(chromium, live_server, training.join_code, "Анна Петрова")

    yard_box = dashboard.locator(f"#manage-group-{yard.id}")
    anna_row = yard_box.locator(".member-list li", has=dashboard.locator(".member-name", has_text="Анна Петрова"))
    anna_row.wait_for(state="attached", timeout=WAIT_MS)
    yard_box.locator("summary").click()
    anna_row.get_by_label("Не пускать обратно по коду").check()
    anna_row.get_by_role("button", name="Удалить из группы: Анна Петрова").click()
    anna_row.wait_for(state="detached", timeout=WAIT_MS)
    let_back = dashboard.get_by_role("button", name="Разрешить снова: Анна Петрова")
    let_back.wait_for(timeout=WAIT_MS)

    assert join_page_heading(anna, live_server, training.join_code) == "Снова войти нельзя"
    assert "не пускает обратно по коду" in anna.locator("main").inner_text()

    let_back.click()
    let_back.wait_for(state="detached", timeout=WAIT_MS)
    anna.goto(f"{live_server.url}/?code={training.join_code}")
    anna.fill("#display_name", "Анна Петрова")
    anna.get_by_role("button", name="Войти", exact=True).click()
    wait_for_element(anna, '#connection[data-state="online"]', timeout=WAIT_MS)


def test_a_new_code_and_closed_joining_from_the_dashboard(world, live_server, chromium):
    moderator = world.moderator(name="Ирина Соколова")
    training = world.training(moderator)
    world.group(training, name="Чистый двор")
    world.group(training, name="Сквер у библиотеки")
    old_code = training.join_code
    dashboard = dashboard_of(chromium, live_server, moderator, training)
    newcomer = chromium.new_context(locale="ru-RU").new_page()

    dashboard.get_by_role("button", name="Новый код").click()
    wait_until(
        dashboard,
        "([old]) => document.querySelector('.join-card .join-code').textContent !== old",
        arg=[old_code],
        timeout=WAIT_MS,
    )
    new_code = dashboard.locator(".join-card .join-code").inner_text()
    assert join_page_heading(newcomer, live_server, old_code) == "404"
    assert join_page_heading(newcomer, live_server, new_code) == "Выберите свою рабочую группу"

    dashboard.get_by_role("button", name="Закрыть вход по коду").click()
    reopen = dashboard.get_by_role("button", name="Снова открыть вход по коду")
    reopen.wait_for(timeout=WAIT_MS)
    assert join_page_heading(newcomer, live_server, new_code) == "Вход закрыт"
    assert "рабочие группы уже сформированы" in newcomer.locator("main").inner_text()

    reopen.click()
    dashboard.get_by_role("button", name="Закрыть вход по коду").wait_for(timeout=WAIT_MS)
    assert join_page_heading(newcomer, live_server, new_code) == "Выберите свою рабочую группу"
