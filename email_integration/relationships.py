"""The integration's side of the relationship view: the provider backend.email_source asks for an
investor's emails and cards, its team connections and the grid's strength column.

`register()` installs it (server.main() calls it when CRM_GMAIL_INTEGRATION_ENABLED is on). Strength
is precomputed per (investor, teammate) in email_relationship_stats and recomputed on read for the
investors marked dirty, or for all when the teammates or the investors' addresses changed.
"""
from __future__ import annotations

import datetime as _dt
import hashlib

from backend import email_source
from backend.db import atomic
from backend.investors_db import investor_addresses, investors_rev

from . import db_proposals, db_relationships, exchanges, proposals
from .config import CONFIG
from .matcher import InvestorIndex


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)


class EmailRelationships:
    """backend.email_source's provider over this database's captured email."""

    def __init__(self, own_domain: str = ""):
        self.own_domain = own_domain

    # -- timeline ---------------------------------------------------------------------------
    def timeline(self, conn, investor_id: int, viewer: dict, bound, limit: int) -> list[dict]:
        rows = db_relationships.emails_before(conn, viewer["id"], investor_id, bound("email"), limit)
        people = db_proposals.recipients(conn, [r["id"] for r in rows])
        items = [{"kind": "email", "at": r["at"], "id": r["id"], "email": _email_item(r, people[r["id"]])}
                 for r in rows]
        card_bound = bound("card")
        for card in proposals.cards(conn, viewer["id"], "pending", 1000, investor_id):
            at = card["email"]["date"] or card["created_at"]
            if card_bound is None or (at, card["id"]) < card_bound:
                items.append({"kind": "card", "at": at, "id": card["id"], "card": card})
        return items

    # -- connections ------------------------------------------------------------------------
    def connections(self, conn, investor_id: int, viewer: dict) -> list[dict]:
        now = _now()
        mates = db_relationships.teammates(conn)
        found = self._totals(conn, mates, [investor_id], now)
        people = {m["id"]: m for m in mates.values()}
        answer = []
        for (_investor, user_id), pair in found.items():
            person = people[user_id]
            answer.append({"user": {"id": user_id, "name": person["name"], "email": person["email"]},
                           "strength": pair.strength(now), "last_sent": pair.last_sent,
                           "last_received": pair.last_received, "last_two_way": pair.last_two_way, **pair.counts})
        answer.sort(key=lambda c: (-c["strength"], _desc(c["last_two_way"]), _desc(c["last_received"]),
                                   _desc(c["last_sent"]), c["user"]["id"]))
        return answer

    def _totals(self, conn, mates: dict, investor_ids, now) -> dict:
        index = self._index(conn, investor_ids)
        rows = db_relationships.exchange_rows(conn, investor_ids)
        recipients = db_relationships.teammate_recipients(conn, mates, investor_ids)

        def investor_side(investor_id: int, sender: str) -> bool:
            return any(link[0] == investor_id for link in index.match([sender])) if sender else False

        return exchanges.totals(exchanges.events(rows, recipients, mates, investor_side), now)

    def _index(self, conn, investor_ids) -> InvestorIndex:
        rows = investor_addresses(conn)
        if investor_ids is not None:
            wanted = set(investor_ids)
            rows = [r for r in rows if r[0] in wanted]
        return InvestorIndex(rows, self.own_domain)

    # -- the grid ---------------------------------------------------------------------------
    def grid(self, conn) -> dict[int, dict]:
        self.refresh(conn)
        now = _now()
        facts: dict[int, dict] = {}
        for row in db_relationships.all_stats(conn):
            pair = exchanges.Totals(received_anchored=row["received_anchored"], sent_anchored=row["sent_anchored"])
            score = pair.strength(now)
            fact = facts.setdefault(row["investor_id"], {"strength": -1, "closest": None, "last_two_way_at": None,
                                                         "_tie": None})
            tie = (score, row["last_two_way"] or "", -row["user_id"])
            if fact["_tie"] is None or tie > fact["_tie"]:
                fact.update(strength=score, _tie=tie,
                            closest={"id": row["user_id"], "name": row["name"], "email": row["email"]})
            if row["last_two_way"] and (fact["last_two_way_at"] or "") < row["last_two_way"]:
                fact["last_two_way_at"] = row["last_two_way"]
        for fact in facts.values():
            del fact["_tie"]
        return facts

    def refresh(self, conn) -> None:
        """Recompute the stats of dirty investors (all of them when the basis changed)."""
        with atomic(conn):
            mates = db_relationships.teammates(conn)
            fingerprint = _fingerprint(conn, mates)
            if fingerprint != db_relationships.basis(conn):
                investor_ids = None
            else:
                investor_ids = db_relationships.dirty_ids(conn)
                if not investor_ids:
                    return
            found = self._totals(conn, mates, investor_ids, _now())
            rows = [(investor_id, user_id, t.received_anchored, t.sent_anchored, t.last_sent, t.last_received,
                     t.last_two_way) for (investor_id, user_id), t in found.items()]
            db_relationships.replace_stats(conn, investor_ids, rows, fingerprint if investor_ids is None else None)


def _desc(value: str | None) -> str:
    """A sort key putting newer timestamps first (and None last) in an ascending sort."""
    return "".join(chr(0x10FFFF - ord(c)) for c in value) if value else "\U0010ffff"


def _fingerprint(conn, mates: dict) -> str:
    """What stored stats depend on besides the emails: who the teammates are, and investors' addresses."""
    basis = repr((sorted((a, m["id"]) for a, m in mates.items()), investors_rev(conn)))
    return hashlib.sha256(basis.encode()).hexdigest()


def _email_item(row: dict, people: dict) -> dict:
    return {"id": row["id"], "thread_id": row["thread_id"], "date": row["date"], "subject": row["subject"],
            "snippet": row["snippet"], "from": {"email": row["from_email"], "name": row["from_name"] or ""},
            "to": people["to"], "cc": people["cc"], "visibility": row["visibility"]}


def register(config=CONFIG) -> EmailRelationships:
    """Install the provider for this process (server.main() does, when the integration is enabled)."""
    provider = EmailRelationships(config.workspace_domain)
    email_source.register(provider)
    return provider
