"""A mention left unseen past the delay is mailed once, read from a real SMTP server; a seen one, one
switched off, one to somebody with no confirmed address and one in a comment gone are not."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from conftest import new_id
from sqlalchemy import select

from roadmap.extensions import db
from roadmap.models import Mention
from roadmap.services import accounts, editing, mail, reminders, trainings
from roadmap.timeutil import utcnow
from tests.services.test_reminders import add_step, send_from_two_processes_at_once, sends, with_email

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)

QUESTION = "@Олег позвонишь в управу до среды? Нужно согласовать площадку под контейнеры."


@pytest.fixture
def step_id(group, marina):
    return add_step(marina, group, "Согласовать площадку")


@pytest.fixture
def inbox(app, smtp_inbox):
    app.config.update(smtp_inbox.config())
    return smtp_inbox


def comment(author, group, step_id: str, body: str, mentioned=()) -> str:
    comment_id = new_id()
    editing.apply(
        {
            "op_id": new_id(),
            "roadmap_id": group.roadmap.id,
            "type": "comment.add",
            "comment_id": comment_id,
            "step_id": step_id,
            "body": body,
            "mentions": [person.id for person in mentioned],
        },
        actor=author,
    )
    return comment_id


def mention_of(person) -> Mention:
    db.session.rollback()
    return db.session.scalars(select(Mention).where(Mention.person_id == person.id).order_by(Mention.id)).first()


def after_the_delay(extra: timedelta = timedelta(seconds=1)):
    return utcnow() + reminders.mention_mail_delay() + extra


def mention_mails(inbox) -> list:
    return [message for message in inbox.messages if "/mentions/" in message.get_body(("plain",)).get_content()]


def test_a_mention_left_unseen_past_the_delay_is_mailed_once_with_the_quote_and_the_link(
    app, client, group, marina, oleg, step_id, inbox
):
    with_email(oleg, "oleg@example.org")
    comment(marina, group, step_id, QUESTION, mentioned=[oleg])
    mention = mention_of(oleg)

    assert reminders.run_once(after_the_delay(-timedelta(minutes=1))).scheduled == 0  # people in the room: not yet
    first = reminders.run_once(after_the_delay())
    again = reminders.run_once(after_the_delay(timedelta(hours=2)))

    assert (first.scheduled, first.sent, again.scheduled, again.sent) == (1, 1, 0, 0)
    [message] = mention_mails(inbox)
    assert message["To"] == "oleg@example.org"
    assert message["Subject"] == "Марина упомянул(а) вас в шаге «Согласовать площадку»"
    text, html = message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()
    link = f"http://127.0.0.1:5000/mentions/{mention.id}"
    for part in (text, html):
        assert QUESTION in part and link in part
        assert "Марина в комментарии к шагу «Согласовать площадку» дорожной карты «Чистый двор»" in part
    assert f'href="{link}"' in html
    unsubscribe = re.fullmatch(r"<(.+)>", message["List-Unsubscribe"]).group(1)
    assert mail.read_unsubscribe_token(urlsplit(unsubscribe).path.rsplit("/", 1)[1]) == (oleg.id, "mention")
    [send] = sends("mention")
    assert (send.status, mention_of(oleg).mail_send_id) == ("sent", send.id)

    with client.session_transaction() as session:
        session["_user_id"] = oleg.get_id()
    opened = client.get(urlsplit(link).path)
    assert opened.status_code == 302 and opened.location.endswith(f"/maps/{group.roadmap.id}#comments-{step_id}")
    assert mention_of(oleg).seen_at is not None


def test_a_long_comment_is_quoted_shortened_at_a_word(app, group, marina, oleg, step_id, inbox):
    with_email(oleg, "oleg@example.org")
    words = "Соберём подписи жителей всех пяти подъездов и отнесём их в управу вместе с планом двора. " * 8
    comment(marina, group, step_id, "@Олег " + words, mentioned=[oleg])

    reminders.run_once(after_the_delay())

    text = mention_mails(inbox)[0].get_body(("plain",)).get_content()
    quote = next(line for line in text.splitlines() if line.startswith("> "))[2:]
    assert quote.endswith("…") and len(quote) <= reminders.QUOTE_LENGTH + 1
    assert ("@Олег " + words).startswith(quote[:-1]) and words.split()[len(quote.split()) - 1] in quote


def test_the_delay_is_a_setting(app, group, marina, oleg, step_id, inbox):
    app.config["MENTION_MAIL_DELAY_SECONDS"] = 60
    with_email(oleg, "oleg@example.org")
    comment(marina, group, step_id, QUESTION, mentioned=[oleg])

    assert reminders.run_once(utcnow() + timedelta(seconds=50)).sent == 0
    assert reminders.run_once(utcnow() + timedelta(seconds=61)).sent == 1


def test_a_mention_opened_within_the_delay_is_not_mailed(app, client, group, marina, oleg, step_id, inbox):
    with_email(oleg, "oleg@example.org")
    comment(marina, group, step_id, QUESTION, mentioned=[oleg])
    with client.session_transaction() as session:
        session["_user_id"] = oleg.get_id()
    assert client.get(f"/mentions/{mention_of(oleg).id}").status_code == 302  # from the top bar

    report = reminders.run_once(after_the_delay())

    assert (report.scheduled, report.skipped, report.sent) == (0, 0, 0)
    assert mention_mails(inbox) == [] and sends("mention") == []


def test_a_person_who_switched_mention_mail_off_gets_none_even_after_switching_it_on_again(
    app, client, group, marina, oleg, step_id, inbox
):
    with_email(oleg, "oleg@example.org")
    token = mail.unsubscribe_token(oleg.id, "mention")
    assert client.post(f"/mail/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 200
    comment(marina, group, step_id, QUESTION, mentioned=[oleg])

    report = reminders.run_once(after_the_delay())
    mail.choose(oleg.id, set(mail.OPTIONAL_KINDS), "ru")
    reminders.run_once(after_the_delay(timedelta(hours=1)))

    assert (report.scheduled, report.skipped) == (0, 1)
    assert mention_mails(inbox) == [] and [send.status for send in sends("mention")] == ["skipped"]


def test_the_mail_settings_page_offers_mention_mail(app, client, group, oleg):
    with_email(oleg, "oleg@example.org")
    with client.session_transaction() as session:
        session["_user_id"] = oleg.get_id()

    page = client.get("/account/mail").get_data(as_text=True)

    assert "Письмо, если меня упомянули в комментарии" in page and 'value="mention"' in page


def test_someone_without_a_confirmed_address_gets_none(app, group, marina, oleg, step_id, inbox):
    accounts.request_address(oleg, "oleg@example.org", lambda token: f"http://example.org/confirm/{token}")
    assert accounts.pending_address(oleg) == "oleg@example.org" and oleg.email is None  # asked, never confirmed
    comment(marina, group, step_id, QUESTION, mentioned=[oleg])

    report = reminders.run_once(after_the_delay())

    assert (report.scheduled, report.sent) == (0, 0)
    assert mention_mails(inbox) == [] and [send.status for send in sends("mention")] == ["skipped"]


@pytest.mark.parametrize("removal", ["deleted by its author", "hidden by the moderator"])
def test_a_deleted_or_hidden_comment_is_not_mailed(app, moderator, group, marina, oleg, step_id, inbox, removal):
    with_email(oleg, "oleg@example.org")
    comment_id = comment(marina, group, step_id, QUESTION, mentioned=[oleg])
    if removal == "deleted by its author":
        editing.apply(
            {"op_id": new_id(), "roadmap_id": group.roadmap.id, "type": "comment.delete", "comment_id": comment_id},
            actor=marina,
        )
    else:
        editing.apply(
            {
                "op_id": new_id(),
                "roadmap_id": group.roadmap.id,
                "type": "comment.hide",
                "comment_id": comment_id,
                "hidden": True,
            },
            actor=moderator,
        )

    reminders.run_once(after_the_delay())

    assert mention_mails(inbox) == [] and [send.status for send in sends("mention")] == ["skipped"]


def test_a_comment_edited_to_no_longer_name_them_is_not_mailed(app, group, marina, oleg, step_id, inbox):
    with_email(oleg, "oleg@example.org")
    comment_id = comment(marina, group, step_id, QUESTION, mentioned=[oleg])
    editing.apply(
        {
            "op_id": new_id(),
            "roadmap_id": group.roadmap.id,
            "type": "comment.edit",
            "comment_id": comment_id,
            "body": "Позвоню в управу сама.",
            "mentions": [],
        },
        actor=marina,
    )

    reminders.run_once(after_the_delay())

    assert mention_mails(inbox) == []


def test_a_comment_hidden_after_its_mail_was_claimed_is_not_sent(app, moderator, group, marina, oleg, step_id, inbox):
    with_email(oleg, "oleg@example.org")
    comment_id = comment(marina, group, step_id, QUESTION, mentioned=[oleg])
    later = after_the_delay()
    assert reminders.schedule(later).scheduled == 1
    editing.apply(
        {
            "op_id": new_id(),
            "roadmap_id": group.roadmap.id,
            "type": "comment.hide",
            "comment_id": comment_id,
            "hidden": True,
        },
        actor=moderator,
    )

    report = reminders.deliver(later)

    assert (report.sent, report.skipped) == (0, 1) and mention_mails(inbox) == []


def test_a_member_who_left_the_group_is_not_mailed_about_its_map(app, group, marina, oleg, step_id, inbox):
    with_email(oleg, "oleg@example.org")
    comment(marina, group, step_id, QUESTION, mentioned=[oleg])
    trainings.remove_member(next(m for m in group.memberships if m.person_id == oleg.id))

    reminders.run_once(after_the_delay())

    assert mention_mails(inbox) == []


def test_several_mentions_waiting_at_once_go_in_one_mail(app, group, marina, oleg, step_id, inbox):
    with_email(oleg, "oleg@example.org")
    other_step = add_step(marina, group, "Заказать контейнеры")
    comment(marina, group, step_id, QUESTION, mentioned=[oleg])
    comment(marina, group, other_step, "@Олег сколько контейнеров берём?", mentioned=[oleg])
    first, second = db.session.scalars(select(Mention.id).where(Mention.person_id == oleg.id).order_by(Mention.id))

    report = reminders.run_once(after_the_delay())

    assert report.sent == 1
    [message] = mention_mails(inbox)
    assert message["Subject"] == "Вас упомянули в комментариях 2 раза"
    text = message.get_body(("plain",)).get_content()
    assert text.index(QUESTION) < text.index("@Олег сколько контейнеров берём?")
    assert f"/mentions/{first}" in text and f"/mentions/{second}" in text
    assert "«Заказать контейнеры»" in text


def test_a_person_who_chose_english_gets_the_mail_in_english(app, group, marina, oleg, step_id, inbox):
    with_email(oleg, "oleg@example.org", locale="en")
    comment(marina, group, step_id, QUESTION, mentioned=[oleg])

    reminders.run_once(after_the_delay())

    [message] = mention_mails(inbox)
    assert message["Subject"] == "Марина mentioned you at “Согласовать площадку”"
    text = message.get_body(("plain",)).get_content()
    assert "Hello, Олег!" in text and "Open the comment: http://127.0.0.1:5000/mentions/" in text
    assert "Unsubscribe from “A mail when I am mentioned in a comment and have not seen it”" in text


def test_names_and_comments_in_the_mail_are_inert_text(app, world, group, oleg, step_id, inbox):
    with_email(oleg, "oleg@example.org")
    mallory = world.member(group, "<img src=x onerror=alert(1)>")
    comment(mallory, group, step_id, "<script>alert(2)</script> @Олег", mentioned=[oleg])

    reminders.run_once(after_the_delay())

    html = mention_mails(inbox)[0].get_body(("html",)).get_content()
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_two_senders_at_once_mail_each_mention_once(
    app, database_url, world, group, marina, step_id, tmp_path, smtp_inbox
):
    people = [
        with_email(world.member(group, f"Участник {number}"), f"member{number}@example.org") for number in range(8)
    ]
    for person in people:
        comment(marina, group, step_id, f"@{person.display_name} придёшь?", mentioned=[person])
    reports, errors = send_from_two_processes_at_once(database_url, tmp_path, smtp_inbox, after_the_delay())

    assert errors == []
    assert sorted(m["To"] for m in mention_mails(smtp_inbox)) == sorted(person.email for person in people)
    assert sum(report.scheduled for report in reports) == sum(report.sent for report in reports) == len(people)
    assert {send.status for send in sends("mention")} == {"sent"}
