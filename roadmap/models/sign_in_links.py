"""Personal, single-use ways in: sign-in links, device codes, and the links in account mails."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roadmap.extensions import db
from roadmap.timeutil import utcnow

SIGN_IN_KINDS = ("link", "device")
# A person has at most one unused link and one unused code: issuing a new one retires the last.
ONE_LIVE_PER_PERSON = text("used_at IS NULL AND kind IN ('link', 'device')")


class SignInLink(db.Model):
    """A personal, single-use, expiring way in: a link a moderator gives a participant ("link"),
    or a short code a person shows on one device to sign in on another ("device").

    Only a hash of the token is stored: the link or code itself is shown once."""

    __tablename__ = "sign_in_links"
    __table_args__ = (
        Index(
            "one_live_sign_in_link",
            "person_id",
            "kind",
            unique=True,
            sqlite_where=ONE_LIVE_PER_PERSON,
            postgresql_where=ONE_LIVE_PER_PERSON,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="link", server_default="link")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # The address a "verify" link confirms: an address becomes the person's only once they open it.
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)

    person = relationship("Person", foreign_keys=[person_id])
