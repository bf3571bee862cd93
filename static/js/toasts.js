// Short messages at the bottom of the screen, with an optional action (undo).
const TOAST_MS = 7000;

export class Toasts {
  constructor(region) {
    this.region = region;
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
