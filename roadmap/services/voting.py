"""Dot voting on steps: each participant has N dots to place; the tally may stay hidden until closed."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import delete, func, select

from roadmap.domain import permissions
from roadmap.domain.errors import EditRejected
from roadmap.domain.text import has_control_characters
from roadmap.extensions import db
from roadmap.models import Dot, Group, Membership, Roadmap, Step, Training, Vote
from roadmap.realtime import publisher
from roadmap.services import access
from roadmap.services.facilitation import iso
from roadmap.services.transactions import writing
from roadmap.timeutil import utcnow

MAX_DOTS = 20
MAX_VOTE_MINUTES = 240
RANKED_PER_MAP = 10  # what a slide or a vote bar can show; keeps the broadcast small


def open_vote(
    training: Training,
    dots_per_person: int,
    roadmap_id: int | None = None,
    minutes: int | None = None,
    hide_results: bool = True,
    question: str = "",
) -> Vote:
    """Open a vote on one map's steps or on every map's; an open vote of the training closes first."""
    if not 1 <= dots_per_person <= MAX_DOTS:
        raise EditRejected("invalid_value", f"from 1 to {MAX_DOTS} dots")
    if minutes is not None and not 1 <= minutes <= MAX_VOTE_MINUTES:
        raise EditRejected("invalid_value", f"from 1 to {MAX_VOTE_MINUTES} minutes")
    if has_control_characters(question):
        raise EditRejected("invalid_value", "control characters are not allowed")
    if roadmap_id is not None:
        roadmap = db.session.get(Roadmap, roadmap_id)
        if roadmap is None or roadmap.group.training_id != training.id:
            raise EditRejected("not_found")
    with writing():
        now = utcnow()
        closed = _open_votes(training.id)
        for earlier in closed:
            earlier.closed_at = now
        vote = Vote(
            training_id=training.id,
            roadmap_id=roadmap_id,
            question=question.strip()[:200],
            dots_per_person=dots_per_person,
            hide_results=hide_results,
            opened_at=now,
            ends_at=now + timedelta(minutes=minutes) if minutes else None,
        )
        db.session.add(vote)
        db.session.flush()  # the vote's id, for its event
        for earlier in closed:
            publisher.vote_changed(training.id, public_data(earlier))
        publisher.vote_changed(training.id, public_data(vote))
    return vote


def close_vote(vote: Vote) -> Vote:
    with writing():
        if vote.closed_at is None:
            vote.closed_at = utcnow()
        publisher.vote_changed(vote.training_id, public_data(vote))
    return vote


def _open_votes(training_id: int) -> list[Vote]:
    return db.session.scalars(select(Vote).where(Vote.training_id == training_id, Vote.closed_at.is_(None))).all()


def clear_vote(vote: Vote) -> Vote:
    """Take a vote off every screen (closing it first if open); its dots stay in the database."""
    with writing():
        now = utcnow()
        vote.closed_at = vote.closed_at or now
        vote.cleared_at = vote.cleared_at or now
        publisher.vote_cleared(vote.training_id, vote.roadmap_id)
    return vote


def close_and_clear_all(training: Training) -> list[Vote]:
    """Inside the caller's transaction: close and clear every vote still on screen; returns them."""
    now = utcnow()
    shown = db.session.scalars(select(Vote).where(Vote.training_id == training.id, Vote.cleared_at.is_(None))).all()
    for vote in shown:
        vote.closed_at = vote.closed_at or now
        vote.cleared_at = now
    return shown


def _shown(vote: Vote | None) -> Vote | None:
    # A cleared vote hides the older ones too: a screen shows only the latest vote.
    return vote if vote is not None and vote.cleared_at is None else None


def current_vote(training_id: int) -> Vote | None:
    """The open vote, else the latest closed one (its results stay on screen) unless it was cleared."""
    return _shown(
        db.session.scalar(select(Vote).where(Vote.training_id == training_id).order_by(Vote.id.desc()).limit(1))
    )


def current_vote_for(training_id: int, roadmap_id: int) -> Vote | None:
    """The latest vote this map's editors take part in (one on every map, or on this one), unless cleared."""
    return _shown(
        db.session.scalar(
            select(Vote)
            .where(Vote.training_id == training_id, (Vote.roadmap_id.is_(None)) | (Vote.roadmap_id == roadmap_id))
            .order_by(Vote.id.desc())
            .limit(1)
        )
    )


def accepts_dots(vote: Vote) -> bool:
    return vote.closed_at is None and (vote.ends_at is None or utcnow() < vote.ends_at)


def results_visible(vote: Vote) -> bool:
    return vote.closed_at is not None or not vote.hide_results


def tally(vote: Vote) -> dict[str, int]:
    rows = db.session.execute(
        select(Dot.step_id, func.count()).where(Dot.vote_id == vote.id).group_by(Dot.step_id)
    ).all()
    return {step_id: count for step_id, count in rows}


