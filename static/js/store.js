// The client's copy of a road map: the server-confirmed map plus our own
// pending ops on top. Pending ops, refused edits waiting for the person's
// decision (conflicts) and the last confirmed map live in localStorage, so an
// offline reload loses nothing.
import {
  applyPending, applyResolved, cloneMap, fieldOwner, isFieldSet, isTextSet, newId, wireForm,
} from './ops.js';
import {
  carryPlace, codePointIndex, insertAt, insertedText, insertionAt, merge, mergeText, mergeTracking, utf16Index,
} from './textmerge.js';

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
    this.connected = false; // kept by the connection; an edit made while not connected says so in a conflict
    // A typing caret, kept with the person's own words: {key, k}, k code points into the one stretch the
    // last pending op of its field inserts (at + k); {key, offset} (UTF-16, in that op's value) for other
    // edits; and once that op is confirmed, {key, place} (code points) in the confirmed text.
    this.caret = null;
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
    if (typing && !this.rebaseOnView(full)) return null;
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
    if (typing) this.placeTyping(recorded, caret);
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
      caret: () => this.caretInView(op),
    };
  }

  /** A text op typed over what the control showed, restated over the text the store now holds. */
  rebaseOnView(op) {
    const owner = fieldOwner(this.view, op);
    if (!owner) return true; // the item is gone here; the server will say so
    const shown = owner[op.field] ?? '';
    if (op.base !== shown) {
      op.value = mergeText(op.base, op.value, shown, Boolean(op.after_others));
      op.base = shown;
    }
    return op.value !== op.base;
  }

  /** Where the typed op's one inserted stretch starts (`at`), and the caret with it. */
  placeTyping(op, caret) {
    const at = caret === undefined ? undefined : insertionAt(op.base, op.value, caret);
    if (at === undefined) delete op.at;
    else op.at = at;
    if (caret === undefined) return;
    this.caret = at === undefined
      ? { key: fieldKey(op), offset: caret }
      : { key: fieldKey(op), k: codePointIndex(op.value, caret) - at };
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
    const key = fieldKey(op);
    return this.pending.some((earlier) => earlier !== op && isTextSet(earlier) && fieldKey(earlier) === key
      && this.pending.indexOf(earlier) < this.pending.indexOf(op));
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
    if (!isTextSet(op)) return;
    const before = this.textBefore(op);
    if (before === undefined) return;
    if (op.base !== before) this.rebase(op, before);
    // With the revision its base is, the server carries the op through later changes exactly.
    if (op.at !== undefined && before === fieldOwner(this.confirmed, op)?.[op.field]) op.base_revision = this.revision;
    else delete op.base_revision;
    this.savePending();
  }

  /** A text op restated over `before`, the caret going with it. */
  rebase(op, before) {
    const tracksOffset = this.caretOp() === op && this.caret.offset !== undefined;
    if (tracksOffset) {
      const merged = mergeTracking(op.base, op.value, before, Boolean(op.after_others), this.caret.offset);
      op.value = merged.text;
      if (merged.position !== null) this.caret.offset = merged.position;
    } else {
      const merged = merge(op.base, op.value, before, Boolean(op.after_others), op.at);
      op.value = merged.text;
      if (merged.at === undefined) delete op.at;
      else op.at = merged.at;
    }
    op.base = before;
  }

  /** The last pending op of the typing caret's field, whose value the caret's offset is in. */
  caretOp() {
    if (!this.caret) return null;
    for (let index = this.pending.length - 1; index >= 0; index -= 1) {
      if (isTextSet(this.pending[index]) && fieldKey(this.pending[index]) === this.caret.key) return this.pending[index];
    }
    return null;
  }

  /**
   * Where the typing caret of the op's field stands in the view's text, carried through
   * the merge with the person's own pending text; null when that text is all confirmed.
   */
  caretInView(opLike) {
    if (!this.caret || fieldKey(opLike) !== this.caret.key) return null;
    const shown = fieldOwner(this.view, opLike)?.[opLike.field];
    const op = this.caretOp();
    if (op && this.caret.k !== undefined && op.at !== undefined && op.value === shown) {
      return utf16Index(shown, op.at + this.caret.k);
    }
    if (op && this.caret.offset !== undefined) {
      const before = this.textBefore(op);
      if (before === undefined) return null;
      return mergeTracking(op.base, op.value, before, Boolean(op.after_others), this.caret.offset).position;
    }
    const confirmed = fieldOwner(this.confirmed, opLike)?.[opLike.field];
    if (!op && this.caret.place !== undefined && confirmed === shown) return utf16Index(shown, this.caret.place);
    return null;
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
      if (!this.confirmed.locked) this.releaseHeld();
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
      const textsBefore = this.typedTexts();
      const caretMoved = this.keepCaretOfConfirmed(change);
      applyResolved(this.confirmed, change.op);
      this.confirmed.revision = change.revision;
      this.pending = this.pending.filter((op) => op.op_id !== change.op_id);
      this.carryTyping(change, textsBefore, !caretMoved);
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

  /** How a change moved a field's confirmed text, for its first pending op; null if it left it alone. */
  firstStep(key, op, textsBefore, change) {
    const before = textsBefore.get(key);
    const after = fieldOwner(this.confirmed, op)?.[op.field];
    if (before === undefined || after === undefined || before === after) return null;
    return { before, after, reported: reportedAt(change, op) };
  }

  /** The confirmed text of each field a pending text op or the caret is in, by field key. */
  typedTexts() {
    const texts = new Map();
    const note = (op) => texts.set(fieldKey(op), fieldOwner(this.confirmed, op)?.[op.field]);
    for (const op of this.pending) if (isTextSet(op)) note(op);
    if (this.caret) note(keyOp(this.caret.key));
    return texts;
  }

  /**
   * Our own op confirmed: the typing caret stays with its words, now in the confirmed
   * text after the change. Returns whether it did.
   */
  keepCaretOfConfirmed(change) {
    const op = this.caretOp();
    if (!op || op.op_id !== change.op_id) return false;
    const place = this.caret.k !== undefined && change.op.at !== undefined ? change.op.at + this.caret.k : undefined;
    this.caret = place === undefined ? null : { key: this.caret.key, place };
    return true;
  }

  /**
   * Someone else's change reached a field we are typing in: each pending op that inserts
   * one stretch straight over the confirmed text, and a caret in confirmed text, is
   * carried through it exactly (by the change's `at`), as the server will carry the op.
   */
  carryTyping(change, textsBefore, carryCaret) {
    // Per field: the text the next pending op must stand on, what it becomes, and where in it the change went.
    const steps = new Map();
    for (const op of this.pending) {
      if (!isTextSet(op)) continue;
      const key = fieldKey(op);
      if (!steps.has(key)) steps.set(key, this.firstStep(key, op, textsBefore, change));
      const step = steps.get(key);
      const inserted = step && op.at !== undefined && op.base === step.before ? insertedText(op.base, op.value, op.at) : null;
      if (inserted === null) { steps.set(key, null); continue; } // the rest of this field is merged as it stands
      const was = op.value;
      op.at = carryPlace(step.before, step.after, step.reported, op.at, Boolean(op.after_others));
      op.value = insertAt(step.after, op.at, inserted);
      op.base = step.after;
      op.base_revision = change.revision;
      const reported = step.reported === undefined ? undefined
        : step.reported + (step.reported < op.at ? 0 : Array.from(inserted).length);
      steps.set(key, { before: was, after: op.value, reported });
    }
    const caretKey = this.caret?.key;
    if (!carryCaret || this.caret?.place === undefined || !textsBefore.has(caretKey)) return;
    const probe = keyOp(caretKey);
    const before = textsBefore.get(caretKey);
    const after = fieldOwner(this.confirmed, probe)?.[probe.field];
    if (before !== undefined && after !== undefined && after !== before) {
      this.caret.place = carryPlace(before, after, reportedAt(change, probe), this.caret.place, false);
    }
  }

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

  savePending() {
    const stored = this.pending.map(({ in_flight, ...op }) => op);
    writeJson(this.pendingKey, stored);
  }

  saveConflicts() {
    writeJson(this.conflictsKey, this.conflicts);
  }

  scheduleSnapshotSave() {
    clearTimeout(this.snapshotTimer);
    this.snapshotTimer = setTimeout(() => writeJson(this.snapshotKey, this.confirmed), SNAPSHOT_SAVE_DELAY_MS);
  }

  flushStorage() {
    clearTimeout(this.snapshotTimer);
    writeJson(this.snapshotKey, this.confirmed);
    this.savePending();
    this.saveConflicts();
  }
}

function isUnsent(op) {
  return !op.in_flight && op.acked_revision === undefined && !op.held;
}

function fieldKey(op) {
  return [op.type, op.step_id || '', op.stakeholder_id || '', op.field].join(':');
}

/** The set-op shape a field key stands for. */
function keyOp(key) {
  const [type, stepId, stakeholderId, field] = key.split(':');
  return { type, step_id: stepId || undefined, stakeholder_id: stakeholderId || undefined, field };
}

/** Where a change's one inserted stretch went in `op`'s field, when the change set that field and says. */
function reportedAt(change, op) {
  const set = change.op;
  const same = set.type === op.type && set.field === op.field && set.step_id === op.step_id
    && set.stakeholder_id === op.stakeholder_id;
  return same ? set.at : undefined;
}

function sameField(a, b) {
  return a.type === b.type && a.field === b.field && a.step_id === b.step_id && a.stakeholder_id === b.stakeholder_id;
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
