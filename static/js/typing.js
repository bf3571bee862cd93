// Where each person's typing goes while others type in the same field: every
// pending text op that inserts one stretch says where (insert_at, code points),
// and is carried through each change of its field by the place that change
// reports, as the server carries it (domain/merging.carry_insertion); the caret
// of the person typing is kept with their own words the same way, also once
// those words are confirmed. A diff cannot do this beside equal letters: a space
// typed next to a space may have been typed on either side of it.
import { fieldOwner, isTextSet } from './ops.js';
import {
  carryPlace, codePointIndex, diffCarry, exactInsertion, insertedText, insertionAt, merge, mergeTracking,
  utf16Index, withInsertion,
} from './textmerge.js';

export class Typing {
  constructor(store) {
    this.store = store;
    // The caret of the person typing: {key, k}, k code points into the stretch the last pending
    // op of its field inserts; {key, offset} (UTF-16, in that op's value) for other edits; and,
    // once that op is confirmed, {key, place} (code points) in the confirmed text.
    this.caret = null;
  }

  /** After a keystroke: where the op's inserted stretch starts, and the caret with it. */
  typed(op, caret) {
    const insertAt = caret === undefined ? undefined : insertionAt(op.base, op.value, caret);
    if (insertAt === undefined) delete op.insert_at;
    else op.insert_at = insertAt;
    if (caret === undefined) return;
    this.caret = insertAt === undefined
      ? { key: fieldKey(op), offset: caret }
      : { key: fieldKey(op), k: codePointIndex(op.value, caret) - insertAt };
  }

  /** A text op restated over `before` (the text the store now holds under it), the caret going with it. */
  rebase(op, before, caret) {
    if (caret !== undefined) {
      const merged = mergeTracking(op.base, op.value, before, Boolean(op.after_others), caret);
      op.value = merged.text;
      op.base = before;
      return merged.position ?? undefined;
    }
    const tracksOffset = this.opOfCaret() === op && this.caret.offset !== undefined;
    if (tracksOffset) {
      this.caret.offset = this.rebase(op, before, this.caret.offset) ?? this.caret.offset;
      return undefined;
    }
    const merged = merge(op.base, op.value, before, Boolean(op.after_others), op.insert_at);
    op.value = merged.text;
    op.base = before;
    if (merged.insertedAt === undefined) delete op.insert_at;
    else op.insert_at = merged.insertedAt;
    return undefined;
  }

  /** The last pending text op of the caret's field: the one whose value the caret's k or offset is in. */
  opOfCaret() {
    if (!this.caret) return null;
    const { pending } = this.store;
    for (let index = pending.length - 1; index >= 0; index -= 1) {
      if (isTextSet(pending[index]) && fieldKey(pending[index]) === this.caret.key) return pending[index];
    }
    return null;
  }

  /** Where the typing caret of the op's field stands in the view's text (UTF-16), or null. */
  caretIn(opLike) {
    if (!this.caret || fieldKey(opLike) !== this.caret.key) return null;
    const { store } = this;
    const shown = fieldOwner(store.view, opLike)?.[opLike.field];
    const op = this.opOfCaret();
    if (op && this.caret.k !== undefined && op.insert_at !== undefined && op.value === shown) {
      return utf16Index(shown, op.insert_at + this.caret.k);
    }
    if (op && this.caret.offset !== undefined) {
      const before = store.textBefore(op);
      if (before === undefined) return null;
      return mergeTracking(op.base, op.value, before, Boolean(op.after_others), this.caret.offset).position;
    }
    const confirmed = fieldOwner(store.confirmed, opLike)?.[opLike.field];
    if (!op && this.caret.place !== undefined && confirmed === shown) return utf16Index(shown, this.caret.place);
    return null;
  }

