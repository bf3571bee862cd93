"""The demo training a fresh install starts with (names invented)."""

from __future__ import annotations

import secrets
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import select

from roadmap import instance_files
from roadmap.extensions import db
from roadmap.models import Person, Training
from roadmap.services import accounts, editing, trainings

DEMO_EMAIL = "moderator@example.org"
DEMO_TITLE = "Школа городских героев"

WASTE_GROUP = {
    "name": "Чистый двор",
    "theme": "waste_sorting",
    "members": ["Марина К.", "Олег Д.", "Светлана П.", "Артём В."],
    "header": {
        "title": "Раздельный сбор отходов во дворах улицы Садовой",
        "problem": "Во дворах домов 12–18 по улице Садовой стоят только общие баки. "
        "Пластик, бумага и стекло уходят на полигон, жители не знают, куда сдавать вторсырьё.",
        "goal": "К октябрю поставить контейнеры для раздельного сбора в трёх дворах и вовлечь не меньше 40% квартир.",
        "territory": "ул. Садовая, дома 12–18, три двора",
        "expected_results": "Три площадки с контейнерами для пластика, бумаги и стекла; "
        "график вывоза; 5 домовых активистов.",
    },
    "stakeholders": [
        ("Жители домов 12–18", "residents", "Совет дома №14, Галина Н.", 4, 3, "involve"),
        ("Управляющая компания «Уютный дом»", "business", "диспетчерская", 2, 5, "collaborate"),
        ("Администрация Центрального района", "administration", "отдел ЖКХ", 3, 5, "consult"),
        ("Региональный оператор «ЭкоВывоз»", "business", "менеджер по работе с УК", 3, 4, "involve"),
        ("Газета «Северный вестник»", "media", "редакция", 2, 2, "inform"),
    ],
    "steps": [
        ("Опрос жителей о готовности сортировать", "done", "2027-04-26", "2027-05-10", 0),
        ("Встреча с управляющей компанией", "in_progress", "2027-05-05", "2027-05-15", 1),
        ("Согласование площадок с администрацией района", "planned", "2027-05-15", "2027-06-01", 2),
        ("Договор с оператором о вывозе вторсырья", "planned", "2027-06-01", "2027-06-20", 3),
        ("Субботник и открытие площадок", "planned", "2027-07-01", "2027-07-12", None),
    ],
}
SQUARE_GROUP = {
    "name": "Сквер у библиотеки",
    "theme": "landscaping",
    "members": ["Денис Л.", "Ольга Т.", "Ксения М."],
    "header": {
        "title": "Общественный сквер рядом с библиотекой",
        "problem": "Пустырь у областной библиотеки зарос, вечером там темно и небезопасно.",
        "goal": "Вместе с жителями спроектировать и благоустроить сквер для чтения и отдыха.",
        "territory": "Участок между библиотекой и ул. Ленина",
    },
    "stakeholders": [
        ("Областная научная библиотека", "administration", "заместитель директора", 5, 4, "collaborate"),
        ("Жители соседних домов", "residents", "", 4, 2, "consult"),
        ("Клуб любителей садоводства «Флора»", "ngo", "председатель клуба", 4, 2, "involve"),
    ],
    "steps": [
        ("Соучаствующее проектирование: прогулка по участку", "planned", "2027-05-03", "2027-05-03", 1),
        ("Эскиз сквера с жителями", "planned", "2027-05-10", "2027-05-24", 0),
    ],
}
EMPTY_GROUP = {
    "name": "Зелёный квартал",
    "theme": "other",
    "members": [],
    "header": {},
    "stakeholders": [],
    "steps": [],
}


def ensure_demo(instance_path: str) -> str:
    """Seed the demo once; return the text that tells a person how to get in."""
    credentials_file = Path(instance_path) / "demo-moderator.txt"
    training = db.session.scalar(select(Training).where(Training.title == DEMO_TITLE))
    if training is None:
        password = secrets.token_urlsafe(9)
        moderator = db.session.scalar(select(Person).where(Person.email == DEMO_EMAIL))
        if moderator is None:
            moderator = accounts.create_moderator(DEMO_EMAIL, password, "Ирина Соколова")
            instance_files.write_private_file(credentials_file, f"{DEMO_EMAIL}\n{password}\n", replace=True)
        training = trainings.create_training(
            moderator,
            DEMO_TITLE,
            "Вологда",
            "Областная научная библиотека, зал 2",
            date(2027, 4, 22),
            date(2027, 4, 24),
        )
        for plan in (WASTE_GROUP, SQUARE_GROUP, EMPTY_GROUP):
            _seed_group(training, plan)
    login = credentials_file.read_text().split() if credentials_file.exists() else [DEMO_EMAIL, "(set earlier)"]
    return (
        f"Demo training: {training.title}, join code {training.join_code}\nModerator sign-in: {login[0]} / {login[1]}"
    )


def _seed_group(training: Training, plan: dict) -> None:
    group = trainings.create_group(training, plan["name"], plan["theme"])
    roadmap_id = group.roadmap.id
    people = [trainings.join_group(training, group.id, name, None) for name in plan["members"]]
    author = people[0] if people else training.moderator

    def apply(op: dict) -> None:
        editing.apply({"op_id": uuid.uuid4().hex, "roadmap_id": roadmap_id, **op}, actor=author)

    for field_name, value in plan["header"].items():
        apply({"type": "map.set", "field": field_name, "value": value})
    stakeholder_ids = []
    for name, sector, contact, interest, influence, engagement in plan["stakeholders"]:
        stakeholder_id = uuid.uuid4().hex
        stakeholder_ids.append(stakeholder_id)
        apply(
            {
                "type": "stakeholder.add",
                "stakeholder_id": stakeholder_id,
                "fields": {
                    "name": name,
                    "sector": sector,
                    "contact": contact,
                    "interest": interest,
                    "influence": influence,
                    "engagement": engagement,
                },
            }
        )
    step_ids = []
    for index, (title, status, starts_on, due_on, stakeholder_index) in enumerate(plan["steps"]):
        step_id = uuid.uuid4().hex
        step_ids.append(step_id)
        owner = {"member": people[index % len(people)].id} if people else None
        apply(
            {
                "type": "step.add",
                "step_id": step_id,
                "fields": {
                    "title": title,
                    "status": status,
                    "starts_on": starts_on,
                    "due_on": due_on,
                    "owner": owner,
                },
            }
        )
        if stakeholder_index is not None:
            apply({"type": "step.link", "step_id": step_id, "stakeholder_id": stakeholder_ids[stakeholder_index]})
    # The plan is a chain: each step starts after the one before it, as the timeline shows.
    for earlier, later in zip(step_ids, step_ids[1:]):
        apply({"type": "step.depend", "step_id": later, "predecessor_id": earlier})
    if len(people) > 1 and len(step_ids) > 1:
        apply(
            {
                "type": "comment.add",
                "comment_id": uuid.uuid4().hex,
                "step_id": step_ids[1],
                "body": f"@{people[1].display_name}, позвонишь в управляющую компанию до встречи?",
                "mentions": [people[1].id],
            }
        )
