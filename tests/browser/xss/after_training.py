"""The pages after the training: my maps, the history, a past revision, changes since, sharing, print and PDF."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date

import pymupdf
from flask_babel import force_locale, format_date, gettext
from sqlalchemy import select

from roadmap.domain.progress import NEXT_STEPS_LIMIT
from roadmap.domain.vocabulary import THEMES
from roadmap.extensions import db
from roadmap.models import Change, Person
from roadmap.services import baselines, editing, share_links
from roadmap.services.history_words import QUOTE_LIMIT
from roadmap.timeutil import utcnow
from tests.browser.xss.corpus import (
    LEADING,
    MAP_TEXT_FIELDS,
    PAYLOAD_INDEX,
    SEPARATOR,
    STAKEHOLDER_TEXT_FIELDS,
    STEP_TEXT_FIELDS,
    WAIT_MS,
)
from tests.browser.xss.during_training import check_map_view
from tests.browser.xss.probes import (
    HISTORY_TEXTS_JS,
    MAP_PAGE_HEAD_JS,
    MAP_VIEW_TEXTS_JS,
    MY_MAPS_TEXTS_JS,
    PRINT_TEXTS_JS,
    PROJECTOR_TEXTS_JS,
    SINCE_TEXTS_JS,
    Visit,
    squeeze,
)
from tests.browser.xss.scene import Scene
from tests.browsing import wait_for_element

# --- after the training ----------------------------------------------------------------------------

PAST_DUE, LATER_DUE = "2024-03-02", "2031-06-02"  # a deadline long passed, and one still to come
SINCE_LISTS = ("done_since", "added", "removed", "renamed", "moved_deadlines", "changed_owners")


def another(value: str) -> str:
    """Other text of the same payloads, for a rename or a new item: turned by one (a leading
    payload stays first), or, for a single payload, that payload twice."""
    pieces = value.split(SEPARATOR)
    leading = [piece for piece in pieces if PAYLOAD_INDEX[piece] in LEADING]
    rest = [piece for piece in pieces if PAYLOAD_INDEX[piece] not in LEADING]
    if len(rest) > 1:
        return SEPARATOR.join(leading + rest[1:] + rest[:1])
    return SEPARATOR.join(pieces[::-1] if len(pieces) > 1 else pieces * 2)


@dataclass
class Afterwards:
    """The joined map after the training, as the pages after it should show it."""

    before_deletions: int  # the last revision before the participants deleted every step and stakeholder
    steps_before_deletions: list  # (title, owner) of each step at that revision
    revision: int  # the map's revision now
    # Each step now, in map order: its texts by field, "owner" as (field, value), "stakeholders" (names),
    # "due_on" and "done".
    steps: list
    # Each "since the training" list: (the step's title now, before, after); titles, due dates or owners.
    comparison: dict
    share_token: str

    def step_titles(self) -> list[str]:
        return [step["step title"] for step in self.steps]

    def owned_steps(self) -> list[tuple]:
        return [(step["step title"], step["owner"]) for step in self.steps]


def after_the_training(scene: Scene, marina: Person, oleg: Person, owners: dict) -> Afterwards:
    """Participant 1 brings back every step and stakeholder deleted and adds a step; the moderator ends
    the training, which freezes the map as its baseline; then participant 2 renames the first step,
    gives the steps owned by a person or a stakeholder their free text back and the first step owned
    by a free text participant 1, moves a deadline into the past, marks the last step done, adds a step
    and deletes the one added before the end: every list of "since the training" has an entry.
    Participant 2 makes the read-only link. All through the services, as in build_scene.

    owners: step id -> (field, value) of the owner each step has before."""
    roadmap_id = scene.roadmap_id
    revisions = []

    def edit(actor: Person, op_type: str, **keys) -> None:
        revisions.append(
            editing.apply(
                {"op_id": uuid.uuid4().hex, "roadmap_id": roadmap_id, "type": op_type, **keys}, actor=actor
            ).revision
        )

    deletions = db.session.scalars(
        select(Change.revision).where(Change.roadmap_id == roadmap_id, Change.op["type"].as_string() == "step.delete")
    ).all()
    stakeholder_names = [scene.stakeholder_text(item, "stakeholder name") for item in scene.stakeholder_ids]
    steps = {
        step_id: {
            **{name: scene.step_text(step_id, name) for name in STEP_TEXT_FIELDS},
            "owner": owners[step_id],
            "stakeholders": [stakeholder_names[number % len(stakeholder_names)]],
            "due_on": None,
            "done": False,
        }
        for number, step_id in enumerate(scene.step_ids)
    }
    steps_before_deletions = [(step["step title"], step["owner"]) for step in steps.values()]
    for stakeholder_id in scene.stakeholder_ids:  # first, so the steps come back linked to them
        edit(marina, "stakeholder.restore", stakeholder_id=stakeholder_id)
    for step_id in scene.step_ids:
        edit(marina, "step.restore", step_id=step_id)
    removed_title = another(scene.step_text(scene.step_ids[-1], "step title"))
    removed_id = uuid.uuid4().hex
    edit(marina, "step.add", step_id=removed_id, fields={"title": removed_title})
    baselines.end_training(scene.trainings[0])

    first, overdue, last = scene.step_ids[0], scene.step_ids[min(1, len(scene.step_ids) - 1)], scene.step_ids[-1]
    old_title = steps[first]["step title"]
    steps[first]["step title"] = another(old_title)
    edit(oleg, "step.set", step_id=first, field="title", value=steps[first]["step title"])
    changed_owners, participant_1_owns = [], False
    for step_id in scene.step_ids:
        before = steps[step_id]["owner"]
        if before[0] != "step owner free text":
            text = scene.step_text(step_id, "step owner free text")
            value, after = {"text": text}, ("step owner free text", text)
        elif not participant_1_owns:
            participant_1_owns = True
            value, after = {"member": marina.id}, ("participant display name", scene.participant_names[0])
        else:
            continue
        edit(oleg, "step.set", step_id=step_id, field="owner", value=value)
        steps[step_id]["owner"] = after
        changed_owners.append((step_id, before, after))
    edit(oleg, "step.set", step_id=overdue, field="due_on", value=PAST_DUE)
    steps[overdue]["due_on"] = PAST_DUE
    edit(oleg, "step.set", step_id=last, field="status", value="done")
    steps[last]["done"] = True
    added = {
        **{name: "" for name in STEP_TEXT_FIELDS},
        "stakeholders": [],
        "due_on": LATER_DUE,
        "done": False,
        "step title": another(scene.step_text(overdue, "step title")),
        "owner": ("step owner free text", another(scene.step_text(first, "step owner free text"))),
    }
    edit(
        oleg,
        "step.add",
        step_id=uuid.uuid4().hex,
        fields={"title": added["step title"], "owner": {"text": added["owner"][1]}, "due_on": LATER_DUE},
    )
    edit(oleg, "step.delete", step_id=removed_id)
    share_token = share_links.link_token(share_links.share(scene.group.roadmap, oleg, "view"))

    def title(step_id: str) -> str:
        return steps[step_id]["step title"]

    comparison = {
        "done_since": [(title(last), None, None)],
        "added": [(added["step title"], None, None)],
        "removed": [(removed_title, None, None)],
        "renamed": [(title(first), old_title, title(first))],
        "moved_deadlines": [(title(overdue), None, PAST_DUE)],
        "changed_owners": [(title(step_id), before, after) for step_id, before, after in changed_owners],
    }
    return Afterwards(
        min(deletions) - 1, steps_before_deletions, revisions[-1], [*steps.values(), added], comparison, share_token
    )


def check_my_maps(visit: Visit, page, scene: Scene, where: str) -> None:
    """The participant's road maps, one in every training: each map's title, its group, training and city."""
    entries = page.evaluate(MY_MAPS_TEXTS_JS)
    maps = [f"/maps/{groups[0].roadmap.id}" for groups in scene.groups]
    assert sorted(href for href, _, _ in entries) == sorted(maps), f"{where}: {entries}"
    for href, link, muted in entries:
        number = maps.index(href)
        title, group_name = scene.value("map title", number), scene.group_names[number][0]
        training_title, city = scene.training_texts(number)
        visit.shows(where, "map title (link to the map)", link, title, [("map title", title)])
        visit.shows(
            where,
            "group name · training title, city",
            squeeze(muted).rsplit(" · ", 1)[0],
            f"{group_name} · {training_title}, {city}",
            [("group name", group_name), ("training title", training_title), ("training city", city)],
        )
    assert page.locator(".my-map-title").first.is_visible()
    visit.inert(page, where)


def check_map_page_head(visit: Visit, page, scene: Scene, where: str) -> None:
    """The head of the joined map's pages after the training: group · training, the map's title."""
    texts = page.evaluate(MAP_PAGE_HEAD_JS)
    group_name, training_title = scene.group_names[0][0], scene.value("training title")
    map_title = scene.value("map title")
    visit.shows(
        where,
        "group name · training title",
        squeeze(texts["eyebrow"]),
        f"{group_name} · {training_title}",
        [("group name", group_name), ("training title", training_title)],
    )
    visit.shows(where, "map title", texts["heading"], map_title, [("map title", map_title)])
    visit.shows(
        where,
        "map title in the page title",
        texts["title"].split(" · ", 1)[-1],
        f"{map_title} · Дорожная карта",
        [("map title", map_title)],
    )


def told_in_history(change: Change, people: dict, stakeholder_names: dict) -> list[tuple[str, str, bool]]:
    """(field, stored value, shown whole) of every text the change's sentence names: its author, the
    step (a comment's too: its words are not told) or stakeholder it is about, a map text set, a step's
    new title, a step's owners before and after.
    People's names are shown whole; titles and texts are shortened (history_words.QUOTE_LIMIT)."""
    op, before = change.op, change.before or {}
    target = op["type"].split(".")[0]
    fields = op.get("fields") or {}

    def owner(value: dict) -> tuple[str, str, bool]:
        if "member" in value:
            return (*people[value["member"]], True)
        if "stakeholder" in value:
            return "stakeholder name", stakeholder_names[value["stakeholder"]], False
        return "step owner free text", value["text"], False

    told = [(*people[change.author_id], True)]
    if target in ("step", "comment"):
        told.append(("step title", before.get("step_title", fields.get("title")), False))
    if target == "stakeholder" or "stakeholder_name" in before:
        told.append(("stakeholder name", before.get("stakeholder_name", fields.get("name")), False))
    map_fields = {key: name for name, (key, _) in MAP_TEXT_FIELDS.items()}
    if op["type"] == "map.set" and op["field"] in map_fields:
        told.append((map_fields[op["field"]], op["value"], False))
    if op["type"] == "step.set" and op["field"] == "title":
        told.append(("step title", op["value"], False))
    if op["type"] == "step.set" and op["field"] == "owner":
        told += [owner(value) for value in (before["value"], op["value"]) if value]
    return [item for item in told if item[1]]


def payloads_within(value: str, end: int) -> str:
    """The payloads of a stored value that lie whole within its first `end` characters, as a value."""
    kept, length = [], -len(SEPARATOR)
    for piece in value.split(SEPARATOR):
        length += len(SEPARATOR) + len(piece)
        if length > end:
            break
        kept.append(piece)
    return SEPARATOR.join(kept)


def check_history(visit: Visit, page, scene: Scene, where: str, later: Afterwards, people: dict) -> None:
    """The map's history in words: the filter lists everyone in the group or who edited it, and the
    steps' titles; every change of the map is a sentence, newest first, holding the names and titles
    it tells of verbatim, or, where it shortens a text, its beginning up to the "…".

    people: person id -> (field, display name) of everyone in the group or who edited the map."""
    check_map_page_head(visit, page, scene, where)
    texts = page.evaluate(HISTORY_TEXTS_JS)
    names = sorted(name for _, name in people.values())
    visit.shows(where, "names in the person filter", sorted(texts["people"][1:]), names, people.values())
    titles = later.step_titles()
    visit.shows(
        where, "step titles in the step filter", texts["steps"][1:], titles, [("step title", title) for title in titles]
    )
    changes = db.session.scalars(
        select(Change).where(Change.roadmap_id == scene.roadmap_id).order_by(Change.revision.desc())
    ).all()
    assert [revision for revision, _ in texts["entries"]] == [change.revision for change in changes], (
        f"{where}: entries for revisions {[revision for revision, _ in texts['entries']]}"
    )
    stakeholder_names = {item: scene.stakeholder_text(item, "stakeholder name") for item in scene.stakeholder_ids}
    for change, (_, sentence) in zip(changes, texts["entries"]):
        what = f"{change.op['type']} sentence"
        for name, value, whole in told_in_history(change, people, stakeholder_names):
            if whole or len(value) <= QUOTE_LIMIT:
                visit.contains(where, f"{name} in a {what}", sentence, value, [(name, value)])
                continue
            end = next(
                (end for end in range(QUOTE_LIMIT - 1, QUOTE_LIMIT // 3, -1) if f"{value[:end]}…" in sentence), None
            )
            assert end is not None, f"{where}: the beginning of {name} {value!r} is not in {sentence!r}"
            part = payloads_within(value, end)
            visit.contains(
                where, f"{name}, shortened, in a {what}", sentence, f"{value[:end]}…", [(name, part)] if part else []
            )
    assert page.locator(".history-sentence").first.is_visible()
    visit.inert(page, where)


def check_map_at_revision(
    visit: Visit, page, scene: Scene, where: str, revision: int, steps: list, shot: str = "window"
) -> None:
    """The map as it was at a revision: its title in the page title, the slider at that revision, the map."""
    wait_for_element(page, ".map-page .projected-map", timeout=WAIT_MS)
    assert page.input_value("#revision") == str(revision), f"{where}: the slider is at {page.input_value('#revision')}"
    map_title = scene.value("map title")
    visit.shows(
        where,
        "map title in the page title",
        page.title().split(" · ", 1)[-1],
        f"{map_title} · Дорожная карта",
        [("map title", map_title)],
    )
    names = [scene.stakeholder_text(item, "stakeholder name") for item in scene.stakeholder_ids]
    check_map_view(visit, where, scene, page.evaluate(MAP_VIEW_TEXTS_JS, ".map-page .projected-map"), steps, names)
    assert page.locator(".projected-step-title").first.is_visible()
    visit.inert(page, where, shot)


def check_since_training(visit: Visit, app, page, scene: Scene, where: str, later: Afterwards) -> None:
    """What changed since the training: each list's steps by title, with the titles, deadlines and
    owners before and after; the overdue steps and what is next, with their owners."""
    check_map_page_head(visit, page, scene, where)
    texts = page.evaluate(SINCE_TEXTS_JS, list(SINCE_LISTS))
    with app.test_request_context(), force_locale(texts["lang"]):

        def day(iso: str | None) -> str:
            return format_date(date.fromisoformat(iso), "d MMMM y") if iso else gettext("no date")

        days = {iso: day(iso) for iso in (None, PAST_DUE, LATER_DUE)}
        due = {iso: gettext("due %(day)s", day=days[iso]) for iso in (PAST_DUE, LATER_DUE)}
    tails = {
        "renamed": lambda before, after: f": «{before}» → «{after}»",
        "moved_deadlines": lambda before, after: f": {days[before]} → {days[after]}",
        "changed_owners": lambda before, after: f": {before[1]} → {after[1]}",
    }
    for key in SINCE_LISTS:
        expected = later.comparison[key]
        titles = [("step title", title) for title, _, _ in expected]
        befores_and_afters = {
            "renamed": [("step title", text) for _, before, after in expected for text in (before, after)],
            "changed_owners": [owner for _, before, after in expected for owner in (before, after)],
        }.get(key, [])
        shown = texts["lists"][key]
        visit.shows(
            where, f"step titles in {key}", [title for title, _ in shown], [title for _, title in titles], titles
        )
        visit.shows(
            where,
            f"entries of {key}",
            [squeeze(entry) for _, entry in shown],
            [title + (tails[key](before, after) if key in tails else "") for title, before, after in expected],
            titles + befores_and_afters,
        )

    today = utcnow().date().isoformat()  # the server's clock is this one
    unfinished = [step for step in later.steps if not step["done"]]
    overdue = [step for step in unfinished if step["due_on"] and step["due_on"] < today]
    visit.shows(
        where,
        "overdue steps",
        [squeeze(entry) for _, entry in texts["overdue"]],
        [f"{step['step title']} — {due[step['due_on']]}" for step in overdue],
        [("step title", step["step title"]) for step in overdue],
    )
    not_overdue = [step for step in unfinished if step not in overdue]  # an overdue step is listed once
    upcoming = sorted(not_overdue, key=lambda step: (step["due_on"] is None, step["due_on"] or ""))[:NEXT_STEPS_LIMIT]
    visit.shows(
        where,
        "what is next: steps, deadlines, owners",
        [squeeze(entry) for _, entry in texts["next"]],
        [
            step["step title"] + (f" — {days[step['due_on']]}" if step["due_on"] else "") + f" · {step['owner'][1]}"
            for step in upcoming
        ],
        [("step title", step["step title"]) for step in upcoming] + [step["owner"] for step in upcoming],
    )
    assert page.locator(".since-list strong").first.is_visible()
    visit.inert(page, where)


def check_share_page(visit: Visit, page, scene: Scene, where: str, shared_url: str) -> None:
    check_map_page_head(visit, page, scene, where)
    visit.shows(where, "read-only link", page.input_value("#share-view .share-url"), shared_url)
    visit.inert(page, where, "window")


def check_print_page(visit: Visit, app, page, scene: Scene, where: str, later: Afterwards) -> list:
    """The printable page: the map's title, training, city, dates and group, its header fields, each
    step's texts, stakeholders and owner, each stakeholder's name and contact.

    Returns the (field, value) pairs of the texts the PDF must hold whole (see check_pdf)."""
    texts = page.evaluate(PRINT_TEXTS_JS)
    training, group_name, map_title = scene.trainings[0], scene.group_names[0][0], scene.value("map title")
    training_title, city = scene.training_texts(0)
    with app.test_request_context(), force_locale(texts["lang"]):
        dates = f"{format_date(training.starts_on, 'd MMMM')} – {format_date(training.ends_on, 'd MMMM y')}"
        working_group, theme = gettext("Working group"), gettext(THEMES[scene.group.theme])
    in_pdf = [
        ("map title", map_title),
        ("training title", training_title),
        ("training city", city),
        ("group name", group_name),
    ]
    visit.shows(where, "map title in the page title", texts["title"], map_title, [("map title", map_title)])
    visit.shows(where, "map title", texts["heading"], map_title, [("map title", map_title)])
    visit.shows(where, "group name as the document's author", texts["author"], group_name, [("group name", group_name)])
    visit.shows(
        where,
        "training title, city, dates; working group",
        [squeeze(text) for text in texts["origin"]],
        [f"{training_title}, {city}, {dates}", f"{working_group}: {group_name}"],
        in_pdf[1:],
    )
    header = [
        (name, scene.value(name)) for name in ("map problem", "map goal", "map territory", "map expected results")
    ]
    visit.shows(
        where,
        "problem, goal, territory, theme, expected results",
        texts["fields"],
        [value for _, value in header[:3]] + [theme, header[3][1]],
        header,
    )
    in_pdf += header
    assert len(texts["steps"]) == len(later.steps), f"{where}: {len(texts['steps'])} steps"
    for step, shown in zip(later.steps, texts["steps"]):
        title, description, (name, owner) = step["step title"], step["step description"], step["owner"]
        visit.shows(where, "step title", shown["title"], title, [("step title", title)])
        visit.shows(
            where,
            "step description",
            shown["description"],
            description or None,
            [("step description", description)] if description else [],
        )
        details = [(field, step[field]) for field in ("step resources", "step success measure") if step[field]]
        linked = sorted(step["stakeholders"], key=str.casefold)
        visit.shows(
            where,
            "resources, success measure, stakeholders of the step",
            shown["details"],
            [f" {value}" for _, value in details] + ([f" {'; '.join(linked)}"] if linked else []),
            details + [("stakeholder name", item) for item in linked],
        )
        visit.shows(where, f"step owner ({name})", shown["owner"], owner, [(name, owner)])
        in_pdf += [("step title", title), (name, owner)]
    stakeholders = [
        tuple(scene.stakeholder_text(item, name) for name in STAKEHOLDER_TEXT_FIELDS) for item in scene.stakeholder_ids
    ]
    visit.shows(
        where,
        "stakeholder names and contacts",
        [tuple(row) for row in texts["stakeholders"]],
        stakeholders,
        [pair for row in stakeholders for pair in zip(STAKEHOLDER_TEXT_FIELDS, row)],
    )
    in_pdf += [pair for row in stakeholders for pair in zip(STAKEHOLDER_TEXT_FIELDS, row)]
    for selector in (".document-header h1", ".step-title", ".description", "td.owner", "td.name"):
        assert page.locator(selector).first.is_visible(), f"{where}: {selector} is not visible"
    visit.inert(page, where, "window")
    return in_pdf


PAGE_NUMBER = re.compile(r"\d+ / \d+")  # the PDF's page footer
MISSING_GLYPH = "\ufffd"


def pdf_text(content: bytes) -> str:
    """The PDF's text as drawn, without whitespace and page numbers. A character no font on the machine
    has is drawn as the missing glyph, whose text in the PDF says nothing (every one reads as the same
    character): it is MISSING_GLYPH here."""
    document = pymupdf.open(stream=content, filetype="pdf")
    spans = [
        "".join(MISSING_GLYPH if glyph == 0 else chr(code) for code, glyph, *_ in span["chars"])
        for pdf_page in document
        for span in pdf_page.get_texttrace()
    ]
    return "".join("".join(span for span in spans if not PAGE_NUMBER.fullmatch(span.strip())).split())


def check_pdf(visit: Visit, page, url: str, where: str, values: list) -> set[str]:
    """The PDF of the printable page holds these texts verbatim, but for line breaks and the characters
    no font on the machine has, drawn as the missing glyph.

    WeasyPrint runs no script, so this is about fidelity: a text escaped twice, or cut, would show.
    Only texts the PDF draws in one run are compared: the header, the header fields (a page number
    between two pages is left out), each step's title and owner at the top of its row, and the
    stakeholders (short rows, kept whole). A step row longer than a page is split, and the other
    cells and the repeated table head are drawn between the two parts of its description, resources
    and success measure, so those texts are not in the PDF's text in one piece.
    Returns the characters drawn as the missing glyph."""
    response = page.request.get(url)
    assert response.ok and response.headers["content-type"] == "application/pdf", f"{where}: {response.status}"
    text = pdf_text(response.body())
    missing = set()
    for name, value in values:
        expected = "".join(value.split())
        drawn = re.compile(
            "".join(
                re.escape(char) if char.isascii() else f"(?:{re.escape(char)}|{MISSING_GLYPH})" for char in expected
            )
        )
        visit.contains(where, name, text, drawn, [(name, value)])
        missing |= {char for char, shown in zip(expected, drawn.search(text).group()) if shown != char}
    return missing


def check_shared_map(visit: Visit, page, scene: Scene, where: str, steps: list, shot: str = "window") -> None:
    """The read-only link: the training and city in its bar, the map's title in the page title, the map."""
    texts = page.evaluate(PROJECTOR_TEXTS_JS)
    title, city = scene.training_texts(0)
    map_title = scene.value("map title")
    visit.shows(
        where,
        "training title · city in the bar",
        texts["training"],
        f"{title} · {city}",
        [("training title", title), ("training city", city)],
    )
    visit.shows(
        where,
        "map title in the page title",
        texts["title"],
        f"{map_title} · Дорожная карта",
        [("map title", map_title)],
    )
    check_map_view(
        visit,
        where,
        scene,
        texts,
        steps,
        [scene.stakeholder_text(item, "stakeholder name") for item in scene.stakeholder_ids],
    )
    assert page.locator(".projected-step-title").first.is_visible()
    visit.inert(page, where, shot)
