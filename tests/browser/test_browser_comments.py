"""Comments on steps in real Chromium: a comment naming a member with @ reaches their top bar
live and opens the thread; a comment written offline, at a phone's pace, arrives after the
reconnect; counts and unread marks on the cards; a moderator hides one."""

import pytest
from browsing import NOTHING_PENDING, join, keep_screenshot, settles, sign_in_moderator, wait_for_element
from conftest import new_id

from roadmap.extensions import db
from roadmap.services import comments, editing

pytestmark = [pytest.mark.browser, pytest.mark.live]

LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
CARD = '.step[data-step-id="{}"]'


@pytest.fixture
def step_map(world):
    moderator = world.moderator()
    group = world.group(world.training(moderator))
    step_id = new_id()
    editing.apply(
        {
            "op_id": new_id(),
            "roadmap_id": group.roadmap.id,
            "type": "step.add",
            "step_id": step_id,
            "fields": {"title": "Согласовать площадку с управой", "due_on": "2027-06-01"},
        },
        actor=moderator,
    )
    return group, step_id, moderator


def stored_comments(app, page, roadmap_id: int) -> list[dict]:
    assert settles(page, f"() => {NOTHING_PENDING}"), "ops still unacknowledged"
    with app.app_context():
        db.session.expire_all()
        return comments.comments_of(roadmap_id)


def open_comments(page, step_id: str):
    """Open the step's card at its comments: the 💬 button, or on a phone, where a step without
    comments has none (its row stays narrow), the card's own ▾."""
    card = page.locator(CARD.format(step_id))
    toggle = card.locator(".comment-toggle")
    (toggle if toggle.is_visible() else card.locator(".step-expand")).click()
    return card


def write(page, card, text: str, mention: str | None = None, pace_ms: int = 0) -> None:
    box = card.locator(".comment-body-input")
    box.click()
    box.press_sequentially(text, delay=pace_ms)
    if mention:
        card.locator(".mention-select").select_option(label=mention)
    card.locator(".comment-form button[type=submit]").click()


def test_a_comment_with_a_mention_reaches_the_mentioned_persons_top_bar(
    app, live_server, chromium, step_map, artifacts
):
    group, step_id, _moderator = step_map
    oleg_context, oleg = join(chromium, live_server, group.training.join_code, "Олег", viewport=LAPTOP)
    marina_context, marina = join(chromium, live_server, group.training.join_code, "Марина", viewport=LAPTOP)
    assert oleg.locator("#mentions").is_hidden()

    card = open_comments(marina, step_id)
    write(marina, card, "Позвонишь в управу до среды? ", mention="Олег")

    assert settles(oleg, "() => !document.getElementById('mentions').hidden"), "no mention in Олег's top bar"
    assert oleg.locator("#mentions .mention-count").inner_text() == "1"
    oleg.locator("#mentions summary").click()
    assert "Марина" in oleg.locator("#mentions .mentions-list").inner_text()
    assert "Согласовать площадку с управой" in oleg.locator("#mentions .mentions-list").inner_text()
    # The card counts the comment, marked new for Олег, not for its author.
    oleg_card = oleg.locator(CARD.format(step_id))
    assert settles(
        oleg,
        "node => node.querySelector('.comment-number').textContent === '1'"
        " && node.querySelector('.comment-toggle').classList.contains('has-unread')",
        arg=oleg_card.element_handle(),
    )
    assert "has-unread" not in marina.locator(CARD.format(step_id) + " .comment-toggle").get_attribute("class")

    # The mention opens the map at the step's comments: read, and the mention is gone.
    oleg.locator("#mentions .mentions-list a").first.click()
    wait_for_element(oleg, '#connection[data-state="online"]')
    thread = oleg.locator(CARD.format(step_id) + " .comment-list")
    assert settles(
        oleg, "node => node.textContent.includes('Позвонишь в управу до среды? @Олег')", arg=thread.element_handle()
    )
    assert oleg.locator("#mentions").is_hidden()
    assert "has-unread" not in oleg.locator(CARD.format(step_id) + " .comment-toggle").get_attribute("class")
    stored = stored_comments(app, marina, group.roadmap.id)
    assert [(item["body"], len(item["mentions"])) for item in stored] == [("Позвонишь в управу до среды? @Олег", 1)]

    # Олег answers; Марина's open thread shows the reply under her comment.
    oleg_card = oleg.locator(CARD.format(step_id))
    oleg_card.locator('.comment [data-action="reply"]').first.click()
    write(oleg, oleg_card, "Да, в понедельник.")
    marina_thread = marina.locator(CARD.format(step_id) + " .comment-list")
    assert settles(
        marina,
        "node => node.querySelector('.comment-replies')?.textContent.includes('Да, в понедельник.')",
        arg=marina_thread.element_handle(),
    )
    section = marina.locator(CARD.format(step_id) + " .step-comments")
    section.evaluate("node => node.scrollIntoView({block: 'center'})")
    keep_screenshot(marina, "comments-thread.png", artifacts, clip=section.bounding_box())


