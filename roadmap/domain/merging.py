"""Three-way merge of concurrent text edits, by position.

Each side's edit is read as a diff from the text both started from (the base):
ranges of the base it replaced or deleted, and text it inserted at places
between the base's characters. Both sides' edits are kept: a character of the
base survives unless either side deleted it, and every inserted text survives,
so no one's words are lost.

Where both sides inserted at the very same place, the incoming edit goes
first: a person who is continuing their own words keeps them together. An edit
that says `after_others` goes after the other text instead: a person who
started typing where someone else's words end stays after those words while
that someone goes on typing. At one place, text inserted there goes before a
replacement that starts there. Two people inserting the same letters at one
place typed them twice, so both stay; two people replacing the same text with
the same text made one correction, so it is made once.

Equal letters make a diff ambiguous: a space typed next to a space could have
been typed on either side of it. So an op that inserts one stretch of text says
where (`insert_at`); the merge places it there and reports where it ended up in
the current text; and, given the revision its base was read at, it is carried
through the changes committed since by their own reported places
(carry_insertion). So every client can put each person's next letter right
after their last one.

The browser runs the same algorithm (static/js/textmerge.js) on the same test
vectors (tests/vectors/text_merge.json), so a client's view of its own pending
edits is what the server will make of them.
"""

from __future__ import annotations

import sys
from bisect import bisect_right
from dataclasses import dataclass

from diff_match_patch import diff_match_patch

# An edit of up to this many characters (what is left once the common start and
# end are set aside) is diffed exactly, so the browser and the server agree on it
# however busy either is (a random one takes ~3 ms). A larger one gives up after
# DIFF_TIMEOUT_SECONDS with a coarser (still correct) diff, so a merge holds the
# server's event loop for at most about 10 ms; typing takes 0.02 ms. The browser
# uses the same numbers.
EXACT_DIFF_CHARACTERS = 100
DIFF_TIMEOUT_SECONDS = 0.005

_dmp = diff_match_patch()
_dmp.Diff_Timeout = DIFF_TIMEOUT_SECONDS


@dataclass(frozen=True)
class Edit:
    """base[start:end] becomes `text`; start == end is an insertion at that place."""

    start: int
    end: int
    text: str


def edits_between(base: str, changed: str) -> list[Edit]:
    """The edits that turn `base` into `changed`, in base order."""
    found: list[Edit] = []
    position = 0
    start = end = None
    inserted = ""
    diffs = _dmp.diff_main(base, changed, False, _deadline(base, changed))
    # A minimal diff matches stray letters of rewritten words ("два три" -> "три четыре"
    # would keep "т" and "р"); merging such pieces mixes words, so edits are taken at
    # the scale a person makes them.
    _dmp.diff_cleanupEfficiency(diffs)
    for operation, chunk in diffs:
        if operation == diff_match_patch.DIFF_EQUAL:
            if start is not None:
                found.append(Edit(start, end, inserted))
                start, inserted = None, ""
            position += len(chunk)
            continue
        if start is None:
            start = end = position
        if operation == diff_match_patch.DIFF_DELETE:
            position += len(chunk)
            end = position
        else:
            inserted += chunk
    if start is not None:
        found.append(Edit(start, end, inserted))
    return found


def _deadline(base: str, changed: str) -> float | None:
    """No deadline for a small edit (an exact diff); None (Diff_Timeout) for a large one."""
    prefix = _dmp.diff_commonPrefix(base, changed)
    suffix = _dmp.diff_commonSuffix(base[prefix:], changed[prefix:])
    return sys.maxsize if max(len(base), len(changed)) - prefix - suffix <= EXACT_DIFF_CHARACTERS else None


def exact_insertion(base: str, changed: str, insert_at: int | None) -> Edit | None:
    """The stretch `changed` has at `insert_at` when it is exactly `base` with one stretch put there."""
    added = len(changed) - len(base)
    if insert_at is None or added <= 0 or not 0 <= insert_at <= len(base):
        return None
    if not (changed.startswith(base[:insert_at]) and changed.endswith(base[insert_at:])):
        return None
    return Edit(insert_at, insert_at, changed[insert_at : insert_at + added])


