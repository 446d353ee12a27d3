"""The integration's side of the relationship view: the provider backend.email_source asks for an
investor's emails and cards, its team connections and the grid's strength column.

`register()` installs it (server.main() calls it when CRM_GMAIL_INTEGRATION_ENABLED is on). Strength
is precomputed per (investor, teammate) in email_relationship_stats and recomputed on read for the
investors marked dirty or edited since, or for all when the teammates changed.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import itertools
import logging
import sqlite3

from backend import email_source
from backend.db import ISO_FORMAT, atomic
from backend.investors_db import investors_rev, people_rows
from email_integration.calendar import db_meetings
from email_integration.calendar import meetings as calendar_meetings
from email_integration.capture.db_queries import thread_subject, visible_emails
from email_integration.capture.matcher import InvestorIndex, index_for
from email_integration.config import CONFIG
from email_integration.privacy.db_visibility import LEVEL_NAMES
from email_integration.review import db_meeting_cards, db_proposals, meeting_cards, proposals
from email_integration.review.drafter import email_people

from . import db_merge, db_relationships, exchanges, strength

log = logging.getLogger(__name__)


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
        self._with_people(conn, investor_id, [item["email"] for item in items])
        ids = db_relationships.pending_card_ids(conn, viewer["id"], investor_id, bound("card"), limit)
        ids += db_meeting_cards.pending_ids_of_investor(conn, viewer["id"], investor_id, bound("card"), limit)
        for card in proposals.cards(conn, viewer["id"], "pending", len(ids), ids) if ids else []:
            items.append({"kind": "card", "at": proposals.card_date(card) or card["created_at"], "id": card["id"],
                          "card": card})
        now = _now().strftime(ISO_FORMAT)
        meetings = db_meetings.meetings_of_investor(conn, viewer["id"], investor_id, bound("meeting"), limit, now)
        ids = [m["id"] for m in meetings]
        people, mates = db_meetings.shown_attendees(conn, meetings), db_meetings.teammates_of(conn, ids)
        for meeting in meetings:
            items.append({"kind": "meeting", "at": meeting["start_at"], "id": meeting["id"],
                          "meeting": _meeting_item(meeting, people[meeting["id"]], mates[meeting["id"]])})
        return items

    def next_meeting(self, conn, investor_id: int, viewer: dict) -> dict | None:
        """The investor's next meeting (not yet ended, a teammate attends), as the viewer may see it."""
        meeting = db_meetings.next_meeting(conn, viewer["id"], investor_id, _now().strftime(ISO_FORMAT))
        if meeting is None:
            return None
        return _meeting_item(meeting, db_meetings.shown_attendees(conn, [meeting])[meeting["id"]],
                             db_meetings.teammates_of(conn, [meeting["id"]])[meeting["id"]])

    def _with_people(self, conn, investor_id: int, emails: list[dict]) -> None:
        """Each timeline email's `people`: whom of the investor's people it was with (issue 24, item 8)."""
        index = index_for(conn, [investor_id], self.own_domain) if emails else None
        for email in emails:
            email["people"] = email_people(index, investor_id, email["from"], [*email["to"], *email["cc"]])

    def people_changed(self, conn, investor_id: int) -> None:
        """The investor's people changed: its pending CRM-drafted cards name the right person (issue 24, item 8)."""
        proposals.redraft_for_people(conn, investor_id, self.own_domain)

    def addresses_changed(self, conn, investor_id: int) -> None:
        """Inside the core's PATCH transaction: the investor's meetings follow its addresses now, not at the next
        full sync (an address removed takes the meetings only it matched away, with their titles and guests)."""
        calendar_meetings.rematch(conn, investor_id)

    # -- merging investors (issue 24, item 5) -------------------------------------------------
    def merge_investors(self, conn, keep: int, gone: int) -> None:
        """Inside the core's merge transaction: captured email, cards and stats follow the notes."""
        db_merge.merge_investors(conn, keep, gone)

    # -- names for the audit log (issue 24, item 7) ------------------------------------------------
    def audit_targets(self, conn, entries: list[dict], viewer: dict) -> dict[tuple[str, str], dict]:
        """{(target_type, target_id): {name, href, ...}} for the integration's audit targets: a conversation
        by its investors and subject as the viewer may see them (a Bcc's investor is its sender's alone; a private
        conversation, investors and subject, is its mailboxes' own),
        a mailbox by its owner, a proposed note by its investor."""
        ids: dict[str, list[int]] = {}
        for entry in entries:
            if entry["target_id"] and entry["target_id"].isdigit():
                ids.setdefault(entry["target_type"], []).append(int(entry["target_id"]))
        found: dict[tuple[str, str], dict] = {}
        threads = sorted(set(ids.get("email_thread", [])))
        for thread_id, people in db_relationships.thread_investors(conn, viewer["id"], threads).items():
            shown = visible_emails(conn, viewer["id"], thread_id)
            found[("email_thread", str(thread_id))] = {**_named(people), "subject": thread_subject(shown)}
        for thread_id in threads:
            found.setdefault(("email_thread", str(thread_id)), {"name": None, "href": None, "subject": None})
        for account_id, owner in db_relationships.account_owners(conn, sorted(set(ids.get("email_account", [])))).items():
            found[("email_account", str(account_id))] = {"name": owner["name"], "email": owner["email"], "href": None}
        for proposal_id, investor in db_relationships.proposal_investors(
                conn, sorted(set(ids.get("email_proposal", [])))).items():
            found[("email_proposal", str(proposal_id))] = _named([investor])
        return found

    # -- connections ------------------------------------------------------------------------
    def connections(self, conn, investor_id: int, viewer: dict) -> list[dict]:
        return self.connections_and_people(conn, investor_id, viewer)[0]

    def connections_and_people(self, conn, investor_id: int, viewer: dict) -> tuple[list[dict], list[dict]]:
        """(connections, [{person: {id, name, title}, connections}]) from one read of the investor's mail. Per
        person of the investor (issue 24, item 8; [] without people) the history is the emails with them
        (drafter.email_people's rule: the sender when the sender is one of them, else the To and Cc)."""
        now, mates = _now(), db_relationships.teammates(conn)
        index, rows, recipients, investor_side = self._exchanges(conn, mates, [investor_id])
        overall = _ranked(exchanges.totals(itertools.chain(exchanges.events(rows, recipients, mates, investor_side),
                                                           _meeting_stream(conn, mates, [investor_id], now)), now),
                          mates, now)
        people = people_rows(conn, [investor_id])
        if not people:
            return overall, []
        addressed = db_proposals.recipients(conn, sorted({r["email_id"] for r in rows}))
        theirs: dict[int, list] = {p["id"]: [] for p in people}
        for r in rows:  # in exchange_rows' order, which events() reads
            to = addressed[r["email_id"]]
            for person in email_people(index, investor_id, {"email": r["sender"], "name": r["sender_name"]},
                                       [*to["to"], *to["cc"]]):
                theirs[person["id"]].append(r)
        return overall, [{"person": {k: p[k] for k in ("id", "name", "title")},
                          "connections": _ranked(exchanges.totals(
                              exchanges.events(theirs[p["id"]], recipients, mates, investor_side), now), mates, now)}
                         for p in people]

    def _exchanges(self, conn, mates: dict, investor_ids) -> tuple:
        """(index, exchange rows, teammate recipients, investor_side(investor_id, sender)) of these investors."""
        index = self._index(conn, investor_ids)
        rows = db_relationships.exchange_rows(conn, investor_ids)
        recipients = db_relationships.teammate_recipients(conn, mates, investor_ids)

        owners: dict[str, set[int]] = {}  # sender → the investors it belongs to (senders repeat a lot)

        def investor_side(investor_id: int, sender: str) -> bool:
            if sender not in owners:
                owners[sender] = {link[0] for link in index.match([sender])} if sender else set()
            return investor_id in owners[sender]

        return index, rows, recipients, investor_side

    def _totals(self, conn, mates: dict, investor_ids, now) -> dict:
        _index, rows, recipients, investor_side = self._exchanges(conn, mates, investor_ids)
        return exchanges.totals(itertools.chain(exchanges.events(rows, recipients, mates, investor_side),
                                                _meeting_stream(conn, mates, investor_ids, now)), now)

    def _index(self, conn, investor_ids) -> InvestorIndex:
        return index_for(conn, investor_ids, self.own_domain)

    # -- the grid ---------------------------------------------------------------------------
    def grid(self, conn) -> dict[int, dict]:
        """Per investor: the closest teammate (_ranked's order, so the grid and the investor page name the same
        one: the higher strength 0-100; then the newer two-way contact, received, sent; the lower id), their
        strength, the newest two-way contact of anyone on the team, and when the next meeting starts."""
        self.refresh(conn)
        factor = strength.decay_since_epoch(_now())
        best: dict[int, tuple] = {}
        two_way: dict[int, str] = {}
        for investor_id, user_id, received, sent, last_two_way, last_received, last_sent in db_relationships.stats_rows(conn):
            rank = (strength.score(received * factor, sent * factor), last_two_way or "", last_received or "",
                    last_sent or "", -user_id)
            if investor_id not in best or rank > best[investor_id]:
                best[investor_id] = rank
            if last_two_way and last_two_way > two_way.get(investor_id, ""):
                two_way[investor_id] = last_two_way
        people = {mate["id"]: mate for mate in db_relationships.teammates(conn).values()}
        found = {investor_id: {"strength": rank[0], "last_two_way_at": two_way.get(investor_id),
                               "closest": people.get(-rank[-1])} for investor_id, rank in best.items()}
        for investor_id, start in db_meetings.next_meeting_starts(conn, _now().strftime(ISO_FORMAT)).items():
            found.setdefault(investor_id, {})["next_meeting_at"] = start  # when only: the title is per viewer
        return found

    def refresh(self, conn) -> None:
        """Recompute the stats of dirty investors and of investors edited since the last refresh (their
        addresses decide which senders are theirs); of all of them when the teammates changed."""
        if self._stale(conn, self._basis(conn)) is None:
            return  # the usual case, answered without taking the write lock a sync may be holding
        try:
            self._recompute(conn)
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
            # A sync held the write lock past busy_timeout: serve the stats as they are, refresh next read.
            log.warning("relationship stats not refreshed this time: %s", error)

    def _recompute(self, conn) -> None:
        with atomic(conn):
            basis = self._basis(conn)
            mates = basis[0]
            investor_ids = self._stale(conn, basis)
            if investor_ids is None:
                return
            found = self._totals(conn, mates, None if investor_ids == "all" else sorted(investor_ids), _now())
            rows = [(investor_id, user_id, t.two_way_anchored, t.one_way_anchored, t.last_sent, t.last_received,
                     t.last_two_way) for (investor_id, user_id), t in found.items()]
            db_relationships.replace_stats(conn, None if investor_ids == "all" else investor_ids, rows,
                                           (_fingerprint(basis), investors_rev(conn),
                                            db_relationships.newest_investor_change(conn)))

    @staticmethod
    def _basis(conn) -> tuple:
        return db_relationships.teammates(conn), db_relationships.privacy_state(conn)

    @staticmethod
    def _stale(conn, basis: tuple):
        """None when the stored stats are current; "all"; or the set of investor ids to recompute.
        `basis`: (teammates, privacy_state): what every stored stat depends on besides the emails."""
        fingerprint, rev, seen = db_relationships.basis(conn)
        if fingerprint != _fingerprint(basis):
            return "all"
        ids = set(db_relationships.dirty_ids(conn))
        if rev != investors_rev(conn):
            ids |= set(db_relationships.investors_changed_since(conn, seen))
        return ids or None


