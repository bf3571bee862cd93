"""After the training: keeping access, baselines, the map at a revision, restoring one,
and secret links that stop working when revoked."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import requests
import socketio
from conftest import new_id, passwordless_moderator, secure_account
from sqlalchemy import select, update

from roadmap.domain.errors import EditRejected
from roadmap.domain.replay import empty_map, replay
from roadmap.extensions import db
from roadmap.models import Baseline, Change, Person, Roadmap, SignInLink
from roadmap.services import accounts, baselines, editing, history, share_links, sign_in_links, snapshots, trainings
from roadmap.timeutil import utcnow

PASSWORD = "лето в сквере 2027"


@pytest.fixture
def moderator(app):
    return passwordless_moderator()


def edit(person, group, op_type: str, **keys) -> int:
    payload = {"op_id": new_id(), "roadmap_id": group.roadmap.id, "type": op_type, **keys}
    return editing.apply(payload, actor=person).revision


def add_step(person, group, title: str, **fields) -> str:
    step_id = new_id()
    edit(person, group, "step.add", step_id=step_id, fields={"title": title, **fields})
    return step_id


def current_map(group) -> dict:
    db.session.expire_all()
    return snapshots.snapshot(db.session.get(Roadmap, group.roadmap.id), with_members=False)


def without_revision(map_data: dict) -> dict:
    return {key: value for key, value in map_data.items() if key != "revision"}


# --- keeping access --------------------------------------------------------------------


def test_securing_access_keeps_the_same_person_and_so_the_authorship_of_every_change(group, marina, client):
    add_step(marina, group, "Опрос жителей")
    before = db.session.scalars(select(Change.author_id).where(Change.roadmap_id == group.roadmap.id)).all()

    secured = secure_account(marina, "Marina@Example.org ", PASSWORD)

    assert secured.id == marina.id and secured.email == "marina@example.org"
    assert db.session.scalars(select(Change.author_id).where(Change.roadmap_id == group.roadmap.id)).all() == before
    response = client.post("/sign-in", data={"email": "marina@example.org", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/me")
    page = client.get("/me")
    assert page.status_code == 200 and group.name in page.get_data(as_text=True)


def test_an_address_someone_else_has_is_never_confirmed_for_another(group, marina, oleg):
    secure_account(oleg, "oleg@example.org", PASSWORD)
    tokens = []

    accounts.request_address(marina, "OLEG@example.org", lambda token: tokens.append(token) or token)

    with pytest.raises(accounts.AccountError) as refused:
        accounts.confirm_address(tokens[0])
    assert refused.value.code == "email_taken"
    assert db.session.get(Person, marina.id).email is None


def test_a_personal_sign_in_link_signs_in_once(group, marina, moderator, app):
    token = sign_in_links.issue_sign_in_link(marina, moderator)
    first, second = app.test_client(), app.test_client()

    assert first.get(f"/sign-in/link/{token}").status_code == 200  # a link preview spends nothing
    assert first.post(f"/sign-in/link/{token}").status_code == 302
    assert first.get("/me").status_code == 200

    assert second.post(f"/sign-in/link/{token}").status_code == 404
    assert second.get("/me").status_code == 302  # still a stranger
    assert db.session.scalar(select(SignInLink.token_hash)) != token  # only a hash is kept


def test_an_expired_sign_in_link_does_not_sign_in(group, marina, moderator, client):
    token = sign_in_links.issue_sign_in_link(marina, moderator)
    db.session.execute(update(SignInLink).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()

    assert client.post(f"/sign-in/link/{token}").status_code == 404
    assert client.get("/me").status_code == 302


# --- the baseline ------------------------------------------------------------------------


def test_ending_the_training_freezes_each_map_as_it_stands(training, group, marina):
    add_step(marina, group, "Опрос жителей", due_on="2027-05-10")
    at_the_end = current_map(group)

    assert baselines.end_training(training) == 1

    baseline = baselines.baseline_of(group.roadmap.id)
    assert baseline.data == at_the_end and baseline.revision == at_the_end["revision"]
    assert training.ended_at is not None


def test_the_baseline_does_not_change_when_the_group_keeps_editing_or_the_training_ends_again(training, group, marina):
    step_id = add_step(marina, group, "Опрос жителей")
    baselines.end_training(training)
    frozen = baselines.baseline_of(group.roadmap.id).data

    edit(marina, group, "step.set", step_id=step_id, field="status", value="done")
    add_step(marina, group, "Договор с оператором")
    assert baselines.end_training(training) == 0

    db.session.expire_all()
    assert baselines.baseline_of(group.roadmap.id).data == frozen
    assert db.session.scalar(select(db.func.count(Baseline.id))) == 1
    assert current_map(group)["revision"] > frozen["revision"]


# --- the map at a revision, and restoring one ----------------------------------------------


def test_the_map_at_every_revision_equals_the_map_as_it_was_then(group, marina, oleg):
    seen = {0: current_map(group)}
    stakeholder_id = new_id()
    edit(marina, group, "map.set", field="title", value="Сквер у библиотеки")
    edit(oleg, group, "stakeholder.add", stakeholder_id=stakeholder_id, fields={"name": "Жители", "influence": 4})
    step_id = add_step(marina, group, "Опрос жителей", due_on="2027-05-10")
    edit(oleg, group, "step.link", step_id=step_id, stakeholder_id=stakeholder_id)
    edit(marina, group, "step.set", step_id=step_id, field="description", value="Анкеты у подъездов", base="")
    add_step(oleg, group, "Субботник")
    edit(marina, group, "stakeholder.delete", stakeholder_id=stakeholder_id)
    edit(oleg, group, "step.delete", step_id=step_id)
    # The map after each revision, replaying the real log one change at a time.
    roadmap = db.session.get(Roadmap, group.roadmap.id)
    changes = history.changes_up_to(roadmap.id, roadmap.revision)
    rebuilt = empty_map(roadmap.id, group.theme)
    for change in changes:
        rebuilt = replay(rebuilt, [change])
        seen[change["revision"]] = rebuilt

    for revision, expected in seen.items():
        assert history.map_at(roadmap, revision) == expected
    assert history.map_at(roadmap, roadmap.revision) == current_map(group)


def test_restoring_a_revision_is_a_new_change_that_brings_the_old_map_back(group, marina, oleg):
    stakeholder_id = new_id()
    edit(marina, group, "stakeholder.add", stakeholder_id=stakeholder_id, fields={"name": "Жители"})
    survey = add_step(marina, group, "Опрос жителей", progress=20)
    edit(marina, group, "step.link", step_id=survey, stakeholder_id=stakeholder_id)
    wanted = current_map(group)
    edit(oleg, group, "step.set", step_id=survey, field="title", value="Опрос", base="Опрос жителей")
    add_step(oleg, group, "Субботник")
    edit(oleg, group, "stakeholder.delete", stakeholder_id=stakeholder_id)
    edit(oleg, group, "step.delete", step_id=survey)
    log_before = current_map(group)["revision"]

    revision = edit(marina, group, "map.restore", revision=wanted["revision"])

    restored = current_map(group)
    assert revision == log_before + 1 == restored["revision"]
    assert without_revision(restored) == without_revision(wanted)
    logged = db.session.scalar(select(Change).where(Change.roadmap_id == group.roadmap.id, Change.revision == revision))
    assert logged.op["type"] == "map.restore" and logged.author_id == marina.id
    # History is never rewritten: the log still replays to the map, restore included.
    replayed = replay(empty_map(group.roadmap.id, group.theme), history.changes_up_to(group.roadmap.id, revision))
    assert replayed == restored


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_restoring_the_current_or_a_future_revision_is_refused(group, marina):
    add_step(marina, group, "Опрос жителей")
    now = current_map(group)["revision"]

    for revision in (now, now + 5):
        with pytest.raises(EditRejected) as refused:
            edit(marina, group, "map.restore", revision=revision)
        assert refused.value.code == "invalid_value"
    assert current_map(group)["revision"] == now


def test_restore_through_the_history_page_redirects_to_the_editor(app, group, marina, world):
    add_step(marina, group, "Опрос жителей")
    add_step(marina, group, "Субботник")
    browser = app.test_client()
    with browser.session_transaction() as session:
        session["_user_id"] = marina.get_id()

    assert browser.get(f"/maps/{group.roadmap.id}/history/1").status_code == 200
    response = browser.post(f"/maps/{group.roadmap.id}/history/1/restore")

    assert response.status_code == 302 and response.headers["Location"].endswith(f"/maps/{group.roadmap.id}")
    assert [step["title"] for step in current_map(group)["steps"]] == ["Опрос жителей"]


# --- secret links ------------------------------------------------------------------------------


def test_the_shared_link_draws_the_timeline_with_the_steps_without_dates_beside(app, group, marina):
    add_step(marina, group, "Опрос жителей", due_on="2027-05-10")
    add_step(marina, group, "Листовки")
    view = share_links.share(group.roadmap, marina, "view")

    page = app.test_client().get(f"/shared/{share_links.link_token(view)}").get_data(as_text=True)

    assert 'class="timeline-picture"' in page and page.count('class="tp-bar"') == 1
    assert "1. Опрос жителей" in page and "Без дат" in page and "2. Листовки" in page
    assert " style=" not in page  # the CSP allows no inline styles: bars are placed by SVG attributes


def test_a_revoked_share_link_and_a_revoked_calendar_feed_stop_working(app, group, marina):
    add_step(marina, group, "Опрос жителей", due_on="2027-05-10")
    view = share_links.share(group.roadmap, marina, "view")
    feed = share_links.share(group.roadmap, marina, "calendar")
    stranger = app.test_client()

    assert "Опрос жителей" in stranger.get(f"/shared/{share_links.link_token(view)}").get_data(as_text=True)
    calendar = stranger.get(f"/calendar/{share_links.link_token(feed)}.ics")
    assert calendar.status_code == 200 and "Опрос жителей" in calendar.get_data(as_text=True)

    share_links.revoke(group.roadmap, "view")
    renewed = share_links.renew(group.roadmap, marina, "calendar")

    assert stranger.get(f"/shared/{share_links.link_token(view)}").status_code == 404
    assert stranger.get(f"/shared/{share_links.link_token(view)}/map").status_code == 404
    assert stranger.get(f"/calendar/{share_links.link_token(feed)}.ics").status_code == 404
    assert stranger.get(f"/calendar/{share_links.link_token(renewed)}.ics").status_code == 200
    assert share_links.link_token(renewed) != share_links.link_token(feed)


def test_a_calendar_token_does_not_open_the_read_only_view_nor_the_other_way(app, group, marina):
    view = share_links.share(group.roadmap, marina, "view")
    feed = share_links.share(group.roadmap, marina, "calendar")
    stranger = app.test_client()

    assert stranger.get(f"/shared/{share_links.link_token(feed)}").status_code == 404
    assert stranger.get(f"/calendar/{share_links.link_token(view)}.ics").status_code == 404


@pytest.mark.live
def test_a_read_only_viewer_hears_changes_sends_nothing_and_is_cut_off_when_the_link_is_revoked(
    app, group, marina, live_server
):
    view = share_links.share(group.roadmap, marina, "view")
    secure_account(marina, "marina@example.org", PASSWORD)
    browser = signed_in(live_server, "marina@example.org")
    heard, got_change, got_cut = [], threading.Event(), threading.Event()
    viewer = socketio.Client(reconnection=False)
    viewer.on("change", lambda change: (heard.append(change), got_change.set()))
    viewer.on("disconnect", lambda *reason: got_cut.set())
    viewer.connect(
        live_server.url, auth={"share": share_links.link_token(view)}, transports=["websocket"], wait_timeout=10
    )
    try:
        answer = viewer.call(
            "op",
            {"op_id": new_id(), "roadmap_id": group.roadmap.id, "type": "map.set", "field": "title", "value": "Чужое"},
            timeout=10,
        )
        assert answer["ok"] is False and answer["error"]["code"] == "not_authenticated"

        # An edit made on the live server reaches the viewer.
        added = browser.post(
            f"{live_server.url}/maps/{group.roadmap.id}/steps",
            timeout=10,
            data={
                "title": "Опрос жителей",
                "csrf_token": csrf_token(browser.get(f"{live_server.url}/maps/{group.roadmap.id}").text),
            },
        )
        assert added.status_code == 200
        assert got_change.wait(10) and heard[0]["op"]["fields"]["title"] == "Опрос жителей"

        # Revoked on the live server, the link cuts the viewer off.
        share_page = browser.get(f"{live_server.url}/maps/{group.roadmap.id}/share", timeout=10)
        revoked = browser.post(
            f"{live_server.url}/maps/{group.roadmap.id}/share/view",
            timeout=10,
            data={"action": "revoke", "csrf_token": csrf_token(share_page.text)},
        )
        assert revoked.status_code == 200 and share_links.link_token(view) not in revoked.text
        assert got_cut.wait(10)
    finally:
        viewer.disconnect()
    with pytest.raises(socketio.exceptions.ConnectionError):
        socketio.Client(reconnection=False).connect(
            live_server.url, auth={"share": share_links.link_token(view)}, transports=["websocket"], wait_timeout=10
        )


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def signed_in(live_server, email: str) -> requests.Session:
    """A browser-like session signed in through the live server's form (CSRF on)."""
    browser = requests.Session()
    form = browser.get(f"{live_server.url}/sign-in", timeout=10)
    response = browser.post(
        f"{live_server.url}/sign-in",
        timeout=10,
        data={
            "email": email,
            "password": PASSWORD,
            "csrf_token": csrf_token(form.text),
        },
    )
    assert response.status_code == 200 and response.url.endswith("/me"), response.url
    return browser


