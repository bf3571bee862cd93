"""The pages of a training day: joining, the editor, comments, mentions, the dashboard, the projector, the map view."""

from __future__ import annotations

from flask_babel import force_locale, gettext

from tests.browser.xss.corpus import STAKEHOLDER_TEXT_FIELDS, STEP_TEXT_FIELDS, WAIT_MS
from tests.browser.xss.probes import (
    COMMENT_THREADS_JS,
    COMMENTS_LOADED_JS,
    DASHBOARD_TEXTS_JS,
    EDITOR_FACILITATION_JS,
    EDITOR_TEXTS_JS,
    MENTIONS_TEXTS_JS,
    PROJECTOR_TEXTS_JS,
    Visit,
    squeeze,
)
from tests.browser.xss.scene import Scene
from tests.browsing import wait_for_element, wait_until


def check_pick_group_page(visit: Visit, page, scene: Scene, where: str, training_number: int, name: str) -> None:
    """A training's pick-group page: its title and city, its groups, and the name as typed."""
    title, city = scene.training_texts(training_number)
    visit.shows(
        where,
        "training title · city",
        squeeze(page.text_content(".eyebrow")),
        f"{title} · {city}",
        [("training title", title), ("training city", city)],
    )
    labels = page.eval_on_selector_all("label.choice span", "spans => spans.map(span => span.textContent)")
    names = scene.group_names[training_number]
    visit.shows(where, "group names", labels, names, [("group name", group_name) for group_name in names])
    visit.shows(
        where, "typed display name", page.input_value("#display_name"), name, [("participant display name", name)]
    )
    assert page.locator("label.choice span").first.is_visible()
    visit.inert(page, where)


def join_through_pick_group(visit: Visit, page, live_server, scene: Scene, who: str, name: str, cycles) -> int:
    """Open the other trainings' join links and send their forms under other names without picking a
    group; then type the first training's code and one's own name on the start page, check its
    pick-group page and pick the group.

    Returns the person id the editor was opened for.
    """
    for number, (training_number, typed) in cycles:
        page.goto(f"{live_server.url}/join/{scene.trainings[training_number].join_code}")
        page.fill("#display_name", typed or name)
        page.click("main button[type=submit]")
        wait_for_element(page, "fieldset.choices.has-error", timeout=WAIT_MS)  # sent back: pick a group
        check_pick_group_page(
            visit, page, scene, f"{who}-pick-group-page@cycle-{number + 1}", training_number, typed or name
        )

    page.goto(live_server.url + "/")
    visit.inert(page, f"{who}-start-page-empty")
    page.fill("#join_code", scene.trainings[0].join_code)
    page.fill("#display_name", name)
    page.click("main button[type=submit]")
    page.wait_for_url(f"**/join/{scene.trainings[0].join_code}", timeout=WAIT_MS)
    check_pick_group_page(visit, page, scene, f"{who}-pick-group-page", 0, name)
    page.check(f"input[name=group_id][value='{scene.group.id}']")
    page.click("main button[type=submit]")
    wait_for_element(page, '#connection[data-state="online"]', timeout=WAIT_MS)
    return page.evaluate("JSON.parse(document.getElementById('editor-data').textContent).person.id")


