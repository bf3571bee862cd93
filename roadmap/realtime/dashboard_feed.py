"""Live dashboard updates, throttled: however busy the groups, each dashboard gets
at most one update per interval, carrying only the groups that changed.

The publisher notes every map it publishes about; flush() turns the maps noted
since the last flush into group summaries and sends them, and sends each map's
editors its readiness checks. The server runs flush() in a loop.
"""
from __future__ import annotations

import logging
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from roadmap.extensions import db, socketio
from roadmap.models import Group, Roadmap
from roadmap.realtime import publisher
from roadmap.services import dashboard

log = logging.getLogger(__name__)


def flush() -> int:
    """Send the summaries of every group changed since the last flush; returns how many."""
    roadmap_ids = publisher.take_changed_maps()
    if not roadmap_ids:
        return 0
    try:
        return _send_summaries(roadmap_ids)
    except Exception:
        for roadmap_id in roadmap_ids:  # the next flush tries these again
            publisher.note_change(roadmap_id)
        raise


def _send_summaries(roadmap_ids: set[int]) -> int:
    groups = db.session.scalars(
        select(Group).join(Roadmap, Roadmap.group_id == Group.id).where(Roadmap.id.in_(roadmap_ids))
        .options(contains_eager(Group.roadmap)).order_by(Group.id)
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
