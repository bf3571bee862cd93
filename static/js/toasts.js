// Short messages at the bottom of the screen, with an optional action (undo).
// While a field low on the screen is being edited (a phone's keyboard is up),
// they show at the top instead, under the sticky bar, so they never cover it.
const TOAST_MS = 7000;

export class Toasts {
  constructor(region, { below } = {}) {
    this.region = region;
    this.below = below;
    document.addEventListener('focusin', () => this.place());
  }

  place() {
    const field = document.activeElement;
    const editing = field?.matches?.('input, textarea, select');
    const viewport = window.visualViewport?.height || window.innerHeight;
    const low = editing && field.getBoundingClientRect().bottom > viewport / 2;
    this.region.classList.toggle('toasts-top', Boolean(low));
    this.region.style.top = low ? `${Math.max(0, this.below?.getBoundingClientRect().bottom || 0) + 8}px` : '';
  }

  show(message, actionLabel, action, kind = 'info') {
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
    setTimeout(() => toast.remove(), TOAST_MS);
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