def check_editor(
    visit: Visit, page, where: str, scene: Scene, members: list[str], map_number: int = 0, shot: str = "window"
) -> None:
    """Every text of the map shows its value in its control, and the moderator's timer, vote and
    announcements are shown above it; the steps' comment threads, opened, show each comment's author
    and text, replies nested under their comment; nothing ran.

    The joined map (map_number 0) has the steps, stakeholders, comments and announcements; the others
    only their own texts, their training's timer and vote."""
    wait_until(
        page,
        """count => [...document.querySelectorAll('.step')].every(
             (step) => step.querySelectorAll('.owner-select optgroup:first-of-type option').length === count)""",
        arg=len(members),
        timeout=WAIT_MS,
    )
    announcements = scene.plan.values["announcement text"] if map_number == 0 else []
    wait_until(page, EDITOR_FACILITATION_JS, arg=len(announcements), timeout=WAIT_MS)
    texts = page.evaluate(EDITOR_TEXTS_JS)
    visit.shows(
        where,
        "announcement banners",
        texts["announcements"],
        announcements,
        [("announcement text", text) for text in announcements],
    )
    for name in ("timer label", "vote question"):
        value = scene.value(name, map_number)
        visit.shows(where, name, texts[name], value, [(name, value)])
    for selector in (
        "#editor-timer .countdown-label",
        "#vote-bar .vote-question",
        *(("#announcements .announcement",) if announcements else ()),
    ):
        assert page.locator(selector).first.is_visible(), f"{where}: {selector} is not visible"
    for name, shown in texts["map"].items():
        value = scene.value(name, map_number)
        visit.shows(where, name, shown, value, [(name, value)])
    title = scene.value("map title", map_number)
    visit.shows(where, "page title", texts["title"], f"{title} · Дорожная карта", [("map title", title)])
    group_name, training_title = scene.group_names[map_number][0], scene.value("training title", map_number)
    visit.shows(where, "group name in the top bar", texts["group"], group_name, [("group name", group_name)])
    visit.shows(
        where, "training title in the top bar", texts["training"], training_title, [("training title", training_title)]
    )

    if map_number:
        assert texts["steps"] == [] and texts["stakeholders"] == [], f"{where}: steps or stakeholders"
        visit.inert(page, where, shot)
        return
    shown_stakeholders = [item["id"] for item in texts["stakeholders"]]
    assert sorted(shown_stakeholders) == sorted(scene.stakeholder_ids), f"{where}: stakeholders {shown_stakeholders}"
    stakeholder_names = [scene.stakeholder_text(item, "stakeholder name") for item in shown_stakeholders]
    for item in texts["stakeholders"]:
        for name in STAKEHOLDER_TEXT_FIELDS:
            value = scene.stakeholder_text(item["id"], name)
            visit.shows(where, name, item[name], value, [(name, value)])
    assert sorted(step["id"] for step in texts["steps"]) == sorted(scene.step_ids), f"{where}: steps"
    for step in texts["steps"]:
        for name in (*STEP_TEXT_FIELDS, "step owner free text"):
            value = scene.step_text(step["id"], name)
            visit.shows(where, name, step[name], value, [(name, value)])
        visit.shows(
            where,
            "member names in the owner list",
            step["members"],
            members,
            [("participant display name", name) for name in members],
        )
        visit.shows(
            where,
            "stakeholder in the owner list",
            step["stakeholders"],
            stakeholder_names,
            [("stakeholder name", name) for name in stakeholder_names],
        )
        visit.shows(
            where,
            "stakeholder chip on the step",
            step["chips"],
            stakeholder_names,
            [("stakeholder name", name) for name in stakeholder_names],
        )
    threads = scene.comment_threads()
    for step_id in threads:  # opens the card (if it is not) and loads its thread over the socket
        page.click(f'.step[data-step-id="{step_id}"] .comment-toggle')
    for expand in page.locator(".step .step-expand").all():
        if expand.get_attribute("aria-expanded") == "false":
            expand.click()  # the step's details: description, resources, stakeholder chips, comments
    check_comment_threads(visit, page, where, threads)
    for selector in (
        "#map-title",
        ".step [data-field=title]",
        ".stakeholder [data-field=name]",
        ".owner-text",
        ".chip",
        ".step [data-field=description]",
        ".comment-text",
        ".comment-replies .comment-text",
    ):
        assert page.locator(selector).first.is_visible(), f"{where}: {selector} is not visible"
    # The first comment in the middle of the window, its reply below it (a whole-page shot has them all).
    if threads:
        page.eval_on_selector(
            f'.step[data-step-id="{next(iter(threads))}"] .comment-head',
            "head => head.scrollIntoView({block: 'center'})",
        )
    visit.inert(page, where, shot)


def check_comment_threads(visit: Visit, page, where: str, threads: dict) -> None:
    """Each step's comment thread (Scene.comment_threads) once loaded: its comments in order, each reply
    nested under the comment it answers, each comment's author and text as they were written."""
    wait_until(
        page,
        COMMENTS_LOADED_JS,
        arg={step_id: sum(1 + len(replies) for _, replies in comments) for step_id, comments in threads.items()},
        timeout=WAIT_MS,
    )
    shown = page.evaluate(COMMENT_THREADS_JS, list(threads))
    for step_id, comments in threads.items():
        visit.shows(
            where,
            "comments of the step and the replies under each",
            [[item["id"], [reply["id"] for reply in item["replies"]]] for item in shown[step_id]],
            [[comment.id, [reply.id for reply in replies]] for comment, replies in comments],
        )
        for (comment, replies), item in zip(comments, shown[step_id]):
            for what, planned, shown_comment in [
                ("comment", comment, item),
                *(("reply", *pair) for pair in zip(replies, item["replies"])),
            ]:
                visit.shows(
                    where, f"{what} text", shown_comment["text"], planned.body, [("comment body", planned.body)]
                )
                visit.shows(where, f"{what} author", shown_comment["author"], planned.author[1], [planned.author])


