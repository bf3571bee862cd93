// Edits the server refused because someone else changed the field first
// (the `conflict` code of docs/protocol.md): shown to their author, in words,
// until they choose to keep the other value or set theirs over it. They live
// in the store, so they survive a reload.
import { fieldOwner } from './ops.js';
import { t } from './i18n.js';
import { findControl } from './presence.js';

export class ConflictsView {
  constructor({ panel, store, root, locale, timeZone }) {
    Object.assign(this, { panel, store, root });
    this.dateFormat = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
    // Times in the training's zone, as the server's pages show them.
    this.timeFormat = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', timeZone });
  }

  render(map) {
    for (const marked of this.root.querySelectorAll('.has-conflict')) marked.classList.remove('has-conflict');
    const open = this.store.conflicts;
    this.panel.hidden = open.length === 0;
    if (!open.length) { this.panel.replaceChildren(); return; }
    for (const { op } of open) this.controlOf(op)?.classList.add('has-conflict');
    this.panel.replaceChildren(this.card(open[0], map, open.length - 1));
  }

  card({ op, conflict }, map, others) {
    const card = document.createElement('div');
    card.className = 'conflict-card';
    card.setAttribute('role', 'alertdialog');
    card.setAttribute('aria-label', t('conflict_title'));
    const theirs = this.valueLabel(op, conflict.current, map);
    const mine = this.valueLabel(op, op.value, map);
    const story = document.createElement('p');
    story.className = 'conflict-story';
    story.textContent = fill(t('conflict_sentence'), {
      when: t(op.made_offline ? 'conflict_offline' : 'conflict_online'),
      field: t(`conflict_field_${op.field}`),
      where: this.where(op, map),
      value: theirs,
      who: this.who(conflict),
    });
    const yours = document.createElement('p');
    yours.className = 'conflict-yours';
    yours.textContent = fill(t('conflict_yours'), { value: mine });
    const actions = document.createElement('div');
    actions.className = 'conflict-actions';
    actions.append(
      this.button('conflict-keep button primary', fill(t('conflict_keep'), { value: theirs }), () => this.store.resolveConflict(0, false)),
      this.button('conflict-set-mine button', fill(t('conflict_set'), { value: mine }), () => this.store.resolveConflict(0, true)),
    );
    card.append(story, yours, actions);
    if (others > 0) {
      const more = document.createElement('p');
      more.className = 'conflict-more muted small';
      more.textContent = t('conflict_more', others);
      card.append(more);
    }
    return card;
  }

  button(className, label, action) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = className;
    button.textContent = label;
    button.addEventListener('click', action);
    return button;
  }

  where(op, map) {
    const item = fieldOwner(map, op);
    if (op.type === 'step.set') return fill(t('conflict_where_step'), { title: item?.title || t('untitled_step') });
    if (op.type === 'stakeholder.set') {
      return fill(t('conflict_where_stakeholder'), { name: item?.name || t('unnamed_stakeholder') });
    }
    return t('conflict_where_map');
  }

  who(conflict) {
    const name = conflict.changed_by?.name || t('someone');
    return conflict.changed_at ? `${name}, ${this.timeFormat.format(new Date(conflict.changed_at))}` : name;
  }

  /** A value as the person reads it: the option's label, a member's name, a date in their language. */
  valueLabel(op, value, map) {
    if (value === null || value === undefined || value === '') {
      return op.field === 'owner' ? t('no_owner') : t('no_value');
    }
    if (op.field === 'owner') return ownerName(value, map);
    if (op.field === 'starts_on' || op.field === 'due_on') return this.dateFormat.format(new Date(`${value}T00:00:00Z`));
    if (op.field === 'progress') return `${value}%`;
    const option = this.controlOf(op)?.querySelector(`option[value="${CSS.escape(String(value))}"]`);
    return option?.textContent || String(value);
  }

  controlOf(op) {
    return findControl(this.root, op);
  }
}

function ownerName(owner, map) {
  if (owner.member) return map.members.find((member) => member.id === owner.member)?.name || '?';
  if (owner.stakeholder) return map.stakeholders.find((item) => item.id === owner.stakeholder)?.name || t('deleted_stakeholder');
  return owner.text || t('no_owner');
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? values[key] : whole));
}
