// The road map editor: wires the store, the connection and the views together.
import { Connection } from './connection.js';
import { CommentsView } from './comments.js';
import { followMentions } from './mentions.js';
import { ConflictsView } from './conflicts.js';
import { bindChoice, bindText, showChoice, showText } from './fields.js';
import { setStrings, t } from './i18n.js';
import { TEXT_FIELDS, useFieldSchema } from './ops.js';
import { focusTarget, markFocus, renderPresence } from './presence.js';
import { StakeholderGrid } from './stakeholder_grid.js';
import { StakeholdersView } from './stakeholders.js';
import { StepsView } from './steps.js';
import { Timeline } from './timeline.js';
import { MapStore } from './store.js';
import { Toasts } from './toasts.js';
import { keepForOffline } from './offline.js';
import { Facilitation } from './facilitation.js';

const data = JSON.parse(document.getElementById('editor-data').textContent);
useFieldSchema(data.field_schema);
setStrings(data.text, data.locale);
const myId = data.person.id;
// The product's name as the page's title ends with it, in the reader's language.
const BRAND = document.title.split(' · ').pop();
const store = new MapStore({ roadmapId: data.roadmap_id, personId: myId, snapshot: data.snapshot });
const toasts = new Toasts(document.getElementById('toasts'), { below: document.querySelector('.editor-chrome') });
const main = document.getElementById('main');
let people = [];
let facilitation = null; // set once the connection exists; render() runs before that

const headerControls = [...document.querySelectorAll('.map-header [data-field]')];
for (const control of headerControls) {
  const field = control.dataset.field;
  if (TEXT_FIELDS.map.has(field)) {
    bindText(control, store.textField({ type: 'map.set' }, field));
  } else {
    bindChoice(control, (value) => store.edit({ type: 'map.set', field, value }));
  }
}

const steps = new StepsView({
  list: document.getElementById('steps'),
  empty: document.getElementById('steps-empty'),
  count: document.getElementById('steps-count'),
  template: document.getElementById('step-template'),
  store,
  toasts,
});
const stakeholders = new StakeholdersView({
  list: document.getElementById('stakeholders'),
  empty: document.getElementById('stakeholders-empty'),
  count: document.getElementById('stakeholders-count'),
  template: document.getElementById('stakeholder-template'),
  store,
  toasts,
});
const grid = new StakeholderGrid({
  board: document.getElementById('stakeholder-grid'),
  waiting: document.getElementById('grid-waiting'),
  warnings: document.getElementById('grid-warnings'),
  store,
  high: data.grid_high,
  // The engagement levels' names, as the stakeholder cards' choice shows them.
  engagementNames: Object.fromEntries([...document.getElementById('stakeholder-template').content
    .querySelectorAll('[data-field="engagement"] option')].map((option) => [option.value, option.textContent])),
});
const timeline = new Timeline({
  root: document.getElementById('timeline'),
  undated: document.getElementById('timeline-undated'),
  zoomButtons: document.querySelectorAll('#timeline-section [data-zoom]'),
  editor: document.getElementById('timeline-editor'),
  store,
  locale: data.locale,
  timeZone: data.timezone,
});
const timelineSection = document.getElementById('timeline-section');
const connectionBox = document.getElementById('connection');
const waitingNote = document.getElementById('lock-waiting');
const conflicts = new ConflictsView({ panel: document.getElementById('conflicts'), store, root: main, locale: data.locale, timeZone: data.timezone });

function render(map, cause = {}) {
  if (cause.typing) return; // the control being typed in shows the text already
  for (const control of headerControls) {
    const field = control.dataset.field;
    if (TEXT_FIELDS.map.has(field)) showText(control, map[field]);
    else showChoice(control, map[field]);
  }
  document.title = `${map.title || document.querySelector('.group-name')?.textContent || ''} · ${BRAND}`;
  stakeholders.render(map);
  grid.render(map);
  steps.render(map);
  if (timelineSection.open) timeline.render(map);
  markFocus(main, people, myId);
  facilitation?.render(map);
  conflicts.render(map);
  markWaiting();
}

/** Outline what holds edits that wait (offline, or for an unlock), so the person sees what is not saved yet. */
function markWaiting() {
  const waiting = new Set();
  if (store.held || connectionBox.dataset.state !== 'online') {
    for (const op of store.pending) {
      if (op.acked_revision === undefined) waiting.add(op.step_id || op.stakeholder_id || `map:${op.field}`);
    }
  }
  for (const [id, node] of [...steps.nodes, ...stakeholders.nodes]) node.classList.toggle('is-waiting', waiting.has(id));
  for (const control of headerControls) control.classList.toggle('is-waiting', waiting.has(`map:${control.dataset.field}`));
}

