// Finish-to-start dependencies between a map's steps, as roadmap/domain/dependencies.py
// states them: a step waits for its predecessors (step.depends_on) and should start
// once each of them is due, the same day being fine. The server refuses a cycle;
// these tell the user before sending, and say what one click of «Сдвинуть» moves.

const DAY_MS = 86400000;

const dayNumber = (iso) => Date.UTC(Number(iso.slice(0, 4)), Number(iso.slice(5, 7)) - 1, Number(iso.slice(8, 10))) / DAY_MS;
const isoDay = (number) => new Date(number * DAY_MS).toISOString().slice(0, 10);

/** When a step starts: its start date, or its due date when it has none (as a day number). */
export function startOf(step) {
  const day = step.starts_on || step.due_on;
  return day ? dayNumber(day) : null;
}

export function dueOf(step) {
  return step.due_on ? dayNumber(step.due_on) : null;
}

/** The cycle that making stepId wait for predecessorId would close, as ids from stepId back to itself, or null. */
export function cycleThrough(steps, stepId, predecessorId) {
  if (stepId === predecessorId) return [stepId, stepId];
  const byId = new Map(steps.map((step) => [step.id, step]));
  const stack = [[predecessorId, [predecessorId]]];
  const seen = new Set([predecessorId]);
  while (stack.length) {
    const [current, path] = stack.pop();
    if (current === stepId) return [stepId, ...path];
    for (const earlier of [...(byId.get(current)?.depends_on || [])].sort()) {
      if (!seen.has(earlier)) { seen.add(earlier); stack.push([earlier, [...path, earlier]]); }
    }
  }
  return null;
}

/** The predecessors a step starts before they are due: [{ step, predecessor }], in the steps' order. */
export function startingTooEarly(steps) {
  const byId = new Map(steps.map((step) => [step.id, step]));
  const flagged = [];
  for (const step of steps) {
    const start = startOf(step);
    for (const predecessorId of step.depends_on || []) {
      const predecessor = byId.get(predecessorId);
      const due = predecessor ? dueOf(predecessor) : null;
      if (start !== null && due !== null && start < due) flagged.push({ step, predecessor });
    }
  }
  return flagged;
}

/**
 * The dates one click moves, { stepId: { starts_on, due_on } }: the step starts when its
 * last predecessor is due, keeping its length; withFollowers, each step after it that
 * would then start too early moves on the same way.
 */
export function shiftedDates(steps, stepId, withFollowers = false) {
  const byId = new Map(steps.map((step) => [step.id, { ...step }]));
  const followers = new Map();
  for (const step of steps) {
    for (const predecessorId of step.depends_on || []) {
      if (!followers.has(predecessorId)) followers.set(predecessorId, []);
      followers.get(predecessorId).push(step.id);
    }
  }
  const moved = {};
  const queue = [stepId];
  let budget = steps.length * steps.length + 1; // a cycle (which the server refuses) must not hang the page
  while (queue.length && budget-- > 0) {
    const current = queue.shift();
    const step = byId.get(current);
    if (!step) continue;
    const predecessors = (step.depends_on || []).map((id) => byId.get(id)).filter(Boolean);
    const dates = movedAfter(step, predecessors);
    if (dates === null && current !== stepId) continue;
    if (dates !== null) { Object.assign(step, dates); moved[current] = dates; }
    if (withFollowers) queue.push(...(followers.get(current) || []).sort());
  }
  return moved;
}

function movedAfter(step, predecessors) {
  const dues = predecessors.map(dueOf).filter((due) => due !== null);
  const start = startOf(step);
  if (!dues.length || start === null || start >= Math.max(...dues)) return null;
  const shift = Math.max(...dues) - start;
  return {
    starts_on: step.starts_on ? isoDay(dayNumber(step.starts_on) + shift) : null,
    due_on: step.due_on ? isoDay(dayNumber(step.due_on) + shift) : null,
  };
}

/** shiftedDates as the step.set ops that make it so. */
export function shiftOps(steps, stepId, withFollowers = false) {
  return Object.entries(shiftedDates(steps, stepId, withFollowers)).flatMap(([id, dates]) => ['starts_on', 'due_on']
    .filter((field) => dates[field]).map((field) => ({ type: 'step.set', step_id: id, field, value: dates[field] })));
}
