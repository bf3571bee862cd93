"""The map after the training: the training day's timer, vote and announcements are gone
from the editor, the projector and the read-only link; a past revision says who made it,
when, and what differs from now; overdue steps are listed once; progress has one name."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from conftest import PASSWORD, new_id, secure_account

from roadmap.extensions import db, socketio
from roadmap.models import Announcement
from roadmap.services import baselines, editing, facilitation, share_links, voting
from roadmap.timeutil import utcnow

PROGRESS_1_OF_3 = "Выполнено 1 из 3 (33\xa0%)"


def edit(person, group, op_type: str, **keys) -> int:
    return editing.apply(
        {"op_id": new_id(), "roadmap_id": group.roadmap.id, "type": op_type, **keys}, actor=person
    ).revision


def add_step(person, group, title: str, **fields) -> str:
    step_id = new_id()
    edit(person, group, "step.add", step_id=step_id, fields={"title": title, **fields})
    return step_id


def days_from_today(days: int) -> str:
    return (utcnow().date() + timedelta(days=days)).isoformat()


def signed_in(app, email: str):
    browser = app.test_client()
    assert browser.post("/sign-in", data={"email": email, "password": PASSWORD}).status_code == 302
    return browser


def joined(app, group, name: str = "Вера"):
    browser = app.test_client()
    assert (
        browser.post(f"/join/{group.training.join_code}", data={"display_name": name, "group_id": group.id}).status_code
        == 302
    )
    return browser


def html_of(browser, url: str) -> str:
    response = browser.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


# --- the training day's tools are gone afterwards ------------------------------------------


@pytest.fixture
def training_day(app, world, training, moderator, group, marina):
    """The last session: a paused timer for all, a vote closed before the end with Марина's dot,
    an announcement from three days ago and one from an hour ago; the projector shows the map."""
    survey = add_step(marina, group, "Опрос жителей")
    facilitation.start_timer(training, 20 * 60, "Работа в группах")
    facilitation.pause_timer(training)
    vote = voting.open_vote(training, 2, hide_results=False)
    voting.place_dot(vote.id, survey, marina)
    voting.close_vote(vote)
    old = facilitation.announce(training, moderator, "Завтра начинаем в десять")
    facilitation.announce(training, moderator, "Через 20 минут показываем карты")
    db.session.get(Announcement, old.id).created_at = utcnow() - timedelta(days=3)
    db.session.commit()
    facilitation.project(training, "map", group.id)
    return training


def editor_state(app, world, group, person) -> dict:
    """What the editor shows of the moderator's tools: its join answer over a real Socket.IO test client."""
    client = socketio.test_client(app, auth={"token": world.token(person)})
    answer = client.emit("join", {"roadmap_id": group.roadmap.id, "since_revision": None}, callback=True)
    client.disconnect()
    assert answer["ok"], answer
    return answer["facilitation"]


def projector_state(app, world, training, moderator) -> dict:
    client = socketio.test_client(app, auth={"token": world.token(moderator)})
    answer = client.emit("watch", {"training_id": training.id}, callback=True)
    client.disconnect()
    assert answer["ok"], answer
    return answer


def test_the_editor_shows_the_training_days_timer_vote_and_last_announcement_until_the_training_ends(
    app, world, training_day, group, marina
):
    during = editor_state(app, world, group, marina)
    baselines.end_training(training_day)
    after = editor_state(app, world, group, marina)

    assert during["timers"]["all"] is not None and during["vote"]["closed"]
    assert [item["text"] for item in during["announcements"]] == ["Через 20 минут показываем карты"]
    assert after["timers"] == {"all": None, "group": None}
    assert after["vote"] is None and after["announcements"] == []


def test_the_projector_shows_no_timer_and_no_dots_once_the_training_has_ended(
    app, world, training_day, group, moderator
):
    browser = signed_in(app, moderator.email)
    projector_url = f"/moderate/trainings/{training_day.id}/projector"
    dots_during = html_of(browser, projector_url).count('class="dot-count"')
    baselines.end_training(training_day)
    watched = projector_state(app, world, training_day, moderator)
    facilitation.project(training_day, "votes")
    votes_screen = html_of(browser, projector_url + "/screen")

    assert dots_during == 1
    assert "Сейчас голосования нет." in votes_screen and "dot-count" not in votes_screen
    assert watched["timer"] is None and watched["group_timers"] == {} and watched["vote"] is None
    facilitation.project(training_day, "map", group.id)
    assert 'class="dot-count"' not in html_of(browser, projector_url)


def test_the_read_only_link_shows_the_map_without_the_training_days_tools(app, training_day, group, marina):
    baselines.end_training(training_day)
    link = share_links.share(group.roadmap, marina, "view")

    html = html_of(app.test_client(), f"/shared/{share_links.link_token(link)}")

    assert "Опрос жителей" in html
    for trace in ('class="dot-count"', "countdown", "Через 20 минут", "Завтра начинаем", "vote"):
        assert trace not in html, trace


# --- a past revision ----------------------------------------------------------------------


