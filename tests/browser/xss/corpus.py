"""The payloads and the text fields they are stored in, with their lengths from the app."""

from __future__ import annotations

import os

import pytest

from roadmap.domain.operations import COMMENT_BODY, MAP_FIELDS, MAX_OWNER_TEXT, STAKEHOLDER_FIELDS, STEP_FIELDS
from roadmap.models import Group, Person, Timer, Training, Vote
from roadmap.services import facilitation

pytestmark = [pytest.mark.browser, pytest.mark.live]

WAIT_MS = 15_000
PASSWORD = "correct horse battery"
SEPARATOR = " ¦ "
EXHAUSTIVE = os.environ.get("ROADMAP_XSS_EXHAUSTIVE", "") not in ("", "0")
SCENE_COUNT = int(os.environ.get("ROADMAP_XSS_SCENES", "3"))

# Each payload marks its own run: window.__xss = n, or a dialog whose message is n.
# HTML payloads carry data-xss, so an element they create is found even when nothing runs.
PAYLOADS = [
    pytest.param("<script>window.__xss=1</script>", id="script-tag"),
    pytest.param("<ScRiPt>window.__xss=2</sCrIpT>", id="script-tag-mixed-case"),
    pytest.param('<img src=x onerror="window.__xss=3" data-xss>', id="img-onerror"),
    pytest.param("<svg onload=alert(4) data-xss>", id="svg-onload"),
    pytest.param("<svg><animate onbegin=alert(5) attributeName=x dur=1s data-xss></svg>", id="svg-animate-onbegin"),
    pytest.param("javascript:window.__xss=6//", id="javascript-url"),
    pytest.param('<a href="javascript:alert(7)" data-xss>open</a>', id="javascript-link"),
    pytest.param(
        '"><script>window.__xss=8</script><img src=x onerror=alert(8) data-xss>', id="attribute-breaker-double-quote"
    ),
    pytest.param("'><img src=x onerror=confirm(9) data-xss>", id="attribute-breaker-single-quote"),
    pytest.param("</script><script>window.__xss=10</script>", id="json-data-block-escape"),
    pytest.param("</textarea><img src=x onerror=prompt(11) data-xss>", id="textarea-escape"),
    pytest.param("--><svg onload=alert(12) data-xss><!--", id="html-comment-escape"),
    pytest.param("{{7*7}}${7*7}<%= 7*7 %>{{constructor.constructor('alert(13)')()}}", id="template-expressions"),
    pytest.param('<iframe srcdoc="<script>parent.__xss=14</script>" data-xss></iframe>', id="iframe-srcdoc"),
    pytest.param('<iframe src="javascript:parent.__xss=15" data-xss></iframe>', id="iframe-javascript-src"),
    pytest.param('<div style="width:expression(alert(16))" data-xss>x</div>', id="style-expression"),
    pytest.param("<p style=\"background:url('javascript:alert(17)')\" data-xss>x</p>", id="style-javascript-url"),
    pytest.param('<style>@import "javascript:alert(18)";</style>', id="style-import"),
    pytest.param(r"\u003cimg src=x onerror=alert(19) data-xss\u003e", id="unicode-escaped"),
    pytest.param("&lt;img src=x onerror=alert(20)&gt;&#60;script&#62;alert(20)&#60;/script&#62;", id="html-entities"),
    pytest.param("%3Cscript%3Ewindow.__xss=21%3C%2Fscript%3E", id="percent-encoded"),
    pytest.param("\uff1cscript\uff1ewindow.__xss=22\uff1c/script\uff1e", id="fullwidth-brackets"),
    pytest.param("';window.__xss=23;//\";window.__xss=23;//`;alert(23)//", id="js-string-breakers"),
    pytest.param("<details open ontoggle=alert(24) data-xss>", id="details-ontoggle"),
    pytest.param("<input autofocus onfocus=alert(25) data-xss>", id="autofocus-onfocus"),
    pytest.param('<noscript><p title="</noscript><img src=x onerror=alert(26)>">', id="noscript-mutation"),
    pytest.param('<object data="javascript:alert(27)" data-xss></object>', id="object-data"),
    pytest.param('<base href="javascript:alert(28)//">', id="base-href"),
    pytest.param('<a href="data:text/html,<script>alert(29)</script>" data-xss>x</a>', id="data-url-link"),
]
PAYLOAD_TEXTS = [param.values[0] for param in PAYLOADS]
PAYLOAD_IDS = [param.id for param in PAYLOADS]
PAYLOAD_INDEX = {text: index for index, text in enumerate(PAYLOAD_TEXTS)}
# Payloads that only act at the very start of a value (an href or src built from it).
LEADING = {PAYLOAD_IDS.index("javascript-url")}


def column_length(model, name: str) -> int:
    return model.__table__.c[name].type.length


# Every text a person types that is stored and shown, with its maximum length.
FIELDS = {
    "moderator display name": column_length(Person, "display_name"),
    "participant display name": column_length(Person, "display_name"),
    "training title": column_length(Training, "title"),
    "training city": column_length(Training, "city"),
    "group name": column_length(Group, "name"),
    "map title": MAP_FIELDS["title"].max_length,
    "map problem": MAP_FIELDS["problem"].max_length,
    "map goal": MAP_FIELDS["goal"].max_length,
    "map territory": MAP_FIELDS["territory"].max_length,
    "map expected results": MAP_FIELDS["expected_results"].max_length,
    "step title": STEP_FIELDS["title"].max_length,
    "step description": STEP_FIELDS["description"].max_length,
    "step resources": STEP_FIELDS["resources"].max_length,
    "step success measure": STEP_FIELDS["success_measure"].max_length,
    "step owner free text": MAX_OWNER_TEXT,
    "stakeholder name": STAKEHOLDER_FIELDS["name"].max_length,
    "stakeholder contact": STAKEHOLDER_FIELDS["contact"].max_length,
    "announcement text": facilitation.MAX_ANNOUNCEMENT_LENGTH,
    "timer label": column_length(Timer, "label"),
    "vote question": column_length(Vote, "question"),
    "comment body": COMMENT_BODY.max_length,  # the column is Text: the op's limit is the field's
}
# Facilitation texts live in a training: each training has a timer and a vote; the announcements are the first's.
PER_TRAINING = ("training title", "training city", "timer label", "vote question")
MAP_TEXT_FIELDS = {  # field -> the key in map.set and the id of its control
    "map title": ("title", "map-title"),
    "map problem": ("problem", "map-problem"),
    "map goal": ("goal", "map-goal"),
    "map territory": ("territory", "map-territory"),
    "map expected results": ("expected_results", "map-expected-results"),
}
STEP_TEXT_FIELDS = {
    "step title": "title",
    "step description": "description",
    "step resources": "resources",
    "step success measure": "success_measure",
}
STAKEHOLDER_TEXT_FIELDS = {"stakeholder name": "name", "stakeholder contact": "contact"}
