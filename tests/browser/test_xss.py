"""Script payloads in every text people type, shown in a real browser on every page that renders them.

The parts live in tests/browser/xss/, by page family: the corpus and its fields (corpus.py), the
plan of which payloads each stored text holds (plan.py), what the browser is searched for
(probes.py), the scene (scene.py), the pages of a training day (during_training.py), the pages
after it (after_training.py) and what people do meanwhile (actions.py).

Each payload would, if it ever ran, set `window.__xss` or open a dialog (alert,
confirm, prompt). The CSP blocks inline script, so a payload that reached the
DOM through an HTML sink would still be stopped by it; to catch such a sink the
second participant and the moderator browse with the CSP switched off
(Playwright's bypass_csp), where an injected handler would run; the moderator's
dashboard and projector are opened with it on as well. On top of that every page
is searched for elements a payload could have created.

Every page must show each text verbatim, as text, where it belongs.

The moderator's facilitation is in every scene: each training has a timer running
and a vote whose results show as they come, the first has announcements (to every
group, then to the joined group, in turn), dots on the joined map's first steps
and that map on the projector. The editors show the banners, the timer label and
the vote question; the dashboards (cards drawn by dashboard.js) show the card
ranking, the log, the timer and the vote; the projector is checked as the page
comes and again after participant 1 gives steps a member and a stakeholder as
owners, when projector.js sets the new fragment with innerHTML.

The joined map's steps have comments (comments.js draws a card's thread once the
card is open): one on the first step, a reply to it (nested under it), and, on
the last step, one the moderator writes through a socket once participant 1 is in
the group, mentioning them. The editors open the cards and check each comment's
author and text; participant 1's top bar shows the mention («<author> mentioned
you at “<step title>”») as it arrives (mentions.js), and again drawn by the
server when the page is loaded again.

So are the pages after the training (after_the_training). Participant 1 lists
their road maps, one in every training. The joined map gets back what was
deleted, the training ends (its baseline is frozen), and participant 2 renames a
step, changes owners (a person and a stakeholder to free texts, a free text to a
person), moves a deadline into the past, marks a step done, adds a step and
deletes one. Participant 2 then reads the history in words (the filter's names
and titles; each sentence holds the names it tells of whole and the titles and
texts it shortens up to their "…"), the map at the revision before the deletions
and, through the slider, now, what changed since the training, the share page,
the printable page and its PDF (texts compared verbatim there too, but for line
breaks and characters no font on the machine has). A visitor, CSP off, follows
the read-only link, checked as it comes and again after an edit, when shared.js
sets the new fragment with innerHTML.

Packing. A scene (by default five trainings, two filled maps, five browsers,
twenty-nine pages) takes 15-20 s on a busy two-core machine, a fifth more than
before the facilitation pages, some 6 s more with the pages after the training,
and a few more with the comments and the mention; one per payload took six
minutes. So each stored
text holds several payloads joined by SEPARATOR, as many as its field's maximum
length allows (the limits are read from the app: operations.py, facilitation.py
and the model columns), and a scene has as many instances of the short fields as it needs:
trainings (title, city, timer label, vote question), announcements, groups, the
maps on the participant's start page, steps, stakeholders, participants (two in
browsers; the others are in the map through a socket, editing a field, and their
names are typed into other trainings' join forms on the way in), moderator
names (the moderator is renamed while in the map), and comments (three at
least). A training's venue is no longer shown on any page, so it is not a field
of the plan; it still holds payloads. `plan_scenes` deals the payloads out so
that the scenes together hold every payload in every field at least once, then
tops every value up to its field's length, so each scene shuffles a different selection of payloads together. A
bare `javascript:` URL acts only at the start of a value: a value holding it
starts with it. test_the_scenes_hold_every_payload_in_every_field checks the plan;
each scene checks that every value it stored was shown, verbatim, on a page.
Which payloads each page showed in each field is in the reports below.

Environment:
  ROADMAP_XSS_SCENES=n      pack into n scenes (default 3; 2 is about as fast,
                            4 about a third slower: fewer scenes need more
                            instances of the short fields each).
  ROADMAP_XSS_EXHAUSTIVE=1  one scene per payload, every text holding that payload
                            alone, in a scene with one instance of everything:
                            the original run (about seven minutes).

Figures (payloads, fields, pages, checks, dialogs, markers, the characters the
PDF draws as the missing glyph) go to
test-artifacts/<test>/report.json for each test and, summed over the scenes,
to test-artifacts/test_xss-summary.json.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, wait
from urllib.parse import quote

import pytest
from conftest import ARTIFACTS

from roadmap.domain.operations import COMMENT_BODY
from roadmap.extensions import db
from roadmap.models import Person
from roadmap.services import accounts, facilitation, trainings
from tests.browser.xss.actions import delete_with_toast, numbered, wait_for_presence, wait_for_tag
from tests.browser.xss.after_training import (
    after_the_training,
    check_history,
    check_map_at_revision,
    check_my_maps,
    check_pdf,
    check_print_page,
    check_share_page,
    check_shared_map,
    check_since_training,
)
from tests.browser.xss.corpus import EXHAUSTIVE, FIELDS, LEADING, PASSWORD, PAYLOAD_TEXTS, PAYLOADS, WAIT_MS
from tests.browser.xss.during_training import (
    check_dashboard,
    check_editor,
    check_mentions,
    check_projector,
    join_through_pick_group,
)
from tests.browser.xss.plan import PLANS, payloads_in
from tests.browser.xss.probes import INJECTED_ELEMENTS_JS, WATCH_SCRIPT, Visit, Watch, squeeze, view_of
from tests.browser.xss.scene import PlannedComment, build_scene, rename
from tests.browsing import wait_for_element, wait_until
from tests.livesync import SyncClient


def test_the_scenes_hold_every_payload_in_every_field():
    """The plan alone, no browser: every (payload, field) pair is stored in some scene, every value fits."""
    # Whole, unchanged by layout, and free of what the checks split shown texts at.
    assert all(text == squeeze(text) and not set(text) & set("¦·«»") for text in PAYLOAD_TEXTS)
    assert max(map(len, PAYLOAD_TEXTS)) <= min(FIELDS.values()), "every payload must fit every field whole"
    assert {"announcement text", "timer label", "vote question", "comment body"} <= set(FIELDS)
    assert FIELDS["comment body"] == COMMENT_BODY.max_length == 2000
    held = defaultdict(set)
    for plan in PLANS:
        assert set(plan.values) == set(FIELDS)
        # The editor shows the latest announcements only; every one of them must be among those.
        assert plan.shape.announcements <= facilitation.ANNOUNCEMENTS_SHOWN
        # A comment, a reply to it (a nested thread), and the comment that mentions participant 1.
        assert plan.shape.comments >= 3
        for name, values in plan.values.items():
            assert len(values) == plan.shape.instances(name)
            for value in values:
                assert len(value) <= FIELDS[name], f"{plan.id}: {name} holds {len(value)} characters"
                # Stored as sent: announcements and names have their whitespace squeezed, labels stripped.
                assert value == squeeze(value), f"{plan.id}: {name} would not be stored as planned"
                indices = payloads_in(value)
                assert len(indices) == len(set(indices))
                assert not set(indices) & LEADING or indices[0] in LEADING
                held[name].update(indices)
    missing = {name: sorted(set(range(len(PAYLOADS))) - held[name]) for name in FIELDS}
    assert not any(missing.values()), f"payloads stored in no scene: {missing}"


@pytest.fixture(scope="module")
def scene_reports():
    """Collects the scenes' figures; written summed up once the module is done."""
    reports: list[dict] = []
    yield reports
    if not reports:
        return
    seen = defaultdict(lambda: defaultdict(set))
    for report in reports:
        for name, views in report.get("payloads_shown_by_field_and_page", {}).items():
            for view, ids in views.items():
                seen[name][view].update(ids)
    pairs = {(name, payload) for name, views in seen.items() for ids in views.values() for payload in ids}
    summary = {
        "mode": "exhaustive" if EXHAUSTIVE else "packed",
        "scenes": [report["scene"] for report in reports],
        "payloads": len({payload for _, payload in pairs}),
        "fields": len(seen),
        "payload_field_pairs_shown": len(pairs),
        "pages": len({view_of(where) for report in reports for where in report["pages_checked"]}),
        "page_visits_checked": sum(report["page_visits_checked"] for report in reports),
        "checks": sum(report["checks"] for report in reports),
        "dialogs": sum(report["dialogs"] for report in reports),
        "markers": sum(report["markers"] for report in reports),
        "pdf_characters_without_a_font": sorted(
            {char for report in reports for char in report.get("pdf_characters_without_a_font", [])}
        ),
        "payloads_shown_by_field_and_page": {
            name: {view: len(ids) for view, ids in sorted(views.items())} for name, views in sorted(seen.items())
        },
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "test_xss-summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2))


@pytest.mark.parametrize("plan", PLANS, ids=[plan.id for plan in PLANS])
def test_payload_is_stored_and_shown_as_inert_text_on_every_page(
    app, live_server, chromium, artifacts, scene_reports, plan
):
    """One scene of the plan: two participants join (CSP on, CSP off) and edit, the moderator signs in
    (CSP off) and opens the dashboard, the map and the projector, which follows an edit; the dashboard
    and projector again with the CSP on; the editors open the steps' comment threads, and participant 1's
    top bar shows where they were mentioned; texts are deleted and the start page lists the participant's
    maps; after the training, participant 1 lists their road maps, participant 2 opens the map's
    history, a past revision, "since the training", sharing, the printable page and the PDF, and a
    visitor the read-only link, which follows an edit; every page is checked."""
    scene = build_scene(plan)
    visit = Visit(artifacts)
    marina_name, oleg_name = scene.participant_names[:2]
    member_names = [name for _, name in scene.members]
    sockets: list[SyncClient] = []
    connecting = []
    marina_context, marina = visit.open(chromium, "participant-1-csp", bypass_csp=False)
    oleg_context, oleg = visit.open(chromium, "participant-2-no-csp", bypass_csp=True)
    moderator_context, moderator = visit.open(chromium, "moderator-no-csp", bypass_csp=True)
    moderator_csp_context = visitor_context = None  # opened later: the moderator's signed in, the visitor's
    missing_glyphs = set()  # characters the PDF draws as the missing glyph
    try:
        # Participants beyond the two browsers are in the map through a socket, each editing a field.
        focus = scene.member_focus()
        roadmap_id = scene.roadmap_id

        def present(token: str, name: str, target: dict) -> None:
            client = SyncClient(live_server.url, token, name=name)
            sockets.append(client)
            client.connect()
            assert client.join(roadmap_id)["ok"]
            assert client.call("focus", {"focus": target})["ok"]

        def connect(token: str, name: str) -> SyncClient:
            client = SyncClient(live_server.url, token, name=name)
            sockets.append(client)
            return client.connect()

        # Connecting takes seconds: it goes on while the browsers join. So does the moderator's socket,
        # which writes the comment mentioning participant 1 (it needs no map joined to send an edit).
        pool = ThreadPoolExecutor(max_workers=len(focus) + 1)
        connecting = [
            pool.submit(present, accounts.issue_token(person), name, target)
            for (person, name), (target, _) in zip(scene.members, focus)
        ]
        commenting = pool.submit(connect, accounts.issue_token(scene.moderator), "moderator-commenting")
        connecting.append(commenting)
        pool.shutdown(wait=False)

        # Two participants join, on the way typing the others' names into other trainings' codes.
        cycles = list(enumerate(scene.name_cycles()))
        marina_id = join_through_pick_group(
            visit, marina, live_server, scene, "participant-1", marina_name, cycles[0::2]
        )
        # The moderator writes the last comment mentioning participant 1, now in the group, through a socket:
        # mentions.js adds it to the top bar's menu of their open editor; loaded again, the page draws it.
        # Before any of their cards is open: opening the step's thread marks the mention seen.
        step_id, parent_id = scene.comment_place(len(scene.comments))
        mention = PlannedComment(
            uuid.uuid4().hex,
            step_id,
            parent_id,
            ("moderator display name", plan.values["moderator display name"][0]),
            plan.values["comment body"][-1],
        )
        ack = commenting.result(timeout=WAIT_MS / 1000).send_op(
            "comment.add",
            roadmap_id=roadmap_id,
            comment_id=mention.id,
            step_id=mention.step_id,
            body=mention.body,
            mentions=[marina_id],
            **({"parent_id": parent_id} if parent_id else {}),
        )
        assert ack["ok"], ack
        scene.comments.append(mention)
        check_mentions(visit, app, marina, "participant-1-editor-mention-arrives", scene, [mention])
        marina.reload()
        wait_for_element(marina, '#connection[data-state="online"]', timeout=WAIT_MS)
        check_mentions(visit, app, marina, "participant-1-editor-mention-in-the-page", scene, [mention])
        check_editor(visit, marina, "participant-1-editor", scene, [*member_names, marina_name], shot="page")
        oleg_id = join_through_pick_group(visit, oleg, live_server, scene, "participant-2", oleg_name, cycles[1::2])
        everyone = [*member_names, marina_name, oleg_name]
        check_editor(visit, oleg, "participant-2-editor", scene, everyone)
        check_editor(visit, marina, "participant-1-editor-after-participant-2-joined", scene, everyone)

        # Presence: each sees the others' names, and the fields they are editing marked with them.
        for future in connecting:
            future.result(timeout=WAIT_MS / 1000)
        wait_for_presence(marina, oleg_id, oleg_name)
        wait_for_presence(oleg, marina_id, marina_name)
        visit.shows(
            "participant-2-editor",
            "other participant's name in presence",
            oleg.get_attribute(f'#presence [data-person-id="{marina_id}"]', "title"),
            marina_name,
            [("participant display name", marina_name)],
        )
        first_step = f'.step[data-step-id="{scene.step_ids[0]}"]'
        oleg.click(f"{first_step} [data-field=title]")
        where = "participant-1-editor-with-focus-marker"
        for (person, name), (_, control) in zip(
            [*scene.members, (None, oleg_name)], [*focus, (None, f"{first_step} [data-field=title]")]
        ):
            person_id = oleg_id if person is None else person.id
            wait_for_presence(marina, person_id, name)
            visit.shows(
                where,
                "other participant's name in presence",
                marina.get_attribute(f'#presence [data-person-id="{person_id}"]', "title"),
                name,
                [("participant display name", name)],
            )
            visit.shows(
                where,
                "other participant's name on the field being edited",
                wait_for_tag(marina, control, name),
                name,
                [("participant display name", name)],
            )
        visit.inert(marina, where, "window")

        # The moderator's pages: the trainings list, the dashboard, the map, the projector.
        moderator.goto(live_server.url + "/sign-in")
        moderator.fill("#email", scene.moderator.email)
        moderator.fill("#password", PASSWORD)
        moderator.click("main button[type=submit]")
        moderator.wait_for_url("**/moderate/", timeout=WAIT_MS)
        listed = moderator.eval_on_selector_all(
            ".training-list li",
            """items => items.map((item) => [
            item.querySelector('.training-link').getAttribute('href'),
            item.querySelector('.training-link').textContent,
            item.querySelector('.muted').textContent])""",
        )
        assert sorted(href for href, _, _ in listed) == sorted(f"/moderate/trainings/{t.id}" for t in scene.trainings)
        for href, shown_title, muted in listed:
            number = [f"/moderate/trainings/{t.id}" for t in scene.trainings].index(href)
            title, city = scene.training_texts(number)
            visit.shows("moderator-trainings-list", "training title", shown_title, title, [("training title", title)])
            visit.shows(
                "moderator-trainings-list",
                "training city",
                squeeze(muted).split(" · ")[0],
                city,
                [("training city", city)],
            )
        visit.inert(moderator, "moderator-trainings-list")

        def check_training_page(page, number: int, where: str, members: dict, shot: str = "window"):
            training = scene.trainings[number]
            check_dashboard(
                visit, app, page, scene, number, where, members, f"{live_server.url}/?code={training.join_code}", shot
            )

        members_now = {group.id: [] for group in scene.groups[0]} | {scene.group.id: everyone}
        moderator.click(f'.training-link[href="/moderate/trainings/{scene.trainings[0].id}"]')
        moderator.wait_for_url(f"**/moderate/trainings/{scene.trainings[0].id}", timeout=WAIT_MS)
        check_training_page(moderator, 0, "moderator-dashboard", members_now, shot="page")

        moderator.locator(f'.group-card-name[href="/maps/{scene.roadmap_id}"]').click()
        wait_for_element(moderator, '#connection[data-state="online"]', timeout=WAIT_MS)
        check_editor(visit, moderator, "moderator-editor", scene, everyone)
        where = "moderator-editor-with-everyone-present"
        for person_id, name in [
            (marina_id, marina_name),
            (oleg_id, oleg_name),
            *((person.id, name) for person, name in scene.members),
        ]:
            wait_for_presence(moderator, person_id, name)
            visit.shows(
                where,
                "participant's name in presence",
                moderator.get_attribute(f'#presence [data-person-id="{person_id}"]', "title"),
                name,
                [("participant display name", name)],
            )
        # The moderator edits a field under each of their names (renamed in between): participant 1 sees it.
        moderator_id = scene.moderator.id
        for number, name in enumerate(plan.values["moderator display name"]):
            if number:
                rename(scene.moderator, name)
            control = f"{first_step} [data-field={'resources' if number % 2 else 'description'}]"
            moderator.focus(control)  # the focus is published with the name as it is stored now
            wait_for_presence(marina, moderator_id, name)
            at = numbered("participant-1-editor", number)
            visit.shows(
                at,
                "moderator's name in presence",
                marina.get_attribute(f'#presence [data-person-id="{moderator_id}"]', "title"),
                name,
                [("moderator display name", name)],
            )
            visit.shows(
                at,
                "moderator's name on the field being edited",
                wait_for_tag(marina, control, name),
                name,
                [("moderator display name", name)],
            )
            if number:
                visit.inert(marina, at, "none")  # the same window each time, only the name differs
        visit.inert(moderator, where, "window")

        # The projector shows the joined map as the page comes; when participant 1 gives the first steps
        # a member and a stakeholder as owners, projector.js sets the new fragment with innerHTML.
        owners = {
            step_id: ("step owner free text", scene.step_text(step_id, "step owner free text"))
            for step_id in scene.step_ids
        }
        moderator.goto(f"{live_server.url}/moderate/trainings/{scene.trainings[0].id}/projector")
        check_projector(visit, moderator, scene, "moderator-projector", owners, shot="page")
        new_owners = [
            (f"member:{oleg_id}", ("participant display name", oleg_name)),
            (
                f"stakeholder:{scene.stakeholder_ids[0]}",
                ("stakeholder name", scene.stakeholder_text(scene.stakeholder_ids[0], "stakeholder name")),
            ),
        ]
        changed = scene.step_ids[: len(new_owners)]
        revision = int(moderator.get_attribute("#projected .projected-map", "data-revision"))
        for step_id, (choice, owner) in zip(changed, new_owners):
            marina.select_option(f'.step[data-step-id="{step_id}"] .owner-select', choice)
            owners[step_id] = owner
        wait_until(
            moderator,  # one revision per owner changed
            "revision => Number(document.querySelector('#projected .projected-map')?.dataset.revision) >= revision",
            arg=revision + len(changed),
            timeout=WAIT_MS,
        )
        check_projector(visit, moderator, scene, "moderator-projector-after-live-update", owners)

        # The same two pages with the CSP on, signed in as the moderator is.
        moderator_csp_context, moderator_csp = visit.open(
            chromium, "moderator-csp", bypass_csp=False, storage_state=moderator_context.storage_state()
        )
        moderator_csp.goto(f"{live_server.url}/moderate/trainings/{scene.trainings[0].id}")
        check_training_page(moderator_csp, 0, "moderator-csp-dashboard", members_now)
        moderator_csp.goto(f"{live_server.url}/moderate/trainings/{scene.trainings[0].id}/projector")
        check_projector(visit, moderator_csp, scene, "moderator-csp-projector", owners)

        # Deleting shows the deleted item's text in a toast.
        for number, step_id in enumerate(scene.step_ids):
            delete_with_toast(
                visit,
                marina,
                numbered("participant-1-step-deleted-toast", number),
                f'.step[data-step-id="{step_id}"] .step-delete',
                scene.step_text(step_id, "step title"),
                "deleted step title",
                "step title",
            )
        wait_until(oleg, "() => document.querySelectorAll('.step').length === 0", timeout=WAIT_MS)
        for number, stakeholder_id in enumerate(scene.stakeholder_ids):
            delete_with_toast(
                visit,
                oleg,
                numbered("participant-2-stakeholder-deleted-toast", number),
                f'.stakeholder[data-stakeholder-id="{stakeholder_id}"] .stakeholder-delete',
                scene.stakeholder_text(stakeholder_id, "stakeholder name"),
                "deleted stakeholder name",
                "stakeholder name",
            )

        # Back on the start page, the participant's own road maps are listed: one in every training.
        marina_person = db.session.get(Person, marina_id)
        for training, groups in zip(scene.trainings[1:], scene.groups[1:]):
            trainings.join_group(training, groups[0].id, marina_name, marina_person)
        marina.goto(live_server.url + "/")
        where = "participant-1-start-page-your-road-maps"
        entries = marina.eval_on_selector_all(
            ".plain-list li",
            """items => items.map((item) => [
            item.querySelector('a').getAttribute('href'), item.querySelector('a').textContent,
            item.querySelector('.muted').textContent])""",
        )
        maps = [f"/maps/{groups[0].roadmap.id}" for groups in scene.groups]
        assert sorted(href for href, _, _ in entries) == sorted(maps), f"{where}: {entries}"
        for href, link, muted in entries:
            number = maps.index(href)
            title, group_name = scene.value("map title", number), scene.group_names[number][0]
            training_title = scene.value("training title", number)
            visit.shows(where, "map title (link to the map)", link, title, [("map title", title)])
            visit.shows(
                where,
                "group name · training title",
                squeeze(muted),
                f"· {group_name} · {training_title}",
                [("group name", group_name), ("training title", training_title)],
            )
        assert marina.locator(".plain-list a").first.is_visible()
        visit.inert(marina, where)

        # The moderator's other trainings, and the other maps with every text filled.
        for number, training in enumerate(scene.trainings[1:], start=1):
            moderator.goto(f"{live_server.url}/moderate/trainings/{training.id}")
            members_now = {group.id: [] for group in scene.groups[number]} | {scene.groups[number][0].id: [marina_name]}
            check_training_page(moderator, number, f"moderator-dashboard@{number + 1}", members_now)
            if number < plan.shape.maps:
                moderator.locator(f'.group-card-name[href="/maps/{scene.groups[number][0].roadmap.id}"]').click()
                wait_for_element(moderator, '#connection[data-state="online"]', timeout=WAIT_MS)
                check_editor(
                    visit, moderator, f"moderator-editor@map-{number + 1}", scene, [marina_name], number, shot="page"
                )

        # After the training. Participant 1 (CSP on) has every map in "my road maps"; the map gets its
        # steps and stakeholders back, the training ends and the group goes on (after_the_training);
        # participant 2 (CSP off) reads the history in words, the map before the deletions and, through
        # the slider, now, what changed since the training, the share page, the printable page and its PDF.
        marina.goto(f"{live_server.url}/me")
        check_my_maps(visit, marina, scene, "participant-1-my-road-maps")
        oleg_person = db.session.get(Person, oleg_id)
        later = after_the_training(scene, marina_person, oleg_person, owners)
        people = {
            scene.moderator.id: ("moderator display name", plan.values["moderator display name"][-1]),
            **{
                person_id: ("participant display name", name)
                for person_id, name in [
                    (marina_id, marina_name),
                    (oleg_id, oleg_name),
                    *((person.id, name) for person, name in scene.members),
                ]
            },
        }
        map_url = f"{live_server.url}/maps/{roadmap_id}"
        oleg.goto(f"{map_url}/history")
        check_history(visit, oleg, scene, "participant-2-history", later, people)
        oleg.goto(f"{map_url}/history/{later.before_deletions}")
        check_map_at_revision(
            visit, oleg, scene, "participant-2-map-at-revision", later.before_deletions, later.steps_before_deletions
        )
        with oleg.expect_navigation(url=f"{map_url}/history/{later.revision}"):
            oleg.eval_on_selector(
                "#revision",
                """(slider, revision) => {
                slider.value = revision; slider.dispatchEvent(new Event('change')); }""",
                later.revision,
            )
        check_map_at_revision(
            visit,
            oleg,
            scene,
            "participant-2-map-at-revision@latest-by-the-slider",
            later.revision,
            later.owned_steps(),
        )
        oleg.goto(f"{map_url}/since-training")
        check_since_training(visit, app, oleg, scene, "participant-2-since-the-training", later)
        shared_url = f"{live_server.url}/shared/{later.share_token}"
        oleg.goto(f"{map_url}/share")
        check_share_page(visit, oleg, scene, "participant-2-share", shared_url)
        oleg.goto(f"{map_url}/print")
        in_pdf = check_print_page(visit, app, oleg, scene, "participant-2-print", later)
        missing_glyphs = check_pdf(visit, oleg, f"{map_url}/export.pdf", "participant-2-pdf", in_pdf)

        # A visitor (CSP off) follows the read-only link; participant 2 gives the first step an owner
        # through a socket, and shared.js sets the map's new fragment with innerHTML.
        visitor_context, visitor = visit.open(chromium, "visitor-no-csp", bypass_csp=True)
        with visitor.expect_response(f"{shared_url}/map", timeout=WAIT_MS):  # fetched once its socket is connected
            visitor.goto(shared_url)
        check_shared_map(visit, visitor, scene, "visitor-shared-map", later.owned_steps(), shot="page")
        editor = SyncClient(live_server.url, accounts.issue_token(oleg_person), name=oleg_name)
        sockets.append(editor)
        editor.connect()
        assert editor.join(roadmap_id)["ok"]
        ack = editor.send_op("step.set", step_id=scene.step_ids[0], field="owner", value={"member": oleg_id})
        assert ack["ok"], ack
        later.steps[0]["owner"] = ("participant display name", oleg_name)
        wait_until(
            visitor,
            "revision => Number(document.querySelector('#projected .projected-map')?.dataset.revision) >= revision",
            arg=ack["revision"],
            timeout=WAIT_MS,
        )
        check_shared_map(visit, visitor, scene, "visitor-shared-map-after-live-update", later.owned_steps())
    finally:
        wait(connecting, timeout=WAIT_MS / 1000)
        for client in sockets:
            client.close()
        summary = visit.report(
            scene=plan.id,
            payloads=len(plan.payloads()),
            fields=len(visit.seen),
            payload_field_pairs_shown=sum(len(set().union(*views.values())) for views in visit.seen.values()),
            shape=plan.shape.__dict__,
            pdf_characters_without_a_font=sorted(missing_glyphs),
        )
        scene_reports.append(summary)
        for context in (marina_context, oleg_context, moderator_context, moderator_csp_context, visitor_context):
            if context is not None:
                context.close()

    assert summary["dialogs"] == 0
    assert summary["markers"] == 0
    not_shown = {
        name: [value for value in values if value not in visit.values_shown[name]]
        for name, values in plan.values.items()
    }
    assert not any(not_shown.values()), f"stored but never checked on a page: {not_shown}"


def test_payloads_in_the_start_page_link_are_shown_as_text(live_server, chromium, artifacts):
    """The ?code= of a shared link is put back into the form, and every page echoes its own
    path into the language switch: both are reflected, so both must stay text."""
    visit = Visit(artifacts)
    context, page = visit.open(chromium, "visitor-csp", bypass_csp=False)
    try:
        for param in PAYLOADS:
            payload = param.values[0]
            page.goto(f"{live_server.url}/?code={quote(payload, safe='')}")
            visit.shows(f"start-page-link-{param.id}", "join code", page.input_value("#join_code"), payload)
            visit.shows(
                f"start-page-link-{param.id}",
                "path in the language switch",
                page.input_value(".lang-switch input[name=next]"),
                f"/?code={quote(payload, safe='')}",
            )
            visit.inert(page, f"start-page-link-{param.id}")
    finally:
        summary = visit.report(payloads=len(PAYLOADS), reflected_in="?code= of the start page")
        context.close()
    assert summary["dialogs"] == 0
    assert summary["markers"] == 0


HTML_PAYLOADS = [param for param in PAYLOADS if re.search("<[A-Za-z]", param.values[0])]


def test_the_checks_catch_a_payload_that_does_reach_the_page_as_html(live_server, chromium):
    """A control for the tests above: put payloads into a page with innerHTML, as a buggy view
    would. Every HTML payload leaves an element behind; without the CSP a handler runs and sets
    the marker; with it the browser reports a violation. So a clean result above means something."""
    open_watch, strict_watch = Watch("no-csp"), Watch("csp")
    open_context = chromium.new_context(bypass_csp=True)
    strict_context = chromium.new_context()
    try:
        pages = []
        for context, watch in ((open_context, open_watch), (strict_context, strict_watch)):
            context.add_init_script(WATCH_SCRIPT)
            page = context.new_page()
            page.on("dialog", watch.on_dialog)
            page.on("console", watch.on_console)
            page.goto(live_server.url + "/")
            pages.append(page)
        open_page, strict_page = pages

        for param in HTML_PAYLOADS:
            strict_page.evaluate("html => { document.querySelector('main').innerHTML = html; }", param.values[0])
            assert strict_page.evaluate(INJECTED_ELEMENTS_JS), f"{param.id} left no trace when injected"

        img_onerror = next(param.values[0] for param in PAYLOADS if param.id == "img-onerror")
        with open_page.expect_console_message(lambda message: message.text.startswith("XSS-MARKER"), timeout=WAIT_MS):
            open_page.evaluate("html => { document.querySelector('main').innerHTML = html; }", img_onerror)
        assert open_page.evaluate("window.__xss") == 3
        strict_page.goto(live_server.url + "/")
        with strict_page.expect_console_message(
            lambda message: message.text.startswith("CSP-VIOLATION"), timeout=WAIT_MS
        ):
            strict_page.evaluate("html => { document.querySelector('main').innerHTML = html; }", img_onerror)
        assert strict_page.evaluate("window.__xss") is None
    finally:
        open_context.close()
        strict_context.close()
    assert open_watch.markers, "without the CSP an injected handler runs and is seen"
    assert strict_watch.markers == [] and strict_watch.dialogs == []
    assert strict_watch.csp_violations, "with the CSP the browser reports what it blocked"
