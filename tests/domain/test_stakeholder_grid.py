"""The power/interest grid's rule (domain/stakeholder_grid.py) and its read-only drawing in the
printable page, the PDF and the projector's map; the editor's live grid is in
test_browser_stakeholder_grid.py."""

import lxml.html
import pymupdf
import pytest
from browsing import keep_in_docs
from conftest import new_id

from roadmap.domain.stakeholder_grid import arrange, only_informed, quadrant
from roadmap.services import editing, export_files
from roadmap.views.map_view import map_view_context


@pytest.mark.parametrize(
    ("influence", "interest", "expected"),
    [
        (5, 5, "manage_closely"),
        (4, 4, "manage_closely"),
        (4, 3, "keep_satisfied"),
        (5, 1, "keep_satisfied"),
        (3, 4, "keep_informed"),
        (1, 5, "keep_informed"),
        (3, 3, "monitor"),
        (1, 1, "monitor"),
        (None, 4, None),
        (4, None, None),
    ],
)
def test_four_or_five_is_high_on_either_axis_and_an_unset_score_places_nothing(influence, interest, expected):
    assert quadrant({"influence": influence, "interest": interest}) == expected


def test_only_the_influential_and_interested_whom_the_group_only_informs_are_flagged():
    assert only_informed({"influence": 5, "interest": 4, "engagement": "inform"})
    assert not only_informed({"influence": 5, "interest": 4, "engagement": "consult"})
    assert not only_informed({"influence": 5, "interest": 3, "engagement": "inform"})
    assert not only_informed({"influence": None, "interest": 5, "engagement": "inform"})


def test_arrange_puts_each_stakeholder_in_its_cell_and_the_unrated_beside():
    council = {"id": "a", "influence": 5, "interest": 5, "engagement": "inform"}
    school = {"id": "b", "influence": 5, "interest": 5, "engagement": "involve"}
    paper = {"id": "c", "influence": None, "interest": 2, "engagement": "inform"}
    grid = arrange([council, school, paper])
    assert grid.at(5, 5) == [council, school] and grid.at(1, 1) == []
    assert grid.waiting == [paper] and grid.flagged == [council]
    assert grid.placed and not arrange([paper]).placed


@pytest.fixture
def rated_map(world):
    moderator = world.moderator()
    group = world.group(world.training(moderator))
    for fields in (
        {"name": "Управа района", "influence": 5, "interest": 4, "engagement": "inform"},
        {"name": "Жители дома 14", "influence": 2, "interest": 5, "engagement": "involve"},
        {"name": "Районная газета"},
    ):
        editing.apply(
            {
                "op_id": new_id(),
                "roadmap_id": group.roadmap.id,
                "type": "stakeholder.add",
                "stakeholder_id": new_id(),
                "fields": fields,
            },
            actor=moderator,
        )
    return group


def chips_by_cell(html: str) -> dict[str, list[str]]:
    """{"influence:interest": [names]} as the drawn grid shows them, rows 5 to 1 and columns 1 to 5."""
    table = lxml.html.fromstring(html).find_class("power-grid-table")[0]
    placed = {}
    for row_number, row in enumerate(table.xpath(".//tr[not(contains(@class, 'power-grid-foot'))]")):
        for column_number, cell in enumerate(row.find_class("power-grid-cell")):
            names = [chip.text.strip() for chip in cell.find_class("power-grid-chip")]
            if names:
                placed[f"{5 - row_number}:{column_number + 1}"] = names
    return placed


def test_the_printable_page_draws_the_grid_with_advice_the_warning_and_the_unrated(app, rated_map):
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        html = export_files.printable_page(rated_map.roadmap)
    assert chips_by_cell(html) == {"5:4": ["Управа района"], "2:5": ["Жители дома 14"]}
    document = lxml.html.fromstring(html)
    assert "Управлять вплотную" in document.find_class("power-grid-legend")[0].text_content()
    assert "Управа района" in document.find_class("power-grid-warning")[0].text_content()
    assert "Районная газета" in document.find_class("power-grid-waiting")[0].text_content()


def test_the_pdf_carries_the_grid(app, rated_map, artifacts):
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        data = export_files.pdf(rated_map.roadmap, "ru")
    with pymupdf.open(stream=data, filetype="pdf") as pdf:
        text = " ".join(page.get_text() for page in pdf)
        page = next(page for page in pdf if "Влияние и интерес" in page.get_text())
        page.get_pixmap(dpi=110).save(str(artifacts / "pdf-stakeholder-grid.png"))
    keep_in_docs(artifacts / "pdf-stakeholder-grid.png")
    for words in ("Влияние и интерес", "Держать в курсе", "Наблюдать", "Ещё не оценены"):
        assert words in text


def test_the_projector_and_the_read_only_map_draw_the_grid(app, rated_map):
    from flask import render_template

    from roadmap.services import snapshots

    with app.test_request_context(headers={"Accept-Language": "ru"}):
        map_data = snapshots.snapshot(rated_map.roadmap)
        html = render_template("maps/_map_view.html", **map_view_context(rated_map, map_data))
    assert chips_by_cell(html) == {"5:4": ["Управа района"], "2:5": ["Жители дома 14"]}
