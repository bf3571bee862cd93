"""Mail a person may switch off, and the ledger that sends each mail exactly once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from roadmap.extensions import db
from roadmap.timeutil import utcnow

SEND_STATUSES = ("pending", "sent", "skipped", "failed")


class MailOptOut(db.Model):
    """A kind of mail (services.mail.OPTIONAL_KINDS) this person switched off; every kind is on by default."""

    __tablename__ = "mail_opt_outs"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class MailSend(db.Model):
    """One mail owed to one person for one period, claimed here before it is sent.

    The unique (person, kind, period) decides which process owns a mail; `claimed_until` is the
    lease of the process sending it now, so a crashed sender's mail is picked up when it expires."""

    __tablename__ = "mail_sends"
    __table_args__ = (UniqueConstraint("person_id", "kind", "period_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    # Which mail of its kind: "<training id>/<digest day>" for a digest, "<step id>/<due date>" for a reminder.
    period_key: Mapped[str] = mapped_column(String(120))
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), index=True)
    step_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The moment (naive UTC) the mail is for: a digest covers the changes up to it.
    slot_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
