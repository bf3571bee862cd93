"""Script payloads in every text people type, shown in a real browser on every page that renders them.

Each payload would, if it ever ran, set `window.__xss` or open a dialog (alert,
confirm, prompt). The CSP blocks inline script, so a payload that reached the
DOM through an HTML sink would still be stopped by it; to catch such a sink the
second participant and the moderator browse with the CSP switched off
(Playwright's bypass_csp), where an injected handler would run; the moderator's
dashboard and projector are opened with it on as well. On top of that every page
is searched for elements a payload could have created.

Every page must show each text verbatim, as text, where it belongs.

The moderator's facilitation is in every scene: each training has a timer running
and a vote whose results show as they come, the first has announcements (to every
group, then to the joined group, in turn), dots on the joined map's first steps
and that map on the projector. The editors show the banners, the timer label and
the vote question; the dashboards (cards drawn by dashboard.js) show the card
ranking, the log, the timer and the vote; the projector is checked as the page
comes and again after participant 1 gives steps a member and a stakeholder as
owners, when projector.js sets the new fragment with innerHTML.

The joined map's steps have comments (comments.js draws a card's thread once the
card is open): one on the first step, a reply to it (nested under it), and, on
the last step, one the moderator writes through a socket once participant 1 is in
the group, mentioning them. The editors open the cards and check each comment's
author and text; participant 1's top bar shows the mention («<author> mentioned
you at “<step title>”») as it arrives (mentions.js), and again drawn by the
server when the page is loaded again.

So are the pages after the training (after_the_training). Participant 1 lists
their road maps, one in every training. The joined map gets back what was
deleted, the training ends (its baseline is frozen), and participant 2 renames a
step, changes owners (a person and a stakeholder to free texts, a free text to a
person), moves a deadline into the past, marks a step done, adds a step and
deletes one. Participant 2 then reads the history in words (the filter's names
and titles; each sentence holds the names it tells of whole and the titles and
texts it shortens up to their "…"), the map at the revision before the deletions
and, through the slider, now, what changed since the training, the share page,
the printable page and its PDF (texts compared verbatim there too, but for line
breaks and characters no font on the machine has). A visitor, CSP off, follows
the read-only link, checked as it comes and again after an edit, when shared.js
sets the new fragment with innerHTML.

Packing. A scene (by default five trainings, two filled maps, five browsers,
twenty-nine pages) takes 15-20 s on a busy two-core machine, a fifth more than
before the facilitation pages, some 6 s more with the pages after the training,
and a few more with the comments and the mention; one per payload took six
minutes. So each stored
text holds several payloads joined by SEPARATOR, as many as its field's maximum
length allows (the limits are read from the app: operations.py, facilitation.py
and the model columns), and a scene has as many instances of the short fields as it needs:
trainings (title, city, timer label, vote question), announcements, groups, the
maps on the participant's start page, steps, stakeholders, participants (two in
browsers; the others are in the map through a socket, editing a field, and their
names are typed into other trainings' join forms on the way in), moderator
names (the moderator is renamed while in the map), and comments (three at
least). A training's venue is no longer shown on any page, so it is not a field
of the plan; it still holds payloads. `plan_scenes` deals the payloads out so
that the scenes together hold every payload in every field at least once, then
tops every value up to its field's length, so each scene shuffles a different selection of payloads together. A
bare `javascript:` URL acts only at the start of a value: a value holding it
starts with it. test_the_scenes_hold_every_payload_in_every_field checks the plan;
each scene checks that every value it stored was shown, verbatim, on a page.
Which payloads each page showed in each field is in the reports below.

Environment:
  ROADMAP_XSS_SCENES=n      pack into n scenes (default 3; 2 is about as fast,
                            4 about a third slower: fewer scenes need more
                            instances of the short fields each).
  ROADMAP_XSS_EXHAUSTIVE=1  one scene per payload, every text holding that payload
                            alone, in a scene with one instance of everything:
                            the original run (about seven minutes).

Figures (payloads, fields, pages, checks, dialogs, markers, the characters the
PDF draws as the missing glyph) go to
test-artifacts/<test>/report.json for each test and, summed over the scenes,
to test-artifacts/test_xss-summary.json.
"""

from __future__ import annotations

import json
import os
import random
import re
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote

import pymupdf
import pytest
from conftest import ARTIFACTS
from flask_babel import force_locale, format_date, gettext
from sqlalchemy import select

from roadmap.domain.operations import COMMENT_BODY, MAP_FIELDS, MAX_OWNER_TEXT, STAKEHOLDER_FIELDS, STEP_FIELDS
from roadmap.domain.progress import NEXT_STEPS_LIMIT
from roadmap.domain.vocabulary import THEMES
from roadmap.extensions import db
from roadmap.models import Change, Group, Person, Timer, Training, Vote
from roadmap.services import accounts, baselines, editing, facilitation, share_links, trainings, voting
from roadmap.services.history_words import QUOTE_LIMIT
from roadmap.services.transactions import writing
from roadmap.timeutil import utcnow
from tests.livesync import SyncClient

pytestmark = [pytest.mark.browser, pytest.mark.live]

WAIT_MS = 15_000
PASSWORD = "correct horse battery"
SEPARATOR = " ¦ "
EXHAUSTIVE = os.environ.get("ROADMAP_XSS_EXHAUSTIVE", "") not in ("", "0")
SCENE_COUNT = int(os.environ.get("ROADMAP_XSS_SCENES", "3"))

# Each payload marks its own run: window.__xss = n, or a dialog whose message is n.
# HTML payloads carry data-xss, so an element they create is found even when nothing runs.
PAYLOADS = [
    pytest.param("<script>window.__xss=1</script>", id="script-tag"),
    pytest.param("<ScRiPt>window.__xss=2</sCrIpT>", id="script-tag-mixed-case"),
    pytest.param('<img src=x onerror="window.__xss=3" data-xss>', id="img-onerror"),
    pytest.param("<svg onload=alert(4) data-xss>", id="svg-onload"),
    pytest.param("<svg><animate onbegin=alert(5) attributeName=x dur=1s data-xss></svg>", id="svg-animate-onbegin"),
    pytest.param("javascript:window.__xss=6//", id="javascript-url"),
    pytest.param('<a href="javascript:alert(7)" data-xss>open</a>', id="javascript-link"),
    pytest.param(
        '"><script>window.__xss=8</script><img src=x onerror=alert(8) data-xss>', id="attribute-breaker-double-quote"
    ),
    pytest.param("'><img src=x onerror=confirm(9) data-xss>", id="attribute-breaker-single-quote"),
    pytest.param("</script><script>window.__xss=10</script>", id="json-data-block-escape"),
    pytest.param("</textarea><img src=x onerror=prompt(11) data-xss>", id="textarea-escape"),
    pytest.param("--><svg onload=alert(12) data-xss><!--", id="html-comment-escape"),
    pytest.param("{{7*7}}${7*7}<%= 7*7 %>{{constructor.constructor('alert(13)')()}}", id="template-expressions"),
    pytest.param('<iframe srcdoc="<script>parent.__xss=14</script>" data-xss></iframe>', id="iframe-srcdoc"),
    pytest.param('<iframe src="javascript:parent.__xss=15" data-xss></iframe>', id="iframe-javascript-src"),
    pytest.param('<div style="width:expression(alert(16))" data-xss>x</div>', id="style-expression"),
    pytest.param("<p style=\"background:url('javascript:alert(17)')\" data-xss>x</p>", id="style-javascript-url"),
    pytest.param('<style>@import "javascript:alert(18)";</style>', id="style-import"),
    pytest.param(r"\u003cimg src=x onerror=alert(19) data-xss\u003e", id="unicode-escaped"),
    pytest.param("&lt;img src=x onerror=alert(20)&gt;&#60;script&#62;alert(20)&#60;/script&#62;", id="html-entities"),
    pytest.param("%3Cscript%3Ewindow.__xss=21%3C%2Fscript%3E", id="percent-encoded"),
    pytest.param("\uff1cscript\uff1ewindow.__xss=22\uff1c/script\uff1e", id="fullwidth-brackets"),
    pytest.param("';window.__xss=23;//\";window.__xss=23;//`;alert(23)//", id="js-string-breakers"),
    pytest.param("<details open ontoggle=alert(24) data-xss>", id="details-ontoggle"),
    pytest.param("<input autofocus onfocus=alert(25) data-xss>", id="autofocus-onfocus"),
    pytest.param('<noscript><p title="</noscript><img src=x onerror=alert(26)>">', id="noscript-mutation"),
    pytest.param('<object data="javascript:alert(27)" data-xss></object>', id="object-data"),
    pytest.param('<base href="javascript:alert(28)//">', id="base-href"),
    pytest.param('<a href="data:text/html,<script>alert(29)</script>" data-xss>x</a>', id="data-url-link"),
]
PAYLOAD_TEXTS = [param.values[0] for param in PAYLOADS]
PAYLOAD_IDS = [param.id for param in PAYLOADS]
PAYLOAD_INDEX = {text: index for index, text in enumerate(PAYLOAD_TEXTS)}
# Payloads that only act at the very start of a value (an href or src built from it).
LEADING = {PAYLOAD_IDS.index("javascript-url")}


def _column_length(model, name: str) -> int:
    return model.__table__.c[name].type.length


# Every text a person types that is stored and shown, with its maximum length.
FIELDS = {
    "moderator display name": _column_length(Person, "display_name"),
    "participant display name": _column_length(Person, "display_name"),
    "training title": _column_length(Training, "title"),
    "training city": _column_length(Training, "city"),
    "group name": _column_length(Group, "name"),
    "map title": MAP_FIELDS["title"].max_length,
    "map problem": MAP_FIELDS["problem"].max_length,
    "map goal": MAP_FIELDS["goal"].max_length,
    "map territory": MAP_FIELDS["territory"].max_length,
    "map expected results": MAP_FIELDS["expected_results"].max_length,
    "step title": STEP_FIELDS["title"].max_length,
    "step description": STEP_FIELDS["description"].max_length,
    "step resources": STEP_FIELDS["resources"].max_length,
    "step success measure": STEP_FIELDS["success_measure"].max_length,
    "step owner free text": MAX_OWNER_TEXT,
    "stakeholder name": STAKEHOLDER_FIELDS["name"].max_length,
    "stakeholder contact": STAKEHOLDER_FIELDS["contact"].max_length,
    "announcement text": facilitation.MAX_ANNOUNCEMENT_LENGTH,
    "timer label": _column_length(Timer, "label"),
    "vote question": _column_length(Vote, "question"),
    "comment body": COMMENT_BODY.max_length,  # the column is Text: the op's limit is the field's
}
# Facilitation texts live in a training: each training has a timer and a vote; the announcements are the first's.
PER_TRAINING = ("training title", "training city", "timer label", "vote question")
MAP_TEXT_FIELDS = {  # field -> the key in map.set and the id of its control
    "map title": ("title", "map-title"),
    "map problem": ("problem", "map-problem"),
    "map goal": ("goal", "map-goal"),
    "map territory": ("territory", "map-territory"),
    "map expected results": ("expected_results", "map-expected-results"),
}
STEP_TEXT_FIELDS = {
    "step title": "title",
    "step description": "description",
    "step resources": "resources",
    "step success measure": "success_measure",
}
STAKEHOLDER_TEXT_FIELDS = {"stakeholder name": "name", "stakeholder contact": "contact"}


