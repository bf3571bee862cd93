// The projector view: shows the map the moderator picked, and follows a new pick
// or new edits live (the dashboard feed tells it, at most once a second).
import { io } from '/vendor/socket.io.esm.min.js';
import { chime, Countdown, formatSeconds, syncClock } from './countdown.js';

const data = JSON.parse(document.getElementById('projector-data').textContent);
const projected = document.getElementById('projected');
let groupId = data.group_id;
let revision = data.revision;
let vote = null;
let loading = null;

async function reload() {
  if (loading) { loading.again = true; return; }
  loading = { again: false };
  try {
    const response = await fetch(data.fragment_url, { credentials: 'same-origin' });
    if (response.ok) {
      projected.innerHTML = await response.text();
      const shown = projected.querySelector('.projected-map');
      groupId = shown ? Number(shown.dataset.groupId) : null;
      revision = shown ? Number(shown.dataset.revision) : null;
    }
  } finally {
    const again = loading.again;
    loading = null;
    if (again) reload();
  }
}

const timerBox = document.getElementById('projector-timer');
const countdown = new Countdown({
  onTick(timer, left) {
    timerBox.hidden = !timer;
    if (!timer) return;
    timerBox.dataset.done = timer.running && left === 0;
    timerBox.querySelector('.countdown').textContent = formatSeconds(left);
    timerBox.querySelector('.countdown-label').textContent = timer.running ? (timer.label || '') : `(${data.text.paused})`;
  },
  onZero() { chime(); },
});

const socket = io({ transports: ['websocket'], reconnectionDelayMax: 5000 });
socket.on('connect', () => {
  socket.timeout(10000).emit('watch', { training_id: data.training_id }, (timedOut, answer) => {
    if (timedOut || !answer?.ok) return;
    syncClock(answer.server_now);
    countdown.set(answer.timer);
    vote = answer.vote;
    const shown = answer.groups.find((group) => group.group_id === answer.projected_group_id);
    if (answer.projected_group_id !== groupId || (shown && shown.revision !== revision)) reload();
  });
});
socket.on('projector', (update) => { if (update.group_id !== groupId) reload(); });
socket.on('dashboard', (update) => {
  const shown = update.groups.find((group) => group.group_id === groupId);
  if (shown && shown.revision !== revision) reload();
});
socket.on('timer', (update) => { if (update.scope === 'all') countdown.set(update.timer); });
socket.on('vote', (update) => {
  const wasVisible = Boolean(vote?.results);
  vote = update.vote;
  if (vote?.results || wasVisible) reload();
});

document.getElementById('fullscreen').addEventListener('click', () => {
  if (document.fullscreenElement) document.exitFullscreen();
  else document.documentElement.requestFullscreen?.();
});
