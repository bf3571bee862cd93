// The timeline: the steps as bars from start to due date, today's line, arrows from
// each step to the steps that wait for it, and the steps without dates beside it.
// Dragging a bar's body or ends with a mouse or pen sends step.set ops for the dates it
// changed; a tap or Enter opens the step's dates to type or pick (on a phone the chart
// scrolls sideways under a finger instead of dragging). Drawn here rather than with
// frappe-gantt: see the README («Timeline») for what that library could not do.
import { dueOf, shiftOps, startingTooEarly, startOf } from './dependencies.js';
import { t } from './i18n.js';

const DAY_MS = 86400000;
const ZOOMS = { days: 28, weeks: 12, months: 4 }; // pixels per day
const ROW = 36; // px, one step's row; CSS .tl-row has the same height (and .tl-header 40px the months')
const DONE_STATUSES = new Set(['done']);
const SVG = 'http://www.w3.org/2000/svg';

const isoDay = (number) => new Date(number * DAY_MS).toISOString().slice(0, 10);

/** Today in the training's time zone, as a day number. */
function today(timeZone) {
  const iso = new Intl.DateTimeFormat('en-CA', { timeZone: timeZone || undefined, year: 'numeric', month: '2-digit', day: '2-digit' })
    .format(new Date());
  return Date.UTC(Number(iso.slice(0, 4)), Number(iso.slice(5, 7)) - 1, Number(iso.slice(8, 10))) / DAY_MS;
}

/** The bar of a step: its first and last day (inclusive), or null without dates. */
function span(step) {
  const start = startOf(step);
  const end = dueOf(step) ?? start;
  if (start === null) return null;
  return { start: Math.min(start, end), end: Math.max(start, end) };
}

export class Timeline {
  constructor({ root, undated, zoomButtons, editor, store, locale, timeZone }) {
    Object.assign(this, { root, undated, editor, store, locale, timeZone });
    this.zoom = 'weeks';
    this.drag = null;
    this.signature = '';
    this.editing = null; // the step id whose dates the editor shows
    // Made once: building an Intl formatter costs more than drawing a bar.
    this.dayFormat = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', timeZone: 'UTC' });
    this.monthFormat = new Intl.DateTimeFormat(locale, { month: 'short', year: 'numeric', timeZone: 'UTC' });
    for (const button of zoomButtons) {
      button.addEventListener('click', () => {
        this.zoom = button.dataset.zoom;
        for (const other of zoomButtons) other.setAttribute('aria-pressed', String(other === button));
        this.render(this.store.view, true);
      });
    }
    this.root.addEventListener('pointerdown', (event) => this.pointerDown(event));
    this.root.addEventListener('pointermove', (event) => this.pointerMove(event));
    this.root.addEventListener('pointerup', (event) => this.pointerUp(event));
    this.root.addEventListener('pointercancel', () => this.cancelDrag());
    this.root.addEventListener('click', (event) => {
      const bar = event.target.closest('.tl-bar');
      if (bar && !this.justDragged) this.openEditor(bar.dataset.stepId);
      this.justDragged = false;
    });
    this.bindEditor();
  }

  render(map, force = false) {
    if (this.drag) { this.deferred = map; return; } // the bar under the pointer must not be rebuilt
    const now = today(this.timeZone);
    const signature = JSON.stringify([this.zoom, now, map.locked, map.steps.map((step) => [
      step.id, step.title, step.starts_on, step.due_on, step.status, step.depends_on])]);
    if (!force && signature === this.signature) { this.fillEditor(map); return; }
    this.signature = signature;
    this.map = map;
    this.draw(map, now);
    this.fillEditor(map);
  }

