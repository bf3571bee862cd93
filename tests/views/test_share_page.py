"""The share page: each link with a copy button, a QR code of the read-only link, and how
to subscribe to the calendar on a phone, in Google Calendar and in Yandex Calendar. The links
are stored as a hash (issue 18), yet the page shows them every time it is opened."""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote

import pytest
from browsing import WAIT_MS, join, keep_screenshot
from sqlalchemy import text

from roadmap.extensions import db
from roadmap.services import share_links, sign_in_links


@pytest.fixture
def member_client(app, group):
    client = app.test_client()
    joined = client.post(f"/join/{group.training.join_code}", data={"display_name": "Вера", "group_id": group.id})
    assert joined.status_code == 302
    return client


def share_page(client, group) -> str:
    response = client.get(f"/maps/{group.roadmap.id}/share")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_each_link_has_a_copy_button_and_the_read_only_link_a_qr_code(member_client, group, marina):
    view = share_links.share(group.roadmap, marina, "view")
    feed = share_links.share(group.roadmap, marina, "calendar")

    html = share_page(member_client, group)

    for kind, url in (
        ("view", f"http://localhost/shared/{share_links.link_token(view)}"),
        ("calendar", f"http://localhost/calendar/{share_links.link_token(feed)}.ics"),
    ):
        assert f'id="share-url-{kind}" readonly value="{url}"' in html
        assert re.search(
            rf'<button type="button" class="button copy-button" hidden data-copy="share-url-{kind}"\s+'
            rf'aria-describedby="copy-status-{kind}" data-copied="Скопировано"',
            html,
        )
        assert f'id="copy-status-{kind}" role="status" aria-live="polite"' in html
    qr = re.search(r'<img src="data:image/svg\+xml(;[^,"]*)?,([^"]+)" alt="QR-код ссылки для просмотра"', html)
    svg = base64.b64decode(qr.group(2)).decode() if qr.group(1) == ";base64" else unquote(qr.group(2))
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "<path" in svg
    assert 'src="/static/js/share.js"' in html and "<script>" not in html


def test_the_calendar_card_says_how_to_subscribe_on_a_phone_in_google_and_in_yandex(member_client, group, marina):
    feed = share_links.share(group.roadmap, marina, "calendar")

    html = share_page(member_client, group)

    webcal = f"webcal://localhost/calendar/{share_links.link_token(feed)}.ics"
    assert f'<a class="button" href="{webcal}">Подписаться в Календаре</a>' in html
    assert "https://calendar.google.com/calendar/r?cid=" + webcal.replace(":", "%3A").replace("/", "%2F") in html
    assert "«Другие календари» → + → «Добавить по URL»" in html
    assert "«Новый календарь» → «Подписаться на календарь по ссылке»" in html
    assert "Android" in html and "iPhone" in html


def test_without_links_the_page_offers_to_make_them_and_shows_no_qr(member_client, group):
    html = share_page(member_client, group)

    assert html.count("Создать ссылку") == 2
    assert "data-copy=" not in html and "data:image/svg" not in html


def shown_urls(client, group) -> dict[str, str]:
    return dict(
        re.findall(
            r'id="share-url-(view|calendar)" readonly value="http://localhost([^"]+)"', share_page(client, group)
        )
    )


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_database_holds_only_a_hash_of_each_link(member_client, group, marina):
    share_links.share(group.roadmap, marina, "view")
    share_links.share(group.roadmap, marina, "calendar")
    tokens = [path.split("/")[2].removesuffix(".ics") for path in shown_urls(member_client, group).values()]

    stored = [str(value) for row in db.session.execute(text("SELECT * FROM share_links")) for value in row]

    assert len(tokens) == 2 and not any(token in value for value in stored for token in tokens)
    assert {sign_in_links.token_hash(token) for token in tokens} <= set(stored)


def test_the_page_shows_the_same_links_every_time_and_they_open_the_map(app, member_client, group):
    for kind in ("view", "calendar"):
        assert (
            member_client.post(f"/maps/{group.roadmap.id}/share/{kind}", data={"action": "create"}).status_code == 302
        )

    first, again = shown_urls(member_client, group), shown_urls(member_client, group)

    assert first == again and set(first) == {"view", "calendar"}
    assert all(app.test_client().get(path).status_code == 200 for path in first.values())


def test_after_the_secret_key_changed_a_link_still_works_and_the_page_offers_a_new_one(app, group, marina):
    subscribed = f"/calendar/{share_links.link_token(share_links.share(group.roadmap, marina, 'calendar'))}.ics"
    app.config["SECRET_KEY"] = "a-key-rotated-since"
    client = app.test_client()
    assert (
        client.post(
            f"/join/{group.training.join_code}", data={"display_name": "Вера", "group_id": group.id}
        ).status_code
        == 302
    )

    html = share_page(client, group)

    assert "Ссылка действует с" in html and "но показать её снова нельзя" in html
    assert "календари, подписанные на старую, перестанут обновляться" in html
    assert 'id="share-url-calendar"' not in html
    assert app.test_client().get(subscribed).status_code == 200
    client.post(f"/maps/{group.roadmap.id}/share/calendar", data={"action": "renew"})
    assert app.test_client().get(shown_urls(client, group)["calendar"]).status_code == 200
    assert app.test_client().get(subscribed).status_code == 404


@pytest.mark.browser
@pytest.mark.live
def test_on_a_phone_the_copy_button_puts_the_link_on_the_clipboard_and_says_so(
    group, marina, live_server, chromium, artifacts
):
    view = share_links.share(group.roadmap, marina, "view")
    share_links.share(group.roadmap, marina, "calendar")
    context, page = join(
        chromium,
        live_server,
        group.training.join_code,
        "Вера",
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        permissions=["clipboard-read", "clipboard-write"],
    )
    page.goto(f"{live_server.url}/maps/{group.roadmap.id}/share")

    page.get_by_role("button", name="Копировать").first.click()

    status = page.locator("#copy-status-view")
    status.filter(has_text="Скопировано").wait_for(timeout=WAIT_MS)
    assert page.evaluate("navigator.clipboard.readText()") == f"{live_server.url}/shared/{share_links.link_token(view)}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing runs off a phone's screen
    keep_screenshot(page, "share-phone.png", artifacts, full_page=True)
    context.close()
