"""Starts live servers for tests by forking one process that has imported the server already.

`python -m roadmap.server` spends about 1.5 s of CPU importing its libraries (the app's and
gunicorn's) before it serves; the suite starts a server for ~160 tests. This process pays
that once per pytest worker: it imports `roadmap.server` (which patches the standard
library for gevent), then reads one JSON request per line on stdin, forks, and answers
with the child's pid. The child starts a session (so the process group it leads holds
gunicorn's master, itself, and the worker it forks), takes the request's environment
(create_app reads its settings from it) and runs `roadmap.server.main` with the request's
arguments, as the command line would. Set ROADMAP_TEST_FORK_SERVERS=0 to start each
server as a fresh process.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402

import roadmap.server  # noqa: E402

# gevent's fork and SIGCHLD handling reap children only while its loop runs, and this
# process blocks on stdin: fork plainly and let the kernel reap finished servers.
plain_fork = monkey.get_original("os", "fork")
plain_signal = monkey.get_original("signal", "signal")


def main() -> None:
    plain_signal(signal.SIGCHLD, signal.SIG_IGN)
    for line in sys.stdin:
        request = json.loads(line)
        pid = plain_fork()
        if pid == 0:
            _serve(request)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


def _serve(request: dict) -> None:
    """In the child: become the server the request describes; never returns."""
    try:
        os.setsid()
        plain_signal(signal.SIGCHLD, signal.SIG_DFL)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.environ.clear()
        os.environ.update(request["env"])
        gevent.reinit()
        random.seed()  # each server its own sequence, as a fresh process would have
        roadmap.server.main(request["argv"])
    except SystemExit as stopped:  # gunicorn's master ends this way when it stops
        os._exit(stopped.code if isinstance(stopped.code, int) else 1)
    except BaseException:  # noqa: BLE001 - whatever happens, the child must not return into the loop
        import traceback

        traceback.print_exc()
        os._exit(1)
    os._exit(0)


if __name__ == "__main__":
    main()
