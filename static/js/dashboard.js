// The moderator's dashboard: a live card per group (pushed by the server at most
// once a second), the timer, the vote, and the tool forms.
import { io } from '/vendor/socket.io.esm.min.js';
import { chime, Countdown, formatSeconds, leftOver, secondsLeft, serverNow, syncClock } from './countdown.js';
import { progressWords, setStrings, t } from './i18n.js';
import { bindLiveForms, csrfToken, postData } from './live_forms.js';
import { Toasts } from './toasts.js';
import { fillRanking } from './vote_ranking.js';

const data = JSON.parse(document.getElementById('dashboard-data').textContent);
setStrings(data.text);
syncClock(data.server_now);
const toasts = new Toasts(document.getElementById('toasts'));
const cardsBox = document.getElementById('group-cards');
const cardTemplate = document.getElementById('group-card-template');
const groups = new Map(data.groups.map((group) => [group.group_id, group]));
const groupTimers = new Map(Object.entries(data.group_timers || {}).map(([id, timer]) => [Number(id), timer]));
let projector = data.projector;
let vote = data.vote;
const trainingPath = location.pathname.replace(/\/$/, '');
const relative = new Intl.RelativeTimeFormat(data.locale, { numeric: 'auto' });
const themeLabels = Object.fromEntries(
  [...document.querySelectorAll('#theme option')].map((option) => [option.value, option.textContent]),
);

function ago(iso) {
  const seconds = Math.round((Date.parse(iso) - serverNow()) / 1000);
  if (Math.abs(seconds) < 60) return relative.format(Math.min(0, seconds), 'second');
  if (Math.abs(seconds) < 3600) return relative.format(Math.round(seconds / 60), 'minute');
  return relative.format(Math.round(seconds / 3600), 'hour');
}

function cardFor(groupId) {
  let card = cardsBox.querySelector(`[data-group-id="${groupId}"]`);
  if (!card) {
    card = cardTemplate.content.firstElementChild.cloneNode(true);
    card.dataset.groupId = groupId;
    card.querySelector('.group-card-name').id = `group-card-name-${groupId}`;
    card.setAttribute('aria-labelledby', `group-card-name-${groupId}`);
    card.querySelector('.card-lock').addEventListener('click', () => toggleLock(groupId));
    card.querySelector('.card-project').addEventListener('click', () => project('map', groupId));
    card.querySelector('.card-project-grid').addEventListener('click', () => project('grid', groupId));
    card.querySelector('.card-project-timeline').addEventListener('click', () => project('timeline', groupId));
    cardsBox.append(card);
  }
  return card;
}

function setStat(card, selector, value, label) {
  const term = card.querySelector(selector);
  term.textContent = label;
  term.nextElementSibling.textContent = value;
}

function renderCard(group) {
  const card = cardFor(group.group_id);
  const link = card.querySelector('.group-card-name');
  link.textContent = group.name;
  link.href = data.editor_url + group.roadmap_id;
  link.title = group.title || group.name;
  const theme = card.querySelector('.theme-chip');
  theme.className = `theme-chip theme-${group.theme}`;
  theme.textContent = themeLabels[group.theme] || group.theme;
  card.dataset.locked = group.locked;
  card.querySelector('.lock-badge').hidden = !group.locked;
  card.querySelector('.lock-badge').textContent = `${t('locked')}`;
  card.querySelector('.projector-badge').hidden = !projectsMap(group.group_id);
  card.querySelector('.projector-badge').textContent = `${t('projected')}`;
  const score = card.querySelector('.score');
  score.style.setProperty('--score', group.readiness.score);
  score.dataset.level = group.readiness.score >= 80 ? 'good' : group.readiness.score >= 50 ? 'fair' : 'low';
  score.setAttribute('aria-label', `${t('readiness')}: ${group.readiness.score}%`);
  score.querySelector('.score-value').textContent = `${group.readiness.score}%`;
  setStat(card, '.stat-online', `${group.online} / ${group.members}`, t('online'));
  setStat(card, '.stat-steps', group.steps, t('steps'));
  setStat(card, '.stat-stakeholders', group.stakeholders, t('stakeholders'));
  setStat(card, '.stat-owner', `${group.steps_with_owner} / ${group.steps}`, t('with_owner'));
  setStat(card, '.stat-due', `${group.steps_with_due_date} / ${group.steps}`, t('with_due_date'));
  card.querySelector('.stat-online').parentElement.dataset.active = group.online > 0;
  card.querySelector('.card-progress').textContent = group.steps ? progressWords(group.progress) : '';
  const failing = card.querySelector('.failing-checks');
  const failed = group.readiness.checks.filter((check) => check.applicable !== false && !check.passed);
  failing.replaceChildren(...(failed.length ? failed : [null]).map((check) => {
    const item = document.createElement('li');
    item.textContent = check ? data.readiness_labels[check.code] || check.code : `✓ ${t('all_checks_pass')}`;
    item.className = check ? 'check-failing' : 'check-ok';
    return item;
  }));
  nameButton(card.querySelector('.card-lock'), group.locked ? 'unlock' : 'lock', group.name);
  nameButton(card.querySelector('.card-project'), 'project', group.name);
  card.querySelector('.card-project').disabled = projectsMap(group.group_id, 'map');
  nameButton(card.querySelector('.card-project-grid'), 'project_grid', group.name);
  card.querySelector('.card-project-grid').disabled = projectsMap(group.group_id, 'grid');
  nameButton(card.querySelector('.card-project-timeline'), 'project_timeline', group.name);
  card.querySelector('.card-project-timeline').disabled = projectsMap(group.group_id, 'timeline');
  renderLastEdit(card, group);
  renderCardVote(card, group);
}

