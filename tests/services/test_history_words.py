"""History in words: every change in the log read back as one sentence, in Russian and in English."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import counted_queries, new_id, passwordless_moderator
from flask_babel import force_locale
from sqlalchemy import select, update

from roadmap.domain.operations import FIELDS_BY_TARGET, OP_TYPES
from roadmap.extensions import db
from roadmap.models import Change, Membership, Roadmap
from roadmap.services import editing, history_words, trainings
from roadmap.timeutil import utcnow

# Dates in the year of the change read without a year ("17 мая"); the changes are made now.
YEAR = datetime.now(UTC).year  # the test app's clock is the real one
NBSP = "\u00a0"


@pytest.fixture
def moderator(app):
    return passwordless_moderator()


@pytest.fixture
def story(world, group, training):
    return Story(group.roadmap.id, world.member(group, "Мария"), world.member(group, "Олег"), training.moderator)


class Story:
    """Edits one map through editing.apply, as Мария unless told otherwise, and reads changes back."""

    def __init__(self, roadmap_id, maria, oleg, moderator):
        self.roadmap_id, self.maria, self.oleg, self.moderator = roadmap_id, maria, oleg, moderator

    def edit(self, op_type, actor=None, **keys) -> Change:
        payload = {"op_id": new_id(), "roadmap_id": self.roadmap_id, "type": op_type, **keys}
        revision = editing.apply(payload, actor=actor or self.maria).revision
        return db.session.scalar(
            select(Change).where(Change.roadmap_id == self.roadmap_id, Change.revision == revision)
        )

    def step_with(self, title="Опрос жителей", **fields) -> str:
        step_id = new_id()
        self.edit("step.add", step_id=step_id, fields={"title": title, **fields})
        return step_id

    def stakeholder_with(self, name="Управляющая компания", **fields) -> str:
        stakeholder_id = new_id()
        self.edit("stakeholder.add", stakeholder_id=stakeholder_id, fields={"name": name, **fields})
        return stakeholder_id

    def set_map(self, field, value) -> Change:
        return self.edit("map.set", field=field, value=value)

    def set_step(self, step_id, field, value) -> Change:
        return self.edit("step.set", step_id=step_id, field=field, value=value)

    def set_stakeholder(self, stakeholder_id, field, value) -> Change:
        return self.edit("stakeholder.set", stakeholder_id=stakeholder_id, field=field, value=value)

    def map_set_twice(self, field, first, then) -> Change:
        self.set_map(field, first)
        return self.set_map(field, then)

    def history(self, **filters):
        return history_words.history(db.session.get(Roadmap, self.roadmap_id), **filters)


def sentences(change: Change, names=None) -> dict[str, str]:
    names = names or history_words.names_for(change.roadmap_id)
    told = {}
    for locale in ("ru", "en"):
        with force_locale(locale):
            told[locale] = history_words.describe(change, names)
    return told


def fallback_sentences(author: str) -> dict[str, str]:
    """What describe() says of an op it has no words for."""
    unknown = Change(roadmap_id=0, revision=1, author_id=1, created_at=utcnow(), op={"type": "map.unknown"}, before={})
    return sentences(unknown, history_words.Names(people={1: author}))


# --- exact sentences ------------------------------------------------------------------

EXACT = {
    "due date moved (the issue's example)": (
        lambda s: s.set_step(s.step_with("Встреча с жителями", due_on=f"{YEAR}-05-10"), "due_on", f"{YEAR}-05-17"),
        "Мария: срок шага «Встреча с жителями» перенесён с 10 мая на 17 мая.",
        "Мария moved the due date of step “Встреча с жителями” from 10 May to 17 May.",
    ),
    "status changed": (
        lambda s: s.set_step(s.step_with(), "status", "in_progress"),
        "Мария: статус шага «Опрос жителей» изменён с «Запланирован» на «В работе».",
        "Мария changed the status of step “Опрос жителей” from “Planned” to “In progress”.",
    ),
    "step renamed": (
        lambda s: s.set_step(s.step_with(), "title", "Опрос жителей двора"),
        "Мария: шаг «Опрос жителей» переименован в «Опрос жителей двора».",
        "Мария renamed step “Опрос жителей” to “Опрос жителей двора”.",
    ),
    "owner changed": (
        lambda s: s.set_step(s.step_with(owner={"member": s.maria.id}), "owner", {"member": s.oleg.id}),
        "Мария: за шаг «Опрос жителей» теперь отвечает Олег, а не Мария.",
        "Мария changed the owner of step “Опрос жителей” from Мария to Олег.",
    ),
    "progress set": (
        lambda s: s.set_step(s.step_with(), "progress", 40),
        f"Мария: шаг «Опрос жителей» выполнен на 40{NBSP}%.",
        "Мария marked step “Опрос жителей” as 40% done.",
    ),
    "stakeholder linked": (
        lambda s: s.edit("step.link", step_id=s.step_with(), stakeholder_id=s.stakeholder_with()),
        "Мария: к шагу «Опрос жителей» привлечена заинтересованная сторона «Управляющая компания».",
        "Мария involved stakeholder “Управляющая компания” in step “Опрос жителей”.",
    ),
    "engagement changed": (
        lambda s: s.set_stakeholder(s.stakeholder_with(), "engagement", "collaborate"),
        "Мария: уровень участия заинтересованной стороны «Управляющая компания» изменён "
        "с «Информирование» на «Сотрудничество».",
        "Мария changed how the group engages stakeholder “Управляющая компания” from “Inform” to “Collaborate”.",
    ),
    "map locked": (
        lambda s: s.edit("map.lock", actor=s.moderator, locked=True),
        "Мод Модераторов: дорожная карта заблокирована.",
        "Мод Модераторов locked the road map.",
    ),
    "map restored": (
        lambda s: (s.map_set_twice("title", "Чистый двор", "Двор без мусора"), s.edit("map.restore", revision=1))[1],
        "Мария: дорожная карта возвращена к версии 1.",
        "Мария restored the road map as it was at revision 1.",
    ),
}


@pytest.mark.parametrize("case", EXACT, ids=list(EXACT))
def test_a_change_reads_as_this_exact_sentence(story, case):
    build, russian, english = EXACT[case]
    assert sentences(build(story)) == {"ru": russian, "en": english}


# --- every op type and every field, in both languages ---------------------------------
# Each scenario: (op type, field or None, variant) -> (build, what the Russian and the
# English sentence must contain besides the author: the item's title and the new value
# as the reader sees it).

SCENARIOS = {
    # the project
    ("map.set", "title", "set"): (
        lambda s: s.set_map("title", "Чистый двор на Садовой"),
        ["«Чистый двор на Садовой»", "дано название"],
        ["“Чистый двор на Садовой”", "named the project"],
    ),
    ("map.set", "title", "changed"): (
        lambda s: s.map_set_twice("title", "Чистый двор", "Двор без мусора"),
        ["из «Чистый двор» в «Двор без мусора»"],
        ["from “Чистый двор” to “Двор без мусора”"],
    ),
    ("map.set", "title", "cleared"): (
        lambda s: s.map_set_twice("title", "Чистый двор", ""),
        ["«Чистый двор»", "удалено название"],
        ["“Чистый двор”", "deleted the title"],
    ),
    ("map.set", "problem", "set"): (
        lambda s: s.set_map("problem", "Мусор не сортируют"),
        ["описана проблема", "«Мусор не сортируют»"],
        ["described the problem", "“Мусор не сортируют”"],
    ),
    ("map.set", "problem", "changed"): (
        lambda s: s.map_set_twice("problem", "Мусор", "Мусор не сортируют"),
        ["описание проблемы изменено", "«Мусор не сортируют»"],
        ["edited the description of the problem", "“Мусор не сортируют”"],
    ),
    ("map.set", "problem", "cleared"): (
        lambda s: s.map_set_twice("problem", "Мусор", ""),
        ["описание проблемы удалено"],
        ["deleted the description of the problem"],
    ),
    ("map.set", "goal", "set"): (
        lambda s: s.set_map("goal", "Три контейнера во дворе"),
        ["цель проекта", "«Три контейнера во дворе»"],
        ["project goal", "“Три контейнера во дворе”"],
    ),
    ("map.set", "goal", "changed"): (
        lambda s: s.map_set_twice("goal", "Контейнеры", "Три контейнера во дворе"),
        ["цель проекта изменена", "«Три контейнера во дворе»"],
        ["edited the project goal", "“Три контейнера во дворе”"],
    ),
    ("map.set", "goal", "cleared"): (
        lambda s: s.map_set_twice("goal", "Контейнеры", ""),
        ["цель проекта удалена"],
        ["deleted the project goal"],
    ),
    ("map.set", "territory", "set"): (
        lambda s: s.set_map("territory", "ул. Садовая, 5–11"),
        ["территория", "«ул. Садовая, 5–11»"],
        ["territory", "“ул. Садовая, 5–11”"],
    ),
    ("map.set", "territory", "changed"): (
        lambda s: s.map_set_twice("territory", "ул. Садовая", "ул. Садовая, 5–11"),
        ["территория изменена на «ул. Садовая, 5–11»"],
        ["changed the territory to “ул. Садовая, 5–11”"],
    ),
    ("map.set", "territory", "cleared"): (
        lambda s: s.map_set_twice("territory", "ул. Садовая", ""),
        ["территория больше не указана"],
        ["deleted the territory"],
    ),
    ("map.set", "theme", "changed"): (
        lambda s: s.set_map("theme", "landscaping"),
        ["с «Раздельный сбор отходов» на «Благоустройство»"],
        ["from “Separate waste collection” to “Landscaping”"],
    ),
    ("map.set", "expected_results", "set"): (
        lambda s: s.set_map("expected_results", "Половина жителей сортирует"),
        ["ожидаемые результаты", "«Половина жителей сортирует»"],
        ["expected results", "“Половина жителей сортирует”"],
    ),
    ("map.set", "expected_results", "changed"): (
        lambda s: s.map_set_twice("expected_results", "Сортируют", "Половина жителей сортирует"),
        ["ожидаемые результаты изменены", "«Половина жителей сортирует»"],
        ["edited the expected results", "“Половина жителей сортирует”"],
    ),
    ("map.set", "expected_results", "cleared"): (
        lambda s: s.map_set_twice("expected_results", "Сортируют", ""),
        ["ожидаемые результаты удалены"],
        ["deleted the expected results"],
    ),
    ("map.lock", None, "locked"): (
        lambda s: s.edit("map.lock", actor=s.moderator, locked=True),
        ["Мод Модераторов", "заблокирована"],
        ["Мод Модераторов", "locked the road map"],
    ),
    ("map.lock", None, "unlocked"): (
        lambda s: (
            s.edit("map.lock", actor=s.moderator, locked=True),
            s.edit("map.lock", actor=s.moderator, locked=False),
        )[1],
        ["Мод Модераторов", "разблокирована"],
        ["Мод Модераторов", "unlocked the road map"],
    ),
    ("map.restore", None, "restored"): (
        lambda s: (s.map_set_twice("title", "Чистый двор", "Двор"), s.edit("map.restore", revision=1))[1],
        ["версии 1"],
        ["revision 1"],
    ),
    # steps
    ("step.add", None, "added"): (
        lambda s: s.edit("step.add", step_id=new_id(), fields={"title": "Опрос жителей"}),
        ["добавлен шаг «Опрос жителей»"],
        ["added step “Опрос жителей”"],
    ),
    ("step.set", "title", "set"): (
        lambda s: s.set_step(s.step_with(""), "title", "Опрос жителей"),
        ["шагу без названия дано название «Опрос жителей»"],
        ["gave an untitled step the title “Опрос жителей”"],
    ),
    ("step.set", "title", "changed"): (
        lambda s: s.set_step(s.step_with(), "title", "Анкета для жителей"),
        ["«Опрос жителей»", "«Анкета для жителей»"],
        ["“Опрос жителей”", "“Анкета для жителей”"],
    ),
    ("step.set", "title", "cleared"): (
        lambda s: s.set_step(s.step_with(), "title", ""),
        ["у шага «Опрос жителей» удалено название"],
        ["deleted the title of step “Опрос жителей”"],
    ),
    ("step.set", "description", "set"): (
        lambda s: s.set_step(s.step_with(), "description", "Обойти подъезды"),
        ["«Опрос жителей»", "«Обойти подъезды»"],
        ["“Опрос жителей”", "“Обойти подъезды”"],
    ),
    ("step.set", "description", "changed"): (
        lambda s: s.set_step(s.step_with(description="Обойти"), "description", "Обойти подъезды"),
        ["описание шага «Опрос жителей» изменено", "«Обойти подъезды»"],
        ["edited the description of step “Опрос жителей”", "“Обойти подъезды”"],
    ),
    ("step.set", "description", "cleared"): (
        lambda s: s.set_step(s.step_with(description="Обойти"), "description", ""),
        ["описание шага «Опрос жителей» удалено"],
        ["deleted the description of step “Опрос жителей”"],
    ),
    ("step.set", "owner", "member"): (
        lambda s: s.set_step(s.step_with(), "owner", {"member": s.oleg.id}),
        ["«Опрос жителей»", "отвечает Олег"],
        ["made Олег the owner of step “Опрос жителей”"],
    ),
    ("step.set", "owner", "stakeholder"): (
        lambda s: s.set_step(s.step_with(), "owner", {"stakeholder": s.stakeholder_with("Совет дома")}),
        ["«Опрос жителей»", "отвечает Совет дома"],
        ["made Совет дома the owner of step “Опрос жителей”"],
    ),
    ("step.set", "owner", "text"): (
        lambda s: s.set_step(s.step_with(), "owner", {"text": "Старшая по подъезду"}),
        ["«Опрос жителей»", "отвечает Старшая по подъезду"],
        ["made Старшая по подъезду the owner"],
    ),
    ("step.set", "owner", "changed"): (
        lambda s: s.set_step(s.step_with(owner={"text": "Старшая по подъезду"}), "owner", {"member": s.oleg.id}),
        ["отвечает Олег, а не Старшая по подъезду"],
        ["from Старшая по подъезду to Олег"],
    ),
    ("step.set", "owner", "cleared"): (
        lambda s: s.set_step(s.step_with(owner={"member": s.oleg.id}), "owner", None),
        ["у шага «Опрос жителей» больше нет ответственного"],
        ["removed the owner of step “Опрос жителей”"],
    ),
    ("step.set", "starts_on", "set"): (
        lambda s: s.set_step(s.step_with(), "starts_on", f"{YEAR}-05-03"),
        ["начало шага «Опрос жителей» назначено на 3 мая"],
        ["set the start date of step “Опрос жителей” to 3 May"],
    ),
    ("step.set", "starts_on", "changed"): (
        lambda s: s.set_step(s.step_with(starts_on=f"{YEAR}-05-03"), "starts_on", f"{YEAR}-06-01"),
        ["перенесено с 3 мая на 1 июня"],
        ["from 3 May to 1 June"],
    ),
    ("step.set", "starts_on", "cleared"): (
        lambda s: s.set_step(s.step_with(starts_on=f"{YEAR}-05-03"), "starts_on", None),
        ["у шага «Опрос жителей» больше нет даты начала"],
        ["removed the start date of step “Опрос жителей”"],
    ),
    ("step.set", "due_on", "set"): (
        lambda s: s.set_step(s.step_with(), "due_on", f"{YEAR}-05-17"),
        ["срок шага «Опрос жителей» назначен на 17 мая"],
        ["set the due date of step “Опрос жителей” to 17 May"],
    ),
    ("step.set", "due_on", "changed"): (
        lambda s: s.set_step(s.step_with(due_on=f"{YEAR}-05-10"), "due_on", f"{YEAR + 1}-01-20"),
        [f"с 10 мая на 20 января {YEAR + 1}"],
        [f"from 10 May to 20 January {YEAR + 1}"],
    ),
    ("step.set", "due_on", "cleared"): (
        lambda s: s.set_step(s.step_with(due_on=f"{YEAR}-05-10"), "due_on", None),
        ["у шага «Опрос жителей» больше нет срока"],
        ["removed the due date of step “Опрос жителей”"],
    ),
    ("step.set", "status", "changed"): (
        lambda s: s.set_step(s.step_with(status="in_progress"), "status", "blocked"),
        ["«Опрос жителей»", "с «В работе» на «Есть препятствия»"],
        ["“Опрос жителей”", "from “In progress” to “Blocked”"],
    ),
    ("step.set", "progress", "set"): (
        lambda s: s.set_step(s.step_with(), "progress", 0),
        [f"шаг «Опрос жителей» выполнен на 0{NBSP}%"],
        ["marked step “Опрос жителей” as 0% done"],
    ),
    ("step.set", "progress", "changed"): (
        lambda s: s.set_step(s.step_with(progress=40), "progress", 60),
        [f"выполнен на 60{NBSP}% (было 40{NBSP}%)"],
        ["from 40% to 60%"],
    ),
    ("step.set", "progress", "cleared"): (
        lambda s: s.set_step(s.step_with(progress=40), "progress", None),
        ["у шага «Опрос жителей» больше не указан процент выполнения"],
        ["removed the progress of step “Опрос жителей”"],
    ),
    ("step.set", "resources", "set"): (
        lambda s: s.set_step(s.step_with(), "resources", "Анкеты, 200 штук"),
        ["«Опрос жителей»", "«Анкеты, 200 штук»"],
        ["“Опрос жителей”", "“Анкеты, 200 штук”"],
    ),
    ("step.set", "resources", "changed"): (
        lambda s: s.set_step(s.step_with(resources="Анкеты"), "resources", "Анкеты, 200 штук"),
        ["ресурсы для шага «Опрос жителей» изменены", "«Анкеты, 200 штук»"],
        ["edited the resources for step", "“Анкеты, 200 штук”"],
    ),
    ("step.set", "resources", "cleared"): (
        lambda s: s.set_step(s.step_with(resources="Анкеты"), "resources", ""),
        ["для шага «Опрос жителей» больше не указаны нужные ресурсы"],
        ["deleted the resources for step “Опрос жителей”"],
    ),
    ("step.set", "success_measure", "set"): (
        lambda s: s.set_step(s.step_with(), "success_measure", "100 анкет"),
        ["«Опрос жителей»", "как измерить успех", "«100 анкет»"],
        ["“Опрос жителей”", "is measured", "“100 анкет”"],
    ),
    ("step.set", "success_measure", "changed"): (
        lambda s: s.set_step(s.step_with(success_measure="50 анкет"), "success_measure", "100 анкет"),
        ["изменено, как измерить успех шага «Опрос жителей»", "«100 анкет»"],
        ["edited how the success", "“100 анкет”"],
    ),
    ("step.set", "success_measure", "cleared"): (
        lambda s: s.set_step(s.step_with(success_measure="50 анкет"), "success_measure", ""),
        ["больше не указано, как измерить успех"],
        ["deleted how the success of step “Опрос жителей” is measured"],
    ),
    ("step.move", None, "up"): (
        lambda s: (s.step_with("Первый"), s.edit("step.move", step_id=s.step_with("Последний"), after_id=None))[1],
        ["шаг «Последний» перемещён выше"],
        ["moved step “Последний” up"],
    ),
    ("step.move", None, "down"): (
        lambda s: s.edit("step.move", step_id=s.step_with("Первый"), after_id=s.step_with("Последний")),
        ["шаг «Первый» перемещён ниже"],
        ["moved step “Первый” down"],
    ),
    ("step.delete", None, "deleted"): (
        lambda s: s.edit("step.delete", step_id=s.step_with()),
        ["шаг «Опрос жителей» удалён"],
        ["deleted step “Опрос жителей”"],
    ),
    ("step.restore", None, "restored"): (
        lambda s: (
            step_id := s.step_with(),
            s.edit("step.delete", step_id=step_id),
            s.edit("step.restore", step_id=step_id),
        )[2],
        ["шаг «Опрос жителей» восстановлен"],
        ["restored step “Опрос жителей”"],
    ),
    ("step.link", None, "linked"): (
        lambda s: s.edit("step.link", step_id=s.step_with(), stakeholder_id=s.stakeholder_with()),
        ["«Опрос жителей»", "«Управляющая компания»"],
        ["involved stakeholder “Управляющая компания” in step “Опрос жителей”"],
    ),
    ("step.unlink", None, "unlinked"): (
        lambda s: s.edit("step.unlink", step_id=s.step_with(), stakeholder_id=s.stakeholder_with()),
        ["«Управляющая компания» больше не участвует в шаге «Опрос жителей»"],
        ["removed stakeholder “Управляющая компания” from step “Опрос жителей”"],
    ),
    ("step.depend", None, "waits"): (
        lambda s: s.edit(
            "step.depend",
            step_id=s.step_with("Поставить контейнеры"),
            predecessor_id=s.step_with("Согласовать площадку"),
        ),
        ["шаг «Поставить контейнеры» теперь ждёт шага «Согласовать площадку»"],
        ["made step “Поставить контейнеры” wait for step “Согласовать площадку”"],
    ),
    ("step.undepend", None, "no longer waits"): (
        lambda s: s.edit(
            "step.undepend",
            step_id=s.step_with("Поставить контейнеры"),
            predecessor_id=s.step_with("Согласовать площадку"),
        ),
        ["шаг «Поставить контейнеры» больше не ждёт шага «Согласовать площадку»"],
        ["let step “Поставить контейнеры” no longer wait for step “Согласовать площадку”"],
    ),
    ("comment.add", None, "commented"): (
        lambda s: s.edit("comment.add", comment_id=new_id(), step_id=s.step_with(), body="Кто звонит в управу?"),
        ["новый комментарий к шагу «Опрос жителей»"],
        ["commented on step “Опрос жителей”"],
    ),
    ("comment.hide", None, "hidden"): (
        lambda s: (
            comment_id := new_id(),
            s.edit("comment.add", comment_id=comment_id, step_id=s.step_with(), body="Грубость"),
            s.edit("comment.hide", actor=s.moderator, comment_id=comment_id, hidden=True),
        )[2],
        ["скрыт комментарий к шагу «Опрос жителей»"],
        ["hid a comment on step “Опрос жителей”"],
    ),
    # stakeholders
    ("stakeholder.add", None, "added"): (
        lambda s: s.edit("stakeholder.add", stakeholder_id=new_id(), fields={"name": "Управляющая компания"}),
        ["добавлена заинтересованная сторона «Управляющая компания»"],
        ["added stakeholder “Управляющая компания”"],
    ),
    ("stakeholder.set", "name", "set"): (
        lambda s: s.set_stakeholder(s.stakeholder_with(""), "name", "Совет дома"),
        ["заинтересованной стороне без названия дано название «Совет дома»"],
        ["gave an unnamed stakeholder the name “Совет дома”"],
    ),
    ("stakeholder.set", "name", "changed"): (
        lambda s: s.set_stakeholder(s.stakeholder_with(), "name", "УК «Садовая»"),
        ["«Управляющая компания» переименована в «УК «Садовая»»"],
        ["renamed stakeholder “Управляющая компания” to “УК «Садовая»”"],
    ),
    ("stakeholder.set", "name", "cleared"): (
        lambda s: s.set_stakeholder(s.stakeholder_with(), "name", ""),
        ["у заинтересованной стороны «Управляющая компания» удалено название"],
        ["deleted the name of stakeholder “Управляющая компания”"],
    ),
    ("stakeholder.set", "sector", "changed"): (
        lambda s: s.set_stakeholder(s.stakeholder_with(sector="residents"), "sector", "business"),
        ["«Управляющая компания»", "с «Жители» на «Бизнес»"],
        ["“Управляющая компания”", "from “Residents” to “Business”"],
    ),
    ("stakeholder.set", "sector", "set"): (
        lambda s: s.set_stakeholder(s.stakeholder_with(), "sector", "business"),
        ["для заинтересованной стороны «Управляющая компания» указан сектор «Бизнес»"],
        ["set the sector of stakeholder “Управляющая компания”: “Business”"],
    ),
    ("stakeholder.set", "sector", "cleared"): (
        lambda s: s.set_stakeholder(s.stakeholder_with(sector="business"), "sector", None),
        ["сектор заинтересованной стороны «Управляющая компания» больше не указан"],
        ["marked the sector of stakeholder “Управляющая компания” as not chosen"],
    ),
    ("stakeholder.set", "contact", "set"): (
        lambda s: s.set_stakeholder(s.stakeholder_with(), "contact", "Ирина, диспетчер"),
        ["«Управляющая компания»", "указано контактное лицо: «Ирина, диспетчер»"],
        ["added a contact person", "“Ирина, диспетчер”"],
    ),
    ("stakeholder.set", "contact", "changed"): (
        lambda s: s.set_stakeholder(s.stakeholder_with(contact="Ирина"), "contact", "Ирина, диспетчер"),
        ["«Управляющая компания»", "изменено на «Ирина, диспетчер»"],
        ["“Управляющая компания” to “Ирина, диспетчер”"],
    ),
    ("stakeholder.set", "contact", "cleared"): (
        lambda s: s.set_stakeholder(s.stakeholder_with(contact="Ирина"), "contact", ""),
        ["у заинтересованной стороны «Управляющая компания» больше не указано контактное лицо"],
        ["deleted the contact person of stakeholder “Управляющая компания”"],
    ),
    ("stakeholder.set", "interest", "changed"): (
        lambda s: s.set_stakeholder(s.stakeholder_with(interest=3), "interest", 5),
        ["интерес заинтересованной стороны «Управляющая компания» изменён с 3 на 5"],
        ["interest of stakeholder “Управляющая компания” from 3 to 5"],
    ),
    ("stakeholder.set", "interest", "set"): (
        lambda s: s.set_stakeholder(s.stakeholder_with(), "interest", 5),
        ["интерес заинтересованной стороны «Управляющая компания» оценён на 5 из 5"],
        ["rated the interest of stakeholder “Управляющая компания” 5 out of 5"],
    ),
    ("stakeholder.set", "influence", "cleared"): (
        lambda s: s.set_stakeholder(s.stakeholder_with(influence=4), "influence", None),
        ["влияние заинтересованной стороны «Управляющая компания» больше не оценено"],
        ["marked the influence of stakeholder “Управляющая компания” as not rated"],
    ),
    ("stakeholder.set", "influence", "changed"): (
        lambda s: s.set_stakeholder(s.stakeholder_with(influence=3), "influence", 1),
        ["влияние заинтересованной стороны «Управляющая компания» изменено с 3 на 1"],
        ["influence of stakeholder “Управляющая компания” from 3 to 1"],
    ),
    ("stakeholder.set", "engagement", "changed"): (
        lambda s: s.set_stakeholder(s.stakeholder_with(), "engagement", "involve"),
        ["«Управляющая компания»", "с «Информирование» на «Вовлечение»"],
        ["“Управляющая компания”", "from “Inform” to “Involve”"],
    ),
    ("stakeholder.delete", None, "deleted"): (
        lambda s: s.edit("stakeholder.delete", stakeholder_id=s.stakeholder_with()),
        ["заинтересованная сторона «Управляющая компания» удалена"],
        ["deleted stakeholder “Управляющая компания”"],
    ),
    ("stakeholder.restore", None, "restored"): (
        lambda s: (
            stakeholder_id := s.stakeholder_with(),
            s.edit("stakeholder.delete", stakeholder_id=stakeholder_id),
            s.edit("stakeholder.restore", stakeholder_id=stakeholder_id),
        )[2],
        ["заинтересованная сторона «Управляющая компания» восстановлена"],
        ["restored stakeholder “Управляющая компания”"],
    ),
}


@pytest.mark.parametrize("case", SCENARIOS, ids=["-".join(filter(None, case)) for case in SCENARIOS])
def test_a_change_reads_with_its_author_item_and_new_value_in_both_languages(story, case):
    build, russian_parts, english_parts = SCENARIOS[case]
    change = build(story)
    assert change.op["type"] == case[0]
    told = sentences(change)
    author = story.moderator.display_name if case[0] in ("map.lock", "comment.hide") else "Мария"
    assert told["ru"].startswith(f"{author}: ") and told["en"].startswith(f"{author} ")
    for part in russian_parts:
        assert part in told["ru"]
    for part in english_parts:
        assert part in told["en"]
    assert told != fallback_sentences(author)


def test_the_scenarios_cover_every_field_of_every_target():
    covered = {(op_type, field_name) for op_type, field_name, _variant in SCENARIOS}
    every_field = {(f"{target}.set", name) for target, schema in FIELDS_BY_TARGET.items() for name in schema}
    assert every_field - covered == set()


def test_every_op_type_reads_as_a_sentence_of_its_own(story):
    """One change of every op type, end to end; none may fall back to the generic sentence."""
    step_id, stakeholder_id = story.step_with(), story.stakeholder_with()
    story.set_map("title", "Чистый двор")
    story.set_step(step_id, "status", "done")
    story.set_stakeholder(stakeholder_id, "interest", 4)
    story.edit("step.move", step_id=step_id, after_id=None)
    story.edit("step.link", step_id=step_id, stakeholder_id=stakeholder_id)
    story.edit("step.unlink", step_id=step_id, stakeholder_id=stakeholder_id)
    next_step_id = story.step_with("Поставить контейнеры")
    story.edit("step.depend", step_id=next_step_id, predecessor_id=step_id)
    story.edit("step.undepend", step_id=next_step_id, predecessor_id=step_id)
    comment_id = new_id()
    story.edit("comment.add", comment_id=comment_id, step_id=step_id, body="Кто звонит в управу?")
    story.edit("comment.edit", comment_id=comment_id, body="Кто звонит в управу до среды?")
    story.edit("comment.hide", actor=story.moderator, comment_id=comment_id, hidden=True)
    story.edit("comment.delete", comment_id=comment_id)
    story.edit("step.delete", step_id=step_id)
    story.edit("step.restore", step_id=step_id)
    story.edit("stakeholder.delete", stakeholder_id=stakeholder_id)
    story.edit("stakeholder.restore", stakeholder_id=stakeholder_id)
    story.edit("map.restore", revision=1)
    story.edit("map.lock", actor=story.moderator, locked=True)
    changes = db.session.scalars(select(Change).where(Change.roadmap_id == story.roadmap_id)).all()
    names = history_words.names_for(story.roadmap_id)
    by_type = {change.op["type"]: change for change in changes}

    without_words = []
    for op_type in OP_TYPES:
        change = by_type.get(op_type)
        assert change is not None, f"the story makes no {op_type} change"
        author = names.people[change.author_id]
        told = sentences(change, names)
        if told == fallback_sentences(author) or not all(author in sentence for sentence in told.values()):
            without_words.append(op_type)
    assert without_words == []


# --- details of the wording ------------------------------------------------------------


def test_long_texts_are_quoted_shortened_to_one_line(story):
    long_description = "Обойти все подъезды дома номер пять\nи раздать анкеты жителям, " + "а потом собрать их " * 20
    told = sentences(story.set_step(story.step_with(), "description", long_description))
    quoted = told["en"].split("“Опрос жителей”: “", 1)[1].removesuffix("”.")
    assert quoted.endswith("…") and len(quoted) <= history_words.QUOTE_LIMIT
    assert f"«{quoted}»" in told["ru"] and "\n" not in told["ru"]
    assert quoted.startswith("Обойти все подъезды дома номер пять и раздать")


def test_an_owner_that_is_a_deleted_stakeholder_is_still_named(story):
    stakeholder_id = story.stakeholder_with("Совет дома")
    change = story.set_step(story.step_with(), "owner", {"stakeholder": stakeholder_id})
    story.edit("stakeholder.delete", stakeholder_id=stakeholder_id)
    assert "отвечает Совет дома" in sentences(change)["ru"]


def test_an_unknown_or_deleted_author_reads_as_someone(story):
    change = story.set_step(story.step_with(), "status", "done")
    db.session.execute(update(Change).where(Change.id == change.id).values(author_id=None))
    db.session.commit()
    told = sentences(db.session.get(Change, change.id))
    assert told["ru"].startswith("Кто-то: статус шага «Опрос жителей»")
    assert told["en"].startswith("Someone changed the status of step “Опрос жителей”")
    # A person who is gone from the database: their id resolves to no name.
    assert sentences(change, history_words.Names())["en"].startswith("Someone ")


# --- history: order, filters, pages, queries -----------------------------------------------


def test_history_is_newest_first_with_author_time_and_the_item(story):
    step_id = story.step_with()
    stakeholder_id = story.stakeholder_with()
    story.edit("step.set", actor=story.oleg, step_id=step_id, field="status", value="done")
    entries = story.history()
    assert [entry.revision for entry in entries] == [3, 2, 1]
    newest = entries[0]
    assert (newest.author_id, newest.author_name, newest.step_id) == (story.oleg.id, "Олег", step_id)
    assert newest.sentence.startswith("Олег: статус шага «Опрос жителей»")  # Russian unless told otherwise
    assert newest.at is not None and newest.at.tzinfo is None
    assert (entries[1].stakeholder_id, entries[1].step_id) == (stakeholder_id, None)


def test_history_filters_by_author(story):
    step_id = story.step_with()
    story.edit("step.set", actor=story.oleg, step_id=step_id, field="status", value="done")
    story.set_step(step_id, "progress", 50)
    assert [entry.author_name for entry in story.history(person_id=story.oleg.id)] == ["Олег"]
    assert [entry.revision for entry in story.history(person_id=story.maria.id)] == [3, 1]


def test_history_filters_by_step_with_its_links_and_every_map_restore(story):
    step_id, other_step_id = story.step_with("Опрос жителей"), story.step_with("Покраска скамеек")
    stakeholder_id = story.stakeholder_with()
    story.set_step(step_id, "status", "done")
    story.set_step(other_step_id, "status", "done")
    story.edit("step.link", step_id=step_id, stakeholder_id=stakeholder_id)
    story.set_map("title", "Чистый двор")
    story.edit("map.restore", revision=2)
    entries = story.history(step_id=step_id)
    assert [entry.revision for entry in entries] == [8, 6, 4, 1]
    assert all(entry.step_id in (step_id, None) for entry in entries)
    assert "версии 2" in entries[0].sentence


def test_history_pages_back_by_revision(story):
    step_id = story.step_with()
    for percent in (10, 20, 30, 40):
        story.set_step(step_id, "progress", percent)
    first_page = story.history(limit=2)
    second_page = story.history(limit=2, before_revision=first_page[-1].revision)
    last_page = story.history(limit=2, before_revision=second_page[-1].revision)
    pages = (first_page, second_page, last_page)
    assert [[entry.revision for entry in page] for page in pages] == [[5, 4], [3, 2], [1]]


def _edits(story, how_many: int) -> None:
    """A mix of edits that name members, stakeholders and steps, so any lazy load would show."""
    step_id = story.step_with()
    stakeholder_id = story.stakeholder_with()
    edits = [
        lambda n: story.set_step(step_id, "owner", {"member": story.oleg.id if n % 2 else story.maria.id}),
        lambda n: story.set_step(step_id, "owner", {"stakeholder": stakeholder_id}),
        lambda n: story.edit("step.set", actor=story.oleg, step_id=step_id, field="progress", value=n % 101),
        lambda n: story.set_stakeholder(stakeholder_id, "interest", n % 5 + 1),
        lambda n: story.edit("step.link", step_id=step_id, stakeholder_id=stakeholder_id),
    ]
    for n in range(how_many - 2):
        edits[n % len(edits)](n)


def test_history_takes_the_same_number_of_queries_for_10_and_200_changes(story):
    _edits(story, 10)
    db.session.expire_all()
    with counted_queries() as for_ten:
        assert len(story.history()) == 10
    _edits(story, 190)
    db.session.expire_all()
    with counted_queries() as for_two_hundred:
        assert len(story.history()) == 200
    assert len(for_ten) == len(for_two_hundred) <= 4


def test_names_for_holds_members_past_authors_and_deleted_stakeholders_in_two_queries(story):
    stakeholder_id = story.stakeholder_with("Совет дома")
    story.edit("stakeholder.delete", stakeholder_id=stakeholder_id)
    story.edit("map.lock", actor=story.moderator, locked=True)
    membership = db.session.scalar(select(Membership).where(Membership.person_id == story.maria.id))
    trainings.remove_member(membership)
    db.session.expire_all()
    with counted_queries() as queries:
        names = history_words.names_for(story.roadmap_id)
    assert len(queries) == 2
    assert names.people == {story.maria.id: "Мария", story.oleg.id: "Олег", story.moderator.id: "Мод Модераторов"}
    assert names.stakeholders == {stakeholder_id: "Совет дома"}
