"""Moderator accounts, participant identities and API tokens; passwords, and the addresses
a person signs in with, each confirmed by a mailed link before it is theirs.

Who is trusted with an address unconfirmed: the moderator made by `flask create-moderator` or
the first-run page (whoever runs the server), and a co-moderator whose address the moderator who
added them typed in. Everyone else's address waits in a "verify" SignInLink until its mail is opened."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from gevent import get_hub, monkey
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from zxcvbn import zxcvbn

from roadmap.domain.text import has_control_characters
from roadmap.extensions import db
from roadmap.models import Person, SignInLink
from roadmap.services import connections, mail
from roadmap.services.sign_in_links import token_hash
from roadmap.services.transactions import writing
from roadmap.timeutil import utcnow

TOKEN_MAX_AGE_SECONDS = 60 * 60 * 24 * 60
MIN_PASSWORD_LENGTH = 10
# zxcvbn's score 2 means about 10^8 guesses or more: out of reach of guessing through a rate-limited form.
MIN_PASSWORD_SCORE = 2
VERIFY_LINK_HOURS = 24
VERIFY_KIND = "verify"


class AccountError(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def moderator_exists() -> bool:
    return db.session.scalar(select(func.count(Person.id)).where(Person.is_moderator)) > 0


def create_moderator(email: str, password: str, display_name: str) -> Person:
    """A moderator with a confirmed address: whoever runs `flask create-moderator` or the first-run
    page runs the server, so the address they type is taken as theirs."""
    if has_control_characters(display_name):
        raise AccountError("name_has_control_characters")
    if has_control_characters(email):
        raise AccountError("email_has_control_characters")
    email = email.strip().lower()
    problem = password_problem(password, hints=(email, display_name))
    if problem:
        raise AccountError(problem)
    password_hash = hash_password(password)
    with writing():
        if db.session.scalar(select(Person.id).where(Person.email == email)) is not None:
            raise AccountError("email_taken")
        person = Person(email=email, display_name=display_name.strip(), is_moderator=True, password_hash=password_hash)
        db.session.add(person)
    return person


# --- passwords ----------------------------------------------------------------------


def password_problem(password: str, hints: Iterable[str] = ()) -> str | None:
    """Why this password will not do, as an error code, or None when it will.

    zxcvbn checks it on this machine, with no network call: against its lists of the most common
    (breached) passwords, words and names, against repeats, sequences, keyboard rows and dates,
    and against `hints` (the person's address and name)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "password_too_short"
    # zxcvbn's time grows with the length; a hundred characters already score far above the bar.
    verdict = zxcvbn(password[:100], user_inputs=[hint for hint in hints if hint] + ["roadmap"])
    if verdict["score"] >= MIN_PASSWORD_SCORE:
        return None
    if any(match.get("dictionary_name") == "passwords" for match in verdict["sequence"]):
        return "password_common"
    if any(match["pattern"] == "repeat" for match in verdict["sequence"]):
        return "password_repeats"
    return "password_guessable"


@functools.cache
def _hasher_with(profile_name: str) -> PasswordHasher:
    return PasswordHasher.from_parameters(getattr(profiles, profile_name))


def _hasher() -> PasswordHasher:
    """Argon2id, memory-hard, with the app's ARGON2_PROFILE (one of argon2.profiles; tests use CHEAPEST).
    Hashes made with another profile still verify: each hash carries its own parameters."""
    return _hasher_with(current_app.config["ARGON2_PROFILE"])


def hash_password(password: str) -> str:
    return _off_the_event_loop(_hasher().hash, password)


def password_matches(person: Person, password: str) -> bool:
    return bool(person.password_hash) and _verify(person.password_hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _off_the_event_loop(_hasher().verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _off_the_event_loop(function: Callable, *args):
    """Argon2 takes a third of a second of CPU. argon2-cffi lets go of the GIL meanwhile, but under
    gevent the calling greenlet would still hold the event loop, and every other request and socket
    of the process would wait; gevent's pool of native threads runs it beside the loop instead."""
    if monkey.is_module_patched("threading"):
        return get_hub().threadpool.apply(function, args)
    return function(*args)


def authenticate(email: str, password: str) -> Person | None:
    """The person with this confirmed address and password, or None. An address waiting for its
    confirmation mail to be opened signs in nobody: only confirmed addresses are in people.email."""
    person = db.session.scalar(select(Person).where(Person.email == email.strip().lower()))
    if person is None or not person.password_hash:
        hash_password(password)  # same work either way, so timing does not reveal accounts
        return None
    return person if _verify(person.password_hash, password) else None


@dataclass
class AccountSaved:
    person: Person
    password_changed: bool
    mailed_to: str | None  # the address a confirmation mail went to


def save_account(
    person: Person, email: str, password: str, current_password: str | None, link_for: Callable[[str], str]
) -> AccountSaved:
    """«Сохранить» on /account: a new password, a new address (confirmed by mail), or both.
    Once there is a password, either change needs it: a session alone is not enough."""
    email = email.strip().lower()
    if not password and email in ("", person.email):
        raise AccountError("nothing_to_save")
    _check_current_password(person, current_password)
    if password:
        person = _set_password(person, password)
    mailed = request_address(person, email, link_for) if email else False
    return AccountSaved(person, password_changed=bool(password), mailed_to=email if mailed else None)


def change_password(person: Person, password: str, current_password: str | None = None) -> Person:
    """Set a new password. Once there is one, changing it needs it: a session alone is not enough.

    Every session, remember cookie and API token of the person stops working, and so do the
    personal sign-in links handed out to them; the caller signs its own browser in again."""
    _check_current_password(person, current_password)
    return _set_password(person, password)


def _check_current_password(person: Person, current_password: str | None) -> None:
    if person.password_hash and not password_matches(person, current_password or ""):
        raise AccountError("wrong_password")


def _set_password(person: Person, password: str) -> Person:
    problem = password_problem(password, hints=(person.email, person.display_name))
    if problem:
        raise AccountError(problem)
    password_hash = hash_password(password)  # before the write lock: Argon2 takes a while
    with writing():
        person = db.session.merge(person)
        person.password_hash = password_hash
        password_changed(person)
    return person


def password_changed(person: Person) -> None:
    """What a new password ends: every session, remember cookie and API token of the person, and
    the personal sign-in links handed out to them. The caller commits (inside its `writing()`)."""
    from roadmap.services import identities  # identities builds on this module

    identities.cancel_links(person)
    end_sessions(person)


# --- addresses, confirmed by mail ---------------------------------------------------------


def request_address(person: Person, email: str, link_for: Callable[[str], str]) -> bool:
    """Start making `email` this person's: mail it a link that confirms it (24 hours, once).

    The answer does not depend on whether someone else has the address: a pending link is kept
    either way, and a taken address gets a mail saying someone tried to use it, without a link.
    Returns False when the address is already this person's, so nothing is sent."""
    email = email.strip().lower()
    if email == person.email:
        return False
    token = _new_verify_link(person, email)
    owner = db.session.scalar(select(Person).where(Person.email == email))
    _send_address_mail(person, email, owner, link_for(token))
    return True


def resend_address_mail(person: Person, link_for: Callable[[str], str]) -> str | None:
    """«Отправить ещё раз»: a fresh link to the address waiting for confirmation; returns it, or None."""
    email = pending_address(person)
    if email is not None:
        request_address(person, email, link_for)
    return email


def pending_address(person: Person) -> str | None:
    """The address this person asked for that no opened mail has confirmed yet."""
    return db.session.scalar(
        select(SignInLink.email).where(*_live_verify_links(person.id)).order_by(SignInLink.id.desc()).limit(1)
    )


def confirm_address(token: str) -> Person:
    """Spend a confirmation link: its address becomes its person's, if nobody took it meanwhile.

    Raises AccountError("link_spent") for an unknown, used or expired link and
    AccountError("email_taken") when the address is someone else's by now."""
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        raise AccountError("link_spent")
    try:
        with writing():
            link = db.session.scalar(
                select(SignInLink)
                .where(SignInLink.token_hash == token_hash(token), SignInLink.kind == VERIFY_KIND)
                .with_for_update()
            )
            if link is None or link.used_at is not None or link.expires_at <= utcnow():
                raise AccountError("link_spent")
            person = signed_in_as(link.person)
            if db.session.scalar(select(Person.id).where(Person.email == link.email, Person.id != person.id)):
                raise AccountError("email_taken")
            link.used_at = utcnow()
            person.email = link.email
    except IntegrityError:  # the same address confirmed for someone else at this very moment
        raise AccountError("email_taken") from None
    return person


def verify_link_is_live(token: str) -> bool:
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        return False
    return (
        db.session.scalar(
            select(SignInLink.id).where(
                SignInLink.token_hash == token_hash(token),
                SignInLink.kind == VERIFY_KIND,
                SignInLink.used_at.is_(None),
                SignInLink.expires_at > utcnow(),
            )
        )
        is not None
    )


def _live_verify_links(person_id: int) -> tuple:
    return (
        SignInLink.person_id == person_id,
        SignInLink.kind == VERIFY_KIND,
        SignInLink.used_at.is_(None),
        SignInLink.expires_at > utcnow(),
    )


def _new_verify_link(person: Person, email: str) -> str:
    """A confirmation token for `email`; only its hash is kept. Earlier pending links stop working."""
    token = secrets.token_urlsafe(24)
    now = utcnow()
    with writing():
        db.session.execute(update(SignInLink).where(*_live_verify_links(person.id)).values(used_at=now))
        db.session.add(
            SignInLink(
                person_id=person.id,
                token_hash=token_hash(token),
                kind=VERIFY_KIND,
                created_by_id=person.id,
                expires_at=now + timedelta(hours=VERIFY_LINK_HOURS),
                email=email,
            )
        )
    return token


def _send_address_mail(person: Person, email: str, owner: Person | None, link: str) -> None:
    if owner is not None and owner.id != person.id:
        # The owner learns someone tried; the person asking learns nothing, and no link is sent.
        locale, template, context = owner.locale, "alumni/address_taken_mail", {"name": owner.display_name}
    else:
        locale, template = person.locale, "alumni/confirm_address_mail"
        context = {"name": person.display_name, "link": link, "hours": VERIFY_LINK_HOURS}
    with force_locale(locale if locale in current_app.config["LANGUAGES"] else "ru"):
        subject = (
            _("Confirm your e-mail for Roadmap")
            if template.endswith("confirm_address_mail")
            else _("Someone tried to use your e-mail on Roadmap")
        )
        mail.send_in_background(
            mail.Mail(
                to=email,
                subject=subject,
                text=render_template(template + ".txt", **context),
                html=render_template(template + ".html", **context),
            )
        )


def set_locale(person: Person, locale: str) -> None:
    """The language this person's mails are written in; the mail settings page changes it too."""
    if person.locale != locale:
        with writing():
            person.locale = locale


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="roadmap-api-token")


def issue_token(person: Person) -> str:
    """An API token for `person`; it carries their sign-in generation, so it stops working when
    their sessions end (end_sessions), as their cookies do."""
    return _serializer().dumps({"person_id": person.id, "generation": person.sign_in_generation})


def person_for_token(token) -> Person | None:
    if not isinstance(token, str) or len(token) > 500:
        return None
    try:
        claims = _serializer().loads(token, max_age=TOKEN_MAX_AGE_SECONDS)
    except BadSignature:
        return None
    if not isinstance(claims, dict):
        return None
    person_id, generation = claims.get("person_id"), claims.get("generation")
    if not (isinstance(person_id, int) and isinstance(generation, int)):
        return None  # tokens from before generations were bound in sign in no more
    person = db.session.get(Person, person_id)
    if person is None or person.sign_in_generation != generation:
        return None
    return signed_in_as(person)


def person_for_session_id(session_id: str) -> Person | None:
    """Who a session or remember cookie holding Person.get_id() belongs to, while its generation
    is still the person's current one."""
    person_id, _, generation = session_id.partition(".")
    if not (person_id.isdigit() and generation.isdigit()):
        return None
    person = db.session.get(Person, int(person_id))
    if person is None or person.sign_in_generation != int(generation):
        return None
    return signed_in_as(person)


def end_sessions(person: Person) -> None:
    """Sign this person out everywhere: every session, remember cookie and API token they hold
    stops working, and so do those of the people merged into them (who sign in as them); their
    open live connections are closed once the change is stored. The caller commits (inside
    its `writing()`)."""
    people = [person, *db.session.scalars(select(Person).where(Person.merged_into_id == person.id))]
    for signed_out in people:
        signed_out.sign_in_generation += 1
    connections.close_all_of([signed_out.id for signed_out in people])


def sign_out_everywhere(person: Person) -> None:
    """«Выйти на всех устройствах»: end every session of this person, this browser's too."""
    with writing():
        end_sessions(db.session.merge(person))


def signed_in_as(person: Person | None) -> Person | None:
    """Who a sign-in as `person` really is: the person a moderator merged them into, if they did."""
    if person is not None and person.merged_into_id is not None:
        return db.session.get(Person, person.merged_into_id)
    return person
