// The browser's ops (static/js/ops.js) on the op vectors the server and its replay pass too
// (tests/op_vectors/README.md): each change as the server resolved it (applyResolved, as a
// `change` event or catch-up brings it) and the person's own op before the server confirms
// it (applyPending, what the editor shows meanwhile).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { register } from 'node:module';
import test from 'node:test';

register('./browser_modules.mjs', import.meta.url);
const {
  applyPending, applyResolved, STAKEHOLDER_DEFAULTS, STEP_DEFAULTS, useFieldSchema,
} = await import('../../static/js/ops.js');

const VECTOR_FOLDER = new URL('../op_vectors/', import.meta.url);
const readVectorFile = (name) => JSON.parse(readFileSync(new URL(name, VECTOR_FOLDER), 'utf8'));
// What the editor page gives ops.js (operations.browser_field_schema; test_op_vectors.py keeps it current).
useFieldSchema(readVectorFile('field_schema.json'));
const EMPTY_MAP = readVectorFile('empty_map.json');

const completeStep = (step) => ({ ...STEP_DEFAULTS, stakeholder_ids: [], depends_on: [], ...step });
const completeStakeholder = (stakeholder) => ({ ...STAKEHOLDER_DEFAULTS, ...stakeholder });

/** A vector's map with what it leaves out at its default. */
function completeMap(vectorMap) {
  const map = structuredClone({ ...EMPTY_MAP, ...vectorMap });
  map.steps = map.steps.map(completeStep);
  map.stakeholders = map.stakeholders.map(completeStakeholder);
  return map;
}

/** A vector's applied op with what it leaves out of the items it carries at its default. */
function completeApplied(op) {
  const full = structuredClone(op);
  if (op.type === 'step.add') full.fields = { ...STEP_DEFAULTS, ...op.fields };
  if (op.type === 'stakeholder.add') full.fields = { ...STAKEHOLDER_DEFAULTS, ...op.fields };
  if (op.type === 'step.restore') full.step = completeStep(op.step);
  if (op.type === 'stakeholder.restore') full.stakeholder = completeStakeholder(op.stakeholder);
  if (op.type === 'map.restore') {
    full.map.steps = op.map.steps.map(completeStep);
    full.map.stakeholders = op.map.stakeholders.map(completeStakeholder);
  }
  return full;
}

/** The map without the keys only the server makes: an optimistic map is compared by its order. */
function inOrder(map) {
  const withoutPositions = structuredClone(map);
  for (const step of withoutPositions.steps) delete step.position;
  for (const stakeholder of withoutPositions.stakeholders) delete stakeholder.created_at;
  return withoutPositions;
}

/**
 * The browser's confirmed map at the vector's map_before, and what it kept of the items it
 * deleted (the graveyard a restore takes them back from): the setup's ops are the browser's
 * own, each applied as pending and then confirmed by its resolved form.
 */
function browserBefore(vector) {
  const graveyard = { steps: new Map(), stakeholders: new Map() };
  if (!vector.setup) return { confirmed: completeMap(vector.map_before), graveyard };
  const confirmed = completeMap({});
  for (const { op, applied } of vector.setup) {
    applyPending(structuredClone(confirmed), op, graveyard);
    applyResolved(confirmed, completeApplied(applied));
  }
  assert.deepStrictEqual(confirmed, completeMap(vector.map_before), 'the setup makes map_before');
  return { confirmed, graveyard };
}

function vectors() {
  return readdirSync(VECTOR_FOLDER).filter((name) => name.endsWith('.json') && !['empty_map.json', 'field_schema.json'].includes(name)).sort()
    .flatMap((file) => readVectorFile(file).map((vector) => [`${file.replace(/\.json$/, '')}: ${vector.name}`, vector]));
}

/** node:test's todo: a known failure, reported with its reason, that does not fail the run. */
const knownFailure = (vector, path) => ({ todo: vector.known_failures?.[path] });

for (const [name, vector] of vectors()) {
  test(`${name} (resolved)`, knownFailure(vector, 'resolved'), () => {
    const { confirmed } = browserBefore(vector);
    applyResolved(confirmed, completeApplied(vector.applied));
    assert.deepStrictEqual(confirmed, completeMap(vector.map_after));
  });

  test(`${name} (optimistic)`, knownFailure(vector, 'optimistic'), () => {
    const { confirmed, graveyard } = browserBefore(vector);
    applyPending(confirmed, structuredClone(vector.op), graveyard);
    assert.deepStrictEqual(inOrder(confirmed), inOrder(completeMap(vector.optimistic_map_after ?? vector.map_after)));
  });
}