# --- the plan: which payloads each field instance of each scene holds ---------------------------


def packed_length(indices) -> int:
    return sum(len(PAYLOAD_TEXTS[index]) for index in indices) + len(SEPARATOR) * (len(indices) - 1)


def payloads_in(value: str) -> list[int]:
    """The payloads a stored value was packed from."""
    return [PAYLOAD_INDEX[piece] for piece in value.split(SEPARATOR)]


def first_fit_decreasing(indices, capacity: int) -> list[list[int]]:
    """As few values as possible that hold every payload once, each within `capacity`."""
    values: list[list[int]] = []
    for index in sorted(indices, key=lambda i: (-len(PAYLOAD_TEXTS[i]), i)):
        for held in values:
            if packed_length([*held, index]) <= capacity:
                held.append(index)
                break
        else:
            values.append([index])
    return values


# The venue is stored, but no page shows it since the dashboard replaced the training page that did.
# It holds payloads all the same, so a page that starts showing it is searched for what they made.
VENUES = [
    SEPARATOR.join(PAYLOAD_TEXTS[index] for index in held)
    for held in first_fit_decreasing(range(len(PAYLOADS)), _column_length(Training, "venue"))
]


@dataclass(frozen=True)
class Shape:
    """How many of each thing a scene has; the same for every scene of a run."""

    moderator_names: int  # the moderator's name, then each rename
    participants: int  # two join in browsers; the others are present through a socket
    trainings: int  # all the moderator's; participants join the first
    maps: int  # maps with every text filled: the joined one, then the first group's of the next trainings
    groups_in_first: int  # in the first training; every other training has two
    steps: int
    stakeholders: int
    announcements: int  # in the first training: to every group, then to the joined group, in turn
    comments: int  # on the joined map's steps: a comment, a reply to it, any others, the one mentioning participant 1

    @classmethod
    def for_need(cls, need: dict[str, int]) -> Shape:
        """The smallest scene with at least need[f] instances of every field f."""
        maps = max(need[name] for name in MAP_TEXT_FIELDS if name != "map title")
        trainings_ = max(*(need[name] for name in PER_TRAINING), need["map title"], maps)
        return cls(
            moderator_names=need["moderator display name"],
            participants=max(2, need["participant display name"]),
            trainings=trainings_,
            maps=maps,
            groups_in_first=max(2, need["group name"] - 2 * (trainings_ - 1)),
            steps=max(need[name] for name in (*STEP_TEXT_FIELDS, "step owner free text")),
            stakeholders=max(need[name] for name in STAKEHOLDER_TEXT_FIELDS),
            announcements=need["announcement text"],
            comments=max(3, need["comment body"]),
        )

    def instances(self, name: str) -> int:
        if name == "moderator display name":
            return self.moderator_names
        if name == "participant display name":
            return self.participants
        if name in PER_TRAINING:
            return self.trainings
        if name == "announcement text":
            return self.announcements
        if name == "comment body":
            return self.comments
        if name == "group name":
            return self.groups_in_first + 2 * (self.trainings - 1)
        if name == "map title":
            return self.trainings  # the map of each training's first group, on the participant's start page
        if name in MAP_TEXT_FIELDS:
            return self.maps
        if name.startswith("step "):
            return self.steps
        return self.stakeholders


@dataclass(frozen=True)
class ScenePlan:
    id: str
    shape: Shape
    values: dict[str, list[str]]  # field -> the value of each instance

    def payloads(self) -> set[int]:
        return {index for values in self.values.values() for value in values for index in payloads_in(value)}


def _arrange(held: list[int], seed: str) -> str:
    order = sorted(held)
    random.Random(seed).shuffle(order)
    order.sort(key=lambda index: index not in LEADING)  # stable: only moves the leading ones first
    return SEPARATOR.join(PAYLOAD_TEXTS[index] for index in order)


def plan_scenes(exhaustive: bool = EXHAUSTIVE, scene_count: int = SCENE_COUNT) -> list[ScenePlan]:
    """Deal the payloads out so that the scenes together hold every payload in every field.

    For each field the payloads are first packed into as few values as its length
    allows, and those values dealt round the scenes; then every value, and every
    further instance a scene has, is topped up with more payloads while they fit,
    starting at a different payload each time, and shuffled.
    Exhaustive: one scene per payload, every value that payload alone.
    """
    everything = list(range(len(PAYLOADS)))
    pools = [[index] for index in everything] if exhaustive else [everything] * scene_count
    ids = PAYLOAD_IDS if exhaustive else [f"scene-{number + 1}-of-{scene_count}" for number in range(scene_count)]
    required = {}
    for name, capacity in FIELDS.items():
        packed = [[index] for index in everything] if exhaustive else first_fit_decreasing(everything, capacity)
        required[name] = [packed[number :: len(pools)] for number in range(len(pools))]
    shape = Shape.for_need({name: max(len(dealt) for dealt in required[name]) for name in FIELDS})
    plans = []
    for number, pool in enumerate(pools):
        values = {}
        for name, capacity in FIELDS.items():
            slots = [list(held) for held in required[name][number]]
            slots += [[] for _ in range(shape.instances(name) - len(slots))]
            values[name] = []
            for instance, held in enumerate(slots):
                seed = f"{number}/{name}/{instance}"
                start = random.Random(seed).randrange(len(pool))
                for index in pool[start:] + pool[:start]:
                    if index not in held and packed_length([*held, index]) <= capacity:
                        held.append(index)
                values[name].append(_arrange(held, seed))
        plans.append(ScenePlan(ids[number], shape, values))
    return plans


PLANS = plan_scenes()


def test_the_scenes_hold_every_payload_in_every_field():
    """The plan alone, no browser: every (payload, field) pair is stored in some scene, every value fits."""
    # Whole, unchanged by layout, and free of what the checks split shown texts at.
    assert all(text == squeeze(text) and not set(text) & set("¦·«»") for text in PAYLOAD_TEXTS)
    assert max(map(len, PAYLOAD_TEXTS)) <= min(FIELDS.values()), "every payload must fit every field whole"
    assert {"announcement text", "timer label", "vote question", "comment body"} <= set(FIELDS)
    assert FIELDS["comment body"] == COMMENT_BODY.max_length == 2000
    held = defaultdict(set)
    for plan in PLANS:
        assert set(plan.values) == set(FIELDS)
        # The editor shows the latest announcements only; every one of them must be among those.
        assert plan.shape.announcements <= facilitation.ANNOUNCEMENTS_SHOWN
        # A comment, a reply to it (a nested thread), and the comment that mentions participant 1.
        assert plan.shape.comments >= 3
        for name, values in plan.values.items():
            assert len(values) == plan.shape.instances(name)
            for value in values:
                assert len(value) <= FIELDS[name], f"{plan.id}: {name} holds {len(value)} characters"
                # Stored as sent: announcements and names have their whitespace squeezed, labels stripped.
                assert value == squeeze(value), f"{plan.id}: {name} would not be stored as planned"
                indices = payloads_in(value)
                assert len(indices) == len(set(indices))
                assert not set(indices) & LEADING or indices[0] in LEADING
                held[name].update(indices)
    missing = {name: sorted(set(range(len(PAYLOADS))) - held[name]) for name in FIELDS}
    assert not any(missing.values()), f"payloads stored in no scene: {missing}"


# --- what the browser is searched for ------------------------------------------------------------

# Anything a payload could have turned into: elements that run or load code,
# inline event handlers, javascript: links, and whatever carries data-xss.
INJECTED_ELEMENTS_JS = """() => {
  // The pages' own JSON blocks and folding sections are left out by their ids and classes, which
  // no payload carries; a handler or data-xss on them is still found.
  const risky = 'script:not([src]):not(#editor-data):not(#dashboard-data):not(#projector-data):not(#shared-data)'
    + ':not(#my-steps-data),'
    + ' iframe, frame,'
    + ' object, embed, base, meta[http-equiv], style, svg:not(.progress-bar):not(.tl-arrows):not(.tp-track), math, video, audio, source, noscript,'
    + ' [data-xss], details:not(#readiness):not(.announcement-log):not(.manage-group):not(.engagement-levels)'
    + ':not(.sitting):not(.account-menu):not(#grid-section):not(#timeline-section):not(#mentions),'
    + ' a[href^="javascript:" i], a[href^="data:" i], [style*="expression" i], [style*="url(" i]';
  const found = [];
  for (const element of document.querySelectorAll('*')) {
    const handler = [...element.attributes].some((attribute) => /^on/i.test(attribute.name));
    if (handler || element.matches(risky)) found.push(element.outerHTML.slice(0, 160));
  }
  return found;
}"""

# Runs before any page script in every frame: records a marker even if the page navigates away.
WATCH_SCRIPT = """(() => {
  let marker;
  Object.defineProperty(window, '__xss', {
    configurable: false,
    get() { return marker; },
    set(value) { marker = value; console.error('XSS-MARKER ' + String(value)); },
  });
  document.addEventListener('securitypolicyviolation', (event) => {
    console.warn('CSP-VIOLATION ' + event.violatedDirective + ' ' + event.blockedURI);
  });
})();"""

EDITOR_TEXTS_JS = """() => {
  const value = (root, selector) => root?.querySelector(selector)?.value ?? null;
  const options = (group) => (group ? [...group.querySelectorAll('option')].map((option) => option.text) : []);
  return {
    map: {
      'map title': value(document, '#map-title'),
      'map problem': value(document, '#map-problem'),
      'map goal': value(document, '#map-goal'),
      'map territory': value(document, '#map-territory'),
      'map expected results': value(document, '#map-expected-results'),
    },
    steps: [...document.querySelectorAll('.step')].map((step) => {
      const groups = step.querySelectorAll('.owner-select optgroup');
      return {
        id: step.dataset.stepId,
        'step title': value(step, '[data-field=title]'),
        'step description': value(step, '[data-field=description]'),
        'step resources': value(step, '[data-field=resources]'),
        'step success measure': value(step, '[data-field=success_measure]'),
        'step owner free text': value(step, '.owner-text'),
        chips: [...step.querySelectorAll('.chip')].map((chip) => chip.textContent),
        members: options(groups[0]),
        stakeholders: options(groups[1]),
      };
    }),
    stakeholders: [...document.querySelectorAll('.stakeholder')].map((item) => ({
      id: item.dataset.stakeholderId,
      'stakeholder name': value(item, '[data-field=name]'),
      'stakeholder contact': value(item, '[data-field=contact]'),
    })),
    group: document.querySelector('.group-name')?.textContent ?? null,
    training: document.querySelector('.training-name')?.textContent ?? null,
    title: document.title,
    announcements: [...document.querySelectorAll('#announcements .announcement > span')]
      .map((span) => span.textContent),
    'timer label': document.querySelector('#editor-timer .countdown-label')?.textContent ?? null,
    'vote question': document.querySelector('#vote-bar .vote-question')?.textContent ?? null,
  };
}"""

