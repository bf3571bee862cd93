// A read-only map behind a secret link: the server pushes its changes; the page
// fetches the server-rendered map again, at most once a second.
import { io } from '/vendor/socket.io.esm.min.js';

const data = JSON.parse(document.getElementById('shared-data').textContent);
const shown = document.getElementById('projected');
const REFRESH_MS = 1000;
let refreshTimer = null;

async function refresh() {
  refreshTimer = null;
  const response = await fetch(data.fragment_url, { credentials: 'omit' }).catch(() => null);
  if (!response) return;
  if (response.status === 404) { showGone(); return; }
  if (response.ok) shown.innerHTML = await response.text();
}

function showGone() {
  const note = document.createElement('p');
  note.className = 'projected-empty';
  note.textContent = data.gone;
  shown.replaceChildren(note);
  socket.disconnect();
}

const socket = io({ transports: ['websocket'], auth: { share: data.token }, reconnectionDelayMax: 10000 });
socket.on('change', () => { if (!refreshTimer) refreshTimer = setTimeout(refresh, REFRESH_MS); });
socket.on('connect', () => refresh());
socket.on('disconnect', (reason) => { if (reason === 'io server disconnect') refresh(); });
socket.on('connect_error', () => refresh());
