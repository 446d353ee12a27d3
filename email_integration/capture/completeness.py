"""The completeness view: does the CRM hold every message Gmail's investor search lists in a mailbox?

The verification is the investor search without a window, which every scheduled run does anyway (and every
listing); "verify now" runs it alone, list calls only (5 quota units a page). Each listed id is one of:
held (in the CRM), private (held, in a conversation a holder marked private), excluded (the mailbox's
exclusions cover a participant), refused (fetched, and no investor is in it: a lookalike Gmail's word matching
listed), or missing: a gap, with the reason the capture knows (a fetch failing, headers unread, a listing under
way) or none. A gap still there after two scheduled runs is an alert on the Admin page.

Per investor: held and private ids count for every investor they are linked to; the others are attributed by
searching each term of the query that listed them on its own (at most MAX_ATTRIBUTION_QUERIES a verification,
only for queries that listed something the mailbox does not hold).

A mixin of sync.AccountSync (it uses the run's connection, client and searches).
"""
from __future__ import annotations

from backend.address_policy import capturable
from backend.db import atomic
from backend.investors_db import investor_addresses
from email_integration.gmail.search_query import ONLY_SPAM, query_chunks, search_forms, source_queries

from . import db_accounts, db_completeness, db_emails, db_markers, sources
from .targeted import current_terms

MAX_ATTRIBUTION_QUERIES = 40
ALERT_RUNS = 2  # a gap that survives this many scheduled runs is an alert


def term_investors(rows, terms) -> dict[str, set[int]]:
    """{search term: investor ids} from (investor_id, kind, value) rows: a domain term also stands for the
    investors whose addresses it covers (their own address is then not searched)."""
    found: dict[str, set[int]] = {t: set() for t in terms}
    for investor_id, kind, value in rows:
        for form in search_forms((value or "").lstrip("@")):
            host = form.rpartition("@")[2]
            for term in found:
                if term == form or ("@" not in term and (host == term or host.endswith("." + term))):
                    found[term].add(investor_id)
    return found


def missing_reason(gmail_id: str, queue: dict, screen_failed: dict, listing: bool, by: str) -> str:
    if gmail_id in queue:
        entry = queue[gmail_id]
        if entry["attempts"] >= db_accounts.MAX_FETCH_ATTEMPTS:
            return f"given up after {entry['attempts']} tries ({entry['last_error'] or 'no error text'}); a full resync tries again"
        return f"fetching failed ({entry['last_error'] or 'no error text'}); retried on the next run"
    if gmail_id in screen_failed:
        return f"its headers could not be read ({screen_failed[gmail_id]}); read again on the next run"
    if listing:
        return "the mailbox's listing is still under way"
    if by == "verify":
        return "not fetched yet: the next sync fetches it"
    return "Gmail lists it but the capture did not fetch it: no reason known"


class Verification:
    """Methods of AccountSync for the completeness view."""

    def _verify(self, listed: dict[str, str], by: str) -> dict:
        """Classify what the investor search listed, store the figures and gaps; the mailbox's figures."""
        ids = list(listed)
        held = db_completeness.held(self.conn, self.account_id, ids)
        marks = db_markers.marked(self.conn, self.account_id, ids)
        queue = db_completeness.queued(self.conn, self.account_id, ids)
        listing = bool(db_accounts.get_sync_state(self.conn, self.account_id)["listing_kind"])
        category = {}
        for gmail_id in ids:
            if gmail_id in held:
                category[gmail_id] = "private" if held[gmail_id]["private"] else "held"
            else:
                category[gmail_id] = marks.get(gmail_id, "missing")
        others = [i for i in ids if i not in held]
        attributed = self._attribute(others) if others else {}
        spam = len(self._list_ids(self._queries(where=ONLY_SPAM)))
        mailbox = dict.fromkeys(db_completeness.FIGURES, 0)
        figures: dict[int, dict] = {0: mailbox}
        for gmail_id, kind in category.items():
            mailbox[kind] += 1
            investors = held[gmail_id]["investor_ids"] if gmail_id in held else attributed.get(gmail_id, [])
            for investor_id in investors:
                row = figures.setdefault(investor_id, dict.fromkeys(db_completeness.FIGURES, 0))
                row[kind] += 1
        for row in figures.values():
            row["listed"] = sum(row[k] for k in ("held", "private", "excluded", "refused", "missing"))
        mailbox["spam"] = spam
        mailbox["via_sources"] = len(db_emails.known_gmail_ids(self.conn, self.account_id, list(self.found_via_sources)))
        gaps = {i: {"thread_id": listed[i], "investor_ids": attributed.get(i, []),
                    "reason": missing_reason(i, queue, self.screen_failed, listing, by)}
                for i, kind in category.items() if kind == "missing"}
        with atomic(self.conn):
            db_completeness.replace_figures(self.conn, self.account_id, figures, by)
            db_completeness.record_gaps(self.conn, self.account_id, gaps, count_run=by == "run")
        return mailbox

    def _attribute(self, gmail_ids: list[str]) -> dict[str, list[int]]:
        """{gmail id: investor ids} for ids the mailbox does not hold, by searching on its own each term of the
        query that listed them (the search recorded which: `listed_by`)."""
        terms = current_terms(self.conn, self.config.workspace_domain)
        rows = capturable(self.conn, investor_addresses(self.conn), self.config.workspace_domain)
        investors_of = term_investors(rows, terms)
        values_of = dict(query_chunks(terms))
        by_query: dict[str, set[str]] = {}
        for gmail_id in gmail_ids:
            by_query.setdefault(self.listed_by.get(gmail_id, ""), set()).add(gmail_id)
        found: dict[str, set[int]] = {}
        budget = MAX_ATTRIBUTION_QUERIES
        for query, inside in sorted(by_query.items()):
            for value in values_of.get(query, ()):
                if budget <= 0:
                    break
                budget -= 1
                for gmail_id in inside & set(self._list_ids([query_chunks([value])[0][0]], record=False)):
                    found.setdefault(gmail_id, set()).update(investors_of.get(value, ()))
        return {i: sorted(v) for i, v in found.items()}

    def verify_now(self) -> dict:
        """The investor search alone (list calls only), classified: the completeness view, fresh."""
        return self._verify(self._search_listed(), "verify")

    def _search_listed(self) -> dict[str, str]:
        """What the investor queries list (no header checks, no fetches), and which of the covered sources'
        mail the mailbox holds."""
        listed = self._list_ids(self._queries())
        covered = sources.covered(self.conn)
        from_sources = [i for i in self._list_ids(source_queries(covered["services"], covered["groups"]), record=False)
                        if i not in listed]
        self.found_via_sources = set(from_sources)
        return listed
