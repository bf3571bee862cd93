"""Helpers shared by the Chromium tests: joining a map, waiting without sleeping, a slow network."""

from __future__ import annotations

import os
import queue
import random
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

WAIT_MS = 15_000

# Playwright's wait_for_function polls on every animation frame and wait_for_selector about as often, and a
# page polled so keeps drawing frames while it waits: 0.06-0.17 of a core per waiting page here, against
# under 0.01 polled every 50 ms or waited for through a locator. With several pages waiting through
# minutes of typing at a person's pace, that was a large share of the suite's CPU on two cores.
POLL_MS = 50


def wait_until(page, expression: str, arg=None, timeout: float | None = None):
    """page.wait_for_function, polled every POLL_MS ms: what the predicate returned (a JSHandle)."""
    return page.wait_for_function(expression, arg=arg, timeout=timeout, polling=POLL_MS)


def wait_for_element(page, selector: str, state: str = "visible", timeout: float | None = None) -> None:
    """page.wait_for_selector, without its per-frame polling: the first match reaches `state`."""
    page.locator(selector).first.wait_for(state=state, timeout=timeout)


def join(
    browser, live_server, join_code: str, name: str, viewport=None, page_errors: list | None = None, **context_options
):
    """A new browser context that joins the training with the code and lands in the group's map.

    `live_server` is anything with a `url` (the server, or a LatencyProxy in front of it);
    `context_options` go to browser.new_context (is_mobile, has_touch, ...). A page error fails
    the test at once, or, given `page_errors`, is added to it for the test to assert on: failing
    from inside Playwright's event handler also closes the session's browser connection.
    """
    context = browser.new_context(
        viewport=viewport or {"width": 1100, "height": 900}, locale="ru-RU", **context_options
    )
    page = context.new_page()
    if page_errors is None:
        page.on("pageerror", lambda error: pytest.fail(f"{name}: page error {error}"))
    else:
        page.on("pageerror", lambda error: page_errors.append(f"{name}: {error}"))
    page.goto(live_server.url + "/")
    page.fill("#join_code", join_code.lower())
    page.fill("#display_name", name)
    page.click("main button[type=submit]")
    wait_for_element(page, '#connection[data-state="online"]', timeout=WAIT_MS)
    return context, page


def sign_in_moderator(
    browser, live_server, moderator, viewport: dict, password: str = "correct horse battery", **context_options
):
    """A new page with the moderator signed in through the form, on their trainings page;
    the password is the one world.moderator() sets. A page error fails the test."""
    context = browser.new_context(viewport=viewport, locale="ru-RU", **context_options)
    page = context.new_page()
    page.on("pageerror", lambda error: pytest.fail(f"moderator: page error {error}"))
    page.goto(live_server.url + "/sign-in")
    page.fill("#email", moderator.email)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    page.wait_for_url("**/moderate/")
    return page


