// The stakeholders list: keyed rendering, inline editing, delete with undo. On a
// phone a card is a summary (name, sector, engagement) until it is opened.
import { OpenCards } from './cards.js';
import { renderKeyed } from './keyed.js';
import { bindChoice, bindText, showChoice, showText } from './fields.js';
import { t } from './i18n.js';
import { nameByCaption, nameBySummary } from './names.js';
import { newId, TEXT_FIELDS } from './ops.js';

const SCORE_FIELDS = new Set(['interest', 'influence']);

export class StakeholdersView {
  constructor({ list, empty, count, template, store, toasts }) {
    Object.assign(this, { list, empty, count, template, store, toasts });
    this.nodes = new Map();
    this.open = new OpenCards('.stakeholder-expand');
  }

  render(map) {
    renderKeyed(this.list, map.stakeholders, this.nodes, (id) => this.create(id), (node, item) => this.fill(node, item));
    this.empty.hidden = map.stakeholders.length > 0;
    this.count.textContent = map.stakeholders.length ? `(${map.stakeholders.length})` : '';
  }

  create(stakeholderId) {
    const node = this.template.content.firstElementChild.cloneNode(true);
    node.dataset.stakeholderId = stakeholderId;
    const target = { type: 'stakeholder.set', stakeholder_id: stakeholderId };
    const set = (field, value) => this.store.edit({ ...target, field, value });
    for (const control of node.querySelectorAll('[data-field]')) {
      const field = control.dataset.field;
      if (TEXT_FIELDS.stakeholder.has(field)) bindText(control, this.store.textField(target, field));
      else bindChoice(control, (value) => set(field, choiceValue(field, value)));
    }
    nameByCaption(node);
    nameBySummary(node.querySelector('.stakeholder-expand'));
    node.querySelector('.stakeholder-delete').addEventListener('click', () => this.remove(stakeholderId));
    node.querySelector('.stakeholder-expand').addEventListener('click', () => this.open.toggle(node, stakeholderId));
    return node;
  }

  fill(node, stakeholder) {
    node.dataset.sector = stakeholder.sector ?? '';
    for (const control of node.querySelectorAll('[data-field]')) {
      const field = control.dataset.field;
      if (TEXT_FIELDS.stakeholder.has(field)) showText(control, stakeholder[field]);
      else showChoice(control, stakeholder[field]);
    }
    const name = stakeholder.name || t('unnamed_stakeholder');
    const title = node.querySelector('.summary-title');
    title.textContent = name;
    title.classList.toggle('is-empty', !stakeholder.name);
    node.querySelector('.stakeholder-delete').setAttribute('aria-label', t('delete_stakeholder_named').replace('{title}', name));
    node.querySelector('.summary-meta').textContent = ['sector', 'engagement']
      .map((field) => node.querySelector(`[data-field="${field}"]`).selectedOptions[0]?.textContent)
      .filter(Boolean).join(' · ');
    this.open.show(node, stakeholder.id);
  }

  add(name) {
    const stakeholderId = newId();
    this.store.edit({ type: 'stakeholder.add', stakeholder_id: stakeholderId, fields: { name } });
    return stakeholderId;
  }

  remove(stakeholderId) {
    const name = this.store.view.stakeholders.find((item) => item.id === stakeholderId)?.name;
    this.store.edit({ type: 'stakeholder.delete', stakeholder_id: stakeholderId });
    this.toasts.show(`${t('stakeholder_deleted')} ${name ? `«${name}»` : ''}`, t('undo'), () => {
      this.store.edit({ type: 'stakeholder.restore', stakeholder_id: stakeholderId });
    });
  }
}

// The empty option stands for "not chosen yet", sent as null.
function choiceValue(field, value) {
  if (value === '') return null;
  return SCORE_FIELDS.has(field) ? Number(value) : value;
}
