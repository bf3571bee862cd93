"""Step order as fractional keys: a move rewrites one key, never the list."""
from fractional_indexing import generate_key_between


def key_between(before: str | None, after: str | None) -> str:
    return generate_key_between(before, after)


def key_after(ordered_keys: list[str], after_key: str | None) -> str:
    """The key for an item placed right after after_key (None: at the start)."""
    if after_key is None:
        return key_between(None, ordered_keys[0] if ordered_keys else None)
    index = ordered_keys.index(after_key)
    following = ordered_keys[index + 1] if index + 1 < len(ordered_keys) else None
    return key_between(after_key, following)
