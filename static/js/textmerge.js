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

/** Apply the edit base -> mine onto current, keeping both people's words. */
export function mergeText(base, mine, current, afterOthers = false) {
  if (base === null || base === undefined || base === current) return mine;
  if (mine === base) return current;
  const units = codePointUnits([base, mine, current]);
  const [baseUnits, mineUnits, currentUnits] = [base, mine, current].map(units.encode);
  const ours = editsBetween(baseUnits, mineUnits);
  const theirs = editsBetween(baseUnits, currentUnits);
  const [first, second] = afterOthers ? [theirs, ours] : [ours, theirs];
  return units.decode(combine(baseUnits, first, second));
}

/**
 * mergeText, and where a position in `mine` (a UTF-16 index) ends up in the result:
 * the position travels as a marker inside the person's own text, so it stays with
 * their words even beside identical letters someone else typed.
 */
export function mergeTracking(base, mine, current, afterOthers, position) {
  const marker = unusedCharacter([base ?? '', mine, current]);
  const marked = mergeText(base, mine.slice(0, position) + marker + mine.slice(position), current, afterOthers);
  const at = marked.indexOf(marker);
  if (at < 0) return { text: mergeText(base, mine, current, afterOthers), position: null };
  return { text: marked.slice(0, at) + marked.slice(at + 1), position: at };
}

function unusedCharacter(texts) {
  const used = new Set(texts.join(''));
  for (let unit = PRIVATE_USE_LAST; unit >= PRIVATE_USE_FIRST; unit -= 1) {
    if (!used.has(String.fromCharCode(unit))) return String.fromCharCode(unit);
  }
  return '\u0000';
}

function combine(base, first, second) {
  const inserted = new Map();
  const replacing = new Map();
  const all = [...first, ...second];
  const key = (edit) => `${edit.start}:${edit.end}:${edit.text}`;
  const corrections = new Set(first.filter((edit) => edit.end > edit.start).map(key));
  for (const edit of all) {
    if (second.includes(edit) && corrections.has(key(edit))) continue; // one correction, made by both
    const into = edit.start === edit.end ? inserted : replacing;
    if (!into.has(edit.start)) into.set(edit.start, []);
    into.get(edit.start).push(edit.text);
  }
  const deleted = all.filter((edit) => edit.end > edit.start);
  const places = [...new Set([0, base.length, ...all.map((edit) => edit.start), ...all.map((edit) => edit.end)])]
    .sort((a, b) => a - b);
  const merged = [];
  places.forEach((place, index) => {
    merged.push(...(inserted.get(place) || []), ...(replacing.get(place) || []));
    const next = places[index + 1];
    if (next !== undefined && !deleted.some((edit) => edit.start <= place && place < edit.end)) {
      merged.push(base.slice(place, next));
    }
  });
  return merged.join('');
}

/**
 * Where a caret at `position` (a UTF-16 index into oldText) belongs in newText.
 * Text inserted right at the caret goes after it when `stickLeft` (the person
 * is typing there, so the caret stays with their words), else before it.
 */
export function mapPosition(oldText, newText, position, stickLeft) {
  const units = codePointUnits([oldText, newText]);
  const before = Array.from(oldText.slice(0, position)).length;
  let shift = 0;
  let mapped = null;
  for (const edit of editsBetween(units.encode(oldText), units.encode(newText))) {
    if (edit.start > before || (edit.start === before && edit.end > before)) break;
    if (edit.start === before && edit.end === before) {
      if (!stickLeft) shift += edit.text.length;
      break;
    }
    if (edit.end > before) { // the caret was inside replaced text: put it after the replacement
      mapped = edit.start + shift + edit.text.length;
      break;
    }
    shift += edit.text.length - (edit.end - edit.start);
  }
  const index = mapped ?? before + shift;
  return Array.from(newText).slice(0, index).join('').length;
}
