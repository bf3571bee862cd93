"""The moderator's tools across a training: timers, announcements, locks and the projector.

Each change is committed first and published after, like an edit; locking goes
through the edit pipeline itself (the map.lock op), so it is logged and
reaches every editor in revision order.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from roadmap.domain.errors import EditRejected
from roadmap.domain.permissions import Actor
from roadmap.domain.text import has_control_characters
from roadmap.extensions import db
from roadmap.models import Announcement, Group, Timer, Training
from roadmap.models.training import GROUP_PROJECTOR_MODES, PROJECTOR_MODES
from roadmap.realtime import publisher
from roadmap.services import editing
from roadmap.services.transactions import writing
from roadmap.timeutil import utcnow

MAX_TIMER_SECONDS = 4 * 3600
MAX_ANNOUNCEMENT_LENGTH = 500
ANNOUNCEMENTS_SHOWN = 10
# A timer whose time ran out this long ago is left over, not news: no screen shows it.
FINISHED_TIMER_SHOWN_FOR = timedelta(hours=1)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def _group_of(training: Training, group_id: int | None) -> Group | None:
    """None for "every group"; a group of this training, or EditRejected."""
    if group_id is None:
        return None
    group = db.session.get(Group, group_id)
    if group is None or group.training_id != training.id:
        raise EditRejected("not_found")
    return group


# --- lock ------------------------------------------------------------------


def set_locked(training: Training, moderator, locked: bool, group_id: int | None = None) -> int:
    """Lock or unlock one group's map or every active map; returns how many changed."""
    group = _group_of(training, group_id)
    groups = [group] if group else training.active_groups
    actor = Actor.of(moderator)
    changed = 0
    for each in groups:
        if bool(each.roadmap.locked) == locked:
            continue
        editing.apply(
            {
                "op_id": uuid.uuid4().hex,
                "roadmap_id": each.roadmap.id,
                "type": "map.lock",
                "locked": locked,
            },
            actor=actor,
        )
        changed += 1
    db.session.expire_all()
    return changed


# --- timers ----------------------------------------------------------------


def timer_data(timer: Timer | None) -> dict | None:
    if timer is None:
        return None
    return {
        "id": timer.id,
        "group_id": timer.group_id,
        "label": timer.label,
        "duration_seconds": timer.duration_seconds,
        "ends_at": iso(timer.ends_at),
        "paused_remaining_seconds": timer.paused_remaining_seconds,
        "running": timer.ends_at is not None,
    }


def remaining_seconds(timer: Timer, now: datetime) -> int:
    if timer.ends_at is None:
        return timer.paused_remaining_seconds or 0
    return max(0, round((timer.ends_at - now).total_seconds()))


def current_timer(training_id: int, group_id: int | None) -> Timer | None:
    """The timer shown for a scope: group_id None is the one for every group."""
    scope = Timer.group_id.is_(None) if group_id is None else Timer.group_id == group_id
    recent = or_(Timer.ends_at.is_(None), Timer.ends_at > utcnow() - FINISHED_TIMER_SHOWN_FOR)
    return db.session.scalar(
        select(Timer)
        .where(Timer.training_id == training_id, scope, Timer.stopped_at.is_(None), recent)
        .order_by(Timer.id.desc())
        .limit(1)
    )


def timers_for_group(training_id: int, group_id: int) -> dict:
    """What an editor of this group shows: its own timer, else the one for all groups."""
    return {
        "all": timer_data(current_timer(training_id, None)),
        "group": timer_data(current_timer(training_id, group_id)),
    }


def group_timers(training: Training) -> dict[int, dict]:
    """The running or paused timers of single groups, by group id."""
    timers = {group.id: timer_data(current_timer(training.id, group.id)) for group in training.active_groups}
    return {group_id: timer for group_id, timer in timers.items() if timer}


def start_timer(training: Training, seconds: int, label: str = "", group_id: int | None = None) -> Timer:
    if not 0 < seconds <= MAX_TIMER_SECONDS:
        raise EditRejected("invalid_value", "a timer runs from 1 second to 4 hours")
    if has_control_characters(label):
        raise EditRejected("invalid_value", "control characters are not allowed")
    group = _group_of(training, group_id)
    with writing():
        _lock_training(training)
        previous = current_timer(training.id, group_id)
        now = utcnow()
        if previous is not None:
            previous.stopped_at = now
        timer = Timer(
            training_id=training.id,
            group_id=group.id if group else None,
            label=label.strip()[:200],
            duration_seconds=seconds,
            ends_at=now + timedelta(seconds=seconds),
            started_at=now,
        )
        db.session.add(timer)
        _publish_timer(training, timer.group_id)
    return timer


def _lock_training(training: Training) -> None:
    """Serialise timer changes of one training (PostgreSQL; SQLite's writes are serial already)."""
    db.session.execute(select(Training.id).where(Training.id == training.id).with_for_update())


def _running_timer(training: Training, group_id: int | None) -> Timer:
    _lock_training(training)
    timer = current_timer(training.id, group_id)
    if timer is None:
        raise EditRejected("no_timer")
    return timer


def pause_timer(training: Training, group_id: int | None = None) -> Timer:
    with writing():
        timer = _running_timer(training, group_id)
        if timer.ends_at is not None:
            timer.paused_remaining_seconds = remaining_seconds(timer, utcnow())
            timer.ends_at = None
        _publish_timer(training, group_id)
    return timer


