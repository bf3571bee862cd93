"""The benchmark keeps working: bench.run with tiny numbers, as in docs/performance.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("aiohttp", reason="the load generator needs aiohttp: pip install -r bench/requirements.txt")
pytest.importorskip("psutil", reason="the benchmark needs psutil: pip install -r bench/requirements.txt")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SMOKE_SECONDS = 40


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """One run for the module: 1 group x 3 clients, 2 s per scenario, 20-step maps."""
    results_path = tmp_path_factory.mktemp("bench") / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--smoke", "--strict", "--json", str(results_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=SMOKE_SECONDS * 2,
        check=False,
    )
    return completed, results_path


@pytest.mark.live
def test_smoke_run_exits_0_within_its_time(smoke_run):
    completed, results_path = smoke_run
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    results = json.loads(results_path.read_text())
    assert results["elapsed_seconds"] < SMOKE_SECONDS


@pytest.mark.live
def test_smoke_run_has_no_errors_and_no_missing_deliveries_on_either_server(smoke_run):
    _completed, results_path = smoke_run
    results = json.loads(results_path.read_text())
    for scenario, pair in results["scenarios"].items():
        for server, figures in pair.items():
            where = f"{scenario} against the {server}"
            assert figures["acked"] > 0, where
            assert figures["peer"]["count"] > 0, where
            assert figures["error_count"] == 0, f"{where}: {figures['errors']}"
            assert figures["missing_deliveries"] == 0, where
            assert figures["disconnects"] == 0, where


@pytest.mark.live
def test_smoke_run_measures_joins_and_counts_queries(smoke_run):
    _completed, results_path = smoke_run
    results = json.loads(results_path.read_text())
    assert results["wire"]["app_catch_up"]["form"] == "changes"
    assert results["wire"]["app_snapshot"]["form"] == "snapshot"
    assert all(figure["queries"] > 0 for figure in results["micro"]["join_snapshot"].values())


def report_of(module: str, *arguments: str) -> str:
    """What a one-file benchmark prints with tiny numbers and no report written; it must exit 0."""
    completed = subprocess.run(
        [sys.executable, "-m", module, *arguments, "--report", "-"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


@pytest.mark.browser
def test_the_timeline_benchmark_draws_every_bar_and_arrow_and_reports_its_figures():
    report = report_of("bench.timeline", "--runs", "1")
    assert "50 bars, 60 arrows" in report
    assert "| first draw (render, layout, two frames) |" in report


def test_the_comments_join_benchmark_times_both_maps_and_a_thread():
    report = report_of("bench.comments_join", "--repeats", "2")
    assert "one has 1000 comments (1000 counted in its snapshot" in report
    assert "| join, 300 steps, 1000 comments |" in report
