"""A road map with its steps and stakeholders.

Step and stakeholder ids are made by the client, so a step created offline can
be edited before the server has seen it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roadmap.extensions import db
from roadmap.timeutil import utcnow


class Roadmap(db.Model):
    __tablename__ = "roadmaps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), unique=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(Text, default="")
    problem: Mapped[str] = mapped_column(Text, default="")
    goal: Mapped[str] = mapped_column(Text, default="")
    territory: Mapped[str] = mapped_column(Text, default="")
    theme: Mapped[str] = mapped_column(String(20), default="other")
    expected_results: Mapped[str] = mapped_column(Text, default="")
    # Set by the map.lock op: while locked, every other edit is refused.
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last change of the map's content; null until the first one (a lock is not one).
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    group = relationship("Group", back_populates="roadmap")
    steps: Mapped[list[Step]] = relationship(back_populates="roadmap", cascade="all, delete-orphan")
    stakeholders: Mapped[list[Stakeholder]] = relationship(back_populates="roadmap", cascade="all, delete-orphan")


class Step(db.Model):
    __tablename__ = "steps"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmaps.id"), index=True)
    # Fractional keys grow by about a character per six inserts into one gap.
    position: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    owner_member_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    owner_stakeholder_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    owner_text: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="planned")
    progress: Mapped[int | None] = mapped_column(Integer, nullable=True)  # percent done, optional
    resources: Mapped[str] = mapped_column(Text, default="")
    success_measure: Mapped[str] = mapped_column(Text, default="")
    # The ids of the steps this one starts after (finish-to-start), sorted. Ids of steps
    # deleted since stay, as links do: restoring such a step brings its arrows back.
    depends_on: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    roadmap: Mapped[Roadmap] = relationship(back_populates="steps")
    stakeholder_links: Mapped[list[StepStakeholder]] = relationship(back_populates="step", cascade="all, delete-orphan")


class Stakeholder(db.Model):
    __tablename__ = "stakeholders"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmaps.id"), index=True)
    name: Mapped[str] = mapped_column(Text, default="")
    # Sector, interest and influence stay null until the group has chosen them.
    sector: Mapped[str | None] = mapped_column(String(20), nullable=True)
    contact: Mapped[str] = mapped_column(Text, default="")
    interest: Mapped[int | None] = mapped_column(Integer, nullable=True)
    influence: Mapped[int | None] = mapped_column(Integer, nullable=True)
    engagement: Mapped[str] = mapped_column(String(20), default="inform")
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    roadmap: Mapped[Roadmap] = relationship(back_populates="stakeholders")


class StepStakeholder(db.Model):
    """A stakeholder involved in a step."""

    __tablename__ = "step_stakeholders"

    step_id: Mapped[str] = mapped_column(ForeignKey("steps.id"), primary_key=True)
    stakeholder_id: Mapped[str] = mapped_column(ForeignKey("stakeholders.id"), primary_key=True)

    step: Mapped[Step] = relationship(back_populates="stakeholder_links")