// Every card has these buttons: the visible text stays short, the accessible name says which group.
function nameButton(button, key, groupName) {
  button.textContent = t(key);
  button.setAttribute('aria-label', t(`${key}_named`).replace('{name}', groupName));
}

function renderLastEdit(card, group) {
  card.querySelector('.last-edit').textContent = group.last_edit_at
    ? `${t('last_edit')}: ${ago(group.last_edit_at)}` : t('no_edits');
  const timer = groupTimers.get(group.group_id);
  card.querySelector('.group-timer').textContent = timer && !leftOver(timer) ? formatSeconds(secondsLeft(timer)) : '';
}

function renderCardVote(card, group) {
  const ranked = (vote?.ranking || []).filter((item) => item.roadmap_id === group.roadmap_id).slice(0, 3);
  fillRanking(card.querySelector('.vote-top'), ranked);
}

function renderAll() {
  for (const group of groups.values()) renderCard(group);
  document.getElementById('groups-empty').hidden = groups.size > 0;
  renderProjectorSwitch();
}

// --- projector ----------------------------------------------------------------
/** Whether the projector shows this group (its map or its grid; `mode` asks for one of them).
 * The projector names a group only in the modes that show one. */
function projectsMap(groupId, mode = null) {
  return projector.group_id === groupId && (!mode || projector.mode === mode);
}

function renderProjectorSwitch() {
  for (const button of document.querySelectorAll('[data-projector-mode]')) {
    button.setAttribute('aria-pressed', String(button.dataset.projectorMode === projector.mode));
  }
}

for (const button of document.querySelectorAll('[data-projector-mode]')) {
  button.addEventListener('click', () => project(button.dataset.projectorMode, null));
}

async function toggleLock(groupId) {
  const group = groups.get(groupId);
  const body = new FormData();
  body.set('lock-csrf_token', csrfToken());
  body.set('lock-group_id', String(groupId));
  body.set('lock-locked', group.locked ? '0' : '1');
  const answer = await postData(`${trainingPath}/lock`, body);
  if (answer.ok) toasts.show(answer.message); else toasts.error(answer.message);
}

async function project(mode, groupId) {
  const body = new FormData();
  body.set('projector-csrf_token', csrfToken());
  body.set('projector-mode', mode);
  body.set('projector-group_id', groupId === null ? '' : String(groupId));
  const answer = await postData(`${trainingPath}/projector`, body);
  if (!answer.ok) { toasts.error(answer.message); return; }
  toasts.show(answer.message);
  projector = answer.projector;
  renderAll();
}

// --- timer ------------------------------------------------------------------
const timerBox = document.getElementById('dash-timer');
const countdown = new Countdown({
  onTick(timer, left) {
    timerBox.dataset.running = Boolean(timer?.running);
    timerBox.dataset.done = timer?.running && left === 0;
    timerBox.querySelector('.countdown').textContent = timer ? formatSeconds(left) : '--:--';
    timerBox.querySelector('.countdown-label').textContent = !timer ? t('no_timer')
      : `${timer.label || ''}${timer.running ? '' : ` (${t('paused')})`}`;
  },
  onZero() { chime(); toasts.show(`${t('time_up')}`); },
});
let allGroupsTimer = data.timer;
function setAllGroupsTimer(timer) {
  allGroupsTimer = timer;
  countdown.set(timer);
  renderTimerButtons();
}

