"""Share links: a map's read-only live view and its calendar feed, behind secrets that can be revoked."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from flask import current_app
from sqlalchemy import select

from roadmap.extensions import db
from roadmap.models import Person, Roadmap, ShareLink
from roadmap.models.share_links import SHARE_KINDS
from roadmap.services import connections
from roadmap.services.sign_in_links import token_hash
from roadmap.services.transactions import writing
from roadmap.timeutil import utcnow


class ShareRefused(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def active_link(roadmap_id: int, kind: str) -> ShareLink | None:
    return db.session.scalar(
        select(ShareLink).where(
            ShareLink.roadmap_id == roadmap_id, ShareLink.kind == kind, ShareLink.revoked_at.is_(None)
        )
    )


def share(roadmap: Roadmap, person: Person, kind: str) -> ShareLink:
    """The map's link of this kind, made now if there is none."""
    if kind not in SHARE_KINDS:
        raise ShareRefused("unknown_kind")
    existing = active_link(roadmap.id, kind)
    if existing is not None:
        return existing
    nonce = secrets.token_urlsafe(16)
    with writing():
        link = ShareLink(
            roadmap_id=roadmap.id,
            kind=kind,
            token_hash=token_hash(_derived_token(nonce)),
            token_nonce=nonce,
            created_by_id=person.id,
        )
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
