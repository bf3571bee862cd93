"""The weekly digest's HTML, as it arrived at the SMTP server, rendered in Chromium for the README."""

import pytest
from browsing import keep_screenshot

from roadmap.services import reminders
from tests.services.test_reminders import add_step, edit, week  # noqa: F401  (week: the fixture)

pytestmark = pytest.mark.browser


def test_the_digest_mail_reads_well_in_a_browser(
    app,
    group,
    oleg,
    week,  # noqa: F811 -- the fixture imported from test_reminders
    smtp_inbox,
    chromium,
    artifacts,
):
    app.config.update(smtp_inbox.config())
    _day, now = week
    flyers = add_step(oleg, group, "Расклеить объявления в подъездах")
    edit(oleg, group, "step.set", step_id=flyers, field="status", value="done")
    reminders.run_once(now)
    message = smtp_inbox.wait_for(lambda m: m["To"] == "marina@example.org" and "на неделю" in m["Subject"])
    page = chromium.new_page(viewport={"width": 720, "height": 900})
    try:
        page.set_content(message.get_body(("html",)).get_content())
        assert page.get_by_role("heading", name="Просрочено").is_visible()
        assert page.get_by_role("link", name="Мои шаги").is_visible()
        assert page.get_by_text("Выполнено 1 из 5 (20\u00a0%)").is_visible()
        body_width = page.evaluate("document.documentElement.scrollWidth")
        assert body_width <= 720  # no sideways scrolling in a mail client's pane
        keep_screenshot(page, "digest-mail.png", artifacts, full_page=True)
    finally:
        page.close()