def _meeting_stream(conn, mates: dict, investor_ids, now):
    """The meetings the teammates attended with these investors (None: all), started by `now`, as events."""
    met = db_meetings.attended_rows(conn, investor_ids, before=now.strftime(ISO_FORMAT))
    people = {mate["id"] for mate in mates.values()}
    return exchanges.meeting_events(r for r in met if r["user_id"] in people)


def _ranked(found: dict, mates: dict, now) -> list[dict]:
    """Connections from exchanges.totals' {(investor, user): Totals}: strongest first; ties: the newer two-way
    contact, then received, then sent, then the lower id (stable sorts, least significant key first)."""
    people = {m["id"]: m for m in mates.values()}
    answer = []
    for (_investor, user_id), pair in found.items():
        person = people[user_id]
        answer.append({"user": {"id": user_id, "name": person["name"], "email": person["email"]},
                       "strength": pair.strength(now), "last_sent": pair.last_sent,
                       "last_received": pair.last_received, "last_two_way": pair.last_two_way,
                       "last_meeting": pair.last_meeting, **pair.counts})
    answer.sort(key=lambda c: c["user"]["id"])
    for stamp in ("last_sent", "last_received", "last_two_way"):
        answer.sort(key=lambda c: c[stamp] or "", reverse=True)
    answer.sort(key=lambda c: c["strength"], reverse=True)
    return answer


