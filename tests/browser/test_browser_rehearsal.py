"""A working group as it really works, in Chromium: two people type into one step's description at
a phone's pace while a third reorders the steps, one typist's network drops twice, and the
moderator locks the map while that typist is offline and unlocks it later. Every letter of both
phrases must arrive, each phrase in one piece, on every screen and on the server, with the steps
in the same order everywhere.
"""

import itertools

import pytest
from browsing import (
    WAIT_MS,
    LatencyProxy,
    agrees_with_server,
    click_at_end,
    join,
    paced_keystrokes,
    type_on_schedule,
    wait_for_element,
)
from conftest import new_id

from roadmap.extensions import db
from roadmap.models import Roadmap
from roadmap.services import editing, snapshots

pytestmark = [pytest.mark.browser, pytest.mark.live]
PHONE = {"width": 360, "height": 740}
TITLES = ["Опрос жителей", "Встреча с управой", "Субботник", "Отчёт жителям"]
DESCRIPTION = "Собраться во дворе."
PHRASES = [" Принести перчатки.", " Позвать школу № 5."]
PACES_S = [0.3, 0.45]
SETTLE_S = 20


def server_map(app, roadmap_id: int) -> dict:
    with app.app_context():
        db.session.expire_all()
        return snapshots.snapshot(db.session.get(Roadmap, roadmap_id))


def description_on_server(app, roadmap_id: int, step_id: str) -> str:
    return next(step for step in server_map(app, roadmap_id)["steps"] if step["id"] == step_id)["description"]


def description_of(page, step_id: str) -> str:
    return page.eval_on_selector(f'.step[data-step-id="{step_id}"] [data-field=description]', "field => field.value")


def step_order(page) -> list[str]:
    return page.eval_on_selector_all(".step", "steps => steps.map(step => step.dataset.stepId)")


class Timeline:
    """What happens to the room while the two type, keyed by how many letters a typist has typed."""

    def __init__(self, typist_pages, reorderer, phone_context, moderator_client):
        self.typed = [0, 0]
        self.typist_pages = typist_pages
        self.reorderer = reorderer
        self.phone_context = phone_context
        self.moderator_client = moderator_client
        self.moves = 0
        self.events = []

    def after_each(self, _number, index):
        self.typed[index] += 1
        a_typed, b_typed = self.typed
        if index == 0 and a_typed in (4, 9, 14):
            self.reorder()
        if index == 1 and b_typed == 5:
            self.phone_offline(True)
        if index == 1 and b_typed == 9:
            self.phone_offline(False)
        if index == 1 and b_typed == 15:
            self.phone_offline(True)
            self.lock(True)

    def reorder(self):
        """The third person moves a step with the keyboard: focus ≡ and press ↑ or ↓."""
        handle = self.reorderer.locator(".step").nth(self.moves % 3).locator(".drag-handle")
        handle.focus()
        self.reorderer.keyboard.press("ArrowDown")
        self.moves += 1
        self.events.append(f"move {self.moves} at {self.typed}")

    def phone_offline(self, offline: bool):
        self.phone_context.set_offline(offline)
        self.events.append(f"phone {'offline' if offline else 'online'} at {self.typed}")

    def lock(self, locked: bool):
        assert self.moderator_client.send_op("map.lock", locked=locked)["ok"]
        self.events.append(f"{'locked' if locked else 'unlocked'} at {self.typed}")


def test_two_typists_a_reorder_a_dropping_network_and_a_lock_lose_no_word(
    app, world, live_server, clients, chromium, artifacts
):
    moderator = world.moderator()
    group = world.group(world.training(moderator))
    roadmap_id = group.roadmap.id
    step_ids = [new_id() for _ in TITLES]
    for step_id, title in zip(step_ids, TITLES):
        fields = {"title": title, "description": DESCRIPTION if title == "Субботник" else ""}
        editing.apply(
            {"op_id": new_id(), "roadmap_id": roadmap_id, "type": "step.add", "step_id": step_id, "fields": fields},
            actor=moderator,
        )
    target = step_ids[2]
    code = group.training.join_code
    page_errors = []
    proxy = LatencyProxy(live_server.port, round_trip_ms=150)
    moderator_client = clients.connect(moderator, roadmap_id)
    a_context, a = join(chromium, live_server, code, "Анна", page_errors=page_errors)
    b_context, b = join(
        chromium, proxy, code, "Борис", viewport=PHONE, page_errors=page_errors, is_mobile=True, has_touch=True
    )
    c_context, c = join(chromium, live_server, code, "Вера", page_errors=page_errors)
    try:
        for page, phone in ((a, False), (b, True)):
            row = page.locator(f'.step[data-step-id="{target}"]')
            row.locator(".step-expand").click()
            click_at_end(page, row.locator("[data-field=description]"), phone)

        timeline = Timeline([a, b], c, b_context, moderator_client)
        type_on_schedule([a, b], paced_keystrokes(PACES_S, PHRASES, seed_value=11), timeline.after_each)

        timeline.phone_offline(False)
        wait_for_element(b, '#connection[data-state="online"]', timeout=WAIT_MS)
        wait_for_element(b, '#connection[data-held="true"]', timeout=WAIT_MS)
        held_on_server = next(step for step in server_map(app, roadmap_id)["steps"] if step["id"] == target)
        timeline.lock(False)

        description_js = (
            f"() => document.querySelector('.step[data-step-id=\"{target}\"] [data-field=description]').value"
        )
        settled = agrees_with_server(
            [a, b, c], lambda: description_on_server(app, roadmap_id, target), description_js, SETTLE_S
        )
        server = server_map(app, roadmap_id)
        final = next(step for step in server["steps"] if step["id"] == target)["description"]
        screens = [description_of(page, target) for page in (a, b, c)]
        orders = [step_order(page) for page in (a, b, c)]
        for name, page in zip("ABC", (a, b, c)):
            page.screenshot(path=str(artifacts / f"{name}-final.png"), full_page=True)
        report = (
            f"server: {final!r}\nscreens: {screens}\nheld while locked: {held_on_server['description']!r}\n"
            f"events: {timeline.events}\npage errors: {page_errors}"
        )
        print(report)

        whole = {DESCRIPTION + "".join(order) for order in itertools.permutations(PHRASES)}
        assert final in whole, f"each phrase whole and after the description:\n{report}"
        assert settled and screens == [final] * 3, f"every screen shows the server's text:\n{report}"
        assert PHRASES[1] not in held_on_server["description"], f"nothing got past the lock:\n{report}"
        assert orders == [[step["id"] for step in server["steps"]]] * 3, f"one step order everywhere:\n{report}"
        assert timeline.moves == 3
        assert not page_errors, report
    finally:
        for context in (a_context, b_context, c_context):
            context.close()
        proxy.close()