# The comment threads of the steps with these ids, once their cards are open (comments.js): each comment
# that is not a reply, with the replies nested under it.
COMMENT_THREADS_JS = """(stepIds) => {
  const shown = (comment) => ({
    id: comment.dataset.commentId,
    author: comment.querySelector(':scope > .comment-head strong')?.textContent ?? null,
    text: comment.querySelector(':scope > .comment-text')?.textContent ?? null,
  });
  return Object.fromEntries(stepIds.map((id) => {
    const list = document.querySelector(`.step[data-step-id="${id}"] .comment-list`);
    return [id, [...(list?.querySelectorAll(':scope > .comment') ?? [])].map((comment) => ({
      ...shown(comment),
      replies: [...comment.querySelectorAll(':scope > .comment-replies > .comment')].map(shown),
    }))];
  }));
}"""

# Every thread has its comments, loaded from the server (none is waiting to be sent).
COMMENTS_LOADED_JS = """(counts) => Object.entries(counts).every(([id, count]) => document.querySelectorAll(
  `.step[data-step-id="${id}"] .comment-list .comment:not(.is-pending)`).length === count)"""

# The top bar's menu of where the signed-in person was mentioned (templates/base.html, mentions.js).
MENTIONS_TEXTS_JS = """() => {
  const menu = document.getElementById('mentions');
  return {
    lang: document.documentElement.lang,
    count: menu?.querySelector('.mention-count')?.textContent ?? null,
    links: [...(menu?.querySelectorAll('.mentions-list a') ?? [])].map(
      (link) => [link.getAttribute('href'), link.textContent]),
  };
}"""

# The facilitation the editor learns when it joins: every announcement banner, the timer and the vote bar.
EDITOR_FACILITATION_JS = """(announcements) => !document.getElementById('editor-timer').hidden
  && !document.getElementById('vote-bar').hidden
  && document.querySelectorAll('#announcements .announcement').length === announcements"""

# The dashboard once dashboard.js has drawn it: the cards from the JSON summaries, the rest from the server.
DASHBOARD_TEXTS_JS = """() => {
  const text = (root, selector) => root?.querySelector(selector)?.textContent ?? null;
  const options = (select) => (select ? [...select.options].map((option) => option.text) : null);
  return {
    title: document.title,
    training: text(document, '.editor-context .group-name'),
    dates: text(document, '.editor-context .training-name'),
    cards: [...document.querySelectorAll('.group-card')].map((card) => {
      const link = card.querySelector('.group-card-name');
      return {
        group_id: Number(card.dataset.groupId), name: link.textContent, href: link.getAttribute('href'),
        title: link.getAttribute('title'), theme: text(card, '.theme-chip'),
        // Each entry is the dot count, then the step title in a text node of its own.
        ranking: [...card.querySelectorAll('.vote-top li')].map((entry) => [
          text(entry, '.dot-count'), [...entry.childNodes].slice(1).map((node) => node.textContent).join('')]),
      };
    }),
    themes: Object.fromEntries([...document.querySelectorAll('#theme option')]
      .map((option) => [option.value, option.text])),
    timer_label: text(document, '#dash-timer .countdown-label'),
    vote_status: text(document, '#dash-vote .vote-status'),
    announcements: [...document.querySelectorAll('#announcement-log li')].map((entry) => [
      text(entry, '.muted'), text(entry, '.log-text')]),
    tool_groups: Object.fromEntries(['timer', 'announcement', 'vote'].map(
      (tool) => [tool, options(document.getElementById(`${tool}-group_id`))])),
    manage: [...document.querySelectorAll('.manage-group')].map((group) => ({
      id: group.id, name: text(group, 'summary strong'), rename: group.querySelector('input[name=name]').value,
      members: [...group.querySelectorAll('.member-list > li')].map((entry) => ({
        name: text(entry, '.member-name'), moves: options(entry.querySelector('select[name=to_group_id]')),
        confirm: entry.querySelector('form.member-remove')?.dataset.confirm ?? null,
      })),
    })),
    join_url: text(document, '.join-url'),
    lang: document.documentElement.lang,
  };
}"""

# The read-only map of templates/maps/_map_view.html, wherever it is shown: the projector, the map at a
# revision, the read-only link. Its argument is the selector of the map.
MAP_VIEW_TEXTS_JS = """(selector) => {
  const text = (root, css) => root?.querySelector(css)?.textContent ?? null;
  const map = document.querySelector(selector);
  return {
    group_id: map ? Number(map.dataset.groupId) : null,
    group: map?.querySelector('.projected-group').firstChild.textContent ?? null,
    heading: text(map, 'h1'),
    header: [...(map?.querySelectorAll('.projected-header dd') ?? [])].map((item) => item.textContent),
    steps: [...(map?.querySelectorAll('.projected-step') ?? [])].map((step) => {
      // The owner follows its label in the first meta item.
      const owner = step.querySelector('.projected-step-meta > span:not(.status-chip)');
      return {
        title: text(step, '.projected-step-title'), dots: text(step, '.dot-count'),
        owner: owner ? [...owner.childNodes].slice(1).map((node) => node.textContent).join('') : null,
      };
    }),
    stakeholders: [...(map?.querySelectorAll('.projected-stakeholders strong') ?? [])].map((name) => name.textContent),
  };
}"""

# The projector (and the read-only link, which has its bar): the bar from the server and the timer from
# projector.js; the map from the fragment, included in the page at load and set with innerHTML when it changes.
PROJECTOR_TEXTS_JS = f"""() => ({{
  title: document.title,
  training: document.querySelector('.projector-training')?.textContent ?? null,
  timer_label: document.querySelector('#projector-timer .countdown-label')?.textContent ?? null,
  ...({MAP_VIEW_TEXTS_JS})('#projected .projected-map'),
}})"""

# The head of a map's pages after the training (history, since the training, share): group · training, the title.
MAP_PAGE_HEAD_JS = """() => ({
  title: document.title,
  eyebrow: document.querySelector('main .eyebrow')?.textContent ?? null,
  heading: document.querySelector('main h1')?.textContent ?? null,
})"""

MY_MAPS_TEXTS_JS = """() => [...document.querySelectorAll('.my-map')].map((item) => [
  item.querySelector('.my-map-title').getAttribute('href'), item.querySelector('.my-map-title').textContent,
  item.querySelector('.muted').textContent])"""

# The history in words: the filter's choices and every entry's revision (from its link) and sentence.
HISTORY_TEXTS_JS = """() => ({
  people: [...document.querySelectorAll('#person option')].map((option) => option.text),
  steps: [...document.querySelectorAll('#step option')].map((option) => option.text),
  entries: [...document.querySelectorAll('.history-entry')].map((entry) => [
    Number(entry.querySelector('a').getAttribute('href').split('/').pop()),
    entry.querySelector('.history-sentence').textContent]),
})"""

# "Since the training": each list's entries as (the step title in bold, the whole entry), by list key.
SINCE_TEXTS_JS = """(keys) => {
  const entries = (css) => [...document.querySelectorAll(css)].map((entry) => [
    entry.querySelector('strong')?.textContent ?? null, entry.textContent]);
  return {
    lang: document.documentElement.lang,
    lists: Object.fromEntries(keys.map((key) => [key, entries(`.since-${key} > li`)])),
    overdue: entries('.overdue-list > li'),
    next: entries('.next-list > li'),
  };
}"""

PRINT_TEXTS_JS = """() => {
  const text = (root, css) => root?.querySelector(css)?.textContent ?? null;
  const origin = document.querySelector('.document-origin');
  return {
    lang: document.documentElement.lang,
    title: document.title,
    author: document.querySelector('meta[name=author]')?.content ?? null,
    heading: text(document, '.document-header h1'),
    // The training, its city and dates; after the line break, the working group.
    origin: [...origin.childNodes].filter((node) => node.nodeType === Node.TEXT_NODE).map((node) => node.textContent),
    fields: [...document.querySelectorAll('.project-fields dd')].map((item) => item.textContent),
    steps: [...document.querySelectorAll('table.steps tbody tr')].map((row) => ({
      title: text(row, '.step-title'), description: text(row, '.description'), owner: text(row, 'td.owner'),
      // What follows each detail's label.
      details: [...row.querySelectorAll('.detail')].map(
        (detail) => [...detail.childNodes].slice(1).map((node) => node.textContent).join('')),
    })),
    stakeholders: [...document.querySelectorAll('table.stakeholders tbody tr')].map(
      (row) => [text(row, 'td.name'), text(row, 'td.contact')]),
  };
}"""


def squeeze(text: str | None) -> str:
    """Text as a browser lays it out: runs of whitespace from the template become one space."""
    return " ".join((text or "").split())


def view_of(where: str) -> str:
    """The page a check was made on: 'participant-1-pick-group-page@cycle-2' is a pick-group page."""
    return where.split("@")[0]


@dataclass
class Watch:
    """Everything one browser saw that a payload could have caused."""

    who: str
    dialogs: list = field(default_factory=list)
    markers: list = field(default_factory=list)
    csp_violations: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)

    def on_dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(self, message) -> None:
        text = message.text
        if text.startswith("XSS-MARKER"):
            self.markers.append(text)
        elif text.startswith("CSP-VIOLATION") or "Content Security Policy" in text:
            self.csp_violations.append(text)


