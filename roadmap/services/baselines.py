"""Ending a training: each map's baseline, frozen once, and the training's tools put away."""

from __future__ import annotations

from sqlalchemy import select

from roadmap.extensions import db
from roadmap.models import Baseline, Training
from roadmap.realtime import publisher
from roadmap.services import facilitation, snapshots, voting
from roadmap.services.transactions import writing
from roadmap.timeutil import utcnow


def end_training(training: Training) -> int:
    """Freeze every map's state as its baseline; returns how many were frozen now.

    A map that already has a baseline keeps it: a baseline is written once. In the
    same transaction the training's timers stop, its votes close and leave the
    screens, and its announcements stop showing; open screens hear it after the commit."""
    frozen = 0
    with writing():
        # Lock the training first, so two "end" clicks do not both write baselines (PostgreSQL).
        db.session.execute(select(Training.id).where(Training.id == training.id).with_for_update())
        if training.ended_at is None:
            training.ended_at = utcnow()
        stopped_timer_scopes = facilitation.stop_all_timers(training)
        cleared_votes = voting.close_and_clear_all(training)
        for group in training.groups:
            roadmap = group.roadmap
            if db.session.scalar(select(Baseline.id).where(Baseline.roadmap_id == roadmap.id)) is not None:
                continue
            data = snapshots.snapshot(roadmap, with_members=False)
            db.session.add(Baseline(roadmap_id=roadmap.id, revision=data["revision"], data=data))
            frozen += 1
        facilitation.publish_no_timers(training, stopped_timer_scopes)
        for roadmap_id in {vote.roadmap_id for vote in cleared_votes}:
            publisher.vote_cleared(training.id, roadmap_id)
        publisher.announcements_cleared(training.id)
    return frozen


def baseline_of(roadmap_id: int) -> Baseline | None:
    return db.session.scalar(select(Baseline).where(Baseline.roadmap_id == roadmap_id))
