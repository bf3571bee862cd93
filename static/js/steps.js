// The steps list: keyed rendering, inline editing, reorder by drag (mouse and
// touch, via SortableJS), keyboard (↑/↓ on the handle) or the ↑ ↓ buttons that
// touch screens show, delete with undo. On a phone a card is a summary row
// until it is opened; which cards are open is this page's own state, not an op.
import Sortable from '/vendor/sortable.esm.js';
import { OpenCards } from './cards.js';
import { renderKeyed } from './keyed.js';
import { bindChoice, bindText, showChoice, showText, showWhole } from './fields.js';
import { cycleThrough, shiftOps, startingTooEarly } from './dependencies.js';
import { t } from './i18n.js';
import { nameByCaption, nameBySummary } from './names.js';
import { newId, TEXT_FIELDS } from './ops.js';

const OTHER_OWNER = '__other__';

export class StepsView {
  constructor({ list, empty, count, template, store, toasts }) {
    Object.assign(this, { list, empty, count, template, store, toasts });
    this.nodes = new Map();
    this.open = new OpenCards('.step-expand');
    this.sortable = Sortable.create(list, {
      handle: '.drag-handle',
      animation: 150,
      delay: 120,
      delayOnTouchOnly: true,
      onEnd: (event) => this.dropped(event),
    });
  }

  render(map) {
    renderKeyed(this.list, map.steps, this.nodes, (id) => this.create(id), (node, step, index) => this.fill(node, step, index, map));
    this.empty.hidden = map.steps.length > 0;
    this.count.textContent = map.steps.length ? `(${map.steps.length})` : '';
  }

  create(stepId) {
    const node = this.template.content.firstElementChild.cloneNode(true);
    node.dataset.stepId = stepId;
    const target = { type: 'step.set', step_id: stepId };
    const set = (field, value) => this.store.edit({ ...target, field, value });
    for (const control of node.querySelectorAll('[data-field]')) {
      const field = control.dataset.field;
      if (TEXT_FIELDS.step.has(field)) bindText(control, this.store.textField(target, field));
      else if (control.classList.contains('owner-text')) {
        bindChoice(control, (value) => set('owner', value.trim() ? { text: value.trim() } : null));
      } else if (field === 'owner') bindChoice(control, (value) => this.ownerChosen(node, stepId, value));
      else if (field === 'progress') bindChoice(control, (value) => set(field, value === '' ? null : Number(value)));
      else bindChoice(control, (value) => set(field, value || null));
    }
    nameByCaption(node);
    nameBySummary(node.querySelector('.step-expand'));
    node.querySelector('.step-expand').addEventListener('click', () => { this.open.toggle(node, stepId); this.store.changed(); });
    node.querySelector('.step-delete').addEventListener('click', () => this.remove(stepId));
    node.querySelector('.drag-handle').addEventListener('keydown', (event) => this.keyMove(event, stepId));
    node.querySelector('.step-up').addEventListener('click', () => this.buttonMove(stepId, true));
    node.querySelector('.step-down').addEventListener('click', () => this.buttonMove(stepId, false));
    node.querySelector('.predecessor-select').addEventListener('change', (event) => {
      const predecessorId = event.target.value;
      event.target.value = '';
      if (predecessorId) this.waitFor(node, stepId, predecessorId);
    });
    this.comments?.bind(node, stepId, () => { if (!this.open.ids.has(stepId)) this.open.toggle(node, stepId); this.store.changed(); });
    node.querySelector('.shift-step').addEventListener('click', () => this.shift(stepId, false));
    node.querySelector('.shift-followers').addEventListener('click', () => this.shift(stepId, true));
    return node;
  }

  fill(node, step, index, map) {
    node.dataset.status = step.status;
    node.querySelector('.step-number').textContent = String(index + 1);
    node.querySelector('.drag-handle').setAttribute('aria-label', `${t('step_number', index + 1)}: ${t('move_hint')}`);
    for (const control of node.querySelectorAll('[data-field]')) {
      const field = control.dataset.field;
      if (field === 'owner') continue;
      if (TEXT_FIELDS.step.has(field)) showText(control, step[field]);
      else showChoice(control, step[field]);
    }
    this.fillOwner(node, step.owner, map);
    this.fillStakeholderChips(node, step, map);
    this.fillPredecessors(node, step, map);
    this.fillSummary(node, step, index, map);
    this.open.show(node, step.id);
    this.comments?.fill(node, step, map, this.open.ids.has(step.id));
  }

