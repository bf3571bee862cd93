"""The training's lifecycle in real Chromium: ending the training takes the timer, the vote
and the announcements off a participant's phone and the projector, live and after a reload;
the dashboard's timer and vote buttons are enabled only when they make sense."""

import pytest
from browsing import join, keep_screenshot, settles, wait_for_element

from roadmap.services import facilitation
from tests.browser.test_browser_projector import open_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.live]
WAIT_MS = 15_000
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
TIMER_BUTTONS = ("start", "pause", "resume", "add-1", "add-5", "stop", "clear")

ENABLED_TIMER_BUTTONS = """(expected) => {
  const enabled = [...document.querySelectorAll("button[name='timer-action']")]
    .filter((button) => !button.disabled).map((button) => button.value);
  return JSON.stringify(enabled) === JSON.stringify(expected);
}"""
ENABLED_VOTE_BUTTONS = """(expected) => {
  const enabled = [...document.querySelectorAll('[data-vote-action]')]
    .filter((button) => !button.disabled).map((button) => button.dataset.voteAction);
  return JSON.stringify(enabled) === JSON.stringify(expected);
}"""
NOTHING_FROM_THE_TRAINING = """() => document.getElementById('editor-timer').hidden
  && document.getElementById('vote-bar').hidden
  && !document.body.classList.contains('voting')
  && [...document.querySelectorAll('.step-dots')].every((box) => box.hidden)
  && document.querySelectorAll('.announcement').length === 0
  && !document.body.innerText.includes('Точек')"""


def test_ending_the_training_takes_the_timer_vote_and_announcements_off_the_editor_and_projector(
    world, live_server, chromium, artifacts
):
    moderator = world.moderator(name="Ирина Соколова")
    training = world.training(moderator)
    world.group(training, name="Чистый двор", theme="waste_sorting")
    dashboard = open_dashboard(chromium, live_server, moderator, training)
    _context, marina = join(chromium, live_server, training.join_code, "Марина", **PHONE)
    marina.fill("#new-step-title", "Поставить контейнеры для пластика")
    marina.click("#add-step-form button[type=submit]")
    wait_for_element(marina, ".step", timeout=WAIT_MS)
    projector = dashboard.context.new_page()
    projector.on("pageerror", lambda error: pytest.fail(f"projector: page error {error}"))
    projector.goto(f"{live_server.url}/moderate/trainings/{training.id}/projector")

    # During the training: a timer, an open vote with Марина's dot, an announcement.
    dashboard.fill("#timer-minutes", "20")
    dashboard.click("button[name='timer-action'][value=start]")
    dashboard.fill("#vote-dots", "2")
    dashboard.click("form[action$='/votes'] button[type=submit]")
    dashboard.fill("#announcement-text", "Через 20 минут показываем карты")
    dashboard.click("form[data-tool=announcement] button[type=submit]")
    wait_for_element(marina, "#editor-timer:not([hidden])", timeout=WAIT_MS)
    wait_for_element(marina, "#vote-bar:not([hidden])", timeout=WAIT_MS)
    wait_for_element(marina, ".announcement", timeout=WAIT_MS)
    marina.locator(".step .dot-add").first.click()
    wait_for_element(marina, "#vote-bar .vote-left:has-text('Осталось точек: 1')", timeout=WAIT_MS)
    wait_for_element(projector, "#projector-timer:not([hidden])", timeout=WAIT_MS)

    dashboard.once("dialog", lambda dialog: dialog.accept())
    with dashboard.expect_navigation(timeout=WAIT_MS):  # the dashboard reloads once the training is over
        dashboard.click("form[action$='/end'] button[type=submit]")

    assert settles(marina, NOTHING_FROM_THE_TRAINING), "the editor still shows the training's timer, vote or news"
    wait_for_element(projector, "#projector-timer", state="hidden", timeout=WAIT_MS)
    marina.reload()
    wait_for_element(marina, '#connection[data-state="online"]', timeout=WAIT_MS)
    assert settles(marina, NOTHING_FROM_THE_TRAINING), "after a reload the editor shows the training's leftovers"
    assert marina.locator(".step").count() == 1
    projector.reload()
    wait_for_element(projector, ".projector-screen", timeout=WAIT_MS)
    assert projector.locator("#projector-timer").is_hidden()
    assert "0:00" not in projector.locator("body").inner_text()
    wait_for_element(dashboard, '#dash-connection[data-state="online"]', timeout=WAIT_MS)
    assert dashboard.locator("#dash-timer .countdown").inner_text() == "--:--"
    assert dashboard.locator("#dash-vote").inner_text() == ""
    dashboard.click("[data-projector-mode=votes]")
    wait_for_element(projector, ".votes-note:has-text('Сейчас голосования нет.')", timeout=WAIT_MS)
    marina.evaluate("window.scrollTo(0, 0)")
    keep_screenshot(marina, "editor-after-the-training.png", artifacts)


def test_the_dashboards_timer_and_vote_buttons_are_enabled_only_when_they_make_sense(
    world, live_server, chromium, artifacts
):
    moderator = world.moderator(name="Ирина Соколова")
    training = world.training(moderator)
    group = world.group(training, name="Чистый двор", theme="waste_sorting")
    dashboard = open_dashboard(chromium, live_server, moderator, training)

    def timer_buttons_settle(*enabled):
        assert settles(dashboard, ENABLED_TIMER_BUTTONS, list(enabled)), (
            enabled,
            [
                value
                for value in TIMER_BUTTONS
                if dashboard.locator(f"button[name='timer-action'][value='{value}']").is_enabled()
            ],
        )

    def vote_buttons_settle(*enabled):
        assert settles(dashboard, ENABLED_VOTE_BUTTONS, list(enabled)), enabled

    timer_buttons_settle("start")
    dashboard.click("button[name='timer-action'][value=start]")
    timer_buttons_settle("start", "pause", "add-1", "add-5", "stop")
    dashboard.click("button[name='timer-action'][value=pause]")
    timer_buttons_settle("start", "resume", "add-1", "add-5", "stop")
    keep_screenshot(
        dashboard.locator("section[aria-labelledby=timer-heading]"), "dashboard-timer-paused.png", artifacts
    )
    dashboard.select_option("#timer-group_id", str(group.id))
    timer_buttons_settle("start")
    dashboard.select_option("#timer-group_id", "")
    timer_buttons_settle("start", "resume", "add-1", "add-5", "stop")

    # A timer whose time runs out while the page is open: only «Очистить» and the new start remain sensible.
    facilitation.start_timer(training, 2, group_id=group.id)
    dashboard.reload()
    wait_for_element(dashboard, '#dash-connection[data-state="online"]', timeout=WAIT_MS)
    dashboard.select_option("#timer-group_id", str(group.id))
    timer_buttons_settle("start", "add-1", "add-5", "stop", "clear")
    dashboard.click("button[name='timer-action'][value=clear]")
    timer_buttons_settle("start")

    vote_buttons_settle()
    dashboard.click("form[action$='/votes'] button[type=submit]")
    vote_buttons_settle("close")
    dashboard.click("[data-vote-action=close]")
    vote_buttons_settle("clear")
    dashboard.click("[data-vote-action=clear]")
    vote_buttons_settle()
    assert dashboard.locator("#dash-vote").inner_text() == ""
