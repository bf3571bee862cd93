"""The three-way text merge (roadmap/domain/merging.py) on the shared test vectors.

The browser runs the same vectors through static/js/textmerge.js
(tests/browser/test_browser_textmerge.py), so a client's view of its pending edits is
what the server makes of them.
"""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roadmap.domain.merging import Edit, Merged, carry_insertion, edits_between, merge, merge_text, single_insertion

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "text_merge.json").read_text(encoding="utf-8"))
CARRIES = json.loads((Path(__file__).parents[1] / "vectors" / "text_carry.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("vector", VECTORS, ids=[vector["note"] for vector in VECTORS])
def test_merge_gives_the_vector_result(vector):
    merged = merge(vector["base"], vector["mine"], vector["current"], vector["after_others"], vector.get("insert_at"))

    assert merged == Merged(vector["merged"], vector["inserted_at"])


@pytest.mark.parametrize("vector", CARRIES, ids=[vector["note"] for vector in CARRIES])
def test_an_insertion_is_carried_as_the_vector_says(vector):
    carried = carry_insertion(
        vector["base"],
        vector["mine"],
        vector["insert_at"],
        vector["after_others"],
        [tuple(later) for later in vector["later"]],
        vector["current"],
    )

    assert (None if carried is None else [carried.text, carried.inserted_at]) == vector["carried"]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.text(max_size=30), st.text(max_size=30))
def test_edits_rebuild_the_changed_text(base, changed):
    rebuilt, position = [], 0
    for edit in edits_between(base, changed):
        rebuilt.append(base[position : edit.start])
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


def test_an_insertion_stands_where_it_says_among_equal_letters():
    assert single_insertion("Цель ", "Цель  ") == Edit(5, 5, " ")
    assert single_insertion("Цель ", "Цель  ", insert_at=4) == Edit(4, 4, " ")
    assert single_insertion("Цель ", "Цель  ", insert_at=2) == Edit(5, 5, " "), "a place it cannot stand at is ignored"
    assert single_insertion("Цель", "Цел") is None and single_insertion("abc", "aXbYc") is None


def test_a_merge_says_where_the_inserted_text_landed_in_the_current_text():
    assert merge("Цель", "Цель п", "Цель в") == Merged("Цель п в", 4)
    assert merge("Цель", "Цель п", "Цель в", after_others=True) == Merged("Цель в п", 6)
    assert merge("Цель", "Цель п", "Цель") == Merged("Цель п", 4)
    assert merge("Цель", "Цел", "Цель в").inserted_at is None


def test_without_the_carry_a_diff_would_put_the_letter_between_the_two_spaces():
    assert merge("второй ", "второй т", "второй  ", insert_at=7).text == "второй т "