def ranking(vote: Vote, per_map: int = RANKED_PER_MAP) -> list[dict]:
    """The steps with dots, most first, with their titles and groups: each map's top `per_map`.

    The one ranking every screen shows: across groups as it stands, one group's by its roadmap_id."""
    rows = db.session.execute(
        select(Step.id, Step.roadmap_id, Step.title, Group.id, Group.name, func.count(Dot.id).label("dots"))
        .join(Dot, Dot.step_id == Step.id)
        .join(Roadmap, Roadmap.id == Step.roadmap_id)
        .join(Group, Group.id == Roadmap.group_id)
        .where(Dot.vote_id == vote.id, Step.deleted_at.is_(None))
        .group_by(Step.id, Step.roadmap_id, Step.title, Group.id, Group.name)
        .order_by(func.count(Dot.id).desc(), Step.title, Step.id)
    ).all()
    ranked, per_roadmap = [], Counter()
    for step_id, roadmap_id, title, group_id, group_name, dots in rows:
        per_roadmap[roadmap_id] += 1
        if per_roadmap[roadmap_id] <= per_map:
            ranked.append(
                {
                    "step_id": step_id,
                    "roadmap_id": roadmap_id,
                    "group_id": group_id,
                    "group_name": group_name,
                    "title": title,
                    "dots": dots,
                }
            )
    return ranked


def turnout(vote: Vote) -> dict:
    """How many of the people who may vote have placed at least one dot."""
    voters = db.session.scalar(select(func.count(func.distinct(Dot.person_id))).where(Dot.vote_id == vote.id))
    groups = (
        select(Roadmap.group_id).where(Roadmap.id == vote.roadmap_id)
        if vote.roadmap_id
        else (select(Group.id).where(Group.training_id == vote.training_id, Group.archived.is_(False)))
    )
    members = db.session.scalar(
        select(func.count(func.distinct(Membership.person_id))).where(Membership.group_id.in_(groups))
    )
    return {"voters": voters, "members": members}


def public_data(vote: Vote | None) -> dict | None:
    """What everyone may see of a vote: the tally only once it is visible; the turnout always."""
    if vote is None:
        return None
    return {
        "id": vote.id,
        "roadmap_id": vote.roadmap_id,
        "question": vote.question,
        "dots_per_person": vote.dots_per_person,
        "hide_results": vote.hide_results,
        "ends_at": iso(vote.ends_at),
        "closed": vote.closed_at is not None,
        "results": tally(vote) if results_visible(vote) else None,
        "ranking": ranking(vote) if results_visible(vote) else None,
        "turnout": turnout(vote),
    }


def my_dots(vote: Vote, person_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(Dot.step_id, func.count())
        .where(Dot.vote_id == vote.id, Dot.person_id == person_id)
        .group_by(Dot.step_id)
    ).all()
    return {step_id: count for step_id, count in rows}


def state_for(vote: Vote | None, person_id: int) -> dict | None:
    data = public_data(vote)
    if data is not None:
        data["my_dots"] = my_dots(vote, person_id)
    return data


def place_dot(vote_id: int, step_id: str, actor) -> dict:
    return _change_dot(vote_id, step_id, actor, adding=True)


def remove_dot(vote_id: int, step_id: str, actor) -> dict:
    return _change_dot(vote_id, step_id, actor, adding=False)


def _change_dot(vote_id: int, step_id: str, actor, adding: bool) -> dict:
    with writing():
        # Lock the vote row so two quick dots cannot both take the last one (PostgreSQL).
        vote = db.session.scalar(select(Vote).where(Vote.id == vote_id).with_for_update())
        if vote is None:
            raise EditRejected("vote_not_found")
        if not accepts_dots(vote):
            raise EditRejected("vote_closed")
        step = db.session.get(Step, step_id)
        if step is None or step.deleted_at is not None:
            raise EditRejected("step_not_found")
        target = access.map_access(step.roadmap_id, actor.id)
        if (
            target is None
            or target.training_id != vote.training_id
            or (vote.roadmap_id is not None and vote.roadmap_id != step.roadmap_id)
        ):
            raise EditRejected("step_not_found")
        if not permissions.may_edit(actor, target):
            raise EditRejected("forbidden")
        mine = my_dots(vote, actor.id)
        if adding:
            if sum(mine.values()) >= vote.dots_per_person:
                raise EditRejected("no_dots_left")
            db.session.add(Dot(vote_id=vote.id, step_id=step.id, person_id=actor.id))
        elif mine.get(step.id):
            one = db.session.scalar(
                select(Dot.id).where(Dot.vote_id == vote.id, Dot.step_id == step.id, Dot.person_id == actor.id).limit(1)
            )
            db.session.execute(delete(Dot).where(Dot.id == one))
        # Editors hear every dot only while the tally is visible; the moderator always sees the turnout.
        publisher.vote_changed(vote.training_id, public_data(vote), to_editors=results_visible(vote))
    return state_for(vote, actor.id)
