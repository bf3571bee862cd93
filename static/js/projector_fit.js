// Fits the projected screen to the projector: the largest type at which all of it
// shows without scrolling, trying the steps in one column and in two. A map too
// long even at the smallest readable type scrolls slowly through, pausing at each end.
const LARGEST_PX = 44;
const SMALLEST_PX = 20; // a step title still read from the back of a hall at 1280×720
const LAYOUTS = ['one-column', 'two-columns'];
const SCROLL_PX_PER_SECOND = 30;
const PAUSE_MS = 5000;
const scrolling = new WeakMap();

export function fitToScreen(box) {
  stopScrolling(box);
  let best = null;
  for (const layout of LAYOUTS) {
    box.dataset.layout = layout;
    const size = largestFitting(box);
    if (size !== null && (!best || size > best.size)) best = { layout, size };
  }
  box.dataset.layout = best?.layout ?? LAYOUTS[0];
  setSize(box, best?.size ?? SMALLEST_PX);
  box.dataset.fits = String(Boolean(best));
  if (!best) startScrolling(box);
}

function setSize(box, px) {
  box.style.setProperty('--projector-font', `${px}px`);
}

function fits(box) {
  return box.scrollHeight <= box.clientHeight + 1 && box.scrollWidth <= box.clientWidth + 1;
}

/** The largest whole pixel size at which the box shows everything, or null when even the smallest overflows. */
function largestFitting(box) {
  let low = SMALLEST_PX;
  let high = LARGEST_PX;
  setSize(box, low);
  if (!fits(box)) return null;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    setSize(box, middle);
    if (fits(box)) low = middle; else high = middle - 1;
  }
  return low;
}

function startScrolling(box) {
  const state = { offset: 0, direction: 1, pausedUntil: performance.now() + PAUSE_MS, last: performance.now() };
  scrolling.set(box, state);
  box.scrollTop = 0;
  const advance = (now) => {
    if (scrolling.get(box) !== state) return;
    const elapsed = now - state.last;
    state.last = now;
    if (now >= state.pausedUntil) {
      const end = box.scrollHeight - box.clientHeight;
      if (state.direction > 0) {
        state.offset = Math.min(end, state.offset + (SCROLL_PX_PER_SECOND * elapsed) / 1000);
        if (state.offset >= end) { state.direction = -1; state.pausedUntil = now + PAUSE_MS; }
        box.scrollTop = state.offset;
      } else {
        // Back to the top in one smooth move, then read down again.
        box.scrollTo({ top: 0, behavior: 'smooth' });
        Object.assign(state, { offset: 0, direction: 1, pausedUntil: now + PAUSE_MS });
      }
    }
    requestAnimationFrame(advance);
  };
  requestAnimationFrame(advance);
}

function stopScrolling(box) {
  scrolling.delete(box);
  box.scrollTop = 0;
}
