"""A map's baseline: what it was when its training ended, to measure the work done since."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from roadmap.extensions import db
from roadmap.timeutil import utcnow


class Baseline(db.Model):
    """A map as it stood when its training ended; written once, never changed."""

    __tablename__ = "baselines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmaps.id"), unique=True)
    revision: Mapped[int] = mapped_column(Integer)
    # The snapshot (snapshots.snapshot without members) at that revision.
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
