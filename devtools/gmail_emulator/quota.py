"""Per-user quota like Gmail's: 250 units/s as a moving average, so short bursts pass.

A token bucket per user: refills at `units_per_sec`, holds up to `burst_sec` seconds' worth.
Costs are Gmail's (developers.google.com/gmail/api/reference/quota).
"""
from __future__ import annotations

import threading
import time

COSTS = {"messages.get": 5, "messages.list": 5, "history.list": 2, "messages.attachments.get": 5,
         "getProfile": 1, "threads.get": 10}


class QuotaMeter:
    def __init__(self, units_per_sec: float | None, burst_sec: float = 2.0, clock=time.monotonic):
        self.clock = clock
        self.burst_sec = burst_sec
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self.set_rate(units_per_sec)

    def set_rate(self, units_per_sec: float | None) -> None:
        with self._lock:
            self.rate = units_per_sec if units_per_sec and units_per_sec > 0 else None
            self._buckets.clear()

    def charge(self, user: str, units: float) -> float:
        """Spend `units` for `user`; 0.0 when allowed, else the seconds until it would be (nothing spent)."""
        with self._lock:
            if self.rate is None:
                return 0.0
            capacity = self.rate * self.burst_sec
            now = self.clock()
            level, last = self._buckets.get(user, (capacity, now))
            level = min(capacity, level + (now - last) * self.rate)
            if level >= units:
                self._buckets[user] = (level - units, now)
                return 0.0
            self._buckets[user] = (level, now)
            return (units - level) / self.rate