def test_a_comment_written_offline_at_a_phones_pace_arrives_after_the_reconnect(app, live_server, chromium, step_map):
    group, step_id, _moderator = step_map
    phone_context, phone = join(
        chromium, live_server, group.training.join_code, "Анна", viewport=PHONE, is_mobile=True, has_touch=True
    )
    laptop_context, laptop = join(chromium, live_server, group.training.join_code, "Марина", viewport=LAPTOP)
    open_comments(laptop, step_id)

    phone_context.set_offline(True)
    wait_for_element(phone, '#connection[data-state="offline"]')
    card = open_comments(phone, step_id)
    write(phone, card, "Я узнаю про контейнеры", pace_ms=300)
    assert settles(phone, "node => node.querySelector('.comment.is-pending') !== null", arg=card.element_handle())
    assert stored_comments_now(app, group.roadmap.id) == []

    phone_context.set_offline(False)
    wait_for_element(phone, '#connection[data-state="online"]')
    laptop_thread = laptop.locator(CARD.format(step_id) + " .comment-list")
    assert settles(
        laptop, "node => node.textContent.includes('Я узнаю про контейнеры')", arg=laptop_thread.element_handle()
    ), "the offline comment never reached Марина"
    assert [item["body"] for item in stored_comments(app, phone, group.roadmap.id)] == ["Я узнаю про контейнеры"]
    assert settles(phone, "node => node.querySelector('.comment.is-pending') === null", arg=card.element_handle())


def stored_comments_now(app, roadmap_id: int) -> list[dict]:
    with app.app_context():
        db.session.expire_all()
        return comments.comments_of(roadmap_id)


def test_a_moderator_hides_a_comment_and_the_group_sees_it_hidden(app, live_server, chromium, step_map):
    group, step_id, moderator = step_map
    member_context, member = join(chromium, live_server, group.training.join_code, "Марина", viewport=LAPTOP)
    write(member, open_comments(member, step_id), "Грубое слово")
    assert [item["body"] for item in stored_comments(app, member, group.roadmap.id)] == ["Грубое слово"]

    moderator_page = sign_in_moderator(chromium, live_server, moderator, LAPTOP)
    moderator_page.goto(f"{live_server.url}/maps/{group.roadmap.id}")
    wait_for_element(moderator_page, '#connection[data-state="online"]')
    open_comments(moderator_page, step_id).locator('.comment [data-action="hide"]').click()

    thread = member.locator(CARD.format(step_id) + " .comment-list")
    assert settles(
        member,
        "node => node.textContent.includes('Модератор скрыл этот комментарий.')"
        " && !node.textContent.includes('Грубое слово')",
        arg=thread.element_handle(),
    )
    assert settles(
        member,
        "node => node.querySelector('.comment-number').textContent === ''",
        arg=member.locator(CARD.format(step_id)).element_handle(),
    )
