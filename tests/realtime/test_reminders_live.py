"""Exactly once across a crash: the real server is killed while the SMTP server holds its digest's DATA
unanswered, and the next pass delivers that digest once, under the same Message-ID."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from conftest import LiveServer, SmtpInbox, serving

from roadmap.services import mail, reminders, trainings
from roadmap.timeutil import local_today, utcnow
from tests.services.test_reminders import add_step, sends, with_email

pytestmark = pytest.mark.live


class HoldingInbox(SmtpInbox):
    """Holds the first mail's DATA without answering. When its sender goes away, aiosmtpd cancels the
    handler, so that mail is never accepted: as at a real server, which takes a mail only with its 250."""

    def __init__(self):
        super().__init__()
        self.holding = threading.Event()
        self.dropped = threading.Event()
        self._held = False

    async def handle_DATA(self, server, session, envelope):
        if not self._held:
            self._held = True
            self.holding.set()
            try:
                await asyncio.Event().wait()  # never set: only the dropped connection ends this
            except asyncio.CancelledError:
                self.dropped.set()
                raise
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def holding_inbox():
    with serving(HoldingInbox()) as inbox:
        yield inbox


def test_a_server_killed_in_the_middle_of_a_send_leaves_the_digest_to_the_next_pass_which_sends_it_once(
    app, database_url, tmp_path, group, marina, holding_inbox
):
    with_email(marina, "marina@example.org")
    today = local_today(group.training.timezone)
    add_step(
        marina, group, "Встреча с управой", owner={"member": marina.id}, due_on=(today + timedelta(days=2)).isoformat()
    )
    trainings.update_settings(group.training, group.training.timezone, today.weekday(), 0)  # due since midnight
    server = LiveServer(database_url, app.instance_path, tmp_path / "server.log", extra_env=holding_inbox.environment())
    server.start()
    try:
        assert holding_inbox.holding.wait(timeout=30), (tmp_path / "server.log").read_text()[-2000:]
        [claimed] = sends("digest")
        assert (claimed.status, claimed.attempts) == ("pending", 1) and claimed.claimed_until > utcnow()
    finally:
        server.kill()
    assert holding_inbox.dropped.wait(timeout=10)
    assert holding_inbox.messages == []

    app.config.update(holding_inbox.config())
    assert reminders.run_once(utcnow()).sent == 0  # the dead process's lease still holds it
    after_the_lease = utcnow() + timedelta(seconds=app.config["MAIL_LEASE_SECONDS"] + 1)
    report = reminders.run_once(after_the_lease)
    reminders.run_once(after_the_lease + timedelta(minutes=5))

    assert report.sent == 1 and [m["To"] for m in holding_inbox.messages] == ["marina@example.org"]
    [sent] = sends("digest")
    assert (sent.id, sent.status, sent.attempts) == (claimed.id, "sent", 2)
    assert holding_inbox.messages[0]["Message-ID"] == mail.message_id(
        "mail-send", sent.id, marina.id, "digest", sent.period_key
    )
