"""What one message heard from Redis costs a gevent process that waits for it, with nothing else to do.

    .venv/bin/python -m bench.wakeups [--redis redis://127.0.0.1:6379/0]

Every change published through the Socket.IO message queue is heard by every server
process, each of which wakes for it when it arrives between other work. This measures
that price without the app: a child process publishes 4,000 messages of 300 bytes at
400 a second on a channel of its own, and this process, monkey-patched by gevent, hears
them (a) on a bare socket subscribed by hand, counting messages in what recv() returns,
and (b) through redis-py's PubSub.listen() with a JSON decode, as python-socketio's
RedisManager does. Reported: this process's CPU (user + system) per message heard.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402 - after gevent's patching, as in the server
import json  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402

import gevent  # noqa: E402
import redis  # noqa: E402

MESSAGES = 4000
PER_SECOND = 400
_PUBLISHER = """
import json, sys, time, redis
url, channel, count, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
client, message = redis.Redis.from_url(url), json.dumps({"method": "emit", "data": ["y" * 300]})
start = time.monotonic()
for number in range(count):
    client.publish(channel, message)
    time.sleep(max(0.0, start + (number + 1) / rate - time.monotonic()))
"""


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _hear_on_bare_socket(url: str, channel: str, heard: list[int]) -> None:
    address = redis.Redis.from_url(url).connection_pool.connection_kwargs
    connection = socket.create_connection((address.get("host", "127.0.0.1"), address.get("port", 6379)))
    connection.sendall(f"SUBSCRIBE {channel}\r\n".encode())
    while data := connection.recv(65536):
        heard[0] += data.count(b"$7\r\nmessage\r\n")


def _hear_with_redis_py(url: str, channel: str, heard: list[int]) -> None:
    subscription = redis.Redis.from_url(url).pubsub()
    subscription.subscribe(channel)
    for message in subscription.listen():
        if message["type"] == "message":
            json.loads(message["data"])
            heard[0] += 1


def cpu_per_message(url: str, listener) -> float:
    """Microseconds of this process's CPU per message `listener` heard."""
    channel, heard = f"roadmap-bench-wakeups-{uuid.uuid4().hex}", [0]
    hearing = gevent.spawn(listener, url, channel, heard)
    gevent.sleep(0.5)  # subscribed before the first message
    before = _cpu_seconds()
    publisher = subprocess.Popen([sys.executable, "-c", _PUBLISHER, url, channel, str(MESSAGES), str(PER_SECOND)])
    while publisher.poll() is None:
        gevent.sleep(0.2)
    with gevent.Timeout(10, False):
        while heard[0] < MESSAGES:
            gevent.sleep(0.05)
    spent = _cpu_seconds() - before
    hearing.kill()
    return 1e6 * spent / max(1, heard[0])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="CPU per message heard from Redis by a waiting gevent process.")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", metavar="URL")
    args = parser.parse_args(argv)
    print(f"{MESSAGES} messages at {PER_SECOND}/s, CPU of the hearing process per message:")
    print(f"- bare socket: {cpu_per_message(args.redis, _hear_on_bare_socket):.0f} us")
    print(f"- redis-py PubSub.listen() and json.loads: {cpu_per_message(args.redis, _hear_with_redis_py):.0f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
