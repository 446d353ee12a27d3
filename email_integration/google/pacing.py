"""Per-account pacing in Gmail quota units: a token bucket whose rate adapts to what Gmail answers.

Gmail's quota is per user (quota.py), so there is one limiter per account in the
process, shared by all its clients. `acquire(units)` reserves at once (the bucket may go into
debt) and then sleeps until the debt is paid, so a request's time on the network overlaps the
wait for the next one and a single caller still sustains the full pace.

On top of the static budget the pace adapts (AIMD, as TCP does): a rate-limited answer halves it
(once per episode: the 429s of one burst count once) and sets a ceiling under where it hit;
clean traffic raises it again additively, and the ceiling drifts back up (1% a minute) to the budget. `pause()`
holds every caller of the account (Retry-After). The pace never exceeds the configured budget.

The ceiling uses what Gmail's answer implies. The per-user limit is per minute and only this
CRM spends its project's quota for the user, so when Gmail says "retry in r seconds", what we
were charged over the last 60 - r seconds is about what the minute allows (for a moving window
and for fixed minutes alike): the ceiling goes to 90% of that. Without a Retry-After, or before
the limiter has a minute of history, the ceiling is 90% of the pace that hit the limit.
The limiter also counts what Gmail charged, for the status page (`snapshot()`).
"""
from __future__ import annotations

import threading
import time

from .quota import CONCURRENT_CALLS_PER_USER, QUOTA_WINDOW_SEC, RECOMMENDED_BATCH_CALLS

DECREASE_FACTOR = 0.5  # multiplicative decrease on a rate-limited answer
CEILING_FACTOR = 0.9  # after a 429, climb back only to 90% of what the minute allowed ...
CEILING_GROWTH_PER_SEC = 0.01 / 60  # ... and let that ceiling drift up 1% a minute (finds a raised budget
# again; a probe past the real one costs a few 429s, so it must be rare)
RECOVERY_SEC = 120.0  # clean traffic climbs from 0 to the budget in this many seconds of sending
FLOOR_FRACTION = 0.02  # never below 2% of the budget: progress goes on, slowly
HOLD_SEC = 1.0  # 429s within this long of a decrease (plus its Retry-After) are the same episode
BUCKET_SEC = 1.0  # usage is counted in one-second buckets, kept for an hour
HOUR = 3600.0


