"""Outgoing mail through the standard library: email.message builds it, smtplib sends it.

Every mail is multipart/alternative (plain text first, HTML second). Without MAIL_SERVER
the mail is written to the log instead, so `make run` works with no mail server."""
from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app

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
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = mail.message_id or make_msgid(domain=_domain(config["MAIL_FROM"]))
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
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
