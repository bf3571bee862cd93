"""What moderators run across a training: timers, announcements and dot votes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roadmap.extensions import db
from roadmap.timeutil import utcnow


class Timer(db.Model):
    """A countdown for a whole training (group_id null) or one group.

    The server holds the end time, so every screen, reload and reconnect shows
    the same remaining time. A paused timer keeps its remaining seconds instead.
    """

    __tablename__ = "timers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), nullable=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    duration_seconds: Mapped[int] = mapped_column(Integer)
    ends_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    paused_remaining_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Announcement(db.Model):
    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), nullable=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    group = relationship("Group")


class Vote(db.Model):
    """Dot voting on the steps of one map (roadmap_id) or of every map of a training."""

    __tablename__ = "votes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), index=True)
    roadmap_id: Mapped[int | None] = mapped_column(ForeignKey("roadmaps.id"), nullable=True)
    question: Mapped[str] = mapped_column(String(200), default="")
    dots_per_person: Mapped[int] = mapped_column(Integer)
    hide_results: Mapped[bool] = mapped_column(Boolean, default=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ends_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # A cleared vote leaves every screen; its dots stay for the record.
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Dot(db.Model):
    """One dot a person put on a step; a person may stack several on one step."""

    __tablename__ = "dots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"), index=True)
    step_id: Mapped[str] = mapped_column(ForeignKey("steps.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
