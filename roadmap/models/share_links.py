"""Secret links to a map: a read-only live view, or its calendar feed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roadmap.extensions import db
from roadmap.timeutil import utcnow

SHARE_KINDS = ("view", "calendar")


class ShareLink(db.Model):
    """A secret URL: a read-only live view of a map, or its calendar feed. Revoked, it stops working.

    The secret in the URL is not stored: only its SHA-256, and the random nonce it is derived
    from with SECRET_KEY (services/share_links.py), so the share page can show the link again
    while a copy of the database alone opens no map."""

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmaps.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    # None for a link made before secrets were derived: it works, but cannot be shown again.
    token_nonce: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    roadmap = relationship("Roadmap")
