"""The history gathers one person's run of changes into a sitting that opens to the detail,
still filtered by person and step, a page of sittings at a time."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import new_id
from sqlalchemy import select

from roadmap.extensions import db
from roadmap.models import Change, Roadmap
from roadmap.services import editing, history


def edit(person, group, op_type: str, **keys) -> int:
    return editing.apply(
        {"op_id": new_id(), "roadmap_id": group.roadmap.id, "type": op_type, **keys}, actor=person
    ).revision


def retitle(person, group, step_id: str, times: int) -> None:
    for number in range(times):
        edit(person, group, "step.set", step_id=step_id, field="title", value=f"Опрос жителей, версия {number + 1}")


def add_step(person, group, title: str) -> str:
    step_id = new_id()
    edit(person, group, "step.add", step_id=step_id, fields={"title": title})
    return step_id


def page_of(group, **filters) -> history.HistoryPage:
    db.session.expire_all()
    return history.history_page(db.session.get(Roadmap, group.roadmap.id), **filters)


def move_back(group, revisions: range, minutes: int) -> None:
    """Pretend these changes were made `minutes` earlier (the log's clock is the server's)."""
    changes = db.session.scalars(
        select(Change).where(Change.roadmap_id == group.roadmap.id, Change.revision.in_(revisions))
    ).all()
    for change in changes:
        change.created_at -= timedelta(minutes=minutes)
    db.session.commit()


@pytest.fixture
def viewer(app, group):
    """A member of the group in a browser, joined through the real join form."""
    browser = app.test_client()
    assert (
        browser.post(
            f"/join/{group.training.join_code}", data={"display_name": "Вера", "group_id": group.id}
        ).status_code
        == 302
    )
    return browser


def test_fifty_changes_by_one_person_in_one_sitting_are_one_entry(group, marina):
    step_id = add_step(marina, group, "Опрос жителей")
    retitle(marina, group, step_id, 49)

    page = page_of(group)

    assert len(page.sittings) == 1 and len(page.sittings[0].entries) == 50
    assert page.sittings[0].latest.revision == 50 and page.older_than is None


def test_interleaved_people_make_separate_sittings(group, marina, oleg):
    step_id = add_step(marina, group, "Опрос жителей")
    retitle(marina, group, step_id, 2)
    retitle(oleg, group, step_id, 3)
    retitle(marina, group, step_id, 1)

    page = page_of(group)

    assert [(sitting.latest.author_name, len(sitting.entries)) for sitting in page.sittings] == [
        ("Марина", 1),
        ("Олег", 3),
        ("Марина", 3),
    ]


def test_a_pause_longer_than_ten_minutes_starts_a_new_sitting(group, marina):
    step_id = add_step(marina, group, "Опрос жителей")
    retitle(marina, group, step_id, 3)
    move_back(group, range(1, 3), minutes=11)

    assert [len(sitting.entries) for sitting in page_of(group).sittings] == [2, 2]


def test_the_history_page_shows_a_sitting_as_one_entry_that_opens_to_every_change(group, marina, viewer):
    step_id = add_step(marina, group, "Опрос жителей")
    retitle(marina, group, step_id, 49)

    html = viewer.get(f"/maps/{group.roadmap.id}/history").get_data(as_text=True)

    assert (
        html.count('<details class="sitting"') == 1 and '<details class="sitting" open>' in html
    )  # the newest stands open
    assert "и ещё 49 изменений" in html
    sitting = html[html.index('<details class="sitting"') :]
    summary = sitting[sitting.index("<summary") : sitting.index("</summary>")]
    assert "Марина" in summary and "версия 49" in summary  # the latest change tells what the sitting was about
    assert len(re.findall(r'href="/maps/\d+/history/\d+"', html)) == 50  # each change links to its revision


def test_filters_by_person_and_step_still_work_on_sittings(group, marina, oleg, viewer):
    survey = add_step(marina, group, "Опрос жителей")
    party = add_step(oleg, group, "Праздник двора")
    retitle(marina, group, survey, 3)

    by_oleg = listed(viewer.get(f"/maps/{group.roadmap.id}/history?person={oleg.id}"))
    on_party = listed(viewer.get(f"/maps/{group.roadmap.id}/history?step={party}"))

    assert "Праздник двора" in by_oleg and "Опрос жителей" not in by_oleg
    assert "Праздник двора" in on_party and "версия" not in on_party
    assert page_of(group, person_id=marina.id).sittings[0].entries[-1].revision == 1


def listed(response) -> str:
    """The history's list, without the filter form (whose step menu names every step)."""
    html = response.get_data(as_text=True)
    return html[html.index('class="history-list"') :]


def test_a_long_history_pages_back_by_sittings(group, marina, oleg, viewer):
    step_id = add_step(marina, group, "Опрос жителей")
    for number in range(history.SITTINGS_PER_PAGE):
        retitle(oleg if number % 2 == 0 else marina, group, step_id, 1)

    first = viewer.get(f"/maps/{group.roadmap.id}/history").get_data(as_text=True)
    older_link = re.search(r'href="(/maps/\d+/history\?before=\d+)"', first)
    second = viewer.get(older_link.group(1).replace("&amp;", "&")).get_data(as_text=True)

    assert first.count('class="history-entry"') == history.SITTINGS_PER_PAGE
    assert "Старые изменения" in first
    assert second.count('class="history-entry"') == 1 and "Старые изменения" not in second
    assert f'/maps/{group.roadmap.id}/history/1"' in second  # the first change of all
