"""A map's past: the change log read back as the map at any revision, and the history
in words gathered into sittings (one person's run of changes) and pages of them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from roadmap.domain.replay import empty_map, replay
from roadmap.extensions import db
from roadmap.models import Change, Roadmap
from roadmap.services import history_words

# Two changes by one person this close together belong to one sitting.
SITTING_GAP = timedelta(minutes=10)
SITTINGS_PER_PAGE = 30
# Changes read for one page: enough for SITTINGS_PER_PAGE busy sittings in most maps.
CHANGES_PER_PAGE = 600


def changes_up_to(roadmap_id: int, revision: int) -> list[dict]:
    rows = db.session.execute(
        select(Change.revision, Change.op)
        .where(Change.roadmap_id == roadmap_id, Change.revision <= revision)
        .order_by(Change.revision)
    ).all()
    return [{"revision": row_revision, "op": op} for row_revision, op in rows]


def map_at(roadmap: Roadmap, revision: int) -> dict:
    """The map as it was right after `revision` (0: as created), rebuilt from the log."""
    start = empty_map(roadmap.id, roadmap.group.theme)
    return replay(start, changes_up_to(roadmap.id, revision))


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


def history_page(roadmap: Roadmap, person_id: int | None = None, step_id: str | None = None,
                 before_revision: int | None = None, per_page: int = SITTINGS_PER_PAGE,
                 changes_read: int = CHANGES_PER_PAGE) -> HistoryPage:
    """One page of the history in sittings, newest first, filtered as history_words.history filters.

    When the changes read fill `changes_read`, the last sitting may go on in older changes, so it is
    left for the next page (unless it is the only one)."""
    entries = history_words.history(roadmap, person_id=person_id, step_id=step_id, limit=changes_read,
                                    before_revision=before_revision)
    found = sittings(entries)
    more_to_read = len(entries) == changes_read
    if more_to_read and len(found) > 1:
        found = found[:-1]
    shown = found[:per_page]
    older_than = shown[-1].oldest_revision if shown and (more_to_read or len(found) > per_page) else None
    return HistoryPage(shown, older_than)
