"""Who is in which map right now, one row per live connection.

Kept in the database rather than in process memory so several server
processes agree; rows of a crashed process age out via seen_at.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roadmap.extensions import db
from roadmap.timeutil import utcnow


class Presence(db.Model):
    __tablename__ = "presence"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmaps.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    focus: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    person = relationship("Person")
