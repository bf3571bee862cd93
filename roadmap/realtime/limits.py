"""How fast one connection may send events, and how many connections one person or address may hold.

Both are counted in the memory of the server process that holds the connections:
a connection lives on one process, so its event budget is exact; the connection
caps apply per process (with several processes a person may hold the cap on each).
"""

from __future__ import annotations

import threading
import time
from collections import Counter


class EventBudgets:
    """A token bucket per connection: `burst` events at once, refilled at `per_second`.
    A per_second of 0 turns the limit off."""

    def __init__(self, burst: int, per_second: float):
        self.burst = burst
        self.per_second = per_second
        self._buckets: dict[str, tuple[float, float]] = {}  # sid -> (tokens, when counted)
        self._lock = threading.Lock()

    def take(self, sid: str) -> bool:
        """Spend one event of the connection's budget; False when none is left."""
        if self.per_second <= 0:
            return True
        now = time.monotonic()
        with self._lock:
            tokens, counted_at = self._buckets.get(sid, (self.burst, now))
            tokens = min(self.burst, tokens + (now - counted_at) * self.per_second)
            allowed = tokens >= 1
            self._buckets[sid] = (tokens - 1 if allowed else tokens, now)
        return allowed

    def forget(self, sid: str) -> None:
        with self._lock:
            self._buckets.pop(sid, None)


class ConnectionCounts:
    """Open connections per person and per client address, within their caps."""

    def __init__(self, per_person: int, per_address: int):
        self.caps = {"person": per_person, "address": per_address}
        self._open = Counter()
        self._held: dict[str, list[tuple[str, object]]] = {}  # sid -> the keys it counts under
        self._lock = threading.Lock()

    def admit(self, sid: str, person_id: int | None, address: str | None) -> bool:
        """Count a new connection, unless its person or address is at the cap."""
        keys = [("address", address)] + ([("person", person_id)] if person_id is not None else [])
        with self._lock:
            if any(self._open[key] >= self.caps[key[0]] for key in keys):
                return False
            self._open.update(keys)
            self._held[sid] = keys
        return True

    def release(self, sid: str) -> None:
        with self._lock:
            keys = self._held.pop(sid, [])
            self._open.subtract(keys)
            for key in keys:
                if self._open[key] <= 0:
                    del self._open[key]
