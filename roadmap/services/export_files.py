"""Export files made in the heavy-work pool and kept per map revision, so a second download of an
unchanged map costs no rendering; and the other heavy reads (an import's parsing, the map at a
past revision, a page of the history) run in the pool too.

A kept file is found by its map, format, revision and variant: a digest of what else changes the
bytes (the language, the training's time zone, title and dates, the group's and its people's
names, and today's date in the zone, which the progress and overdue marks depend on). The table
is shared by every server process on the same database. Within one process, two requests for the
same missing file render it once; two processes may each render it once.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from contextlib import contextmanager

from flask import current_app, render_template
from flask_babel import force_locale, format_percent
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from roadmap import heavy_work
from roadmap.domain import timeline
from roadmap.domain.progress import progress
from roadmap.extensions import db
from roadmap.i18n import show_times_in
from roadmap.models import CachedExport, Roadmap
from roadmap.services import exports, history, snapshots, transactions
from roadmap.timeutil import local_today

RENDERING_WAIT_SECONDS = 120
_rendering: dict[tuple, threading.Event] = {}
_rendering_lock = threading.Lock()


def kept_or_made(roadmap: Roadmap, file_format: str, language: str, make: Callable[[], bytes]) -> bytes:
    """The file of this map's current revision in `file_format`: the kept one, or `make()`'s, kept."""
    key = (roadmap.id, file_format, _variant(roadmap, language), roadmap.revision)
    kept = _kept(key)
    if kept is not None:
        return kept
    with _rendering_lock:
        underway = _rendering.get(key)
        if underway is None:
            _rendering[key] = threading.Event()
    if underway is not None:  # another request of this process is making it: wait and take its file
        underway.wait(RENDERING_WAIT_SECONDS)
        kept = _kept(key)
        if kept is not None:
            return kept
    try:
        content = make()
        _keep(key, content)
        return content
    finally:
        with _rendering_lock:
            finished = _rendering.pop(key, None)
        if finished is not None:
            finished.set()


def printable_page(roadmap: Roadmap, template: str = "exports/print.html") -> str:
    """The map as a document for the administration (or, with the poster template, for the wall)."""
    map_data = exports.map_for_reading(roadmap)
    today = local_today(roadmap.group.training.timezone)
    map_progress = progress(map_data, today)
    return render_template(
        template,
        roadmap=roadmap,
        map_data=map_data,
        title=exports.map_title(map_data),
        labels={
            "project": exports.PROJECT_LABELS,
            "steps": exports.STEP_LABELS,
            "stakeholders": exports.STAKEHOLDER_LABELS,
        },
        format_percent=format_percent,
        today=today,
        map_progress=map_progress,
        overdue_ids={step["id"] for step in map_progress.overdue},
        team=exports.team_of(roadmap, map_data),
        team_roles=exports.TEAM_ROLES,
        timeline=timeline.lay_out(map_data["steps"], today),
    )


def pdf(roadmap: Roadmap, language: str, template: str = "exports/print.html") -> bytes:
    """The printable page as PDF, the page and WeasyPrint's rendering both in the pool: the page of
    a 30-step map alone held the server's event loop about 7 ms."""
    return heavy_work.run(_pdf_job, roadmap.id, language, roadmap.group.training.timezone, template)


def docx(roadmap: Roadmap, language: str) -> bytes:
    return heavy_work.run(_docx_job, roadmap.id, language, roadmap.group.training.timezone)


def xlsx(roadmap: Roadmap, language: str) -> bytes:
    return heavy_work.run(_xlsx_job, roadmap.id, language, roadmap.group.training.timezone)


def map_at(roadmap: Roadmap, revision: int) -> dict:
    """history.map_at, replayed in the pool."""
    return heavy_work.run(_map_at_job, roadmap.id, revision)


def history_page(roadmap: Roadmap, language: str, zone: str, **filters) -> history.HistoryPage:
    """history.history_page, its sentences written in the pool in `language`, times in `zone`."""
    return heavy_work.run(_history_page_job, roadmap.id, language, zone, filters)


def checked_import(kind: str, raw_bytes: bytes) -> exports.ImportResult:
    """exports.check_import (the file's parsing), run in the pool."""
    return heavy_work.run(exports.check_import, kind, raw_bytes)


def _variant(roadmap: Roadmap, language: str) -> str:
    training = roadmap.group.training
    moderators = [training.moderator] + [link.person for link in training.co_moderators]
    named = {
        "language": language,
        "zone": training.timezone,
        "today": local_today(training.timezone).isoformat(),
        "training": [training.title, training.city, str(training.starts_on), str(training.ends_on)],
        "group": roadmap.group.name,
        "members": snapshots.members_data(roadmap.group_id),
        "moderators": [[person.id, person.display_name] for person in moderators],
    }
    return hashlib.sha256(json.dumps(named, sort_keys=True).encode()).hexdigest()[:32]


def _where(key: tuple):
    roadmap_id, file_format, variant, revision = key
    return (
        CachedExport.roadmap_id == roadmap_id,
        CachedExport.file_format == file_format,
        CachedExport.variant == variant,
        CachedExport.revision == revision,
    )


def _kept(key: tuple) -> bytes | None:
    return db.session.scalar(select(CachedExport.content).where(*_where(key)))


def _keep(key: tuple, content: bytes) -> None:
    """Keep a new file, drop this map's files of older revisions, and the oldest past the limit."""
    roadmap_id, file_format, variant, revision = key
    try:
        with transactions.writing() as session:
            session.execute(
                delete(CachedExport).where(CachedExport.roadmap_id == roadmap_id, CachedExport.revision < revision)
            )
            session.add(
                CachedExport(
                    roadmap_id=roadmap_id, file_format=file_format, variant=variant, revision=revision, content=content
                )
            )
            session.flush()
            beyond_limit = (
                select(CachedExport.id)
                .order_by(CachedExport.made_at.desc(), CachedExport.id.desc())
                .offset(current_app.config["EXPORT_CACHE_FILES"])
            )
            session.execute(delete(CachedExport).where(CachedExport.id.in_(beyond_limit.scalar_subquery())))
    except IntegrityError:  # another process kept the same file first
        pass


@contextmanager
def _as_reader(language: str, zone: str):
    """What a job needs to word things as the reader's request would: a request context, the
    language and the time zone."""
    with current_app.test_request_context(), force_locale(language):
        show_times_in(zone)
        yield


def _pdf_job(roadmap_id: int, language: str, zone: str, template: str) -> bytes:
    with _as_reader(language, zone):
        page_html = printable_page(db.session.get(Roadmap, roadmap_id), template)
        return exports.pdf_of(page_html, current_app.static_folder, current_app.static_url_path)


def _docx_job(roadmap_id: int, language: str, zone: str) -> bytes:
    with _as_reader(language, zone):
        return exports.docx_of(db.session.get(Roadmap, roadmap_id), language)


def _xlsx_job(roadmap_id: int, language: str, zone: str) -> bytes:
    with _as_reader(language, zone):
        return exports.xlsx_of(db.session.get(Roadmap, roadmap_id), language)


def _map_at_job(roadmap_id: int, revision: int) -> dict:
    return history.map_at(db.session.get(Roadmap, roadmap_id), revision)


def _history_page_job(roadmap_id: int, language: str, zone: str, filters: dict) -> history.HistoryPage:
    with _as_reader(language, zone):
        return history.history_page(db.session.get(Roadmap, roadmap_id), **filters)
