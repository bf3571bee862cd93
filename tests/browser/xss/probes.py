"""What the browser is searched for, and the record of each page visit."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from tests.browser.xss.corpus import PAYLOAD_IDS
from tests.browser.xss.plan import payloads_in

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
