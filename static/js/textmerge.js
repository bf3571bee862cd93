// Three-way merge of concurrent text edits, by position: the algorithm of
// roadmap/domain/merging.py (its docstring explains it), checked against the
// same test vectors (tests/vectors/text_merge.json). Positions count code
// points, as Python does, so each emoji is diffed as one character.
import {
  diffCleanupEfficiency, diffCommonPrefix, diffCommonSuffix, diffMain,
} from '/vendor/diff-match-patch-es.mjs';

const DIFF_OPTIONS = { diffTimeout: 0.005 }; // merging.DIFF_TIMEOUT_SECONDS
const EXACT_DIFF_CHARACTERS = 100; // merging.EXACT_DIFF_CHARACTERS
const PRIVATE_USE_FIRST = 0xe000;
const PRIVATE_USE_LAST = 0xf8ff;

/**
 * The texts recoded so that every code point is one UTF-16 unit: each astral
 * character becomes a private-use character none of the texts holds.
 */
function codePointUnits(texts) {
  const astral = new Set();
  for (const text of texts) for (const char of text) if (char.length === 2) astral.add(char);
  if (!astral.size) return { encode: (text) => text, decode: (text) => text };
  const used = new Set(texts.join(''));
  const toUnit = new Map();
  const toChar = new Map();
  let unit = PRIVATE_USE_FIRST;
  for (const char of astral) {
    while (unit <= PRIVATE_USE_LAST && used.has(String.fromCharCode(unit))) unit += 1;
    if (unit > PRIVATE_USE_LAST) break; // thousands of distinct emoji: diff the rest as pairs
    toUnit.set(char, String.fromCharCode(unit));
    toChar.set(String.fromCharCode(unit), char);
    unit += 1;
  }
  return {
    encode: (text) => Array.from(text, (char) => toUnit.get(char) ?? char).join(''),
    decode: (text) => Array.from(text, (char) => toChar.get(char) ?? char).join(''),
  };
}

/** No deadline for a small edit (an exact diff), as merging.py decides; undefined (the timeout) for a large one. */
function deadline(base, changed) {
  const prefix = diffCommonPrefix(base, changed);
  const suffix = diffCommonSuffix(base.slice(prefix), changed.slice(prefix));
  return Math.max(base.length, changed.length) - prefix - suffix <= EXACT_DIFF_CHARACTERS ? Number.MAX_VALUE : undefined;
}

/** The edits {start, end, text} that turn `base` into `changed`, in base order. */
function editsBetween(base, changed) {
  const found = [];
  let position = 0;
  let open = null;
  const diffs = diffMain(base, changed, DIFF_OPTIONS, false, deadline(base, changed));
  diffCleanupEfficiency(diffs, DIFF_OPTIONS); // as merging.py: edits at the scale a person makes them
  for (const [operation, chunk] of diffs) {
    if (operation === 0) {
      if (open) { found.push(open); open = null; }
      position += chunk.length;
      continue;
    }
    if (!open) open = { start: position, end: position, text: '' };
    if (operation < 0) {
      position += chunk.length;
      open.end = position;
    } else {
      open.text += chunk;
    }
  }
  if (open) found.push(open);
  return found;
}

/** The stretch `changed` has at `insertAt` when it is exactly `base` with one stretch put there (encoded texts). */
function exactIn(base, changed, insertAt) {
  const added = changed.length - base.length;
  if (insertAt === undefined || insertAt === null || added <= 0 || insertAt < 0 || insertAt > base.length) return null;
  if (!changed.startsWith(base.slice(0, insertAt)) || !changed.endsWith(base.slice(insertAt))) return null;
  return { start: insertAt, end: insertAt, text: changed.slice(insertAt, insertAt + added) };
}

