"""An alumna comes back weeks after the training (the server's clock moved 30 days on),
marks a step done, and sees the progress and the "since the training" view move;
the history, print view and PDF are kept as screenshots."""

import uuid
from datetime import timedelta

import pymupdf
import pytest
from conftest import LiveServer, secure_account

from roadmap.services import baselines, editing
from roadmap.timeutil import utcnow
from tests.browsing import wait_for_element, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.live]
WAIT_MS = 15_000
PASSWORD = "лето в сквере 2027"
WEEKS_LATER_DAYS = 30


def add_step(roadmap_id: int, person, title: str, due_in_days: int) -> str:
    step_id = uuid.uuid4().hex
    due_on = (utcnow().date() + timedelta(days=due_in_days)).isoformat()
    editing.apply(
        {
            "op_id": uuid.uuid4().hex,
            "roadmap_id": roadmap_id,
            "type": "step.add",
            "step_id": step_id,
            "fields": {"title": title, "due_on": due_on, "owner": {"member": person.id}},
        },
        actor=person,
    )
    return step_id


@pytest.fixture
def later_server(app, database_url, tmp_path):
    """The real server with its clock 30 days ahead of the training."""
    server = LiveServer(
        database_url,
        app.instance_path,
        tmp_path / "server.log",
        extra_env={"ROADMAP_CLOCK_OFFSET_DAYS": str(WEEKS_LATER_DAYS)},
    )
    server.start()
    yield server
    server.stop()


def test_an_alumna_marks_a_step_done_weeks_later_and_sees_progress_and_what_changed(
    world, training, group, marina, later_server, chromium, artifacts
):
    roadmap_id = group.roadmap.id
    editing.apply(
        {
            "op_id": uuid.uuid4().hex,
            "roadmap_id": roadmap_id,
            "type": "map.set",
            "field": "title",
            "value": "Раздельный сбор во дворе на Садовой",
        },
        actor=marina,
    )
    survey = add_step(roadmap_id, marina, "Опрос жителей", due_in_days=10)
    add_step(roadmap_id, marina, "Договор с региональным оператором", due_in_days=20)
    add_step(roadmap_id, marina, "Праздник открытия площадки", due_in_days=90)
    baselines.end_training(training)
    secure_account(marina, "marina@example.org", PASSWORD)

    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    page = context.new_page()
    page.on("pageerror", lambda error: pytest.fail(f"page error {error}"))
    page.goto(later_server.url + "/sign-in")
    page.fill("#email", "marina@example.org")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/me")
    assert "Раздельный сбор во дворе на Садовой" in page.locator(".my-maps").inner_text()
    assert page.locator(".my-map .progress-words").first.inner_text() == "Выполнено 0 из 3 (0\xa0%)"
    # Weeks later, two steps are past their due dates.
    assert "2" in page.locator(".my-map .overdue-chip").inner_text()

    page.click("a.my-map-title")
    wait_for_element(page, '#connection[data-state="online"]', timeout=WAIT_MS)
    wait_for_element(page, "#progress-pill:not([hidden])", timeout=WAIT_MS)
    assert page.locator("#progress-pill .progress-value").inner_text() == "Выполнено 0 из 3 (0\xa0%)"
    assert page.locator(f'.step[data-step-id="{survey}"]').get_attribute("data-overdue") == "true"

    page.locator(f'.step[data-step-id="{survey}"] [data-field=status]').select_option("done")
    wait_until(
        page,
        "() => document.querySelector('#progress-pill .progress-value').textContent === 'Выполнено 1 из 3 (33\xa0%)'",
        timeout=WAIT_MS,
    )
    assert page.locator(f'.step[data-step-id="{survey}"]').get_attribute("data-overdue") is None

    page.click(".map-nav >> text=После тренинга")
    assert "Опрос жителей" in page.locator(".since-done_since").inner_text()
    assert page.locator("#overall-progress").inner_text() == "Выполнено 1 из 3 (33\xa0%)"
    assert "Договор с региональным оператором" in page.locator(".overdue-list").inner_text()
    page.screenshot(path=str(artifacts / "1-since-the-training.png"), full_page=True)

    page.click(".map-nav >> text=История")
    first_entry = page.locator(".history-entry").first.inner_text()
    assert "Марина" in first_entry and "Опрос жителей" in first_entry
    page.screenshot(path=str(artifacts / "2-history.png"), full_page=True)

    page.goto(f"{later_server.url}/maps/{roadmap_id}/print")
    assert "Опрос жителей" in page.locator("main, body").first.inner_text()
    page.screenshot(path=str(artifacts / "3-print-view.png"), full_page=True)

    response = page.request.get(f"{later_server.url}/maps/{roadmap_id}/export.pdf")
    assert response.ok and response.headers["content-type"].startswith("application/pdf")
    document = pymupdf.open(stream=response.body(), filetype="pdf")
    assert "Опрос жителей" in document[0].get_text()
    document[0].get_pixmap(dpi=90).save(str(artifacts / "4-pdf-page-1.png"))
    context.close()
