"""What the import understands in a spreadsheet people made: column names, status words,
dates and percentages, in Russian and in English."""

from datetime import date, datetime

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from roadmap.domain.vocabulary import STEP_STATUSES
from roadmap.services import exports, spreadsheets


@pytest.mark.parametrize(
    "header, field",
    [
        ("Шаг", "title"),
        ("Название шага", "title"),
        ("  что  СДЕЛАТЬ? ", "title"),
        ("Мероприятие", "title"),
        ("Step", "title"),
        ("title", "title"),
        ("Ответственный", "owner"),
        ("Кто", "owner"),
        ("owner", "owner"),
        ("Срок", "due_on"),
        ("Дата окончания", "due_on"),
        ("До", "due_on"),
        ("Due date", "due_on"),
        ("due_on", "due_on"),
        ("Начало", "starts_on"),
        ("Дата начала:", "starts_on"),
        ("starts_on", "starts_on"),
        ("Статус", "status"),
        ("Состояние", "status"),
        ("Описание", "description"),
        ("Ресурсы", "resources"),
        ("Результат", "success_measure"),
        ("Критерий успеха", "success_measure"),
        ("Выполнено, %", "progress"),
        ("Партнёры", "stakeholders"),
        ("Партнеры", "stakeholders"),
        ("№", spreadsheets.NUMBER_COLUMN),
        ("#", spreadsheets.NUMBER_COLUMN),
        ("N", spreadsheets.NUMBER_COLUMN),
        ("№ п/п", spreadsheets.NUMBER_COLUMN),
        ("Комментарий", None),
        ("", None),
        ("%", None),
    ],
)
def test_a_column_header_names_its_field_whatever_the_case_spacing_and_punctuation(header, field):
    assert spreadsheets.column_field(header) == field


def test_no_column_name_means_two_fields_and_no_status_word_two_statuses():
    for table in (spreadsheets.COLUMN_NAMES, spreadsheets.STATUS_WORDS):
        owners = {}
        for value, names in table.items():
            for name in (value, *names):
                owners.setdefault(spreadsheets.name_key(name), set()).add(value)
        assert {key: values for key, values in owners.items() if len(values) > 1} == {}


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_exports_own_headers_and_status_words_are_understood_in_each_language(app, language):
    with app.test_request_context(), force_locale(language):
        headers = {field: _(label) for field, label in exports.STEP_LABELS.items()}
        words = {status: _(label) for status, label in STEP_STATUSES.items()}
        number_header = _("No.")

    assert {field: spreadsheets.column_field(header) for field, header in headers.items()} == {
        field: field for field in headers
    }
    assert {status: spreadsheets.status_of(word) for status, word in words.items()} == {
        status: status for status in words
    }
    assert spreadsheets.column_field(number_header) == spreadsheets.NUMBER_COLUMN


@pytest.mark.parametrize(
    "word, status",
    [
        ("запланирован", "planned"),
        ("Не начато", "planned"),
        ("В РАБОТЕ", "in_progress"),
        ("в процессе", "in_progress"),
        ("выполнен", "done"),
        ("Готово", "done"),
        ("завершён", "done"),
        ("завершен", "done"),
        ("заблокирован", "blocked"),
        ("Есть препятствия", "blocked"),
        ("planned", "planned"),
        ("in progress", "in_progress"),
        ("in_progress", "in_progress"),
        ("Done", "done"),
        ("blocked", "blocked"),
        ("почти", None),
        ("", None),
    ],
)
def test_a_status_word_names_its_status_whatever_the_case(word, status):
    assert spreadsheets.status_of(word) == status


@pytest.mark.parametrize(
    "cell, day",
    [
        ("15.05.2027", "2027-05-15"),
        ("5.5.2027", "2027-05-05"),
        ("15.05.27", "2027-05-15"),
        ("15/05/2027", "2027-05-15"),
        ("2027-05-15", "2027-05-15"),
        ("2027-05-15 00:00:00", "2027-05-15"),
        (" 15.05.2027 ", "2027-05-15"),
        (datetime(2027, 5, 15, 0, 0), "2027-05-15"),
        (date(2027, 5, 15), "2027-05-15"),
        (46522, "2027-05-15"),
        (46522.0, "2027-05-15"),
        ("46522", "2027-05-15"),  # Excel's serial number of the day
        ("", None),
        (None, None),
        ("31.02.2027", "31.02.2027"),
        ("1 мая", "1 мая"),
        ("2027-13-01", "2027-13-01"),
        (46522.5, "46522.5"),
    ],
)
def test_a_date_cell_becomes_an_iso_day_or_stays_as_written_for_the_check_to_name(cell, day):
    assert spreadsheets.day_of(cell) == day


@pytest.mark.parametrize(
    "cell, percent",
    [
        ("50", 50),
        ("50%", 50),
        ("50 %", 50),
        (50, 50),
        (50.0, 50),
        ("", None),
        (None, None),
        ("половина", "половина"),
        (12.5, 12.5),
    ],
)
def test_a_percent_cell_becomes_a_whole_number_or_stays_as_written(cell, percent):
    assert spreadsheets.percent_of(cell) == percent
