"""People: moderators (with a password) and participants (joined by code)."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roadmap.extensions import db
from roadmap.timeutil import utcnow

# Marker colours, distinct from each other, each with white initials on it at a contrast of
# at least 4.5:1 (WCAG AA for small text; axe checks it in tests/browser/test_browser_accessibility.py).
MEMBER_COLORS = (
    "#c2410c",
    "#1971c2",
    "#15803d",
    "#9c36b5",
    "#a8530a",
    "#0b7285",
    "#c2255c",
    "#4d7c0f",
    "#3b5bdb",
    "#a61e4d",
    "#087f5b",
    "#862e9c",
)


class Person(UserMixin, db.Model):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(254), unique=True, nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    is_moderator: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str | None] = mapped_column(String(8), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Set when a moderator merged this person into another (the same human on two devices):
    # whoever signs in as this person is signed in as that one.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    # Part of every session, remember cookie and API token this person holds: raising it (sign-out
    # everywhere, a new password, removal) makes all of them stop working at once.
    sign_in_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    memberships = relationship("Membership", back_populates="person", cascade="all, delete-orphan")

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and the remember cookie: the id and the generation."""
        return f"{self.id}.{self.sign_in_generation}"


class Membership(db.Model):
    """A person's place in a working group."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("person_id", "group_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    color: Mapped[str] = mapped_column(String(9))
    joined_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    person: Mapped[Person] = relationship(back_populates="memberships")
    group = relationship("Group", back_populates="memberships")
