"""A training and its working groups."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roadmap.extensions import db
from roadmap.timeutil import utcnow

THEMES = ("landscaping", "waste_sorting", "other")
PROJECTOR_MODES = ("join", "map", "grid", "timeline", "overview", "votes")
# Modes that show one group: its map, its stakeholders' power/interest grid, or its timeline.
GROUP_PROJECTOR_MODES = ("map", "grid", "timeline")
DEFAULT_TIMEZONE = "Europe/Moscow"


class Training(db.Model):
    __tablename__ = "trainings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(120))
    venue: Mapped[str] = mapped_column(String(200), default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    join_code: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    moderator_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Set when the moderator ends the training: every map's baseline is frozen then.
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # What the projector view shows (PROJECTOR_MODES); in "map" mode, projected_group_id's map.
    projector_mode: Mapped[str] = mapped_column(String(16), default="join", server_default="join")
    # The group whose map the projector view shows.
    projected_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", use_alter=True, name="fk_trainings_projected_group"), nullable=True
    )

    # Every date and time a person sees about this training is shown in this IANA zone.
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE, server_default=DEFAULT_TIMEZONE)
    # When the weekly digest goes out, in `timezone`: weekday 0 is Monday.
    digest_weekday: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    digest_hour: Mapped[int] = mapped_column(Integer, default=9, server_default="9")
    # Set when the moderator closed joining (groups are formed): the join code then lets nobody new in.
    joining_closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    moderator = relationship("Person")
    co_moderators: Mapped[list[TrainingModerator]] = relationship(
        back_populates="training",
        order_by="TrainingModerator.added_at",
        cascade="all, delete-orphan",
    )
    groups: Mapped[list[Group]] = relationship(
        back_populates="training",
        order_by="Group.id",
        cascade="all, delete-orphan",
        foreign_keys="Group.training_id",
    )

    @property
    def active_groups(self) -> list[Group]:
        return [group for group in self.groups if not group.archived]

    @property
    def moderator_ids(self) -> set[int]:
        """Who runs the training: the moderator who made it and every co-moderator."""
        return {self.moderator_id} | {link.person_id for link in self.co_moderators}


class TrainingModerator(db.Model):
    """A co-moderator: another moderator who runs this training with the same rights."""

    __tablename__ = "training_moderators"

    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True, index=True)
    added_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    training: Mapped[Training] = relationship(back_populates="co_moderators")
    person = relationship("Person", foreign_keys=[person_id])


class JoinBlock(db.Model):
    """A person a moderator removed and will not let back in with the join code."""

    __tablename__ = "join_blocks"

    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    blocked_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Group(db.Model):
    """A working group; each has exactly one road map."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    theme: Mapped[str] = mapped_column(String(20), default="other")
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    training: Mapped[Training] = relationship(back_populates="groups", foreign_keys=[training_id])
    roadmap = relationship("Roadmap", back_populates="group", uselist=False, cascade="all, delete-orphan")
    memberships = relationship("Membership", back_populates="group", cascade="all, delete-orphan")
