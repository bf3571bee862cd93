// A countdown to an end time held by the server. The page learns how far its
// clock is from the server's once (server_now), so a wrong laptop clock, a
// reload or a reconnect still shows the right time left.
let clockOffsetMs = 0;

export function syncClock(serverNowIso) {
  if (serverNowIso) clockOffsetMs = Date.parse(serverNowIso) - Date.now();
}

export function serverNow() {
  return Date.now() + clockOffsetMs;
}

/** Seconds left on a timer as the server sent it; null when there is no timer. */
export function secondsLeft(timer) {
  if (!timer) return null;
  if (!timer.running) return timer.paused_remaining_seconds ?? 0;
  return Math.max(0, Math.ceil((Date.parse(timer.ends_at) - serverNow()) / 1000));
}

// As the server's FINISHED_TIMER_SHOWN_FOR: a timer that ran out this long ago is left over, not news.
const FINISHED_TIMER_SHOWN_FOR_MS = 60 * 60 * 1000;

/** Whether a running timer's time ran out so long ago that no screen shows it any more. */
export function leftOver(timer) {
  return Boolean(timer?.running) && serverNow() - Date.parse(timer.ends_at) > FINISHED_TIMER_SHOWN_FOR_MS;
}

export function formatSeconds(total) {
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const mm = String(minutes).padStart(hours ? 2 : 1, '0');
  const ss = String(seconds).padStart(2, '0');
  return hours ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** A short chime made in the browser: no sound file to load. */
export function chime() {
  try {
    const audio = new AudioContext();
    [0, 0.25, 0.5].forEach((delay, index) => {
      const tone = audio.createOscillator();
      const volume = audio.createGain();
      tone.frequency.value = [880, 660, 990][index];
      volume.gain.setValueAtTime(0.0001, audio.currentTime + delay);
      volume.gain.exponentialRampToValueAtTime(0.3, audio.currentTime + delay + 0.02);
      volume.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + delay + 0.22);
      tone.connect(volume).connect(audio.destination);
      tone.start(audio.currentTime + delay);
      tone.stop(audio.currentTime + delay + 0.25);
    });
  } catch {
    // No audio (autoplay policy, no device): the visual cue still shows.
  }
}

/**
 * Keep an element showing a timer. `onZero` runs once when a running timer
 * reaches zero while the page is open.
 */
export class Countdown {
  constructor({ onTick, onZero }) {
    this.onTick = onTick;
    this.onZero = onZero;
    this.timer = null;
    this.rang = new Set();
    setInterval(() => this.tick(), 250);
  }

  set(timer) {
    this.timer = timer;
    // A timer already at zero when it arrives (a reload after the end) does not ring.
    if (timer && secondsLeft(timer) === 0) this.rang.add(this.key(timer));
    this.tick();
  }

  key(timer) { return `${timer.id}:${timer.ends_at}`; }

  tick() {
    if (leftOver(this.timer)) this.timer = null;
    const left = secondsLeft(this.timer);
    this.onTick(this.timer, left);
    if (this.timer?.running && left === 0 && !this.rang.has(this.key(this.timer))) {
      this.rang.add(this.key(this.timer));
      this.onZero(this.timer);
    }
  }
}