function showConnection(state, unsent, held) {
  connectionBox.dataset.state = state;
  connectionBox.dataset.held = String(held && unsent > 0);
  connectionBox.querySelector('.connection-label').textContent = t(state);
  let pending = '';
  if (unsent) pending = `· ${held ? t('held', unsent) : t('pending', unsent)}`;
  connectionBox.querySelector('.connection-pending').textContent = pending;
  waitingNote.hidden = !(held && unsent);
  waitingNote.querySelector('.lock-waiting-text').textContent = held && unsent ? t('held_explained', unsent) : '';
  markWaiting();
}

document.getElementById('discard-held').addEventListener('click', () => {
  if (window.confirm(t('discard_held_confirm'))) store.discardHeld();
});

const connection = new Connection(store, {
  onState: showConnection,
  onPresence(present) {
    people = present;
    renderPresence(document.getElementById('presence'), people, myId);
    markFocus(main, people, myId);
  },
  onRejected(error) {
    toasts.error(`${t('rejected')} ${error?.message || ''}`);
  },
  onSignedOut() {
    toasts.error(t('signed_out'));
  },
  onLeftGroup(notice) {
    if (notice.reason === 'moved' && notice.to) {
      const open = () => window.location.assign(`/maps/${notice.to.roadmap_id}`);
      toasts.show(t('moved_to_group').replace('{group}', notice.to.name), t('open_new_map'), open, 'error', true);
    } else {
      toasts.show(t(notice.reason === 'archived' ? 'group_archived' : 'removed_from_group'), null, null, 'error', true);
    }
  },
  onJoined(answer) {
    facilitation.joined(answer.facilitation);
    steps.comments.joined(answer.unread_comments);
    // Focus belongs to the connection: tell the others again what this person is editing.
    if (main.contains(document.activeElement)) connection.focus(focusTarget(document.activeElement));
  },
});
facilitation = new Facilitation({ data, store, connection, steps, toasts });
steps.comments = new CommentsView({
  store, connection, personId: myId, personName: data.person.name, isModerator: Boolean(data.person.moderates),
  locale: data.locale,
});
followMentions(connection.socket);

document.getElementById('add-step-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('new-step-title');
  const title = input.value.trim();
  if (!title) return;
  const stepId = steps.add(title);
  input.value = '';
  steps.nodes.get(stepId)?.scrollIntoView({ block: 'nearest' });
});
document.getElementById('add-stakeholder-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('new-stakeholder-name');
  const name = input.value.trim();
  if (!name) return;
  stakeholders.add(name);
  input.value = '';
});

main.addEventListener('focusin', (event) => connection.focus(focusTarget(event.target)));
main.addEventListener('focusout', (event) => {
  store.typingDone();
  if (!main.contains(event.relatedTarget)) connection.focus(null);
});
window.addEventListener('pagehide', () => store.flushStorage());
document.addEventListener('submit', (event) => {
  if (new URL(event.target.action).pathname.startsWith('/sign-out')) store.stopStoring();
});

// On a phone the checklist, the timeline and the grid start closed: open, each is a screen of its own.
const gridSection = document.getElementById('grid-section');
if (window.matchMedia('(max-width: 600px)').matches) {
  document.getElementById('readiness').open = false;
  gridSection.open = false;
  timelineSection.open = false;
}
for (const [section, toggle] of [[gridSection, 'grid-toggle'], [timelineSection, 'timeline-toggle']]) {
  const button = document.getElementById(toggle);
  button.addEventListener('click', () => { section.open = !section.open; });
  section.addEventListener('toggle', () => button.setAttribute('aria-expanded', String(section.open)));
  button.setAttribute('aria-expanded', String(section.open));
}
timelineSection.addEventListener('toggle', () => { if (timelineSection.open) timeline.render(store.view); });

store.subscribe(render);
render(store.view);
openCommentsFromAddress();
connection.start();
keepForOffline();

/** A mention's link ends in #comments-<step id>: open that step's card at its comments. */
function openCommentsFromAddress() {
  const stepId = window.location.hash.startsWith('#comments-') ? window.location.hash.slice(10) : '';
  const node = stepId && steps.nodes.get(stepId);
  if (!node) return;
  node.querySelector('.comment-toggle').click();
  node.querySelector('.step-comments').scrollIntoView({ block: 'center' });
}
