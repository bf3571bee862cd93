"""Weekly digests, day-before reminders and mails about unseen mentions, each sent exactly once.

Every pass (`run_once`, every minute in the server or from cron) does two things:

1. Schedule. For each training whose mail hour has come today in its own zone, a row in
   `mail_sends` claims every mail owed: a digest on the digest weekday, and a reminder for each
   step due tomorrow. The unique (person, kind, period) lets exactly one process insert it; a
   digest with nothing in it is recorded as skipped and never sent. At any hour, the mentions
   left unseen for MENTION_MAIL_DELAY_SECONDS are claimed too: one row for all of a person's
   mentions waiting in one training, each mention marked with it in the same transaction.
2. Deliver. Pending rows whose time has come are leased (`claimed_until`) one at a time, each in
   a short transaction (PostgreSQL skips rows another process is leasing, and a conditional
   update takes each row at most once everywhere), sent, and marked sent. A failed SMTP
   connection sets the next attempt with a doubling delay; a process killed mid-send leaves its
   lease to expire, and the next pass sends the mail again under the same Message-ID.

A person in several trainings gets one digest per training, at that training's time, about
their maps in it: each training has its own moderator, zone and day.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import groupby

from flask import current_app, has_request_context, render_template
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from roadmap.domain import permissions
from roadmap.domain.progress import Progress, progress
from roadmap.extensions import db, socketio
from roadmap.i18n import show_times_in
from roadmap.models import (
    Change,
    Comment,
    Group,
    MailOptOut,
    MailSend,
    Membership,
    Mention,
    Person,
    Roadmap,
    Step,
    Training,
)
from roadmap.services import history_words, mail, snapshots
from roadmap.services.transactions import writing
from roadmap.timeutil import local, utcnow

log = logging.getLogger("roadmap.mail")

DIGEST, DUE_REMINDER, MENTION = "digest", "due_reminder", "mention"
DUE_SOON_DAYS = 7
QUOTE_LENGTH = 280  # characters of a comment quoted in a mention's mail
CHANGES_PER_MAP = 10
DELIVERIES_PER_PASS = 50
LEASE_CANDIDATES = 5
STARTUP_DELAY_SECONDS = 3


@dataclass(frozen=True)
class MailHour:
    """Today's mail hour of one training: its local date and the moment (naive UTC)."""

    day: date
    at: datetime


@dataclass(frozen=True)
class StepLine:
    title: str
    due_on: date
    roadmap_id: int
    map_title: str


@dataclass(frozen=True)
class ChangeLine:
    at: datetime
    sentence: str


@dataclass(frozen=True)
class MapPart:
    roadmap_id: int
    title: str
    progress: Progress
    changes: list[ChangeLine]
    more_changes: int


@dataclass(frozen=True)
class MentionLine:
    """One mention as its mail tells it, in the current locale."""

    mention_id: int
    by: str
    step_title: str
    map_title: str
    quote: str


@dataclass
class Digest:
    """One person's week in one training, in the current locale."""

    overdue: list[StepLine] = field(default_factory=list)
    due_soon: list[StepLine] = field(default_factory=list)
    maps: list[MapPart] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.overdue or self.due_soon or any(part.changes for part in self.maps))


@dataclass
class PassReport:
    """What one pass did: mails claimed to send, claimed or found empty (skipped), sent, to retry, given up."""

    scheduled: int = 0
    sent: int = 0
    skipped: int = 0
    retrying: int = 0
    failed: int = 0


def run_once(now: datetime | None = None) -> PassReport:
    """Schedule what is owed at `now` (naive UTC) and deliver what is due; safe in several processes at once."""
    now = now or utcnow()
    report = PassReport()
    with _links_context():
        schedule(now, report)
        deliver(now, report)
    return report


def run_forever(app, interval_seconds: float) -> None:
    """The server's background loop (roadmap/server.py). The first pass waits a moment, so a starting
    server answers its first requests before it renders any mail."""
    socketio.sleep(STARTUP_DELAY_SECONDS)
    while True:
        try:
            with app.app_context():
                run_once()
        except Exception:  # the loop must outlive a passing database or template error
            log.exception("reminders pass failed")
        socketio.sleep(interval_seconds)


