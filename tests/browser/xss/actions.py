"""What people do in the browsers during a scene, and waiting for it to show."""

from __future__ import annotations

from tests.browser.xss.corpus import WAIT_MS
from tests.browser.xss.probes import Visit
from tests.browsing import wait_until


def wait_for_presence(page, person_id: int, name: str) -> None:
    wait_until(
        page,
        """([id, name]) => document.querySelector(`#presence [data-person-id="${id}"]`)?.title === name""",
        arg=[person_id, name],
        timeout=WAIT_MS,
    )


def wait_for_tag(page, control: str, name: str) -> str:
    """The name tag someone's focus puts after a control."""
    selector = f"{control} + .editing-tag"
    wait_until(
        page,
        "([selector, name]) => document.querySelector(selector)?.textContent === name",
        arg=[selector, name],
        timeout=WAIT_MS,
    )
    return page.text_content(selector)


def delete_with_toast(visit: Visit, page, where: str, button: str, text: str, what: str, name: str) -> None:
    """Delete an item; its toast ends with «its text»."""
    page.click(button)
    toast = wait_until(
        page,
        """(ending) => [...document.querySelectorAll('.toast > span')]
             .map((span) => span.textContent).find((text) => text.endsWith(ending))""",
        arg=f"«{text}»",
        timeout=WAIT_MS,
    ).json_value()
    visit.shows(where, what, toast.rsplit("«", 1)[1][:-1], text, [(name, text)])
    visit.inert(page, where, "window")  # the toast is fixed to the window


def numbered(where: str, number: int) -> str:
    return where if number == 0 else f"{where}@{number + 1}"
