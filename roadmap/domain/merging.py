"""Three-way merge of concurrent text edits with diff-match-patch."""
from diff_match_patch import diff_match_patch

_dmp = diff_match_patch()


def merge_text(base: str | None, mine: str, current: str) -> str:
    """Apply the change base->mine onto current, keeping both people's words.

    When the client edited the text the server still holds (or sent no base),
    its value simply wins.
    """
    if base is None or base == current or mine == current:
        return mine
    patches = _dmp.patch_make(base, mine)
    merged, _applied = _dmp.patch_apply(patches, current)
    return merged
