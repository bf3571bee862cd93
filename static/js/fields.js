// Two-way binding between form controls and the store, safe while several
// people type in one field. Every keystroke goes to the store at once, so the
// control always shows the store's text; a remote change then only needs the
// caret and the selection carried through it (mapPosition).
//
// Whose words a caret belongs to decides where text that someone else inserts
// right at the caret goes: while a person types, the caret stays with their
// own words and the other text appears after it; a caret that was just placed
// (a click, an arrow key) moves along with text growing into it, so the
// person's next words start after the other person's.
import { mapPosition } from './textmerge.js';

const controls = new WeakMap(); // control -> {shown, typing, composing, current}
const CARET_KEYS = new Set(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End', 'PageUp', 'PageDown']);

function stateOf(control) {
  if (!controls.has(control)) controls.set(control, { shown: control.value, typing: false, composing: false });
  return controls.get(control);
}

/**
 * Bind a text input or textarea to a field of the store (store.textField):
 * commit(value, base, {afterOthers, caret}) runs on every change; `current()`
 * gives the field's text, to show once an input method's composition ends;
 * `caret()` where the typing caret stands in it, carried with the person's own
 * pending words (or null).
 */
export function bindText(control, { commit, current, caret }) {
  const state = stateOf(control);
  Object.assign(state, { current, caret });
  const placed = () => { state.typing = false; };
  control.addEventListener('focus', placed);
  control.addEventListener('pointerdown', placed);
  control.addEventListener('keydown', (event) => {
    if (CARET_KEYS.has(event.key) || ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'a')) placed();
    const singleLine = control.tagName === 'INPUT' || 'singleLine' in control.dataset;
    if (event.key === 'Enter' && singleLine) { event.preventDefault(); control.blur(); }
  });
  const typed = () => {
    if (control.value === state.shown) return;
    const startsRun = !state.typing;
    state.typing = true;
    const base = state.shown;
    state.shown = control.value;
    commit(control.value, base, { afterOthers: startsRun, caret: control.selectionEnd });
  };
  control.addEventListener('input', typed);
  control.addEventListener('compositionstart', () => { state.composing = true; });
  control.addEventListener('compositionend', () => {
    state.composing = false;
    typed(); // some browsers send the composed text's input event only after this one
    showText(control, state.current?.());
  });
}

/** Bind a select or date input: every change is committed at once. */
export function bindChoice(control, commit) {
  control.addEventListener('change', () => commit(control.value));
}

/** Show the store's text in a text control, carrying the caret and selection through the change. */
export function showText(control, value) {
  const text = value ?? '';
  const state = stateOf(control);
  if (state.composing) return; // rewriting the value would break the input method's composition
  if (control.value !== text) {
    if (document.activeElement === control && typeof control.selectionStart === 'number') {
      replaceKeepingSelection(control, text, state);
    } else {
      control.value = text;
    }
  }
  state.shown = text;
}

/** Show a value the person edits as a whole (owner text): never under their hands. */
export function showWhole(control, value) {
  const text = value ?? '';
  if (document.activeElement !== control && control.value !== text) control.value = text;
}

export function showChoice(control, value) {
  const text = value === null || value === undefined ? '' : String(value);
  if (control.value !== text) control.value = text;
}

function replaceKeepingSelection(control, text, state) {
  const { selectionStart, selectionEnd, selectionDirection, scrollTop } = control;
  const collapsed = selectionStart === selectionEnd;
  const typed = collapsed && state.typing ? state.caret?.() : null;
  const start = typed ?? mapPosition(control.value, text, selectionStart, collapsed ? state.typing : false);
  const end = collapsed ? start : mapPosition(control.value, text, selectionEnd, true);
  control.value = text;
  control.setSelectionRange(start, end, selectionDirection);
  control.scrollTop = scrollTop;
}