def check_mentions(visit: Visit, app, page, where: str, scene: Scene, mentions: list) -> None:
    """The top bar's menu of where the participant was mentioned, newest first: «<author> mentioned you
    at “<step title>”» for each comment in `mentions`, drawn by the server as the page came or by
    mentions.js as the mention arrived. Opened for the screenshot, then closed again. The menu is
    itself a <details>, left out of INJECTED_ELEMENTS_JS by its id; what is in it is not."""
    wait_until(
        page,
        "count => document.querySelectorAll('#mentions:not([hidden]) .mentions-list a').length === count",
        arg=len(mentions),
        timeout=WAIT_MS,
    )
    texts = page.evaluate(MENTIONS_TEXTS_JS)
    told = [
        (comment.author, ("step title", scene.step_text(comment.step_id, "step title")))
        for comment in reversed(mentions)
    ]
    with app.test_request_context(), force_locale(texts["lang"]):
        expected = [
            gettext("%(name)s mentioned you at “%(step)s”", name=author[1], step=title[1]) for author, title in told
        ]
    visit.shows(where, "number of mentions", texts["count"], str(len(mentions)))
    visit.shows(
        where,
        "author's name and step title of each mention",
        [text for _, text in texts["links"]],
        expected,
        [pair for pairs in told for pair in pairs],
    )
    assert all(href.startswith("/mentions/") for href, _ in texts["links"]), f"{where}: {texts['links']}"
    page.click("#mentions summary")
    assert page.locator("#mentions .mentions-list a").first.is_visible(), f"{where}: the mentions are not shown"
    visit.inert(page, where, "window")
    page.click("#mentions summary")


def check_dashboard(
    visit: Visit, app, page, scene: Scene, number: int, where: str, members: dict, join_url: str, shot: str = "window"
) -> None:
    """A training's dashboard: its title and city, a card per group (drawn by dashboard.js) with its
    map's title and, in the first training, the vote's ranking; the timer, the vote, the announcement
    log, the tools' group lists and every group and member in the manage section; nothing ran.

    members: group id -> the display names of the group's members now. shot: as for Visit.inert."""
    wait_for_element(page, ".group-card", timeout=WAIT_MS)
    texts = page.evaluate(DASHBOARD_TEXTS_JS)
    title, city = scene.training_texts(number)
    visit.shows(where, "training title in the top bar", texts["training"], title, [("training title", title)])
    visit.shows(where, "page title", texts["title"], f"{title} · Дорожная карта", [("training title", title)])
    visit.shows(where, "city in the top bar", squeeze(texts["dates"]).split(" · ")[0], city, [("training city", city)])
    visit.shows(where, "join URL", texts["join_url"], join_url)

    groups, names = scene.groups[number], scene.group_names[number]
    cards = {card["group_id"]: card for card in texts["cards"]}
    assert sorted(cards) == sorted(group.id for group in groups), f"{where}: cards {sorted(cards)}"
    for place, (group, name) in enumerate(zip(groups, names)):
        card = cards[group.id]
        visit.shows(where, "group name on its card", card["name"], name, [("group name", name)])
        assert card["href"] == f"/maps/{group.roadmap.id}", f"{where}: the card links to {card['href']}"
        if place == 0:
            map_title = scene.value("map title", number)
            visit.shows(
                where, "map title (the card link's title)", card["title"], map_title, [("map title", map_title)]
            )
        else:
            visit.shows(
                where,
                "group name (the card link's title: the map has none)",
                card["title"],
                name,
                [("group name", name)],
            )
        visit.shows(where, "theme on the card", card["theme"], texts["themes"][group.theme])
        ranked = scene.ranking() if group.id == scene.group.id else []
        step_titles = [scene.step_text(step_id, "step title") for step_id, _ in ranked]
        visit.shows(
            where,
            "dots and step title in the vote ranking on the card",
            card["ranking"],
            [[f"● {count}", f" {step_title}"] for (_, count), step_title in zip(ranked, step_titles)],
            [("step title", step_title) for step_title in step_titles],
        )

    label, question = scene.value("timer label", number), scene.value("vote question", number)
    visit.shows(where, "timer label", texts["timer_label"], label, [("timer label", label)])
    status = texts["vote_status"].split(" · ", 2)  # open or closed · dots per person · the question
    visit.shows(where, "vote question after the vote's status", status[-1], question, [("vote question", question)])
    for tool, options in texts["tool_groups"].items():
        visit.shows(
            where,
            f"group names in the {tool} tool's list",
            options[1:],
            names,
            [("group name", name) for name in names],
        )

    every_group = texts["tool_groups"]["announcement"][0]
    announced = list(enumerate(scene.plan.values["announcement text"] if number == 0 else []))
    log = [[names[0] if scene.announcement_group(order) else every_group, text] for order, text in reversed(announced)]
    visit.shows(
        where,
        "announcement log (to whom, text), newest first",
        texts["announcements"],
        log,
        [("announcement text", text) for _, text in announced]
        + [("group name", names[0]) for order, _ in announced if scene.announcement_group(order)],
    )

    managed = {item["id"]: item for item in texts["manage"]}
    assert sorted(managed) == sorted(f"manage-group-{group.id}" for group in groups), f"{where}: {sorted(managed)}"
    with app.test_request_context(), force_locale(texts["lang"]):
        removal = gettext("Remove %(name)s from the group? What they wrote stays.", name="{name}")
    for place, (group, name) in enumerate(zip(groups, names)):
        item = managed[f"manage-group-{group.id}"]
        visit.shows(where, "group name in manage groups", item["name"], name, [("group name", name)])
        visit.shows(where, "group name in its rename field", item["rename"], name, [("group name", name)])
        shown = sorted(member["name"] for member in item["members"])
        visit.shows(
            where,
            "member names in manage groups",
            shown,
            sorted(members[group.id]),
            [("participant display name", member) for member in members[group.id]],
        )
        others = names[:place] + names[place + 1 :]  # two groups may hold the same payloads
        for member in item["members"]:
            visit.shows(
                where,
                "other group names in the member's move list",
                member["moves"],
                others,
                [("group name", other) for other in others],
            )
            visit.shows(
                where,
                "member name in the remove confirmation",
                member["confirm"],
                removal.replace("{name}", member["name"]),
                [("participant display name", member["name"])],
            )

    for selector in (".group-card-name", "#dash-timer .countdown-label", "#dash-vote .vote-status"):
        assert page.locator(selector).first.is_visible(), f"{where}: {selector} is not visible"
    visit.inert(page, where, shot)