// A button is enabled only when it makes sense for the timer of the scope picked in the form.
const timerForm = document.querySelector('form[data-tool="timer"]');
const timerScope = timerForm.querySelector('[name="timer-group_id"]');
function renderTimerButtons() {
  const held = timerScope.value ? groupTimers.get(Number(timerScope.value)) || null : allGroupsTimer;
  const timer = leftOver(held) ? null : held;
  const left = secondsLeft(timer);
  const timeUp = Boolean(timer?.running) && left === 0;
  const sensible = {
    start: true, pause: Boolean(timer?.running) && !timeUp, resume: Boolean(timer) && !timer.running,
    'add-1': Boolean(timer), 'add-5': Boolean(timer), stop: Boolean(timer), clear: timeUp,
  };
  for (const button of timerForm.querySelectorAll('button[name="timer-action"]')) button.disabled = !sensible[button.value];
}
timerScope.addEventListener('change', renderTimerButtons);
setAllGroupsTimer(data.timer);

// --- vote -------------------------------------------------------------------
function renderVote() {
  renderVoteButtons();
  for (const group of groups.values()) renderCardVote(cardFor(group.group_id), group);
  const box = document.getElementById('dash-vote');
  if (!vote) { box.replaceChildren(); return; }
  const status = document.createElement('p');
  status.className = `vote-status ${vote.closed ? 'closed' : 'open'}`;
  status.textContent = `${vote.closed ? t('vote_closed') : t('vote_open')} · ${t('dots_per_person', vote.dots_per_person)}`
    + (vote.question ? ` · ${vote.question}` : '');
  const parts = [status];
  if (!vote.closed && vote.turnout) {
    const turnout = document.createElement('p');
    turnout.className = 'vote-turnout';
    turnout.textContent = t('voted').replace('{voters}', vote.turnout.voters).replace('{members}', vote.turnout.members);
    parts.push(turnout);
  }
  if (!vote.results) {
    const hidden = document.createElement('p');
    hidden.className = 'small muted';
    hidden.textContent = t('hidden_results');
    parts.push(hidden);
  }
  if (vote.ranking?.length) {
    const list = fillRanking(document.createElement('ol'), vote.ranking.slice(0, 10), { withGroup: true });
    list.classList.add('vote-ranking', 'dash-ranking');
    parts.push(list);
  }
  box.replaceChildren(...parts);
}

function renderVoteButtons() {
  const sensible = { close: Boolean(vote) && !vote.closed, clear: Boolean(vote?.closed) };
  for (const button of document.querySelectorAll('[data-vote-action]')) button.disabled = !sensible[button.dataset.voteAction];
}

// --- «Управление группами» ---------------------------------------------------
// The section is rendered by the server (its forms carry the CSRF token); the page
// fetches it again whenever a card's member count differs from what it shows.
const manageBox = document.getElementById('manage-groups');
let managementLoading = false;
let managementAgain = false;  // membership changed while a fetch was under way

function colorAvatars(root) {
  // Colours come as data, since the CSP allows no inline styles.
  for (const avatar of root.querySelectorAll('.avatar[data-color]')) avatar.style.setProperty('--person-color', avatar.dataset.color);
}

function managementIsStale(summaries) {
  return summaries.some((group) => {
    const shown = document.getElementById(`manage-group-${group.group_id}`);
    return group.archived ? Boolean(shown) : !shown || Number(shown.dataset.members) !== group.members;
  });
}

function showGroupManagement(html) {
  const open = new Set([...manageBox.querySelectorAll('details[open]')].map((details) => details.id));
  const focused = manageBox.contains(document.activeElement) ? document.activeElement.closest('details')?.id : null;
  manageBox.innerHTML = html;
  for (const details of manageBox.querySelectorAll('details')) details.open = open.has(details.id);
  colorAvatars(manageBox);
  if (focused) document.getElementById(focused)?.querySelector('summary').focus();
}

async function refreshGroupManagement() {
  if (managementLoading) { managementAgain = true; return; }
  if (manageBox.contains(document.activeElement) && document.activeElement.matches('input, select')) {
    // Never pull a field from under the moderator's hands: refresh once they leave it.
    manageBox.addEventListener('focusout', () => setTimeout(refreshGroupManagement), { once: true });
    return;
  }
  managementLoading = true;
  try {
    const response = await fetch(manageBox.dataset.url, { credentials: 'same-origin' });
    if (response.ok) showGroupManagement(await response.text());
  } catch {
    // offline: the next dashboard update tries again
  } finally {
    managementLoading = false;
  }
  if (managementAgain) { managementAgain = false; refreshGroupManagement(); }
}

