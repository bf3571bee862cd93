// Two-way binding between form controls and the store, safe while someone types:
// remote changes are merged into the text being edited, caret kept in place.
import { diffMain, diffXIndex } from '/vendor/diff-match-patch-es.mjs';
import { mergeText } from './ops.js';

const TYPING_PAUSE_MS = 350;
const syncedValue = new WeakMap(); // control -> the store value it last showed
const typingTimers = new WeakMap();

/** Bind a text input or textarea; commit(value, base) is called when typing pauses. */
export function bindText(control, commit) {
  syncedValue.set(control, control.value);
  const send = () => {
    clearTimeout(typingTimers.get(control));
    typingTimers.delete(control);
    const base = syncedValue.get(control);
    if (control.value === base) return;
    syncedValue.set(control, control.value);
    commit(control.value, base);
  };
  control.addEventListener('input', () => {
    clearTimeout(typingTimers.get(control));
    typingTimers.set(control, setTimeout(send, TYPING_PAUSE_MS));
  });
  control.addEventListener('blur', send);
  control.addEventListener('keydown', (event) => {
    const singleLine = control.tagName === 'INPUT' || 'singleLine' in control.dataset;
    if (event.key === 'Enter' && singleLine) { event.preventDefault(); send(); control.blur(); }
  });
}

/** Bind a select or date input: every change is committed at once. */
export function bindChoice(control, commit) {
  control.addEventListener('change', () => commit(control.value));
}

/** Show the store's value in a text control without losing what is being typed. */
export function showText(control, value) {
  const text = value ?? '';
  const previous = syncedValue.has(control) ? syncedValue.get(control) : control.value;
  if (document.activeElement === control && control.value !== previous) {
    setPreservingCaret(control, mergeText(previous, control.value, text));
  } else if (control.value !== text) {
    setPreservingCaret(control, text);
  }
  syncedValue.set(control, text);
}

export function showChoice(control, value) {
  const text = value === null || value === undefined ? '' : String(value);
  if (control.value !== text) control.value = text;
}

function setPreservingCaret(control, text) {
  if (document.activeElement !== control || typeof control.selectionStart !== 'number') {
    control.value = text;
    return;
  }
  const diffs = diffMain(control.value, text);
  const start = diffXIndex(diffs, control.selectionStart);
  const end = diffXIndex(diffs, control.selectionEnd);
  control.value = text;
  control.setSelectionRange(start, end);
}