  /** The phone's summary row (title, status, owner, due date), and the step's title in the names of its buttons. */
  fillSummary(node, step, index, map) {
    const title = step.title || t('untitled_step');
    const summaryTitle = node.querySelector('.summary-title');
    summaryTitle.textContent = title;
    summaryTitle.classList.toggle('is-empty', !step.title);
    const chip = node.querySelector('.status-chip');
    chip.className = `status-chip status-${step.status}`;
    chip.textContent = node.querySelector('.status-select').selectedOptions[0]?.textContent || '';
    node.querySelector('.summary-owner').textContent = step.owner?.text || (step.owner ? node.querySelector('.owner-select').selectedOptions[0]?.textContent : '') || '';
    node.querySelector('.summary-due').textContent = step.due_on ? t('due_short').replace('{date}', shortDate(step.due_on)) : '';
    const named = (selector, key) => node.querySelector(selector).setAttribute('aria-label', t(key).replace('{title}', title));
    named('.step-delete', 'delete_step_named');
    named('.dot-add', 'dot_add_named');
    named('.dot-remove', 'dot_remove_named');
    named('.step-up', 'move_up');
    named('.step-down', 'move_down');
    const up = node.querySelector('.step-up');
    const down = node.querySelector('.step-down');
    up.disabled = index === 0 || Boolean(map.locked);
    down.disabled = index === map.steps.length - 1 || Boolean(map.locked);
  }

  fillOwner(node, owner, map) {
    const select = node.querySelector('.owner-select');
    const ownerText = node.querySelector('.owner-text');
    const options = [new Option(t('no_owner'), '')];
    const members = document.createElement('optgroup');
    members.label = t('owner_members');
    for (const member of map.members) members.append(new Option(member.name, `member:${member.id}`));
    const stakeholders = document.createElement('optgroup');
    stakeholders.label = t('owner_stakeholders');
    for (const item of map.stakeholders) stakeholders.append(new Option(item.name || t('unnamed_stakeholder'), `stakeholder:${item.id}`));
    let value = '';
    if (owner?.member) value = `member:${owner.member}`;
    else if (owner?.stakeholder) value = `stakeholder:${owner.stakeholder}`;
    else if (owner?.text) value = OTHER_OWNER;
    // An owner no longer in the lists (a deleted stakeholder, a merged member) gets an option of
    // its own while it owns the step; the signature makes it go once the owner changes.
    let stray = '';
    if (owner?.stakeholder && !map.stakeholders.some((item) => item.id === owner.stakeholder)) {
      stakeholders.append(new Option(t('deleted_stakeholder'), value));
      stray = value;
    }
    if (owner?.member && !map.members.some((member) => member.id === owner.member)) {
      members.append(new Option('?', value));
      stray = value;
    }
    const other = new Option(t('owner_other'), OTHER_OWNER);
    const signature = JSON.stringify([map.members, map.stakeholders.map((item) => [item.id, item.name]), stray]);
    if (select.dataset.signature !== signature || !select.options.length) {
      const keep = select.value;
      select.replaceChildren(...options, members, stakeholders, other);
      select.dataset.signature = signature;
      select.value = keep;
    }
    if (select.value !== value && !(select.value === OTHER_OWNER && document.activeElement === ownerText)) {
      select.value = value;
    }
    ownerText.parentElement.hidden = select.value !== OTHER_OWNER;
    showWhole(ownerText, owner?.text || '');
  }

  ownerChosen(node, stepId, value) {
    const ownerText = node.querySelector('.owner-text');
    if (value === OTHER_OWNER) {
      ownerText.parentElement.hidden = false;
      ownerText.focus();
      return;
    }
    ownerText.parentElement.hidden = true;
    let owner = null;
    if (value.startsWith('member:')) owner = { member: Number(value.slice(7)) };
    else if (value.startsWith('stakeholder:')) owner = { stakeholder: value.slice(12) };
    this.store.edit({ type: 'step.set', step_id: stepId, field: 'owner', value: owner });
  }

  fillStakeholderChips(node, step, map) {
    const chips = node.querySelector('.chips');
    const wanted = map.stakeholders.map((item) => [item.id, item.name, step.stakeholder_ids.includes(item.id)]);
    const signature = JSON.stringify(wanted);
    if (chips.dataset.signature === signature) return;
    chips.dataset.signature = signature;
    chips.replaceChildren(...wanted.map(([id, name, linked]) => {
      const chip = document.createElement('button');
      chip.type = 'button';
      chip.className = 'chip';
      chip.setAttribute('aria-pressed', String(linked));
      chip.textContent = name || t('unnamed_stakeholder');
      chip.addEventListener('click', () => this.store.edit({
        type: linked ? 'step.unlink' : 'step.link', step_id: step.id, stakeholder_id: id,
      }));
      return chip;
    }));
    node.querySelector('.step-stakeholders').hidden = wanted.length === 0;
  }

