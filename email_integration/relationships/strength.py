"""How well a teammate knows an investor, from their email history: the strength score (0-100).

Every email between teammate T and investor I is one event, weighted by who wrote it and halved
every HALF_LIFE_DAYS of age (recent counts more than old):

    weight:  T → I (T's own send)                         1
             I → T, unprompted                            2
             I → T, answering T earlier in that thread    3   (replies from the investor count most)
    decay:   d(age) = 2 ** (-age_days / 90)

    R = Σ over I's emails to T of weight · d        (what the investor put in)
    O = Σ over T's emails to I of d                 (what T put in)
    S = R + min(O, R + 1)                           (T's sends count only as far as I answers, plus one
                                                     opener: a thousand one-way blasts still add ≤ 1)
    strength = round(100 · (1 − e^(−S / 6)))

So a newsletter-style list of unanswered sends stays at 15 however long it is; one reply this week
to one of T's emails scores 49, two such exchanges 74; the same two exchanges two years ago score 0,
and even twenty of them then score 5.

Sums are stored anchored at EPOCH (each term times 2 ** ((t − EPOCH) / H) instead of 2 ** (−age / H)),
so a precomputed sum stays right as time passes: multiply by decay_since_epoch(now) when reading.
Pure functions: no database, no clock unless given one.
"""
from __future__ import annotations

import datetime as _dt
import math

HALF_LIFE_DAYS = 90.0
SENT_WEIGHT = 1.0
RECEIVED_WEIGHT = 2.0
REPLY_WEIGHT = 3.0
OPENER_ALLOWANCE = 1.0  # unanswered sends that still count (someone has to write first)
SCALE = 6.0  # S at which strength reaches 63
EPOCH = _dt.datetime(2000, 1, 1, tzinfo=_dt.timezone.utc)
_DAY = 86400.0


def parse_iso(stamp: str) -> _dt.datetime:
    """Our stored "YYYY-MM-DDTHH:MM:SSZ" as an aware datetime."""
    if not (len(stamp) == 20 and stamp.endswith("Z")):
        raise ValueError(f"not a stored timestamp: {stamp!r}")
    return _dt.datetime.fromisoformat(stamp[:-1]).replace(tzinfo=_dt.timezone.utc)  # 20× strptime's speed


def _days_since_epoch(moment: _dt.datetime) -> float:
    return (moment - EPOCH).total_seconds() / _DAY


_EPOCH_SECONDS = EPOCH.timestamp()


def anchored(stamp: str, weight: float, now: _dt.datetime) -> float:
    """One event's term of an anchored sum; a date in the future counts as now (a wrong clock is not news)."""
    seconds = min(parse_iso(stamp).timestamp(), now.timestamp())
    return weight * 2.0 ** ((seconds - _EPOCH_SECONDS) / _DAY / HALF_LIFE_DAYS)


def decay_since_epoch(now: _dt.datetime) -> float:
    """The factor turning an anchored sum into today's decayed sum."""
    return 2.0 ** (-_days_since_epoch(now) / HALF_LIFE_DAYS)


def total(received: float, sent: float) -> float:
    """S from today's decayed sums R (the investor's emails, weighted) and O (the teammate's sends)."""
    return received + min(sent, received + OPENER_ALLOWANCE)


def from_total(s: float) -> int:
    """Strength 0-100 from S (monotonic: ranking by S ranks by strength)."""
    return max(0, min(100, round(100.0 * (1.0 - math.exp(-s / SCALE)))))


def score(received: float, sent: float) -> int:
    """Strength 0-100 from today's decayed sums R and O."""
    return from_total(total(received, sent))


def event_weight(kind: str) -> float:
    return {"sent": SENT_WEIGHT, "received": RECEIVED_WEIGHT, "reply": REPLY_WEIGHT}[kind]
