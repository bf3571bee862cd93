// Applying operations to a plain-data road map: resolved ops from the server,
// and the client's own pending ops on top of them (see docs/protocol.md).
import { cycleThrough } from './dependencies.js';
import { mergeText } from './textmerge.js';

// Which fields hold merged text, and what an add leaves unsaid: the server's one schema
// (roadmap/domain/operations.py) fills these through useFieldSchema before any op is applied.
export const TEXT_FIELDS = {};
export const STEP_DEFAULTS = {};
export const STAKEHOLDER_DEFAULTS = {};

/** Take the field sets and defaults from the editor's data block (`field_schema`). */
export function useFieldSchema({ text_fields: textFields, defaults }) {
  for (const [target, names] of Object.entries(textFields)) TEXT_FIELDS[target] = new Set(names);
  Object.assign(STEP_DEFAULTS, defaults.step);
  Object.assign(STAKEHOLDER_DEFAULTS, defaults.stakeholder);
}

/** Whether the op sets one field: `map.set`, `step.set`, `stakeholder.set`. */
export function isFieldSet(op) {
  return op.type === 'map.set' || op.type === 'step.set' || op.type === 'stakeholder.set';
}

/** Whether the op sets a text field, whose edits are merged rather than replaced. */
export function isTextSet(op) {
  return isFieldSet(op) && TEXT_FIELDS[op.type.split('.')[0]].has(op.field);
}

/** The map, step or stakeholder whose field a *.set op changes, or null when the map has no such item. */
export function fieldOwner(map, op) {
  if (op.type === 'map.set') return map;
  if (op.type === 'step.set') return findStep(map, op.step_id) || null;
  if (op.type === 'stakeholder.set') return findStakeholder(map, op.stakeholder_id) || null;
  return null;
}

// What a pending op carries for this client's own bookkeeping, never sent.
const LOCAL_KEYS = [
  'in_flight', 'sent', 'acked_revision', 'held', 'ready', 'typed_at', 'first_typed_at', 'server_errors',
  'made_offline',
];

/** The op as it goes to the server. */
export function wireForm(op) {
  const payload = { ...op };
  for (const key of LOCAL_KEYS) delete payload[key];
  return payload;
}

export function newId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID().replaceAll('-', '');
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function cloneMap(map) {
  return structuredClone(map);
}

function byPosition(a, b) {
  if (a.position === b.position) return a.id < b.id ? -1 : 1;
  return a.position < b.position ? -1 : 1;
}

function byCreation(a, b) {
  if (a.created_at === b.created_at) return a.id < b.id ? -1 : 1;
  return a.created_at < b.created_at ? -1 : 1;
}

const findStep = (map, id) => map.steps.find((step) => step.id === id);
const findStakeholder = (map, id) => map.stakeholders.find((item) => item.id === id);
const removeStep = (map, id) => { map.steps = map.steps.filter((step) => step.id !== id); };

function unlinkEverywhere(map, stakeholderId) {
  for (const step of map.steps) {
    step.stakeholder_ids = step.stakeholder_ids.filter((id) => id !== stakeholderId);
  }
}

function forgetPredecessor(map, stepId) {
  for (const step of map.steps) {
    step.depends_on = (step.depends_on || []).filter((id) => id !== stepId);
  }
}

function setDependency(step, op) {
  const others = (step.depends_on || []).filter((id) => id !== op.predecessor_id);
  step.depends_on = op.type === 'step.depend' ? [...others, op.predecessor_id].sort() : others;
}

/** A comment op changes no map data but the step's number of visible comments, by count_change. */
function countComments(map, stepId, change) {
  if (!stepId || !change) return;
  const counts = { ...(map.comment_counts || {}) };
  counts[stepId] = (counts[stepId] || 0) + change;
  if (!counts[stepId]) delete counts[stepId];
  map.comment_counts = counts;
}

function addSortedId(ids, id) {
  if (!ids.includes(id)) { ids.push(id); ids.sort(); }
}

