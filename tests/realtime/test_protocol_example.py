"""The example client in examples/ runs against the real server and leaves its edits in the map."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "protocol_client.py"


def _example_module():
    """The example's constants, so this test checks exactly what the example says it sets."""
    spec = importlib.util.spec_from_file_location("protocol_client", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_example(server_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), "--url", server_url, *args],
        cwd=EXAMPLE.parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def _snapshot(server_url: str, token: str, roadmap_id: int) -> dict:
    response = requests.get(
        f"{server_url}/api/maps/{roadmap_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["snapshot"]


def _steps_titled(snapshot: dict, title: str) -> list[dict]:
    return [step for step in snapshot["steps"] if step["title"] == title]


@pytest.mark.live
@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_example_client_adds_a_step_with_its_due_date_and_status(world, live_server):
    example = _example_module()
    group = world.group()
    training = group.training

    finished = _run_example(live_server.url, "--code", training.join_code, "--name", "Робот")

    assert finished.returncode == 0, finished.stdout + finished.stderr
    snapshot = _snapshot(live_server.url, world.token(training.moderator), group.roadmap.id)
    [step] = _steps_titled(snapshot, example.STEP_TITLE)
    assert step["due_on"] == example.DUE_ON
    assert step["status"] == example.STATUS


@pytest.mark.live
def test_example_client_edits_the_map_of_the_group_it_is_given(world, live_server):
    example = _example_module()
    training = world.training()
    other_group = world.group(training, name="Сквер у библиотеки", theme="landscaping")
    chosen_group = world.group(training, name="Чистый двор")

    finished = _run_example(
        live_server.url, "--code", training.join_code, "--name", "Робот", "--group-id", str(chosen_group.id)
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    token = world.token(training.moderator)
    assert len(_steps_titled(_snapshot(live_server.url, token, chosen_group.roadmap.id), example.STEP_TITLE)) == 1
    assert _steps_titled(_snapshot(live_server.url, token, other_group.roadmap.id), example.STEP_TITLE) == []