@pytest.fixture
def changed_since(group, marina, oleg):
    """Three steps at revision 3; then Олег adds one, deletes one, and moves the survey to himself and later."""
    survey = add_step(marina, group, "Опрос жителей", due_on="2027-05-15")
    talks = add_step(marina, group, "Встреча с управой")
    add_step(marina, group, "Праздник двора")
    add_step(oleg, group, "Договор с перевозчиком")
    edit(oleg, group, "step.delete", step_id=talks)
    edit(oleg, group, "step.set", step_id=survey, field="due_on", value="2027-06-01")
    edit(oleg, group, "step.set", step_id=survey, field="owner", value={"member": oleg.id})
    return {"survey": survey, "talks": talks}


def test_a_past_revision_says_when_and_by_whom_it_was_made(app, group, changed_since):
    html = html_of(joined(app, group), f"/maps/{group.roadmap.id}/history/3")

    made = re.search(r'<p class="revision-made"><time datetime="([^"]+)">([^<]+)</time> · ([^<]+)</p>', html)
    assert made is not None
    assert made.group(3) == "автор изменения: Марина"
    assert "Марина: добавлен шаг «Праздник двора»." in html
    assert "Карта в момент создания, до первых изменений." in html_of(
        joined(app, group, "Ида"), f"/maps/{group.roadmap.id}/history/0"
    )


def test_a_past_revision_marks_the_steps_added_deleted_and_changed_since(app, group, changed_since):
    html = html_of(joined(app, group), f"/maps/{group.roadmap.id}/history/3")
    raw_items = re.findall(r'(<li class="projected-step"[^>]*>.*?</li>)', html, re.S)
    by_title = {re.search(r'projected-step-title[^"]*">([^<]+)<', item).group(1): item for item in raw_items}

    assert "Добавлены позже:</strong> «Договор с перевозчиком»" in html
    assert "Удалены позже:</strong> «Встреча с управой»" in html
    assert "Изменены позже:</strong> 1 шаг, отмечен ниже" in html
    assert 'data-later="deleted"' in by_title["Встреча с управой"] and "Позже удалён" in by_title["Встреча с управой"]
    survey = by_title["Опрос жителей"]
    assert 'data-later="changed"' in survey and "Позже изменено: ответственный, срок" in survey
    assert '<span class="changed"><span class="meta-label">Срок:</span>' in survey
    assert "data-later" not in by_title["Праздник двора"]
    assert len(by_title) == 3  # the step added later is not in the map as it was


# --- overdue once, progress under one name ----------------------------------------------------


@pytest.fixture
def alumni_map(training, group, marina, oleg):
    """Weeks after the training: one step done, one overdue, one due soon."""
    baselines.end_training(training)
    add_step(marina, group, "Опрос жителей", status="done", due_on=days_from_today(-20))
    add_step(marina, group, "Договор с перевозчиком", due_on=days_from_today(-3))
    add_step(oleg, group, "Праздник двора", due_on=days_from_today(30))
    return group


def test_since_the_training_lists_an_overdue_step_once_not_again_under_what_is_next(app, alumni_map):
    html = html_of(joined(app, alumni_map), f"/maps/{alumni_map.roadmap.id}/since-training")

    overdue = html[html.index('class="plain-list overdue-list"') :]
    next_steps = html[html.index('class="plain-list next-list"') :]
    assert "Договор с перевозчиком" in overdue[: overdue.index("</ul>")]
    assert "Договор с перевозчиком" not in next_steps[: next_steps.index("</ul>")]
    assert "Праздник двора" in next_steps[: next_steps.index("</ul>")]
    progress_card = html[html.index('class="card progress-card"') : html.index("</section>")]
    assert progress_card.count("Договор с перевозчиком") == 1


def test_progress_has_one_name_on_every_page(app, alumni_map, marina, moderator):
    secure_account(marina, "marina@example.org", PASSWORD)
    marina_browser = signed_in(app, "marina@example.org")
    roadmap_id = alumni_map.roadmap.id
    link = share_links.share(alumni_map.roadmap, marina, "view")
    moderator_browser = signed_in(app, moderator.email)
    facilitation.project(alumni_map.training, "overview")

    for url in (
        "/me",
        f"/maps/{roadmap_id}/since-training",
        f"/maps/{roadmap_id}/print",
        f"/moderate/trainings/{alumni_map.training.id}/projector",
    ):
        browser = moderator_browser if url.startswith("/moderate") else marina_browser
        assert PROGRESS_1_OF_3 in html_of(browser, url), url
    assert PROGRESS_1_OF_3 in html_of(app.test_client(), f"/shared/{share_links.link_token(link)}")
    for url, data_id in (
        (f"/maps/{roadmap_id}", "editor-data"),
        (f"/moderate/trainings/{alumni_map.training.id}", "dashboard-data"),
    ):
        browser = moderator_browser if url.startswith("/moderate") else marina_browser
        html = html_of(browser, url)
        data = json.loads(
            re.search(rf'<script type="application/json" id="{data_id}">(.*?)</script>', html, re.S).group(1)
        )
        assert data["text"]["progress_words"] == "Выполнено {done} из {total} ({percent}\xa0%)", url
    for old_name in ("Ход работы", "Шагов выполнено", "Выполнено шагов", ">Сделано<"):
        for url in ("/me", f"/maps/{roadmap_id}/since-training", f"/maps/{roadmap_id}"):
            assert old_name not in html_of(marina_browser, url), (old_name, url)