/** Apply an op as the server resolved it (from a `change` broadcast or catch-up). */
export function applyResolved(map, op) {
  switch (op.type) {
    case 'map.set':
      map[op.field] = op.value;
      break;
    case 'map.lock':
      map.locked = op.locked;
      break;
    case 'map.restore':
      Object.assign(map, structuredClone(op.map));
      break;
    case 'step.add':
      removeStep(map, op.step_id);
      map.steps.push({ id: op.step_id, position: op.position, ...op.fields, stakeholder_ids: [], depends_on: [] });
      map.steps.sort(byPosition);
      break;
    case 'step.set': {
      const step = findStep(map, op.step_id);
      if (step) step[op.field] = op.value;
      break;
    }
    case 'step.move': {
      const step = findStep(map, op.step_id);
      if (step) { step.position = op.position; map.steps.sort(byPosition); }
      break;
    }
    case 'step.delete':
      removeStep(map, op.step_id);
      forgetPredecessor(map, op.step_id);
      break;
    case 'step.restore':
      removeStep(map, op.step_id);
      map.steps.push({ depends_on: [], ...structuredClone(op.step) });
      map.steps.sort(byPosition);
      for (const stepId of op.dependent_ids || []) {
        const step = findStep(map, stepId);
        if (step) setDependency(step, { type: 'step.depend', predecessor_id: op.step_id });
      }
      break;
    case 'step.depend': case 'step.undepend': {
      const step = findStep(map, op.step_id);
      if (step && (op.type === 'step.undepend' || findStep(map, op.predecessor_id))) setDependency(step, op);
      break;
    }
    case 'step.link': {
      const step = findStep(map, op.step_id);
      if (step && findStakeholder(map, op.stakeholder_id)) addSortedId(step.stakeholder_ids, op.stakeholder_id);
      break;
    }
    case 'step.unlink': {
      const step = findStep(map, op.step_id);
      if (step) step.stakeholder_ids = step.stakeholder_ids.filter((id) => id !== op.stakeholder_id);
      break;
    }
    case 'comment.add': case 'comment.edit': case 'comment.delete': case 'comment.hide':
      countComments(map, op.step_id, op.count_change);
      break;
    case 'stakeholder.add':
      map.stakeholders = map.stakeholders.filter((item) => item.id !== op.stakeholder_id);
      map.stakeholders.push({ id: op.stakeholder_id, ...op.fields, created_at: op.created_at });
      map.stakeholders.sort(byCreation);
      break;
    case 'stakeholder.set': {
      const stakeholder = findStakeholder(map, op.stakeholder_id);
      if (stakeholder) stakeholder[op.field] = op.value;
      break;
    }
    case 'stakeholder.delete':
      map.stakeholders = map.stakeholders.filter((item) => item.id !== op.stakeholder_id);
      unlinkEverywhere(map, op.stakeholder_id);
      break;
    case 'stakeholder.restore':
      map.stakeholders = map.stakeholders.filter((item) => item.id !== op.stakeholder_id);
      map.stakeholders.push(structuredClone(op.stakeholder));
      map.stakeholders.sort(byCreation);
      for (const stepId of op.step_ids || []) {
        const step = findStep(map, stepId);
        if (step) addSortedId(step.stakeholder_ids, op.stakeholder_id);
      }
      break;
    default:
      break;
  }
}

function insertAfter(map, step, afterId) {
  removeStep(map, step.id);
  if (afterId === undefined) { map.steps.push(step); return; }
  const index = afterId === null ? -1 : map.steps.findIndex((item) => item.id === afterId);
  if (afterId !== null && index < 0) { map.steps.push(step); return; }
  map.steps.splice(index + 1, 0, step);
}

function setField(target, kind, op) {
  target[op.field] = TEXT_FIELDS[kind].has(op.field)
    ? mergeText(op.base, op.value, target[op.field] ?? '', Boolean(op.after_others), op.insert_at)
    : op.value;
}

/**
 * Apply one of our own ops that the server has not confirmed yet, the way the
 * server would. `graveyard` holds items we deleted, so an undo can show them.
 */
