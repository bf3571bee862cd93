"""Weekly digests and day-before reminders, read from a real SMTP server; unsubscribing; sending exactly once."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

import pytest
from conftest import PASSWORD, _test_app, new_id
from flask_babel import force_locale
from sqlalchemy import select

from roadmap import create_app
from roadmap.extensions import db
from roadmap.models import Change, MailSend, Person
from roadmap.services import editing, history_words, mail, reminders, trainings
from roadmap.timeutil import local_today, zone


def edit(person, group, op_type: str, **keys) -> None:
    editing.apply({"op_id": new_id(), "roadmap_id": group.roadmap.id, "type": op_type, **keys}, actor=person)


def add_step(person, group, title: str, **fields) -> str:
    step_id = new_id()
    edit(person, group, "step.add", step_id=step_id, fields={"title": title, **fields})
    return step_id


def with_email(person: Person, email: str, locale: str | None = None) -> Person:
    person.email, person.locale = email, locale
    db.session.commit()
    return person


def digest_day(training) -> tuple[date, datetime]:
    """Make tomorrow (in the training's zone) its digest day at 09:00; the day and 09:05 that day in naive UTC."""
    day = local_today(training.timezone) + timedelta(days=1)
    trainings.update_settings(training, training.timezone, day.weekday(), 9)
    moment = datetime.combine(day, time(9, 5), tzinfo=zone(training.timezone))
    return day, moment.astimezone(UTC).replace(tzinfo=None)


def sends(kind: str | None = None) -> list[MailSend]:
    db.session.rollback()
    query = select(MailSend).order_by(MailSend.id)
    return list(db.session.scalars(query.where(MailSend.kind == kind) if kind else query))


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


@pytest.fixture
def week(app, group, marina, oleg):
    """Marina owns an overdue step, one due in two days and one due in three weeks; Oleg owns one due tomorrow
    and moved Marina's step along. Both have an e-mail; Marina reads Russian, Oleg English."""
    day, now = digest_day(group.training)
    with_email(marina, "marina@example.org")
    with_email(oleg, "oleg@example.org", locale="en")
    mine = {"owner": {"member": marina.id}}
    add_step(marina, group, "Опрос жителей", due_on=(day - timedelta(days=3)).isoformat(), **mine)
    meeting = add_step(marina, group, "Встреча с управой", due_on=(day + timedelta(days=2)).isoformat(), **mine)
    add_step(marina, group, "Покраска скамеек", due_on=(day + timedelta(days=21)).isoformat(), **mine)
    add_step(oleg, group, "Субботник", due_on=(day + timedelta(days=1)).isoformat(), owner={"member": oleg.id})
    edit(oleg, group, "step.set", step_id=meeting, field="status", value="in_progress")
    return day, now


def test_the_weekly_digest_arrives_in_russian_with_my_steps_the_changes_and_progress(
    app, client, group, week, smtp_inbox
):
    app.config.update(smtp_inbox.config())
    day, now = week

    report = reminders.run_once(now)

    message = smtp_inbox.wait_for(lambda m: m["To"] == "marina@example.org" and "на неделю" in m["Subject"])
    assert message["Subject"] == "Ваши шаги на неделю · Школа городских героев"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    overdue, due_soon = text.index("Просрочено"), text.index("Срок в ближайшие 7 дней")
    assert overdue < text.index("Опрос жителей") < due_soon < text.index("Встреча с управой")
    my_steps = text.split("Мои шаги:")[0]
    assert "Покраска скамеек" not in my_steps and "Субботник" not in my_steps  # due later; Oleg's
    with force_locale("ru"):
        newest = history_words.history(group.roadmap, limit=1)[0].sentence
    assert newest.startswith("Олег:") and newest in text and newest in html
    assert "Выполнено 0 из 4 (0\u00a0%)" in text and "Выполнено 0 из 4 (0\u00a0%)" in html  # progress has one name
    for part in (text, html):
        assert "Опрос жителей" in part and "Встреча с управой" in part
    assert report.sent == 3  # Marina's digest and Oleg's, and Oleg's reminder

    unsubscribe = re.fullmatch(r"<(.+)>", message["List-Unsubscribe"]).group(1)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    raw = next(
        envelope.content
        for envelope in smtp_inbox.envelopes
        if b"marina@example.org" in envelope.content and f"<{unsubscribe}>".encode() in envelope.content
    )  # as sent: one line, not an encoded word
    assert f"List-Unsubscribe: <{unsubscribe}>\r\n".encode() in raw
    assert unsubscribe in text and unsubscribe in html
    links = {urlsplit(href).path for href in hrefs(html)}
    assert {
        "/me",
        "/account/mail",
        urlsplit(unsubscribe).path,
        f"/maps/{group.roadmap.id}",
        f"/maps/{group.roadmap.id}/history",
    } <= links
    adapter = app.url_map.bind("localhost")
    for href in hrefs(html):
        assert href.startswith("http://127.0.0.1:5000/"), href
        adapter.match(urlsplit(href).path, method="GET")  # raises NotFound for a dead link
    assert "Отписаться" in client.get(urlsplit(unsubscribe).path).get_data(as_text=True)
    digest = next(send for send in sends("digest") if send.person_id == message_person(message))
    assert message["Message-ID"] == mail.message_id(
        "mail-send", digest.id, digest.person_id, "digest", digest.period_key
    )


def message_person(message) -> int:
    return db.session.scalar(select(Person.id).where(Person.email == message["To"]))


def test_a_person_who_chose_english_gets_the_digest_in_english_with_times_in_the_training_zone(
    app, group, week, smtp_inbox
):
    app.config.update(smtp_inbox.config())
    trainings.update_settings(group.training, "Asia/Yekaterinburg", group.training.digest_weekday, 9)
    day, _moscow_morning = week
    now = datetime.combine(day, time(9, 30), tzinfo=zone("Asia/Yekaterinburg")).astimezone(UTC)

    reminders.run_once(now.replace(tzinfo=None))

    message = smtp_inbox.wait_for(lambda m: m["To"] == "oleg@example.org" and "this week" in m["Subject"])
    text = message.get_body(("plain",)).get_content()
    assert message["Subject"] == "Your steps this week · Школа городских героев"
    assert "Hello, Олег!" in text and "Due in the next 7 days:\n- Субботник" in text
    assert "Done 0 of 4 (0%)" in text
    change = db.session.scalars(select(Change).order_by(Change.id.desc())).first()
    shown = change.created_at.replace(tzinfo=UTC).astimezone(zone("Asia/Yekaterinburg"))
    assert f"{shown:%H:%M} — Олег changed the status of step “Встреча с управой”" in text
    assert "Unsubscribe from “Weekly digest of my steps and my maps”" in text


def test_a_digest_is_due_only_from_the_moderators_day_and_hour_in_the_training_zone(app, group, week):
    day, now = week

    assert reminders.schedule(now - timedelta(minutes=10)).scheduled == 0  # 08:55 there: not yet
    assert reminders.schedule(now).scheduled == 3  # two digests and Oleg's reminder
    assert reminders.schedule(now + timedelta(hours=3)).scheduled == 0  # each claimed once
    assert {send.period_key for send in sends("digest")} == {f"{group.training.id}/{day.isoformat()}"}


def test_an_empty_digest_is_recorded_as_skipped_and_not_sent(app, world, group, smtp_inbox):
    app.config.update(smtp_inbox.config())
    quiet = with_email(world.member(group, "Тихон"), "tikhon@example.org")
    _day, now = digest_day(group.training)

    report = reminders.run_once(now)

    assert [(send.person_id, send.status) for send in sends("digest")] == [(quiet.id, "skipped")]
    assert (report.scheduled, report.skipped, report.sent) == (0, 1, 0) and smtp_inbox.messages == []


def test_the_owner_is_reminded_once_the_day_before_a_step_is_due(app, group, week, smtp_inbox):
    app.config.update(smtp_inbox.config())
    day, now = week

    reminders.run_once(now)
    reminders.run_once(now + timedelta(hours=5))

    reminders_sent = [m for m in smtp_inbox.messages if m["Subject"].startswith("Tomorrow")]
    assert [m["To"] for m in reminders_sent] == ["oleg@example.org"]
    assert reminders_sent[0]["Subject"] == "Tomorrow: “Субботник” is due"
    text = reminders_sent[0].get_body(("plain",)).get_content()
    assert "Субботник" in text and f"/maps/{group.roadmap.id}" in text
    assert reminders_sent[0]["List-Unsubscribe"].startswith("<http://127.0.0.1:5000/mail/unsubscribe/")
    assert [send.period_key for send in sends("due_reminder")] == [
        f"{sends('due_reminder')[0].step_id}/{(day + timedelta(days=1)).isoformat()}"
    ]


def test_a_reminder_for_a_step_done_meanwhile_is_not_sent(app, group, oleg, week, smtp_inbox):
    app.config.update(smtp_inbox.config())
    _day, now = week
    reminders.schedule(now)
    owed = sends("due_reminder")[0]
    edit(oleg, group, "step.set", step_id=owed.step_id, field="status", value="done")

    reminders.deliver(now)

    assert sends("due_reminder")[0].status == "skipped"
    assert not [m for m in smtp_inbox.messages if m["Subject"].startswith("Tomorrow")]


def test_unsubscribing_asks_on_get_and_switches_off_on_a_one_click_post(app, client, marina, week):
    app.config["WTF_CSRF_ENABLED"] = True  # the one-click POST comes without a session or a CSRF token
    token = mail.unsubscribe_token(marina.id, "digest")

    page = client.get(f"/mail/unsubscribe/{token}")
    assert page.status_code == 200 and "m•••@example.org" in page.get_data(as_text=True)
    assert mail.switched_off(marina.id) == set()  # a link scanner's GET changes nothing

    done = client.post(f"/mail/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "больше не будет" in done.get_data(as_text=True)
    assert mail.switched_off(marina.id) == {"digest"}
    _day, now = week
    reminders.schedule(now)
    assert marina.id not in {send.person_id for send in sends("digest")}
    assert client.post(f"/mail/unsubscribe/{token[:-2]}xx").status_code == 404


def test_the_settings_page_shows_my_address_and_switches_kinds_and_language(app, client, group):
    joined = client.post(
        f"/join/{group.training.join_code}",
        data={"display_name": "Анна", "group_id": group.id, "different_person": "y"},
    )
    assert joined.status_code == 302
    anna = db.session.scalar(select(Person).where(Person.display_name == "Анна"))
    assert "нет e-mail" in client.get("/account/mail").get_data(as_text=True)
    with_email(anna, "anna@example.org")

    page = client.get("/account/mail").get_data(as_text=True)
    assert "anna@example.org" in page and page.count('type="checkbox"') == 3 and page.count("checked") == 3
    saved = client.post("/account/mail", data={"kinds": ["due_reminder"], "language": "en"})

    assert saved.status_code == 302
    db.session.expire_all()
    assert mail.switched_off(anna.id) == {"digest", "mention"} and db.session.get(Person, anna.id).locale == "en"
    assert client.post("/account/mail", data={"kinds": ["spam"], "language": "en"}).status_code == 200  # refused


def test_the_moderator_sees_who_receives_reminders_and_who_has_no_e_mail(
    app, client, world, moderator, group, marina, oleg
):
    with_email(marina, "marina@example.org")
    with_email(with_email_off(world.member(group, "Вера")), "vera@example.org")
    client.post("/sign-in", data={"email": moderator.email, "password": PASSWORD})

    page = client.get(f"/moderate/trainings/{group.training.id}/reminders").get_data(as_text=True)

    rows = {name: status for name, status in re.findall(r"<td>([^<]+)</td>\s*<td>\s*(.+?)\s*</td>", page, re.S)}
    assert "сводку" in rows["Марина"].lower()
    assert "Нет e-mail" in rows["Олег"]
    assert "Отключено" in rows["Вера"] and "Еженедельная сводка" in rows["Вера"]
    assert "09:00 (Москва, Вологда (UTC+3))" in page
    dashboard = client.get(f"/moderate/trainings/{group.training.id}").get_data(as_text=True)
    assert f"/moderate/trainings/{group.training.id}/reminders" in dashboard
    assert client.get(f"/moderate/trainings/{group.training.id + 99}/reminders").status_code == 404


def with_email_off(person: Person) -> Person:
    mail.switch_off(person.id, "digest")
    return person


def test_a_failed_smtp_connection_is_retried_with_backoff_and_the_mail_sent_once(app, group, week, smtp_inbox, caplog):
    _day, now = week
    app.config.update(smtp_inbox.config())
    app.config.update(MAIL_PORT=1, MAIL_TIMEOUT_SECONDS=2)  # nothing listens there: connection refused

    with caplog.at_level(logging.WARNING, logger="roadmap.mail"):
        first = reminders.run_once(now)
    assert first.sent == 0 and first.retrying == 3
    assert "could not send digest" in caplog.text
    pending = sends()
    assert {(send.status, send.attempts, send.next_attempt_at) for send in pending} == {
        ("pending", 1, now + timedelta(seconds=60))
    }
    assert reminders.run_once(now + timedelta(seconds=30)).retrying == 0  # not before the backoff
    second = reminders.run_once(now + timedelta(seconds=61))
    assert second.retrying == 3 and {send.next_attempt_at for send in sends()} == {now + timedelta(seconds=181)}

    app.config["MAIL_PORT"] = smtp_inbox.port  # the server is back
    third = reminders.run_once(now + timedelta(seconds=200))
    reminders.run_once(now + timedelta(seconds=400))

    assert third.sent == 3 and smtp_inbox.messages and len(smtp_inbox.messages) == 3
    assert sorted(m["To"] for m in smtp_inbox.messages) == [
        "marina@example.org",
        "oleg@example.org",
        "oleg@example.org",
    ]
    assert {(send.status, send.attempts) for send in sends()} == {("sent", 3)}


def test_a_sender_gives_up_after_the_last_attempt_and_logs_it(app, group, week, caplog):
    _day, now = week
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_USE_TLS=False, MAIL_MAX_ATTEMPTS=1)

    with caplog.at_level(logging.ERROR, logger="roadmap.mail"):
        report = reminders.run_once(now)

    assert report.failed == 3 and {send.status for send in sends()} == {"failed"}
    assert "gave up on digest" in caplog.text and all(send.last_error for send in sends())


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_two_senders_at_once_deliver_each_digest_exactly_once(app, database_url, world, group, tmp_path, smtp_inbox):
    people = [
        with_email(world.member(group, f"Участник {number}"), f"member{number}@example.org") for number in range(12)
    ]
    for person in people:
        add_step(
            person,
            group,
            f"Шаг {person.display_name}",
            owner={"member": person.id},
            due_on=(local_today(group.training.timezone) + timedelta(days=3)).isoformat(),
        )
    _day, now = digest_day(group.training)
    reports, errors = send_from_two_processes_at_once(database_url, tmp_path, smtp_inbox, now)

    assert errors == []
    recipients = sorted(m["To"] for m in smtp_inbox.messages)
    assert recipients == sorted(person.email for person in people)
    assert sum(report.scheduled for report in reports) == len(people)
    assert sum(report.sent for report in reports) == len(people)
    assert {send.status for send in sends("digest")} == {"sent"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_cron_processes_at_once_deliver_each_digest_exactly_once(
    app, database_url, world, group, tmp_path, smtp_inbox
):
    people = [
        with_email(world.member(group, f"Житель {number}"), f"resident{number}@example.org") for number in range(30)
    ]
    today = local_today(group.training.timezone)
    for person in people:
        add_step(
            person,
            group,
            f"Шаг {person.display_name}",
            owner={"member": person.id},
            due_on=(today + timedelta(days=3)).isoformat(),
        )
    trainings.update_settings(group.training, group.training.timezone, today.weekday(), 0)  # owed from 00:00 today
    environment = {
        **os.environ,
        **smtp_inbox.environment(),
        "DATABASE_URL": database_url,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "ROADMAP_REMINDERS": "off",
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "send-reminders"]
    senders = [
        subprocess.Popen(
            command,
            env={**environment, "ROADMAP_INSTANCE_PATH": str(tmp_path / f"cron-{n}")},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n in range(2)
    ]
    outputs = [sender.communicate(timeout=120)[0] for sender in senders]

    assert [sender.returncode for sender in senders] == [0, 0], outputs
    sent = [int(re.search(r"sent (\d+)", output).group(1)) for output in outputs]
    assert sum(sent) == len(people), outputs  # they really race: split 16/14, 15/15, 14/16, 15/15 in four runs
    assert sorted(m["To"] for m in smtp_inbox.messages) == sorted(person.email for person in people)
    assert {send.status for send in sends("digest")} == {"sent"}


def test_flask_send_reminders_runs_one_pass_for_cron(app, group, marina, smtp_inbox):
    app.config.update(smtp_inbox.config())
    with_email(marina, "marina@example.org")
    today = local_today(group.training.timezone)
    add_step(marina, group, "Встреча с управой", owner={"member": marina.id}, due_on=today.isoformat())
    trainings.update_settings(group.training, group.training.timezone, today.weekday(), 0)

    result = app.test_cli_runner().invoke(args=["send-reminders"])

    assert result.exit_code == 0, result.output
    assert "scheduled 1, sent 1" in result.output
    assert [m["To"] for m in smtp_inbox.messages] == ["marina@example.org"]


def test_names_and_titles_in_a_digest_are_inert_text(app, world, group, smtp_inbox):
    app.config.update(smtp_inbox.config())
    mallory = with_email(world.member(group, "<img src=x onerror=alert(1)>"), "mallory@example.org")
    add_step(
        mallory,
        group,
        "<script>alert(2)</script>",
        owner={"member": mallory.id},
        due_on=(local_today(group.training.timezone) + timedelta(days=2)).isoformat(),
    )
    _day, now = digest_day(group.training)

    reminders.run_once(now)

    html = smtp_inbox.wait_for(lambda m: m["To"] == "mallory@example.org").get_body(("html",)).get_content()
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.mark.parametrize("value, in_server", [("off", False), ("on", True)])
def test_roadmap_reminders_off_keeps_the_loop_out_of_the_server(monkeypatch, tmp_path, value, in_server):
    monkeypatch.setenv("ROADMAP_REMINDERS", value)

    app = create_app(overrides={"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://"})

    assert app.config["REMINDERS_IN_SERVER"] is in_server


def send_from_two_processes_at_once(database_url: str, tmp_path, smtp_inbox, now) -> tuple[list, list]:
    """reminders.run_once(now) in two apps started together, as two server processes would: their reports, errors."""
    start = threading.Barrier(2)
    reports, errors = [], []
    # Each sender its own app, engine and connections; made here, because compiling an app's URL
    # rules in two threads at once trips CPython 3.11's parser ("AST constructor recursion depth mismatch").
    processes = [_test_app(database_url, tmp_path / f"sender-{number}") for number in range(2)]
    for process in processes:
        process.config.update(smtp_inbox.config())

    def sender(number: int) -> None:
        try:
            with processes[number].app_context():
                start.wait(timeout=10)
                reports.append(reminders.run_once(now))
                db.engine.dispose()
        except Exception as error:  # surfaced by the caller
            errors.append(error)

    threads = [threading.Thread(target=sender, args=(number,)) for number in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return reports, errors
