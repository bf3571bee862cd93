"""A map's past: the change log read back as the map at any revision, and the history
in words gathered into sittings (one person's run of changes) and pages of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from roadmap.domain.replay import REPLAY_VERSION, empty_map, from_snapshot, replay_keeping_checkpoints
from roadmap.extensions import db
from roadmap.models import Baseline, Change, Checkpoint, Roadmap
from roadmap.services import history_words
from roadmap.services.transactions import writing
from roadmap.timeutil import utcnow

# Two changes by one person this close together belong to one sitting.
SITTING_GAP = timedelta(minutes=10)
SITTINGS_PER_PAGE = 30
# Changes read for one page: enough for SITTINGS_PER_PAGE busy sittings in most maps.
CHANGES_PER_PAGE = 600


def changes_up_to(roadmap_id: int, revision: int, after_revision: int = 0) -> list[dict]:
    rows = db.session.execute(
        select(Change.revision, Change.op)
        .where(Change.roadmap_id == roadmap_id, Change.revision > after_revision, Change.revision <= revision)
        .order_by(Change.revision)
    ).all()
    return [{"revision": row_revision, "op": op} for row_revision, op in rows]


def map_at(roadmap: Roadmap, revision: int) -> dict:
    """The map as it was right after `revision` (0: as created), rebuilt from the log from the
    nearest kept map before it; the checkpoints this replay passed are stored in a transaction
    of their own. Not for use inside a write transaction: see map_at_while_writing."""
    rebuilt, passed = _replayed(roadmap.id, roadmap.group.theme, revision)
    if passed:
        with writing():
            _keep(roadmap.id, passed)
    return rebuilt


def map_at_while_writing(roadmap: Roadmap, revision: int) -> dict:
    """map_at for an edit (a restore): the checkpoints passed are stored with the edit's transaction."""
    rebuilt, passed = _replayed(roadmap.id, roadmap.group.theme, revision)
    _keep(roadmap.id, passed)
    return rebuilt


def keep_checkpoints_up_to(roadmap_id: int, revision: int) -> None:
    """Store the checkpoints a replay up to `revision` would pass, so that a replay under the
    write lock (a restore) starts from one of them."""
    roadmap = db.session.get(Roadmap, roadmap_id)
    if roadmap is not None:
        map_at(roadmap, min(revision, roadmap.revision))


def _replayed(roadmap_id: int, theme: str, revision: int) -> tuple[dict, list[dict]]:
    start = _nearest_kept_map(roadmap_id, revision) or empty_map(roadmap_id, theme)
    return replay_keeping_checkpoints(start, changes_up_to(roadmap_id, revision, after_revision=start["revision"]))


def _nearest_kept_map(roadmap_id: int, revision: int) -> dict | None:
    """The latest checkpoint of this replay version, or the baseline, at or before `revision`."""
    checkpoint = db.session.execute(
        select(Checkpoint.revision, Checkpoint.data)
        .where(
            Checkpoint.roadmap_id == roadmap_id,
            Checkpoint.revision <= revision,
            Checkpoint.replay_version == REPLAY_VERSION,
        )
        .order_by(Checkpoint.revision.desc())
        .limit(1)
    ).first()
    baseline = db.session.execute(
        select(Baseline.revision, Baseline.data).where(Baseline.roadmap_id == roadmap_id, Baseline.revision <= revision)
    ).first()
    if baseline is not None and (checkpoint is None or baseline.revision > checkpoint.revision):
        return from_snapshot(baseline.data)
    return checkpoint.data if checkpoint is not None else None


def _keep(roadmap_id: int, maps: list[dict]) -> None:
    """Store maps as checkpoints; one stored meanwhile by another replay, or by an older
    replay version, is overwritten (the replay is the same, or newer)."""
    if not maps:
        return
    dialect = {"postgresql": postgresql, "sqlite": sqlite}[db.session.connection().dialect.name]
    rows = [
        {
            "roadmap_id": roadmap_id,
            "revision": kept["revision"],
            "replay_version": REPLAY_VERSION,
            "data": kept,
            "created_at": utcnow(),
        }
        for kept in maps
    ]
    statement = dialect.insert(Checkpoint).values(rows)
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=[Checkpoint.roadmap_id, Checkpoint.revision],
            set_={"replay_version": statement.excluded.replay_version, "data": statement.excluded.data},
        )
    )


@dataclass(frozen=True)
class Sitting:
    """One person's consecutive changes, each within SITTING_GAP of the next; entries newest first."""

    entries: list[history_words.Entry]

    @property
    def latest(self) -> history_words.Entry:
        return self.entries[0]

    @property
    def started_at(self) -> datetime:
        return self.entries[-1].at

    @property
    def oldest_revision(self) -> int:
        return self.entries[-1].revision


@dataclass(frozen=True)
class HistoryPage:
    sittings: list[Sitting]
    # Pass as before_revision for the next, older page; None on the last page.
    older_than: int | None


def sittings(entries: list[history_words.Entry], gap: timedelta = SITTING_GAP) -> list[Sitting]:
    """Entries (newest first) gathered into sittings: a change by someone else, or a pause
    longer than `gap`, starts a new one."""
    gathered: list[list[history_words.Entry]] = []
    for entry in entries:
        current = gathered[-1] if gathered else None
        if current and current[-1].author_id == entry.author_id and current[-1].at - entry.at <= gap:
            current.append(entry)
        else:
            gathered.append([entry])
    return [Sitting(run) for run in gathered]


def history_page(
    roadmap: Roadmap,
    person_id: int | None = None,
    step_id: str | None = None,
    before_revision: int | None = None,
    per_page: int = SITTINGS_PER_PAGE,
    changes_read: int = CHANGES_PER_PAGE,
) -> HistoryPage:
    """One page of the history in sittings, newest first, filtered as history_words.history filters.

    When the changes read fill `changes_read`, the last sitting may go on in older changes, so it is
    left for the next page (unless it is the only one)."""
    entries = history_words.history(
        roadmap, person_id=person_id, step_id=step_id, limit=changes_read, before_revision=before_revision
    )
    found = sittings(entries)
    more_to_read = len(entries) == changes_read
    if more_to_read and len(found) > 1:
        found = found[:-1]
    shown = found[:per_page]
    older_than = shown[-1].oldest_revision if shown and (more_to_read or len(found) > per_page) else None
    return HistoryPage(shown, older_than)