function followMembership(summaries) {
  if (managementIsStale(summaries)) refreshGroupManagement();
}

// --- live -------------------------------------------------------------------
const connectionBox = document.getElementById('dash-connection');
function showConnection(state) {
  connectionBox.dataset.state = state;
  connectionBox.querySelector('.connection-label').textContent = state === 'online' ? t('live') : t('reconnecting');
}
const socket = io({ transports: ['websocket'], reconnectionDelayMax: 5000 });
socket.on('connect', () => {
  socket.timeout(10000).emit('watch', { training_id: data.training_id }, (timedOut, answer) => {
    if (timedOut || !answer?.ok) return;
    syncClock(answer.server_now);
    for (const group of answer.groups) groups.set(group.group_id, group);
    projector = answer.projector;
    vote = answer.vote;
    groupTimers.clear();
    for (const [id, timer] of Object.entries(answer.group_timers || {})) groupTimers.set(Number(id), timer);
    setAllGroupsTimer(answer.timer);
    renderAll();
    renderVote();
    followMembership(answer.groups);
    showConnection('online');
  });
});
socket.on('disconnect', () => showConnection('reconnecting'));
socket.on('dashboard', (update) => {
  for (const group of update.groups) {
    if (group.archived) {
      groups.delete(group.group_id);
      cardsBox.querySelector(`[data-group-id="${group.group_id}"]`)?.remove();
      continue;
    }
    if (!groups.has(group.group_id) && !document.getElementById(`manage-group-${group.group_id}`)) continue;
    groups.set(group.group_id, group);
    renderCard(group);
  }
  followMembership(update.groups);
});
socket.on('timer', (update) => {
  if (update.scope === 'all') setAllGroupsTimer(update.timer);
  else {
    const group = [...groups.values()].find((item) => item.roadmap_id === update.roadmap_id);
    if (group) { if (update.timer) groupTimers.set(group.group_id, update.timer); else groupTimers.delete(group.group_id); }
    renderTimerButtons();
  }
});
socket.on('projector', (update) => { projector = { mode: update.mode, group_id: update.group_id }; renderAll(); });
socket.on('vote', (update) => { vote = update.vote; renderVote(); });
socket.on('announcement', (update) => {
  const item = update.announcement;
  if (!item) return;  // the training ended: editors drop their banners, the log here stays
  const entry = document.createElement('li');
  const time = document.createElement('time');
  time.dateTime = item.at;
  time.textContent = new Date(item.at).toLocaleTimeString(data.locale, { hour: '2-digit', minute: '2-digit', timeZone: data.timezone });
  const scope = document.createElement('span');
  scope.className = 'muted small';
  scope.textContent = ` ${item.group_name || document.querySelector('#announcement-group_id option')?.textContent || ''} `;
  const text = document.createElement('span');
  text.className = 'log-text';
  text.textContent = item.text;
  entry.append(time, scope, text);
  document.getElementById('announcement-log').prepend(entry);
  const count = document.getElementById('announcement-count');
  count.textContent = String(Number(count.textContent) + 1);
});

for (const time of document.querySelectorAll('#announcement-log time')) {
  time.textContent = new Date(time.dateTime).toLocaleTimeString(data.locale, { hour: '2-digit', minute: '2-digit', timeZone: data.timezone });
}
setInterval(() => {
  for (const group of groups.values()) renderLastEdit(cardFor(group.group_id), group);
  renderTimerButtons();  // a running timer's time runs out
}, 1000);
bindLiveForms(document.getElementById('main'), toasts, (form, answer) => {
  if (!answer.ok) return;
  if ('refreshGroups' in form.dataset) refreshGroupManagement();
  if (answer.url) window.prompt(t('copy_link'), answer.url);
  if (answer.vote !== undefined) { vote = answer.vote; renderVote(); }
  if (answer.timer !== undefined && !answer.group_id) setAllGroupsTimer(answer.timer);
  else if (answer.timer !== undefined) {
    if (answer.timer) groupTimers.set(answer.group_id, answer.timer); else groupTimers.delete(answer.group_id);
    renderTimerButtons();
  }
});
renderAll();
renderVote();
colorAvatars(document);
