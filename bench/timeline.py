"""How long the timeline takes to draw in Chromium: a 50-step map with 60 dependencies.

    .venv/bin/python -m bench.timeline            # 7 fresh pages; writes docs/timeline-performance.md
    .venv/bin/python -m bench.timeline --runs 3 --report -

The page imports the editor's own static/js/timeline.js and app.css from a local
HTTP server on 127.0.0.1 and times, with performance.now() in the page, the first
draw (constructor and render, then a forced layout and two animation frames, so the
browser has laid out and painted it) and a redraw after one step's dates change, as
a person's drag or a live op causes. The baseline, in the same page, draws the same
50 steps as a plain list of their titles and dates: the ratio says what the bars and
arrows cost over the least a page could show.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import platform
import statistics
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import sync_playwright

PROJECT = Path(__file__).resolve().parent.parent
REPORT = PROJECT / "docs" / "timeline-performance.md"
STEPS, DEPENDENCIES = 50, 60
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><link rel="stylesheet" href="/static/css/app.css"></head>
<body class="editor-page"><main class="editor">
<details class="card timeline-section" open><summary><h2>График</h2></summary>
  <div class="timeline-layout">
    <div class="timeline-scroll" id="timeline"></div>
    <div class="timeline-undated" id="timeline-undated" hidden><ul></ul></div>
  </div>
  <div class="tl-editor" id="timeline-editor" hidden><h3 class="tl-editor-title"></h3>
    <input type="date" name="starts_on"><input type="date" name="due_on">
    <div class="starts-too-early" hidden><p class="too-early-text"></p>
      <button class="shift-step"></button><button class="shift-followers"></button></div>
    <button class="tl-editor-close"></button></div>
</details>
<ol id="baseline"></ol>
</main>
<script type="module">
import { Timeline } from '/static/js/timeline.js';

const DAY = 86400000;
const iso = (offset) => new Date(Date.now() + offset * DAY).toISOString().slice(0, 10);
const steps = [];
for (let index = 0; index < STEPS; index += 1) {
  const start = -30 + index * 3;
  steps.push({ id: `step-${String(index).padStart(4, '0')}`, title: `Шаг ${index + 1}: опрос жителей двора`,
    starts_on: iso(start), due_on: iso(start + 5 + (index % 9)), status: index % 7 === 0 ? 'done' : 'planned',
    depends_on: [] });
}
// DEPENDENCIES finish-to-start arrows, each from an earlier step: no cycle.
for (let made = 0, index = 1; made < DEPENDENCIES; index = index % (STEPS - 1) + 1) {
  const predecessor = steps[(index * 7 + made) % index].id;
  if (!steps[index].depends_on.includes(predecessor)) { steps[index].depends_on.push(predecessor); made += 1; }
}
const map = { locked: false, steps };
const store = { view: map, edit() {} };
const painted = () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
const root = document.getElementById('timeline');

async function timed(draw) {
  const started = performance.now();
  draw();
  void document.body.offsetHeight;
  window.laidOut = (window.laidOut || []).concat(performance.now() - started);
  await painted();
  return performance.now() - started;
}

window.measure = async () => {
  const timeline = new Timeline({
    root, undated: document.getElementById('timeline-undated'), zoomButtons: [],
    editor: document.getElementById('timeline-editor'), store, locale: 'ru', timeZone: 'Europe/Moscow' });
  const first = await timed(() => timeline.render(map));
  const moved = { ...map, steps: map.steps.map((step, index) => index === 10 ? { ...step, due_on: iso(60) } : step) };
  const redraw = await timed(() => timeline.render(moved));
  const baseline = await timed(() => {
    document.getElementById('baseline').replaceChildren(...steps.map((step) => {
      const item = document.createElement('li');
      item.textContent = `${step.title}: ${step.starts_on} – ${step.due_on}`;
      return item;
    }));
  });
  return { first, redraw, baseline, laidOut: window.laidOut, bars: root.querySelectorAll('.tl-bar').length,
           arrows: root.querySelectorAll('.tl-arrows path[data-from]').length };
};
</script></body></html>
""".replace("STEPS", str(STEPS)).replace("DEPENDENCIES", str(DEPENDENCIES))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def serving(folder: Path):
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def measure(runs: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        (Path(folder) / "static").symlink_to(PROJECT / "static")
        (Path(folder) / "bench.html").write_text(PAGE, encoding="utf-8")
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        results = []
        with serving(Path(folder)) as url:
            for _ in range(runs):  # a fresh page each run: nothing cached in the page's own state
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(f"{url}/bench.html")
                page.wait_for_function("typeof window.measure === 'function'")
                results.append(page.evaluate("window.measure()"))
                page.close()
        results_version = browser.version
        browser.close()
    for result in results:
        result["chromium"] = results_version
    return results


def report(results: list[dict]) -> str:
    def median(key: str) -> float:
        return statistics.median(result[key] for result in results)

    first, redraw, baseline = median("first"), median("redraw"), median("baseline")
    sample = results[0]
    return "\n".join(
        [
            "# Timeline drawing",
            "",
            "Written by `bench/timeline.py`; edit that, not this file. Reproduce with "
            "`.venv/bin/python -m bench.timeline`.",
            "",
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Chromium {sample['chromium']}, {platform.machine()}, "
            f"1280×800, median of {len(results)} fresh pages.",
            f"A map of {STEPS} steps with {DEPENDENCIES} dependencies: {sample['bars']} bars, {sample['arrows']} arrows.",
            "",
            "| drawing | median ms | × the plain list |",
            "| --- | ---: | ---: |",
            f"| first draw (render, layout, two frames) | {first:.1f} | {first / baseline:.1f} |",
            f"| redraw after one step's dates change | {redraw:.1f} | {redraw / baseline:.1f} |",
            f"| baseline: the same steps as a plain list | {baseline:.1f} | 1.0 |",
            "",
            "Target: under 200 ms for the first draw (issue 16).",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--report", default=str(REPORT), help="where to write the report; - for stdout only")
    arguments = parser.parse_args()
    text = report(measure(arguments.runs))
    print(text)
    if arguments.report != "-":
        Path(arguments.report).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