  /** What a change is applied over: the confirmed texts of typed fields, and our own op confirmed. */
  beforeChange(change) {
    const texts = new Map();
    const note = (op) => texts.set(fieldKey(op), fieldOwner(this.store.confirmed, op)?.[op.field]);
    for (const op of this.store.pending) if (isTextSet(op)) note(op);
    if (this.caret) note(keyOp(this.caret.key));
    return { texts, caretConfirmed: this.keepCaretOfConfirmed(change) };
  }

  /** Our own op confirmed: the caret stays with its words, now in the confirmed text. Returns whether it moved. */
  keepCaretOfConfirmed(change) {
    const op = this.opOfCaret();
    if (!op || op.op_id !== change.op_id) return false;
    const insertedAt = change.op.insert_at;
    this.caret = this.caret.k !== undefined && insertedAt !== undefined
      ? { key: this.caret.key, place: insertedAt + this.caret.k } : null;
    return true;
  }

  /**
   * Someone's change reached a field we type in: each pending op of it that inserts one
   * stretch over the text before it is carried through exactly, op by op, and so is a
   * caret in confirmed text. A change that does not say where it inserted stops the
   * carrying: those ops are merged as they stand, as the server will merge them.
   */
  afterChange(change, { texts, caretConfirmed }) {
    const moves = new Map(); // field key -> how the text under its next pending op moved, or null
    for (const op of this.store.pending) {
      if (!isTextSet(op)) continue;
      const key = fieldKey(op);
      if (!moves.has(key)) moves.set(key, this.firstMove(op, texts.get(key), change));
      const move = moves.get(key);
      const inserted = move && op.insert_at !== undefined && op.base === move.before
        ? insertedText(op.base, op.value, op.insert_at) : null;
      if (inserted === null) { moves.set(key, null); continue; }
      const was = op.value;
      op.insert_at = carryPlace(op.insert_at, move.insertedAt, move.length, Boolean(op.after_others));
      op.value = withInsertion(move.after, op.insert_at, inserted);
      op.base = move.after;
      op.base_revision = change.revision;
      // Under the field's next op, the change's stretch stands after this op's, or before it.
      const shift = move.insertedAt < op.insert_at ? 0 : Array.from(inserted).length;
      moves.set(key, { before: was, after: op.value, insertedAt: move.insertedAt + shift, length: move.length });
    }
    if (!caretConfirmed && this.caret?.place !== undefined) this.carryConfirmedCaret(change, texts);
  }

  firstMove(op, before, change) {
    const after = fieldOwner(this.store.confirmed, op)?.[op.field];
    if (before === undefined || after === undefined || before === after || !sameField(change.op, op)) return null;
    const inserted = exactInsertion(before, after, change.op.insert_at);
    return inserted && { before, after, insertedAt: inserted.start, length: inserted.length };
  }

  carryConfirmedCaret(change, texts) {
    const probe = keyOp(this.caret.key);
    const before = texts.get(this.caret.key);
    const after = fieldOwner(this.store.confirmed, probe)?.[probe.field];
    if (before === undefined || after === undefined || after === before) return;
    const inserted = sameField(change.op, probe) ? exactInsertion(before, after, change.op.insert_at) : null;
    this.caret.place = inserted
      ? carryPlace(this.caret.place, inserted.start, inserted.length, false)
      : diffCarry(before, after, this.caret.place);
  }

  /** A snapshot replaced the confirmed map: no caret place in it can be trusted. */
  forget() {
    if (this.caret?.place !== undefined) this.caret = null;
  }
}

/** One string per field: the op type, the item and the field. */
export function fieldKey(op) {
  return [op.type, op.step_id || '', op.stakeholder_id || '', op.field].join(':');
}

export function sameField(a, b) {
  return fieldKey(a) === fieldKey(b);
}

/** The set-op shape a field key stands for. */
function keyOp(key) {
  const [type, stepId, stakeholderId, field] = key.split(':');
  return { type, step_id: stepId || undefined, stakeholder_id: stakeholderId || undefined, field };
}
