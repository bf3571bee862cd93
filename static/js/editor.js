// The road map editor: wires the store, the connection and the views together.
import { Connection } from './connection.js';
import { bindChoice, bindText, showChoice, showText } from './fields.js';
import { setStrings, t } from './i18n.js';
import { TEXT_FIELDS } from './ops.js';
import { focusTarget, markFocus, renderPresence } from './presence.js';
import { StakeholdersView } from './stakeholders.js';
import { StepsView } from './steps.js';
import { MapStore } from './store.js';
import { Toasts } from './toasts.js';
import { keepForOffline } from './offline.js';
import { Facilitation } from './facilitation.js';

const data = JSON.parse(document.getElementById('editor-data').textContent);
setStrings(data.text);
const myId = data.person.id;
const store = new MapStore({ roadmapId: data.roadmap_id, personId: myId, snapshot: data.snapshot });
const toasts = new Toasts(document.getElementById('toasts'));
let people = [];
let facilitation = null; // set once the connection exists; render() runs before that

const headerControls = [...document.querySelectorAll('.map-header [data-field]')];
for (const control of headerControls) {
  const field = control.dataset.field;
  if (TEXT_FIELDS.map.has(field)) {
    bindText(control, (value, base) => store.edit({ type: 'map.set', field, value, base }));
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

function render(map) {
  for (const control of headerControls) {
    const field = control.dataset.field;
    if (TEXT_FIELDS.map.has(field)) showText(control, map[field]);
    else showChoice(control, map[field]);
  }
  document.title = `${map.title || document.querySelector('.group-name')?.textContent || ''} · Roadmap`;
  stakeholders.render(map);
  steps.render(map);
  markFocus(document.getElementById('main'), people, myId);
  facilitation?.render(map);
}

const connectionBox = document.getElementById('connection');
const connection = new Connection(store, {
  onState(state, unsent) {
    connectionBox.dataset.state = state;
    connectionBox.querySelector('.connection-label').textContent = t(state);
    connectionBox.querySelector('.connection-pending').textContent = unsent ? `· ${t('pending', unsent)}` : '';
  },
  onPresence(present) {
    people = present;
    renderPresence(document.getElementById('presence'), people, myId);
    markFocus(document.getElementById('main'), people, myId);
  },
  onRejected(error) {
    toasts.error(`${t('rejected')} ${error?.message || ''}`);
  },
  onSignedOut() {
    toasts.error(t('signed_out'));
  },
  onJoined(answer) {
    facilitation.joined(answer.facilitation);
  },
});
facilitation = new Facilitation({ data, store, connection, steps, toasts });

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

const main = document.getElementById('main');
main.addEventListener('focusin', (event) => connection.focus(focusTarget(event.target)));
main.addEventListener('focusout', (event) => {
  if (!main.contains(event.relatedTarget)) connection.focus(null);
});
window.addEventListener('pagehide', () => store.flushStorage());

store.subscribe(render);
render(store.view);
connection.start();
keepForOffline();
