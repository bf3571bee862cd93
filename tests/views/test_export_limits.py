"""Making files costs the server seconds (issue 18, finding 2): a person gets at most
EXPORT_RATE_LIMIT downloads a minute, all formats together, counted before the work; a calendar
feed is limited per link. Whoever is over the limit is told so in words; everyone else is not slowed."""

from __future__ import annotations

import threading

import pytest

from roadmap.services import share_links

LIMIT_PER_MINUTE = 10  # Config.EXPORT_RATE_LIMIT
PARALLEL = 15


def joined_client(app, group, name: str):
    client = app.test_client()
    joined = client.post(f"/join/{group.training.join_code}", data={"display_name": name, "group_id": group.id})
    assert joined.status_code == 302
    return client


@pytest.fixture
def vera(app, group):
    return joined_client(app, group, "Вера")


def test_the_eleventh_pdf_in_a_minute_is_refused_while_another_person_still_gets_theirs(app, group, vera):
    pdf = f"/maps/{group.roadmap.id}/export.pdf"
    for _ in range(LIMIT_PER_MINUTE):
        assert vera.get(pdf).mimetype == "application/pdf"

    refused = vera.get(pdf)

    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "Слишком много скачиваний" in page and "Подождите минуту" in page
    assert f'href="/maps/{group.roadmap.id}/share"' in page
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    oleg = joined_client(app, group, "Олег")
    assert oleg.get(pdf).mimetype == "application/pdf"


def test_every_format_counts_toward_one_limit(group, vera):
    for _ in range(LIMIT_PER_MINUTE):
        assert vera.get(f"/maps/{group.roadmap.id}/export.csv").status_code == 200

    for extension in ("pdf", "docx", "xlsx", "csv", "json"):
        assert vera.get(f"/maps/{group.roadmap.id}/export.{extension}").status_code == 429, extension
    assert vera.get(f"/maps/{group.roadmap.id}/poster.pdf").status_code == 429
    assert vera.get(f"/maps/{group.roadmap.id}/print").status_code == 200  # a page to read, not a file to make


def test_parallel_downloads_by_one_person_stop_at_the_limit(app, group, vera):
    session_cookie = vera.get_cookie("session")
    xlsx = f"/maps/{group.roadmap.id}/export.xlsx"
    start = threading.Barrier(PARALLEL)
    statuses = []

    def download() -> None:
        client = app.test_client()
        client.set_cookie("session", session_cookie.value)
        start.wait(timeout=10)
        statuses.append(client.get(xlsx).status_code)

    threads = [threading.Thread(target=download) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [200] * LIMIT_PER_MINUTE + [429] * (PARALLEL - LIMIT_PER_MINUTE)


def test_a_client_asking_for_json_gets_the_refusal_as_json_in_its_language(group, vera):
    vera.post("/lang/en")
    for _ in range(LIMIT_PER_MINUTE):
        vera.get(f"/maps/{group.roadmap.id}/export.json")

    refused = vera.get(f"/maps/{group.roadmap.id}/export.json", headers={"Accept": "application/json"})

    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "rate_limited"
    assert "downloaded many files" in refused.json["error"]["message"]


def test_a_calendar_feed_fetched_too_often_is_refused_while_another_feed_still_answers(app, group, marina, world):
    feed = f"/calendar/{share_links.link_token(share_links.share(group.roadmap, marina, 'calendar'))}.ics"
    other_group = world.group(group.training, "Сквер у библиотеки")
    other_feed = f"/calendar/{share_links.link_token(share_links.share(other_group.roadmap, marina, 'calendar'))}.ics"
    stranger = app.test_client()
    for _ in range(20):  # Config.CALENDAR_FEED_RATE_LIMIT
        assert stranger.get(feed).status_code == 200

    assert stranger.get(feed).status_code == 429
    assert stranger.get(other_feed).status_code == 200
