"""The editor's controls found by role and accessible name in Chromium, as a screen reader or a
test script finds them: buttons repeated per step or stakeholder say which one, and another
person's presence tag never becomes part of a field's name."""

import re

import pytest
import socketio

from tests.browsing import WAIT_MS, join, wait_for_element, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.live]

STEPS = ["Опрос жителей", "Встреча в управе"]
STAKEHOLDER = "Управа района"
OTHERS = ["Тестовая Жанна", "Глеб Орлов"]  # they have fields in focus
OWNER = "Олег Сидоров"
WIDGET_ROLES = {"button", "combobox", "textbox", "checkbox", "list", "region", "form", "group"}


@pytest.fixture
def editor(world, live_server, chromium):
    """Марина's editor with two steps and one stakeholder, step one owned by Олег; Жанна (on two
    devices) has step one's status and description in focus, Глеб the map's theme."""
    group = world.group(name="Чистый двор")
    zhanna, gleb, oleg = (world.member(group, name) for name in [*OTHERS, OWNER])
    _context, page = join(chromium, live_server, group.training.join_code, "Марина Ковалёва")
    for title in STEPS:
        page.fill("#new-step-title", title)
        page.click("#add-step-form button[type=submit]")
    page.fill("#new-stakeholder-name", STAKEHOLDER)
    page.click("#add-stakeholder-form button[type=submit]")
    wait_for_element(page, "#stakeholders .stakeholder", timeout=WAIT_MS)
    wait_until(page, "() => document.querySelectorAll('#steps .step').length === 2", timeout=WAIT_MS)
    first_step = page.evaluate("document.querySelector('#steps .step').dataset.stepId")
    clients = []
    for person, focus in [
        (zhanna, {"field": "status", "step_id": first_step}),
        (zhanna, {"field": "description", "step_id": first_step}),
        (gleb, {"field": "theme"}),
    ]:
        client = socketio.Client(reconnection=False)
        client.connect(live_server.url, auth={"token": world.token(person)}, transports=["websocket"])
        assert client.call("join", {"roadmap_id": group.roadmap.id}, timeout=10)["ok"]
        assert client.call("focus", {"focus": focus}, timeout=10)["ok"]
        clients.append(client)
    wait_until(page, "() => document.querySelectorAll('.editing-tag').length === 3", timeout=WAIT_MS)
    owner = page.locator(".step").first.locator(".owner-select")
    owner.select_option(f"member:{oleg.id}")
    for title in STEPS:
        details_button(page, title).click()
    yield page
    for client in clients:
        client.disconnect()


def details_button(page, title: str, **options):
    """A card's open/close button: «Подробнее:», then its summary row as the phone shows it."""
    return page.get_by_role("button", name=re.compile(rf"^Подробнее: {re.escape(title)}( |$)"), **options)


def accessibility_tree(page) -> list[dict]:
    """Chromium's own accessibility tree of the page: role, name and description of every node."""
    session = page.context.new_cdp_session(page)
    nodes = session.send("Accessibility.getFullAXTree")["nodes"]
    session.detach()
    return [
        {
            "role": node.get("role", {}).get("value"),
            "name": node.get("name", {}).get("value", ""),
            "description": node.get("description", {}).get("value", ""),
        }
        for node in nodes
        if not node.get("ignored")
    ]


def test_repeated_buttons_name_their_step(editor):
    for title in STEPS:
        assert details_button(editor, title).count() == 1
        assert editor.get_by_role("button", name=f"Удалить шаг «{title}»", exact=True).count() == 1
        # ↑ ↓ show on touch screens, the dots while a vote is open; their names are ready before.
        for name in (
            f"Переместить шаг «{title}» выше",
            f"Переместить шаг «{title}» ниже",
            f"Отдать точку шагу «{title}»",
            f"Забрать точку у шага «{title}»",
        ):
            assert editor.get_by_role("button", name=name, exact=True, include_hidden=True).count() == 1, name


def test_stakeholder_buttons_name_their_stakeholder(editor):
    delete = editor.get_by_role("button", name=f"Удалить заинтересованную сторону «{STAKEHOLDER}»", exact=True)
    assert delete.count() == 1
    assert details_button(editor, STAKEHOLDER, include_hidden=True).count() == 1


def test_a_button_name_follows_the_new_title(editor):
    step = editor.locator(".step").nth(1)
    step.locator(".step-title").fill("Встреча в управе района")
    rename = editor.get_by_role("button", name="Удалить шаг «Встреча в управе района»", exact=True)
    rename.wait_for(timeout=WAIT_MS)
    assert editor.get_by_role("button", name="Удалить шаг «Встреча в управе»", exact=True).count() == 0


def test_add_buttons_lists_and_the_header_have_names_of_their_own(editor):
    assert editor.get_by_role("button", name="Добавить шаг", exact=True).count() == 1
    assert editor.get_by_role("button", name="Добавить заинтересованную сторону", exact=True).count() == 1
    assert editor.get_by_role("list", name="Шаги", exact=True).count() == 1
    assert editor.get_by_role("list", name="Заинтересованные стороны", exact=True).count() == 1
    assert editor.get_by_role("region", name="О проекте", exact=True).count() == 1
    assert editor.get_by_role("textbox", name="Название проекта", exact=True).count() == 1


def test_a_field_someone_else_edits_is_named_by_its_label_only(editor):
    first_step = editor.locator(".step").first
    status = first_step.get_by_role("combobox", name="Статус", exact=True)
    assert status.count() == 1
    assert "is-being-edited" in status.get_attribute("class")
    assert first_step.get_by_role("textbox", name="Описание", exact=True).count() == 1
    assert first_step.get_by_role("combobox", name="Ответственный", exact=True).count() == 1  # Олег chosen
    assert details_button(editor, STEPS[0]).get_attribute("aria-expanded") == "true"
    assert editor.get_by_role("combobox", name="Тема", exact=True).count() == 1


def test_no_control_name_holds_another_persons_name(editor):
    named_after_others = [
        (node["role"], node["name"])
        for node in accessibility_tree(editor)
        if node["role"] in WIDGET_ROLES and any(other in node["name"] for other in OTHERS)
    ]
    assert named_after_others == []


def test_the_presence_tag_is_read_as_the_fields_description(editor):
    described = {
        (node["role"], node["name"]): node["description"]
        for node in accessibility_tree(editor)
        if "редактирует" in node["description"]
    }
    assert described == {
        ("combobox", "Статус"): "Тестовая Жанна редактирует",
        ("textbox", "Описание"): "Тестовая Жанна редактирует",
        ("combobox", "Тема"): "Глеб Орлов редактирует",
    }
