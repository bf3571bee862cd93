"""One person, many devices, in real Chromium: Анна carries her sign-in from a laptop to a
phone with the code «Войти с другого устройства» shows, and a namesake is asked «Это вы?»."""

import pytest
from browsing import WAIT_MS, join, wait_for_element, wait_until

from roadmap.services import trainings

pytestmark = [pytest.mark.browser, pytest.mark.live]
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


def new_phone(browser, name: str):
    context = browser.new_context(locale="ru-RU", **PHONE)
    page = context.new_page()
    page.on("pageerror", lambda error: pytest.fail(f"{name}: page error {error}"))
    return context, page


def add_step(page, title: str) -> None:
    page.fill("#new-step-title", title)
    page.click("#add-step-form button[type=submit]")
    wait_until(
        page,
        "(title) => [...document.querySelectorAll('.step [data-field=title]')].some(field => field.value === title)",
        arg=title,
        timeout=WAIT_MS,
    )


def my_person_id(page) -> int:
    return page.evaluate("JSON.parse(document.getElementById('editor-data').textContent).person.id")


def members_in_owner_list(page) -> list[str]:
    return page.locator(".step").first.locator(".owner-select optgroup").first.locator("option").all_inner_texts()


def test_continuing_on_a_second_device_as_the_same_person(world, live_server, chromium, artifacts):
    group = world.group(name="Чистый двор")
    laptop_context, laptop = join(chromium, live_server, group.training.join_code, "Анна Петрова")
    add_step(laptop, "Опросить жителей домов 12–18")

    # On the laptop: «Войти с другого устройства» in the editor's header shows a code and a QR.
    laptop.click("a.device-link")
    laptop.click("main button[type=submit]")
    code = laptop.locator("#device-code").inner_text().strip()
    assert len(code) == 7 and code[3] == "-"
    assert laptop.locator("img.device-qr").evaluate("img => img.complete && img.naturalWidth > 0")
    laptop.screenshot(path=str(artifacts / "1-laptop-shows-code.png"), full_page=True)

    # The phone types it on the start page and lands in the same map as the same person.
    phone_context, phone = new_phone(chromium, "phone")
    phone.goto(live_server.url + "/")
    phone.click("#have-device-code")
    phone.fill("#code", code.lower())
    phone.click("main button[type=submit]")
    wait_for_element(phone, '#connection[data-state="online"]', timeout=WAIT_MS)
    assert phone.url.endswith(f"/maps/{group.roadmap.id}")
    laptop.goto(f"{live_server.url}/maps/{group.roadmap.id}")
    wait_for_element(laptop, '#connection[data-state="online"]', timeout=WAIT_MS)
    assert my_person_id(phone) == my_person_id(laptop)
    assert members_in_owner_list(phone) == ["Анна Петрова"]

    # Both devices stay signed in and edit; each sees the other's step.
    add_step(phone, "Договориться с управляющей компанией")
    wait_until(laptop, "() => document.querySelectorAll('.step').length === 2", timeout=WAIT_MS)
    add_step(laptop, "Поставить контейнеры")
    wait_until(phone, "() => document.querySelectorAll('.step').length === 3", timeout=WAIT_MS)
    phone.screenshot(path=str(artifacts / "2-phone-in-the-same-map.png"))

    # The history names one Анна for the edits of both devices.
    phone.goto(f"{live_server.url}/maps/{group.roadmap.id}/history")
    sentences = phone.locator(".history-sentence").all_inner_texts()
    assert len(sentences) == 3 and all("Анна Петрова" in sentence for sentence in sentences)
    people = phone.locator("#person option").all_inner_texts()
    assert [name for name in people if "Анна" in name] == ["Анна Петрова"]
    phone.screenshot(path=str(artifacts / "3-history-one-anna.png"), full_page=True)
    phone_context.close()
    laptop_context.close()


