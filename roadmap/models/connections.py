"""Every open Socket.IO connection of a signed-in person or of a read-only link's viewer,
on any server process.

Ending a person's sessions, or revoking a link, closes their connections through
these rows: a sid reaches the process holding it over the message queue. Rows of a crashed
process age out via seen_at, as presence rows do.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from roadmap.extensions import db
from roadmap.timeutil import utcnow


class LiveConnection(db.Model):
    __tablename__ = "live_connections"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)  # None: a viewer
    share_link_id: Mapped[int | None] = mapped_column(ForeignKey("share_links.id"), index=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