def _fingerprint(basis: tuple) -> str:
    """Who the teammates are (their addresses) and the privacy settings that decide which mail counts
    (db_relationships.privacy_state): what every stored stat depends on besides the emails."""
    mates, privacy = basis
    return hashlib.sha256(repr((sorted((a, m["id"]) for a, m in mates.items()), [tuple(r) for r in privacy],
                                strength.FORMULA_VERSION)).encode()).hexdigest()


def _named(people: list[dict]) -> dict:
    """An audit target named by its investors: "Jonas Berg (Fjord Capital)", the first one's page as the link."""
    names = [f"{p['name']} ({p['firm']})" if p.get("firm") else p["name"] for p in people]
    return {"name": ", ".join(names) or None, "href": f"/investors/{people[0]['id']}" if people else None,
            "investors": [{"id": p["id"], "name": p["name"], "firm": p.get("firm")} for p in people]}


def _email_item(row: dict, people: dict) -> dict:
    return {"id": row["id"], "thread_id": row["thread_id"], "date": row["date"], "subject": row["subject"],
            "snippet": row["snippet"], "from": {"email": row["from_email"], "name": row["from_name"] or ""},
            "to": people["to"], "cc": people["cc"], "visibility": row["visibility"]}


def _meeting_item(meeting: dict, attendees: list[dict], teammates: list[dict]) -> dict:
    """A meeting on the timeline or as the next one: what the viewer's level shows (db_meetings.redact)."""
    return {"id": meeting["id"], "start": meeting["start_at"], "end": meeting["end_at"], "title": meeting["title"],
            "description": meeting["description"], "location": meeting["location"], "attendees": attendees,
            "teammates": teammates, "visibility": LEVEL_NAMES[meeting["level"]]}


def register(config=CONFIG) -> EmailRelationships:
    """Install the provider for this process (server.main() does, when the integration is enabled)."""
    provider = EmailRelationships(config.workspace_domain)
    email_source.register(provider)
    return provider
