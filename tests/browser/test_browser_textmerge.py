"""The browser's text merge (static/js/textmerge.js) in Chromium: the same vectors as the
server's (tests/vectors/text_merge.json), and where a caret goes when text changes around it."""

import json
import random
from pathlib import Path

import pytest

from roadmap.domain.merging import merge_text

pytestmark = [pytest.mark.browser, pytest.mark.live]
VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "text_merge.json").read_text(encoding="utf-8"))


@pytest.fixture
def textmerge(live_server, chromium):
    """A page of the app with static/js/textmerge.js loaded as `window.textmerge`."""
    context = chromium.new_context()
    page = context.new_page()
    page.goto(live_server.url + "/healthz")
    page.evaluate("async () => { window.textmerge = await import('/static/js/textmerge.js'); }")
    yield page
    context.close()


def test_the_browser_merges_every_vector_as_the_server_does(textmerge):
    merged = textmerge.evaluate(
        """vectors => vectors.map(v => {
            const merged = window.textmerge.merge(v.base, v.mine, v.current, v.after_others, v.insert_at);
            return [merged.text, merged.insertedAt ?? null]; })""",
        VECTORS,
    )

    assert merged == [[vector["merged"], vector["inserted_at"]] for vector in VECTORS]


CARETS = [
    # (old text, new text, caret, caret typing?, expected caret, why)
    ("Цель п", "Цель п в", 6, True, 6, "text inserted at a typing caret goes after it"),
    ("Цель п", "Цель п в", 6, False, 8, "text inserted at a placed caret goes before it"),
    ("Цель п", "Цель в п", 6, True, 8, "text inserted before the caret moves it along"),
    ("Цель пе", "Цель пе", 4, True, 4, "no change, no move"),
    ("один два три", "один три", 9, True, 5, "text deleted before the caret"),
    ("один два три", "один три", 7, True, 5, "the caret in deleted text goes to where it was"),
    ("😀 да", "🎉😀 да", 2, True, 4, "emoji count as two UTF-16 units in a caret"),
    ("аааа", "ааXаа", 4, True, 5, "repeated letters"),
]


def test_a_caret_is_carried_through_a_remote_change(textmerge):
    mapped = textmerge.evaluate(
        "cases => cases.map(([o, n, c, t]) => window.textmerge.mapPosition(o, n, c, t))",
        [case[:4] for case in CARETS],
    )

    assert dict(zip([case[-1] for case in CARETS], mapped)) == {case[-1]: case[4] for case in CARETS}


def _random_cases(count: int, seed: int = 7) -> list[list]:
    """Texts of Cyrillic, Latin, spaces, line breaks and emoji, edited the ways people edit them."""
    generator = random.Random(seed)
    alphabet = list("аоеиржвт ab\n") + ["😀", "🎉", "ё"]

    def text(size):
        return "".join(generator.choice(alphabet) for _ in range(size))

    def edited(source):
        for _ in range(generator.randint(1, 3)):
            start = generator.randint(0, len(source))
            end = min(len(source), start + generator.choice([0, 0, 1, 3]))
            source = source[:start] + text(generator.choice([0, 1, 2, 5])) + source[end:]
        return source

    cases = []
    for _ in range(count):
        base = text(generator.randint(0, 25))
        cases.append([base, edited(base), edited(base), generator.random() < 0.5])
    return cases


def test_the_browser_and_the_server_agree_on_random_edits(textmerge):
    cases = _random_cases(400)

    in_browser = textmerge.evaluate(
        "cases => cases.map(([b, m, c, a]) => window.textmerge.mergeText(b, m, c, a))", cases
    )

    assert in_browser == [merge_text(*case) for case in cases]


CARRIES = json.loads((Path(__file__).parents[1] / "vectors" / "text_carry.json").read_text(encoding="utf-8"))


def test_the_browser_carries_an_insertion_as_the_server_does(textmerge):
    carried = textmerge.evaluate(
        """vectors => vectors.map(v => {
            const carried = window.textmerge.carryInsertion(v.base, v.mine, v.insert_at, v.after_others, v.later, v.current);
            return carried && [carried.text, carried.insertedAt]; })""",
        CARRIES,
    )

    assert carried == [vector["carried"] for vector in CARRIES]


def test_the_browser_finds_where_typing_inserted_from_the_caret(textmerge):
    found = textmerge.evaluate("""() => [
        window.textmerge.insertionAt('Цель ', 'Цель  ', 5),
        window.textmerge.insertionAt('Цель  ', 'Цель п ', 6),
        window.textmerge.insertionAt('😀 да', '😀😀 да', 4),
        window.textmerge.insertionAt('Цель', 'Цел', 3) ?? null,
    ]""")

    assert found == [4, 5, 1, None]
