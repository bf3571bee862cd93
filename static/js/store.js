// The client's copy of a road map: the server-confirmed map plus our own
// pending ops on top. Pending ops, refused edits waiting for the person's
// decision (conflicts) and the last confirmed map live in localStorage, so an
// offline reload loses nothing.
import {
  applyPending, applyResolved, cloneMap, fieldOwner, isFieldSet, isTextSet, newId, wireForm,
} from './ops.js';
import { sameField, Typing } from './typing.js';

const SNAPSHOT_SAVE_DELAY_MS = 400;
// Typing goes out once the field rests this long, or this long after its first
// letter at the latest: fewer ops than one a letter, still live for the others.
const TYPING_PAUSE_MS = 300;
const TYPING_MAX_DELAY_MS = 1000;

export class MapStore {
  constructor({ roadmapId, personId, snapshot }) {
    this.roadmapId = roadmapId;
    this.pendingKey = `roadmap:${roadmapId}:pending:${personId}`;
    this.conflictsKey = `roadmap:${roadmapId}:conflicts:${personId}`;
    this.snapshotKey = `roadmap:${roadmapId}:snapshot`;
    this.confirmed = newerSnapshot(snapshot, readJson(this.snapshotKey));
    this.pending = readJson(this.pendingKey) || [];
    this.conflicts = readJson(this.conflictsKey) || [];
    this.early = new Map(); // changes that arrived ahead of a gap, by revision
    this.graveyard = { steps: new Map(), stakeholders: new Map() };
    this.listeners = new Set();
    this.resolvedListeners = new Set(); // each confirmed change, as it is applied; null: the map started over
    this.connected = false; // kept by the connection; an edit made while not connected says so in a conflict
    this.typing = new Typing(this);
    this.dropConfirmedPending(); // acked before a reload and in the map since
    if (!this.confirmed.locked) this.releaseHeld();
    this.recompute();
  }

  get revision() { return this.confirmed.revision; }

  /** Ops not yet acknowledged by the server. */
  get unsentCount() { return this.pending.filter((op) => op.acked_revision === undefined).length; }

  /** Whether edits must wait: the map is locked, or the server refused the next one for a lock. */
  get held() {
    return Boolean(this.confirmed.locked) || this.pending.some((op) => op.held);
  }

  subscribe(listener) { this.listeners.add(listener); return () => this.listeners.delete(listener); }

  /** Hear each confirmed change (comments keep their threads by it); null when a snapshot replaced the map. */
  onResolved(listener) { this.resolvedListeners.add(listener); }

  /**
   * Record a local edit: shown at once, sent when the connection allows.
   * A text op carries `base`, the text it was typed over; a plain field's op
   * gets the value the person saw as its `base` (the server refuses it if
   * someone else has changed the field since). `caret` is where a typing
   * caret stands in the text the edit leaves.
   */
  edit(op, { caret } = {}) {
    const full = { ...op, op_id: newId(), roadmap_id: this.roadmapId };
    if (!full.after_others) delete full.after_others;
    if (!this.connected) full.made_offline = true;
    const typing = isTextSet(full);
    if (typing) caret = this.rebaseOnView(full, caret);
    if (typing && full.value === full.base) return null;
    if (isFieldSet(full) && !typing && full.base === undefined) {
      const owner = fieldOwner(this.view, full);
      if (owner) full.base = owner[full.field] ?? null;
      else delete full.base;
    }
    const last = this.pending[this.pending.length - 1];
    let recorded = full;
    if (last && isUnsent(last) && coalesces(last, full)) {
      recorded = last;
      last.value = full.value;
      if (typing) {
        last.base = this.textBefore(last);
        last.typed_at = Date.now();
      } // a plain field keeps the older base: what the person saw before their first change
    } else {
      if (typing) full.typed_at = full.first_typed_at = Date.now();
      this.pending.push(full);
    }
    if (typing && recorded.value === recorded.base) this.pending.pop(); // typed and taken back: nothing to send
    else if (typing) this.typing.typed(recorded, caret);
    this.savePending();
    this.changed({ typing });
    return full;
  }

