"""Per-account quota limiter in Gmail quota units: a token bucket that lets callers reserve ahead.

`acquire(units)` reserves at once (the bucket may go into debt) and then sleeps until the debt
is paid, so the time a request spends on the network overlaps the wait for the next one and
a single caller still sustains the full rate. `pause(seconds)` (after a 429 with Retry-After)
holds every caller of the account. One limiter per account, shared by all its clients:
Gmail's quota is per user (developers.google.com/gmail/api/reference/quota).
"""
from __future__ import annotations

import threading
import time

# Gmail quota units per method (developers.google.com/gmail/api/reference/quota).
COSTS = {"messages.get": 5, "messages.list": 5, "history.list": 2, "messages.attachments.get": 5,
         "getProfile": 1, "threads.get": 10}


class QuotaLimiter:
    def __init__(self, units_per_sec: float, burst_sec: float = 1.0, clock=time.monotonic, sleep=time.sleep):
        if units_per_sec <= 0:
            raise ValueError("units_per_sec must be positive")
        self.rate, self.capacity = float(units_per_sec), float(units_per_sec) * burst_sec
        self.clock, self.sleep = clock, sleep
        self._level, self._last = self.capacity, clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.spent = 0.0

    def reserve(self, units: float) -> float:
        """Take `units` now; returns how long the caller must wait before using them."""
        with self._lock:
            now = self.clock()
            self._level = min(self.capacity, self._level + (now - self._last) * self.rate)
            self._last = now
            self._level -= units
            self.spent += units
            wait = -self._level / self.rate if self._level < 0 else 0.0
            return max(wait, self._paused_until - now)

    def acquire(self, units: float) -> None:
        wait = self.reserve(units)
        if wait > 0:
            self.sleep(wait)

    def pause(self, seconds: float) -> None:
        """Hold the whole account for `seconds` (Gmail asked us to back off)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self.clock() + seconds)


_limiters: dict[str, QuotaLimiter] = {}
_registry_lock = threading.Lock()


def limiter_for(account: str, units_per_sec: float) -> QuotaLimiter:
    """The one limiter of `account` in this process (created at `units_per_sec` on first use)."""
    with _registry_lock:
        key = account.lower()
        limiter = _limiters.get(key)
        if limiter is None or limiter.rate != float(units_per_sec):
            limiter = _limiters[key] = QuotaLimiter(units_per_sec)
        return limiter
