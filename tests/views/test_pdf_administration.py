"""The PDF for the administration and the A3 poster for the wall, read back with pymupdf:
page counts, page sizes, what each page holds, and how a long plan breaks across pages."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pymupdf
import pytest
from browsing import keep_in_docs
from conftest import PASSWORD, make_moderator, new_id

from roadmap.extensions import db
from roadmap.services import editing, trainings
from roadmap.timeutil import utcnow

A4 = (595, 842)
A3_LANDSCAPE = (1191, 842)
STEP_TITLES = (
    "Собрать инициативную группу жителей",
    "Провести опрос жителей о контейнерах",
    "Выбрать места для площадок с управой",
    "Согласовать площадки с управляющей компанией",
    "Найти перевозчика вторсырья",
    "Заказать контейнеры для пластика и бумаги",
    "Подготовить листовки и объявления в подъездах",
    "Провести встречу жителей во дворе",
    "Установить контейнеры на трёх площадках",
    "Праздник открытия площадок",
)


@pytest.fixture
def moderator(app):
    return make_moderator("irina@example.org", "Ирина Соколова")


def edit(actor, group, op_type, **keys):
    return editing.apply({"op_id": new_id(), "roadmap_id": group.roadmap.id, "type": op_type, **keys}, actor=actor)


def make_plan(world, group, moderator, steps: int):
    """A map as groups leave the training with: the project filled in, four members, five
    stakeholders, `steps` steps with owners, dates and a line of description; two of them overdue."""
    trainings.add_co_moderator(group.training, moderator, "oleg.mod@example.org", "Олег Ветров")
    members = [
        world.member(group, name) for name in ("Марина Лебедева", "Пётр Смирнов", "Анна Кузнецова", "Игорь Белов")
    ]
    for field, value in {
        "title": "Раздельный сбор на улице Садовой",
        "problem": "Во дворах домов 10–16 нет контейнеров для вторсырья, пластик уходит на свалку.",
        "goal": "Запустить раздельный сбор пластика и бумаги к осени.",
        "territory": "Вологда, ул. Садовая, дворы домов 10–16",
        "expected_results": "Три площадки, 40 % жителей сортируют отходы через полгода.",
    }.items():
        edit(moderator, group, "map.set", field=field, value=value)
    stakeholder_ids = []
    for name, sector, engagement in (
        ("Жители домов 10–16", "residents", "involve"),
        ("Управа Ленинского района", "administration", "consult"),
        ("Управляющая компания «Дом»", "business", "collaborate"),
        ("Газета «Красный Север»", "media", "inform"),
        ("Экоцентр «Зелёный дом»", "ngo", "empower"),
    ):
        stakeholder_id = new_id()
        edit(
            moderator,
            group,
            "stakeholder.add",
            stakeholder_id=stakeholder_id,
            fields={
                "name": name,
                "sector": sector,
                "contact": "Анна, +7 900 000-00-00",
                "interest": 4,
                "influence": 3,
                "engagement": engagement,
            },
        )
        stakeholder_ids.append(stakeholder_id)
    today = utcnow().date()
    step_ids = []
    for number in range(steps):
        owners = ({"member": members[number % 4].id}, {"stakeholder": stakeholder_ids[1]}, {"text": "ООО «Экопункт»"})
        overdue = number in (1, 2)
        due_on = today - timedelta(days=20 - number) if overdue else today + timedelta(days=14 * (number + 1))
        step_id = new_id()
        edit(
            members[0],
            group,
            "step.add",
            step_id=step_id,
            fields={
                "title": STEP_TITLES[number % len(STEP_TITLES)]
                + ("" if number < len(STEP_TITLES) else f", этап {number // 10 + 1}"),
                "description": "Договориться, кто что делает, и записать в чат дома.",
                "owner": owners[number % 3],
                "starts_on": (due_on - timedelta(days=10)).isoformat(),
                "due_on": due_on.isoformat(),
                "status": "done" if number == 0 else "in_progress" if overdue else "planned",
            },
        )
        edit(members[0], group, "step.link", step_id=step_id, stakeholder_id=stakeholder_ids[number % 5])
        if step_ids:  # each step waits for the one before it
            edit(members[0], group, "step.depend", step_id=step_id, predecessor_id=step_ids[-1])
        step_ids.append(step_id)
    db.session.expire_all()
    return group


@pytest.fixture
def browser(app, moderator):
    client = app.test_client()
    assert client.post("/sign-in", data={"email": moderator.email, "password": PASSWORD}).status_code == 302
    return client


def pdf_of(browser, group, path: str = "export.pdf") -> pymupdf.Document:
    response = browser.get(f"/maps/{group.roadmap.id}/{path}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    expected_name = (
        "Раздельный сбор на улице Садовой A3.pdf" if path == "poster.pdf" else "Раздельный сбор на улице Садовой.pdf"
    )
    assert response.headers["Content-Disposition"].endswith("''" + quote(expected_name))
    return pymupdf.open(stream=response.data, filetype="pdf")


def page_size(page) -> tuple[int, int]:
    return round(page.rect.width), round(page.rect.height)


def words(page) -> str:
    return " ".join(page.get_text().replace("\xa0", " ").split())


def test_a_plan_of_ten_steps_is_one_a4_page_with_progress_overdue_steps_team_and_stakeholders(
    world, group, moderator, browser, artifacts
):
    make_plan(world, group, moderator, steps=10)

    with pdf_of(browser, group) as pdf:
        # The plan is page 1; the stakeholders' power/interest grid and the timeline follow on pages of their own.
        assert len(pdf) == 3
        assert words(pdf[1]).startswith("Влияние и интерес")
        assert words(pdf[2]).startswith("График")
        pdf[0].get_pixmap(dpi=100).save(artifacts / "pdf-administration.png")
        pdf[2].get_pixmap(dpi=100).save(artifacts / "pdf-timeline.png")
        timeline_text = words(pdf[2])
        size, text = page_size(pdf[0]), words(pdf[0])
    keep_in_docs(artifacts / "pdf-administration.png")
    keep_in_docs(artifacts / "pdf-timeline.png")
    assert "2. Провести опрос жителей о контейнерах" in timeline_text and "после 1" in timeline_text
    assert "начинается слишком рано" in timeline_text  # step 2 was due before step 1, which it waits for
    assert size == A4
    assert "Выполнено 1 из 10 (10 %)" in text
    assert "Просрочено: 2 Провести опрос жителей о контейнерах; Выбрать места для площадок с управой" in text
    assert text.count("Просрочено") == 3  # the summary, and a flag on each overdue step's row
    assert "Команда" in text
    for name, roles in (
        ("Марина Лебедева", "участник рабочей группы, ответственный за шаги 1"),
        ("Управа Ленинского района", "ответственный за шаги 2, 5, 8"),
        ("ООО «Экопункт»", "ответственный за шаги 3, 6, 9"),
        ("Ирина Соколова", "модератор тренинга"),
        ("Олег Ветров", "модератор тренинга"),
    ):
        assert f"{name} — {roles}" in text, name
    assert "Управа Ленинского района Администрация" in text and "Вовлечение" in text  # sector and participation level


def test_a_plan_of_twenty_five_steps_breaks_cleanly_onto_more_pages_with_the_table_header_repeated(
    world, group, moderator, browser, artifacts
):
    make_plan(world, group, moderator, steps=25)

    with pdf_of(browser, group) as pdf:
        pages = [words(page) for page in pdf]
        last_lines = [lines(page)[-2] for page in pdf]  # the very last is the page number
        pdf[1].get_pixmap(dpi=70).save(artifacts / "pdf-page-2.png")
    assert len(pages) >= 2
    steps_header = "№ Шаг Ответственный Начало Срок Статус"
    assert pages[0].count(steps_header) == 1 and pages[1].count(steps_header) == 1
    for number, last_line in enumerate(last_lines, start=1):
        assert last_line not in ("Шаги", "Команда", "Заинтересованные стороны"), (
            f"a heading alone at the foot of page {number}"
        )
    assert "Выполнено 1 из 25 (4 %)" in pages[0]


def lines(page) -> list[str]:
    return [line.strip() for line in page.get_text().splitlines() if line.strip()]


@pytest.mark.parametrize("steps", [10, 25])
def test_the_poster_is_one_a3_landscape_page_in_large_type(world, group, moderator, browser, artifacts, steps):
    make_plan(world, group, moderator, steps=steps)

    with pdf_of(browser, group, "poster.pdf") as pdf:
        assert len(pdf) == 1
        page = pdf[0]
        assert page_size(page) in (A3_LANDSCAPE, A3_LANDSCAPE[::-1])
        assert page.rect.width > page.rect.height  # landscape
        text = words(page)
        title_size = max(
            span["size"]
            for block in page.get_text("dict")["blocks"]
            for line in block.get("lines", [])
            for span in line["spans"]
            if "Раздельный сбор" in span["text"]
        )
        page.get_pixmap(dpi=60).save(artifacts / "poster-a3.png")
    if steps == 10:
        keep_in_docs(artifacts / "poster-a3.png")
    assert title_size >= 27.9  # 28 pt, against 16 pt in the A4 document
    assert f"Выполнено 1 из {steps} ({100 // steps} %)" in text
    assert STEP_TITLES[-1] in text and "Ирина Соколова" in text and "Экоцентр «Зелёный дом»" in text
