"""The append-only change log: one row per applied operation."""
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
