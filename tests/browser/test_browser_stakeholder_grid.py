"""The power/interest grid in real Chromium: a drag, a tap and the arrow keys move a stakeholder,
and a second browser sees it move live."""

import pytest
from browsing import NOTHING_PENDING, join, keep_screenshot, settles
from conftest import new_id

from roadmap.extensions import db
from roadmap.models import Roadmap
from roadmap.services import editing, snapshots

pytestmark = [pytest.mark.browser, pytest.mark.live]

PHONE = {"width": 390, "height": 844}
# Where a chip is drawn: its cell's scores, or "waiting" beside the grid.
CHIP_PLACE = """id => {
    const chip = document.querySelector(`#stakeholder-grid .grid-chip[data-stakeholder-id="${id}"],
                                          #grid-waiting .grid-chip[data-stakeholder-id="${id}"]`);
    if (!chip) return null;
    const cell = chip.closest('.grid-cell');
    return cell ? `${cell.dataset.influence}:${cell.dataset.interest}` : 'waiting';
}"""


def stakeholder_scores(app, page, roadmap_id: int, stakeholder_id: str) -> tuple:
    """The scores stored, once `page` has had every op it sent acknowledged."""
    assert settles(page, f"() => {NOTHING_PENDING}"), "ops still unacknowledged"
    with app.app_context():
        db.session.expire_all()
        snapshot = snapshots.snapshot(db.session.get(Roadmap, roadmap_id))
    item = next(item for item in snapshot["stakeholders"] if item["id"] == stakeholder_id)
    return item["influence"], item["interest"]


def chip_is_at(page, stakeholder_id: str, place: str) -> bool:
    return settles(page, f"id => ({CHIP_PLACE})(id) === {place!r}", arg=stakeholder_id)


@pytest.fixture
def map_with_stakeholders(world):
    moderator = world.moderator()
    group = world.group(world.training(moderator))
    roadmap_id = group.roadmap.id
    ids = {"управа": new_id(), "жители": new_id(), "газета": new_id()}
    fields = {
        "управа": {"name": "Управа района", "sector": "administration", "influence": 5, "interest": 2},
        "жители": {"name": "Жители дома 14", "sector": "residents", "influence": 2, "interest": 5},
        "газета": {"name": "Районная газета", "sector": "media"},
    }
    for key, stakeholder_id in ids.items():
        editing.apply(
            {
                "op_id": new_id(),
                "roadmap_id": roadmap_id,
                "type": "stakeholder.add",
                "stakeholder_id": stakeholder_id,
                "fields": fields[key],
            },
            actor=moderator,
        )
    return group, ids


def test_a_drag_on_a_laptop_moves_the_stakeholder_in_a_second_browser(
    app, live_server, chromium, map_with_stakeholders, artifacts
):
    group, ids = map_with_stakeholders
    marina_context, marina = join(chromium, live_server, group.training.join_code, "Марина")
    oleg_context, oleg = join(chromium, live_server, group.training.join_code, "Олег")
    administration = ids["управа"]
    assert chip_is_at(oleg, administration, "5:2")
    assert chip_is_at(oleg, ids["газета"], "waiting")

    # Марина drags the district council to influence 5, interest 5 with the mouse, in small moves.
    chip = marina.locator(f'.grid-chip[data-stakeholder-id="{administration}"]')
    chip.scroll_into_view_if_needed()
    target = marina.locator('.grid-cell[data-influence="5"][data-interest="5"]').bounding_box()
    start = chip.bounding_box()
    marina.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    marina.mouse.down()
    marina.mouse.move(target["x"] + target["width"] / 2, target["y"] + target["height"] / 2, steps=12)
    assert marina.locator(".grid-cell.is-target").count() == 1  # the cell under the finger is marked
    marina.mouse.up()

    assert chip_is_at(oleg, administration, "5:5"), "Олег's grid did not move the chip"
    assert stakeholder_scores(app, marina, group.roadmap.id, administration) == (5, 5)
    # Influence and interest high, and only informed: flagged on both screens.
    assert settles(
        oleg,
        "id => document.querySelector(`.grid-chip[data-stakeholder-id='${id}']`).classList.contains('is-flagged')",
        arg=administration,
    )
    assert "Управа района" in oleg.locator("#grid-warnings").inner_text()
    oleg.locator(".grid-section").scroll_into_view_if_needed()
    keep_screenshot(oleg.locator(".grid-section"), "stakeholder-grid.png", artifacts)

    # Dropped beside the grid, a stakeholder's scores are cleared.
    chip.scroll_into_view_if_needed()
    start = chip.bounding_box()
    waiting = marina.locator("#grid-waiting").bounding_box()
    marina.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    marina.mouse.down()
    marina.mouse.move(waiting["x"] + waiting["width"] / 2, waiting["y"] + waiting["height"] - 8, steps=12)
    marina.mouse.up()
    assert chip_is_at(oleg, administration, "waiting")
    assert stakeholder_scores(app, marina, group.roadmap.id, administration) == (None, None)
    marina_context.close()
    oleg_context.close()


