"""Step order as fractional keys: a move rewrites one key, never the list."""

from fractional_indexing import generate_key_between


def key_between(before: str | None, after: str | None) -> str:
    return generate_key_between(before, after)


def key_after(ordered_keys: list[str], after_key: str | None) -> str:
    """The key for an item placed right after after_key (None: at the start).

    Tolerates equal keys in the list: the new key goes between after_key and
    the next strictly greater one.
    """
    if after_key is None:
        return key_between(None, ordered_keys[0] if ordered_keys else None)
    following = next((key for key in ordered_keys if key > after_key), None)
    return key_between(after_key, following)
