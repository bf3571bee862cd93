// The power/interest grid in the editor: each stakeholder a chip in the cell of its influence
// (rows, 5 at the top) and interest (columns, 5 on the right). Moving a chip sends
// stakeholder.set ops, so everyone sees it move. Three ways to move one: drag it (mouse or
// finger), tap it and then tap a cell, or focus it and press the arrow keys. Stakeholders
// missing a score wait beside the grid; dropping a chip there clears its scores.
// The quadrant rule is roadmap/domain/stakeholder_grid.py's, whose HIGH score comes in the editor's data.
import { t } from './i18n.js';

const SCORES = [1, 2, 3, 4, 5];
export const QUADRANTS = ['manage_closely', 'keep_satisfied', 'keep_informed', 'monitor'];
const KEY_STEPS = { ArrowLeft: ['interest', -1], ArrowRight: ['interest', 1], ArrowDown: ['influence', -1], ArrowUp: ['influence', 1] };

/** The quadrant of a stakeholder whose scores of `high` or more are high; null while a score is unset. */
export function quadrant(item, high) {
  if (item.influence == null || item.interest == null) return null;
  if (item.influence >= high) return item.interest >= high ? 'manage_closely' : 'keep_satisfied';
  return item.interest >= high ? 'keep_informed' : 'monitor';
}

export function onlyInformed(item, high) {
  return quadrant(item, high) === 'manage_closely' && item.engagement === 'inform';
}

export class StakeholderGrid {
  constructor({ board, waiting, warnings, store, high, engagementNames }) {
    Object.assign(this, { board, waiting, warnings, store, high, engagementNames });
    this.chips = new Map();
    this.cells = new Map();
    this.picked = null; // a chip tapped, waiting for a tap on a cell
    this.drag = null;
    this.build();
  }

  build() {
    for (const key of QUADRANTS) {
      const area = document.createElement('div');
      area.className = `grid-area quadrant-${key}`;
      area.textContent = t(`quadrant_${key}`);
      area.setAttribute('aria-hidden', 'true');
      this.board.append(area);
    }
    for (const [row, influence] of [...SCORES].reverse().entries()) {
      this.board.append(scoreLabel(influence, `${row + 1} / 1`));
      for (const interest of SCORES) {
        const cell = document.createElement('div');
        cell.className = 'grid-cell';
        cell.dataset.influence = influence;
        cell.dataset.interest = interest;
        cell.style.gridArea = `${row + 1} / ${interest + 1}`;
        cell.addEventListener('click', () => this.dropPicked(cell));
        this.cells.set(`${influence}:${interest}`, cell);
        this.board.append(cell);
      }
    }
    for (const interest of SCORES) this.board.append(scoreLabel(interest, `6 / ${interest + 1}`));
    this.waiting.addEventListener('click', (event) => { if (event.target === this.waiting) this.dropPicked(this.waiting); });
  }

  render(map) {
    const seen = new Set();
    const focused = document.activeElement?.closest?.('.grid-chip')?.dataset.stakeholderId;
    for (const item of map.stakeholders) {
      seen.add(item.id);
      const chip = this.chips.get(item.id) || this.createChip(item.id);
      this.fill(chip, item);
      const home = quadrant(item, this.high) ? this.cells.get(`${item.influence}:${item.interest}`) : this.waiting;
      if (chip.parentElement !== home && chip !== this.drag?.chip) home.append(chip);
    }
    for (const [id, chip] of this.chips) {
      if (!seen.has(id)) { chip.remove(); this.chips.delete(id); }
    }
    if (focused && this.chips.has(focused) && document.activeElement !== this.chips.get(focused)) {
      this.chips.get(focused).focus({ preventScroll: true }); // moving a node takes its focus away
    }
    this.renderWarnings(map.stakeholders.filter(onlyInformed));
  }

  createChip(stakeholderId) {
    const chip = document.createElement('button');
    chip.type = 'button';
    chip.className = 'grid-chip';
    chip.dataset.stakeholderId = stakeholderId;
    chip.setAttribute('aria-pressed', 'false');
    chip.addEventListener('keydown', (event) => this.onKey(event, stakeholderId));
    chip.addEventListener('pointerdown', (event) => this.startDrag(event, chip));
    chip.addEventListener('click', (event) => {
      event.stopPropagation();
      if (chip.dataset.dragged === 'true') { delete chip.dataset.dragged; return; }
      this.pick(this.picked === chip ? null : chip);
    });
    this.chips.set(stakeholderId, chip);
    return chip;
  }

