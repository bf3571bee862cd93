// The projector view: shows what the moderator picked on the dashboard (the join
// screen, one group's map or stakeholder grid, every group, the vote results) and follows a new pick
// or new content live (the dashboard feed tells it, at most once a second).
import { io } from '/vendor/socket.io.esm.min.js';
import { chime, Countdown, formatSeconds, syncClock } from './countdown.js';
import { fitToScreen } from './projector_fit.js';

const data = JSON.parse(document.getElementById('projector-data').textContent);
const projected = document.getElementById('projected');
let shown = describe();
let loading = null;

/** What the screen shows now, as its fragment says. */
function describe() {
  const screen = projected.querySelector('.projector-screen');
  return {
    mode: screen?.dataset.mode,
    groupId: screen?.dataset.groupId ? Number(screen.dataset.groupId) : null,
    revision: screen?.dataset.revision ? Number(screen.dataset.revision) : null,
  };
}

async function reload() {
  if (loading) { loading.again = true; return; }
  loading = { again: false };
  try {
    const response = await fetch(data.fragment_url, { credentials: 'same-origin' });
    if (response.ok) {
      projected.innerHTML = await response.text();
      shown = describe();
      fitToScreen(projected);
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

function choiceDiffers(projector) {
  return projector.mode !== shown.mode || (projector.group_id ?? null) !== shown.groupId;
}

/** Whether a dashboard update changes what is on screen: the shown map's revision, or any group for the overview. */
function contentChanged(groups) {
  if (shown.mode === 'overview') return groups.length > 0;
  if (shown.groupId === null) return false; // no group's map or grid on screen
  const group = groups.find((item) => item.group_id === shown.groupId);
  return Boolean(group && group.revision !== shown.revision);
}

const socket = io({ transports: ['websocket'], reconnectionDelayMax: 5000 });
socket.on('connect', () => {
  socket.timeout(10000).emit('watch', { training_id: data.training_id }, (timedOut, answer) => {
    if (timedOut || !answer?.ok) return;
    syncClock(answer.server_now);
    countdown.set(answer.timer);
    if (choiceDiffers(answer.projector) || contentChanged(answer.groups) || shown.mode === 'votes') reload();
  });
});
socket.on('projector', (update) => { if (choiceDiffers(update)) reload(); });
socket.on('dashboard', (update) => { if (contentChanged(update.groups)) reload(); });
socket.on('timer', (update) => { if (update.scope === 'all') countdown.set(update.timer); });
// The vote slide follows every turnout and tally; a map shows dots only once they are visible.
socket.on('vote', (update) => {
  const dotsOnMap = update.vote?.results || projected.querySelector('.projected-step .dot-count');
  if (shown.mode === 'votes' || (shown.mode === 'map' && dotsOnMap)) reload();
});

document.getElementById('fullscreen').addEventListener('click', () => {
  if (document.fullscreenElement) document.exitFullscreen();
  else document.documentElement.requestFullscreen?.();
});
// Fires once at the start too; the type is measured again whenever the window changes size.
new ResizeObserver(() => fitToScreen(projected)).observe(projected);
