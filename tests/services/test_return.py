"""Finding one's way back after the training: the top bar, one sign-in page, sign-out and a
forgotten device, personal sign-in links on a printed sheet, and «Мои шаги»."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import PASSWORD, make_moderator, new_id, secure_account
from sqlalchemy import select, update

from roadmap.extensions import db
from roadmap.models import Change, SignInLink, Step
from roadmap.services import editing, my_steps, sign_in_links, trainings
from roadmap.timeutil import local_today, utcnow

REMEMBER_COOKIE = "remember_token"


@pytest.fixture
def moderator(app):
    return make_moderator("irina@example.org", "Ирина Соколова")


def signed_in_with_link(app, person, moderator):
    """A fresh browser signed in as `person` through a personal link, as on the printed sheet."""
    browser = app.test_client()
    token = sign_in_links.issue_sign_in_link(person, moderator)
    assert browser.post(f"/sign-in/link/{token}").status_code == 302
    return browser


def signed_in_moderator(app, moderator):
    browser = app.test_client()
    assert browser.post("/sign-in", data={"email": moderator.email, "password": PASSWORD}).status_code == 302
    return browser


def add_step(person, group, title: str, **fields) -> str:
    step_id = new_id()
    editing.apply(
        {
            "op_id": new_id(),
            "roadmap_id": group.roadmap.id,
            "type": "step.add",
            "step_id": step_id,
            "fields": {"title": title, **fields},
        },
        actor=person,
    )
    return step_id


# --- the top bar and the sign-in page ------------------------------------------------------------


def test_a_participant_sees_their_name_and_the_way_to_their_maps_account_mail_and_sign_out(
    app, group, marina, moderator
):
    page = signed_in_with_link(app, marina, moderator).get("/me").get_data(as_text=True)

    bar = page[page.index('<nav class="topbar-end"') : page.index("</nav>")]
    assert "Марина" in bar
    for label in ("Мои карты", "Сохранить доступ", "Почта", "Выйти", "Забыть это устройство"):
        assert label in bar, label
    assert 'href="/me"' in bar and 'href="/account"' in bar and 'href="/account/mail"' in bar


def test_a_moderator_gets_their_trainings_and_sign_out_but_no_participant_links(app, moderator):
    page = signed_in_moderator(app, moderator).get("/moderate/").get_data(as_text=True)

    bar = page[page.index('<nav class="topbar-end"') : page.index("</nav>")]
    assert "Мои тренинги" in bar and "Выйти" in bar and "Ирина Соколова" in bar
    assert "Мои карты" not in bar and "Сохранить доступ" not in bar


def test_the_one_sign_in_page_is_for_everyone_and_helps_those_without_a_password(client, moderator):
    page = client.get("/sign-in").get_data(as_text=True)

    assert "<h1>Вход</h1>" in page and "модератора" not in page.split("<h1>")[1].split("</h1>")[0]
    assert "Забыли пароль?" in page and 'href="/forgot-password"' in page
    assert "персональную ссылку" in page and "кодом" in page


def test_the_join_page_on_a_shared_computer_says_whose_session_is_open(app, group, marina, moderator):
    browser = signed_in_with_link(app, marina, moderator)

    page = browser.get("/").get_data(as_text=True)

    assert "Вы вошли как Марина" in page and "Это не я — выйти" in page


# --- signing out --------------------------------------------------------------------------


def test_signing_out_drops_the_remember_cookie_so_the_old_cookie_jar_no_longer_gets_in(app, group, marina, moderator):
    browser = signed_in_with_link(app, marina, moderator)
    assert browser.get_cookie(REMEMBER_COOKIE) is not None

    assert browser.post("/sign-out").status_code == 302

    assert browser.get_cookie(REMEMBER_COOKIE) is None
    assert browser.get("/me").status_code == 302
    reopened = app.test_client()  # the browser restarted with what it kept: every cookie left
    for cookie in [browser.get_cookie(name) for name in ("session", REMEMBER_COOKIE)]:
        if cookie is not None:
            reopened.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    assert reopened.get("/me").status_code == 302


def test_forgetting_the_device_also_forgets_the_chosen_language(app, group, marina, moderator):
    browser = signed_in_with_link(app, marina, moderator)
    browser.post("/lang/en", data={"next": "/"})

    assert "Forget this device" in browser.get("/forget-device").get_data(as_text=True)
    browser.post("/sign-out", data={"forget": "1"})

    assert browser.get_cookie(REMEMBER_COOKIE) is None
    assert '<html lang="ru">' in browser.get("/").get_data(as_text=True)
    assert browser.get("/me").status_code == 302


# --- personal sign-in links and the printed sheet --------------------------------------------------


def test_a_personal_link_lasts_the_configured_days(app, group, marina, moderator):
    app.config["SIGN_IN_LINK_DAYS"] = 90
    sign_in_links.issue_sign_in_link(marina, moderator)

    expires_at = db.session.scalar(select(SignInLink.expires_at))
    assert abs(expires_at - (utcnow() + timedelta(days=90))) < timedelta(minutes=1)


def test_re_issuing_a_link_retires_the_earlier_unused_one(app, group, marina, moderator):
    earlier = sign_in_links.issue_sign_in_link(marina, moderator)
    later = sign_in_links.issue_sign_in_link(marina, moderator)

    assert sign_in_links.sign_in_link(earlier) is None
    assert sign_in_links.sign_in_link(later) is not None


def test_an_expired_link_says_whom_to_ask_and_how(app, group, marina, moderator, client):
    token = sign_in_links.issue_sign_in_link(marina, moderator)
    db.session.execute(update(SignInLink).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()

    response = client.get(f"/sign-in/link/{token}")

    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Ирина Соколова" in page and 'href="mailto:irina@example.org"' in page


def test_the_sheet_has_a_card_with_name_qr_and_link_for_each_member_without_a_password(
    app, world, group, marina, oleg, moderator
):
    secure_account(oleg, "oleg@example.org", "пароль Олега 2027")
    browser = signed_in_moderator(app, moderator)

    response = browser.post(f"/moderate/groups/{group.id}/sign-in-sheet")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    links = re.findall(r'<p class="sheet-link">(http://[^<]+/sign-in/link/([\w-]+))</p>', page)
    assert len(links) == 1  # Марина's; Олег signs in with his password
    assert "Марина" in page and "data:image/svg+xml" in page
    assert "Олег" in page and "не нужна" in page
    assert sign_in_links.sign_in_link(links[0][1]).person_id == marina.id


def test_another_moderator_cannot_print_the_sheet(app, group, marina):
    stranger = make_moderator("oleg.d@example.org", "Олег Дмитриев")
    browser = signed_in_moderator(app, stranger)

    assert browser.post(f"/moderate/groups/{group.id}/sign-in-sheet").status_code == 404
    assert db.session.scalar(select(SignInLink.id)) is None


# --- «Мои шаги» ---------------------------------------------------------------------------------


def test_my_steps_lists_overdue_first_then_by_due_date_then_undated_then_done(
    world, training, group, marina, moderator
):
    second_group = world.group(training, name="Сквер у библиотеки", theme="landscaping")
    trainings.join_group(training, second_group.id, "Марина", marina)
    today = local_today(training.timezone)
    mine = {"member": marina.id}
    add_step(marina, group, "Без срока", owner=mine)
    add_step(marina, group, "Через месяц", owner=mine, due_on=(today + timedelta(days=30)).isoformat())
    add_step(marina, second_group, "Просрочен давно", owner=mine, due_on=(today - timedelta(days=20)).isoformat())
    add_step(marina, group, "Завтра", owner=mine, due_on=(today + timedelta(days=1)).isoformat())
    add_step(marina, group, "Просрочен вчера", owner=mine, due_on=(today - timedelta(days=1)).isoformat())
    add_step(marina, group, "Сделан", owner=mine, status="done", due_on=(today - timedelta(days=5)).isoformat())
    add_step(marina, group, "Чужой шаг", due_on=(today - timedelta(days=3)).isoformat())
    deleted = add_step(marina, group, "Удалён", owner=mine)
    editing.apply(
        {"op_id": new_id(), "roadmap_id": group.roadmap.id, "type": "step.delete", "step_id": deleted}, actor=marina
    )

    steps = my_steps.my_steps(marina)

    assert [step.title for step in steps] == [
        "Просрочен давно",
        "Просрочен вчера",
        "Завтра",
        "Через месяц",
        "Без срока",
        "Сделан",
    ]
    assert [step.overdue for step in steps] == [True, True, False, False, False, False]
    assert steps[0].map_title == "Сквер у библиотеки"


def test_done_marks_the_step_done_through_the_edit_pipeline(app, group, marina, moderator):
    step_id = add_step(marina, group, "Опрос жителей", owner={"member": marina.id}, due_on="2027-05-10")
    browser = signed_in_with_link(app, marina, moderator)
    page = browser.get("/me").get_data(as_text=True)
    assert "Мои шаги" in page and "Опрос жителей" in page and "Готово" in page

    response = browser.post(f"/maps/{group.roadmap.id}/steps/{step_id}/done", headers={"X-Requested-With": "fetch"})

    assert response.status_code == 200 and response.get_json()["ok"] is True
    db.session.expire_all()
    assert db.session.get(Step, step_id).status == "done"
    last = db.session.scalar(
        select(Change).where(Change.roadmap_id == group.roadmap.id).order_by(Change.revision.desc())
    )
    assert last.author_id == marina.id and last.op["type"] == "step.set" and last.op["value"] == "done"


def test_done_on_a_locked_map_says_why_it_was_refused(app, group, marina, moderator):
    step_id = add_step(marina, group, "Опрос жителей", owner={"member": marina.id})
    editing.apply(
        {"op_id": new_id(), "roadmap_id": group.roadmap.id, "type": "map.lock", "locked": True}, actor=moderator
    )
    browser = signed_in_with_link(app, marina, moderator)

    response = browser.post(f"/maps/{group.roadmap.id}/steps/{step_id}/done")

    assert response.status_code == 302
    page = browser.get("/me").get_data(as_text=True)
    assert "Шаг не отмечен выполненным: Дорожная карта заблокирована модератором" in page
    assert db.session.get(Step, step_id).status == "planned"