/** The one stretch `changed` inserts into `base` deleting nothing, at `insertAt` if it can stand there (encoded). */
function insertionIn(base, changed, insertAt) {
  const exact = exactIn(base, changed, insertAt);
  if (exact || changed.length <= base.length) return exact;
  const edits = editsBetween(base, changed);
  return edits.length === 1 && edits[0].start === edits[0].end ? edits[0] : null;
}

/**
 * Apply the edit base -> mine onto current, keeping both people's words; `insertAt`
 * (code points) is where mine's one inserted stretch starts in base. Returns the text
 * and where that stretch stands in it (insertedAt, code points; undefined for other edits).
 */
export function merge(base, mine, current, afterOthers = false, insertAt = undefined) {
  if (base === null || base === undefined) return { text: mine, insertedAt: undefined };
  const units = codePointUnits([base, mine, current]);
  const [baseUnits, mineUnits, currentUnits] = [base, mine, current].map(units.encode);
  const insertion = insertionIn(baseUnits, mineUnits, insertAt);
  if (base === current) return { text: mine, insertedAt: insertion?.start };
  if (mine === base) return { text: current, insertedAt: undefined };
  const ours = insertion ? [insertion] : editsBetween(baseUnits, mineUnits);
  const theirs = editsBetween(baseUnits, currentUnits);
  const [first, second] = afterOthers ? [theirs, ours] : [ours, theirs];
  const combined = combine(baseUnits, first, second, insertion);
  return { text: units.decode(combined.text), insertedAt: combined.at };
}

export function mergeText(base, mine, current, afterOthers = false, insertAt = undefined) {
  return merge(base, mine, current, afterOthers, insertAt).text;
}

/**
 * merge(), and where a position in `mine` (a UTF-16 index) ends up in the result: the
 * position travels as a marker inside the person's own text, so it stays with their
 * words. For edits that are not one insertion, whose place insert_at cannot say.
 */
export function mergeTracking(base, mine, current, afterOthers, position) {
  const marker = unusedCharacter([base ?? '', mine, current]);
  const marked = mergeText(base, mine.slice(0, position) + marker + mine.slice(position), current, afterOthers);
  const at = marked.indexOf(marker);
  if (at < 0) return { text: mergeText(base, mine, current, afterOthers), position: null };
  return { text: marked.slice(0, at) + marked.slice(at + 1), position: at };
}

/**
 * Where the stretch `value` inserts into `base` starts (code points), given the caret
 * (a UTF-16 index into value) at its end; undefined unless value is base with one
 * stretch inserted there.
 */
export function insertionAt(base, value, caret) {
  const units = codePointUnits([base, value]);
  const [baseUnits, valueUnits] = [base, value].map(units.encode);
  const insertAt = codePointIndex(value, caret) - (valueUnits.length - baseUnits.length);
  return exactIn(baseUnits, valueUnits, insertAt) ? insertAt : undefined;
}

/** {start, length} in code points of the stretch `later` has at `insertAt` of `text`, or null (merging.exact_insertion). */
export function exactInsertion(text, later, insertAt) {
  const units = codePointUnits([text, later]);
  const inserted = exactIn(units.encode(text), units.encode(later), insertAt);
  return inserted && { start: inserted.start, length: inserted.text.length };
}

/** A place carried through an insertion (merging.carry_place). */
export function carryPlace(place, insertedAt, insertedLength, afterOthers) {
  return insertedAt < place || (insertedAt === place && afterOthers) ? place + insertedLength : place;
}

/** merging.carry_insertion: {text, insertedAt}, or null where the server would merge instead. */
export function carryInsertion(base, mine, insertAt, afterOthers, laterTexts, current) {
  const units = codePointUnits([base, mine]);
  const insertion = insertionIn(units.encode(base), units.encode(mine), insertAt);
  if (!insertion) return null;
  const inserted = units.decode(insertion.text);
  let place = insertion.start;
  let text = base;
  for (const [later, reportedAt] of laterTexts) {
    const step = exactInsertion(text, later, reportedAt);
    if (!step) return null;
    place = carryPlace(place, step.start, step.length, afterOthers);
    text = later;
  }
  return text === current ? { text: withInsertion(current, place, inserted), insertedAt: place } : null;
}

