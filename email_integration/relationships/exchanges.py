"""Who wrote to whom, and who met whom: an investor's linked emails and meetings turned into per-teammate events
and totals.

An email sent by a teammate is a "sent" event for them. An email from the investor's side (its
sender matches the investor's addresses or domains, by the matcher's rules) is, for each teammate
among its recipients, a "reply" when that teammate wrote earlier in the conversation and a
"received" otherwise. Mail from third parties counts for nobody. A conversation is two-way for a
teammate once it holds both their email to the investor and the investor's to them; a meeting the
teammate attended is a "meeting" event, two-way by nature (meeting_events).
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
    two_way_anchored: float = 0.0  # W: two-way conversations and meetings (strength.py)
    one_way_anchored: float = 0.0  # U: conversations that went one way only
    last_sent: str | None = None
    last_received: str | None = None
    last_two_way: str | None = None
    last_meeting: str | None = None
    counts: dict = field(default_factory=lambda: {f"{d}_{w}": 0 for d in ("sent", "received", "meetings")
                                                  for w in WINDOWS})

    def strength(self, now: _dt.datetime) -> int:
        factor = strength.decay_since_epoch(now)
        return strength.score(self.two_way_anchored * factor, self.one_way_anchored * factor)


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


def meeting_events(rows):
    """(investor_id, user_id, "meeting", at, thread) per meeting a teammate attended (db_meetings.attended_rows)."""
    for row in rows:
        yield row["investor_id"], row["user_id"], "meeting", row["at"], ("meeting", row["meeting_id"])


def totals(event_stream, now: _dt.datetime) -> dict[tuple[int, int], Totals]:
    """{(investor_id, user_id): Totals} from events: anchored sums (two-way and one-way), last dates, window counts."""
    found: dict[tuple[int, int], Totals] = {}
    threads: dict[tuple, list] = {}  # (investor, user, thread) → [has sent, has received, newest at, Σ terms]
    cutoffs = {w: (now - _dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ") for w, days in WINDOWS.items()}
    direction_of = {"sent": "sent", "received": "received", "reply": "received", "meeting": "meetings"}
    last_of = {"sent": "last_sent", "received": "last_received", "meetings": "last_meeting"}
    for investor_id, user_id, kind, at, thread in event_stream:
        pair = found.get((investor_id, user_id))
        if pair is None:
            pair = found[(investor_id, user_id)] = Totals()
        direction = direction_of[kind]
        last = last_of[direction]
        if getattr(pair, last) is None or at > getattr(pair, last):
            setattr(pair, last, at)
        for window, cutoff in cutoffs.items():
            if at >= cutoff:
                pair.counts[f"{direction}_{window}"] += 1
        seen = threads.setdefault((investor_id, user_id, thread), [False, False, at, 0.0])
        seen[0] = seen[0] or kind in ("sent", "meeting")
        seen[1] = seen[1] or kind != "sent"
        seen[2] = max(seen[2], at)
        seen[3] += strength.anchored(at, strength.event_weight(kind), now)
    for (investor_id, user_id, _thread), (has_sent, has_received, newest, terms) in threads.items():
        pair = found[(investor_id, user_id)]
        if has_sent and has_received:
            pair.two_way_anchored += terms
            pair.last_two_way = max(pair.last_two_way or newest, newest)
        else:
            pair.one_way_anchored += terms
    return found
