"""Per-user quota like Gmail's: the profile's per-method costs, its per-minute budget as a moving window.

Costs and budgets come from email_integration.google.quota, the one table (developers.google.com/gmail/api/
reference/quota): a call is admitted when the units this user was charged over the last
`window_sec` (60: Gmail's limit is per minute) plus its cost fit in the window's budget; over it,
nothing is charged and the caller learns how long until enough units leave the window. Tests may
shorten the window (the budget scales with it, so the rate stays units_per_min / 60 per second).
The concurrency gate answers Gmail's "Too many concurrent requests for user". How a refusal looks is one
of the shapes of the Google table (QUOTA_ERROR_SHAPES: with or without Retry-After, 429 or 403), so a client
meets every answer Gmail is reported to give. Nothing here is Gmail-specific but the defaults: a Calendar
meter takes its own profile and shapes.
"""
from __future__ import annotations

import datetime
import math
import threading
import time
from collections import defaultdict, deque

from email_integration.google.quota import (CONCURRENT_CALLS_PER_USER, DEFAULT_QUOTA_ERROR_SHAPE, QUOTA_ERROR_SHAPES,
                                            QuotaProfile, profile)

from .google_errors import google_error

WINDOW_SEC = 60.0


def _profile(name_or_profile) -> QuotaProfile:
    """A Gmail regime by name, or a profile given whole (Calendar's CALENDAR_PROFILE)."""
    return name_or_profile if isinstance(name_or_profile, QuotaProfile) else profile(name_or_profile)


class QuotaMeter:
    def __init__(self, profile_name: str | None = None, units_per_min: float | None = None,
                 window_sec: float = WINDOW_SEC, clock=time.monotonic, error_shape: str = DEFAULT_QUOTA_ERROR_SHAPE,
                 shapes: dict = QUOTA_ERROR_SHAPES):
        self.clock = clock
        self._calls: dict[str, deque] = defaultdict(deque)  # user → (time, units) admitted within the window
        self._sums: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()
        self.profile: QuotaProfile = _profile(profile_name)
        self.window_sec = window_sec
        self.shapes = shapes
        self.error_shape = self._shape(error_shape)
        self.set_budget(units_per_min)

    def _shape(self, name: str):
        if name not in self.shapes:
            raise ValueError(f"unknown quota error shape {name!r}; expected one of {', '.join(self.shapes)}")
        return self.shapes[name]

    def set_budget(self, units_per_min: float | None = None, profile_name: str | None = None,
                   window_sec: float | None = None, error_shape: str | None = None) -> None:
        """None: the profile's per-user budget; 0: not enforced (tests that are not about quota)."""
        with self._lock:
            if error_shape:
                self.error_shape = self._shape(error_shape)
            if profile_name:
                self.profile = _profile(profile_name)
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

    def refusal(self, wait: float) -> tuple[int, dict, dict]:
        """(status, headers, body) of a call over the budget, in the configured shape; `wait`: seconds until
        it would be admitted (named in the message or a Retry-After header only where the shape has them)."""
        shape = self.error_shape
        when = datetime.datetime.fromtimestamp(time.time() + wait, datetime.timezone.utc)
        retry_at = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        headers = {"Retry-After": str(max(1, math.ceil(wait)))} if shape.retry_after_header else {}
        return shape.status, headers, google_error(shape.status, shape.message.format(retry_at=retry_at),
                                                   shape.reason, shape.domain)

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
