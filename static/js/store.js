// The client's copy of a road map: the server-confirmed map plus our own
// pending ops on top. Pending ops and the last confirmed map live in
// localStorage so an offline reload loses nothing.
import { applyPending, applyResolved, cloneMap, newId, TEXT_FIELDS } from './ops.js';

const SNAPSHOT_SAVE_DELAY_MS = 400;

export class MapStore {
  constructor({ roadmapId, personId, snapshot }) {
    this.roadmapId = roadmapId;
    this.pendingKey = `roadmap:${roadmapId}:pending:${personId}`;
    this.snapshotKey = `roadmap:${roadmapId}:snapshot`;
    this.confirmed = newerSnapshot(snapshot, readJson(this.snapshotKey));
    this.pending = readJson(this.pendingKey) || [];
    this.early = new Map(); // changes that arrived ahead of a gap, by revision
    this.graveyard = { steps: new Map(), stakeholders: new Map() };
    this.listeners = new Set();
    this.recompute();
  }

  get revision() { return this.confirmed.revision; }

  /** Ops not yet acknowledged by the server. */
  get unsentCount() { return this.pending.filter((op) => op.acked_revision === undefined).length; }

  subscribe(listener) { this.listeners.add(listener); return () => this.listeners.delete(listener); }

  /** Record a local edit: shown at once, sent when the connection allows. */
  edit(op) {
    const full = { ...op, op_id: newId(), roadmap_id: this.roadmapId };
    const last = this.pending[this.pending.length - 1];
    if (last && !last.in_flight && last.acked_revision === undefined && coalesces(last, full)) {
      last.value = full.value; // keep the older base: the server merges from there
    } else {
      this.pending.push(full);
    }
    this.savePending();
    this.changed();
    return full;
  }

  nextToSend() {
    return this.pending.find((op) => op.acked_revision === undefined) || null;
  }

  /** The server applied our op at `revision`; it leaves the queue once we have that revision. */
  acknowledged(opId, revision) {
    const op = this.pending.find((item) => item.op_id === opId);
    if (!op) return;
    op.acked_revision = revision;
    delete op.in_flight;
    this.dropConfirmedPending();
    this.savePending();
    this.changed();
  }

  rejected(opId) {
    this.pending = this.pending.filter((op) => op.op_id !== opId);
    this.savePending();
    this.changed();
  }

  /**
   * A broadcast change. Returns 'applied', 'stale' (already have it) or 'gap'
   * (an earlier revision is missing; the caller asks the server for it).
   */
  receive(change) {
    if (change.revision <= this.confirmed.revision) return 'stale';
    if (change.revision > this.confirmed.revision + 1) {
      this.early.set(change.revision, change);
      return 'gap';
    }
    this.applyInOrder([change]);
    return 'applied';
  }

  /** Apply a catch-up answer: a run of changes, or a whole snapshot. */
  catchUp(answer) {
    if (answer.snapshot) {
      this.confirmed = answer.snapshot;
      this.early.clear();
      this.dropConfirmedPending();
      this.afterConfirmedChange();
    } else {
      this.applyInOrder(answer.changes || []);
    }
  }

  applyInOrder(changes) {
    let applied = false;
    const queue = [...changes];
    while (queue.length || this.early.has(this.confirmed.revision + 1)) {
      const change = queue.length ? queue.shift() : this.early.get(this.confirmed.revision + 1);
      this.early.delete(change.revision);
      if (change.revision !== this.confirmed.revision + 1) continue;
      applyResolved(this.confirmed, change.op);
      this.confirmed.revision = change.revision;
      this.pending = this.pending.filter((op) => op.op_id !== change.op_id);
      applied = true;
    }
    for (const revision of this.early.keys()) {
      if (revision <= this.confirmed.revision) this.early.delete(revision);
    }
    if (applied) {
      this.dropConfirmedPending();
      this.afterConfirmedChange();
    }
  }

  hasGap() { return this.early.size > 0; }

  /** Group members are not part of the revisioned map: they arrive on their own. */
  setMembers(members) {
    if (JSON.stringify(members) === JSON.stringify(this.confirmed.members)) return;
    this.confirmed.members = members;
    this.afterConfirmedChange();
  }

  dropConfirmedPending() {
    this.pending = this.pending.filter(
      (op) => op.acked_revision === undefined || op.acked_revision > this.confirmed.revision,
    );
  }

  afterConfirmedChange() {
    this.savePending();
    this.scheduleSnapshotSave();
    this.changed();
  }

  recompute() {
    const view = cloneMap(this.confirmed);
    for (const op of this.pending) applyPending(view, op, this.graveyard);
    this.view = view;
  }

  changed() {
    this.recompute();
    for (const listener of this.listeners) listener(this.view);
  }

  savePending() {
    const stored = this.pending.map(({ in_flight, ...op }) => op);
    writeJson(this.pendingKey, stored);
  }

  scheduleSnapshotSave() {
    clearTimeout(this.snapshotTimer);
    this.snapshotTimer = setTimeout(() => writeJson(this.snapshotKey, this.confirmed), SNAPSHOT_SAVE_DELAY_MS);
  }

  flushStorage() {
    clearTimeout(this.snapshotTimer);
    writeJson(this.snapshotKey, this.confirmed);
    this.savePending();
  }
}

function coalesces(earlier, later) {
  if (earlier.type !== later.type || !later.type.endsWith('.set') || earlier.field !== later.field) return false;
  if (earlier.step_id !== later.step_id || earlier.stakeholder_id !== later.stakeholder_id) return false;
  const kind = later.type.split('.')[0];
  return TEXT_FIELDS[kind].has(later.field) ? earlier.base !== undefined : true;
}

function newerSnapshot(fromPage, fromStorage) {
  if (fromStorage && fromStorage.id === fromPage.id && fromStorage.revision > fromPage.revision) return fromStorage;
  return fromPage;
}

function readJson(key) {
  try {
    const text = localStorage.getItem(key);
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

function writeJson(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or blocked: the edit still goes out while online.
  }
}
