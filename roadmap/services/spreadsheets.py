"""Steps as people keep them in spreadsheets: which column names mean which step field,
which words mean which status, and the dates and percentages people write.

COLUMN_NAMES and STATUS_WORDS are the one place for these names; the import
reads by them and the import page lists them. Names match whatever the case,
spacing and punctuation («Название шага», «название  шага:», "Due date", "due_on"),
and «ё» reads as «е».
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

NUMBER_COLUMN = "number"  # a running number (№): recognised so that it is skipped quietly

# Russian names first, then English; each field's own machine name is accepted as well.
COLUMN_NAMES = {
    "title": (
        "Шаг",
        "Название шага",
        "Что сделать",
        "Мероприятие",
        "Этап",
        "Задача",
        "Действие",
        "Название",
        "Step",
        "Title",
        "Task",
        "Action",
        "Activity",
        "Name",
    ),
    "description": ("Описание", "Подробности", "Содержание", "Description", "Details", "Notes"),
    "owner": (
        "Ответственный",
        "Ответственные",
        "Ответственное лицо",
        "Кто",
        "Исполнитель",
        "Исполнители",
        "Owner",
        "Responsible",
        "Who",
        "Assignee",
    ),
    "starts_on": ("Начало", "Дата начала", "С", "Start", "Start date", "Starts", "From"),
    "due_on": (
        "Срок",
        "Сроки",
        "Срок выполнения",
        "Крайний срок",
        "Дата окончания",
        "Окончание",
        "До",
        "Дата",
        "Когда",
        "Дедлайн",
        "Due",
        "Due date",
        "Deadline",
        "End",
        "End date",
        "Until",
        "By",
        "When",
    ),
    "status": ("Статус", "Состояние", "Status", "State"),
    "progress": (
        "Выполнено, %",
        "Выполнено",
        "Прогресс",
        "Процент выполнения",
        "Готовность",
        "Progress, %",
        "Progress",
        "Percent done",
        "Done, %",
    ),
    "resources": (
        "Нужные ресурсы",
        "Ресурсы",
        "Необходимые ресурсы",
        "Что нужно",
        "Resources needed",
        "Resources",
        "Needs",
    ),
    "success_measure": (
        "Как измерить успех",
        "Результат",
        "Критерий успеха",
        "Критерии успеха",
        "Ожидаемый результат",
        "Показатель успеха",
        "How success is measured",
        "Success measure",
        "Success criteria",
        "Result",
        "Outcome",
    ),
    "stakeholders": (
        "Кто участвует",
        "Заинтересованные стороны",
        "Участники",
        "Партнёры",
        "Кого привлекаем",
        "Stakeholders involved",
        "Stakeholders",
        "Partners",
        "Who is involved",
    ),
    # The numbers (as the No. column counts the steps) of the steps a step waits for: "1; 3".
    "depends_on": (
        "Начинается после шага",
        "Начинается после",
        "После шага",
        "Ждёт шагов",
        "Зависит от",
        "Starts after step",
        "Starts after",
        "After step",
        "Depends on",
        "Waits for",
    ),
    NUMBER_COLUMN: ("№", "#", "N", "No.", "Nr", "Номер", "№ п/п", "п/п"),
}
STATUS_WORDS = {
    "planned": (
        "Запланирован",
        "Запланировано",
        "Планируется",
        "Не начат",
        "Не начато",
        "План",
        "Planned",
        "To do",
        "Not started",
    ),
    "in_progress": (
        "В работе",
        "В процессе",
        "Выполняется",
        "Идёт",
        "Начат",
        "Начато",
        "In progress",
        "Doing",
        "Started",
        "Ongoing",
    ),
    "done": (
        "Выполнен",
        "Выполнено",
        "Готово",
        "Сделано",
        "Завершён",
        "Завершено",
        "Done",
        "Complete",
        "Completed",
        "Finished",
    ),
    "blocked": (
        "Есть препятствия",
        "Заблокирован",
        "Заблокировано",
        "Препятствие",
        "Приостановлен",
        "Остановлен",
        "Blocked",
        "On hold",
        "Stuck",
    ),
}
# Excel counts days from 30 December 1899 (its serial 60 is a 29 February 1900 that never was).
_EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_SERIALS = range(61, 2_958_466)  # 1 March 1900 to 31 December 9999
_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?")
_DOTTED_DAY = re.compile(r"(\d{1,2})[./](\d{1,2})[./](\d{4}|\d{2})")
_SERIAL_DAY = re.compile(r"\d{5}")


def name_key(text: str) -> str:
    """A name as compared: lower case, «ё» as «е», words of letters and digits, № and # kept."""
    return " ".join(re.findall(r"[^\W_]+|[№#]", text.casefold().replace("ё", "е")))


def _by_key(names_by_value: dict) -> dict[str, str]:
    found = {}
    for value, names in names_by_value.items():
        for name in (value, *names):
            found.setdefault(name_key(name), value)
    return found


_FIELD_BY_KEY = _by_key(COLUMN_NAMES)
_STATUS_BY_KEY = _by_key(STATUS_WORDS)


def column_field(header: str) -> str | None:
    """The step field a column header names (NUMBER_COLUMN for a running number), or None."""
    return _FIELD_BY_KEY.get(name_key(header))


def status_of(word: str) -> str | None:
    """The status a word names («Готово», "in progress"), or None."""
    return _STATUS_BY_KEY.get(name_key(word))


def day_of(value) -> str | None:
    """A day in ISO form from a cell: a date, an Excel serial number, or text such as
    15.05.2027, 15.05.27, 15/05/2027 or 2027-05-15. None for an empty cell; anything
    else comes back as the text it was, for the validation to name."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _excel_day(value) or str(value)
    text = str(value or "").strip()
    if not text:
        return None
    return _written_day(text) or (_excel_day(int(text)) if _SERIAL_DAY.fullmatch(text) else None) or text


def _written_day(text: str) -> str | None:
    if match := _ISO_DAY.fullmatch(text):
        year, month, day = match.groups()
    elif match := _DOTTED_DAY.fullmatch(text):
        day, month, year = match.groups()
        year = f"20{year}" if len(year) == 2 else year  # a plan's dates are in this century
    else:
        return None
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def _excel_day(serial: float) -> str | None:
    if serial != int(serial) or int(serial) not in _EXCEL_SERIALS:
        return None
    return (_EXCEL_EPOCH + timedelta(days=int(serial))).isoformat()


def percent_of(value):
    """A whole percentage from a cell (50, "50", "50 %", 0.5 formatted as percent comes as "50%"),
    None for an empty cell, or the value as it was, for the validation to name."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (int, float)):
        return value
    digits = str(value or "").strip().removesuffix("%").strip()
    if not digits:
        return None
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 3 else str(value)
