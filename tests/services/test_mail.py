"""The mail core: a real SMTP server receives multipart mail; without one, mail goes to the log."""

import logging

import pytest

from roadmap.services import mail


def test_a_mail_arrives_as_plain_text_and_html(app, smtp_inbox):
    app.config.update(smtp_inbox.config())
    mail.send(
        mail.Mail(
            to="anna@example.org",
            subject="Ваши шаги",
            text="Привет, Анна",
            html="<p>Привет, <b>Анна</b></p>",
            headers={"List-Unsubscribe": "<https://example.org/u/1>"},
        )
    )
    message = smtp_inbox.wait_for(lambda m: m["To"] == "anna@example.org")
    assert message["Subject"] == "Ваши шаги"
    assert message["List-Unsubscribe"] == "<https://example.org/u/1>"
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().strip() == "Привет, Анна"
    assert "<b>Анна</b>" in message.get_body(("html",)).get_content()


def test_without_a_server_the_mail_goes_to_the_log(app, caplog):
    app.config["MAIL_SERVER"] = None
    with caplog.at_level(logging.INFO, logger="roadmap.mail"):
        mail.send(mail.Mail(to="oleg@example.org", subject="Тема", text="текст", html="<p>текст</p>"))
    assert "oleg@example.org" in caplog.text


def test_an_unreachable_server_is_reported_so_the_caller_can_retry(app):
    app.config.update({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": 9, "MAIL_USE_TLS": False, "MAIL_TIMEOUT_SECONDS": 2})
    with pytest.raises(mail.MailNotSent):
        mail.send(mail.Mail(to="oleg@example.org", subject="Тема", text="текст", html="<p>текст</p>"))


def test_the_moderator_sets_the_training_time_zone_and_digest_time(app, client, moderator, training):
    from roadmap.extensions import db
    from tests.conftest import PASSWORD

    response = client.post("/sign-in", data={"email": moderator.email, "password": PASSWORD})
    assert response.status_code == 302
    response = client.post(
        f"/moderate/trainings/{training.id}/settings",
        data={"timezone": "Asia/Yekaterinburg", "digest_weekday": "4", "digest_hour": "18"},
    )
    assert response.status_code == 302
    db.session.refresh(training)
    assert (training.timezone, training.digest_weekday, training.digest_hour) == ("Asia/Yekaterinburg", 4, 18)
    refused = client.post(
        f"/moderate/trainings/{training.id}/settings",
        data={"timezone": "Mars/Olympus", "digest_weekday": "4", "digest_hour": "18"},
        headers={"X-Requested-With": "fetch"},
    )
    assert refused.status_code == 400 and "Часовой пояс" in refused.json["message"]
    db.session.refresh(training)
    assert training.timezone == "Asia/Yekaterinburg"


def test_a_signed_in_person_who_switches_to_english_gets_mail_in_english(app, client, world, group):
    from roadmap.extensions import db

    anna = world.member(group, "Анна")
    assert anna.locale is None
    with client.session_transaction() as session:
        session["_user_id"] = anna.get_id()
    response = client.post("/lang/en", data={"next": "/me"})
    assert response.status_code == 302
    db.session.refresh(anna)
    assert anna.locale == "en"
