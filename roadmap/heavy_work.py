"""CPU-heavy work (exports, an import's parsing, the map at a past revision) in a small pool of
worker processes, so the gevent loop that every socket of the server shares keeps running.

Why not concurrent.futures.ProcessPoolExecutor or a library built on multiprocessing's queues:
gevent's monkey-patching documents that they hang a patched process (their pipes are read by
helper threads, which become greenlets that block in C). Here each worker has one pipe of its own,
and the caller waits for the answer with `select.select` looked up at call time: gevent's
cooperative version in the server, the blocking one under the test client and the CLI. The
workers are started with "spawn", so none inherits the server's loop, sockets or database
connections, and the pool is made on first use in the process that uses it: a process forked
after that (gunicorn's workers) makes its own. A job that runs past HEAVY_WORK_TIMEOUT_SECONDS
has its worker killed and replaced; a worker that dies fails its job, not the next one.

Jobs are module-level functions (pickled by name) and their arguments plain data. A job runs
inside an app context of an app the worker builds with the caller's configuration (once: the
server's configuration does not change), on the caller's clock (its CLOCK_OFFSET, which tests shift).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, current_app

from roadmap.domain.errors import N_

log = logging.getLogger(__name__)
READY = b"ready"
# Workers yield the CPU to the server: with as many busy processes as cores, a render at the same
# priority takes time slices from the process every live edit goes through.
WORKER_NICENESS = 10


class HeavyWorkFailed(Exception):
    """A job that did not give its result; `message` is untranslated, for _() at the edge."""

    MESSAGES = {
        "busy": N_("The server is making many files right now. Try again in a minute."),
        "timed_out": N_("Making this file took too long and was stopped. Try again later."),
        "crashed": N_("Making this file failed. Try again later."),
    }

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.message = self.MESSAGES[code]


@dataclass
class PoolCounts:
    """What this process's pool has done, for tests and benchmarks."""

    jobs_done: int = 0
    timed_out: int = 0
    crashed: int = 0
    workers_started: int = 0
    by_function: dict[str, int] = field(default_factory=dict)


def run(function: Callable, *args):
    """`function(*args)` in a worker process, its result returned; inline when the pool is off
    (HEAVY_WORK_PROCESSES=0) or the database lives only in this process's memory.

    Raises HeavyWorkFailed when the pool is full, the job times out or its worker dies; an
    exception the job raises itself is raised here again."""
    if _runs_inline(current_app):
        return function(*args)
    app = current_app._get_current_object()
    config = app.extensions.setdefault("heavy_work_config", _plain_config(app))
    job = (function, args, app.config["CLOCK_OFFSET"])
    return _pool_of_this_process(app).run(job, config, app.config["HEAVY_WORK_TIMEOUT_SECONDS"])


def forget_configuration(app: Flask) -> None:
    """The next job sends `app`'s configuration afresh, which is read once per app otherwise:
    for an app whose config changed after its first job (the tests reuse one app)."""
    app.extensions.pop("heavy_work_config", None)


def counts() -> PoolCounts:
    """What the pool of this process has done so far (zeros before its first job)."""
    return _pool.counts if _pool is not None and _pool.owner_pid == os.getpid() else PoolCounts()


def shutdown() -> None:
    """Stop this process's workers (a server's exit hook may call it; they also end with it)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None and pool.owner_pid == os.getpid():
        pool.close()


def _runs_inline(app: Flask) -> bool:
    database_uri = app.config["SQLALCHEMY_DATABASE_URI"]
    in_memory = database_uri in ("sqlite://", "sqlite:///:memory:")
    return app.config["HEAVY_WORK_PROCESSES"] <= 0 or in_memory


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def _pool_of_this_process(app: Flask) -> WorkerPool:
    global _pool
    with _pool_lock:
        if _pool is None or _pool.owner_pid != os.getpid():  # a forked child never uses its parent's
            _pool = WorkerPool(app)
        return _pool


def _plain_config(app: Flask) -> dict:
    """The app's configuration that can cross to a worker, for it to build the same app."""
    plain = {}
    for name, value in app.config.items():
        try:
            pickle.dumps(value)
        except Exception:  # noqa: BLE001 -- anything unpicklable stays behind
            continue
        plain[name] = value
    plain["INSTANCE_PATH"] = app.instance_path
    return plain


