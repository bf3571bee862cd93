"""Moderator accounts, participant identities and API tokens."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select

from roadmap.domain.text import has_control_characters
from roadmap.extensions import db
from roadmap.models import Person
from roadmap.services import connections
from roadmap.services.transactions import writing

_hasher = PasswordHasher()  # Argon2id: memory-hard
TOKEN_MAX_AGE_SECONDS = 60 * 60 * 24 * 60


class AccountError(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def moderator_exists() -> bool:
    return db.session.scalar(select(func.count(Person.id)).where(Person.is_moderator)) > 0


def create_moderator(email: str, password: str, display_name: str) -> Person:
    if has_control_characters(display_name):
        raise AccountError("name_has_control_characters")
    if has_control_characters(email):
        raise AccountError("email_has_control_characters")
    email = email.strip().lower()
    if len(password) < 10:
        raise AccountError("password_too_short")
    with writing():
        if db.session.scalar(select(Person.id).where(Person.email == email)) is not None:
            raise AccountError("email_taken")
        person = Person(
            email=email, display_name=display_name.strip(), is_moderator=True,
            password_hash=hash_password(password),
        )
        db.session.add(person)
    return person


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(person: Person, password: str) -> bool:
    try:
        return bool(person.password_hash) and _hasher.verify(person.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(email: str, password: str) -> Person | None:
    person = db.session.scalar(select(Person).where(Person.email == email.strip().lower()))
    if person is None or not person.password_hash:
        _hasher.hash(password)  # same work either way, so timing does not reveal accounts
        return None
    try:
        _hasher.verify(person.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return person


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
