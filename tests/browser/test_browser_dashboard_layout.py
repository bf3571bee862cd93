"""The moderator's dashboard fits the screen in real Chromium: no sideways scroll at 1280 and
1366 px with three long-named groups, a running timer and an open vote; nothing sticks out of
its card; one usable column on a 768 px tablet; the add-group form sits where the empty state
points; the page has an h1 and each group card is a named region with named buttons."""

import pytest

from roadmap.services import facilitation, voting
from tests.browsing import keep_screenshot, sign_in_moderator, wait_for_element

pytestmark = [pytest.mark.browser, pytest.mark.live]
WAIT_MS = 15_000
LONG_NAMES = (
    "Сквер у районной библиотеки имени Н. В. Гоголя",
    "Чистый двор на Комсомольской, 12–18",
    "Велодорожка вдоль набережной реки Вологды",
)

# Elements that end right of their card's inner edge, as "card heading: element" lines.
OVERFLOWING = """() => {
    const found = [];
    for (const card of document.querySelectorAll('.card, .group-card')) {
        const box = card.getBoundingClientRect();
        if (!box.width) continue;
        for (const child of card.querySelectorAll('*')) {
            const edge = child.getBoundingClientRect();
            if (edge.width && edge.right > box.right + 0.5) {
                const title = card.querySelector('h2, .group-card-name')?.textContent.trim();
                found.push(`${title}: ${child.tagName.toLowerCase()}.${child.className} ${Math.round(edge.right - box.right)}px`);
            }
        }
    }
    return found;
}"""

# Selects whose chosen option is wider than the room beside the arrow (a select's
# scrollWidth does not tell), measured with the select's own font.
CLIPPED_SELECTS = """() => {
    const context = document.createElement('canvas').getContext('2d');
    return [...document.querySelectorAll('select')].filter(select => select.clientWidth).filter(select => {
        const style = getComputedStyle(select);
        context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 16;
        return context.measureText(select.selectedOptions[0].textContent).width > room;
    }).map(select => `${select.id}: ${select.selectedOptions[0].textContent}`);
}"""


@pytest.fixture
def busy_training(world):
    moderator = world.moderator(name="Ирина Соколова")
    training = world.training(moderator, title="Школа городских героев: благоустройство дворов и скверов")
    groups = [world.group(training, name=name, theme="landscaping") for name in LONG_NAMES]
    for group, people in zip(groups, (["Анна Петрова", "Олег"], ["Марина"], [])):
        for person in people:
            world.member(group, person)
    facilitation.start_timer(training, 20 * 60, "Черновик шагов: кто отвечает и к какому сроку")
    facilitation.announce(training, moderator, "Через 10 минут каждая группа показывает свою карту на проекторе")
    voting.open_vote(training, 3, question="Какие шаги делаем первыми, до конца весенней уборки?")
    return moderator, training


def open_dashboard(chromium, live_server, moderator, training, width: int, height: int = 900):
    page = sign_in_moderator(chromium, live_server, moderator, {"width": width, "height": height})
    page.goto(f"{live_server.url}/moderate/trainings/{training.id}")
    wait_for_element(page, '#dash-connection[data-state="online"]', timeout=WAIT_MS)
    wait_for_element(page, ".group-card", timeout=WAIT_MS)
    return page


def member_row(page, name: str):
    return page.locator(".member-list li", has=page.locator(".member-name", has_text=name))


def scroll_width(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


@pytest.mark.parametrize("width", [1280, 1366])
def test_no_sideways_scroll_on_a_laptop(busy_training, live_server, chromium, width, artifacts):
    moderator, training = busy_training
    page = open_dashboard(chromium, live_server, moderator, training, width)
    wait_for_element(page, "#dash-vote .vote-status", timeout=WAIT_MS)
    page.evaluate("document.querySelectorAll('details').forEach(details => { details.open = true; })")
    document_width, window_width = scroll_width(page)
    assert document_width <= window_width
    assert page.evaluate(OVERFLOWING) == []
    # Selects are wide enough for their longest option, e.g. «Все группы».
    assert page.evaluate(CLIPPED_SELECTS) == []
    if width == 1366:
        page.set_viewport_size({"width": 1366, "height": 768})
        page.evaluate("window.scrollTo(0, 0)")
        keep_screenshot(page, "dashboard.png", artifacts)


def test_one_usable_column_on_a_tablet(busy_training, live_server, chromium):
    moderator, training = busy_training
    page = open_dashboard(chromium, live_server, moderator, training, 768, 1024)
    page.evaluate("document.querySelectorAll('details').forEach(details => { details.open = true; })")
    document_width, window_width = scroll_width(page)
    assert document_width <= window_width
    assert page.evaluate(OVERFLOWING) == []
    assert page.evaluate(CLIPPED_SELECTS) == []
    groups = page.locator(".dash-groups").bounding_box()
    tools = page.locator(".dash-tools").bounding_box()
    assert tools["y"] >= groups["y"] + groups["height"] - 1  # the tools come below the groups, not beside
    assert groups["width"] >= 700


def test_the_page_names_its_parts(busy_training, live_server, chromium):
    moderator, training = busy_training
    page = open_dashboard(chromium, live_server, moderator, training, 1366)
    assert page.locator("h1").inner_text() == training.title
    name = LONG_NAMES[1]
    region = page.get_by_role("region", name=name)
    assert region.count() == 1
    assert region.get_by_role("button", name=f"Заблокировать «{name}»").is_visible()
    assert region.get_by_role("button", name=f"На проектор: {name}", exact=True).is_visible()
    assert region.get_by_role("button", name=f"Сетку на проектор: {name}", exact=True).is_visible()
    # The move control says where the person goes, not which group they seem to be in.
    anna = member_row(page, "Анна Петрова")
    page.locator(".manage-group", has=anna).locator("summary").click()
    assert anna.get_by_text("Перевести в группу:").is_visible()
    assert anna.get_by_label("Перевести в группу:").is_visible()
    # Buttons repeated per member and per group say whose they are.
    for button in (
        "Перевести: Анна Петрова",
        "Ссылка для входа: Анна Петрова",
        "Объединить с… (Анна Петрова)",
        "Удалить из группы: Анна Петрова",
        f"Переименовать «{LONG_NAMES[0]}»",
        f"Архивировать группу «{LONG_NAMES[0]}»",
    ):
        assert anna.locator("xpath=ancestor::details").get_by_role("button", name=button, exact=True).count() == 1


def test_the_empty_state_points_at_the_add_group_form(world, live_server, chromium):
    moderator = world.moderator(name="Ирина Соколова")
    training = world.training(moderator)
    page = sign_in_moderator(chromium, live_server, moderator, {"width": 1366, "height": 768})
    page.goto(f"{live_server.url}/moderate/trainings/{training.id}")
    empty = page.locator("#groups-empty")
    empty.wait_for(state="visible", timeout=WAIT_MS)
    text = empty.bounding_box()
    form = page.locator(".add-group-form").bounding_box()
    assert 0 <= form["y"] - (text["y"] + text["height"]) < 120
    assert form["y"] + form["height"] <= 768  # in the first screen, no scrolling to find it
    page.fill("#name", "Чистый двор")
    page.click(".add-group-form button[type=submit]")
    wait_for_element(page, ".group-card", timeout=WAIT_MS)
    assert page.locator("#groups-empty").is_hidden()
