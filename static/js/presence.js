// Who is here and what they are editing: avatars in the bar, coloured markers on fields.
import { t } from './i18n.js';
import { addDescription, dropDescriptions, uniqueId } from './names.js';

const TAG_ID_PREFIX = 'editing-tag';

export function renderPresence(list, people, myId) {
  list.replaceChildren(...people.map((person) => {
    const item = document.createElement('li');
    item.className = 'avatar';
    item.style.setProperty('--person-color', person.color);
    item.textContent = initials(person.name);
    item.title = person.id === myId ? `${person.name} (${t('you')})` : person.name;
    item.dataset.personId = String(person.id);
    return item;
  }));
}

/**
 * Mark every field someone else has in focus with their colour and name. The
 * tag is a description of the field, never part of its name: it is hidden from
 * the accessibility tree where it stands and read through aria-describedby.
 */
export function markFocus(root, people, myId) {
  for (const marked of root.querySelectorAll('.is-being-edited')) {
    marked.classList.remove('is-being-edited');
    marked.style.removeProperty('--person-color');
    dropDescriptions(marked, TAG_ID_PREFIX);
  }
  // Several people can have one field in focus: clear every tag, not one per field.
  for (const tag of root.querySelectorAll('.editing-tag')) tag.remove();
  for (const person of people) {
    if (person.id === myId) continue;
    for (const focus of person.focus || []) {
      const control = findControl(root, focus);
      if (!control) continue;
      control.classList.add('is-being-edited');
      control.style.setProperty('--person-color', person.color);
      const tag = document.createElement('span');
      tag.className = 'editing-tag';
      tag.style.setProperty('--person-color', person.color);
      tag.id = uniqueId(TAG_ID_PREFIX);
      tag.setAttribute('aria-hidden', 'true');
      tag.textContent = person.name;
      control.insertAdjacentElement('afterend', tag);
      addDescription(control, tag);
      addDescription(control, editingWord());
    }
  }
}

// «редактирует», read after the names in a field's description; one hidden node for the page.
function editingWord() {
  let word = document.getElementById(`${TAG_ID_PREFIX}-word`);
  if (!word) {
    word = document.createElement('span');
    word.id = `${TAG_ID_PREFIX}-word`;
    word.hidden = true;
    word.textContent = t('editing');
    document.body.append(word);
  }
  return word;
}

export function focusTarget(control) {
  const field = control.dataset.field;
  if (!field) return null;
  const step = control.closest('[data-step-id]');
  const stakeholder = control.closest('[data-stakeholder-id]');
  const target = { field };
  if (step) target.step_id = step.dataset.stepId;
  if (stakeholder) target.stakeholder_id = stakeholder.dataset.stakeholderId;
  return target;
}

/** The control of a field, as a focus names it ({field, step_id?, stakeholder_id?}). */
export function findControl(root, focus) {
  let scope = root;
  if (focus.step_id) scope = root.querySelector(`[data-step-id="${CSS.escape(focus.step_id)}"]`);
  else if (focus.stakeholder_id) scope = root.querySelector(`[data-stakeholder-id="${CSS.escape(focus.stakeholder_id)}"]`);
  else scope = root.querySelector('.map-header');
  return scope?.querySelector(`[data-field="${CSS.escape(focus.field)}"]`) || null;
}

/** First letters of the first two words: «Мария (Экоцентр)» → «МЭ», brackets and dashes skipped. */
export function initials(name) {
  const words = name.match(/\p{L}[\p{L}\p{M}'’-]*/gu) || [];
  return (words.slice(0, 2).map((word) => word[0]).join('') || '?').toUpperCase();
}