class WorkerPool:
    """At most HEAVY_WORK_PROCESSES workers, HEAVY_WORK_QUEUE jobs waiting for one."""

    def __init__(self, app: Flask):
        self.owner_pid = os.getpid()
        self.size = app.config["HEAVY_WORK_PROCESSES"]
        self.queue_limit = app.config["HEAVY_WORK_QUEUE"]
        self.counts = PoolCounts()
        self._idle: list[Worker] = []
        self._free_slots = threading.BoundedSemaphore(self.size)
        self._waiting = 0
        self._lock = threading.Lock()
        self._closed = False

    def run(self, job: tuple, config: dict, timeout_seconds: float):
        function = job[0]
        self._take_slot(timeout_seconds)
        try:
            worker = self._idle_worker()
            try:
                result = worker.run(job, config, deadline=time.monotonic() + timeout_seconds)
            except HeavyWorkFailed as failure:
                self._count_failure(failure)
                raise
            if not self._closed:
                self._idle.append(worker)
            self.counts.jobs_done += 1
            name = function.__name__
            self.counts.by_function[name] = self.counts.by_function.get(name, 0) + 1
            return result.value()
        finally:
            self._free_slots.release()

    def close(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().stop()

    def _take_slot(self, timeout_seconds: float) -> None:
        with self._lock:
            if self._waiting >= self.queue_limit:
                raise HeavyWorkFailed("busy", "the queue is full")
            self._waiting += 1
        try:
            taken = self._free_slots.acquire(timeout=timeout_seconds)
        finally:
            with self._lock:
                self._waiting -= 1
        if not taken:
            raise HeavyWorkFailed("busy", "no worker became free")

    def _idle_worker(self) -> Worker:
        if self._idle:
            return self._idle.pop()
        self.counts.workers_started += 1
        return Worker()

    def _count_failure(self, failure: HeavyWorkFailed) -> None:
        if failure.code == "timed_out":
            self.counts.timed_out += 1
        elif failure.code == "crashed":
            self.counts.crashed += 1


class Worker:
    """One worker process and the pipe to it; killed (and dropped by the pool) when a job fails."""

    def __init__(self):
        context = multiprocessing.get_context("spawn")
        # Two one-way pipes (os.pipe), not a duplex Pipe: that is a socketpair, which gevent's
        # patched socket module makes non-blocking for the worker too.
        jobs_in, self.jobs = context.Pipe(duplex=False)
        self.results, results_out = context.Pipe(duplex=False)
        self.process = context.Process(
            target=serve, args=(jobs_in, results_out), daemon=True, name="roadmap-heavy-work"
        )
        self.process.start()
        jobs_in.close()
        results_out.close()
        self.ready = False

    def run(self, job: tuple, config: dict, deadline: float) -> JobResult:
        if not self.ready:  # waited for cooperatively, so a large job never blocks on a full pipe
            self._receive(deadline)
            self.ready = True
        self.jobs.send_bytes(pickle.dumps((config, job)))
        return pickle.loads(self._receive(deadline))

    def stop(self) -> None:
        self.jobs.close()
        self.results.close()
        self.process.kill()
        self.process.join()

    def _receive(self, deadline: float) -> bytes:
        ready = select.select([self.results, self.process.sentinel], [], [], max(0.0, deadline - time.monotonic()))[0]
        if not ready:
            self.stop()
            raise HeavyWorkFailed("timed_out")
        try:
            return self.results.recv_bytes()
        except (EOFError, OSError) as failure:
            self.stop()
            raise HeavyWorkFailed("crashed", f"exit code {self.process.exitcode}") from failure


@dataclass
class JobResult:
    returned: object = None
    raised: BaseException | None = None

    def value(self):
        if self.raised is not None:
            raise self.raised
        return self.returned


def serve(jobs, results) -> None:
    """A worker's life: run jobs until the pipe closes, each in the app its caller's configuration
    builds (built once and kept while the jobs come with the same one), at a lower CPU priority."""
    from roadmap import create_app
    from roadmap.config import Config
    from roadmap.extensions import db

    os.nice(WORKER_NICENESS)
    app, app_config = None, None
    results.send_bytes(READY)
    while True:
        try:
            config, (function, args, clock_offset) = pickle.loads(jobs.recv_bytes())
        except EOFError:
            return
        if config != app_config:  # the server sends one configuration; tests send one per test
            if app is not None:
                with app.app_context():
                    db.engine.dispose()
            app, app_config = create_app(Config, overrides={**config, "SOCKETIO_MESSAGE_QUEUE": None}), config
        app.config["CLOCK_OFFSET"] = clock_offset  # the caller's clock now, shifted or not
        with app.app_context():
            try:
                result = JobResult(returned=function(*args))
            except Exception as failure:  # noqa: BLE001 -- sent back to be raised in the caller
                result = JobResult(raised=failure)
        results.send_bytes(_pickled(result))


def _pickled(result: JobResult) -> bytes:
    try:
        return pickle.dumps(result)
    except Exception as failure:  # noqa: BLE001 -- an exception that cannot be pickled
        log.exception("A heavy job's result could not be sent back")
        return pickle.dumps(JobResult(raised=RuntimeError(f"{type(failure).__name__}: {failure}")))
