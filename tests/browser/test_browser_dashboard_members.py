"""«Управление группами» on the dashboard follows membership live in real Chromium: someone who
joins after the moderator opened the page shows up with their count, and the moderator gives them a
sign-in link, moves them to another group and removes them, all without reloading the page."""

import re

import pytest

from tests.browser.test_browser_dashboard import join_group
from tests.browsing import sign_in_moderator, wait_for_element, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.live]
WAIT_MS = 15_000


def test_a_late_joiner_is_moved_and_removed_without_a_reload(world, live_server, chromium):
    moderator = world.moderator(name="Ирина Соколова")
    training = world.training(moderator)
    yard = world.group(training, name="Чистый двор", theme="waste_sorting")
    square = world.group(training, name="Сквер у библиотеки", theme="landscaping")
    world.member(square, "Олег")

    dashboard = sign_in_moderator(chromium, live_server, moderator, {"width": 1366, "height": 900})
    dashboard.goto(f"{live_server.url}/moderate/trainings/{training.id}")
    wait_for_element(dashboard, '#dash-connection[data-state="online"]', timeout=WAIT_MS)
    dashboard.evaluate("window.openedOnce = true")  # gone if the page reloads
    dialogs = []

    def answer(dialog):
        dialogs.append(f"{dialog.message} {dialog.default_value}")
        dialog.accept()

    dashboard.on("dialog", answer)
    yard_box = dashboard.locator(f"#manage-group-{yard.id}")
    square_box = dashboard.locator(f"#manage-group-{square.id}")
    assert yard_box.locator("summary").inner_text().endswith("0 участников")

    join_group(chromium, live_server, training.join_code, "Анна Петрова", "Чистый двор")
    anna = yard_box.locator(".member-list li", has=dashboard.locator(".member-name", has_text="Анна Петрова"))
    anna.wait_for(state="attached", timeout=WAIT_MS)
    assert yard_box.locator("summary").inner_text().endswith("1 участник")

    yard_box.locator("summary").click()
    with dashboard.expect_event("dialog", timeout=WAIT_MS):
        anna.get_by_role("button", name="Ссылка для входа: Анна Петрова").click()
    assert re.search(r"https?://\S+", dialogs[-1])  # the personal link to copy

    assert anna.locator("form.member-move input[name=csrf_token]").input_value()  # fetched forms carry the token
    assert anna.get_by_label("Перевести в группу:").input_value() == str(square.id)
    anna.get_by_role("button", name="Перевести: Анна Петрова").click()
    moved = square_box.locator(".member-name", has_text="Анна Петрова")
    moved.wait_for(state="attached", timeout=WAIT_MS)
    assert yard_box.locator(".member-name").count() == 0
    assert square_box.locator("summary").inner_text().endswith("2 участника")
    wait_until(
        dashboard,
        """([id]) => document.querySelector(`.group-card[data-group-id="${id}"] dt.stat-online + dd`)
             ?.textContent.endsWith('/ 2')""",
        arg=[square.id],
        timeout=WAIT_MS,
    )

    square_box.locator("summary").click()
    anna_there = square_box.locator(".member-list li", has=dashboard.locator(".member-name", has_text="Анна Петрова"))
    anna_there.get_by_role("button", name="Удалить из группы: Анна Петрова").click()
    moved.wait_for(state="detached", timeout=WAIT_MS)
    assert square_box.locator(".member-name").all_inner_texts() == ["Олег"]
    assert dashboard.evaluate("window.openedOnce") is True