  draw(map, now) {
    const dayWidth = ZOOMS[this.zoom];
    const numbers = new Map(map.steps.map((step, index) => [step.id, index + 1]));
    const dated = map.steps.filter((step) => span(step));
    const spans = dated.map(span);
    const first = Math.min(now, ...spans.map((item) => item.start)) - 7;
    const last = Math.max(now, ...spans.map((item) => item.end)) + 21;
    this.first = first;
    this.dayWidth = dayWidth;
    const width = (last - first + 1) * dayWidth;
    const flagged = new Set(startingTooEarly(map.steps).map((flag) => flag.step.id));
    const x = (day) => (day - first) * dayWidth;

    const canvas = element('div', 'tl-canvas');
    canvas.style.setProperty('--track-width', `${width}px`);
    canvas.append(this.header(first, last, x));
    const rows = element('div', 'tl-rows');
    const rowOf = new Map();
    dated.forEach((step, index) => {
      rowOf.set(step.id, index);
      rows.append(this.row(step, spans[index], numbers.get(step.id), x, dayWidth, now, flagged.has(step.id), map.locked));
    });
    canvas.append(rows);
    const todayLine = element('div', 'tl-today');
    todayLine.style.left = `${x(now) + dayWidth / 2}px`;
    todayLine.title = t('timeline_today');
    rows.append(todayLine);
    rows.prepend(this.arrows(dated, spans, rowOf, x, dayWidth, width, first, last)); // under the bars
    this.root.replaceChildren(canvas);
    this.root.hidden = dated.length === 0;
    this.fillUndated(map.steps.filter((step) => !span(step)), numbers);
    if (!this.scrolled && dated.length) {
      this.scrolled = true; // once: later renders keep where the person scrolled to
      this.root.scrollLeft = Math.max(0, x(now) - this.root.clientWidth / 3);
    }
  }

