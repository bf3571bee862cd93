"""Join codes and passwords cannot be guessed at speed; a whole room joining is not slowed."""

import pytest
from conftest import SECRET_KEY, IsolatedClient

from roadmap import create_app
from roadmap.config import TestConfig


@pytest.fixture
def limited_app(app, database_url, tmp_path):
    limited = create_app(
        TestConfig,
        overrides={
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": SECRET_KEY,
            "INSTANCE_PATH": str(tmp_path / "limited"),
            "JOIN_RATE_LIMIT": "5 per minute",
            "SIGN_IN_RATE_LIMIT": "3 per minute",
        },
    )
    limited.test_client_class = IsolatedClient
    return limited


def test_wrong_join_codes_are_refused_after_the_limit_with_a_clear_message(limited_app, world):
    world.group()
    client = limited_app.test_client()
    answers = [client.post("/", data={"join_code": "ZZZZZZ", "display_name": "Кто-то"}) for _ in range(6)]
    assert [answer.status_code for answer in answers[:5]] == [200] * 5
    assert answers[5].status_code == 429
    assert "Слишком много попыток" in answers[5].get_data(as_text=True)


def test_a_whole_room_joining_from_one_address_fits_the_budget(app, world):
    """Every attempt counts, successes too: 30 people through the start page, the group page and
    the join (three requests each, with several groups) stay within the default budget."""
    group = world.group()
    world.group(group.training, name="Сквер у библиотеки")
    code = group.training.join_code
    statuses = []
    for n in range(30):
        browser = app.test_client()
        statuses.append(browser.post("/", data={"join_code": code, "display_name": f"Участник {n}"}).status_code)
        statuses.append(browser.get(f"/join/{code}").status_code)
        statuses.append(
            browser.post(f"/join/{code}", data={"display_name": f"Участник {n}", "group_id": group.id}).status_code
        )
    assert statuses == [302, 200, 302] * 30


def test_wrong_codes_on_the_json_join_are_limited_with_a_json_error(limited_app, world):
    world.group()
    client = limited_app.test_client()
    answers = [client.post("/api/join", json={"join_code": "ZZZZZZ", "display_name": "Бот"}) for _ in range(6)]
    assert [answer.status_code for answer in answers[:5]] == [404] * 5
    assert answers[5].status_code == 429
    assert answers[5].get_json()["error"]["code"] == "rate_limited"


def test_wrong_passwords_are_refused_after_the_limit(limited_app, world):
    world.moderator(email="irina@example.org")
    client = limited_app.test_client()
    answers = [
        client.post("/sign-in", data={"email": "irina@example.org", "password": "wrong password"}) for _ in range(4)
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
