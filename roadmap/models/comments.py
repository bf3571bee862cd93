"""Comments on steps, who has read them, and who was mentioned in them.

A comment is changed only through editing.apply (comment.* ops, logged like every
edit); reads and mentions are each person's own state, not part of the map.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from roadmap.extensions import db
from roadmap.timeutil import utcnow


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_roadmap_step", "roadmap_id", "step_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # made by the client, as step ids are
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmaps.id"))
    step_id: Mapped[str] = mapped_column(ForeignKey("steps.id"))
    # Replies are one level deep: a reply's parent is a comment without one.
    parent_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    body: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list[int]] = mapped_column(JSON, default=list, server_default=text("'[]'"))  # person ids
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # by a moderator


class CommentRead(db.Model):
    """Until when a person has read a step's comments: later ones by others are unread."""

    __tablename__ = "comment_reads"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    step_id: Mapped[str] = mapped_column(ForeignKey("steps.id"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Mention(db.Model):
    """A person named in a comment with @: shown in their top bar until they open it, and
    mailed about once if they have not opened it a while later (services/reminders.py)."""

    __tablename__ = "mentions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    comment_id: Mapped[str] = mapped_column(ForeignKey("comments.id"))
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmaps.id"))
    step_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    seen_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # The mail that settled this mention once it went unseen past the delay: sent, or skipped (no
    # address, switched off). Set with the mail's row in one transaction, so it is mailed at most once.
    mail_send_id: Mapped[int | None] = mapped_column(ForeignKey("mail_sends.id"), nullable=True, index=True)
