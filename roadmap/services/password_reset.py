"""«Забыли пароль?»: a single-use, expiring link by e-mail that sets a new password.

The answer to a request is the same whether or not the address is registered, and it
takes the same time: the mail, if there is one, goes out after the answer, in the
background. Only a hash of each link is stored (a SignInLink of kind "reset")."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from roadmap.extensions import db
from roadmap.models import Person, SignInLink
from roadmap.services import accounts, mail
from roadmap.services.sign_in_links import token_hash
from roadmap.services.transactions import writing
from roadmap.timeutil import utcnow

RESET_LINK_MINUTES = 60
KIND = "reset"


class ResetError(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def request_reset(email: str, link_for: Callable[[str], str]) -> None:
    """Mail a reset link to whoever has this e-mail; for an unknown address, do nothing.

    `link_for(token)` makes the full URL of the reset page. The mail is sent after the
    caller has answered, so the answer's timing does not tell registered addresses apart."""
    person = db.session.scalar(
        select(Person).where(Person.email == (email or "").strip().lower(), Person.merged_into_id.is_(None))
    )
    if person is None:
        return
    token = issue_reset_link(person)
    mail.send_in_background(_reset_mail(person, link_for(token)))


def issue_reset_link(person: Person) -> str:
    """A new reset token for `person`; only its hash is kept."""
    token = secrets.token_urlsafe(24)
    with writing():
        db.session.add(
            SignInLink(
                person_id=person.id,
                token_hash=token_hash(token),
                kind=KIND,
                created_by_id=person.id,
                expires_at=utcnow() + timedelta(minutes=RESET_LINK_MINUTES),
            )
        )
    return token


def reset_link(token: str) -> SignInLink | None:
    """The unused, unexpired reset link for this token, or None."""
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        return None
    link = db.session.scalar(
        select(SignInLink).where(SignInLink.token_hash == token_hash(token), SignInLink.kind == KIND)
    )
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        return None
    return link


def set_new_password(token: str, password: str) -> Person:
    """Spend the link and set the password; every other reset link of the person stops working,
    and so does every session, remember cookie and API token they hold (the caller signs its
    own browser in again).

    Raises ResetError("link_spent") for an unknown, used or expired link, and ResetError with
    an accounts.password_problem code for a password that will not do."""
    person = link.person if (link := reset_link(token)) is not None else None
    problem = accounts.password_problem(password, hints=(person.email, person.display_name) if person else ())
    if problem:
        raise ResetError(problem)
    password_hash = accounts.hash_password(password)  # before the write lock: Argon2 takes a while
    with writing():
        link = reset_link(token)
        if link is None:
            raise ResetError("link_spent")
        now = utcnow()
        db.session.execute(
            update(SignInLink)
            .where(
                SignInLink.person_id == link.person_id,
                SignInLink.kind == KIND,
                SignInLink.used_at.is_(None),
            )
            .values(used_at=now)
        )
        person = db.session.get(Person, link.person_id)
        person.password_hash = password_hash
        accounts.password_changed(person)
    return person


def _reset_mail(person: Person, link: str) -> mail.Mail:
    context = {"name": person.display_name, "link": link, "minutes": RESET_LINK_MINUTES}
    with force_locale(person.locale if person.locale in current_app.config["LANGUAGES"] else "ru"):
        return mail.Mail(
            to=person.email,
            subject=_("A new password for Roadmap"),
            text=render_template("auth/reset_mail.txt", **context),
            html=render_template("auth/reset_mail.html", **context),
        )
