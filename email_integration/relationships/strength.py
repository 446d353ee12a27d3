"""How well a teammate knows an investor, from their email and their meetings: the strength score (0-100).

Every email between teammate T and investor I is one event, weighted by who wrote it, and every meeting
T attended with I (T's calendar holds it and T did not decline it) is one event; each is halved every
HALF_LIFE_DAYS of age (recent counts more than old):

    weight:  T → I (T's own send)                         1
             I → T, unprompted                            2
             I → T, answering T earlier in that thread    3   (replies from the investor count most)
             a meeting of T's with I                      4   (a meeting is the strongest two-way contact)
    decay:   d(age) = 2 ** (-age_days / 90)

    W = Σ weight · d over the two-way contact: the events of conversations holding both T's mail to I and
        I's to T, and every meeting
    U = Σ weight · d over the one-way traffic: the events of conversations that went one way only, in
        either direction (T's unanswered sends, or I's mail T never answered)
    S = W + min(U, ONE_WAY_CAP)                    (one-way traffic, however much, adds at most 1)
    strength = round(100 · (1 − e^(−S / 6)))

Two-way contact counts more than one-way traffic in either direction (issue 25 revisited issue 17's formula,
under which three unanswered inbound emails, S = 6, outranked one two-way exchange of the same age, S = 4):
now three unanswered inbound emails score 15, like a thousand unanswered sends; one reply this week to one
of T's emails scores 49, one meeting this week 49, an exchange and a meeting 74; the same two exchanges two
years ago score 0.

Sums are stored anchored at EPOCH (each term times 2 ** ((t − EPOCH) / H) instead of 2 ** (−age / H)),
so a precomputed sum stays right as time passes: multiply by decay_since_epoch(now) when reading.
(email_relationship_stats keeps W in received_anchored and U in sent_anchored: FORMULA_VERSION in the
stats' basis recomputes rows stored under the older formula.)
Pure functions: no database, no clock unless given one.
"""
from __future__ import annotations

import datetime as _dt
import math

HALF_LIFE_DAYS = 90.0
SENT_WEIGHT = 1.0
RECEIVED_WEIGHT = 2.0
REPLY_WEIGHT = 3.0
MEETING_WEIGHT = 4.0
ONE_WAY_CAP = 1.0  # one-way traffic that still counts (someone has to write first)
FORMULA_VERSION = 2  # 1: issue 17's S = R + min(O, R + 1); 2: two-way W and one-way U, meetings
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


def total(two_way: float, one_way: float) -> float:
    """S from today's decayed sums W (two-way contact) and U (one-way traffic)."""
    return two_way + min(one_way, ONE_WAY_CAP)


def from_total(s: float) -> int:
    """Strength 0-100 from S (monotonic: ranking by S ranks by strength)."""
    return max(0, min(100, round(100.0 * (1.0 - math.exp(-s / SCALE)))))


def score(two_way: float, one_way: float) -> int:
    """Strength 0-100 from today's decayed sums W and U."""
    return from_total(total(two_way, one_way))


def event_weight(kind: str) -> float:
    return {"sent": SENT_WEIGHT, "received": RECEIVED_WEIGHT, "reply": REPLY_WEIGHT, "meeting": MEETING_WEIGHT}[kind]