@pytest.mark.live
def test_a_restore_made_on_the_server_reaches_open_editors_as_one_change(
    app, group, marina, oleg, live_server, clients
):
    oleg_editor = clients.connect(oleg, group.roadmap.id)
    first = oleg_editor.send_op("step.add", step_id=new_id(), fields={"title": "Опрос жителей"})
    oleg_editor.send_op("step.add", step_id=new_id(), fields={"title": "Субботник"})
    oleg_editor.send_op("map.set", field="title", value="Сквер у библиотеки")
    secure_account(marina, "marina@example.org", PASSWORD)
    browser = signed_in(live_server, "marina@example.org")
    at_revision = f"{live_server.url}/maps/{group.roadmap.id}/history/{first['revision']}"

    restored = browser.post(
        at_revision + "/restore", timeout=10, data={"csrf_token": csrf_token(browser.get(at_revision, timeout=10).text)}
    )

    assert restored.status_code == 200 and restored.url.endswith(f"/maps/{group.roadmap.id}")
    oleg_editor.wait_for_revision(first["revision"] + 3)
    local = oleg_editor.map_copy()
    assert [step["title"] for step in local["steps"]] == ["Опрос жителей"] and local["title"] == ""
    assert oleg_editor.applied[-1]["op"]["type"] == "map.restore"
    assert {k: v for k, v in local.items() if k != "members"} == {
        k: v for k, v in oleg_editor.fresh_snapshot().items() if k != "members"
    }