# --- when --------------------------------------------------------------------------


def mail_hour(training: Training, now: datetime) -> MailHour | None:
    """Today's mail hour in the training's zone, once it has come (the digest hour; reminders use it too)."""
    local_now = local(now, training.timezone)
    if local_now.hour < training.digest_hour:
        return None
    at = local_now.replace(hour=training.digest_hour, minute=0, second=0, microsecond=0)
    return MailHour(day=local_now.date(), at=at.astimezone(UTC).replace(tzinfo=None))


def schedule(now: datetime, report: PassReport | None = None) -> PassReport:
    """Claim every digest, reminder and mention mail owed at `now`; counts the rows this process
    inserted: `scheduled` to send, `skipped` for mails with nothing in them."""
    report = report or PassReport()
    for training in db.session.scalars(select(Training).order_by(Training.id)).all():
        hour = mail_hour(training, now)
        if hour is None:
            continue
        if hour.day.weekday() == training.digest_weekday:
            _schedule_digests(training, hour, report)
        _schedule_due_reminders(training, hour, report)
    _schedule_mention_mails(now, report)
    return report


def _schedule_digests(training: Training, hour: MailHour, report: PassReport) -> None:
    period_key = f"{training.id}/{hour.day.isoformat()}"
    already = set(
        db.session.scalars(select(MailSend.person_id).where(MailSend.kind == DIGEST, MailSend.period_key == period_key))
    )
    for person in recipients(training, DIGEST):
        if person.id in already:
            continue
        with force_locale(_locale_of(person)):
            status = "skipped" if digest_for(person, training, hour).is_empty else "pending"
        if _claim(person.id, DIGEST, period_key, training.id, hour.at, status=status):
            _count(report, "scheduled" if status == "pending" else "skipped")


def _schedule_due_reminders(training: Training, hour: MailHour, report: PassReport) -> None:
    tomorrow = hour.day + timedelta(days=1)
    wanting = {person.id for person in recipients(training, DUE_REMINDER)}
    for step_id, owner_id in db.session.execute(_owned_steps(training.id).where(Step.due_on == tomorrow)).all():
        if owner_id not in wanting:
            continue
        period_key = f"{step_id}/{tomorrow.isoformat()}"
        known = db.session.scalar(
            select(MailSend.id).where(
                MailSend.person_id == owner_id, MailSend.kind == DUE_REMINDER, MailSend.period_key == period_key
            )
        )
        if known is None and _claim(owner_id, DUE_REMINDER, period_key, training.id, hour.at, step_id=step_id):
            _count(report, "scheduled")


def _owned_steps(training_id: int):
    """(step id, owner id) of the unfinished, live steps a member owns in the training's active groups."""
    return (
        select(Step.id, Step.owner_member_id)
        .join(Roadmap, Roadmap.id == Step.roadmap_id)
        .join(Group, Group.id == Roadmap.group_id)
        .where(
            Group.training_id == training_id,
            Group.archived.is_(False),
            Step.deleted_at.is_(None),
            Step.status != "done",
            Step.owner_member_id.is_not(None),
        )
        .order_by(Step.id)
    )


def _claim(
    person_id: int,
    kind: str,
    period_key: str,
    training_id: int,
    slot_at: datetime,
    step_id: str | None = None,
    status: str = "pending",
) -> bool:
    """Insert the mail's row; False when another process already did (the unique key decides)."""
    try:
        with writing():
            db.session.add(
                MailSend(
                    person_id=person_id,
                    kind=kind,
                    period_key=period_key,
                    training_id=training_id,
                    step_id=step_id,
                    slot_at=slot_at,
                    status=status,
                    next_attempt_at=slot_at,
                )
            )
    except IntegrityError:
        return False
    return True


def mention_mail_delay() -> timedelta:
    """How long a mention waits unseen before it is mailed (MENTION_MAIL_DELAY_SECONDS)."""
    return timedelta(seconds=current_app.config["MENTION_MAIL_DELAY_SECONDS"])