  /**
   * What a text control needs from the store for one field of `target` ({type, step_id?,
   * stakeholder_id?}): commit typing as an op, read the field's text and where the caret stands.
   */
  textField(target, field) {
    const op = { ...target, field };
    return {
      commit: (value, base, typing) => this.edit(
        { ...op, value, base, after_others: typing.afterOthers }, { caret: typing.caret }),
      current: () => fieldOwner(this.view, op)?.[field],
      caret: () => this.typing.caretIn(op),
    };
  }

  /**
   * A text op typed over what the control showed (an input method's composition holds back
   * remote changes), restated over the text the store now holds; returns the caret carried along.
   */
  rebaseOnView(op, caret) {
    const shown = fieldOwner(this.view, op)?.[op.field];
    if (shown === undefined || op.base === shown) return caret; // the item is gone here: the server will say so
    return this.typing.rebase(op, shown ?? '', caret);
  }

  /** The op to send next (the oldest unacknowledged one), or null. */
  nextToSend() {
    return this.pending.find((op) => op.acked_revision === undefined) || null;
  }

  /**
   * Whether a text op must wait for an earlier op of its field to come back as a change:
   * sent over confirmed text, it names the revision its base is (base_revision), and the
   * server can carry it exactly.
   */
  waitsForConfirmation(op) {
    if (!isTextSet(op)) return false;
    const earlier = this.pending.slice(0, this.pending.indexOf(op));
    return earlier.some((other) => isTextSet(other) && sameField(other, op));
  }

  /** When `op` may go: typing waits for a pause, unless something is queued behind it. */
  sendAt(op) {
    if (!isTextSet(op) || op.ready || this.pending[this.pending.length - 1] !== op) return 0;
    return Math.min(op.typed_at + TYPING_PAUSE_MS, op.first_typed_at + TYPING_MAX_DELAY_MS);
  }

  /** Send typing now (the person left the field). */
  typingDone() {
    const waiting = this.pending.filter((op) => isTextSet(op) && isUnsent(op) && !op.ready);
    for (const op of waiting) op.ready = true;
    if (waiting.length) this.changed();
  }

  /**
   * The op is about to be sent: a text op is restated over the text before it
   * as the store now holds it, so the server has to merge only what others
   * commit while it travels.
   */
  prepareToSend(op) {
    op.in_flight = true;
    op.sent = true; // never fold more typing into it: it may be applied already, ack or not
    if (isTextSet(op)) {
      const before = this.textBefore(op);
      if (before !== undefined && op.base !== before) this.typing.rebase(op, before);
      // With the revision its base is, the server carries the op through later changes exactly.
      const confirmed = fieldOwner(this.confirmed, op)?.[op.field];
      if (op.insert_at !== undefined && before === confirmed) op.base_revision = this.revision;
      else delete op.base_revision;
    }
    this.savePending();
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

  /** The map was locked when our op arrived: keep it, and everything after it, until it is unlocked. */
  heldByLock(opId) {
    const op = this.pending.find((item) => item.op_id === opId);
    if (!op) return;
    delete op.in_flight;
    op.held = true;
    this.savePending();
    this.changed();
  }

  /** Drop the edits waiting for an unlock, at the person's request. */
  discardHeld() {
    this.pending = this.pending.filter((op) => op.acked_revision !== undefined);
    this.savePending();
    this.changed();
  }

  releaseHeld() {
    let released = false;
    for (const op of this.pending) {
      if (op.held) { delete op.held; released = true; }
    }
    if (released) this.savePending();
  }

  /** The server refused a plain field's op: someone else changed the field since the person saw it. */
  conflicted(opId, conflict) {
    const op = this.pending.find((item) => item.op_id === opId);
    this.pending = this.pending.filter((item) => item.op_id !== opId);
    if (op && conflict) {
      const { op_id, in_flight, ...refused } = op;
      this.conflicts = this.conflicts.filter((item) => !sameField(item.op, refused));
      this.conflicts.push({ op: refused, conflict });
    }
    this.savePending();
    this.changed();
  }

  /** The person's answer to a conflict: keep the value that is there, or set theirs over it. */
  resolveConflict(index, setMine) {
    const [settled] = this.conflicts.splice(index, 1);
    this.saveConflicts();
    if (settled && setMine) {
      const { base, op_id, roadmap_id, ...op } = wireForm(settled.op);
      this.edit(op); // a new op over the value there now, which the person has seen
    } else {
      this.changed();
    }
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
      this.typing.forget();
      for (const listener of this.resolvedListeners) listener(null);
    } else {
      this.applyInOrder(answer.changes || []);
    }
    // Whatever came, the map is now as the server has it: what waited for an unlock that
    // happened (or for a lock refusal that raced an unlock) may go.
    if (!this.confirmed.locked) this.releaseHeld();
    this.dropConfirmedPending();
    this.afterConfirmedChange();
  }