def check_projector(visit: Visit, page, scene: Scene, where: str, owners: dict, shot: str = "window") -> None:
    """The projector view of the joined group's map: the training and timer in its bar, the map's
    name, title and header, its steps with their dots and owners, its stakeholders; nothing ran.

    owners: step id -> (field, value) of the owner the step shows."""
    wait_for_element(page, "#projector-timer:not([hidden])", timeout=WAIT_MS)  # once the socket has the timer
    texts = page.evaluate(PROJECTOR_TEXTS_JS)
    title, label = scene.value("training title"), scene.value("timer label")
    visit.shows(where, "training title in the bar", texts["training"], title, [("training title", title)])
    visit.shows(
        where,
        "training title in the page title",
        texts["title"].split(" · ", 1)[-1],
        title,
        [("training title", title)],
    )
    visit.shows(where, "timer label", texts["timer_label"], label, [("timer label", label)])
    assert texts["group_id"] == scene.group.id, f"{where}: projects group {texts['group_id']}"
    check_map_view(
        visit,
        where,
        scene,
        texts,
        [(scene.step_text(step_id, "step title"), owners[step_id]) for step_id in scene.step_ids],
        [scene.stakeholder_text(item, "stakeholder name") for item in scene.stakeholder_ids],
    )
    for step_id, shown in zip(scene.step_ids, texts["steps"]):
        visit.shows(
            where, "dots on the step", shown["dots"], f"● {scene.dots[step_id]}" if step_id in scene.dots else None
        )
    for selector in (
        ".projected-map h1",
        ".projected-step-title",
        ".projected-stakeholders strong",
        "#projector-timer .countdown-label",
    ):
        assert page.locator(selector).first.is_visible(), f"{where}: {selector} is not visible"
    visit.inert(page, where, shot)


def check_map_view(visit: Visit, where: str, scene: Scene, texts: dict, steps: list, stakeholder_names: list) -> None:
    """The joined group's read-only map (MAP_VIEW_TEXTS_JS): its group's name, title and header,
    each step's title and owner, the stakeholders' names.

    steps: (title, (field, value) of the owner) of each step, in map order."""
    group_name, map_title = scene.group_names[0][0], scene.value("map title")
    visit.shows(where, "group name", texts["group"], f"{group_name} · ", [("group name", group_name)])
    visit.shows(where, "map title", texts["heading"], map_title, [("map title", map_title)])
    header = [(name, scene.value(name)) for name in ("map problem", "map goal", "map territory")]
    visit.shows(where, "problem, goal, territory", texts["header"], [value for _, value in header], header)
    assert len(texts["steps"]) == len(steps), f"{where}: {len(texts['steps'])} steps"
    for (step_title, (name, owner)), shown in zip(steps, texts["steps"]):
        visit.shows(where, "step title", shown["title"], step_title, [("step title", step_title)])
        visit.shows(where, f"step owner ({name})", shown["owner"], f" {owner}", [(name, owner)])
    visit.shows(
        where,
        "stakeholder names",
        texts["stakeholders"],
        stakeholder_names,
        [("stakeholder name", name) for name in stakeholder_names],
    )
