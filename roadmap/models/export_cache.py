"""Finished export files, one per map revision, format and rendering variant.

Kept in the database so every server process that shares it finds a file another rendered.
`variant` names what changes the bytes besides the revision (language, time zone, the day,
the names of the group and its members): see services/export_files.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from roadmap.extensions import db
from roadmap.timeutil import utcnow


class CachedExport(db.Model):
    __tablename__ = "cached_exports"
    __table_args__ = (
        UniqueConstraint("roadmap_id", "file_format", "variant", "revision", name="one_cached_export_per_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmaps.id", ondelete="CASCADE"), index=True)
    file_format: Mapped[str] = mapped_column(String(16))
    variant: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    made_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
