"""/account after the security review (issue 18): an address is the person's only once a mailed
link confirms it, the page never tells which addresses are taken, a new password signs out every
other session, weak passwords are refused with the reason, and Argon2 leaves gevent's loop free."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest
from conftest import PROJECT_ROOT, secure_account
from sqlalchemy import select

from roadmap.extensions import db
from roadmap.models import Person, SignInLink
from roadmap.services import accounts, sign_in_links

PASSWORD = "лето в сквере 2027"
NEW_PASSWORD = "осень у библиотеки 2028"


@pytest.fixture
def mailing_app(app, smtp_inbox):
    app.config.update(smtp_inbox.config())
    return app


def signed_in_by_link(app, person, moderator):
    """A browser signed in as `person` through a personal link from their moderator."""
    browser = app.test_client()
    assert browser.post(f"/sign-in/link/{sign_in_links.issue_sign_in_link(person, moderator)}").status_code == 302
    return browser


def signed_in_with_password(app, email: str, password: str = PASSWORD):
    browser = app.test_client()
    response = browser.post("/sign-in", data={"email": email, "password": password})
    assert response.status_code == 302, "the sign-in was refused"
    return browser


def save_account(browser, **fields):
    return browser.post("/account", data={"confirm": fields.get("password", ""), **fields})


def page_text(response, *addresses: str) -> str:
    """The page as a person reads it, with the addresses typed and the CSRF tokens left out."""
    text = re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(as_text=True))
    for address in addresses:
        text = text.replace(address, "@")
    return text


def confirm_link_in(message) -> str:
    link = re.search(r"http://\S+(/account/confirm/[\w-]+)", message.get_body(("plain",)).get_content())
    return link.group(1)


def is_signed_in(browser) -> bool:
    return browser.get("/me").status_code == 200


# --- which addresses exist, and confirming one ------------------------------------------------


def test_a_taken_address_gets_the_same_answer_as_a_free_one_and_its_owner_a_mail_without_a_link(
    mailing_app, smtp_inbox, world, group, moderator, oleg
):
    secure_account(oleg, "oleg@example.org", PASSWORD)
    # Two namesakes, so that nothing but the address differs between the two pages.
    first, second = world.member(group, "Марина"), world.member(group, "Марина")
    taking, choosing = (
        signed_in_by_link(mailing_app, first, moderator),
        signed_in_by_link(mailing_app, second, moderator),
    )

    taken = save_account(taking, email="oleg@example.org", password=NEW_PASSWORD)
    free = save_account(choosing, email="marina@example.org", password=NEW_PASSWORD)

    assert taken.status_code == free.status_code == 302
    assert taken.headers["Location"] == free.headers["Location"]
    taken_page, free_page = taking.get("/account"), choosing.get("/account")
    assert taken_page.status_code == free_page.status_code == 200
    assert page_text(taken_page, "oleg@example.org") == page_text(free_page, "marina@example.org")
    assert "Мы отправили письмо на marina@example.org" in free_page.get_data(as_text=True)
    assert "уже зарегистрирован" not in taken_page.get_data(as_text=True)
    smtp_inbox.wait_for(lambda message: message["To"] == "marina@example.org")
    warning = smtp_inbox.wait_for(lambda message: message["To"] == "oleg@example.org")
    assert "/account/confirm/" not in warning.get_body(("plain",)).get_content()
    assert db.session.get(Person, first.id).email is None


def test_an_address_signs_in_only_once_its_mailed_link_is_opened(mailing_app, smtp_inbox, group, moderator, marina):
    browser = signed_in_by_link(mailing_app, marina, moderator)
    assert save_account(browser, email="Marina@Example.org", password=PASSWORD).status_code == 302
    message = smtp_inbox.wait_for(lambda message: message["To"] == "marina@example.org")
    assert message.get_content_type() == "multipart/alternative"

    refused = mailing_app.test_client().post("/sign-in", data={"email": "marina@example.org", "password": PASSWORD})
    assert refused.status_code == 200 and "Неверная почта или пароль" in refused.get_data(as_text=True)
    link = confirm_link_in(message)
    stranger = mailing_app.test_client()
    assert stranger.get(link).status_code == 200  # a mail scanner's preview confirms nothing
    assert db.session.get(Person, marina.id).email is None
    confirmed = stranger.post(link)

    assert confirmed.status_code == 302 and confirmed.headers["Location"].endswith("/sign-in")
    assert is_signed_in(signed_in_with_password(mailing_app, "marina@example.org"))
    assert stranger.post(link).status_code == 404  # once


def test_the_account_page_shows_the_address_waiting_for_confirmation_and_sends_it_again(
    mailing_app, smtp_inbox, group, moderator, marina
):
    browser = signed_in_by_link(mailing_app, marina, moderator)
    save_account(browser, email="marina@example.org", password=PASSWORD)
    first_link = confirm_link_in(smtp_inbox.wait_for(lambda message: message["To"] == "marina@example.org"))

    page = browser.get("/account").get_data(as_text=True)
    assert "Ждём подтверждения: marina@example.org" in page and "Отправить ещё раз" in page
    assert browser.post("/account", data={"resend": "1"}).status_code == 302
    smtp_inbox.wait_for(
        lambda message: message["To"] == "marina@example.org" and confirm_link_in(message) != first_link
    )

    assert mailing_app.test_client().get(first_link).status_code == 404  # only the newest link works


def test_a_link_for_an_address_someone_confirmed_meanwhile_says_so(app, world, group, marina, oleg):
    tokens = []
    accounts.request_address(marina, "shared@example.org", lambda token: tokens.append(token) or token)
    secure_account(oleg, "shared@example.org", PASSWORD)

    response = app.test_client().post(f"/account/confirm/{tokens[0]}")

    assert response.status_code == 409
    assert "Этот адрес уже подтвердил другой аккаунт" in response.get_data(as_text=True)
    assert db.session.get(Person, marina.id).email is None


def test_a_password_without_a_confirmed_address_is_saved_and_the_page_says_it_cannot_sign_in_yet(
    app, group, moderator, marina
):
    browser = signed_in_by_link(app, marina, moderator)

    response = save_account(browser, password=PASSWORD)

    assert response.status_code == 302
    assert db.session.get(Person, marina.id).password_hash
    assert "никто не может войти с ним" in browser.get("/account").get_data(as_text=True)


# --- a new password ends every other session ----------------------------------------------------


def test_a_new_password_signs_out_every_other_session_and_remember_cookie_but_not_this_browser(app, group, marina):
    secure_account(marina, "marina@example.org", PASSWORD)
    other, changing = (
        signed_in_with_password(app, "marina@example.org"),
        signed_in_with_password(app, "marina@example.org"),
    )
    remembered = app.test_client()
    remembered.set_cookie("remember_token", other.get_cookie("remember_token").value)
    assert is_signed_in(remembered)

    response = save_account(changing, current_password=PASSWORD, password=NEW_PASSWORD)

    assert response.status_code == 302
    assert is_signed_in(changing)
    assert not is_signed_in(other)
    fresh = app.test_client()
    fresh.set_cookie("remember_token", other.get_cookie("remember_token").value)
    assert not is_signed_in(fresh)
    assert is_signed_in(signed_in_with_password(app, "marina@example.org", NEW_PASSWORD))


def test_setting_a_password_stops_the_api_token_from_joining(app, training, group, moderator):
    joined = (
        app.test_client()
        .post("/api/join", json={"join_code": training.join_code, "display_name": "Марина", "group_id": group.id})
        .get_json()
    )
    marina = db.session.get(Person, joined["person_id"])
    browser = signed_in_by_link(app, marina, moderator)
    api = {"Authorization": f"Bearer {joined['token']}"}
    assert app.test_client().get(f"/api/maps/{joined['roadmap_id']}", headers=api).status_code == 200

    save_account(browser, password=PASSWORD)

    assert app.test_client().get(f"/api/maps/{joined['roadmap_id']}", headers=api).status_code == 401
    assert is_signed_in(browser)


def test_setting_a_password_cancels_the_personal_sign_in_links_handed_out(app, group, moderator, marina):
    browser = signed_in_by_link(app, marina, moderator)
    unused = sign_in_links.issue_sign_in_link(marina, moderator)

    save_account(browser, password=PASSWORD)

    assert app.test_client().post(f"/sign-in/link/{unused}").status_code == 404
    assert None not in db.session.scalars(select(SignInLink.used_at).where(SignInLink.kind == "link")).all()


# --- weak passwords -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password, reason",
    [
        ("aaaaaaaaaa", "повторяет одни и те же символы"),
        ("password123", "в списках самых частых паролей"),
        ("qwertyuiop", "в списках самых частых паролей"),
    ],
)
def test_a_common_or_repeated_password_is_refused_on_the_account_page_saying_why(
    app, group, moderator, marina, password, reason
):
    browser = signed_in_by_link(app, marina, moderator)

    response = save_account(browser, password=password)

    assert response.status_code == 200 and reason in response.get_data(as_text=True)
    assert db.session.get(Person, marina.id).password_hash is None


def test_a_password_of_ten_a_is_refused_for_a_new_moderator(app):
    result = app.test_cli_runner().invoke(
        args=["create-moderator", "--email", "irina@example.org", "--name", "Ирина", "--password", "aaaaaaaaaa"]
    )

    assert result.exit_code != 0 and "password repeats" in result.output
    assert db.session.scalar(select(Person).where(Person.email == "irina@example.org")) is None


# --- Argon2 beside gevent's loop ------------------------------------------------------------------

LOOP_PROBE = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import gevent
    from flask import Flask
    from roadmap.config import Config
    from roadmap.services import accounts

    ticks = []

    def tick():
        while True:
            ticks.append(1)
            gevent.sleep(0.005)

    ticker = gevent.spawn(tick)
    gevent.sleep(0.02)
    before = len(ticks)
    app = Flask("probe")
    app.config["ARGON2_PROFILE"] = Config.ARGON2_PROFILE  # the cost a real server pays
    with app.app_context():
        accounts.hash_password("лето в сквере 2027")
    print(len(ticks) - before)
""")


def test_hashing_a_password_under_gevent_leaves_the_event_loop_free_for_other_greenlets():
    # A greenlet that ticks every 5 ms keeps ticking while a real (default-cost, a third of a
    # second) Argon2 hash runs: on the loop it could not tick once. No clock is compared.
    probe = subprocess.run(
        [sys.executable, "-c", LOOP_PROBE], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )

    assert probe.returncode == 0, probe.stderr
    assert int(probe.stdout.split()[-1]) >= 3
