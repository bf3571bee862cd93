// «Забыть это устройство»: before signing out, drop what this browser keeps of the person
// for working offline (see store.js and offline.js). Unsent edits are lost with it, so the
// first press says how many there are, and only a second press forgets them.
const data = JSON.parse(document.getElementById('forget-data').textContent);
const form = document.getElementById('forget-form');
const warning = document.getElementById('forget-unsent');
const OFFLINE_CACHE = 'roadmap-v1'; // offline.js and sw.js keep the editor pages there
let warned = false;

function storedJson(key) {
  try { return JSON.parse(localStorage.getItem(key)); } catch { return null; }
}

function storedKeys() {
  try { return Object.keys(localStorage); } catch { return []; }
}

/** The person's keys: their queued edits and conflicts, their maps' copies, dismissed announcements. */
function isMine(key) {
  if (!key.startsWith('roadmap:')) return false;
  if (data.person_id === null) return true; // nobody signed in: everything the app keeps here
  const parts = key.split(':');
  if (parts.length === 4 && (parts[2] === 'pending' || parts[2] === 'conflicts')) return parts[3] === String(data.person_id);
  if (parts.length === 3 && parts[2] === 'snapshot') return data.roadmap_ids.includes(Number(parts[1]));
  return key === 'roadmap:dismissed-announcements';
}

function unsentCount() {
  return storedKeys().filter(isMine).reduce((count, key) => {
    const kind = key.split(':')[2];
    const items = (kind === 'pending' || kind === 'conflicts') ? storedJson(key) : null;
    if (!Array.isArray(items)) return count;
    return count + (kind === 'pending' ? items.filter((op) => op.acked_revision === undefined).length : items.length);
  }, 0);
}

async function forget() {
  storedKeys().filter(isMine).forEach((key) => localStorage.removeItem(key));
  if (window.caches) await caches.delete(OFFLINE_CACHE).catch(() => {});
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const unsent = unsentCount();
  if (unsent > 0 && !warned) {
    warned = true;
    warning.textContent = data.text.unsent.replace('{count}', unsent);
    warning.hidden = false;
    return;
  }
  await forget();
  form.submit();
});
form.querySelector('button[type="submit"]').disabled = false;
