"""Coming back after the training, in Chromium: the printed sheet of personal links, an alumna's
phone from her card to «Мои шаги» and out again, and a password reset through a real mail."""

import re
import uuid
from datetime import timedelta

import pytest
from browsing import WAIT_MS, keep_screenshot, settles, sign_in_moderator, wait_for_element
from conftest import LiveServer, secure_account

from roadmap.services import editing
from roadmap.timeutil import local_today

pytestmark = [pytest.mark.browser, pytest.mark.live]
PHONE = {"width": 360, "height": 740}


def add_step(group, person, title: str, due_in_days: int | None) -> str:
    step_id = uuid.uuid4().hex
    fields = {"title": title, "owner": {"member": person.id}}
    if due_in_days is not None:
        fields["due_on"] = (local_today(group.training.timezone) + timedelta(days=due_in_days)).isoformat()
    editing.apply(
        {
            "op_id": uuid.uuid4().hex,
            "roadmap_id": group.roadmap.id,
            "type": "step.add",
            "step_id": step_id,
            "fields": fields,
        },
        actor=person,
    )
    return step_id


def persistent_cookies(context) -> list[dict]:
    """What the browser keeps when it is closed and opened again: cookies with an expiry."""
    return [cookie for cookie in context.cookies() if cookie["expires"] != -1]


