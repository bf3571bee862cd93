"""The browser's copy of a map (static/js/store.js) in Chromium, without the page around it:
edits that meet a lost ack, a lock and an unlock, a reload, an input method's composition, and
other people's changes arriving under a person's pending typing."""

import json

import pytest

from roadmap.domain.operations import browser_field_schema

pytestmark = [pytest.mark.browser, pytest.mark.live]

FIELD_SCHEMA = json.dumps(browser_field_schema(), ensure_ascii=False)
SNAPSHOT = """(revision, fields = {}) => ({id: 1, revision, title: '', problem: '', goal: 'Цель', territory: '',
    theme: 'other', expected_results: '', locked: false, steps: [], stakeholders: [], members: [], ...fields})"""


@pytest.fixture
def run(live_server, chromium):
    """Runs a script with `MapStore` and `snapshot(revision, fields)` in a page of the app; returns its value."""
    context = chromium.new_context()
    page = context.new_page()
    page.goto(live_server.url + "/healthz")

    def in_page(script: str):
        return page.evaluate(f"""async () => {{
            localStorage.clear();
            const {{ useFieldSchema }} = await import('/static/js/ops.js');
            useFieldSchema({FIELD_SCHEMA});  // as editor.js does with the page's data block
            const {{ MapStore }} = await import('/static/js/store.js');
            const snapshot = {SNAPSHOT};
            {script}
        }}""")

    yield in_page
    context.close()


def test_typing_after_a_lost_ack_goes_into_a_new_op_and_survives_the_first_ones_change(run):
    outcome = run("""
        const store = new MapStore({roadmapId: 1, personId: 2, snapshot: snapshot(5)});
        store.connected = true;
        const goal = store.textField({type: 'map.set'}, 'goal');
        goal.commit('Цель п', 'Цель', {afterOthers: true, caret: 6});
        const sent = store.nextToSend();
        store.prepareToSend(sent);
        delete sent.in_flight;  // the ack timed out: applied or not, nobody knows
        goal.commit('Цель пр', 'Цель п', {afterOthers: false, caret: 7});
        const opIds = store.pending.map(op => op.op_id);
        store.catchUp({revision: 6, changes: [{revision: 6, op_id: sent.op_id,
            op: {type: 'map.set', field: 'goal', value: 'Цель п', insert_at: 4}}]});
        return {opIds, sentValue: sent.value, goal: store.view.goal, pending: store.pending.length};
    """)

    assert len(set(outcome["opIds"])) == 2 and outcome["sentValue"] == "Цель п"
    assert outcome["goal"] == "Цель пр" and outcome["pending"] == 1


def test_an_op_held_by_a_lock_goes_once_the_map_is_unlocked_even_after_a_reload(run):
    outcome = run("""
        let store = new MapStore({roadmapId: 1, personId: 2, snapshot: snapshot(6, {locked: true})});
        store.connected = true;
        const op = store.edit({type: 'map.set', field: 'theme', value: 'waste_sorting'});
        store.prepareToSend(store.nextToSend());
        store.heldByLock(op.op_id);
        store.flushStorage();
        const heldBefore = store.held;
        store = new MapStore({roadmapId: 1, personId: 2, snapshot: snapshot(7)});  // unlocked while away
        store.catchUp({revision: 7, changes: []});
        return {heldBefore, heldAfter: store.held, next: store.nextToSend()?.value};
    """)

    assert outcome == {"heldBefore": True, "heldAfter": False, "next": "waste_sorting"}


def test_a_lock_refusal_that_raced_the_unlock_is_released_by_the_catch_up(run):
    outcome = run("""
        const store = new MapStore({roadmapId: 1, personId: 2, snapshot: snapshot(6, {locked: true})});
        store.connected = true;
        const op = store.edit({type: 'map.set', field: 'theme', value: 'waste_sorting'});
        store.prepareToSend(store.nextToSend());
        store.receive({revision: 7, op_id: 'unlock-0001', op: {type: 'map.lock', locked: false}});
        store.heldByLock(op.op_id);
        const heldThen = store.held;
        store.catchUp({revision: 7, changes: []});
        return {heldThen, heldAfter: store.held};
    """)

    assert outcome == {"heldThen": True, "heldAfter": False}


def test_the_caret_of_a_composed_word_follows_it_past_text_that_arrived_during_the_composition(run):
    outcome = run("""
        const store = new MapStore({roadmapId: 1, personId: 2, snapshot: snapshot(5)});
        store.connected = true;
        const goal = store.textField({type: 'map.set'}, 'goal');
        store.receive({revision: 6, op_id: 'remote-0001',
            op: {type: 'map.set', field: 'goal', value: 'Наша Цель', insert_at: 0}});
        goal.commit('Цель п', 'Цель', {afterOthers: true, caret: 6});  // the control still showed 'Цель'
        return {goal: store.view.goal, caret: goal.caret()};
    """)

    assert outcome == {"goal": "Наша Цель п", "caret": len("Наша Цель п")}


def test_an_op_acked_before_a_reload_is_not_laid_over_the_map_again(run):
    outcome = run("""
        let store = new MapStore({roadmapId: 1, personId: 2, snapshot: snapshot(5)});
        store.connected = true;
        const op = store.edit({type: 'map.set', field: 'goal', value: 'Цель п', base: 'Цель'}, {caret: 6});
        store.typingDone();
        store.prepareToSend(store.nextToSend());
        store.acknowledged(op.op_id, 6);  // its change did not arrive before the page closed
        store.flushStorage();
        store = new MapStore({roadmapId: 1, personId: 2, snapshot: snapshot(6, {goal: 'Цель п'})});
        store.connected = true;
        store.edit({type: 'map.set', field: 'goal', value: 'Цель пе', base: 'Цель п'}, {caret: 7});
        return {goal: store.view.goal, waits: store.waitsForConfirmation(store.nextToSend())};
    """)

    assert outcome == {"goal": "Цель пе", "waits": False}


def test_pending_typing_and_its_caret_are_carried_past_an_equal_letter_typed_before_them(run):
    """Вера's space follows Борис's word; her space is on its way and her next letter waits
    behind it when Борис's own space, typed at his word's end, comes back first."""
    outcome = run("""
        const store = new MapStore({roadmapId: 1, personId: 2, snapshot: snapshot(5, {goal: 'второй'})});
        store.connected = true;
        const goal = store.textField({type: 'map.set'}, 'goal');
        goal.commit('второй ', 'второй', {afterOthers: true, caret: 7});
        store.prepareToSend(store.nextToSend());
        goal.commit('второй т', 'второй ', {afterOthers: false, caret: 8});
        store.receive({revision: 6, op_id: 'boris-0001',
            op: {type: 'map.set', field: 'goal', value: 'второй ', insert_at: 6}});
        return {goal: store.view.goal, caret: goal.caret(), sent: store.pending.map(op => [op.value, op.insert_at])};
    """)

    # Борис's space first (his word's end), then hers and her letter: the caret after the letter.
    assert outcome["goal"] == "второй  т" and outcome["caret"] == 9
    assert outcome["sent"] == [["второй  ", 7], ["второй  т", 8]]
