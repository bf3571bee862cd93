"""Signing out in Chromium leaves nothing of the map behind: no service worker serving it offline,
no copy in localStorage (Clear-Site-Data on the sign-out's answer)."""

import uuid

import pytest
from browsing import WAIT_MS, join, wait_for_element, wait_until
from playwright.sync_api import Error as PlaywrightError

from roadmap.services import editing

pytestmark = [pytest.mark.browser, pytest.mark.live]
TITLE = "Раздельный сбор во дворе на Садовой"


def opens_offline(context, page, url: str) -> bool:
    """Whether the page at `url` opens with the network gone (only the service worker can serve it)."""
    context.set_offline(True)
    try:
        page.goto(url)
        return page.get_by_text(TITLE).first.is_visible()
    except PlaywrightError:
        return False
    finally:
        context.set_offline(False)


def test_after_signing_out_the_map_no_longer_opens_offline(world, training, group, marina, live_server, chromium):
    editing.apply(
        {
            "op_id": uuid.uuid4().hex,
            "roadmap_id": group.roadmap.id,
            "type": "map.set",
            "field": "title",
            "value": TITLE,
        },
        actor=marina,
    )
    context, page = join(chromium, live_server, training.join_code, "Олег")
    map_url = page.url
    wait_until(
        page,
        "async (path) => Boolean(await caches.match(path))",
        arg=page.evaluate("location.pathname"),
        timeout=WAIT_MS,
    )
    # Only an active service worker answers a navigation; the page fills the cache on its own, sooner.
    wait_until(page, "async () => Boolean((await navigator.serviceWorker.ready).active)", timeout=WAIT_MS)
    assert opens_offline(context, page, map_url)  # what a shared computer kept, before this change
    page.goto(map_url)
    wait_for_element(page, '#connection[data-state="online"]', timeout=WAIT_MS)

    page.locator(".account-menu summary").click()
    page.locator(".account-menu-panel").get_by_role("button", name="Выйти", exact=True).click()
    page.wait_for_url(live_server.url + "/")

    assert page.evaluate("Object.keys(localStorage).filter((key) => key.startsWith('roadmap:'))") == []
    assert page.evaluate("caches.keys()") == []
    assert not opens_offline(context, page, map_url)
    context.close()
