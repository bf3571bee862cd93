"""«Забыли пароль?»: the same answer for every address, a mailed single-use link that expires,
only its hash stored, and limits on how often one may ask."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import timedelta

import pytest
from conftest import secure_account
from sqlalchemy import select, update

from roadmap.extensions import db
from roadmap.models import SignInLink
from roadmap.services import accounts, password_reset
from roadmap.timeutil import utcnow

NEW_PASSWORD = "новый пароль 2027"


@pytest.fixture
def alumna(world, group):
    person = world.member(group, "Анна")
    return secure_account(person, "anna@example.org", "старый пароль 2027")


@pytest.fixture
def mailing_app(app, smtp_inbox):
    app.config.update(smtp_inbox.config())
    return app


def page_without_tokens(response, email: str) -> str:
    """The answer's text, with the address asked about and the per-session CSRF tokens left out."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(as_text=True)).replace(email, "@")


def ask_for_reset(client, email: str):
    started = time.perf_counter()
    response = client.post("/forgot-password", data={"email": email})
    return response, time.perf_counter() - started


def reset_mail_to(address: str):
    """Picks the reset mail out of the inbox, which also holds the mail that confirmed the address."""
    return lambda message: message["To"] == address and "/reset-password/" in message.get_body(("plain",)).get_content()


def reset_link_in(message) -> str:
    return re.search(r"http://\S+/reset-password/[\w-]+", message.get_body(("plain",)).get_content()).group(0)


def test_the_answer_is_the_same_for_an_unknown_address_and_only_a_known_one_gets_mail(mailing_app, smtp_inbox, alumna):
    # The mail goes out on a thread after the answer, so the answer takes no longer for a known
    # address; that is by construction, not asserted with a clock (timings belong in bench/).
    known, _ = ask_for_reset(mailing_app.test_client(), "anna@example.org")
    unknown, _ = ask_for_reset(mailing_app.test_client(), "nobody@example.org")

    assert known.status_code == unknown.status_code == 200
    assert page_without_tokens(known, "anna@example.org") == page_without_tokens(unknown, "nobody@example.org")
    smtp_inbox.wait_for(reset_mail_to("anna@example.org"))
    assert smtp_inbox.to("nobody@example.org") == []


def test_the_mail_is_multipart_in_the_recipients_language_with_a_working_link(mailing_app, smtp_inbox, alumna):
    alumna.locale = "en"
    db.session.commit()
    ask_for_reset(mailing_app.test_client(), "Anna@Example.org")

    message = smtp_inbox.wait_for(reset_mail_to("anna@example.org"))

    assert message["Subject"] == "A new password for Roadmap"
    assert message.get_content_type() == "multipart/alternative"
    link = reset_link_in(message)
    assert f'href="{link}"' in message.get_body(("html",)).get_content()
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert mailing_app.test_client().get("/" + path).status_code == 200


def test_only_the_hash_of_the_link_is_stored(app, alumna):
    token = password_reset.issue_reset_link(alumna)

    stored = db.session.execute(select(SignInLink.token_hash, SignInLink.kind).where(SignInLink.kind == "reset")).one()
    assert stored == (hashlib.sha256(token.encode()).hexdigest(), "reset")
    assert token not in stored.token_hash


def test_the_link_sets_a_new_password_once_signs_in_and_retires_the_other_links(app, alumna):
    first, second = password_reset.issue_reset_link(alumna), password_reset.issue_reset_link(alumna)
    browser = app.test_client()

    response = browser.post(f"/reset-password/{first}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert response.status_code == 302 and response.headers["Location"].endswith("/me")
    assert browser.get("/me").status_code == 200
    assert accounts.authenticate("anna@example.org", NEW_PASSWORD).id == alumna.id
    again = app.test_client().post(
        f"/reset-password/{first}", data={"password": "другой пароль 2027", "confirm": "другой пароль 2027"}
    )
    assert again.status_code == 404
    assert app.test_client().get(f"/reset-password/{second}").status_code == 404
    assert accounts.authenticate("anna@example.org", NEW_PASSWORD) is not None


def test_an_expired_link_sets_nothing(app, alumna, client):
    token = password_reset.issue_reset_link(alumna)
    db.session.execute(update(SignInLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()

    response = client.post(f"/reset-password/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert response.status_code == 404 and "Запросите новую" in response.get_data(as_text=True)
    assert accounts.authenticate("anna@example.org", NEW_PASSWORD) is None


def test_a_link_expires_after_an_hour(app, alumna):
    password_reset.issue_reset_link(alumna)

    expires_at = db.session.scalar(select(SignInLink.expires_at).where(SignInLink.kind == "reset"))
    assert abs(expires_at - (utcnow() + timedelta(hours=1))) < timedelta(minutes=1)


def test_a_reset_link_is_not_a_personal_sign_in_link(app, alumna, client):
    token = password_reset.issue_reset_link(alumna)

    assert client.post(f"/sign-in/link/{token}").status_code == 404
    assert client.get("/me").status_code == 302


def test_asking_about_one_address_too_often_is_refused_whatever_the_address(app):
    app.config["PASSWORD_RESET_ADDRESS_RATE_LIMIT"] = "2 per hour"
    answers = [ask_for_reset(app.test_client(), "nobody@example.org")[0].status_code for _ in range(3)]

    assert answers == [200, 200, 429]
    assert ask_for_reset(app.test_client(), "someone.else@example.org")[0].status_code == 200


def test_asking_too_often_from_one_address_is_refused(app):
    app.config["PASSWORD_RESET_RATE_LIMIT"] = "3 per minute"
    answers = [ask_for_reset(app.test_client(), f"person{number}@example.org")[0].status_code for number in range(4)]

    assert answers == [200, 200, 200, 429]


def test_a_reset_signs_out_every_other_session_and_remember_cookie_but_not_the_resetting_browser(app, alumna):
    other = app.test_client()
    assert (
        other.post("/sign-in", data={"email": "anna@example.org", "password": "старый пароль 2027"}).status_code == 302
    )
    remember_token = other.get_cookie("remember_token").value
    resetting = app.test_client()

    response = resetting.post(
        f"/reset-password/{password_reset.issue_reset_link(alumna)}",
        data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert resetting.get("/me").status_code == 200
    assert other.get("/me").status_code == 302
    remembered = app.test_client()
    remembered.set_cookie("remember_token", remember_token)
    assert remembered.get("/me").status_code == 302


def test_a_reset_refuses_a_password_of_ten_a_saying_why_and_keeps_the_link(app, alumna):
    token = password_reset.issue_reset_link(alumna)

    response = app.test_client().post(f"/reset-password/{token}", data={"password": "a" * 10, "confirm": "a" * 10})

    assert response.status_code == 200
    assert "повторяет одни и те же символы" in response.get_data(as_text=True)
    assert password_reset.reset_link(token) is not None
    assert accounts.authenticate("anna@example.org", "a" * 10) is None
