"""One person, many devices: codes that carry a sign-in to another device, telling a
namesake from a second device, and merging two people who turn out to be one."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from roadmap.domain.permissions import Actor
from roadmap.extensions import db
from roadmap.models import Dot, Group, Person, Presence, Roadmap, SignInLink, Step
from roadmap.realtime import publisher
from roadmap.services import accounts, editing, snapshots
from roadmap.services.trainings import JOIN_CODE_ALPHABET
from roadmap.services.transactions import writing
from roadmap.timeutil import utcnow

DEVICE_CODE_LENGTH = 6
DEVICE_CODE_MINUTES = 10
CANCELLED_BY_A_PASSWORD = ("link", "device", "reset")


class MergeRefused(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


# --- device codes ---------------------------------------------------------------------


def normalise_device_code(raw: str) -> str:
    """What a person typed, as issued: case, spaces and the group dash do not matter."""
    return "".join((raw or "").split()).upper().replace("-", "")[:20]


def grouped(code: str) -> str:
    """K7M4QP shown as K7M-4QP, easier to read out and type."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def _code_hash(code: str) -> str:
    # Keyed: six characters are few enough that a plain hash from a leaked table could be reversed.
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"device-code:" + code.encode(), hashlib.sha256).hexdigest()


def issue_device_code(person: Person) -> str:
    """A new code that signs in as `person` on another device, once, within DEVICE_CODE_MINUTES.

    Only its keyed hash is kept; the code is shown once. Earlier unused codes stop working."""
    if person.is_moderator:
        raise MergeRefused("moderator")
    while True:
        code = "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(DEVICE_CODE_LENGTH))
        if db.session.scalar(select(SignInLink.id).where(SignInLink.token_hash == _code_hash(code))) is None:
            break
    with writing():
        # A new code retires the ones shown before: only the code on the screen now works.
        db.session.execute(
            update(SignInLink)
            .where(
                SignInLink.person_id == person.id,
                SignInLink.kind == "device",
                SignInLink.used_at.is_(None),
            )
            .values(used_at=utcnow())
        )
        db.session.add(
            SignInLink(
                person_id=person.id,
                token_hash=_code_hash(code),
                kind="device",
                created_by_id=person.id,
                expires_at=utcnow() + timedelta(minutes=DEVICE_CODE_MINUTES),
            )
        )
    return code


def use_device_code(raw_code: str) -> Person | None:
    """Spend a code: the person it signs in as, or None when it is unknown, used or expired."""
    code = normalise_device_code(raw_code)
    if len(code) != DEVICE_CODE_LENGTH:
        return None
    with writing():
        link = db.session.scalar(
            select(SignInLink)
            .where(
                SignInLink.token_hash == _code_hash(code),
                SignInLink.kind == "device",
            )
            .with_for_update()
        )
        if link is None or link.used_at is not None or link.expires_at <= utcnow():
            return None
        link.used_at = utcnow()
        person = link.person
    return accounts.signed_in_as(person)


def cancel_links(person: Person) -> None:
    """Retire every way in this person has not used yet: personal sign-in links, device codes
    and password-reset links. For when the person sets a password: from then on they sign in
    with it. The caller commits (inside its `writing()`)."""
    db.session.execute(
        update(SignInLink)
        .where(
            SignInLink.person_id == person.id,
            SignInLink.kind.in_(CANCELLED_BY_A_PASSWORD),
            SignInLink.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )


# --- merging -----------------------------------------------------------------------------


def merge_people(merged: Person, kept: Person, moderator: Person) -> Person:
    """Make `merged` part of `kept`: memberships, step ownership, dots and live presence move over.

    Ownership changes go through editing.apply as the moderator's step.set ops, so they are
    in the history and every open map sees them. The change log keeps its authors as they
    were logged. Whoever is still signed in as `merged` is signed in as `kept` from their next
    request on (see accounts.signed_in_as); their open live connections are closed so they reconnect."""
    _check_mergeable(merged, kept, moderator)
    owned_steps = _owned_steps(merged.id)
    groups = {membership.group_id for membership in merged.memberships + kept.memberships}
    with writing():
        kept_groups = {membership.group_id for membership in kept.memberships}
        for membership in list(merged.memberships):
            if membership.group_id in kept_groups:
                db.session.delete(membership)
            else:
                membership.person = kept
        if merged.password_hash and not kept.password_hash:
            email, password_hash = merged.email, merged.password_hash
            merged.email, merged.password_hash = None, None
            db.session.flush()  # the e-mail is unique: free it before the kept person takes it
            kept.email, kept.password_hash = email, password_hash
        db.session.execute(update(Dot).where(Dot.person_id == merged.id).values(person_id=kept.id))
        db.session.execute(update(Person).where(Person.merged_into_id == merged.id).values(merged_into_id=kept.id))
        merged.merged_into_id = kept.id
        for link in db.session.scalars(
            select(SignInLink).where(SignInLink.person_id == merged.id, SignInLink.used_at.is_(None))
        ):
            link.used_at = utcnow()
        live_sids = list(db.session.scalars(select(Presence.sid).where(Presence.person_id == merged.id)))
        db.session.execute(Presence.__table__.delete().where(Presence.person_id == merged.id))
        publisher.disconnect(live_sids)
        db.session.flush()
        for group in db.session.scalars(select(Group).where(Group.id.in_(groups))):
            publisher.members_changed(group.roadmap.id, snapshots.members_data(group.id))
    db.session.expire_all()
    actor = Actor.of(moderator)
    for step_id, roadmap_id in owned_steps:
        editing.apply(
            {
                "op_id": uuid.uuid4().hex,
                "roadmap_id": roadmap_id,
                "type": "step.set",
                "step_id": step_id,
                "field": "owner",
                "value": {"member": kept.id},
            },
            actor=actor,
        )
    return kept


def may_merge(person: Person, moderator: Person) -> bool:
    """The same rule as a personal sign-in link, and for the same reason: merging hands one
    person's maps to another, so both must belong to this moderator's trainings alone."""
    return (
        not person.is_moderator
        and person.merged_into_id is None
        and all(moderator.id in membership.group.training.moderator_ids for membership in person.memberships)
    )


def _check_mergeable(merged: Person, kept: Person, moderator: Person) -> None:
    if merged.id == kept.id:
        raise MergeRefused("same_person")
    if not (may_merge(merged, moderator) and may_merge(kept, moderator)):
        raise MergeRefused("not_allowed")
    if merged.password_hash and kept.password_hash:
        raise MergeRefused("both_secured")
    locked = db.session.scalar(
        select(Roadmap.id)
        .join(Step, Step.roadmap_id == Roadmap.id)
        .where(Step.owner_member_id == merged.id, Step.deleted_at.is_(None), Roadmap.locked)
    )
    if locked is not None:
        raise MergeRefused("map_locked")


def _owned_steps(person_id: int) -> list[tuple[str, int]]:
    # Deleted steps keep their owner: a step.set cannot reach them, and restoring one shows the old name.
    return list(
        db.session.execute(
            select(Step.id, Step.roadmap_id)
            .where(Step.owner_member_id == person_id, Step.deleted_at.is_(None))
            .order_by(Step.roadmap_id, Step.position)
        ).all()
    )