  header(first, last, x) {
    const header = element('div', 'tl-header');
    for (let day = first; day <= last; day += 1) {
      const date = new Date(day * DAY_MS);
      // The first day is labelled too, unless the next month's label comes too close.
      const daysToNext = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1)) / DAY_MS - day;
      if (date.getUTCDate() !== 1 && (day !== first || x(first + daysToNext) - x(first) < 90)) continue;
      const label = element('span', 'tl-month');
      label.style.left = `${x(day)}px`;
      label.textContent = this.monthFormat.format(date);
      header.append(label);
    }
    return header;
  }

  row(step, { start, end }, number, x, dayWidth, now, startsTooEarly, locked) {
    const row = element('div', 'tl-row');
    row.dataset.stepId = step.id;
    const label = element('span', 'tl-label');
    label.textContent = `${number}. ${step.title || t('untitled_step')}`;
    const track = element('div', 'tl-track');
    const bar = element('button', 'tl-bar');
    bar.type = 'button';
    bar.dataset.stepId = step.id;
    bar.style.left = `${x(start)}px`;
    bar.style.width = `${(end - start + 1) * dayWidth}px`;
    const overdue = !DONE_STATUSES.has(step.status) && step.due_on && dueOf(step) < now;
    bar.classList.toggle('is-done', DONE_STATUSES.has(step.status));
    bar.classList.toggle('is-overdue', Boolean(overdue));
    bar.classList.toggle('is-early', startsTooEarly);
    bar.classList.toggle('is-milestone', !step.starts_on);
    const states = [DONE_STATUSES.has(step.status) && t('timeline_done'), overdue && t('timeline_overdue'),
      startsTooEarly && t('timeline_too_early')].filter(Boolean);
    bar.setAttribute('aria-label', `${label.textContent}: ${this.dates(step)}${states.length ? ` (${states.join(', ')})` : ''}`);
    if (!locked) {
      bar.append(element('span', 'tl-handle tl-handle-start'), element('span', 'tl-handle tl-handle-end'));
    }
    bar.disabled = Boolean(locked);
    track.append(bar);
    row.append(label, track);
    return row;
  }

  /** Week lines (on Mondays) and the arrows, in one SVG over the tracks: a CSS gradient this wide took
   * 60 ms to paint on each redraw (bench/timeline.py). */
  arrows(dated, spans, rowOf, x, dayWidth, width, first, last) {
    const svg = document.createElementNS(SVG, 'svg');
    svg.classList.add('tl-arrows');
    svg.setAttribute('width', String(width));
    svg.setAttribute('height', String(dated.length * ROW));
    svg.setAttribute('aria-hidden', 'true');
    const defs = document.createElementNS(SVG, 'defs');
    defs.innerHTML = '<marker id="tl-head" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z"/></marker>';
    const weeks = document.createElementNS(SVG, 'path');
    weeks.classList.add('tl-weeks');
    const mondays = []; // day 0, 1970-01-01, was a Thursday
    for (let day = first + ((((4 - first) % 7) + 7) % 7); day <= last; day += 7) mondays.push(`M${x(day) + 0.5},0 V${dated.length * ROW}`);
    weeks.setAttribute('d', mondays.join(' '));
    svg.append(defs, weeks);
    dated.forEach((step, index) => {
      for (const predecessorId of step.depends_on || []) {
        if (!rowOf.has(predecessorId)) continue;
        const from = spans[rowOf.get(predecessorId)];
        const x1 = x(from.end) + dayWidth;
        const y1 = rowOf.get(predecessorId) * ROW + ROW / 2;
        const x2 = x(spans[index].start);
        const y2 = index * ROW + ROW / 2;
        const path = document.createElementNS(SVG, 'path');
        const turn = y2 > y1 ? ROW / 2 : -ROW / 2;
        path.setAttribute('d', x2 - x1 >= 12
          ? `M${x1},${y1} H${x1 + 6} V${y2} H${x2 - 1}`
          : `M${x1},${y1} h6 V${y2 - turn} H${x2 - 8} V${y2} H${x2 - 1}`);
        path.classList.toggle('is-early', spans[index].start < from.end); // the same day is fine, as the rule says
        path.dataset.from = predecessorId;
        path.dataset.to = step.id;
        path.setAttribute('marker-end', 'url(#tl-head)');
        svg.append(path);
      }
    });
    return svg;
  }

  fillUndated(steps, numbers) {
    const list = this.undated.querySelector('ul');
    list.replaceChildren(...steps.map((step) => {
      const item = element('li');
      const button = element('button', 'link-button');
      button.type = 'button';
      button.textContent = `${numbers.get(step.id)}. ${step.title || t('untitled_step')}`;
      button.addEventListener('click', () => this.openEditor(step.id));
      item.append(button);
      return item;
    }));
    this.undated.hidden = steps.length === 0;
  }

  day(iso) {
    return this.dayFormat.format(new Date(`${iso}T00:00:00Z`));
  }

  dates(step) {
    const show = (iso) => this.day(iso);
    if (step.starts_on && step.due_on) return `${show(step.starts_on)} – ${show(step.due_on)}`;
    return step.due_on ? t('due_short').replace('{date}', show(step.due_on)) : show(step.starts_on);
  }

  // --- dragging (mouse and pen; a finger scrolls) ----------------------------

  pointerDown(event) {
    const bar = event.target.closest('.tl-bar');
    if (!bar || bar.disabled || event.pointerType === 'touch' || event.button !== 0) return;
    const step = this.map.steps.find((item) => item.id === bar.dataset.stepId);
    const handle = event.target.closest('.tl-handle');
    let mode = 'move';
    if (handle) mode = handle.classList.contains('tl-handle-start') ? 'start' : 'end';
    this.drag = { bar, step, mode, x: event.clientX, shift: 0, span: span(step), left: bar.offsetLeft };
    bar.setPointerCapture(event.pointerId);
    event.preventDefault();
  }

  pointerMove(event) {
    const drag = this.drag;
    if (!drag) return;
    drag.shift = Math.round((event.clientX - drag.x) / this.dayWidth);
    const { start, end } = this.dragged(drag);
    drag.bar.style.left = `${drag.left + (start - drag.span.start) * this.dayWidth}px`;
    drag.bar.style.width = `${(end - start + 1) * this.dayWidth}px`;
    drag.bar.classList.add('is-dragged');
  }

  /** The days a dragged bar covers now; an end dragged past the other end stops there. */
  dragged({ mode, shift, span: { start, end } }) {
    if (mode === 'move') return { start: start + shift, end: end + shift };
    if (mode === 'start') return { start: Math.min(start + shift, end), end };
    return { start, end: Math.max(end + shift, start) };
  }

  pointerUp() {
    const drag = this.drag;
    if (!drag) return;
    this.drag = null;
    this.justDragged = drag.shift !== 0;
    if (drag.shift !== 0) this.sendDates(drag.step, this.dragged(drag), drag.mode);
    const waiting = this.deferred;
    this.deferred = null;
    this.render(waiting || this.store.view, true);
  }

  cancelDrag() {
    this.drag = null;
    this.render(this.store.view, true);
  }

  /** The step.set ops for the dates a drag changed; a step with only a due date stays a milestone. */
  sendDates(step, { start, end }, mode) {
    const wanted = step.starts_on ? { starts_on: isoDay(start), due_on: step.due_on ? isoDay(end) : null } : { due_on: isoDay(end) };
    if (!step.starts_on && mode === 'start') wanted.starts_on = isoDay(start);
    if (!step.due_on && step.starts_on && mode !== 'start') wanted.due_on = mode === 'end' ? isoDay(end) : null;
    for (const [field, value] of Object.entries(wanted)) {
      if (value !== step[field]) this.store.edit({ type: 'step.set', step_id: step.id, field, value });
    }
  }

  // --- the dates editor (a tap, Enter, or a step without dates) --------------

  bindEditor() {
    const { editor } = this;
    for (const input of editor.querySelectorAll('input[type="date"]')) {
      input.addEventListener('change', () => {
        if (!this.editing) return;
        this.store.edit({ type: 'step.set', step_id: this.editing, field: input.name, value: input.value || null });
      });
    }
    editor.querySelector('.tl-editor-close').addEventListener('click', () => this.closeEditor());
    editor.querySelector('.shift-step').addEventListener('click', () => this.shift(false));
    editor.querySelector('.shift-followers').addEventListener('click', () => this.shift(true));
    editor.addEventListener('keydown', (event) => { if (event.key === 'Escape') this.closeEditor(); });
  }

  openEditor(stepId) {
    this.editing = stepId;
    this.editor.hidden = false;
    this.fillEditor(this.store.view);
    this.editor.querySelector('input[name="starts_on"]').focus();
  }

  closeEditor() {
    const stepId = this.editing;
    this.editing = null;
    this.editor.hidden = true;
    this.root.querySelector(`.tl-bar[data-step-id="${stepId}"]`)?.focus();
  }

  fillEditor(map) {
    if (!this.editing) return;
    const index = map.steps.findIndex((step) => step.id === this.editing);
    if (index < 0) { this.closeEditor(); return; }
    const step = map.steps[index];
    this.editor.querySelector('.tl-editor-title').textContent = `${index + 1}. ${step.title || t('untitled_step')}`;
    for (const input of this.editor.querySelectorAll('input[type="date"]')) {
      if (document.activeElement !== input) input.value = step[input.name] || '';
      input.disabled = Boolean(map.locked);
    }
    const early = startingTooEarly(map.steps).filter((flag) => flag.step.id === step.id);
    const warning = this.editor.querySelector('.starts-too-early');
    warning.hidden = early.length === 0;
    warning.querySelector('.too-early-text').textContent = early
      .map(({ predecessor }) => t('waits_for_due').replace('{title}', predecessor.title || t('untitled_step'))
        .replace('{due}', this.day(predecessor.due_on))).join('; ');
  }

  shift(withFollowers) {
    for (const op of shiftOps(this.store.view.steps, this.editing, withFollowers)) this.store.edit(op);
  }
}

function element(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}