def _schedule_mention_mails(now: datetime, report: PassReport) -> None:
    """Settle every mention left unseen past the delay, once: one mail for all of a person's mentions
    waiting in one training, recorded as skipped when it would tell nothing (no address, mail of this
    kind switched off, the comment deleted or hidden), so a mention is never mailed later instead."""
    waiting = db.session.execute(
        select(Mention.person_id, Group.training_id, Mention.id)
        .join(Roadmap, Roadmap.id == Mention.roadmap_id)
        .join(Group, Group.id == Roadmap.group_id)
        .where(
            Mention.seen_at.is_(None), Mention.mail_send_id.is_(None), Mention.created_at <= now - mention_mail_delay()
        )
        .order_by(Mention.person_id, Group.training_id, Mention.id)
    ).all()
    for (person_id, training_id), rows in groupby(waiting, key=lambda row: (row.person_id, row.training_id)):
        mention_ids = [row.id for row in rows]
        person = db.session.get(Person, person_id)
        owed = _mailable(person, MENTION) and bool(_owed_mentions(person, Mention.id.in_(mention_ids)))
        status = "pending" if owed else "skipped"
        if _claim_mentions(person_id, training_id, mention_ids, now, status):
            _count(report, "scheduled" if owed else "skipped")


class _MentionTaken(Exception):
    """Another process settled, or the person opened, one of the mentions meanwhile."""


def _claim_mentions(person_id: int, training_id: int, mention_ids: list[int], now: datetime, status: str) -> bool:
    """Insert the mail's row and mark each mention with it, in one transaction; False when another
    process got there first: the unique key (the first mention's id is the period) or a mention
    it marked meanwhile. A mention left out is taken by the next pass."""
    try:
        with writing():
            send = MailSend(
                person_id=person_id,
                kind=MENTION,
                period_key=str(mention_ids[0]),
                training_id=training_id,
                slot_at=now,
                status=status,
                next_attempt_at=now,
            )
            db.session.add(send)
            db.session.flush()
            marked = db.session.execute(
                update(Mention)
                .where(Mention.id.in_(mention_ids), Mention.mail_send_id.is_(None), Mention.seen_at.is_(None))
                .values(mail_send_id=send.id)
                .execution_options(synchronize_session=False)
            )
            if marked.rowcount != len(mention_ids):
                raise _MentionTaken()
    except (IntegrityError, _MentionTaken):
        return False
    return True


# --- who ---------------------------------------------------------------------------


def recipients(training: Training, kind: str) -> list[Person]:
    """Members of the training's active groups with an e-mail who did not switch `kind` off."""
    switched_off = select(MailOptOut.person_id).where(MailOptOut.kind == kind)
    return list(
        db.session.scalars(
            select(Person)
            .where(Person.id.in_(_members_with_email(training.id)), Person.id.not_in(switched_off))
            .order_by(Person.id)
        )
    )


def _mailable(person: Person, kind: str) -> bool:
    """The person has a confirmed address (only those are stored), is not merged into another and
    did not switch `kind` off."""
    return bool(person.email) and person.merged_into_id is None and kind not in mail.switched_off(person.id)


def _members_with_email(training_id: int):
    return (
        select(Membership.person_id)
        .join(Group, Group.id == Membership.group_id)
        .join(Person)
        .where(
            Group.training_id == training_id,
            Group.archived.is_(False),
            Person.email.is_not(None),
            Person.merged_into_id.is_(None),
        )
    )


@dataclass(frozen=True)
class RecipientLine:
    """A group member as the moderator's reminders page shows them."""

    name: str
    has_email: bool
    switched_off: tuple[str, ...]


