"""The three-way text merge (roadmap/domain/merging.py) on the shared test vectors.

The browser runs the same vectors through static/js/textmerge.js
(tests/test_browser_textmerge.py), so a client's view of its pending edits is
what the server makes of them.
"""
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roadmap.domain.merging import edits_between, merge_text

VECTORS = json.loads((Path(__file__).parent / "vectors" / "text_merge.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("vector", VECTORS, ids=[vector["note"] for vector in VECTORS])
def test_merge_gives_the_vector_result(vector):
    merged = merge_text(vector["base"], vector["mine"], vector["current"], vector["after_others"])

    assert merged == vector["merged"]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.text(max_size=30), st.text(max_size=30))
def test_edits_rebuild_the_changed_text(base, changed):
    rebuilt, position = [], 0
    for edit in edits_between(base, changed):
        rebuilt.append(base[position:edit.start])
        rebuilt.append(edit.text)
        position = edit.end
    rebuilt.append(base[position:])

    assert "".join(rebuilt) == changed


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.text(max_size=20), st.text(max_size=20), st.text(max_size=20), st.booleans())
def test_every_inserted_character_and_every_untouched_one_survives(base, mine, current, after_others):
    merged = merge_text(base, mine, current, after_others)

    for side in (mine, current):
        for edit in edits_between(base, side):
            assert edit.text in merged
    assert merge_text(base, base, current, after_others) == current
    assert merge_text(base, mine, base, after_others) == mine
