// What the moderator runs, as the group sees it in the editor: the timer, the
// announcements, the lock (the editor turns read-only live), dot voting, and
// the readiness to-do list.
import { chime, Countdown, formatSeconds, serverNow, syncClock } from './countdown.js';
import { progressWords, t } from './i18n.js';
import { fillRanking } from './vote_ranking.js';

const DISMISSED_KEY = 'roadmap:dismissed-announcements';
// Opening a card stays possible under a lock; the ↑ ↓ buttons follow the lock in steps.js, as the list's ends disable them too.
const EDITABLE = '.map-header [data-field], .steps-section input, .steps-section select, .steps-section textarea, '
  + '.steps-section button:not(.step-expand):not(.dot-button):not(.step-up):not(.step-down), .stakeholders-section input, '
  + '.stakeholders-section select, .stakeholders-section textarea, .stakeholders-section button:not(.stakeholder-expand)';

export class Facilitation {
  constructor({ data, store, connection, steps, toasts }) {
    Object.assign(this, { store, connection, steps, toasts });
    this.roadmapId = data.roadmap_id;
    this.readinessLabels = data.readiness_labels;
    this.readinessHints = data.readiness_hints || {};
    this.timers = { all: null, group: null };
    this.vote = null;
    this.timerBox = document.getElementById('editor-timer');
    this.countdown = new Countdown({
      onTick: (timer, left) => this.showTimer(timer, left),
      onZero: () => { chime(); this.toasts.show(t('time_up')); },
    });
    this.showReadiness(data.readiness);
    this.bindSocket(connection.socket);
    document.getElementById('steps').addEventListener('click', (event) => this.dotClicked(event));
  }

  bindSocket(socket) {
    socket.on('timer', (update) => {
      if (update.scope === 'group' && update.roadmap_id !== this.roadmapId) return;
      this.timers[update.scope] = update.timer;
      this.chooseTimer();
    });
    socket.on('announcement', (update) => {
      // No announcement: the training is over, and what it said is no longer news.
      if (update.announcement) this.addAnnouncement(update.announcement, true);
      else document.getElementById('announcements').replaceChildren();
    });
    socket.on('vote', (update) => this.setVote(update.vote, false));
    socket.on('readiness', (update) => { if (update.roadmap_id === this.roadmapId) this.showReadiness(update); });
  }

  /** The facilitation part of a join answer: everything as it is now. */
  joined(state) {
    if (!state) return;
    syncClock(state.server_now);
    this.timers = { ...state.timers };
    this.chooseTimer();
    document.getElementById('announcements').replaceChildren();
    for (const item of state.announcements) this.addAnnouncement(item, false);
    this.setVote(state.vote, true);
  }

  // --- timer ----------------------------------------------------------------
  chooseTimer() {
    this.countdown.set(this.timers.group || this.timers.all);
  }

  showTimer(timer, left) {
    this.timerBox.hidden = !timer;
    if (!timer) return;
    this.timerBox.dataset.done = timer.running && left === 0;
    this.timerBox.dataset.running = timer.running;
    this.timerBox.querySelector('.countdown').textContent = formatSeconds(left);
    this.timerBox.querySelector('.countdown-label').textContent = timer.running
      ? (left === 0 ? t('time_up') : timer.label) : `${timer.label} (${t('paused')})`.trim();
  }

  // --- announcements --------------------------------------------------------
  addAnnouncement(item, fresh) {
    if (dismissed().includes(item.id) || document.querySelector(`[data-announcement-id="${item.id}"]`)) return;
    const banner = document.createElement('div');
    banner.className = 'announcement';
    banner.dataset.announcementId = item.id;
    banner.setAttribute('role', fresh ? 'alert' : 'status');
    const label = document.createElement('strong');
    label.textContent = `${t('announcement')}: `;
    const text = document.createElement('span');
    text.textContent = item.text;
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'icon-button announcement-close';
    close.setAttribute('aria-label', t('dismiss'));
    close.textContent = '✕';
    close.addEventListener('click', () => { remember(item.id); banner.remove(); });
    banner.append(label, text, close);
    document.getElementById('announcements').append(banner);
    // Someone scrolled down the steps would not see the banner at the top.
    if (fresh) this.toasts.show(`${t('announcement')}: ${item.text}`);
  }

  // --- lock -----------------------------------------------------------------
  render(map) {
    const locked = Boolean(map.locked);
    document.body.classList.toggle('map-locked', locked);
    document.getElementById('lock-banner').hidden = !locked;
    for (const control of document.querySelectorAll(EDITABLE)) {
      if (locked) {
        if (!control.disabled) { control.disabled = true; control.dataset.lockedOff = ''; }
      } else if ('lockedOff' in control.dataset) {
        control.disabled = false;
        delete control.dataset.lockedOff;
      }
    }
    this.steps.sortable.option('disabled', locked);
    if (locked && !this.wasLocked) this.toasts.show(t('map_locked'));
    this.wasLocked = locked;
    this.showDots();
    this.markOverdue();
  }

