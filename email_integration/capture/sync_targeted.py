"""AccountSync's investor-scope half (CRM_GMAIL_CAPTURE_SCOPE=investors): the investor search, whole-
thread fetches, targeted backfills of new investor terms, and the check of new ids from history.

A mixin of sync.AccountSync (it uses the run's connection, client, tallies and stop checks);
what to fetch is decided by the pure functions of targeted.py and gmail/search_query.py.
"""
from __future__ import annotations

import datetime as _dt
import time

from backend.db import ISO_FORMAT, atomic
from email_integration.gmail.search_query import build_queries, excluded_queries
from email_integration.google.errors import AuthError, NotFoundError

from . import db_accounts, db_capture, db_emails
from .targeted import current_terms, plan_fetches

# New mail is searched for from this long before the last good sync: room for clock skew and for mail
# Gmail accepted a while before it reached history. Older mail arriving now (an import, a message
# restored from the trash) is found by the next scheduled run's search without a window.
WINDOW_SLACK_SEC = 86400


class TargetedCapture:
    """Methods of AccountSync for the investors scope."""

    def _fetch_conversations(self, groups: dict, seen_gen: int = 0, reason: str = "sync", investor=()) -> None:
        """Fetch {threadId: [message ids]}: whole threads where that is cheaper, the rest one by one.

        `investor`: the ids the investor search found. They are fetched before the other messages (their
        threads' teammate replies): a reply fetched in an earlier batch than its investor mail would find no
        investor conversation to join (ingest.py), and nothing looks at it again.
        """
        if not groups:
            return
        cost = self.config.quota.cost
        threads, singles = plan_fetches(groups, cost("messages.get"), cost("threads.get"))
        for start in range(0, len(threads), self.config.batch_size):
            self._check_stop()
            found, failed = self.client.batch_get_threads(threads[start:start + self.config.batch_size])
            for resource in found.values():
                for message in resource.get("messages") or []:
                    self._fetch_bodies_by_reference(message)
            with atomic(self.conn):
                for resource in found.values():
                    messages = resource.get("messages") or []
                    self.tally["fetched"] += len(messages)
                    for gmail_id, message in self._investor_mail_first((m["id"], m) for m in messages):
                        self._store_one(gmail_id, message, seen_gen, reason)
                for thread_id, error in failed.items():
                    if isinstance(error, NotFoundError):  # the whole conversation is gone
                        for gmail_id in groups[thread_id]:
                            db_accounts.dequeue_fetch(self.conn, self.account_id, gmail_id)
                            self._remove(gmail_id)
                    else:
                        singles.extend(groups[thread_id])  # one by one instead (queued on failure)
            auth = next((e for e in failed.values() if isinstance(e, AuthError)), None)
            if auth is not None:
                raise auth
        singles.sort(key=lambda gmail_id: gmail_id not in investor)  # stable: thread order otherwise kept
        self._fetch_and_store(singles, seen_gen, reason)

    # -- investor search (targeted scope) -----------------------------------------------------
    def _queries(self, terms=None, after: int | None = None) -> list[str]:
        terms = current_terms(self.conn, self.config.workspace_domain) if terms is None else terms
        return build_queries(terms, self.excluded, after=after)

    def _search(self, queries: list[str], after: int | None = None) -> dict[str, str]:
        """{message id: threadId} of everything the queries find (spam and trash excluded), less the mail
        of exclusions too many to fit in the queries (`after`: the queries' window)."""
        found = self._list_ids(queries)
        for gmail_id in self._list_ids(excluded_queries(self.excluded, after=after)):
            found.pop(gmail_id, None)
        self.tally["listed"] += len(found)
        return found

    def _list_ids(self, queries: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for q in queries:
            for refs, _ in self.client.iter_message_refs(q=q, page_size=self.config.backfill_page_size):
                self._check_stop()
                for ref in refs:
                    found[ref["id"]] = ref.get("threadId") or ""
        return found

    def _fetch_unknown(self, found: dict[str, str], reason: str, with_thread_mates: bool = False) -> None:
        """Fetch what of `found` {id: threadId} the mailbox does not hold; `with_thread_mates`: also the
        other messages of their threads (an id-only listing, 5 units per 500 ids, finds them)."""
        known = db_emails.known_gmail_ids(self.conn, self.account_id, list(found))
        unknown = {i: t for i, t in found.items() if i not in known}
        if unknown and with_thread_mates:
            unknown.update(self._thread_mates(set(unknown.values()) - {""}))
        groups: dict[str, list] = {}
        for gmail_id, thread_id in unknown.items():
            groups.setdefault(thread_id, []).append(gmail_id)
        self._fetch_conversations(groups, reason=reason, investor=found)

    def _thread_mates(self, threads: set[str]) -> dict[str, str]:
        """{id: threadId} of the messages of `threads` this mailbox does not hold yet."""
        mates: dict[str, str] = {}
        for refs, _ in self.client.iter_message_refs(q=self.listing_q, page_size=self.config.backfill_page_size):
            self._check_stop()
            inside = [r["id"] for r in refs if r.get("threadId") in threads]
            known = db_emails.known_gmail_ids(self.conn, self.account_id, inside) if inside else set()
            mates.update({r["id"]: r["threadId"] for r in refs if r["id"] in inside and r["id"] not in known})
        return mates

    def _search_all(self) -> None:
        """Investor mail we do not hold yet, searched without a time window (scheduled runs only)."""
        self._fetch_unknown(self._search(self._queries()), "search")

    def _backfill_new_terms(self) -> None:
        """Targeted backfill for investor terms added since this mailbox was searched (queued per mailbox)."""
        terms = db_capture.pending_backfill_terms(self.conn, self.account_id)
        if not terms:
            return
        found = self._search(self._queries(terms))
        self._fetch_unknown(found, "backfill", with_thread_mates=True)
        with atomic(self.conn):
            db_capture.finish_backfill(self.conn, self.account_id, terms, len(found))

    def _investor_candidates(self, candidates: dict[str, str]) -> tuple[dict[str, list], dict[str, str]]:
        """Of new ids {id: threadId}, those of investor conversations, grouped by thread; and what the
        investor search found ({id: threadId}, for _fetch_conversations).

        A message in a thread this mailbox already holds belongs to that conversation; the others are
        checked against the investor search limited to a window since the last good sync (a
        messages.list costs 5 units a query; a metadata get to check each id would cost 20 an id).
        """
        if not candidates:
            return {}, {}
        held, found = db_capture.held_thread_ids(self.conn, self.account_id), {}
        wanted = {i: t for i, t in candidates.items() if t and t in held}
        rest = {i: t for i, t in candidates.items() if i not in wanted}
        if rest:
            after = self._window_start()
            found = self._search(self._queries(after=after), after)
            threads = set(found.values())
            wanted.update({i: t for i, t in rest.items() if i in found or (t and t in threads)})
        self.tally["skipped"] += len(candidates) - len(wanted)
        groups: dict[str, list] = {}
        for gmail_id, thread_id in wanted.items():
            groups.setdefault(thread_id, []).append(gmail_id)
        return groups, found

    def _window_start(self) -> int:
        last = db_accounts.get_sync_state(self.conn, self.account_id)["last_success_at"]
        try:
            since = _dt.datetime.strptime(last, ISO_FORMAT).replace(tzinfo=_dt.timezone.utc).timestamp()
        except (TypeError, ValueError):
            since = time.time() - self.config.history_stale_days * 86400
        return int(min(since, time.time()) - WINDOW_SLACK_SEC)
