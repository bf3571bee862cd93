"""Outgoing mail through the standard library: email.message builds it, smtplib sends it.

Every mail is multipart/alternative (plain text first, HTML second). Without MAIL_SERVER
the mail is written to the log instead, so `make run` works with no mail server.

Also here: the kinds of mail a person may switch off, and the signed links that switch one
off from the mail itself (RFC 8058 one-click unsubscribe). Transactional mail (a password
reset) has no kind: it is always sent."""

from __future__ import annotations

import email.policy
import hashlib
import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, select, update

from roadmap.domain.errors import N_
from roadmap.extensions import db
from roadmap.models import MailOptOut, Person
from roadmap.services.transactions import writing

# Mail a person may switch off, by kind.
OPTIONAL_KINDS = {
    "digest": N_("Weekly digest of my steps and my maps"),
    "due_reminder": N_("A reminder the day before a step of mine is due"),
    "mention": N_("A mail when I am mentioned in a comment and have not seen it"),
}
_UNSUBSCRIBE_SALT = "mail-unsubscribe"
# RFC 5322 allows 998 characters a line. At the default 78 an unsubscribe URL, which has no space to fold
# at, would be written as an RFC 2047 encoded word, which mail clients do not read as a URL.
_POLICY = email.policy.default.clone(max_line_length=998)

log = logging.getLogger("roadmap.mail")


class MailNotSent(Exception):
    """The SMTP server could not be reached or refused the mail; the caller may retry."""


@dataclass
class Mail:
    to: str
    subject: str
    text: str
    html: str
    # Extra headers, e.g. List-Unsubscribe and List-Unsubscribe-Post (RFC 8058).
    headers: dict[str, str] = field(default_factory=dict)
    # A fixed Message-ID lets a retried send be recognised as the same mail.
    message_id: str | None = None


def build(mail: Mail) -> EmailMessage:
    config = current_app.config
    message = EmailMessage(policy=_POLICY)
    message["From"] = config["MAIL_FROM"]
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = mail.message_id or make_msgid(domain=_domain(config["MAIL_FROM"]))
    for name, value in mail.headers.items():
        message[name] = value
    # Base64 keeps body lines short whatever the header line limit, and any mail server takes it.
    message.set_content(mail.text, cte="base64")
    message.add_alternative(mail.html, subtype="html", cte="base64")
    return message


def send(mail: Mail) -> None:
    """Send one mail now, or log it when no SMTP server is configured. Raises MailNotSent."""
    message = build(mail)
    config = current_app.config
    if not config["MAIL_SERVER"]:
        log.info("mail (no MAIL_SERVER set, so not sent):\n%s", message.as_string())
        return
    try:
        with _connect(config) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailNotSent(f"{type(error).__name__}: {error}") from error


def send_in_background(mail: Mail) -> None:
    """Send after the caller has answered, so the answer's timing tells nothing about the mail
    (whether there was one, how slow the server is); a failure is logged."""
    # A thread under the test client, a greenlet under the gevent server (threading is patched there).
    app = current_app._get_current_object()

    def send_now() -> None:
        with app.app_context():
            try:
                send(mail)
            except MailNotSent as error:
                log.warning("mail to %s (%s) not sent: %s", mail.to, mail.subject, error)

    threading.Thread(target=send_now, name="mail", daemon=True).start()


def _connect(config) -> smtplib.SMTP:
    host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT_SECONDS"]
    if config["MAIL_USE_SSL"]:
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        if config["MAIL_USE_TLS"]:
            smtp.starttls(context=ssl.create_default_context())
    if config["MAIL_USERNAME"]:
        smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
    return smtp


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip(" >") or "localhost"


def message_id(*parts: object) -> str:
    """A Message-ID made from what identifies one mail, so every retry of it carries the same one
    (a receiving server that saw it already may drop the copy) and no other install's mail does."""
    config = current_app.config
    digest = hashlib.sha256(":".join([config["SECRET_KEY"], *map(str, parts)]).encode()).hexdigest()[:24]
    return f"<{digest}@{_domain(config['MAIL_FROM'])}>"


# --- which mail a person wants -------------------------------------------------------


def switched_off(person_id: int) -> set[str]:
    """The kinds of mail this person switched off."""
    return set(db.session.scalars(select(MailOptOut.kind).where(MailOptOut.person_id == person_id)))


def choose(person_id: int, wanted: set[str], locale: str) -> None:
    """Keep exactly the kinds in `wanted` switched on, the other optional kinds off; mail in `locale`."""
    unwanted = set(OPTIONAL_KINDS) - wanted
    with writing():
        db.session.execute(update(Person).where(Person.id == person_id).values(locale=locale))
        db.session.execute(delete(MailOptOut).where(MailOptOut.person_id == person_id))
        db.session.add_all(MailOptOut(person_id=person_id, kind=kind) for kind in sorted(unwanted))


def switch_off(person_id: int, kind: str) -> None:
    with writing():
        if db.session.get(MailOptOut, (person_id, kind)) is None:
            db.session.add(MailOptOut(person_id=person_id, kind=kind))


def unsubscribe_token(person_id: int, kind: str) -> str:
    """A signed token naming the person and the kind; it does not expire, as old mails stay in inboxes."""
    return _serializer().dumps({"person": person_id, "kind": kind})


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    """(person id, kind) from a token this app signed, else None."""
    try:
        payload = _serializer().loads(token)
    except BadSignature:
        return None
    if (
        not isinstance(payload, dict)
        or payload.get("kind") not in OPTIONAL_KINDS
        or not isinstance(payload.get("person"), int)
    ):
        return None
    return payload["person"], payload["kind"]


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_UNSUBSCRIBE_SALT)