def single_insertion(base: str, changed: str, insert_at: int | None = None) -> Edit | None:
    """The one stretch of text `changed` inserts into `base` deleting nothing, at `insert_at`
    when it can stand there (equal letters around it); None for any other edit."""
    exact = exact_insertion(base, changed, insert_at)
    if exact is not None or len(changed) <= len(base):
        return exact
    edits = edits_between(base, changed)
    return edits[0] if len(edits) == 1 and edits[0].start == edits[0].end else None


@dataclass(frozen=True)
class Merged:
    """The merged text, and where the op's one inserted stretch stands in it (None for other edits)."""

    text: str
    inserted_at: int | None = None


def merge(
    base: str | None, mine: str, current: str, after_others: bool = False, insert_at: int | None = None
) -> Merged:
    """Apply the edit base -> mine onto current, keeping both people's words.

    When the client edited the text the server still holds (or sent no base),
    its value simply wins.
    """
    if base is None:
        return Merged(mine)
    insertion = single_insertion(base, mine, insert_at)
    if base == current:
        return Merged(mine, insertion.start if insertion else None)
    if mine == base:
        return Merged(current)
    ours, theirs = ([insertion] if insertion else edits_between(base, mine)), edits_between(base, current)
    first, second = (theirs, ours) if after_others else (ours, theirs)
    text, placed = _combine(base, first, second, insertion)
    return Merged(text, placed)


def merge_text(
    base: str | None, mine: str, current: str, after_others: bool = False, insert_at: int | None = None
) -> str:
    return merge(base, mine, current, after_others, insert_at).text


def carry_insertion(
    base: str, mine: str, insert_at: int, after_others: bool, later_texts: list[tuple[str, int | None]], current: str
) -> Merged | None:
    """An op's one inserted stretch, carried exactly through the texts the field took since
    `base`, each with where its own change inserted. None, for merge() to decide, when the
    op is no single insertion, or a later change did not insert exactly one stretch where
    it says (a deletion, a rewrite, a base that was not the field's text then), or the
    texts do not end at `current`. Costs a comparison of the texts per later change."""
    insertion = single_insertion(base, mine, insert_at)
    if insertion is None:
        return None
    place, text = insertion.start, base
    for later, reported_at in later_texts:
        inserted = exact_insertion(text, later, reported_at)
        if inserted is None:
            return None
        place = carry_place(place, inserted.start, len(inserted.text), after_others)
        text = later
    if text != current:
        return None
    return Merged(current[:place] + insertion.text + current[place:], place)


def carry_place(place: int, inserted_at: int, inserted_length: int, after_others: bool) -> int:
    """A place carried through an insertion: text inserted right at it goes after it (the
    person goes on typing there), or before it with `after_others`, as in merge()."""
    if inserted_at < place or (inserted_at == place and after_others):
        return place + inserted_length
    return place


def _combine(base: str, first: list[Edit], second: list[Edit], tracked: Edit | None = None) -> tuple[str, int | None]:
    """Both sides' edits on one base; at a shared place `first` goes before `second`.
    Returns the text and where the `tracked` edit's text was put in it."""
    inserted: dict[int, list[Edit]] = {}
    replacing: dict[int, list[Edit]] = {}
    corrections = {edit for edit in first if edit.end > edit.start}
    for side in (first, second):
        for edit in side:
            if side is second and edit in corrections:
                continue
            into = inserted if edit.start == edit.end else replacing
            into.setdefault(edit.start, []).append(edit)
    deleted = _merged_ranges([(edit.start, edit.end) for edit in first + second if edit.end > edit.start])
    deleted_starts = [start for start, _ in deleted]
    places = sorted({0, len(base), *(edit.start for edit in first + second), *(edit.end for edit in first + second)})
    merged: list[str] = []
    length, placed = 0, None
    for index, place in enumerate(places):
        for edit in (*inserted.get(place, ()), *replacing.get(place, ())):
            if edit is tracked:
                placed = length
            merged.append(edit.text)
            length += len(edit.text)
        if index + 1 < len(places) and not _is_deleted(place, deleted, deleted_starts):
            merged.append(base[place : places[index + 1]])
            length += places[index + 1] - place
    return "".join(merged), placed


def _merged_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _is_deleted(place: int, deleted: list[tuple[int, int]], starts: list[int]) -> bool:
    """Whether the base character at `place` lies in a deleted range."""
    index = bisect_right(starts, place) - 1
    return index >= 0 and place < deleted[index][1]