def resume_timer(training: Training, group_id: int | None = None) -> Timer:
    with writing():
        timer = _running_timer(training, group_id)
        if timer.ends_at is None:
            timer.ends_at = utcnow() + timedelta(seconds=timer.paused_remaining_seconds or 0)
            timer.paused_remaining_seconds = None
        _publish_timer(training, group_id)
    return timer


def add_time(training: Training, seconds: int, group_id: int | None = None) -> Timer:
    """Add (or, with a negative number, take) time; a finished timer starts again."""
    with writing():
        timer = _running_timer(training, group_id)
        now = utcnow()
        if timer.ends_at is not None:
            timer.ends_at = max(timer.ends_at, now) + timedelta(seconds=seconds)
            timer.ends_at = min(max(timer.ends_at, now), now + timedelta(seconds=MAX_TIMER_SECONDS))
        else:
            paused = (timer.paused_remaining_seconds or 0) + seconds
            timer.paused_remaining_seconds = min(max(0, paused), MAX_TIMER_SECONDS)
        timer.duration_seconds = max(timer.duration_seconds, remaining_seconds(timer, now))
        _publish_timer(training, group_id)
    return timer


def stop_timer(training: Training, group_id: int | None = None) -> None:
    with writing():
        timer = _running_timer(training, group_id)
        timer.stopped_at = utcnow()
        _publish_timer(training, group_id)


def clear_timer(training: Training, group_id: int | None = None) -> None:
    """Take a timer whose time is up off every screen."""
    with writing():
        timer = _running_timer(training, group_id)
        if timer.ends_at is None or timer.ends_at > utcnow():
            raise EditRejected("timer_not_finished")
        timer.stopped_at = utcnow()
        _publish_timer(training, group_id)


def stop_all_timers(training: Training) -> list[int | None]:
    """Inside the caller's transaction: stop every running or paused timer; returns their group ids."""
    now = utcnow()
    timers = db.session.scalars(select(Timer).where(Timer.training_id == training.id, Timer.stopped_at.is_(None))).all()
    for timer in timers:
        timer.stopped_at = now
    return sorted({timer.group_id for timer in timers}, key=lambda group_id: group_id or 0)


def publish_no_timers(training: Training, group_ids: list[int | None]) -> None:
    for group_id in group_ids:
        _publish_timer(training, group_id)


def _publish_timer(training: Training, group_id: int | None) -> None:
    data = timer_data(current_timer(training.id, group_id))
    if group_id is None:
        publisher.timer_changed(training.id, None, data)
    else:
        group = db.session.get(Group, group_id)
        publisher.timer_changed(training.id, group.roadmap.id, data)


# --- announcements ---------------------------------------------------------


def announcement_data(announcement: Announcement) -> dict:
    return {
        "id": announcement.id,
        "group_id": announcement.group_id,
        "group_name": announcement.group.name if announcement.group else None,
        "text": announcement.text,
        "at": iso(announcement.created_at),
    }


def announce(training: Training, author, text: str, group_id: int | None = None) -> Announcement:
    if has_control_characters(text):
        raise EditRejected("invalid_value", "control characters are not allowed")
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    if not text:
        raise EditRejected("invalid_value", "the announcement is empty")
    if len(text) > MAX_ANNOUNCEMENT_LENGTH:
        raise EditRejected("too_long")
    group = _group_of(training, group_id)
    with writing():
        announcement = Announcement(
            training_id=training.id,
            group_id=group.id if group else None,
            author_id=author.id,
            text=text,
        )
        db.session.add(announcement)
        db.session.flush()  # its id, for its event
        data = announcement_data(announcement)
        publisher.announced(training.id, group.roadmap.id if group else None, data)
    return announcement


def announcements_log(training_id: int) -> list[Announcement]:
    return db.session.scalars(
        select(Announcement).where(Announcement.training_id == training_id).order_by(Announcement.id.desc())
    ).all()


def recent_announcements(training_id: int, group_id: int, since_hours: int = 12) -> list[dict]:
    """The latest announcements a group's editor shows (each browser hides what it dismissed);
    once the training has ended, only those made after its end."""
    cutoff = utcnow() - timedelta(hours=since_hours)
    ended_at = db.session.scalar(select(Training.ended_at).where(Training.id == training_id))
    if ended_at is not None:
        cutoff = max(cutoff, ended_at)
    rows = db.session.scalars(
        select(Announcement)
        .where(
            Announcement.training_id == training_id,
            Announcement.created_at > cutoff,
            or_(Announcement.group_id.is_(None), Announcement.group_id == group_id),
        )
        .order_by(Announcement.id.desc())
        .limit(ANNOUNCEMENTS_SHOWN)
    ).all()
    return [announcement_data(row) for row in reversed(rows)]


# --- projector -------------------------------------------------------------


def project(training: Training, mode: str, group_id: int | None = None) -> None:
    """Choose what every open projector view shows: the join screen, one group's map or stakeholder grid,
    every group, or the vote."""
    if mode not in PROJECTOR_MODES:
        raise EditRejected("invalid_value", f"the projector shows one of {', '.join(PROJECTOR_MODES)}")
    group = _group_of(training, group_id)
    if mode in GROUP_PROJECTOR_MODES and group is None:
        raise EditRejected("invalid_value", "choose the group whose map to show")
    with writing():
        training.projector_mode = mode
        if group is not None:
            training.projected_group_id = group.id
        publisher.projector_changed(training.id, projector_data(training))


def projector_data(training: Training) -> dict:
    """The projector's choice as the dashboard and projector views get it."""
    return {
        "mode": training.projector_mode,
        "group_id": training.projected_group_id if training.projector_mode in GROUP_PROJECTOR_MODES else None,
    }
