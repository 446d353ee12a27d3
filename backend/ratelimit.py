"""Per-client request limiting and login throttling, in memory (one process serves the CRM)."""
from __future__ import annotations

import math
import threading
import time


class SlidingWindowLimiter:
    """At most `limit` events per `window` seconds per key; `hit` returns 0 or the seconds to wait."""

    def __init__(self, limit: int, window: float, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._events: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> list[float]:
        events = [t for t in self._events.get(key, ()) if t > now - self.window]
        if events:
            self._events[key] = events
        else:
            self._events.pop(key, None)
        return events

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may act again (0 = now), without recording anything."""
        with self._lock:
            now = self.clock()
            events = self._prune(key, now)
            if len(events) < self.limit:
                return 0
            return max(1, math.ceil(events[0] + self.window - now))

    def count(self, key: str) -> int:
        """Events of `key` inside the window now."""
        with self._lock:
            return len(self._prune(key, self.clock()))

    def hit(self, key: str) -> int:
        """Record one event unless over the limit; returns 0 when allowed, else Retry-After seconds."""
        with self._lock:
            now = self.clock()
            events = self._prune(key, now)
            if len(events) >= self.limit:
                return max(1, math.ceil(events[0] + self.window - now))
            events.append(now)
            self._events[key] = events
            if len(self._events) > 50_000:  # bound memory under a flood of distinct keys
                for stale in [k for k, v in self._events.items() if v[-1] <= now - self.window]:
                    del self._events[stale]
            return 0

    def reset(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)