  fill(chip, item) {
    const name = item.name || t('unnamed_stakeholder');
    const flagged = onlyInformed(item, this.high);
    chip.textContent = name;
    if (flagged) {
      const flag = document.createElement('span');
      flag.className = 'grid-flag';
      flag.textContent = ' !';
      chip.append(flag);
    }
    chip.classList.toggle('is-flagged', flagged);
    chip.classList.toggle('is-unrated', !quadrant(item, this.high));
    const where = quadrant(item, this.high)
      ? t('grid_chip_place').replace('{influence}', item.influence).replace('{interest}', item.interest)
        .replace('{quadrant}', t(`quadrant_${quadrant(item, this.high)}`))
      : t('grid_chip_unrated');
    chip.setAttribute('aria-label', `${name}: ${where}. ${this.engagementNames[item.engagement] || ''}`);
    chip.title = `${name} — ${where}`;
  }

  renderWarnings(flagged) {
    this.warnings.replaceChildren(...flagged.map((item) => {
      const line = document.createElement('li');
      line.textContent = `! ${item.name || t('unnamed_stakeholder')}: ${t('grid_only_informed')}`;
      return line;
    }));
    this.warnings.hidden = flagged.length === 0;
  }

  stakeholder(stakeholderId) {
    return this.store.view.stakeholders.find((item) => item.id === stakeholderId);
  }

  /** Set the stakeholder's scores (null clears one), one stakeholder.set op per score that changes. */
  place(stakeholderId, influence, interest) {
    const item = this.stakeholder(stakeholderId);
    if (!item) return;
    for (const [field, value] of [['influence', influence], ['interest', interest]]) {
      if (item[field] !== value) this.store.edit({ type: 'stakeholder.set', stakeholder_id: stakeholderId, field, value });
    }
  }

  onKey(event, stakeholderId) {
    const move = KEY_STEPS[event.key];
    if (!move) {
      if (event.key === 'Escape') this.pick(null);
      return;
    }
    event.preventDefault();
    const item = this.stakeholder(stakeholderId);
    if (!item) return;
    // A stakeholder not rated yet enters the grid in its middle.
    const scores = { influence: item.influence ?? 3, interest: item.interest ?? 3 };
    if (quadrant(item, this.high)) scores[move[0]] = Math.min(5, Math.max(1, scores[move[0]] + move[1]));
    this.place(stakeholderId, scores.influence, scores.interest);
  }

  pick(chip) {
    if (this.picked) this.picked.setAttribute('aria-pressed', 'false');
    this.picked = chip;
    if (chip) chip.setAttribute('aria-pressed', 'true');
  }

  dropPicked(target) {
    if (!this.picked) return;
    const stakeholderId = this.picked.dataset.stakeholderId;
    this.pick(null);
    this.dropOn(stakeholderId, target);
  }

  dropOn(stakeholderId, target) {
    if (target === this.waiting) this.place(stakeholderId, null, null);
    else this.place(stakeholderId, Number(target.dataset.influence), Number(target.dataset.interest));
  }

  startDrag(event, chip) {
    if (event.button !== 0) return;
    const drag = { chip, pointerId: event.pointerId, x: event.clientX, y: event.clientY, moved: false, target: null };
    const move = (moveEvent) => {
      if (moveEvent.pointerId !== drag.pointerId) return;
      const dx = moveEvent.clientX - drag.x;
      const dy = moveEvent.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 6) return; // a tap, not a drag
      if (!drag.moved) {
        drag.moved = true;
        this.drag = drag;
        chip.classList.add('is-dragging');
      }
      chip.style.transform = `translate(${dx}px, ${dy}px)`;
      this.markTarget(drag, this.dropTargetAt(moveEvent.clientX, moveEvent.clientY));
    };
    const end = (endEvent) => {
      if (endEvent.pointerId !== drag.pointerId) return;
      chip.removeEventListener('pointermove', move);
      chip.removeEventListener('pointerup', end);
      chip.removeEventListener('pointercancel', end);
      if (!drag.moved) return;
      chip.dataset.dragged = 'true'; // the click that follows is not a tap
      chip.classList.remove('is-dragging');
      chip.style.transform = '';
      const target = endEvent.type === 'pointerup' ? drag.target : null;
      this.markTarget(drag, null);
      this.drag = null;
      if (target) this.dropOn(chip.dataset.stakeholderId, target);
      this.render(this.store.view);
    };
    chip.setPointerCapture(event.pointerId);
    chip.addEventListener('pointermove', move);
    chip.addEventListener('pointerup', end);
    chip.addEventListener('pointercancel', end);
  }

  dropTargetAt(x, y) {
    const under = document.elementFromPoint(x, y);
    return under?.closest('.grid-cell') || under?.closest('.grid-waiting') || null;
  }

  markTarget(drag, target) {
    if (drag.target === target) return;
    drag.target?.classList.remove('is-target');
    drag.target = target;
    target?.classList.add('is-target');
  }
}

function scoreLabel(score, area) {
  const label = document.createElement('div');
  label.className = 'grid-score';
  label.textContent = score;
  label.style.gridArea = area;
  label.setAttribute('aria-hidden', 'true');
  return label;
}
