"""Per-user quota like Gmail's: the profile's per-method costs, its per-minute budget as a moving window.

Costs and budgets come from email_integration.google.quota, the one table (developers.google.com/gmail/api/
reference/quota): a call is admitted when the units this user was charged over the last
`window_sec` (60: Gmail's limit is per minute) plus its cost fit in the window's budget; over it,
nothing is charged and the caller learns how long until enough units leave the window. Tests may
shorten the window (the budget scales with it, so the rate stays units_per_min / 60 per second).
The concurrency gate answers Gmail's "Too many concurrent requests for user".
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from email_integration.google.quota import CONCURRENT_CALLS_PER_USER, QuotaProfile, profile

WINDOW_SEC = 60.0


class QuotaMeter:
    def __init__(self, profile_name: str | None = None, units_per_min: float | None = None,
                 window_sec: float = WINDOW_SEC, clock=time.monotonic):
        self.clock = clock
        self._calls: dict[str, deque] = defaultdict(deque)  # user → (time, units) admitted within the window
        self._sums: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()
        self.profile: QuotaProfile = profile(profile_name)
        self.window_sec = window_sec
        self.set_budget(units_per_min)

    def set_budget(self, units_per_min: float | None = None, profile_name: str | None = None,
                   window_sec: float | None = None) -> None:
        """None: the profile's per-user budget; 0: not enforced (tests that are not about quota)."""
        with self._lock:
            if profile_name:
                self.profile = profile(profile_name)
            if window_sec:
                self.window_sec = float(window_sec)
            self.units_per_min = self.profile.user_units_per_min if units_per_min is None else float(units_per_min)

    def cost(self, method: str) -> int:
        return self.profile.cost(method)

    def charge(self, user: str, units: float) -> float:
        """Spend `units` for `user`; 0.0 when admitted, else the seconds until it would be (nothing spent)."""
        with self._lock:
            now = self.clock()
            calls, window = self._calls[user], self.window_sec
            while calls and calls[0][0] <= now - window:
                self._sums[user] -= calls.popleft()[1]
            if self.units_per_min <= 0:
                return 0.0
            budget = self.units_per_min * window / 60.0
            if self._sums[user] + units <= budget:
                calls.append((now, units))
                self._sums[user] += units
                return 0.0
            # Wait until enough of the oldest charges leave the window for this call to fit.
            excess = self._sums[user] + units - budget
            for when, spent in calls:
                excess -= spent
                if excess <= 0:
                    return max(0.001, when + window - now)
            return window  # costs more than a whole window's budget: never fits

    def spent_in_window(self, user: str) -> float:
        with self._lock:
            return self._sums.get(user, 0.0)


class ConcurrencyGate:
    """At most `limit` calls in flight per user; a batch's parts count as concurrent calls."""

    def __init__(self, limit: int | None = CONCURRENT_CALLS_PER_USER):
        self.limit = limit
        self._in_flight: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def enter(self, user: str, wanted: int) -> int:
        """Take up to `wanted` slots for `user`; returns how many were granted (release them with leave)."""
        with self._lock:
            free = wanted if not self.limit else max(0, self.limit - self._in_flight[user])
            granted = min(wanted, free)
            self._in_flight[user] += granted
            return granted

    def leave(self, user: str, granted: int) -> None:
        with self._lock:
            self._in_flight[user] -= granted
