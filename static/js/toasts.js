// Short messages at the bottom of the screen, with an optional action (undo).
// While a field low on the screen is being edited (a phone's keyboard is up),
// they show at the top instead, under the sticky bar, so they never cover it.
const TOAST_MS = 7000;

export class Toasts {
  constructor(region, { below } = {}) {
    this.region = region;
    this.below = below;
    // Focus only ever sends them up: moving them down under a finger that is pressing a button would eat the tap.
    document.addEventListener('focusin', () => { if (editingLow()) this.place(); });
    window.addEventListener('scroll', () => { if (this.region.classList.contains('toasts-top')) this.keepBelowBar(); }, { passive: true });
  }

  keepBelowBar() {
    this.region.style.top = `${Math.max(0, this.below?.getBoundingClientRect().bottom || 0) + 8}px`;
  }

  place() {
    const top = editingLow();
    this.region.classList.toggle('toasts-top', top);
    if (top) this.keepBelowBar();
    else this.region.style.top = '';
  }

  show(message, actionLabel, action, kind = 'info', lasting = false) {
    const toast = document.createElement('div');
    toast.className = `toast toast-${kind}`;
    toast.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    const text = document.createElement('span');
    text.textContent = message;
    toast.append(text);
    if (actionLabel && action) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'toast-action';
      button.textContent = actionLabel;
      button.addEventListener('click', () => { action(); toast.remove(); });
      toast.append(button);
    }
    this.place();
    this.region.append(toast);
    if (!lasting) setTimeout(() => toast.remove(), TOAST_MS);
    return toast;
  }

  error(message) {
    return this.show(message, null, null, 'error');
  }

  /** For screen readers only. */
  announce(message) {
    const note = document.createElement('span');
    note.className = 'visually-hidden';
    note.textContent = message;
    this.region.append(note);
    setTimeout(() => note.remove(), 2000);
  }
}

/** Is a field in the lower half of the screen being edited, where the toasts would cover it? */
function editingLow() {
  const field = document.activeElement;
  if (!field?.matches?.('input, textarea, select')) return false;
  const viewport = window.visualViewport?.height || window.innerHeight;
  return field.getBoundingClientRect().bottom > viewport / 2;
}