def test_a_sign_in_link_is_refused_for_someone_with_a_password_or_in_another_moderators_training(
    world, group, marina, oleg, moderator
):
    secure_account(oleg, "oleg@example.org", PASSWORD)
    other_training = world.training(passwordless_moderator("Борис Модераторов"), title="Школа активных горожан")
    other_group = world.group(other_training, name="Зелёный квартал")
    trainings.join_group(other_training, other_group.id, marina.display_name, marina)  # the same person, twice

    for person in (oleg, marina):
        assert not sign_in_links.may_get_sign_in_link(person, moderator)
        with pytest.raises(sign_in_links.SignInLinkRefused):
            sign_in_links.issue_sign_in_link(person, moderator)


def test_changing_a_secured_account_needs_its_current_password(group, marina):
    secure_account(marina, "marina@example.org", PASSWORD)

    with pytest.raises(accounts.AccountError) as refused:
        accounts.save_account(marina, "thief@example.org", "другой пароль 123", None, str)
    assert refused.value.code == "wrong_password"
    assert accounts.pending_address(marina) is None
    saved = accounts.save_account(marina, "marina.k@example.org", "новый пароль 2027", PASSWORD, str)
    assert saved.password_changed and saved.mailed_to == "marina.k@example.org"
    assert accounts.pending_address(marina) == "marina.k@example.org"