def test_joining_with_a_name_in_the_group_asks_is_it_you(world, live_server, chromium, artifacts):
    group = world.group(name="Чистый двор")
    trainings.join_group(group.training, group.id, "Анна Петрова", None)

    context, phone = new_phone(chromium, "namesake")
    phone.goto(live_server.url + "/")
    phone.fill("#join_code", group.training.join_code)
    phone.fill("#display_name", "анна  петрова")
    phone.click("main button[type=submit]")

    assert phone.locator("h1").inner_text() == "Это вы?"
    assert "«Анна Петрова»" in phone.locator(".lead").inner_text()
    assert "Войти с другого устройства" in phone.locator("main").inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.screenshot(path=str(artifacts / "1-is-it-you.png"), full_page=True)
    phone.click("#enter-device-code")
    assert phone.locator("h1").inner_text() == "Код с другого устройства"
    phone.go_back()

    # A different Анна adds her surname's initial and joins as a new member.
    phone.fill("#display_name", "Анна С.")
    phone.get_by_role("button", name="Войти с этим именем", exact=True).click()
    wait_for_element(phone, '#connection[data-state="online"]', timeout=WAIT_MS)
    add_step(phone, "Собрать подписи")
    assert members_in_owner_list(phone) == ["Анна Петрова", "Анна С."]
    context.close()


def test_the_moderator_merges_two_annas_and_the_phone_goes_on_as_the_kept_one(
    world, moderator, live_server, chromium, artifacts
):
    group = world.group(world.training(moderator), name="Чистый двор")
    laptop_context, laptop = join(chromium, live_server, group.training.join_code, "Анна Петрова")
    kept_id = my_person_id(laptop)

    # The phone's battery was dead when she rejoined, so she became a second Анна.
    phone_context, phone = new_phone(chromium, "phone")
    phone.goto(live_server.url + "/")
    phone.fill("#join_code", group.training.join_code)
    phone.fill("#display_name", "Анна Петрова")
    phone.click("main button[type=submit]")
    phone.click("button[name=different_person]")
    wait_for_element(phone, '#connection[data-state="online"]', timeout=WAIT_MS)
    duplicate_id = my_person_id(phone)
    add_step(phone, "Договориться с управляющей компанией")
    phone.locator(".step-expand").first.tap()  # phone cards open on a tap
    phone.locator(".step").first.locator(".owner-select").select_option(f"member:{duplicate_id}")
    wait_until(
        laptop,
        "(id) => document.querySelector('.step .owner-select')?.value === `member:${id}`",
        arg=duplicate_id,
        timeout=WAIT_MS,
    )
    assert members_in_owner_list(laptop) == ["Анна Петрова", "Анна Петрова"]

    # «Объединить с…» on the first Анна's row, confirmed.
    dashboard = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU").new_page()
    dashboard.goto(live_server.url + "/sign-in")
    dashboard.fill("#email", moderator.email)
    dashboard.fill("#password", "correct horse battery")
    dashboard.click("main button[type=submit]")
    dashboard.goto(f"{live_server.url}/moderate/trainings/{group.training_id}")
    dashboard.click(f"#manage-group-{group.id} summary")
    first_row = dashboard.locator(f"#manage-group-{group.id} .member-list > li").first
    dashboard.locator(f"#manage-group-{group.id}").screenshot(path=str(artifacts / "0-two-annas-on-the-dashboard.png"))
    confirmations = []
    dashboard.on("dialog", lambda dialog: (confirmations.append(dialog.message), dialog.accept()))
    first_row.get_by_role("button", name="Объединить с…").click()
    wait_until(
        dashboard,
        "(id) => document.querySelectorAll(`#manage-group-${id} .member-list > li`).length === 1",
        arg=group.id,
        timeout=WAIT_MS,
    )
    assert "Анна Петрова" in confirmations[0]
    dashboard.screenshot(path=str(artifacts / "1-dashboard-after-merge.png"), full_page=True)

    # The laptop sees one Анна owning the step; the phone, reconnected, edits as her.
    wait_until(
        laptop,
        "(id) => document.querySelector('.step .owner-select')?.value === `member:${id}`",
        arg=kept_id,
        timeout=WAIT_MS,
    )
    assert members_in_owner_list(laptop) == ["Анна Петрова"]
    wait_for_element(phone, '#connection[data-state="online"]', timeout=WAIT_MS)
    add_step(phone, "Поставить контейнеры")
    wait_until(laptop, "() => document.querySelectorAll('.step').length === 2", timeout=WAIT_MS)
    phone.goto(f"{live_server.url}/maps/{group.roadmap.id}")
    assert my_person_id(phone) == kept_id
    laptop.goto(f"{live_server.url}/maps/{group.roadmap.id}/history")
    newest = laptop.locator(".history-sentence").first.inner_text()
    assert "Анна Петрова" in newest and "Поставить контейнеры" in newest
    assert any("Мод Модераторов" in sentence for sentence in laptop.locator(".history-sentence").all_inner_texts())
    laptop.screenshot(path=str(artifacts / "2-history-after-merge.png"), full_page=True)
    phone_context.close()
    laptop_context.close()