  applyInOrder(changes) {
    let applied = false;
    const queue = [...changes];
    while (queue.length || this.early.has(this.confirmed.revision + 1)) {
      const change = queue.length ? queue.shift() : this.early.get(this.confirmed.revision + 1);
      this.early.delete(change.revision);
      if (change.revision !== this.confirmed.revision + 1) continue;
      const typedBefore = this.typing.beforeChange(change);
      applyResolved(this.confirmed, change.op);
      this.confirmed.revision = change.revision;
      for (const listener of this.resolvedListeners) listener(change);
      this.pending = this.pending.filter((op) => op.op_id !== change.op_id);
      this.typing.afterChange(change, typedBefore);
      if (change.op.type === 'map.lock' && !change.op.locked) this.releaseHeld();
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

  /** The text of the op's field with every pending op before it applied; undefined if the item is gone. */
  textBefore(op) {
    const view = cloneMap(this.confirmed);
    for (const earlier of this.pending) {
      if (earlier === op) break;
      applyPending(view, earlier, this.graveyard);
    }
    const owner = fieldOwner(view, op);
    return owner ? (owner[op.field] ?? '') : undefined;
  }

  recompute() {
    const view = cloneMap(this.confirmed);
    for (const op of this.pending) applyPending(view, op, this.graveyard);
    this.view = view;
  }

  /** Conflicts that settled themselves: the item is gone, or the field now holds the person's value. */
  dropSettledConflicts() {
    const open = this.conflicts.filter(({ op }) => {
      const owner = fieldOwner(this.view, op);
      return owner && JSON.stringify(owner[op.field] ?? null) !== JSON.stringify(op.value ?? null);
    });
    if (open.length !== this.conflicts.length) {
      this.conflicts = open;
      this.saveConflicts();
    }
  }

  changed(cause = {}) {
    this.recompute();
    this.dropSettledConflicts();
    for (const listener of this.listeners) listener(this.view, cause);
  }

  /** Signing out: the server's answer clears what the browser keeps, and this page, on its way
   * out, must not write its copy back. */
  stopStoring() {
    this.storingStopped = true;
    clearTimeout(this.snapshotTimer);
  }

  savePending() {
    if (this.storingStopped) return;
    const stored = this.pending.map(({ in_flight, ...op }) => op);
    writeJson(this.pendingKey, stored);
  }

  saveConflicts() {
    if (this.storingStopped) return;
    writeJson(this.conflictsKey, this.conflicts);
  }

  scheduleSnapshotSave() {
    clearTimeout(this.snapshotTimer);
    if (this.storingStopped) return;
    this.snapshotTimer = setTimeout(() => writeJson(this.snapshotKey, this.confirmed), SNAPSHOT_SAVE_DELAY_MS);
  }

  flushStorage() {
    clearTimeout(this.snapshotTimer);
    if (this.storingStopped) return;
    writeJson(this.snapshotKey, this.confirmed);
    this.savePending();
    this.saveConflicts();
  }
}

function isUnsent(op) {
  return !op.sent && op.acked_revision === undefined && !op.held;
}

/** Whether `later` can be folded into `earlier`, still unsent: the same field, and typing that goes on. */
function coalesces(earlier, later) {
  if (!isFieldSet(later) || !sameField(earlier, later)) return false;
  return isTextSet(later) ? !later.after_others : true;
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
