"""Reading comments on steps, and each person's own state of them: what they have read,
where they were mentioned. Writing a comment is an edit: comment.* ops in services/editing.py."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select, update

from roadmap.extensions import db
from roadmap.models import Comment, CommentRead, Mention, Person, Roadmap, Step
from roadmap.services.transactions import writing
from roadmap.timeutil import utcnow


def comment_data(comment: Comment) -> dict:
    """A comment as the replay of the log gives it (domain/replay.replay_comments)."""
    return {
        "id": comment.id,
        "step_id": comment.step_id,
        "parent_id": comment.parent_id,
        "author_id": comment.author_id,
        "body": comment.body,
        "mentions": list(comment.mentions or ()),
        "created_at": comment.created_at.isoformat(),
        "edited_at": comment.edited_at.isoformat() if comment.edited_at else None,
        "deleted": comment.deleted_at is not None,
        "hidden": comment.hidden_at is not None,
    }


def comments_of(roadmap_id: int) -> list[dict]:
    """Every comment of a map, deleted and hidden ones too, in the order they were added."""
    rows = db.session.scalars(
        select(Comment).where(Comment.roadmap_id == roadmap_id).order_by(Comment.created_at, Comment.id)
    )
    return [comment_data(comment) for comment in rows]


def thread(roadmap_id: int, step_id: str, moderator: bool) -> dict:
    """A step's comments as its thread shows them: a deleted comment's words are gone (it stays
    as a placeholder while it has replies), a hidden one's are shown to moderators only."""
    rows = db.session.scalars(
        select(Comment)
        .where(Comment.roadmap_id == roadmap_id, Comment.step_id == step_id)
        .order_by(Comment.created_at, Comment.id)
    ).all()
    answered = {comment.parent_id for comment in rows if comment.deleted_at is None}
    shown = []
    for comment in rows:
        if comment.deleted_at is not None and comment.id not in answered:
            continue
        data = comment_data(comment)
        if data["deleted"] or (data["hidden"] and not moderator):
            data["body"], data["mentions"] = "", []
        shown.append(data)
    author_ids = {data["author_id"] for data in shown} | {person for data in shown for person in data["mentions"]}
    names = dict(db.session.execute(select(Person.id, Person.display_name).where(Person.id.in_(author_ids))).all())
    return {"comments": shown, "names": {str(person_id): name for person_id, name in names.items()}}


def mark_read(person_id: int, roadmap_id: int, step_id: str) -> None:
    """The person has read the step's comments up to now (a step of another map: nothing)."""
    step = db.session.get(Step, step_id)
    if step is None or step.roadmap_id != roadmap_id:
        return
    with writing():
        now = utcnow()
        updated = db.session.execute(
            update(CommentRead)
            .where(CommentRead.person_id == person_id, CommentRead.step_id == step_id)
            .values(seen_at=now)
        )
        if not updated.rowcount:
            db.session.add(CommentRead(person_id=person_id, step_id=step_id, seen_at=now))
        db.session.execute(
            update(Mention)
            .where(Mention.person_id == person_id, Mention.step_id == step_id, Mention.seen_at.is_(None))
            .values(seen_at=now)
        )


def unread_counts(person_id: int, roadmap_id: int) -> dict[str, int]:
    """Per step, the visible comments by others the person has not read yet."""
    read = and_(CommentRead.step_id == Comment.step_id, CommentRead.person_id == person_id)
    rows = db.session.execute(
        select(Comment.step_id, func.count())
        .outerjoin(CommentRead, read)
        .where(
            Comment.roadmap_id == roadmap_id,
            Comment.deleted_at.is_(None),
            Comment.hidden_at.is_(None),
            Comment.author_id != person_id,
            or_(CommentRead.seen_at.is_(None), Comment.created_at > CommentRead.seen_at),
        )
        .group_by(Comment.step_id)
    ).all()
    return {step_id: count for step_id, count in rows}


def unseen_mentions(person_id: int, limit: int = 20) -> list[dict]:
    """Where the person was mentioned and has not looked yet, newest first, on steps that still exist."""
    rows = db.session.execute(
        select(Mention, Step.title, Roadmap.title, Person.display_name)
        .join(Comment, Comment.id == Mention.comment_id)
        .join(Step, Step.id == Mention.step_id)
        .join(Roadmap, Roadmap.id == Mention.roadmap_id)
        .join(Person, Person.id == Comment.author_id)
        .where(
            Mention.person_id == person_id,
            Mention.seen_at.is_(None),
            Comment.deleted_at.is_(None),
            Comment.hidden_at.is_(None),
            Step.deleted_at.is_(None),
        )
        .order_by(Mention.created_at.desc(), Mention.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": mention.id,
            "roadmap_id": mention.roadmap_id,
            "step_id": mention.step_id,
            "step_title": step_title,
            "map_title": map_title,
            "comment_id": mention.comment_id,
            "by": author,
        }
        for mention, step_title, map_title, author in rows
    ]


def mark_mention_seen(person_id: int, mention_id: int) -> None:
    with writing():
        db.session.execute(
            update(Mention).where(Mention.id == mention_id, Mention.person_id == person_id).values(seen_at=utcnow())
        )