def test_an_alumna_comes_back_from_the_printed_sheet_marks_her_step_done_and_signs_out(
    world, moderator, training, group, marina, live_server, chromium, artifacts
):
    world.member(group, "Олег")
    editing.apply(
        {
            "op_id": uuid.uuid4().hex,
            "roadmap_id": group.roadmap.id,
            "type": "map.set",
            "field": "title",
            "value": "Раздельный сбор во дворе на Садовой",
        },
        actor=marina,
    )
    overdue = add_step(group, marina, "Опрос жителей", due_in_days=-3)
    add_step(group, marina, "Договор с региональным оператором", due_in_days=14)
    add_step(group, marina, "Праздник открытия площадки", due_in_days=None)

    # The last day: the moderator prints the group's sheet from «Управление группами».
    desk = sign_in_moderator(chromium, live_server, moderator, {"width": 1280, "height": 900})
    desk.goto(f"{live_server.url}/moderate/trainings/{training.id}")
    desk.locator(f"#manage-group-{group.id} summary").click()
    desk.get_by_role("button", name=f"Напечатать ссылки для входа: «{group.name}»").click()
    desk.wait_for_url("**/sign-in-sheet")
    cards = desk.locator(".sheet-card")
    assert cards.count() == 2
    marina_card = cards.filter(has_text="Марина")
    assert marina_card.locator("img").get_attribute("src").startswith("data:image/svg+xml")
    link = marina_card.locator(".sheet-link").inner_text()
    assert re.fullmatch(re.escape(live_server.url) + r"/sign-in/link/[\w-]{16}", link)
    desk.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    desk.emulate_media(media="print")
    assert desk.locator(".topbar").is_hidden() and desk.locator(".no-print").first.is_hidden()
    keep_screenshot(desk, "sign-in-sheet.png", artifacts, full_page=True)
    desk.emulate_media(media="screen")
    desk.set_viewport_size({"width": 1280, "height": 900})
    desk.goto(f"{live_server.url}/maps/{group.roadmap.id}")  # the map stays open on the moderator's laptop
    wait_for_element(desk, '#connection[data-state="online"]', timeout=WAIT_MS)

    # Weeks later, on her phone, in a browser that never saw the training.
    context = chromium.new_context(viewport=PHONE, locale="ru-RU", is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.on("pageerror", lambda error: pytest.fail(f"alumna: page error {error}"))
    phone.goto(link)
    phone.get_by_role("button", name="Войти").click()
    phone.wait_for_url("**/account")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    menu = phone.locator(".account-menu summary")
    box = menu.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    menu.click()
    panel = phone.locator(".account-menu-panel")
    assert "Вы вошли как Марина" in panel.inner_text()
    for label in ("Мои карты", "Сохранить доступ", "Почта", "Выйти", "Забыть это устройство"):
        item = panel.get_by_text(label, exact=True)
        assert item.bounding_box()["height"] >= 44, label
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    keep_screenshot(phone, "participant-topbar-phone.png", artifacts)

    panel.get_by_text("Мои карты", exact=True).click()
    phone.wait_for_url("**/me")
    titles = phone.locator(".my-step-title").all_inner_texts()
    assert titles == ["Опрос жителей", "Договор с региональным оператором", "Праздник открытия площадки"]
    assert "просрочен" in phone.locator(".my-step.is-overdue").inner_text()
    keep_screenshot(phone, "my-steps.png", artifacts, full_page=True)

    phone.get_by_role("button", name="Готово: Опрос жителей").click()
    row = phone.locator(f'.my-step[data-step-id="{overdue}"]')
    row.locator(".my-step-status").wait_for(timeout=WAIT_MS)
    assert phone.url.endswith("/me")  # marked in place
    assert "Выполнен" in row.inner_text() and "is-done" in row.get_attribute("class")
    assert settles(
        desk,
        "(id) => document.querySelector(`.step[data-step-id='${id}'] [data-field=status]`).value === 'done'",
        overdue,
    )

    phone.locator(".account-menu summary").click()
    phone.locator(".account-menu-panel").get_by_role("button", name="Выйти", exact=True).click()
    phone.wait_for_url(live_server.url + "/")
    assert phone.locator("#signed-in-as").count() == 0
    assert not any(cookie["name"] == "remember_token" for cookie in context.cookies())
    # The phone's browser closed and opened again: what it kept no longer gets her in.
    reopened = chromium.new_context(viewport=PHONE, storage_state={"cookies": persistent_cookies(context)})
    again = reopened.new_page()
    again.goto(live_server.url + "/me")
    assert "/sign-in" in again.url
    reopened.close()
    context.close()
    desk.context.close()


@pytest.fixture
def mailing_server(app, database_url, tmp_path, smtp_inbox):
    """The real server, sending its mail to the in-process SMTP inbox."""
    server = LiveServer(database_url, app.instance_path, tmp_path / "server.log", extra_env=smtp_inbox.environment())
    server.start()
    yield server
    server.stop()


def test_a_forgotten_password_is_reset_through_the_mailed_link_and_a_shared_computer_forgotten(
    world, group, mailing_server, smtp_inbox, chromium, artifacts
):
    anna = secure_account(world.member(group, "Анна"), "anna@example.org", "старый пароль 2027")
    context = chromium.new_context(viewport={"width": 1100, "height": 800}, locale="ru-RU")
    page = context.new_page()
    page.on("pageerror", lambda error: pytest.fail(f"page error {error}"))

    page.goto(mailing_server.url + "/sign-in")
    assert page.locator("h1").inner_text() == "Вход"
    page.get_by_role("link", name="Забыли пароль?").click()
    page.fill("#email", "anna@example.org")
    page.get_by_role("button", name="Прислать ссылку").click()
    assert "anna@example.org" in page.locator("#reset-sent").inner_text()

    mail = smtp_inbox.wait_for(lambda message: message["To"] == "anna@example.org")
    assert mail["Subject"] == "Новый пароль для «Дорожной карты»"
    link = re.search(r"http://\S+/reset-password/[\w-]+", mail.get_body(("plain",)).get_content()).group(0)
    page.goto(link)
    page.fill("#password", "новый пароль 2027")
    page.fill("#confirm", "новый пароль 2027")
    page.get_by_role("button", name="Сохранить и войти").click()
    page.wait_for_url("**/me")
    assert "Новый пароль сохранён" in page.locator(".flashes").inner_text()

    # On the library's computer: an edit not sent yet, then «Забыть это устройство».
    roadmap_id = group.roadmap.id
    page.evaluate(
        "([mapId, personId]) => {"
        " localStorage.setItem(`roadmap:${mapId}:pending:${personId}`, JSON.stringify([{op_id: 'x'}]));"
        " localStorage.setItem(`roadmap:${mapId}:snapshot`, '{}'); }",
        [roadmap_id, anna.id],
    )
    page.locator(".account-menu summary").click()
    page.get_by_text("Забыть это устройство", exact=True).click()
    page.get_by_role("button", name="Забыть устройство и выйти").click()
    assert "неотправленные изменения: 1" in page.locator("#forget-unsent").inner_text()
    page.get_by_role("button", name="Забыть устройство и выйти").click()
    page.wait_for_url(mailing_server.url + "/")
    assert page.evaluate("Object.keys(localStorage).filter((key) => key.startsWith('roadmap:'))") == []
    assert page.locator("#signed-in-as").count() == 0
    assert all(cookie["name"] != "remember_token" for cookie in context.cookies())

    # The new password signs her in; the link did its work once.
    page.goto(mailing_server.url + "/sign-in")
    page.fill("#email", "anna@example.org")
    page.fill("#password", "новый пароль 2027")
    page.click("main button[type=submit]")
    page.wait_for_url("**/me")
    page.goto(link)
    assert "больше не работает" in page.locator("h1").inner_text()
    context.close()
