"""axe-core (from npm) over every kind of page a person sees, in Chromium: the join page, the
editor on a laptop and a phone, the moderator's dashboard and projector, the alumni pages, the
one-time device code pages, «Это вы?», the shared read-only view and the filtered history.
No serious or critical violation may remain."""

import json
from pathlib import Path

import pytest

from roadmap.services import share_links
from tests.browsing import join, sign_in_moderator, wait_for_element, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.live]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WAIT_MS = 15_000
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it stands, one line each (the
    page's context bypasses the CSP, which would refuse axe's script tag)."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.filter(v => ['serious', 'critical'].includes(v.impact))
            .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [f"{v['impact']} {v['id']}: {json.dumps(v['nodes'], ensure_ascii=False)}" for v in found]


@pytest.fixture
def scene(world):
    moderator = world.moderator(name="Ирина Соколова")
    training = world.training(moderator)
    group = world.group(training, name="Чистый двор", theme="waste_sorting")
    return moderator, training, group


def editor_with_content(chromium, live_server, training, name="Марина Ковалёва", **context_options):
    context, page = join(chromium, live_server, training.join_code, name, bypass_csp=True, **context_options)
    page.fill("#new-step-title", "Опросить жителей домов 12–18")
    page.click("#add-step-form button[type=submit]")
    page.fill("#new-stakeholder-name", "Управа района")
    page.click("#add-stakeholder-form button[type=submit]")
    wait_for_element(page, "#stakeholders .stakeholder", timeout=WAIT_MS)
    wait_until(page, "document.querySelector('.connection-pending').textContent === ''", timeout=WAIT_MS)
    return page


def test_the_join_page_and_the_editor_have_no_serious_violation(scene, live_server, chromium):
    _moderator, training, _group = scene
    context = chromium.new_context(locale="ru-RU", bypass_csp=True)
    start = context.new_page()
    start.goto(live_server.url + "/")
    findings = {"join page": serious_violations(start)}
    laptop = editor_with_content(chromium, live_server, training, viewport={"width": 1366, "height": 768})
    findings["editor, laptop"] = serious_violations(laptop)
    phone = editor_with_content(chromium, live_server, training, name="Олег Сидоров", **PHONE)
    findings["editor, phone"] = serious_violations(phone)
    assert {page: lines for page, lines in findings.items() if lines} == {}


def test_the_moderators_pages_have_no_serious_violation(scene, live_server, chromium):
    moderator, training, _group = scene
    page = sign_in_moderator(chromium, live_server, moderator, {"width": 1366, "height": 768}, bypass_csp=True)
    findings = {"trainings": serious_violations(page)}
    page.goto(f"{live_server.url}/moderate/trainings/{training.id}")
    wait_for_element(page, '#dash-connection[data-state="online"]', timeout=WAIT_MS)
    findings["dashboard"] = serious_violations(page)
    page.goto(f"{live_server.url}/moderate/trainings/{training.id}/projector")
    findings["projector"] = serious_violations(page)
    page.goto(f"{live_server.url}/moderate/trainings/{training.id}/import")
    findings["import"] = serious_violations(page)
    assert {name: lines for name, lines in findings.items() if lines} == {}


def test_the_alumni_pages_have_no_serious_violation(scene, live_server, chromium):
    _moderator, training, group = scene
    page = editor_with_content(chromium, live_server, training, viewport={"width": 1366, "height": 768})
    roadmap_id = group.roadmap.id
    findings = {}
    for name, path in {
        "my maps": "/me",
        "account": "/account",
        "history": f"/maps/{roadmap_id}/history",
        "map at a revision": f"/maps/{roadmap_id}/history/1",
        "since the training": f"/maps/{roadmap_id}/since-training",
        "share and export": f"/maps/{roadmap_id}/share",
        "print": f"/maps/{roadmap_id}/print",
    }.items():
        page.goto(live_server.url + path)
        findings[name] = serious_violations(page)
    assert {name: lines for name, lines in findings.items() if lines} == {}


def test_the_device_pages_is_it_you_the_shared_view_and_the_history_filters_have_no_serious_violation(
    scene, live_server, chromium, world
):
    _moderator, training, group = scene
    page = editor_with_content(chromium, live_server, training, viewport={"width": 1366, "height": 768})
    roadmap_id = group.roadmap.id
    marina_id = page.evaluate("JSON.parse(document.getElementById('editor-data').textContent).person.id")
    step_id = page.evaluate("document.querySelector('#steps .step').dataset.stepId")
    view_link = share_links.share(group.roadmap, world.member(group, "Лидия"), "view")
    findings = {}
    for name, path in {
        "one-time code": "/device",
        "code from another device": "/device/continue",
        "history filtered": f"/maps/{roadmap_id}/history?person={marina_id}&step={step_id}",
        "shared read-only view": f"/shared/{share_links.link_token(view_link)}",
    }.items():
        page.goto(live_server.url + path)
        findings[name] = serious_violations(page)
    # «Это вы?»: someone else on a phone joins with a name that is taken in the group.
    phone = chromium.new_context(locale="ru-RU", bypass_csp=True, **PHONE).new_page()
    phone.goto(live_server.url + "/")
    phone.fill("#join_code", training.join_code.lower())
    phone.fill("#display_name", "Марина Ковалёва")
    phone.click("main button[type=submit]")
    wait_for_element(phone, "#enter-device-code", timeout=WAIT_MS)
    findings["is it you"] = serious_violations(phone)
    assert {name: lines for name, lines in findings.items() if lines} == {}
