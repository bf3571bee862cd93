"""What text a person may type, anywhere: ops, names, titles, messages. The one definition."""

from __future__ import annotations

import re

# C0 controls but tab, LF and CR; DEL; C1 controls; and surrogates, which in a
# decoded string are always lone. Invisible or terminal-active when shown, and
# NUL and surrogates cannot be stored in PostgreSQL or encoded as UTF-8.
# Written with escapes, so the JSON Schema (docs/protocol.md) can carry the same class.
CONTROL_CHARACTER_CLASS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
CONTROL_CHARACTERS = re.compile(f"[{CONTROL_CHARACTER_CLASS}]")
# The same rule as a pattern that a whole text must match (msgspec's Meta, JSON Schema).
WITHOUT_CONTROL_CHARACTERS = f"^[^{CONTROL_CHARACTER_CLASS}]*$"


def has_control_characters(typed: str) -> bool:
    return CONTROL_CHARACTERS.search(typed) is not None


def single_line(typed: str, max_length: int) -> str:
    """A name as stored: runs of whitespace collapsed to one space, trimmed, cut to max_length."""
    return " ".join(typed.split())[:max_length]