  /** The steps this one waits for, as chips that stop the wait; the others to choose from; a too-early start. */
  fillPredecessors(node, step, map) {
    const numbered = new Map(map.steps.map((item, index) => [item.id, `${index + 1}. ${item.title || t('untitled_step')}`]));
    const waitsFor = step.depends_on || [];
    const choices = map.steps.filter((item) => item.id !== step.id && !waitsFor.includes(item.id));
    const tooEarly = startingTooEarly(map.steps).filter((flag) => flag.step.id === step.id);
    const signature = JSON.stringify([[...numbered], waitsFor, tooEarly.map((flag) => [flag.predecessor.id, flag.predecessor.due_on, step.starts_on, step.due_on])]);
    const fieldset = node.querySelector('.step-predecessors');
    if (fieldset.dataset.signature === signature) return;
    fieldset.dataset.signature = signature;
    node.querySelector('.predecessor-chips').replaceChildren(...waitsFor.map((id) => {
      const chip = document.createElement('button');
      chip.type = 'button';
      chip.className = 'chip predecessor-chip';
      chip.textContent = `${numbered.get(id) || '?'} ×`;
      chip.setAttribute('aria-label', t('remove_predecessor').replace('{title}', numbered.get(id) || ''));
      chip.addEventListener('click', () => this.store.edit({ type: 'step.undepend', step_id: step.id, predecessor_id: id }));
      return chip;
    }));
    const select = node.querySelector('.predecessor-select');
    select.replaceChildren(
      new Option(choices.length ? t('add_predecessor') : t('no_predecessor_left'), ''),
      ...choices.map((item) => new Option(numbered.get(item.id), item.id)),
    );
    select.disabled = !choices.length;
    const warning = node.querySelector('.starts-too-early');
    warning.hidden = !tooEarly.length;
    warning.querySelector('.too-early-text').textContent = tooEarly.map(({ predecessor }) => t('starts_too_early')
      .replace('{start}', shortDate(step.starts_on || step.due_on)).replace('{title}', predecessor.title || t('untitled_step'))
      .replace('{due}', shortDate(predecessor.due_on))).join('; ');
  }

  /** Make a step wait for another, unless that closes a circle: then say which steps make it. */
  waitFor(node, stepId, predecessorId) {
    const steps = this.store.view.steps;
    const cycle = cycleThrough(steps, stepId, predecessorId);
    const refused = node.querySelector('.dependency-refused');
    refused.hidden = !cycle;
    if (cycle) {
      const titles = cycle.map((id) => `«${steps.find((step) => step.id === id)?.title || t('untitled_step')}»`);
      refused.textContent = t('dependency_cycle').replace('{steps}', titles.join(' → '));
      return;
    }
    this.store.edit({ type: 'step.depend', step_id: stepId, predecessor_id: predecessorId });
  }

  /** One click: the step starts when its last predecessor is due, and on request so do the steps after it. */
  shift(stepId, withFollowers) {
    for (const op of shiftOps(this.store.view.steps, stepId, withFollowers)) this.store.edit(op);
  }

  add(title) {
    const stepId = newId();
    this.store.edit({ type: 'step.add', step_id: stepId, fields: { title } });
    return stepId;
  }

  remove(stepId) {
    const title = this.store.view.steps.find((step) => step.id === stepId)?.title;
    this.store.edit({ type: 'step.delete', step_id: stepId });
    this.toasts.show(`${t('step_deleted')} ${title ? `«${title}»` : ''}`, t('undo'), () => {
      this.store.edit({ type: 'step.restore', step_id: stepId });
    });
  }

  dropped(event) {
    const node = event.item;
    const before = node.previousElementSibling;
    if (event.oldIndex === event.newIndex) return;
    this.store.edit({ type: 'step.move', step_id: node.dataset.stepId, after_id: before ? before.dataset.stepId : null });
  }

  keyMove(event, stepId) {
    if (event.key !== 'ArrowUp' && event.key !== 'ArrowDown') return;
    event.preventDefault();
    if (this.move(stepId, event.key === 'ArrowUp')) this.nodes.get(stepId)?.querySelector('.drag-handle').focus();
  }

  buttonMove(stepId, up) {
    if (!this.move(stepId, up)) return;
    // At the top or bottom the pressed button turns disabled: keep the focus in the card on the other one.
    const node = this.nodes.get(stepId);
    const pressed = node?.querySelector(up ? '.step-up' : '.step-down');
    (pressed?.disabled ? node.querySelector(up ? '.step-down' : '.step-up') : pressed)?.focus();
  }

  /** Move a step one place up or down, as one step.move op; false at either end. */
  move(stepId, up) {
    const ids = this.store.view.steps.map((step) => step.id);
    const index = ids.indexOf(stepId);
    if ((up && index <= 0) || (!up && index >= ids.length - 1)) return false;
    const afterId = up ? (index >= 2 ? ids[index - 2] : null) : ids[index + 1];
    this.store.edit({ type: 'step.move', step_id: stepId, after_id: afterId });
    this.toasts.announce(up ? t('moved_up') : t('moved_down'));
    return true;
  }
}


function shortDate(isoDate) {
  const [year, month, day] = isoDate.split('-').map(Number);
  return new Intl.DateTimeFormat(document.documentElement.lang || undefined, { day: 'numeric', month: 'short' })
    .format(new Date(year, month - 1, day));
}
