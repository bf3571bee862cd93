"""A moderator imports the spreadsheet people actually bring, «№;Шаг;Ответственный;Срок;Статус»
with DD.MM.YYYY dates and Russian statuses, saved as UTF-8 and as Windows-1251, through the
import page in real Chromium, and finds its steps on the new group's map."""

import pytest
from browsing import keep_screenshot, sign_in_moderator, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.live]
WAIT_MS = 15_000
RUSSIAN_SPREADSHEET = (
    "№;Шаг;Ответственный;Срок;Статус\r\n"
    "1;Опрос жителей домов 10–16;Анна Петрова;15.05.2027;выполнен\r\n"
    "2;Встреча с управой;Совет дома;01.06.2027;в работе\r\n"
    "3;Субботник во дворе;;12.06.2027;запланирован\r\n"
)
EXPECTED_STEPS = [
    ("Опрос жителей домов 10–16", "done", "2027-05-15"),
    ("Встреча с управой", "in_progress", "2027-06-01"),
    ("Субботник во дворе", "planned", "2027-06-12"),
]


def sign_in(browser, live_server, moderator):
    return sign_in_moderator(browser, live_server, moderator, {"width": 1024, "height": 800})


def steps_on_the_map(page) -> list[tuple[str, str, str]]:
    return page.eval_on_selector_all(
        "#steps li.step",
        """items => items.map(item => [
        item.querySelector('.step-title').value,
        item.querySelector('[data-field=status]').value,
        item.querySelector('[data-field=due_on]').value])""",
    )


def test_the_russian_spreadsheet_imports_through_the_page_in_utf8_and_in_windows_1251(world, live_server, chromium):
    moderator = world.moderator(name="Ирина Соколова")
    training = world.training(moderator)
    page = sign_in(chromium, live_server, moderator)

    for encoding, group_name in (("utf-8", "Двор (UTF-8)"), ("cp1251", "Двор (Windows-1251)")):
        page.goto(f"{live_server.url}/moderate/trainings/{training.id}/import")
        page.fill("#name", group_name)
        page.set_input_files(
            "#file",
            files=[
                {
                    "name": "дорожная карта.csv",
                    "mimeType": "text/csv",
                    "buffer": RUSSIAN_SPREADSHEET.encode(encoding),
                }
            ],
        )
        page.click("main form button[type=submit]")
        page.wait_for_url(f"**/moderate/trainings/{training.id}", timeout=WAIT_MS)
        assert f"Группа «{group_name}» создана из файла." in page.locator(".flashes").inner_text()

        page.locator(".group-card", has=page.locator(".group-card-name", has_text=group_name)).locator(
            "a[href*='/maps/']"
        ).first.click()
        wait_until(
            page,
            "n => document.querySelectorAll('#steps li.step').length === n",
            arg=len(EXPECTED_STEPS),
            timeout=WAIT_MS,
        )
        assert [tuple(step) for step in steps_on_the_map(page)] == EXPECTED_STEPS, encoding
        owners = page.eval_on_selector_all("#steps li.step .owner-text", "inputs => inputs.map(input => input.value)")
        assert owners == ["Анна Петрова", "Совет дома", ""], encoding


def test_the_import_page_lists_the_columns_it_understands_and_offers_templates(world, live_server, chromium, artifacts):
    moderator = world.moderator(name="Ирина Соколова")
    training = world.training(moderator)
    page = sign_in(chromium, live_server, moderator)

    page.goto(f"{live_server.url}/moderate/trainings/{training.id}/import")

    columns = page.locator("#import-columns table")
    assert "Название шага" in columns.inner_text() and "Дата окончания" in columns.inner_text()
    with page.expect_download() as download_info:
        page.click("a[href='/import/template.xlsx']")
    assert download_info.value.suggested_filename == "Шаги дорожной карты.xlsx"
    keep_screenshot(page, "import.png", artifacts, full_page=True)