def recipients_by_group(training: Training) -> list[tuple[Group, list[RecipientLine]]]:
    """Per active group, each member: an e-mail or not, and which kinds they switched off."""
    member_ids = [membership.person_id for group in training.active_groups for membership in group.memberships]
    off: dict[int, list[str]] = {}
    for person_id, kind in db.session.execute(
        select(MailOptOut.person_id, MailOptOut.kind)
        .where(MailOptOut.person_id.in_(member_ids))
        .order_by(MailOptOut.kind)
    ):
        off.setdefault(person_id, []).append(kind)
    return [
        (
            group,
            sorted(
                (
                    RecipientLine(m.person.display_name, bool(m.person.email), tuple(off.get(m.person_id, ())))
                    for m in group.memberships
                    if m.person.merged_into_id is None
                ),
                key=lambda line: line.name.casefold(),
            ),
        )
        for group in training.active_groups
    ]


# --- what --------------------------------------------------------------------------


def digest_for(person: Person, training: Training, hour: MailHour) -> Digest:
    """The person's overdue steps, steps due in the next 7 days, and each map's progress and
    changes since their previous digest of this training (else the last 7 days), up to `hour`."""
    since = db.session.scalar(
        select(func.max(MailSend.slot_at)).where(
            MailSend.person_id == person.id,
            MailSend.kind == DIGEST,
            MailSend.training_id == training.id,
            MailSend.slot_at < hour.at,
        )
    ) or hour.at - timedelta(days=7)
    digest = Digest()
    for roadmap in _maps_of(person, training):
        map_data = snapshots.snapshot(roadmap, with_members=False)
        title = map_data["title"] or roadmap.group.name
        map_progress = progress(map_data, hour.day)
        overdue_ids = {step["id"] for step in map_progress.overdue}
        for step in map_data["steps"]:
            if step.get("owner") != {"member": person.id} or step["status"] == "done" or not step.get("due_on"):
                continue
            line = StepLine(step["title"] or _("Untitled step"), date.fromisoformat(step["due_on"]), roadmap.id, title)
            if step["id"] in overdue_ids:
                digest.overdue.append(line)
            elif line.due_on < hour.day + timedelta(days=DUE_SOON_DAYS):
                digest.due_soon.append(line)
        changes, more = _changes_between(roadmap.id, since, hour.at)
        digest.maps.append(MapPart(roadmap.id, title, map_progress, changes, more))
    digest.overdue.sort(key=lambda line: line.due_on)
    digest.due_soon.sort(key=lambda line: line.due_on)
    return digest


def _owed_mentions(person: Person, *which) -> list[MentionLine]:
    """The person's mentions among `which` still worth a mail, oldest first: unseen, in a comment
    still shown (not deleted, not hidden) that still names them, on a live step of a map they may
    still open."""
    rows = db.session.execute(
        select(Mention, Comment, Step.title, Roadmap, Person.display_name)
        .join(Comment, Comment.id == Mention.comment_id)
        .join(Step, Step.id == Mention.step_id)
        .join(Roadmap, Roadmap.id == Mention.roadmap_id)
        .join(Person, Person.id == Comment.author_id)
        .where(
            Mention.person_id == person.id,
            Mention.seen_at.is_(None),
            Comment.deleted_at.is_(None),
            Comment.hidden_at.is_(None),
            Step.deleted_at.is_(None),
            *which,
        )
        .order_by(Mention.created_at, Mention.id)
    ).all()
    return [
        MentionLine(
            mention.id,
            author,
            step_title or _("Untitled step"),
            roadmap.title or roadmap.group.name,
            history_words.shorten(comment.body, QUOTE_LENGTH),
        )
        for mention, comment, step_title, roadmap, author in rows
        if person.id in (comment.mentions or ()) and permissions.may_view_group_map(person, roadmap.group)
    ]


def _maps_of(person: Person, training: Training) -> list[Roadmap]:
    return list(
        db.session.scalars(
            select(Roadmap)
            .join(Group, Group.id == Roadmap.group_id)
            .join(Membership, Membership.group_id == Group.id)
            .where(Membership.person_id == person.id, Group.training_id == training.id, Group.archived.is_(False))
            .order_by(Group.id)
        )
    )