class UsageMeter:
    """Units Gmail charged and rate-limited answers, in BUCKET_SEC buckets over the last hour."""

    def __init__(self, clock):
        self.clock = clock
        self._buckets: dict[int, list] = {}

    def add(self, units: float, limited: bool = False) -> None:
        key = int(self.clock() // BUCKET_SEC)
        bucket = self._buckets.setdefault(key, [0.0, 0])
        bucket[0] += units
        bucket[1] += int(limited)
        if len(self._buckets) > HOUR / BUCKET_SEC + 2:
            oldest = key - int(HOUR / BUCKET_SEC)
            for stale in [k for k in self._buckets if k < oldest]:
                del self._buckets[stale]

    def window(self, seconds: float) -> tuple[float, int]:
        """(units, rate-limited answers) over the last `seconds`."""
        first = int((self.clock() - seconds) // BUCKET_SEC) + 1
        units, limited = 0.0, 0
        for key, (spent, hits) in self._buckets.items():
            if key >= first:
                units, limited = units + spent, limited + hits
        return units, limited


class BatchSizer:
    """How many calls the account's next batch carries: starts at what Gmail lets one user run at once,
    shrinks to what got through when parts come back rate-limited, and grows by one after clean
    batches, but past a size that was refused only after many clean batches (each probe costs 429s)."""

    GROW_AFTER = 16  # clean batches in a row before trying one call more (a refused probe costs a 429)
    PROBE_AFTER = 100  # clean batches in a row before trying a size that was refused again

    def __init__(self, maximum: int):
        self.maximum = max(1, maximum)
        self.size = min(self.maximum, CONCURRENT_CALLS_PER_USER)
        self.ceiling = self.maximum
        self._clean = 0

    def limited(self, sent: int, got_through: int) -> None:
        self.size = max(1, min(self.size, got_through if got_through else sent // 2))
        if got_through:
            self.ceiling = self.size
        self._clean = 0

    def clean(self, sent: int) -> None:
        if sent < self.size:
            return  # a short last batch says nothing about a bigger one
        self._clean += 1
        if self.size < self.ceiling and self._clean >= self.GROW_AFTER:
            self.size, self._clean = self.size + 1, 0
        elif self.size == self.ceiling < self.maximum and self._clean >= self.PROBE_AFTER:
            self.size = self.ceiling = self.size + 1
            self._clean = 0


class QuotaLimiter:
    def __init__(self, units_per_min: float, burst_sec: float = 1.0, clock=time.monotonic, sleep=time.sleep,
                 batch_max: int = RECOMMENDED_BATCH_CALLS):
        if units_per_min <= 0:
            raise ValueError("units_per_min must be positive")
        self.budget = float(units_per_min) / 60.0  # units/s, the configured pace: never exceeded
        self.rate = self.ceiling = self.budget
        self.burst_sec, self.clock, self.sleep = burst_sec, clock, sleep
        self._level, self._last = self.budget * burst_sec, clock()
        self._paused_until = self._hold_until = self._next_decrease = 0.0
        self._born = clock()
        self._lock = threading.Lock()
        self.usage = UsageMeter(clock)
        self.batches = BatchSizer(batch_max)
        self.spent = 0.0  # units reserved before sending (parts Gmail then refuses included)
        self.charged_total = 0.0  # units Gmail charged: what the run records per account
        self.decreases = 0

    @property
    def units_per_min(self) -> float:
        return self.budget * 60.0

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._last)
        self._level = min(self.rate * self.burst_sec, self._level + elapsed * self.rate)
        self.ceiling = min(self.budget, self.ceiling * (1 + elapsed * CEILING_GROWTH_PER_SEC))
        self._last = now

    def reserve(self, units: float) -> float:
        """Take `units` now; returns how long the caller must wait before using them."""
        with self._lock:
            now = self.clock()
            self._refill(now)
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

    def rate_limited(self, retry_after: float | None = None, per_user: bool = True) -> None:
        """Gmail said 429 (or 403 rate limit): pause for Retry-After, and halve the pace once per episode.

        `per_user` (reason userRateLimitExceeded): our own budget is spent, and the ceiling learns what
        the minute allowed. Otherwise (rateLimitExceeded: the project's limit, or Gmail shedding load)
        the ceiling stays and an episode lasts a whole minute, so stray 429s cannot starve the pace.
        """
        with self._lock:
            now = self.clock()
            self._refill(now)
            self.usage.add(0, limited=True)
            if retry_after:
                self._paused_until = max(self._paused_until, now + retry_after)
            if now < self._next_decrease:
                return
            if per_user:
                self.ceiling = min(self.ceiling, CEILING_FACTOR * self._allowed_per_sec(now, retry_after))
            self.rate = max(self.budget * FLOOR_FRACTION, min(self.rate * DECREASE_FACTOR, self.ceiling))
            self._level = min(self._level, 0.0)  # no burst right after being told to slow down
            self._hold_until = now + HOLD_SEC + (retry_after or 0.0)  # no climbing before Gmail lets us in
            self._next_decrease = self._hold_until if per_user else now + QUOTA_WINDOW_SEC
            self.decreases += 1

    def _allowed_per_sec(self, now: float, retry_after: float | None) -> float:
        """Units/s the minute allowed, as Gmail's Retry-After implies (see the module docstring); else the pace."""
        if retry_after and 0 < retry_after < QUOTA_WINDOW_SEC and now - self._born >= QUOTA_WINDOW_SEC:
            spent, _ = self.usage.window(QUOTA_WINDOW_SEC - retry_after)
            if spent > 0:
                return spent / QUOTA_WINDOW_SEC
        return self.rate

    def charged(self, units: float) -> None:
        """Gmail answered calls worth `units` (it charges every admitted call); clean traffic raises the pace."""
        with self._lock:
            self.usage.add(units)
            self.charged_total += units
            if units and self.clock() >= self._hold_until:
                step = (units / self.rate) * self.budget / RECOVERY_SEC
                self.rate = max(self.rate, min(self.ceiling, self.rate + step))

    def snapshot(self) -> dict:
        """What the status page shows for the account."""
        with self._lock:
            minute, _ = self.usage.window(60.0)
            hour, limited = self.usage.window(HOUR)
            return {"budget_units_per_min": round(self.budget * 60), "pace_units_per_min": round(self.rate * 60),
                    "units_last_minute": round(minute), "units_last_hour": round(hour),
                    "rate_limited_last_hour": limited,
                    "paused_for_sec": round(max(0.0, self._paused_until - self.clock()), 1)}


_limiters: dict[str, QuotaLimiter] = {}
_registry_lock = threading.Lock()


def limiter_for(account: str, units_per_min: float, batch_max: int = RECOMMENDED_BATCH_CALLS) -> QuotaLimiter:
    """The one limiter of `account` in this process (made anew when the configured budget changes)."""
    with _registry_lock:
        key = account.lower()
        limiter = _limiters.get(key)
        if limiter is None or limiter.units_per_min != float(units_per_min) or limiter.batches.maximum != batch_max:
            limiter = _limiters[key] = QuotaLimiter(units_per_min, batch_max=batch_max)
        return limiter


def known_limiter(account: str) -> QuotaLimiter | None:
    """The account's limiter if this process has paced it (the status page reads it, never makes one)."""
    with _registry_lock:
        return _limiters.get(account.lower())
