"""Live dashboard updates, throttled: however busy the groups, each dashboard gets
at most one update per interval, carrying only the groups that changed.

The publisher notes every map it publishes about, in this process; flush() turns
the maps noted since the last flush into group summaries and sends them, and sends
each map's editors its readiness checks. The server runs flush() in a loop.

With several server processes (a message queue configured) each process hands
what it noted to one Redis set, and only the process holding a lease for the
interval takes the set and pushes: a dashboard gets one update per interval,
whichever process its connection and the changes are on, within two intervals
of a change made on another process.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections import defaultdict

import redis
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from roadmap.extensions import db, socketio
from roadmap.models import Group, Roadmap
from roadmap.realtime import publisher
from roadmap.services import dashboard

log = logging.getLogger(__name__)


def flush() -> int:
    """Send the summaries of every group changed since the last flush; returns how many."""
    shared = _shared_changes()
    roadmap_ids = publisher.take_changed_maps() if shared is None else shared.take(publisher.take_changed_maps())
    if not roadmap_ids:
        return 0
    try:
        return _send_summaries(roadmap_ids)
    except Exception:
        for roadmap_id in roadmap_ids:  # the next flush tries these again
            publisher.note_change(roadmap_id)
        raise


class SharedChanges:
    """The maps changed on any server process, in one Redis set, and the lease to push them."""

    def __init__(self, url: str, channel: str, interval_seconds: float):
        self.client = redis.Redis.from_url(url)
        self.changed_key = f"{channel}:dashboard-changed-maps"
        self.lease_key = f"{channel}:dashboard-pusher"
        self.lease_ms = max(1, int(interval_seconds * 1000))
        self.holder = uuid.uuid4().hex

    def take(self, noted_here: set[int]) -> set[int]:
        """Hand over the maps noted here; the maps to push now if this process holds the lease
        for this interval, else none."""
        if noted_here:
            self.client.sadd(self.changed_key, *noted_here)
        if not self.client.set(self.lease_key, self.holder, nx=True, px=self.lease_ms):
            return set()
        with self.client.pipeline(transaction=True) as both:
            both.smembers(self.changed_key)
            both.delete(self.changed_key)
            members, _deleted = both.execute()
        return {int(member) for member in members}


def _shared_changes() -> SharedChanges | None:
    config = current_app.config
    if not config["SOCKETIO_MESSAGE_QUEUE"]:
        return None
    return _shared_changes_for(
        config["SOCKETIO_MESSAGE_QUEUE"], config["SOCKETIO_CHANNEL"], config["DASHBOARD_PUSH_SECONDS"]
    )


@functools.cache
def _shared_changes_for(url: str, channel: str, interval_seconds: float) -> SharedChanges:
    return SharedChanges(url, channel, interval_seconds)


def _send_summaries(roadmap_ids: set[int]) -> int:
    groups = db.session.scalars(
        select(Group)
        .join(Roadmap, Roadmap.group_id == Group.id)
        .where(Roadmap.id.in_(roadmap_ids))
        .options(contains_eager(Group.roadmap))
        .order_by(Group.id)
    ).all()
    by_training: dict[int, list[Group]] = defaultdict(list)
    for group in groups:
        by_training[group.training_id].append(group)
    for training_id, training_groups in by_training.items():
        summaries = []
        for summary in dashboard.each_summary(training_groups):
            summaries.append(summary)
            publisher.readiness_changed(summary["roadmap_id"], summary["readiness"], summary["progress"])
            # One card at a time: edits waiting to be applied go first. The read
            # transaction stays open across these yields (a flush takes tens of ms),
            # so a card may show its group's name from the start of the flush.
            socketio.sleep(0)
        publisher.dashboard_changed(training_id, summaries)
    db.session.rollback()  # end the read transaction; the loop holds no snapshot open
    return len(groups)


def run_forever(app, interval_seconds: float) -> None:
    while True:
        socketio.sleep(interval_seconds)
        try:
            with app.app_context():
                flush()
        except Exception:  # the feed must outlive a passing database error
            log.exception("dashboard feed failed")