def _changes_between(roadmap_id: int, since: datetime, until: datetime) -> tuple[list[ChangeLine], int]:
    """The map's changes in [since, until) as the history tells them, newest first, and how many more."""
    window = (Change.roadmap_id == roadmap_id, Change.created_at >= since, Change.created_at < until)
    total = db.session.scalar(select(func.count()).select_from(Change).where(*window))
    if not total:
        return [], 0
    names = history_words.names_for(roadmap_id)
    changes = db.session.scalars(select(Change).where(*window).order_by(Change.revision.desc()).limit(CHANGES_PER_MAP))
    return [ChangeLine(change.created_at, history_words.describe(change, names)) for change in changes], max(
        total - CHANGES_PER_MAP, 0
    )


# --- delivery ----------------------------------------------------------------------


def deliver(now: datetime, report: PassReport | None = None) -> PassReport:
    """Send the pending mails whose time has come, one lease at a time, so processes running at once
    share the work and each mail goes to the one process that leased it."""
    report = report or PassReport()
    for _turn in range(DELIVERIES_PER_PASS):
        send_id = _lease_one(now)
        if send_id is None:
            break
        _count(report, _deliver_one(send_id, now))
    return report


def _lease_one(now: datetime) -> int | None:
    """Take one due mail for this process until its lease ends; None when none is left.

    PostgreSQL skips rows another process is leasing right now; the conditional update takes a row
    only while it is still free, which also settles a race between two SQLite processes."""
    claimable = (MailSend.status == "pending", or_(MailSend.claimed_until.is_(None), MailSend.claimed_until <= now))
    lease_until = now + timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"])
    with writing():
        candidates = db.session.scalars(
            select(MailSend.id)
            .where(*claimable, MailSend.next_attempt_at <= now)
            .order_by(MailSend.id)
            .limit(LEASE_CANDIDATES)
            .with_for_update(skip_locked=True)
        ).all()
        for send_id in candidates:
            taken = db.session.execute(
                update(MailSend)
                .where(MailSend.id == send_id, *claimable)
                .values(claimed_until=lease_until, attempts=MailSend.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:
                return send_id
    return None


def _deliver_one(send_id: int, now: datetime) -> str:
    send = db.session.get(MailSend, send_id, populate_existing=True)
    person = db.session.get(Person, send.person_id)
    try:
        composed = compose(send, person, now)
        if composed is None:
            _finish(send_id, "skipped", now)
            return "skipped"
        mail.send(composed)
    except mail.MailNotSent as error:
        return _retry_later(send, str(error), now)
    except Exception as error:  # a bug in one mail must not hold up the others; it is retried like a failure
        log.exception("could not compose %s %s for person %s", send.kind, send.period_key, send.person_id)
        return _retry_later(send, f"{type(error).__name__}: {error}", now)
    _finish(send_id, "sent", now)
    log.info("sent %s %s to person %s", send.kind, send.period_key, send.person_id)
    return "sent"


def _finish(send_id: int, status: str, now: datetime) -> None:
    with writing():
        db.session.execute(
            update(MailSend)
            .where(MailSend.id == send_id)
            .values(status=status, sent_at=now if status == "sent" else None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )


def _retry_later(send: MailSend, error: str, now: datetime) -> str:
    config = current_app.config
    gives_up = send.attempts >= config["MAIL_MAX_ATTEMPTS"]
    delay = timedelta(
        seconds=min(config["MAIL_RETRY_SECONDS"] * 2 ** (send.attempts - 1), config["MAIL_RETRY_MAX_SECONDS"])
    )
    with writing():
        db.session.execute(
            update(MailSend)
            .where(MailSend.id == send.id)
            .values(
                status="failed" if gives_up else "pending",
                last_error=error[:1000],
                claimed_until=None,
                next_attempt_at=now + delay,
            )
            .execution_options(synchronize_session=False)
        )
    if gives_up:
        log.error(
            "gave up on %s %s to person %s after %s attempts: %s",
            send.kind,
            send.period_key,
            send.person_id,
            send.attempts,
            error,
        )
        return "failed"
    log.warning(
        "could not send %s %s to person %s (attempt %s), next try in %s: %s",
        send.kind,
        send.period_key,
        send.person_id,
        send.attempts,
        delay,
        error,
    )
    return "retrying"


# --- the mails ---------------------------------------------------------------------


def compose(send: MailSend, person: Person, now: datetime) -> mail.Mail | None:
    """The mail for this row as it stands now; None when there is nothing to send any more
    (no e-mail, switched off, an empty digest, a step done or moved meanwhile, every mention
    opened or its comment gone)."""
    if not _mailable(person, send.kind):
        return None
    training = db.session.get(Training, send.training_id)
    hour = MailHour(day=local(send.slot_at, training.timezone).date(), at=send.slot_at)
    with force_locale(_locale_of(person)):
        show_times_in(training.timezone)
        if send.kind == MENTION:
            return _mention_mail(send, person, training)
        if send.kind == DIGEST:
            return _digest_mail(send, person, training, hour)
        return _reminder_mail(send, person, training, hour, local(now, training.timezone).date())


def _digest_mail(send: MailSend, person: Person, training: Training, hour: MailHour) -> mail.Mail | None:
    digest = digest_for(person, training, hour)
    if digest.is_empty:
        return None
    subject = _("Your steps this week · %(training)s", training=training.title)
    return _mail(send, person, subject, "digest", training=training, digest=digest, today=hour.day)


def _reminder_mail(send: MailSend, person: Person, training: Training, hour: MailHour, today: date) -> mail.Mail | None:
    step = db.session.get(Step, send.step_id)
    due_on = hour.day + timedelta(days=1)
    still_owed = (
        step is not None
        and step.deleted_at is None
        and step.status != "done"
        and step.owner_member_id == person.id
        and step.due_on == due_on
        and today < due_on
    )
    if not still_owed:
        return None
    roadmap = step.roadmap
    title = step.title or _("Untitled step")
    subject = _("Tomorrow: “%(step)s” is due", step=title)
    return _mail(
        send,
        person,
        subject,
        "due_reminder",
        training=training,
        step=step,
        step_title=title,
        map_title=roadmap.title or roadmap.group.name,
        roadmap_id=roadmap.id,
    )


def _mention_mail(send: MailSend, person: Person, training: Training) -> mail.Mail | None:
    mentions = _owed_mentions(person, Mention.mail_send_id == send.id)
    if not mentions:
        return None
    if len(mentions) == 1:
        subject = _("%(name)s mentioned you at “%(step)s”", name=mentions[0].by, step=mentions[0].step_title)
    else:
        subject = ngettext(
            "You were mentioned in comments %(num)s time", "You were mentioned in comments %(num)s times", len(mentions)
        )
    return _mail(send, person, subject, "mention", training=training, mentions=mentions)


def _mail(send: MailSend, person: Person, subject: str, template: str, **context) -> mail.Mail:
    from roadmap.views.redirects import public_url

    unsubscribe_url = public_url("mail.unsubscribe", token=mail.unsubscribe_token(person.id, send.kind))
    context.update(
        person=person,
        subject=subject,
        unsubscribe_url=unsubscribe_url,
        public_url=public_url,
        kind_label=_(mail.OPTIONAL_KINDS[send.kind]),
    )
    return mail.Mail(
        to=person.email,
        subject=subject,
        text=render_template(f"mail/{template}.txt", **context),
        html=render_template(f"mail/{template}.html", **context),
        headers={"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        message_id=mail.message_id("mail-send", send.id, send.person_id, send.kind, send.period_key),
    )


def _count(report: PassReport, outcome: str) -> None:
    setattr(report, outcome, getattr(report, outcome) + 1)


def _locale_of(person: Person) -> str:
    config = current_app.config
    return person.locale if person.locale in config["LANGUAGES"] else config["BABEL_DEFAULT_LOCALE"]


def _links_context():
    """A request context for url_for outside a request (the server's loop, cron); links go to
    PUBLIC_ORIGIN, else the address the server listens on (see views.redirects.public_url)."""
    if has_request_context():
        return nullcontext()
    config = current_app.config
    host = "127.0.0.1" if config["HOST"] in ("0.0.0.0", "::", "") else config["HOST"]
    return current_app.test_request_context("/", base_url=f"http://{host}:{config['PORT']}")