/** The stretch an op with insert_at inserts into its base, as text, or null. */
export function insertedText(base, value, insertAt) {
  const units = codePointUnits([base, value]);
  const inserted = exactIn(units.encode(base), units.encode(value), insertAt);
  return inserted ? units.decode(inserted.text) : null;
}

/** `text` with `inserted` put at a place counted in code points. */
export function withInsertion(text, place, inserted) {
  const split = utf16Index(text, place);
  return text.slice(0, split) + inserted + text.slice(split);
}

/** A place (code points) in `text` carried to `later` by the diff, staying before text inserted right at it. */
export function diffCarry(text, later, place) {
  const units = codePointUnits([text, later]);
  return mapPlace(units.encode(text), units.encode(later), place, true);
}

export function codePointIndex(text, utf16) {
  return Array.from(text.slice(0, utf16)).length;
}

export function utf16Index(text, codePoints) {
  return Array.from(text).slice(0, codePoints).join('').length;
}

function unusedCharacter(texts) {
  const used = new Set(texts.join(''));
  for (let unit = PRIVATE_USE_LAST; unit >= PRIVATE_USE_FIRST; unit -= 1) {
    if (!used.has(String.fromCharCode(unit))) return String.fromCharCode(unit);
  }
  return '\u0000';
}

/** Both sides' edits on one base; at a shared place `first` goes before `second`. Also where `tracked` went. */
function combine(base, first, second, tracked) {
  const inserted = new Map();
  const replacing = new Map();
  const all = [...first, ...second];
  const key = (edit) => `${edit.start}:${edit.end}:${edit.text}`;
  const corrections = new Set(first.filter((edit) => edit.end > edit.start).map(key));
  for (const edit of all) {
    if (second.includes(edit) && corrections.has(key(edit))) continue; // one correction, made by both
    const into = edit.start === edit.end ? inserted : replacing;
    if (!into.has(edit.start)) into.set(edit.start, []);
    into.get(edit.start).push(edit);
  }
  const deleted = all.filter((edit) => edit.end > edit.start);
  const places = [...new Set([0, base.length, ...all.map((edit) => edit.start), ...all.map((edit) => edit.end)])]
    .sort((a, b) => a - b);
  const merged = [];
  let length = 0;
  let at;
  places.forEach((place, index) => {
    for (const edit of [...(inserted.get(place) || []), ...(replacing.get(place) || [])]) {
      if (edit === tracked) at = length;
      merged.push(edit.text);
      length += edit.text.length;
    }
    const next = places[index + 1];
    if (next !== undefined && !deleted.some((edit) => edit.start <= place && place < edit.end)) {
      merged.push(base.slice(place, next));
      length += next - place;
    }
  });
  return { text: merged.join(''), at };
}

/** Where a place in old is in new (encoded texts): see mapPosition. */
function mapPlace(old, updated, place, stickLeft) {
  let shift = 0;
  for (const edit of editsBetween(old, updated)) {
    if (edit.start > place || (edit.start === place && edit.end > place)) break;
    if (edit.start === place && edit.end === place) return place + (stickLeft ? 0 : edit.text.length);
    if (edit.end > place) return edit.start + shift + edit.text.length;
    shift += edit.text.length - (edit.end - edit.start);
  }
  return place + shift;
}

/**
 * Where a caret at `position` (a UTF-16 index into oldText) belongs in newText.
 * Text inserted right at the caret goes after it when `stickLeft` (the person
 * is typing there, so the caret stays with their words), else before it.
 */
export function mapPosition(oldText, newText, position, stickLeft) {
  const units = codePointUnits([oldText, newText]);
  const place = mapPlace(units.encode(oldText), units.encode(newText), codePointIndex(oldText, position), stickLeft);
  return utf16Index(newText, place);
}