def settles(page, expression: str, arg=None, timeout: float = WAIT_MS) -> bool:
    """Wait until `expression` (a JS function of `arg`) is true on the page; False when it never is."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        wait_until(page, expression, arg=arg, timeout=timeout)
        return True
    except PlaywrightTimeoutError:
        return False


NOTHING_PENDING = "document.querySelector('.connection-pending').textContent === ''"


def agrees_with_server(pages: list, server_value, page_value: str, timeout_s: float) -> bool:
    """True once every page has nothing left to send and shows what `server_value()` reads now;
    `page_value` is a JS function of no arguments. The server is read again each round, as
    the last edits may still be on their way."""
    shows_it = f"(expected) => {NOTHING_PENDING} && ({page_value})() === expected"
    deadline = time.monotonic() + timeout_s
    for _attempt in range(200):  # each attempt waits up to 700 ms on a page; the deadline ends it sooner
        remaining_ms = (deadline - time.monotonic()) * 1000
        if remaining_ms <= 0:
            return False
        expected = server_value()
        if all(settles(page, shows_it, expected, timeout=min(700, remaining_ms)) for page in pages):
            return True
    return False


class LatencyProxy:
    """A TCP relay on 127.0.0.1 that holds each chunk for half of `round_trip_ms` (plus a little
    jitter) in each direction, like venue Wi-Fi, before passing it on to the server.

    Chromium's own throttling (CDP Network.emulateNetworkConditions, also ...ByRule) delays
    HTTP requests but not the frames of an open WebSocket, which is where the editor's edits
    travel; so the delay is put on the wire instead. Open the page through `proxy.url`: the
    Origin and Host headers then agree, as Socket.IO requires, and bytes keep their order.
    """

    POLL_S = 0.5  # how often a relay thread looks at `closed`, so close() ends every loop

    def __init__(self, target_port: int, round_trip_ms: float, jitter_ms: float = 10, seed: int = 0):
        self.target_port = target_port
        self.one_way_s = round_trip_ms / 2000
        self.jitter_s = jitter_ms / 1000
        self.random = random.Random(seed)
        self.closed = threading.Event()
        self.sockets: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(self.POLL_S)
        self.port = self.listener.getsockname()[1]
        self._spawn(self._accept_loop)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.closed.set()
        for sock in [self.listener, *self.sockets]:
            try:
                sock.close()
            except OSError:
                pass
        for thread in self.threads:
            thread.join(timeout=2 * self.POLL_S + self.one_way_s + self.jitter_s)

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self.threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.settimeout(self.POLL_S)
                self.sockets.append(sock)
            for source, sink in ((client, upstream), (upstream, client)):
                held: queue.Queue = queue.Queue()
                self._spawn(self._read_loop, source, held)
                self._spawn(self._write_loop, sink, held)

    def _read_loop(self, source: socket.socket, held: queue.Queue) -> None:
        last_due = 0.0
        while not self.closed.is_set():
            try:
                data = source.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                data = b""
            # Never earlier than the chunk before it: TCP keeps the order.
            last_due = max(last_due, time.monotonic() + self.one_way_s + self.random.uniform(0, self.jitter_s))
            held.put((last_due, data))
            if not data:
                return

    def _write_loop(self, sink: socket.socket, held: queue.Queue) -> None:
        while not self.closed.is_set():
            try:
                due, data = held.get(timeout=self.POLL_S)
            except queue.Empty:
                continue
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # the network's latency itself, not a wait for an event
            try:
                if not data:
                    sink.shutdown(socket.SHUT_WR)
                    return
                sink.sendall(data)
            except OSError:
                return


# --- typing at a person's pace ---------------------------------------------------------------------------

JITTER = 0.15  # each pause between letters is the typist's pace ±15 %


def click_at_end(page, locator, phone: bool) -> None:
    """Put the caret after the field's text the way a person does: press below its last line."""
    box = locator.bounding_box()
    position = {"x": box["width"] * 0.8, "y": box["height"] - 6}
    if phone:
        locator.tap(position=position)
    else:
        locator.click(position=position)
    locator.press("Control+End")
    assert locator.evaluate(
        "field => document.activeElement === field && field.selectionStart === field.value.length"
    ), "the caret should start at the end of the field"


def paced_keystrokes(paces_s: list[float], phrases: list[str], seed_value: int) -> list[tuple[float, int, str]]:
    """(seconds from the start, typist, letter) for every letter, each typist at their own jittered pace."""
    rng = random.Random(seed_value)
    keystrokes = []
    for index, (pace, phrase) in enumerate(zip(paces_s, phrases)):
        due = index * 0.04  # nobody starts on exactly the same millisecond
        for letter in phrase:
            keystrokes.append((due, index, letter))
            due += pace * rng.uniform(1 - JITTER, 1 + JITTER)
    return sorted(keystrokes)


def type_on_schedule(pages: list, keystrokes: list[tuple[float, int, str]], after_each=None) -> float:
    """Send every letter to its page when it falls due, from this one thread (Playwright's sync API
    is single-threaded). Returns how late the latest keystroke went out, in seconds; a late one
    moves the rest of the schedule with it, so nobody ever types a burst to catch up."""
    start = time.monotonic()
    worst_lag = 0.0
    for number, (due, index, letter) in enumerate(keystrokes):  # one pass over a finite list
        delay = start + due - time.monotonic()
        if delay > 0:
            time.sleep(delay)  # the typist's pace between letters
        else:
            worst_lag = max(worst_lag, -delay)
            start -= delay
        pages[index].keyboard.type(letter)
        if after_each:
            after_each(number, index)
    return worst_lag


DOCS_SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def keep_screenshot(page, name: str, artifacts: Path, **options) -> None:
    """A screenshot in the test's artifacts; also the README's copy in docs/screenshots when
    UPDATE_SCREENSHOTS is set, so a plain test run leaves the repository as it was."""
    page.screenshot(path=str(artifacts / name), **options)
    keep_in_docs(artifacts / name)


def keep_in_docs(picture: Path) -> None:
    """Copy a picture made by a test to the README's docs/screenshots, only when UPDATE_SCREENSHOTS is set."""
    if os.environ.get("UPDATE_SCREENSHOTS"):
        shutil.copyfile(picture, DOCS_SCREENSHOTS / picture.name)
