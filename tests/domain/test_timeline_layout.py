"""The timeline as the PDF, the DOCX and the shared link draw it (roadmap/domain/timeline.py)."""

from datetime import date

from roadmap.domain.timeline import MARGIN_DAYS, lay_out

TODAY = date(2027, 5, 20)


def step(step_id, title, starts_on=None, due_on=None, status="planned", depends_on=()):
    return {
        "id": step_id,
        "title": title,
        "starts_on": starts_on,
        "due_on": due_on,
        "status": status,
        "depends_on": list(depends_on),
    }


PLAN = [
    step("site", "Согласовать площадку", "2027-05-01", "2027-05-15", status="done"),
    step("containers", "Поставить контейнеры", "2027-05-10", "2027-05-30", depends_on=["site"]),
    step("leaflets", "Листовки"),
    step("survey", "Опрос", due_on="2027-05-18"),
]


def test_bars_share_the_span_and_the_steps_without_dates_wait_beside():
    laid_out = lay_out(PLAN, TODAY)

    assert [bar.number for bar in laid_out.bars] == [1, 2, 4]
    assert laid_out.undated == [(3, "Листовки")]
    span_days = (date(2027, 5, 30) - date(2027, 5, 1)).days + 1 + 2 * MARGIN_DAYS
    site = laid_out.bars[0]
    assert site.left == round(100 * MARGIN_DAYS / span_days, 3)
    assert site.width == round(100 * 15 / span_days, 3)  # both ends count: the 1st to the 15th
    assert laid_out.bars[-1].starts_on == laid_out.bars[-1].due_on == date(2027, 5, 18)  # a due date alone: one day
    assert laid_out.today_at == round(100 * (MARGIN_DAYS + 19) / span_days, 3)


def test_done_overdue_and_starting_too_early_are_marked():
    site, containers, survey = lay_out(PLAN, TODAY).bars

    assert (site.done, site.overdue) == (True, False)  # due in the past, but done
    assert survey.overdue and not survey.done
    assert containers.too_early and containers.waits_for == (1,)  # starts on the 10th, the site is due on the 15th
    assert not site.too_early


def test_a_map_without_dates_has_no_bars_and_no_today():
    laid_out = lay_out([step("a", "Шаг")], TODAY)

    assert (laid_out.bars, laid_out.months, laid_out.today_at) == ([], [], None)
    assert laid_out.undated == [(1, "Шаг")]


def test_months_are_marked_where_they_start():
    laid_out = lay_out([step("a", "Шаг", "2027-04-20", "2027-07-05")], TODAY)

    assert [day for day, _at in laid_out.months] == [date(2027, 5, 1), date(2027, 6, 1), date(2027, 7, 1)]
    assert all(0 < at < 100 for _day, at in laid_out.months)
