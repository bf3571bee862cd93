"""The append-only change log: one row per applied operation, and checkpoints of its replay."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roadmap.extensions import db
from roadmap.timeutil import utcnow


class Change(db.Model):
    __tablename__ = "changes"
    __table_args__ = (
        UniqueConstraint("roadmap_id", "revision"),
        UniqueConstraint("roadmap_id", "op_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmaps.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    op_id: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The op as applied (merged text, computed position): replaying these from
    # revision 0 rebuilds the map exactly.
    op: Mapped[dict] = mapped_column(JSON)
    # What the op replaced, so history can say "from X to Y" without replaying.
    before: Mapped[dict] = mapped_column(JSON, default=dict)

    author = relationship("Person")


class Checkpoint(db.Model):
    """The map replayed from the log up to `revision`, kept so the map at a later revision
    replays from here instead of from revision 0 (services/history.py).

    Derived data: written when a replay first passes the revision, and trusted only while
    `replay_version` equals domain/replay.REPLAY_VERSION; an older one is rewritten when a
    replay passes it again."""

    __tablename__ = "checkpoints"
    __table_args__ = (UniqueConstraint("roadmap_id", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmaps.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    replay_version: Mapped[int] = mapped_column(Integer)
    # domain/replay.replay's map at `revision`.
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
