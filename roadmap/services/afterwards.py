"""After the training: ending it (baselines), share links, and personal sign-in links."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from roadmap.extensions import db
from roadmap.models import Baseline, Group, Person, Roadmap, ShareLink, SignInLink, Training
from roadmap.models.afterwards import SHARE_KINDS
from roadmap.realtime import publisher
from roadmap.services import connections, facilitation, snapshots, voting
from roadmap.services.transactions import writing
from roadmap.timeutil import utcnow



class AfterwardsError(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


# --- end of training and baselines ---------------------------------------------

def end_training(training: Training) -> int:
    """Freeze every map's state as its baseline; returns how many were frozen now.

    A map that already has a baseline keeps it: a baseline is written once. In the
    same transaction the training's timers stop, its votes close and leave the
    screens, and its announcements stop showing; open screens hear it after the commit."""
    frozen = 0
    with writing():
        # Lock the training first, so two "end" clicks do not both write baselines (PostgreSQL).
        db.session.execute(select(Training.id).where(Training.id == training.id).with_for_update())
        if training.ended_at is None:
            training.ended_at = utcnow()
        stopped_timer_scopes = facilitation.stop_all_timers(training)
        cleared_votes = voting.close_and_clear_all(training)
        for group in training.groups:
            roadmap = group.roadmap
            if db.session.scalar(select(Baseline.id).where(Baseline.roadmap_id == roadmap.id)) is not None:
                continue
            data = snapshots.snapshot(roadmap, with_members=False)
            db.session.add(Baseline(roadmap_id=roadmap.id, revision=data["revision"], data=data))
            frozen += 1
        facilitation.publish_no_timers(training, stopped_timer_scopes)
        for roadmap_id in {vote.roadmap_id for vote in cleared_votes}:
            publisher.vote_cleared(training.id, roadmap_id)
        publisher.announcements_cleared(training.id)
    return frozen


def baseline_of(roadmap_id: int) -> Baseline | None:
    return db.session.scalar(select(Baseline).where(Baseline.roadmap_id == roadmap_id))


# --- share links and calendar feeds ----------------------------------------------

def active_link(roadmap_id: int, kind: str) -> ShareLink | None:
    return db.session.scalar(
        select(ShareLink).where(
            ShareLink.roadmap_id == roadmap_id, ShareLink.kind == kind, ShareLink.revoked_at.is_(None)
        )
    )


def share(roadmap: Roadmap, person: Person, kind: str) -> ShareLink:
    """The map's link of this kind, made now if there is none."""
    if kind not in SHARE_KINDS:
        raise AfterwardsError("unknown_kind")
    existing = active_link(roadmap.id, kind)
    if existing is not None:
        return existing
    nonce = secrets.token_urlsafe(16)
    with writing():
        link = ShareLink(roadmap_id=roadmap.id, kind=kind, token_hash=token_hash(_derived_token(nonce)),
                         token_nonce=nonce, created_by_id=person.id)
        db.session.add(link)
    return link


def revoke(roadmap: Roadmap, kind: str) -> bool:
    """Stop the current link working; open read-only views on it are disconnected."""
    link = active_link(roadmap.id, kind)
    if link is None:
        return False
    with writing():
        link.revoked_at = utcnow()
        db.session.flush()  # a viewer connecting meanwhile waits for this row, then finds it revoked
        connections.close_viewers_of(link.id)
    return True


def renew(roadmap: Roadmap, person: Person, kind: str) -> ShareLink:
    revoke(roadmap, kind)
    return share(roadmap, person, kind)


def link_token(link: ShareLink) -> str | None:
    """The secret of the link's URL, derived again from SECRET_KEY and the link's nonce.

    None when it cannot be: the link was made before secrets were derived (upgraded from
    stored secrets) or SECRET_KEY changed since. Such a link still works for whoever has it."""
    if link.token_nonce is None:
        return None
    token = _derived_token(link.token_nonce)
    return token if hmac.compare_digest(token_hash(token), link.token_hash) else None


def _derived_token(nonce: str) -> str:
    # 32 URL-safe characters (192 bits), as long as the random secrets links had before.
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, b"share-link:" + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


def link_for_token(token: str, kind: str) -> ShareLink | None:
    """The live link with this secret, or None (unknown, revoked, or of another kind)."""
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        return None
    link = db.session.scalar(select(ShareLink).where(ShareLink.token_hash == token_hash(token)))
    if link is None or link.kind != kind or link.revoked_at is not None:
        return None
    return link


# --- personal sign-in links -------------------------------------------------------

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
        raise AfterwardsError("link_not_allowed")
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
        raise AfterwardsError("link_not_allowed")
    return _new_sign_in_link(co_moderator, inviter)


def _new_sign_in_link(person: Person, moderator: Person) -> str:
    # 16 characters (96 random bits): short enough to type from paper, far too many to guess.
    token = secrets.token_urlsafe(12)
    now = utcnow()
    with writing():
        # Two moderators issuing at once: the second waits, then retires the first one's link.
        db.session.execute(select(Person.id).where(Person.id == person.id).with_for_update())
        db.session.execute(update(SignInLink).where(
            SignInLink.person_id == person.id, SignInLink.kind == "link", SignInLink.used_at.is_(None),
        ).values(used_at=now))
        db.session.add(SignInLink(
            person_id=person.id, token_hash=token_hash(token), kind="link", created_by_id=moderator.id,
            expires_at=now + timedelta(days=sign_in_link_days()),
        ))
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
    return db.session.scalar(select(SignInLink).where(SignInLink.token_hash == token_hash(token),
                                                      SignInLink.kind == "link"))


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
