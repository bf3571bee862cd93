"""Personal sign-in links: handed out by a moderator to a participant without a password
(one at a time, or a printed sheet for a group), or to a new co-moderator; each signs in once.
Also the hashing every stored secret link shares."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from roadmap.extensions import db
from roadmap.models import Group, Person, SignInLink
from roadmap.services.transactions import writing
from roadmap.timeutil import utcnow


class SignInLinkRefused(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def token_hash(token: str) -> str:
    """What is stored of a secret link: its SHA-256, so a leaked table opens nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in_link_days() -> int:
    return current_app.config["SIGN_IN_LINK_DAYS"]


def may_get_sign_in_link(person: Person, moderator: Person) -> bool:
    """Only for a join-code identity that belongs to this moderator's trainings alone:
    a link signs in as the whole person, so it must not open anyone else's maps."""
    if person.password_hash or person.is_moderator:
        return False
    return all(moderator.id in membership.group.training.moderator_ids for membership in person.memberships)


def issue_sign_in_link(person: Person, moderator: Person) -> str:
    """A new single-use token for a personal sign-in link; only its hash is kept.

    It retires the person's earlier unused links: only the newest handed-out link works."""
    if not may_get_sign_in_link(person, moderator):
        raise SignInLinkRefused("link_not_allowed")
    return _new_sign_in_link(person, moderator)


@dataclass
class SheetCard:
    """One member's card on the printable sheet: a fresh link, or why there is none."""

    person: Person
    token: str | None = None
    # "has_password" (signs in with e-mail and password) or "not_allowed" (also in another moderator's training).
    skipped: str | None = None


def issue_group_sheet(group: Group, moderator: Person) -> list[SheetCard]:
    """Fresh personal links for every member of the group who has no password, for the sheet
    handed out on the last day; each retires that member's earlier unused link."""
    cards = []
    for membership in sorted(group.memberships, key=lambda membership: membership.person.display_name.casefold()):
        person = membership.person
        if person.password_hash:
            cards.append(SheetCard(person, skipped="has_password"))
        elif not may_get_sign_in_link(person, moderator):
            cards.append(SheetCard(person, skipped="not_allowed"))
        else:
            cards.append(SheetCard(person, token=_new_sign_in_link(person, moderator)))
    return cards


def issue_invitation_link(co_moderator: Person, inviter: Person) -> str:
    """The first sign-in of a co-moderator whose account was made for them (no password yet):
    the link leads to setting one."""
    if co_moderator.password_hash or not co_moderator.is_moderator:
        raise SignInLinkRefused("link_not_allowed")
    return _new_sign_in_link(co_moderator, inviter)


def _new_sign_in_link(person: Person, moderator: Person) -> str:
    # 16 characters (96 random bits): short enough to type from paper, far too many to guess.
    token = secrets.token_urlsafe(12)
    now = utcnow()
    with writing():
        # Two moderators issuing at once: the second waits, then retires the first one's link.
        db.session.execute(select(Person.id).where(Person.id == person.id).with_for_update())
        db.session.execute(
            update(SignInLink)
            .where(
                SignInLink.person_id == person.id,
                SignInLink.kind == "link",
                SignInLink.used_at.is_(None),
            )
            .values(used_at=now)
        )
        db.session.add(
            SignInLink(
                person_id=person.id,
                token_hash=token_hash(token),
                kind="link",
                created_by_id=moderator.id,
                expires_at=now + timedelta(days=sign_in_link_days()),
            )
        )
    return token


def sign_in_link(token: str) -> SignInLink | None:
    """The unused, unexpired personal link for this token, or None; also None once the link
    would no longer be issued to its person (see _still_allowed)."""
    link = _link_for(token)
    if link is None or link.used_at is not None or link.expires_at <= utcnow() or not _still_allowed(link):
        return None
    return link


def _still_allowed(link: SignInLink) -> bool:
    """The rule a link was issued under, checked again when it is used: since then its person
    may have set a password, been merged into someone else, or joined another moderator's
    training, whose maps the link must not open."""
    person = link.person
    if person.merged_into_id is not None:
        return False
    if person.is_moderator:  # a co-moderator's invitation leads to setting a password, once
        return not person.password_hash
    issuer = db.session.get(Person, link.created_by_id)
    return issuer is not None and may_get_sign_in_link(person, issuer)


def _link_for(token: str) -> SignInLink | None:
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        return None
    return db.session.scalar(
        select(SignInLink).where(SignInLink.token_hash == token_hash(token), SignInLink.kind == "link")
    )


def whom_to_ask(token: str) -> Person | None:
    """For a spent or expired link: the moderator who handed it out, to ask for a new one."""
    link = _link_for(token)
    return db.session.get(Person, link.created_by_id) if link is not None else None


def use_sign_in_link(token: str) -> Person | None:
    """Spend the link: it signs in once."""
    with writing():
        link = sign_in_link(token)
        if link is not None:
            db.session.refresh(link, with_for_update=True)  # two presses at once: one signs in
        if link is None or link.used_at is not None:
            return None
        link.used_at = utcnow()
        return link.person