def test_the_arrow_keys_move_a_focused_stakeholder_and_keep_its_focus(
    app, live_server, chromium, map_with_stakeholders
):
    group, ids = map_with_stakeholders
    marina_context, marina = join(chromium, live_server, group.training.join_code, "Марина")
    oleg_context, oleg = join(chromium, live_server, group.training.join_code, "Олег")
    residents = ids["жители"]
    chip = marina.locator(f'.grid-chip[data-stakeholder-id="{residents}"]')
    chip.focus()
    chip.press("ArrowUp")
    chip.press("ArrowUp")
    assert chip_is_at(marina, residents, "4:5")
    # The chip moved to another cell and still has the focus: the next key moves it on.
    assert marina.evaluate("id => document.activeElement.dataset.stakeholderId === id", residents)
    marina.keyboard.press("ArrowLeft")
    marina.keyboard.press("ArrowRight")
    marina.keyboard.press("ArrowRight")  # already at 5: stays
    marina.keyboard.press("ArrowDown")
    assert chip_is_at(oleg, residents, "3:5")
    assert stakeholder_scores(app, marina, group.roadmap.id, residents) == (3, 5)

    # An unrated stakeholder enters the grid in its middle at the first arrow key.
    newspaper = ids["газета"]
    marina.locator(f'.grid-chip[data-stakeholder-id="{newspaper}"]').focus()
    marina.keyboard.press("ArrowRight")
    assert chip_is_at(oleg, newspaper, "3:3")
    marina_context.close()
    oleg_context.close()


def test_on_a_phone_a_tap_on_the_stakeholder_then_on_a_cell_moves_it(
    app, live_server, chromium, map_with_stakeholders, artifacts
):
    group, ids = map_with_stakeholders
    phone_context, phone = join(
        chromium, live_server, group.training.join_code, "Анна", viewport=PHONE, is_mobile=True, has_touch=True
    )
    laptop_context, laptop = join(chromium, live_server, group.training.join_code, "Мария")
    newspaper = ids["газета"]
    assert phone.locator("#grid-section").get_attribute("open") is None, "on a phone the grid starts closed"
    phone.locator("#grid-toggle").tap()  # beside the stakeholders' heading: the page stays short
    phone.locator(f'.grid-chip[data-stakeholder-id="{newspaper}"]').tap()
    assert phone.locator(f'.grid-chip[data-stakeholder-id="{newspaper}"]').get_attribute("aria-pressed") == "true"
    phone.locator('.grid-cell[data-influence="4"][data-interest="1"]').tap()
    assert chip_is_at(laptop, newspaper, "4:1")
    assert stakeholder_scores(app, phone, group.roadmap.id, newspaper) == (4, 1)
    grid = phone.locator(".grid-section")
    grid.scroll_into_view_if_needed()
    keep_screenshot(grid, "stakeholder-grid-phone.png", artifacts)
    # The grid fits the phone's width: nothing to scroll sideways.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone_context.close()
    laptop_context.close()