  // --- dot voting -----------------------------------------------------------
  setVote(vote, fromJoin) {
    const applies = vote && (vote.roadmap_id === null || vote.roadmap_id === this.roadmapId);
    const previous = this.vote;
    if (!applies) this.vote = null;
    else if (fromJoin || vote.my_dots) this.vote = vote;
    else this.vote = { ...vote, my_dots: previous?.id === vote.id ? previous.my_dots : {} };
    this.showDots();
  }

  get votingOpen() {
    return Boolean(this.vote && !this.vote.closed && (!this.vote.ends_at || Date.parse(this.vote.ends_at) > serverNow()));
  }

  showDots() {
    const bar = document.getElementById('vote-bar');
    const vote = this.vote;
    bar.hidden = !vote;
    document.body.classList.toggle('voting', this.votingOpen);
    if (!vote) {
      for (const box of document.querySelectorAll('.step-dots')) box.hidden = true;
      return;
    }
    const used = Object.values(vote.my_dots || {}).reduce((sum, count) => sum + count, 0);
    const left = vote.dots_per_person - used;
    bar.querySelector('.vote-question').textContent = vote.question || t('vote_default_question');
    const ranked = this.votingOpen ? [] : (vote.ranking || []).filter((item) => item.roadmap_id === this.roadmapId);
    bar.querySelector('.vote-left').textContent = this.votingOpen ? t('vote_how', left)
      : (vote.results ? (ranked.length ? t('vote_ranking') : t('no_dots')) : t('vote_over'));
    fillRanking(bar.querySelector('.vote-bar-ranking'), ranked);
    for (const [stepId, node] of this.steps.nodes) {
      const box = node.querySelector('.step-dots');
      const mine = vote.my_dots?.[stepId] || 0;
      box.hidden = !this.votingOpen;
      box.querySelector('.dot-mine').textContent = mine ? '●'.repeat(Math.min(mine, 10)) : '';
      box.querySelector('.dot-add').hidden = !this.votingOpen;
      box.querySelector('.dot-add').disabled = left <= 0;
      box.querySelector('.dot-remove').hidden = !this.votingOpen || mine === 0;
      // Once the vote is over the bar ranks the steps, so the totals leave the steps.
      const total = vote.results && this.votingOpen ? (vote.results[stepId] || 0) : null;
      box.querySelector('.dot-total').hidden = total === null;
      box.querySelector('.dot-total').textContent = total === null ? '' : t('dot_total', total);
    }
  }

  dotClicked(event) {
    const button = event.target.closest('.dot-button');
    if (!button || !this.vote) return;
    const stepId = button.closest('.step').dataset.stepId;
    const action = button.classList.contains('dot-add') ? 'add' : 'remove';
    button.disabled = true;
    this.connection.socket.timeout(10000).emit('dot', { vote_id: this.vote.id, step_id: stepId, action }, (timedOut, answer) => {
      button.disabled = false;
      if (timedOut) { this.toasts.error(t('not_sent')); return; }
      if (!answer.ok) { this.toasts.error(answer.error?.message || t('not_sent')); return; }
      this.vote = answer.vote;
      this.showDots();
    });
  }

  // --- readiness ------------------------------------------------------------
  showReadiness(readiness) {
    if (!readiness) return;
    const list = document.getElementById('readiness-list');
    list.replaceChildren(...readiness.checks.map((check) => this.readinessItem(check)));
    const note = document.getElementById('readiness-template-note');
    const leftOut = readiness.template_step_ids?.length || 0;
    note.hidden = leftOut === 0;
    note.textContent = leftOut ? t('template_steps_left_out', leftOut) : '';
    document.getElementById('readiness-score').textContent = `${readiness.score}%`;
    document.getElementById('readiness-score').dataset.level = readiness.score >= 80 ? 'good' : readiness.score >= 50 ? 'fair' : 'low';
    if (readiness.progress) this.showProgress(readiness.progress);
  }

  readinessItem(check) {
    const applicable = check.applicable !== false;
    const item = document.createElement('li');
    item.className = !applicable ? 'todo-na' : check.passed ? 'todo-done' : 'todo-open';
    item.dataset.check = check.code;
    item.textContent = this.readinessLabels[check.code] || check.code;
    const hint = document.createElement('span');
    hint.className = 'todo-hint muted small';
    hint.textContent = applicable ? (check.passed ? '' : this.readinessHints[check.code] || '') : t('nothing_to_check');
    if (hint.textContent) item.append(hint);
    return item;
  }

  showProgress(progress) {
    this.overdue = new Set(progress.overdue_ids);
    const box = document.getElementById('progress-pill');
    box.hidden = progress.total === 0;
    box.querySelector('.progress-value').textContent = progressWords(progress);
    box.querySelector('progress').value = progress.percent;
    this.markOverdue();
  }

  markOverdue() {
    for (const [stepId, node] of this.steps.nodes) {
      if (this.overdue?.has(stepId)) node.dataset.overdue = 'true';
      else delete node.dataset.overdue;
    }
  }
}

function dismissed() {
  try { return JSON.parse(localStorage.getItem(DISMISSED_KEY)) || []; } catch { return []; }
}

function remember(id) {
  const ids = [...dismissed(), id].slice(-200);
  try { localStorage.setItem(DISMISSED_KEY, JSON.stringify(ids)); } catch { /* private mode: dismissal lasts this page */ }
}