export function applyPending(map, op, graveyard) {
  switch (op.type) {
    case 'map.set':
      setField(map, 'map', op);
      break;
    case 'step.add':
      insertAfter(map, {
        id: op.step_id, position: '', ...STEP_DEFAULTS, ...(op.fields || {}), stakeholder_ids: [], depends_on: [],
      }, op.after_id);
      break;
    case 'step.set': {
      const step = findStep(map, op.step_id);
      if (step) setField(step, 'step', op);
      break;
    }
    case 'step.move': {
      const step = findStep(map, op.step_id);
      if (step) insertAfter(map, step, op.after_id);
      break;
    }
    case 'step.delete': {
      const step = findStep(map, op.step_id);
      if (step) {
        const followers = map.steps.filter((item) => (item.depends_on || []).includes(step.id)).map((item) => item.id);
        graveyard.steps.set(step.id, { ...structuredClone(step), followers });
        removeStep(map, step.id);
        forgetPredecessor(map, step.id);
      }
      break;
    }
    case 'step.restore': {
      const buried = graveyard.steps.get(op.step_id);
      if (buried && !findStep(map, op.step_id)) {
        // As the server restores it: its arrows and links only to what is still in the map, and
        // no follower's arrow that would now close a cycle (one made while the step was deleted).
        const { followers = [], ...step } = structuredClone(buried);
        step.depends_on = (step.depends_on || []).filter((id) => findStep(map, id));
        step.stakeholder_ids = step.stakeholder_ids.filter((id) => findStakeholder(map, id));
        map.steps.push(step);
        map.steps.sort(byPosition);
        for (const stepId of [...followers].sort()) {
          const follower = findStep(map, stepId);
          if (follower && !cycleThrough(map.steps, stepId, op.step_id)) {
            setDependency(follower, { type: 'step.depend', predecessor_id: op.step_id });
          }
        }
      }
      break;
    }
    case 'step.depend': case 'step.undepend': {
      const step = findStep(map, op.step_id);
      if (step && (op.type === 'step.undepend' || findStep(map, op.predecessor_id))) setDependency(step, op);
      break;
    }
    case 'step.link': case 'step.unlink': {
      const step = findStep(map, op.step_id);
      if (!step || !findStakeholder(map, op.stakeholder_id)) break;
      if (op.type === 'step.link') addSortedId(step.stakeholder_ids, op.stakeholder_id);
      else step.stakeholder_ids = step.stakeholder_ids.filter((id) => id !== op.stakeholder_id);
      break;
    }
    case 'stakeholder.set': {
      const stakeholder = findStakeholder(map, op.stakeholder_id);
      if (stakeholder) setField(stakeholder, 'stakeholder', op);
      break;
    }
    case 'comment.add':
      countComments(map, op.step_id, 1); // the other comment ops' effect on the count is the server's to say
      break;
    case 'stakeholder.add':
      if (!findStakeholder(map, op.stakeholder_id)) {
        map.stakeholders.push({ id: op.stakeholder_id, ...STAKEHOLDER_DEFAULTS, ...(op.fields || {}), created_at: '~' });
      }
      break;
    case 'stakeholder.delete': {
      const stakeholder = findStakeholder(map, op.stakeholder_id);
      if (stakeholder) {
        const linked = map.steps.filter((step) => step.stakeholder_ids.includes(stakeholder.id)).map((step) => step.id);
        graveyard.stakeholders.set(stakeholder.id, { stakeholder: structuredClone(stakeholder), linked });
        map.stakeholders = map.stakeholders.filter((item) => item.id !== op.stakeholder_id);
        unlinkEverywhere(map, op.stakeholder_id);
      }
      break;
    }
    case 'stakeholder.restore': {
      const buried = graveyard.stakeholders.get(op.stakeholder_id);
      if (buried && !findStakeholder(map, op.stakeholder_id)) {
        map.stakeholders.push(structuredClone(buried.stakeholder));
        map.stakeholders.sort(byCreation);
        for (const stepId of buried.linked) {
          const step = findStep(map, stepId);
          if (step) addSortedId(step.stakeholder_ids, op.stakeholder_id);
        }
      }
      break;
    }
    default:
      break;
  }
}
