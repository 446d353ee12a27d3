"""Who wrote to whom: an investor's linked emails turned into per-teammate events and totals.

An email sent by a teammate is a "sent" event for them. An email from the investor's side (its
sender matches the investor's addresses or domains, by the matcher's rules) is, for each teammate
among its recipients, a "reply" when that teammate wrote earlier in the conversation and a
"received" otherwise. Mail from third parties counts for nobody. A conversation is two-way for a
teammate once it holds both their email to the investor and the investor's to them.
Pure: rows in, totals out (strength.py has the formula).
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from . import strength

WINDOWS = {"90d": 90, "12m": 365}


@dataclass
class Totals:
    """One (investor, teammate) pair's history."""
    received_anchored: float = 0.0
    sent_anchored: float = 0.0
    last_sent: str | None = None
    last_received: str | None = None
    last_two_way: str | None = None
    counts: dict = field(default_factory=lambda: {f"{d}_{w}": 0 for d in ("sent", "received") for w in WINDOWS})

    def strength(self, now: _dt.datetime) -> int:
        factor = strength.decay_since_epoch(now)
        return strength.score(self.received_anchored * factor, self.sent_anchored * factor)


def events(rows, recipients: dict[int, set[str]], teammates: dict[str, dict], investor_side):
    """(investor_id, user_id, kind, at, thread) per event, from exchange_rows-ordered rows.

    `recipients`: {email_id: teammate addresses it went to}; `investor_side(investor_id, sender)`.
    """
    current, wrote = None, set()
    for row in rows:
        thread = (row["investor_id"], row["thread_id"] if row["thread_id"] is not None else -row["email_id"])
        if thread != current:
            current, wrote = thread, set()
        sender = row["sender"] or ""
        mate = teammates.get(sender)
        if mate is not None:
            wrote.add(mate["id"])
            yield row["investor_id"], mate["id"], "sent", row["at"], thread
        elif investor_side(row["investor_id"], sender):
            for user_id in sorted({teammates[a]["id"] for a in recipients.get(row["email_id"], ())}):
                yield row["investor_id"], user_id, "reply" if user_id in wrote else "received", row["at"], thread


def totals(event_stream, now: _dt.datetime) -> dict[tuple[int, int], Totals]:
    """{(investor_id, user_id): Totals} from events: anchored sums, last dates, window counts."""
    found: dict[tuple[int, int], Totals] = {}
    threads: dict[tuple, list] = {}  # (investor, user, thread) → [has sent, has received, newest at]
    cutoffs = {w: (now - _dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ") for w, days in WINDOWS.items()}
    keys = {(d, w): f"{d}_{w}" for d in ("sent", "received") for w in WINDOWS}
    for investor_id, user_id, kind, at, thread in event_stream:
        pair = found.get((investor_id, user_id))
        if pair is None:
            pair = found[(investor_id, user_id)] = Totals()
        term = strength.anchored(at, strength.event_weight(kind), now)
        if kind == "sent":
            direction = "sent"
            pair.sent_anchored += term
            if pair.last_sent is None or at > pair.last_sent:
                pair.last_sent = at
        else:
            direction = "received"
            pair.received_anchored += term
            if pair.last_received is None or at > pair.last_received:
                pair.last_received = at
        for window, cutoff in cutoffs.items():
            if at >= cutoff:
                pair.counts[keys[direction, window]] += 1
        seen = threads.setdefault((investor_id, user_id, thread), [False, False, at])
        seen[0 if kind == "sent" else 1] = True
        seen[2] = max(seen[2], at)
    for (investor_id, user_id, _thread), (has_sent, has_received, newest) in threads.items():
        if has_sent and has_received:
            pair = found[(investor_id, user_id)]
            pair.last_two_way = max(pair.last_two_way or newest, newest)
    return found