@dataclass
class Visit:
    """The browsers of one test and the checks they made."""

    artifacts: object
    watches: list = field(default_factory=list)
    checks: Counter = field(default_factory=Counter)  # (page, what) -> times it was checked
    seen: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(set)))  # field -> view -> payloads
    values_shown: dict = field(default_factory=lambda: defaultdict(set))  # field -> values shown
    pages: list = field(default_factory=list)
    shots: int = 0

    def open(self, chromium, who: str, *, bypass_csp: bool, storage_state=None):
        """A browser of its own; storage_state signs it in as another context is."""
        watch = Watch(who)
        self.watches.append(watch)
        context = chromium.new_context(
            viewport={"width": 1100, "height": 900}, locale="ru-RU", bypass_csp=bypass_csp, storage_state=storage_state
        )
        context.add_init_script(WATCH_SCRIPT)
        page = context.new_page()
        page.on("dialog", watch.on_dialog)
        page.on("console", watch.on_console)
        page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
        return context, page

    def shows(self, where: str, what: str, actual, expected, held=()) -> None:
        """The page shows `expected` as this text; `held` names the (field, stored value) pairs it is made of."""
        assert actual == expected, f"{where}: {what} shows {actual!r}, expected {expected!r}"
        self._checked(where, what, held)

    def contains(self, where: str, what: str, text: str, part: str | re.Pattern, held=()) -> None:
        """The page's `text` holds `part` as it is, or a match of it if it is a pattern; `held` as for shows."""
        found = part.search(text) if isinstance(part, re.Pattern) else part in text
        assert found, f"{where}: {what}: {part!r} is not in {text[:2000]!r}"
        self._checked(where, what, held)

    def _checked(self, where: str, what: str, held) -> None:
        self.checks[(where, what)] += 1
        for name, value in held:
            self.values_shown[name].add(value)
            self.seen[name][view_of(where)].update(payloads_in(value))

    def inert(self, page, where: str, shot: str = "page") -> None:
        """Nothing ran and nothing was injected on this page; keep a screenshot of it.

        shot: "page" the whole page, "window" what is in the window, "none" no screenshot. An
        editor holding the packed texts is several screens long and takes a second to capture,
        so only the first editor of a scene is shot whole."""
        if shot != "none":
            self.shots += 1
            page.screenshot(
                path=str(self.artifacts / f"{self.shots:02d}-{where}.jpeg"),
                type="jpeg",
                quality=80,
                full_page=shot == "page",
            )
        assert page.evaluate("window.__xss") is None, f"{where}: the marker was set"
        assert page.evaluate(INJECTED_ELEMENTS_JS) == [], f"{where}: elements were injected"
        for watch in self.watches:
            assert watch.dialogs == [], f"{where}: {watch.who} saw dialogs {watch.dialogs}"
            assert watch.markers == [], f"{where}: {watch.who} saw markers {watch.markers}"
            assert watch.page_errors == [], f"{where}: {watch.who} saw page errors {watch.page_errors}"
        self.pages.append(where)

    def report(self, **figures) -> dict:
        summary = {
            **figures,
            "pages": len({view_of(where) for where in self.pages}),
            "page_visits_checked": len(self.pages),
            "pages_checked": self.pages,
            "checks": sum(self.checks.values()),
            "texts_checked_by_page": sorted(f"{where}: {what}" for where, what in self.checks),
            "dialogs": sum(len(watch.dialogs) for watch in self.watches),
            "markers": sum(len(watch.markers) for watch in self.watches),
            "csp_violations": {watch.who: watch.csp_violations for watch in self.watches},
        }
        if self.seen:
            summary["payloads_shown_by_field_and_page"] = {
                name: {view: sorted(PAYLOAD_IDS[index] for index in indices) for view, indices in sorted(views.items())}
                for name, views in sorted(self.seen.items())
            }
        (self.artifacts / "report.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2))
        return summary


# --- the scene ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedComment:
    """A comment on a step of the joined map, as its thread shows it."""

    id: str
    step_id: str
    parent_id: str | None  # the comment it answers: a reply is shown nested under it
    author: tuple[str, str]  # (field, display name) of its author as it was written; threads are checked before renames
    body: str


@dataclass
class Scene:
    """Trainings, groups and a filled map, every text a packed value of the plan."""

    plan: ScenePlan
    moderator: Person
    trainings: list  # Training, the first is the one joined
    groups: list  # per training, its groups; groups[0][0] is the group joined
    step_ids: list
    stakeholder_ids: list
    members: list = field(default_factory=list)  # (Person, name) present through a socket
    dots: dict = field(default_factory=dict)  # step id -> dots on it in the first training's vote
    comments: list = field(default_factory=list)  # PlannedComment, in the order they were written

    def value(self, name: str, instance: int = 0) -> str:
        return self.plan.values[name][instance]

    @property
    def group(self):
        return self.groups[0][0]

    @property
    def roadmap_id(self) -> int:
        return self.group.roadmap.id

    @property
    def group_names(self) -> list[list[str]]:
        names = iter(self.plan.values["group name"])
        return [[next(names) for _ in groups] for groups in self.groups]

    @property
    def participant_names(self) -> list[str]:
        """Participant 1, participant 2, then those present through a socket."""
        return self.plan.values["participant display name"]

    def step_text(self, step_id: str, name: str) -> str:
        return self.value(name, self.step_ids.index(step_id))

    def stakeholder_text(self, stakeholder_id: str, name: str) -> str:
        return self.value(name, self.stakeholder_ids.index(stakeholder_id))

    def training_texts(self, number: int) -> tuple[str, str]:
        return self.value("training title", number), self.value("training city", number)

    def comment_place(self, number: int) -> tuple[str, str | None]:
        """(step id, parent id) of the comment holding the number-th comment body: the first on the
        first step, the second a reply to it, the last (mentioning participant 1) on the last step,
        any others on the steps in turn."""
        if number == 1:
            return self.comments[0].step_id, self.comments[0].id
        if number == len(self.plan.values["comment body"]) - 1:
            return self.step_ids[-1], None
        return self.step_ids[number % len(self.step_ids)], None

    def comment_threads(self) -> dict[str, list]:
        """Per step with comments, each comment that is not a reply, in order, with its replies."""
        threads = defaultdict(list)
        for comment in self.comments:
            if comment.parent_id is None:
                threads[comment.step_id].append(
                    (comment, [reply for reply in self.comments if reply.parent_id == comment.id])
                )
        return dict(threads)

    def announcement_group(self, number: int):
        """The group an announcement was sent to, None for every group: in turn, starting with every group."""
        return self.group if number % 2 else None

    def ranking(self) -> list[tuple[str, int]]:
        """The steps on the joined group's card on the dashboard: those with the most dots, three at most."""
        return sorted(self.dots.items(), key=lambda item: -item[1])[:3]

    def name_cycles(self) -> list[tuple[int, str | None]]:
        """(training, name) pairs whose pick-group form the participants send, without a group, before
        joining: every other training's page is seen, and every socket participant's name typed."""
        others = list(range(1, len(self.trainings))) or [0]
        names = self.participant_names[2:]
        count = max(len(names), len(self.trainings) - 1)
        return [(others[k % len(others)], names[k % len(names)] if names else None) for k in range(count)]

    def member_focus(self) -> list[tuple[dict, str]]:
        """Controls the socket participants edit: (focus sent, selector of the control the tag follows)."""
        targets = [({"field": key}, f"#{control}") for key, control in MAP_TEXT_FIELDS.values()]
        for stakeholder_id in self.stakeholder_ids:
            for key in STAKEHOLDER_TEXT_FIELDS.values():
                targets.append(
                    (
                        {"field": key, "stakeholder_id": stakeholder_id},
                        f'.stakeholder[data-stakeholder-id="{stakeholder_id}"] [data-field={key}]',
                    )
                )
        for step_id in self.step_ids[1:]:  # the first step is the browsers'
            for key in STEP_TEXT_FIELDS.values():
                targets.append(
                    ({"field": key, "step_id": step_id}, f'.step[data-step-id="{step_id}"] [data-field={key}]')
                )
        assert len(targets) >= len(self.members), "one control per socket participant"
        return targets[: len(self.members)]


def build_scene(plan: ScenePlan) -> Scene:
    """Everything made through the services, the moderator authoring the maps."""
    shape = plan.shape
    values = plan.values
    moderator = accounts.create_moderator(
        f"mod-{uuid.uuid4().hex[:8]}@example.org",
        PASSWORD,
        values["moderator display name"][0],
    )
    group_names = iter(values["group name"])
    made_trainings, made_groups = [], []
    for number in range(shape.trainings):
        training = trainings.create_training(
            moderator,
            values["training title"][number],
            values["training city"][number],
            VENUES[number % len(VENUES)],
            date(2027, 4, 22),
            date(2027, 4, 24),
        )
        # At least two groups, so joining goes through the pick-group page.
        count = shape.groups_in_first if number == 0 else 2
        made_groups.append([trainings.create_group(training, next(group_names), "waste_sorting") for _ in range(count)])
        made_trainings.append(training)

    def edit(roadmap_id: int, op_type: str, **keys) -> None:
        editing.apply({"op_id": uuid.uuid4().hex, "roadmap_id": roadmap_id, "type": op_type, **keys}, actor=moderator)

    for number, groups in enumerate(made_groups):
        edit(groups[0].roadmap.id, "map.set", field="title", value=values["map title"][number])
    for number in range(shape.maps):
        for name, (key, _) in MAP_TEXT_FIELDS.items():
            if name != "map title":
                edit(made_groups[number][0].roadmap.id, "map.set", field=key, value=values[name][number])
    roadmap_id = made_groups[0][0].roadmap.id
    stakeholder_ids = [uuid.uuid4().hex for _ in range(shape.stakeholders)]
    for number, stakeholder_id in enumerate(stakeholder_ids):
        edit(
            roadmap_id,
            "stakeholder.add",
            stakeholder_id=stakeholder_id,
            fields={key: values[name][number] for name, key in STAKEHOLDER_TEXT_FIELDS.items()},
        )
    step_ids = [uuid.uuid4().hex for _ in range(shape.steps)]
    for number, step_id in enumerate(step_ids):
        edit(
            roadmap_id,
            "step.add",
            step_id=step_id,
            fields={
                **{key: values[name][number] for name, key in STEP_TEXT_FIELDS.items()},
                "owner": {"text": values["step owner free text"][number]},
            },
        )
        edit(roadmap_id, "step.link", step_id=step_id, stakeholder_id=stakeholder_ids[number % len(stakeholder_ids)])
    scene = Scene(plan, moderator, made_trainings, made_groups, step_ids, stakeholder_ids)
    # Participants beyond the two browsers join first, so they lead the member list.
    for name in values["participant display name"][2:]:
        scene.members.append((trainings.join_group(made_trainings[0], scene.group.id, name, None), name))
    # Comments on the steps, written by the moderator and the socket participants in turn; all but the
    # last: that one mentions participant 1, who is not in the group yet (written in the test).
    authors = [
        (moderator, ("moderator display name", values["moderator display name"][0])),
        *((person, ("participant display name", name)) for person, name in scene.members),
    ]
    for number, body in enumerate(values["comment body"][:-1]):
        actor, author = authors[number % len(authors)]
        step_id, parent_id = scene.comment_place(number)
        comment = PlannedComment(uuid.uuid4().hex, step_id, parent_id, author, body)
        editing.apply(
            {
                "op_id": uuid.uuid4().hex,
                "roadmap_id": roadmap_id,
                "type": "comment.add",
                "comment_id": comment.id,
                "step_id": step_id,
                "body": body,
                **({"parent_id": parent_id} if parent_id else {}),
            },
            actor=actor,
        )
        scene.comments.append(comment)

    # Facilitation: every training has a timer running and a vote whose results show as they come;
    # in the first, announcements, dots on the first steps (3, 2, 1: the ranking is in that order)
    # and the joined group's map on the projector.
    scene.dots = {step_id: 3 - place for place, step_id in enumerate(step_ids[:3])}
    for number, training in enumerate(made_trainings):
        facilitation.start_timer(training, facilitation.MAX_TIMER_SECONDS, values["timer label"][number])
        voting.open_vote(
            training, max(1, sum(scene.dots.values())), hide_results=False, question=values["vote question"][number]
        )
    vote = voting.current_vote(made_trainings[0].id)
    for step_id, count in scene.dots.items():
        for _ in range(count):
            voting.place_dot(vote.id, step_id, moderator)
    for number, text in enumerate(values["announcement text"]):
        group = scene.announcement_group(number)
        facilitation.announce(made_trainings[0], moderator, text, group.id if group else None)
    facilitation.project(made_trainings[0], "map", scene.group.id)
    return scene


def rename(person: Person, name: str) -> None:
    with writing():
        db.session.get(Person, person.id).display_name = name


def check_pick_group_page(visit: Visit, page, scene: Scene, where: str, training_number: int, name: str) -> None:
    """A training's pick-group page: its title and city, its groups, and the name as typed."""
    title, city = scene.training_texts(training_number)
    visit.shows(
        where,
        "training title · city",
        squeeze(page.text_content(".eyebrow")),
        f"{title} · {city}",
        [("training title", title), ("training city", city)],
    )
    labels = page.eval_on_selector_all("label.choice span", "spans => spans.map(span => span.textContent)")
    names = scene.group_names[training_number]
    visit.shows(where, "group names", labels, names, [("group name", group_name) for group_name in names])
    visit.shows(
        where, "typed display name", page.input_value("#display_name"), name, [("participant display name", name)]
    )
    assert page.locator("label.choice span").first.is_visible()
    visit.inert(page, where)


def join_through_pick_group(visit: Visit, page, live_server, scene: Scene, who: str, name: str, cycles) -> int:
    """Open the other trainings' join links and send their forms under other names without picking a
    group; then type the first training's code and one's own name on the start page, check its
    pick-group page and pick the group.

    Returns the person id the editor was opened for.
    """
    for number, (training_number, typed) in cycles:
        page.goto(f"{live_server.url}/join/{scene.trainings[training_number].join_code}")
        page.fill("#display_name", typed or name)
        page.click("main button[type=submit]")
        page.wait_for_selector("fieldset.choices.has-error", timeout=WAIT_MS)  # sent back: pick a group
        check_pick_group_page(
            visit, page, scene, f"{who}-pick-group-page@cycle-{number + 1}", training_number, typed or name
        )

    page.goto(live_server.url + "/")
    visit.inert(page, f"{who}-start-page-empty")
    page.fill("#join_code", scene.trainings[0].join_code)
    page.fill("#display_name", name)
    page.click("main button[type=submit]")
    page.wait_for_url(f"**/join/{scene.trainings[0].join_code}", timeout=WAIT_MS)
    check_pick_group_page(visit, page, scene, f"{who}-pick-group-page", 0, name)
    page.check(f"input[name=group_id][value='{scene.group.id}']")
    page.click("main button[type=submit]")
    page.wait_for_selector('#connection[data-state="online"]', timeout=WAIT_MS)
    return page.evaluate("JSON.parse(document.getElementById('editor-data').textContent).person.id")


def check_editor(
    visit: Visit, page, where: str, scene: Scene, members: list[str], map_number: int = 0, shot: str = "window"
) -> None:
    """Every text of the map shows its value in its control, and the moderator's timer, vote and
    announcements are shown above it; the steps' comment threads, opened, show each comment's author
    and text, replies nested under their comment; nothing ran.

    The joined map (map_number 0) has the steps, stakeholders, comments and announcements; the others
    only their own texts, their training's timer and vote."""
    page.wait_for_function(
        """count => [...document.querySelectorAll('.step')].every(
             (step) => step.querySelectorAll('.owner-select optgroup:first-of-type option').length === count)""",
        arg=len(members),
        timeout=WAIT_MS,
    )
    announcements = scene.plan.values["announcement text"] if map_number == 0 else []
    page.wait_for_function(EDITOR_FACILITATION_JS, arg=len(announcements), timeout=WAIT_MS)
    texts = page.evaluate(EDITOR_TEXTS_JS)
    visit.shows(
        where,
        "announcement banners",
        texts["announcements"],
        announcements,
        [("announcement text", text) for text in announcements],
    )
    for name in ("timer label", "vote question"):
        value = scene.value(name, map_number)
        visit.shows(where, name, texts[name], value, [(name, value)])
    for selector in (
        "#editor-timer .countdown-label",
        "#vote-bar .vote-question",
        *(("#announcements .announcement",) if announcements else ()),
    ):
        assert page.locator(selector).first.is_visible(), f"{where}: {selector} is not visible"
    for name, shown in texts["map"].items():
        value = scene.value(name, map_number)
        visit.shows(where, name, shown, value, [(name, value)])
    title = scene.value("map title", map_number)
    visit.shows(where, "page title", texts["title"], f"{title} · Дорожная карта", [("map title", title)])
    group_name, training_title = scene.group_names[map_number][0], scene.value("training title", map_number)
    visit.shows(where, "group name in the top bar", texts["group"], group_name, [("group name", group_name)])
    visit.shows(
        where, "training title in the top bar", texts["training"], training_title, [("training title", training_title)]
    )

    if map_number:
        assert texts["steps"] == [] and texts["stakeholders"] == [], f"{where}: steps or stakeholders"
        visit.inert(page, where, shot)
        return
    shown_stakeholders = [item["id"] for item in texts["stakeholders"]]
    assert sorted(shown_stakeholders) == sorted(scene.stakeholder_ids), f"{where}: stakeholders {shown_stakeholders}"
    stakeholder_names = [scene.stakeholder_text(item, "stakeholder name") for item in shown_stakeholders]
    for item in texts["stakeholders"]:
        for name in STAKEHOLDER_TEXT_FIELDS:
            value = scene.stakeholder_text(item["id"], name)
            visit.shows(where, name, item[name], value, [(name, value)])
    assert sorted(step["id"] for step in texts["steps"]) == sorted(scene.step_ids), f"{where}: steps"
    for step in texts["steps"]:
        for name in (*STEP_TEXT_FIELDS, "step owner free text"):
            value = scene.step_text(step["id"], name)
            visit.shows(where, name, step[name], value, [(name, value)])
        visit.shows(
            where,
            "member names in the owner list",
            step["members"],
            members,
            [("participant display name", name) for name in members],
        )
        visit.shows(
            where,
            "stakeholder in the owner list",
            step["stakeholders"],
            stakeholder_names,
            [("stakeholder name", name) for name in stakeholder_names],
        )
        visit.shows(
            where,
            "stakeholder chip on the step",
            step["chips"],
            stakeholder_names,
            [("stakeholder name", name) for name in stakeholder_names],
        )
    threads = scene.comment_threads()
    for step_id in threads:  # opens the card (if it is not) and loads its thread over the socket
        page.click(f'.step[data-step-id="{step_id}"] .comment-toggle')
    for expand in page.locator(".step .step-expand").all():
        if expand.get_attribute("aria-expanded") == "false":
            expand.click()  # the step's details: description, resources, stakeholder chips, comments
    check_comment_threads(visit, page, where, threads)
    for selector in (
        "#map-title",
        ".step [data-field=title]",
        ".stakeholder [data-field=name]",
        ".owner-text",
        ".chip",
        ".step [data-field=description]",
        ".comment-text",
        ".comment-replies .comment-text",
    ):
        assert page.locator(selector).first.is_visible(), f"{where}: {selector} is not visible"
    # The first comment in the middle of the window, its reply below it (a whole-page shot has them all).
    if threads:
        page.eval_on_selector(
            f'.step[data-step-id="{next(iter(threads))}"] .comment-head',
            "head => head.scrollIntoView({block: 'center'})",
        )
    visit.inert(page, where, shot)


def check_comment_threads(visit: Visit, page, where: str, threads: dict) -> None:
    """Each step's comment thread (Scene.comment_threads) once loaded: its comments in order, each reply
    nested under the comment it answers, each comment's author and text as they were written."""
    page.wait_for_function(
        COMMENTS_LOADED_JS,
        arg={step_id: sum(1 + len(replies) for _, replies in comments) for step_id, comments in threads.items()},
        timeout=WAIT_MS,
    )
    shown = page.evaluate(COMMENT_THREADS_JS, list(threads))
    for step_id, comments in threads.items():
        visit.shows(
            where,
            "comments of the step and the replies under each",
            [[item["id"], [reply["id"] for reply in item["replies"]]] for item in shown[step_id]],
            [[comment.id, [reply.id for reply in replies]] for comment, replies in comments],
        )
        for (comment, replies), item in zip(comments, shown[step_id]):
            for what, planned, shown_comment in [
                ("comment", comment, item),
                *(("reply", *pair) for pair in zip(replies, item["replies"])),
            ]:
                visit.shows(
                    where, f"{what} text", shown_comment["text"], planned.body, [("comment body", planned.body)]
                )
                visit.shows(where, f"{what} author", shown_comment["author"], planned.author[1], [planned.author])


def check_mentions(visit: Visit, app, page, where: str, scene: Scene, mentions: list) -> None:
    """The top bar's menu of where the participant was mentioned, newest first: «<author> mentioned you
    at “<step title>”» for each comment in `mentions`, drawn by the server as the page came or by
    mentions.js as the mention arrived. Opened for the screenshot, then closed again. The menu is
    itself a <details>, left out of INJECTED_ELEMENTS_JS by its id; what is in it is not."""
    page.wait_for_function(
        "count => document.querySelectorAll('#mentions:not([hidden]) .mentions-list a').length === count",
        arg=len(mentions),
        timeout=WAIT_MS,
    )
    texts = page.evaluate(MENTIONS_TEXTS_JS)
    told = [
        (comment.author, ("step title", scene.step_text(comment.step_id, "step title")))
        for comment in reversed(mentions)
    ]
    with app.test_request_context(), force_locale(texts["lang"]):
        expected = [
            gettext("%(name)s mentioned you at “%(step)s”", name=author[1], step=title[1]) for author, title in told
        ]
    visit.shows(where, "number of mentions", texts["count"], str(len(mentions)))
    visit.shows(
        where,
        "author's name and step title of each mention",
        [text for _, text in texts["links"]],
        expected,
        [pair for pairs in told for pair in pairs],
    )
    assert all(href.startswith("/mentions/") for href, _ in texts["links"]), f"{where}: {texts['links']}"
    page.click("#mentions summary")
    assert page.locator("#mentions .mentions-list a").first.is_visible(), f"{where}: the mentions are not shown"
    visit.inert(page, where, "window")
    page.click("#mentions summary")


def check_dashboard(
    visit: Visit, app, page, scene: Scene, number: int, where: str, members: dict, join_url: str, shot: str = "window"
) -> None:
    """A training's dashboard: its title and city, a card per group (drawn by dashboard.js) with its
    map's title and, in the first training, the vote's ranking; the timer, the vote, the announcement
    log, the tools' group lists and every group and member in the manage section; nothing ran.

    members: group id -> the display names of the group's members now. shot: as for Visit.inert."""
    page.wait_for_selector(".group-card", timeout=WAIT_MS)
    texts = page.evaluate(DASHBOARD_TEXTS_JS)
    title, city = scene.training_texts(number)
    visit.shows(where, "training title in the top bar", texts["training"], title, [("training title", title)])
    visit.shows(where, "page title", texts["title"], f"{title} · Дорожная карта", [("training title", title)])
    visit.shows(where, "city in the top bar", squeeze(texts["dates"]).split(" · ")[0], city, [("training city", city)])
    visit.shows(where, "join URL", texts["join_url"], join_url)

    groups, names = scene.groups[number], scene.group_names[number]
    cards = {card["group_id"]: card for card in texts["cards"]}
    assert sorted(cards) == sorted(group.id for group in groups), f"{where}: cards {sorted(cards)}"
    for place, (group, name) in enumerate(zip(groups, names)):
        card = cards[group.id]
        visit.shows(where, "group name on its card", card["name"], name, [("group name", name)])
        assert card["href"] == f"/maps/{group.roadmap.id}", f"{where}: the card links to {card['href']}"
        if place == 0:
            map_title = scene.value("map title", number)
            visit.shows(
                where, "map title (the card link's title)", card["title"], map_title, [("map title", map_title)]
            )
        else:
            visit.shows(
                where,
                "group name (the card link's title: the map has none)",
                card["title"],
                name,
                [("group name", name)],
            )
        visit.shows(where, "theme on the card", card["theme"], texts["themes"][group.theme])
        ranked = scene.ranking() if group.id == scene.group.id else []
        step_titles = [scene.step_text(step_id, "step title") for step_id, _ in ranked]
        visit.shows(
            where,
            "dots and step title in the vote ranking on the card",
            card["ranking"],
            [[f"● {count}", f" {step_title}"] for (_, count), step_title in zip(ranked, step_titles)],
            [("step title", step_title) for step_title in step_titles],
        )

    label, question = scene.value("timer label", number), scene.value("vote question", number)
    visit.shows(where, "timer label", texts["timer_label"], label, [("timer label", label)])
    status = texts["vote_status"].split(" · ", 2)  # open or closed · dots per person · the question
    visit.shows(where, "vote question after the vote's status", status[-1], question, [("vote question", question)])
    for tool, options in texts["tool_groups"].items():
        visit.shows(
            where,
            f"group names in the {tool} tool's list",
            options[1:],
            names,
            [("group name", name) for name in names],
        )

    every_group = texts["tool_groups"]["announcement"][0]
    announced = list(enumerate(scene.plan.values["announcement text"] if number == 0 else []))
    log = [[names[0] if scene.announcement_group(order) else every_group, text] for order, text in reversed(announced)]
    visit.shows(
        where,
        "announcement log (to whom, text), newest first",
        texts["announcements"],
        log,
        [("announcement text", text) for _, text in announced]
        + [("group name", names[0]) for order, _ in announced if scene.announcement_group(order)],
    )

    managed = {item["id"]: item for item in texts["manage"]}
    assert sorted(managed) == sorted(f"manage-group-{group.id}" for group in groups), f"{where}: {sorted(managed)}"
    with app.test_request_context(), force_locale(texts["lang"]):
        removal = gettext("Remove %(name)s from the group? What they wrote stays.", name="{name}")
    for place, (group, name) in enumerate(zip(groups, names)):
        item = managed[f"manage-group-{group.id}"]
        visit.shows(where, "group name in manage groups", item["name"], name, [("group name", name)])
        visit.shows(where, "group name in its rename field", item["rename"], name, [("group name", name)])
        shown = sorted(member["name"] for member in item["members"])
        visit.shows(
            where,
            "member names in manage groups",
            shown,
            sorted(members[group.id]),
            [("participant display name", member) for member in members[group.id]],
        )
        others = names[:place] + names[place + 1 :]  # two groups may hold the same payloads
        for member in item["members"]:
            visit.shows(
                where,
                "other group names in the member's move list",
                member["moves"],
                others,
                [("group name", other) for other in others],
            )
            visit.shows(
                where,
                "member name in the remove confirmation",
                member["confirm"],
                removal.replace("{name}", member["name"]),
                [("participant display name", member["name"])],
            )

    for selector in (".group-card-name", "#dash-timer .countdown-label", "#dash-vote .vote-status"):
        assert page.locator(selector).first.is_visible(), f"{where}: {selector} is not visible"
    visit.inert(page, where, shot)


def check_projector(visit: Visit, page, scene: Scene, where: str, owners: dict, shot: str = "window") -> None:
    """The projector view of the joined group's map: the training and timer in its bar, the map's
    name, title and header, its steps with their dots and owners, its stakeholders; nothing ran.

    owners: step id -> (field, value) of the owner the step shows."""
    page.wait_for_selector("#projector-timer:not([hidden])", timeout=WAIT_MS)  # once the socket has the timer
    texts = page.evaluate(PROJECTOR_TEXTS_JS)
    title, label = scene.value("training title"), scene.value("timer label")
    visit.shows(where, "training title in the bar", texts["training"], title, [("training title", title)])
    visit.shows(
        where,
        "training title in the page title",
        texts["title"].split(" · ", 1)[-1],
        title,
        [("training title", title)],
    )
    visit.shows(where, "timer label", texts["timer_label"], label, [("timer label", label)])
    assert texts["group_id"] == scene.group.id, f"{where}: projects group {texts['group_id']}"
    check_map_view(
        visit,
        where,
        scene,
        texts,
        [(scene.step_text(step_id, "step title"), owners[step_id]) for step_id in scene.step_ids],
        [scene.stakeholder_text(item, "stakeholder name") for item in scene.stakeholder_ids],
    )
    for step_id, shown in zip(scene.step_ids, texts["steps"]):
        visit.shows(
            where, "dots on the step", shown["dots"], f"● {scene.dots[step_id]}" if step_id in scene.dots else None
        )
    for selector in (
        ".projected-map h1",
        ".projected-step-title",
        ".projected-stakeholders strong",
        "#projector-timer .countdown-label",
    ):
        assert page.locator(selector).first.is_visible(), f"{where}: {selector} is not visible"
    visit.inert(page, where, shot)


def check_map_view(visit: Visit, where: str, scene: Scene, texts: dict, steps: list, stakeholder_names: list) -> None:
    """The joined group's read-only map (MAP_VIEW_TEXTS_JS): its group's name, title and header,
    each step's title and owner, the stakeholders' names.

    steps: (title, (field, value) of the owner) of each step, in map order."""
    group_name, map_title = scene.group_names[0][0], scene.value("map title")
    visit.shows(where, "group name", texts["group"], f"{group_name} · ", [("group name", group_name)])
    visit.shows(where, "map title", texts["heading"], map_title, [("map title", map_title)])
    header = [(name, scene.value(name)) for name in ("map problem", "map goal", "map territory")]
    visit.shows(where, "problem, goal, territory", texts["header"], [value for _, value in header], header)
    assert len(texts["steps"]) == len(steps), f"{where}: {len(texts['steps'])} steps"
    for (step_title, (name, owner)), shown in zip(steps, texts["steps"]):
        visit.shows(where, "step title", shown["title"], step_title, [("step title", step_title)])
        visit.shows(where, f"step owner ({name})", shown["owner"], f" {owner}", [(name, owner)])
    visit.shows(
        where,
        "stakeholder names",
        texts["stakeholders"],
        stakeholder_names,
        [("stakeholder name", name) for name in stakeholder_names],
    )


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
    page.wait_for_selector(".map-page .projected-map", timeout=WAIT_MS)
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


def wait_for_presence(page, person_id: int, name: str) -> None:
    page.wait_for_function(
        """([id, name]) => document.querySelector(`#presence [data-person-id="${id}"]`)?.title === name""",
        arg=[person_id, name],
        timeout=WAIT_MS,
    )


def wait_for_tag(page, control: str, name: str) -> str:
    """The name tag someone's focus puts after a control."""
    selector = f"{control} + .editing-tag"
    page.wait_for_function(
        "([selector, name]) => document.querySelector(selector)?.textContent === name",
        arg=[selector, name],
        timeout=WAIT_MS,
    )
    return page.text_content(selector)


def delete_with_toast(visit: Visit, page, where: str, button: str, text: str, what: str, name: str) -> None:
    """Delete an item; its toast ends with «its text»."""
    page.click(button)
    toast = page.wait_for_function(
        """(ending) => [...document.querySelectorAll('.toast > span')]
             .map((span) => span.textContent).find((text) => text.endsWith(ending))""",
        arg=f"«{text}»",
        timeout=WAIT_MS,
    ).json_value()
    visit.shows(where, what, toast.rsplit("«", 1)[1][:-1], text, [(name, text)])
    visit.inert(page, where, "window")  # the toast is fixed to the window


def numbered(where: str, number: int) -> str:
    return where if number == 0 else f"{where}@{number + 1}"


@pytest.fixture(scope="module")
def scene_reports():
    """Collects the scenes' figures; written summed up once the module is done."""
    reports: list[dict] = []
    yield reports
    if not reports:
        return
    seen = defaultdict(lambda: defaultdict(set))
    for report in reports:
        for name, views in report.get("payloads_shown_by_field_and_page", {}).items():
            for view, ids in views.items():
                seen[name][view].update(ids)
    pairs = {(name, payload) for name, views in seen.items() for ids in views.values() for payload in ids}
    summary = {
        "mode": "exhaustive" if EXHAUSTIVE else "packed",
        "scenes": [report["scene"] for report in reports],
        "payloads": len({payload for _, payload in pairs}),
        "fields": len(seen),
        "payload_field_pairs_shown": len(pairs),
        "pages": len({view_of(where) for report in reports for where in report["pages_checked"]}),
        "page_visits_checked": sum(report["page_visits_checked"] for report in reports),
        "checks": sum(report["checks"] for report in reports),
        "dialogs": sum(report["dialogs"] for report in reports),
        "markers": sum(report["markers"] for report in reports),
        "pdf_characters_without_a_font": sorted(
            {char for report in reports for char in report.get("pdf_characters_without_a_font", [])}
        ),
        "payloads_shown_by_field_and_page": {
            name: {view: len(ids) for view, ids in sorted(views.items())} for name, views in sorted(seen.items())
        },
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "test_xss-summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2))


@pytest.mark.parametrize("plan", PLANS, ids=[plan.id for plan in PLANS])
def test_payload_is_stored_and_shown_as_inert_text_on_every_page(
    app, live_server, chromium, artifacts, scene_reports, plan
):
    """One scene of the plan: two participants join (CSP on, CSP off) and edit, the moderator signs in
    (CSP off) and opens the dashboard, the map and the projector, which follows an edit; the dashboard
    and projector again with the CSP on; the editors open the steps' comment threads, and participant 1's
    top bar shows where they were mentioned; texts are deleted and the start page lists the participant's
    maps; after the training, participant 1 lists their road maps, participant 2 opens the map's
    history, a past revision, "since the training", sharing, the printable page and the PDF, and a
    visitor the read-only link, which follows an edit; every page is checked."""
    scene = build_scene(plan)
    visit = Visit(artifacts)
    marina_name, oleg_name = scene.participant_names[:2]
    member_names = [name for _, name in scene.members]
    sockets: list[SyncClient] = []
    connecting = []
    marina_context, marina = visit.open(chromium, "participant-1-csp", bypass_csp=False)
    oleg_context, oleg = visit.open(chromium, "participant-2-no-csp", bypass_csp=True)
    moderator_context, moderator = visit.open(chromium, "moderator-no-csp", bypass_csp=True)
    moderator_csp_context = visitor_context = None  # opened later: the moderator's signed in, the visitor's
    missing_glyphs = set()  # characters the PDF draws as the missing glyph
    try:
        # Participants beyond the two browsers are in the map through a socket, each editing a field.
        focus = scene.member_focus()
        roadmap_id = scene.roadmap_id

        def present(token: str, name: str, target: dict) -> None:
            client = SyncClient(live_server.url, token, name=name)
            sockets.append(client)
            client.connect()
            assert client.join(roadmap_id)["ok"]
            assert client.call("focus", {"focus": target})["ok"]

        def connect(token: str, name: str) -> SyncClient:
            client = SyncClient(live_server.url, token, name=name)
            sockets.append(client)
            return client.connect()

        # Connecting takes seconds: it goes on while the browsers join. So does the moderator's socket,
        # which writes the comment mentioning participant 1 (it needs no map joined to send an edit).
        pool = ThreadPoolExecutor(max_workers=len(focus) + 1)
        connecting = [
            pool.submit(present, accounts.issue_token(person), name, target)
            for (person, name), (target, _) in zip(scene.members, focus)
        ]
        commenting = pool.submit(connect, accounts.issue_token(scene.moderator), "moderator-commenting")
        connecting.append(commenting)
        pool.shutdown(wait=False)

        # Two participants join, on the way typing the others' names into other trainings' codes.
        cycles = list(enumerate(scene.name_cycles()))
        marina_id = join_through_pick_group(
            visit, marina, live_server, scene, "participant-1", marina_name, cycles[0::2]
        )
        # The moderator writes the last comment mentioning participant 1, now in the group, through a socket:
        # mentions.js adds it to the top bar's menu of their open editor; loaded again, the page draws it.
        # Before any of their cards is open: opening the step's thread marks the mention seen.
        step_id, parent_id = scene.comment_place(len(scene.comments))
        mention = PlannedComment(
            uuid.uuid4().hex,
            step_id,
            parent_id,
            ("moderator display name", plan.values["moderator display name"][0]),
            plan.values["comment body"][-1],
        )
        ack = commenting.result(timeout=WAIT_MS / 1000).send_op(
            "comment.add",
            roadmap_id=roadmap_id,
            comment_id=mention.id,
            step_id=mention.step_id,
            body=mention.body,
            mentions=[marina_id],
            **({"parent_id": parent_id} if parent_id else {}),
        )
        assert ack["ok"], ack
        scene.comments.append(mention)
        check_mentions(visit, app, marina, "participant-1-editor-mention-arrives", scene, [mention])
        marina.reload()
        marina.wait_for_selector('#connection[data-state="online"]', timeout=WAIT_MS)
        check_mentions(visit, app, marina, "participant-1-editor-mention-in-the-page", scene, [mention])
        check_editor(visit, marina, "participant-1-editor", scene, [*member_names, marina_name], shot="page")
        oleg_id = join_through_pick_group(visit, oleg, live_server, scene, "participant-2", oleg_name, cycles[1::2])
        everyone = [*member_names, marina_name, oleg_name]
        check_editor(visit, oleg, "participant-2-editor", scene, everyone)
        check_editor(visit, marina, "participant-1-editor-after-participant-2-joined", scene, everyone)

        # Presence: each sees the others' names, and the fields they are editing marked with them.
        for future in connecting:
            future.result(timeout=WAIT_MS / 1000)
        wait_for_presence(marina, oleg_id, oleg_name)
        wait_for_presence(oleg, marina_id, marina_name)
        visit.shows(
            "participant-2-editor",
            "other participant's name in presence",
            oleg.get_attribute(f'#presence [data-person-id="{marina_id}"]', "title"),
            marina_name,
            [("participant display name", marina_name)],
        )
        first_step = f'.step[data-step-id="{scene.step_ids[0]}"]'
        oleg.click(f"{first_step} [data-field=title]")
        where = "participant-1-editor-with-focus-marker"
        for (person, name), (_, control) in zip(
            [*scene.members, (None, oleg_name)], [*focus, (None, f"{first_step} [data-field=title]")]
        ):
            person_id = oleg_id if person is None else person.id
            wait_for_presence(marina, person_id, name)
            visit.shows(
                where,
                "other participant's name in presence",
                marina.get_attribute(f'#presence [data-person-id="{person_id}"]', "title"),
                name,
                [("participant display name", name)],
            )
            visit.shows(
                where,
                "other participant's name on the field being edited",
                wait_for_tag(marina, control, name),
                name,
                [("participant display name", name)],
            )
        visit.inert(marina, where, "window")

        # The moderator's pages: the trainings list, the dashboard, the map, the projector.
        moderator.goto(live_server.url + "/sign-in")
        moderator.fill("#email", scene.moderator.email)
        moderator.fill("#password", PASSWORD)
        moderator.click("main button[type=submit]")
        moderator.wait_for_url("**/moderate/", timeout=WAIT_MS)
        listed = moderator.eval_on_selector_all(
            ".training-list li",
            """items => items.map((item) => [
            item.querySelector('.training-link').getAttribute('href'),
            item.querySelector('.training-link').textContent,
            item.querySelector('.muted').textContent])""",
        )
        assert sorted(href for href, _, _ in listed) == sorted(f"/moderate/trainings/{t.id}" for t in scene.trainings)
        for href, shown_title, muted in listed:
            number = [f"/moderate/trainings/{t.id}" for t in scene.trainings].index(href)
            title, city = scene.training_texts(number)
            visit.shows("moderator-trainings-list", "training title", shown_title, title, [("training title", title)])
            visit.shows(
                "moderator-trainings-list",
                "training city",
                squeeze(muted).split(" · ")[0],
                city,
                [("training city", city)],
            )
        visit.inert(moderator, "moderator-trainings-list")

        def check_training_page(page, number: int, where: str, members: dict, shot: str = "window"):
            training = scene.trainings[number]
            check_dashboard(
                visit, app, page, scene, number, where, members, f"{live_server.url}/?code={training.join_code}", shot
            )

        members_now = {group.id: [] for group in scene.groups[0]} | {scene.group.id: everyone}
        moderator.click(f'.training-link[href="/moderate/trainings/{scene.trainings[0].id}"]')
        moderator.wait_for_url(f"**/moderate/trainings/{scene.trainings[0].id}", timeout=WAIT_MS)
        check_training_page(moderator, 0, "moderator-dashboard", members_now, shot="page")

        moderator.locator(f'.group-card-name[href="/maps/{scene.roadmap_id}"]').click()
        moderator.wait_for_selector('#connection[data-state="online"]', timeout=WAIT_MS)
        check_editor(visit, moderator, "moderator-editor", scene, everyone)
        where = "moderator-editor-with-everyone-present"
        for person_id, name in [
            (marina_id, marina_name),
            (oleg_id, oleg_name),
            *((person.id, name) for person, name in scene.members),
        ]:
            wait_for_presence(moderator, person_id, name)
            visit.shows(
                where,
                "participant's name in presence",
                moderator.get_attribute(f'#presence [data-person-id="{person_id}"]', "title"),
                name,
                [("participant display name", name)],
            )
        # The moderator edits a field under each of their names (renamed in between): participant 1 sees it.
        moderator_id = scene.moderator.id
        for number, name in enumerate(plan.values["moderator display name"]):
            if number:
                rename(scene.moderator, name)
            control = f"{first_step} [data-field={'resources' if number % 2 else 'description'}]"
            moderator.focus(control)  # the focus is published with the name as it is stored now
            wait_for_presence(marina, moderator_id, name)
            at = numbered("participant-1-editor", number)
            visit.shows(
                at,
                "moderator's name in presence",
                marina.get_attribute(f'#presence [data-person-id="{moderator_id}"]', "title"),
                name,
                [("moderator display name", name)],
            )
            visit.shows(
                at,
                "moderator's name on the field being edited",
                wait_for_tag(marina, control, name),
                name,
                [("moderator display name", name)],
            )
            if number:
                visit.inert(marina, at, "none")  # the same window each time, only the name differs
        visit.inert(moderator, where, "window")

        # The projector shows the joined map as the page comes; when participant 1 gives the first steps
        # a member and a stakeholder as owners, projector.js sets the new fragment with innerHTML.
        owners = {
            step_id: ("step owner free text", scene.step_text(step_id, "step owner free text"))
            for step_id in scene.step_ids
        }
        moderator.goto(f"{live_server.url}/moderate/trainings/{scene.trainings[0].id}/projector")
        check_projector(visit, moderator, scene, "moderator-projector", owners, shot="page")
        new_owners = [
            (f"member:{oleg_id}", ("participant display name", oleg_name)),
            (
                f"stakeholder:{scene.stakeholder_ids[0]}",
                ("stakeholder name", scene.stakeholder_text(scene.stakeholder_ids[0], "stakeholder name")),
            ),
        ]
        changed = scene.step_ids[: len(new_owners)]
        revision = int(moderator.get_attribute("#projected .projected-map", "data-revision"))
        for step_id, (choice, owner) in zip(changed, new_owners):
            marina.select_option(f'.step[data-step-id="{step_id}"] .owner-select', choice)
            owners[step_id] = owner
        moderator.wait_for_function(  # one revision per owner changed
            "revision => Number(document.querySelector('#projected .projected-map')?.dataset.revision) >= revision",
            arg=revision + len(changed),
            timeout=WAIT_MS,
        )
        check_projector(visit, moderator, scene, "moderator-projector-after-live-update", owners)

        # The same two pages with the CSP on, signed in as the moderator is.
        moderator_csp_context, moderator_csp = visit.open(
            chromium, "moderator-csp", bypass_csp=False, storage_state=moderator_context.storage_state()
        )
        moderator_csp.goto(f"{live_server.url}/moderate/trainings/{scene.trainings[0].id}")
        check_training_page(moderator_csp, 0, "moderator-csp-dashboard", members_now)
        moderator_csp.goto(f"{live_server.url}/moderate/trainings/{scene.trainings[0].id}/projector")
        check_projector(visit, moderator_csp, scene, "moderator-csp-projector", owners)

        # Deleting shows the deleted item's text in a toast.
        for number, step_id in enumerate(scene.step_ids):
            delete_with_toast(
                visit,
                marina,
                numbered("participant-1-step-deleted-toast", number),
                f'.step[data-step-id="{step_id}"] .step-delete',
                scene.step_text(step_id, "step title"),
                "deleted step title",
                "step title",
            )
        oleg.wait_for_function("() => document.querySelectorAll('.step').length === 0", timeout=WAIT_MS)
        for number, stakeholder_id in enumerate(scene.stakeholder_ids):
            delete_with_toast(
                visit,
                oleg,
                numbered("participant-2-stakeholder-deleted-toast", number),
                f'.stakeholder[data-stakeholder-id="{stakeholder_id}"] .stakeholder-delete',
                scene.stakeholder_text(stakeholder_id, "stakeholder name"),
                "deleted stakeholder name",
                "stakeholder name",
            )

        # Back on the start page, the participant's own road maps are listed: one in every training.
        marina_person = db.session.get(Person, marina_id)
        for training, groups in zip(scene.trainings[1:], scene.groups[1:]):
            trainings.join_group(training, groups[0].id, marina_name, marina_person)
        marina.goto(live_server.url + "/")
        where = "participant-1-start-page-your-road-maps"
        entries = marina.eval_on_selector_all(
            ".plain-list li",
            """items => items.map((item) => [
            item.querySelector('a').getAttribute('href'), item.querySelector('a').textContent,
            item.querySelector('.muted').textContent])""",
        )
        maps = [f"/maps/{groups[0].roadmap.id}" for groups in scene.groups]
        assert sorted(href for href, _, _ in entries) == sorted(maps), f"{where}: {entries}"
        for href, link, muted in entries:
            number = maps.index(href)
            title, group_name = scene.value("map title", number), scene.group_names[number][0]
            training_title = scene.value("training title", number)
            visit.shows(where, "map title (link to the map)", link, title, [("map title", title)])
            visit.shows(
                where,
                "group name · training title",
                squeeze(muted),
                f"· {group_name} · {training_title}",
                [("group name", group_name), ("training title", training_title)],
            )
        assert marina.locator(".plain-list a").first.is_visible()
        visit.inert(marina, where)

        # The moderator's other trainings, and the other maps with every text filled.
        for number, training in enumerate(scene.trainings[1:], start=1):
            moderator.goto(f"{live_server.url}/moderate/trainings/{training.id}")
            members_now = {group.id: [] for group in scene.groups[number]} | {scene.groups[number][0].id: [marina_name]}
            check_training_page(moderator, number, f"moderator-dashboard@{number + 1}", members_now)
            if number < plan.shape.maps:
                moderator.locator(f'.group-card-name[href="/maps/{scene.groups[number][0].roadmap.id}"]').click()
                moderator.wait_for_selector('#connection[data-state="online"]', timeout=WAIT_MS)
                check_editor(
                    visit, moderator, f"moderator-editor@map-{number + 1}", scene, [marina_name], number, shot="page"
                )

        # After the training. Participant 1 (CSP on) has every map in "my road maps"; the map gets its
        # steps and stakeholders back, the training ends and the group goes on (after_the_training);
        # participant 2 (CSP off) reads the history in words, the map before the deletions and, through
        # the slider, now, what changed since the training, the share page, the printable page and its PDF.
        marina.goto(f"{live_server.url}/me")
        check_my_maps(visit, marina, scene, "participant-1-my-road-maps")
        oleg_person = db.session.get(Person, oleg_id)
        later = after_the_training(scene, marina_person, oleg_person, owners)
        people = {
            scene.moderator.id: ("moderator display name", plan.values["moderator display name"][-1]),
            **{
                person_id: ("participant display name", name)
                for person_id, name in [
                    (marina_id, marina_name),
                    (oleg_id, oleg_name),
                    *((person.id, name) for person, name in scene.members),
                ]
            },
        }
        map_url = f"{live_server.url}/maps/{roadmap_id}"
        oleg.goto(f"{map_url}/history")
        check_history(visit, oleg, scene, "participant-2-history", later, people)
        oleg.goto(f"{map_url}/history/{later.before_deletions}")
        check_map_at_revision(
            visit, oleg, scene, "participant-2-map-at-revision", later.before_deletions, later.steps_before_deletions
        )
        with oleg.expect_navigation(url=f"{map_url}/history/{later.revision}"):
            oleg.eval_on_selector(
                "#revision",
                """(slider, revision) => {
                slider.value = revision; slider.dispatchEvent(new Event('change')); }""",
                later.revision,
            )
        check_map_at_revision(
            visit,
            oleg,
            scene,
            "participant-2-map-at-revision@latest-by-the-slider",
            later.revision,
            later.owned_steps(),
        )
        oleg.goto(f"{map_url}/since-training")
        check_since_training(visit, app, oleg, scene, "participant-2-since-the-training", later)
        shared_url = f"{live_server.url}/shared/{later.share_token}"
        oleg.goto(f"{map_url}/share")
        check_share_page(visit, oleg, scene, "participant-2-share", shared_url)
        oleg.goto(f"{map_url}/print")
        in_pdf = check_print_page(visit, app, oleg, scene, "participant-2-print", later)
        missing_glyphs = check_pdf(visit, oleg, f"{map_url}/export.pdf", "participant-2-pdf", in_pdf)

        # A visitor (CSP off) follows the read-only link; participant 2 gives the first step an owner
        # through a socket, and shared.js sets the map's new fragment with innerHTML.
        visitor_context, visitor = visit.open(chromium, "visitor-no-csp", bypass_csp=True)
        with visitor.expect_response(f"{shared_url}/map", timeout=WAIT_MS):  # fetched once its socket is connected
            visitor.goto(shared_url)
        check_shared_map(visit, visitor, scene, "visitor-shared-map", later.owned_steps(), shot="page")
        editor = SyncClient(live_server.url, accounts.issue_token(oleg_person), name=oleg_name)
        sockets.append(editor)
        editor.connect()
        assert editor.join(roadmap_id)["ok"]
        ack = editor.send_op("step.set", step_id=scene.step_ids[0], field="owner", value={"member": oleg_id})
        assert ack["ok"], ack
        later.steps[0]["owner"] = ("participant display name", oleg_name)
        visitor.wait_for_function(
            "revision => Number(document.querySelector('#projected .projected-map')?.dataset.revision) >= revision",
            arg=ack["revision"],
            timeout=WAIT_MS,
        )
        check_shared_map(visit, visitor, scene, "visitor-shared-map-after-live-update", later.owned_steps())
    finally:
        wait(connecting, timeout=WAIT_MS / 1000)
        for client in sockets:
            client.close()
        summary = visit.report(
            scene=plan.id,
            payloads=len(plan.payloads()),
            fields=len(visit.seen),
            payload_field_pairs_shown=sum(len(set().union(*views.values())) for views in visit.seen.values()),
            shape=plan.shape.__dict__,
            pdf_characters_without_a_font=sorted(missing_glyphs),
        )
        scene_reports.append(summary)
        for context in (marina_context, oleg_context, moderator_context, moderator_csp_context, visitor_context):
            if context is not None:
                context.close()

    assert summary["dialogs"] == 0
    assert summary["markers"] == 0
    not_shown = {
        name: [value for value in values if value not in visit.values_shown[name]]
        for name, values in plan.values.items()
    }
    assert not any(not_shown.values()), f"stored but never checked on a page: {not_shown}"


def test_payloads_in_the_start_page_link_are_shown_as_text(live_server, chromium, artifacts):
    """The ?code= of a shared link is put back into the form, and every page echoes its own
    path into the language switch: both are reflected, so both must stay text."""
    visit = Visit(artifacts)
    context, page = visit.open(chromium, "visitor-csp", bypass_csp=False)
    try:
        for param in PAYLOADS:
            payload = param.values[0]
            page.goto(f"{live_server.url}/?code={quote(payload, safe='')}")
            visit.shows(f"start-page-link-{param.id}", "join code", page.input_value("#join_code"), payload)
            visit.shows(
                f"start-page-link-{param.id}",
                "path in the language switch",
                page.input_value(".lang-switch input[name=next]"),
                f"/?code={quote(payload, safe='')}",
            )
            visit.inert(page, f"start-page-link-{param.id}")
    finally:
        summary = visit.report(payloads=len(PAYLOADS), reflected_in="?code= of the start page")
        context.close()
    assert summary["dialogs"] == 0
    assert summary["markers"] == 0


HTML_PAYLOADS = [param for param in PAYLOADS if re.search("<[A-Za-z]", param.values[0])]


def test_the_checks_catch_a_payload_that_does_reach_the_page_as_html(live_server, chromium):
    """A control for the tests above: put payloads into a page with innerHTML, as a buggy view
    would. Every HTML payload leaves an element behind; without the CSP a handler runs and sets
    the marker; with it the browser reports a violation. So a clean result above means something."""
    open_watch, strict_watch = Watch("no-csp"), Watch("csp")
    open_context = chromium.new_context(bypass_csp=True)
    strict_context = chromium.new_context()
    try:
        pages = []
        for context, watch in ((open_context, open_watch), (strict_context, strict_watch)):
            context.add_init_script(WATCH_SCRIPT)
            page = context.new_page()
            page.on("dialog", watch.on_dialog)
            page.on("console", watch.on_console)
            page.goto(live_server.url + "/")
            pages.append(page)
        open_page, strict_page = pages

        for param in HTML_PAYLOADS:
            strict_page.evaluate("html => { document.querySelector('main').innerHTML = html; }", param.values[0])
            assert strict_page.evaluate(INJECTED_ELEMENTS_JS), f"{param.id} left no trace when injected"

        img_onerror = next(param.values[0] for param in PAYLOADS if param.id == "img-onerror")
        with open_page.expect_console_message(lambda message: message.text.startswith("XSS-MARKER"), timeout=WAIT_MS):
            open_page.evaluate("html => { document.querySelector('main').innerHTML = html; }", img_onerror)
        assert open_page.evaluate("window.__xss") == 3
        strict_page.goto(live_server.url + "/")
        with strict_page.expect_console_message(
            lambda message: message.text.startswith("CSP-VIOLATION"), timeout=WAIT_MS
        ):
            strict_page.evaluate("html => { document.querySelector('main').innerHTML = html; }", img_onerror)
        assert strict_page.evaluate("window.__xss") is None
    finally:
        open_context.close()
        strict_context.close()
    assert open_watch.markers, "without the CSP an injected handler runs and is seen"
    assert strict_watch.markers == [] and strict_watch.dialogs == []
    assert strict_watch.csp_violations, "with the CSP the browser reports what it blocked"