def test_restore_keeps_the_links_of_items_it_deletes_so_restoring_them_brings_the_links_back(group, marina):
    stakeholder_id = new_id()
    early = edit(marina, group, "map.set", field="title", value="Сквер")
    edit(marina, group, "stakeholder.add", stakeholder_id=stakeholder_id, fields={"name": "Жители"})
    step_id = add_step(marina, group, "Опрос жителей")
    edit(marina, group, "step.link", step_id=step_id, stakeholder_id=stakeholder_id)

    edit(marina, group, "map.restore", revision=early)  # the step and the stakeholder did not exist then
    edit(marina, group, "step.restore", step_id=step_id)
    edit(marina, group, "stakeholder.restore", stakeholder_id=stakeholder_id)

    assert current_map(group)["steps"][0]["stakeholder_ids"] == [stakeholder_id]


def test_restore_reads_a_log_written_before_steps_had_progress(group, marina):
    first = add_step(marina, group, "Опрос жителей")
    add_step(marina, group, "Субботник")
    logged = db.session.scalar(select(Change).where(Change.roadmap_id == group.roadmap.id, Change.revision == 1))
    logged.op = {**logged.op, "fields": {k: v for k, v in logged.op["fields"].items() if k != "progress"}}
    db.session.commit()

    edit(marina, group, "map.restore", revision=1)

    restored = current_map(group)
    assert [step["id"] for step in restored["steps"]] == [first] and restored["steps"][0]["progress"] is None
