"""AccountSync's investor-scope half (CRM_GMAIL_CAPTURE_SCOPE=investors): the searches and their header
checks, whole conversations, targeted backfills of new investor terms, and new ids from history (the poll).

A mixin of sync.AccountSync (it uses the run's connection, client, tallies and stop checks); what to fetch is
decided by the pure functions of targeted.py and gmail/search_query.py. What Gmail's search does (words, not
addresses; four headers only; spam and trash) is the Google table's (google/quota.py); here is what the
capture does about it:
- A search lists candidates. The investor queries' hits that the exclusions' queries also list, and the covered
  sources' mail (sources.py), are read header-first (format=metadata, SCREEN_HEADERS) before anything is fetched
  whole: excluded mail, and source mail naming no investor, keep an id-only marker (db_markers) and are never
  read again (until the exclusions, or the investors, change).
- Whole conversations: when a thread first holds investor mail in the mailbox, every message of it there is
  captured: the thread fetched whole (threads.get), or its other messages found by an id-only listing where
  that is cheaper (targeted.mates_by_listing), or, on a poll, the messages history reported with it when it
  started the thread within RECHECK_SEC (all its mates are then among them).
- The poll keeps what it finds: every window-search hit the mailbox does not hold is fetched on that poll,
  reported by history or not; new ids the search did not list yet are searched again for RECHECK_SEC (Gmail's
  search may see new mail after history does); an id restored from spam or trash that the window search does
  not find (its date is older) is looked for by the search without a window.
"""
from __future__ import annotations

import datetime as _dt
import time

from backend.db import ISO_FORMAT, atomic
from email_integration.gmail.search_query import NOT_SPAM, build_queries, excluded_queries, source_queries
from email_integration.google.errors import AuthError, NotFoundError
from email_integration.mail.parser import parse
from email_integration.privacy.exclusions import excluded

from . import db_accounts, db_capture, db_emails, db_markers, sources
from .ingest import addresses_of
from .targeted import current_terms, mates_by_listing, plan_fetches

# New mail is searched for from this long before the last good sync: room for clock skew and for mail
# Gmail accepted a while before it reached history. Older mail arriving now (an import, a message
# restored from the trash) is found by the search without a window.
WINDOW_SLACK_SEC = 86400
# How long an id history reported is searched for again when the search did not list it (Google documents no
# delay between history and search; the emulator's --search-lag-sec models one). Later, the scheduled run's
# search without a window finds what is left.
RECHECK_SEC = 600


class TargetedCapture:
    """Methods of AccountSync for the investors scope."""

    _fresh: dict = {}  # this run's new ids from history {id: threadId} (set by _check_new)

    def _fetch_conversations(self, groups: dict, seen_gen: int = 0, reason: str = "sync", investor=(),
                             whole=()) -> None:
        """Fetch {threadId: [message ids]}: the threads in `whole` and those cheaper whole, the rest one by one.

        `investor`: the ids the searches found. They are fetched before the other messages (their
        threads' teammate replies): a reply fetched in an earlier batch than its investor mail would find no
        investor conversation to join (ingest.py), and nothing looks at it again.
        """
        if not groups:
            return
        cost = self.config.quota.cost
        threads, singles = plan_fetches({t: ids for t, ids in groups.items() if t not in whole},
                                        cost("messages.get"), cost("threads.get"))
        threads += [t for t in groups if t in whole and t]
        for start in range(0, len(threads), self.config.batch_size):
            self._check_stop()
            found, failed = self.client.batch_get_threads(threads[start:start + self.config.batch_size])
            for resource in found.values():
                for message in resource.get("messages") or []:
                    self._fetch_bodies_by_reference(message)
            with atomic(self.conn):
                for thread_id, resource in found.items():
                    messages = self._not_taken_again(resource.get("messages") or [])
                    self.tally["fetched"] += len(messages)
                    for gmail_id, message in self._investor_mail_first((m["id"], m) for m in messages):
                        self._store_one(gmail_id, message, seen_gen, reason)
                for thread_id, error in failed.items():
                    if isinstance(error, NotFoundError):  # the whole conversation is gone
                        for gmail_id in groups.get(thread_id, ()):
                            db_accounts.dequeue_fetch(self.conn, self.account_id, gmail_id)
                            self._gone(gmail_id)
                    else:
                        singles.extend(groups.get(thread_id, ()))  # one by one instead (queued on failure)
            auth = next((e for e in failed.values() if isinstance(e, AuthError)), None)
            if auth is not None:
                raise auth
        singles.sort(key=lambda gmail_id: gmail_id not in investor)  # stable: thread order otherwise kept
        self._fetch_and_store(singles, seen_gen, reason)

    def _not_taken_again(self, messages: list) -> list:
        """Of a thread fetched whole, the messages to store: not those held already (their row stays as it
        is) nor those with a marker from inside this conversation (excluded, or refused: a forward to an outsider)."""
        ids = [m["id"] for m in messages]
        skip = db_emails.known_gmail_ids(self.conn, self.account_id, ids) | \
            set(db_markers.marked(self.conn, self.account_id, ids, conversation_only=True))
        return [m for m in messages if m["id"] not in skip]

    # -- the searches -------------------------------------------------------------------------
    def _queries(self, terms=None, after: int | None = None, where: str = NOT_SPAM) -> list[str]:
        terms = current_terms(self.conn, self.config.workspace_domain) if terms is None else terms
        return build_queries(terms, after=after, where=where)

    def _list_ids(self, queries: list[str], record: bool = True) -> dict[str, str]:
        """{id: threadId} of everything the queries list, trash included (spam only where a query asks for it);
        `record`: remember which query listed each id (`listed_by`, for the completeness view)."""
        found: dict[str, str] = {}
        for q in queries:
            for refs, _ in self.client.iter_message_refs(q=q, include_spam_trash=True,
                                                         page_size=self.config.backfill_page_size):
                self._check_stop()
                for ref in refs:
                    found[ref["id"]] = ref.get("threadId") or ""
                    if record:
                        self.listed_by[ref["id"]] = q
        return found

    def _search(self, after: int | None = None, terms=None, with_sources: bool = True) -> dict[str, str]:
        """{message id: threadId} of investor mail the searches find: the investor queries' hits (less those
        whose headers show an exclusion) and the covered sources' mail whose headers name an investor.
        `self.last_listed` keeps what the investor queries listed (the completeness view's "listed")."""
        hits = self._list_ids(self._queries(terms, after))
        self.last_listed = dict(hits)
        checks: dict[str, str] = {}
        if self.excluded:
            listed = self._list_ids(excluded_queries(self.excluded, after=after))
            checks.update({i: hits[i] for i in listed if i in hits})
        held_threads = db_capture.held_thread_ids(self.conn, self.account_id)
        outside = {i for i, t in hits.items() if not (t and t in held_threads)}  # may be a lookalike
        hits = self._lookalikes_out(hits, outside - set(checks))
        from_sources: dict[str, str] = {}
        in_conversation: dict[str, str] = {}
        if with_sources:
            covered = sources.covered(self.conn)
            listed = self._list_ids(source_queries(covered["services"], covered["groups"], after=after))
            threads = set(hits.values()) - {""}
            # Source mail inside a conversation the investor search found comes with that conversation (its
            # headers need no reading first: ingest links it, or keeps nothing of it); the rest is read first.
            in_conversation = {i: t for i, t in listed.items() if i not in hits and t in threads}
            from_sources = {i: t for i, t in listed.items() if i not in hits and i not in in_conversation}
            checks.update(from_sources)
        passed = self._screen(checks, {**from_sources, **{i: t for i, t in checks.items() if i in outside}})
        found = {i: t for i, t in hits.items() if i not in checks or i in passed}
        found.update({i: from_sources[i] for i in passed if i in from_sources})
        found.update(in_conversation)
        self.found_via_sources = {i for i in passed if i in from_sources} | set(in_conversation)
        self.tally["listed"] += len(found)
        return found

    def _lookalikes_out(self, hits: dict[str, str], outside: set[str]) -> dict[str, str]:
        """The investor search's hits less word-match lookalikes. A hit outside the conversations the mailbox
        holds may only share words with an investor (x@alder.vc.evil.example, "Alder VC" in a name): before its
        conversation is fetched, one hit of each such thread is read header-first (format=metadata); a thread
        passes with the first hit that names an investor, and a hit that names none keeps an id-only marker and
        is never fetched (nor, through it, its thread). `outside`: the hits outside the mailbox's conversations
        (those the exclusions' queries also list are read by _screen). One metadata get a new conversation; a
        lookalike costs one, once, until the investors change (google/quota.py, "Gmail search")."""
        ids = sorted(outside)
        skip = db_emails.known_gmail_ids(self.conn, self.account_id, ids) | self._valid_marks(ids)
        unsure: dict[str, list[str]] = {}
        for gmail_id in (i for i in ids if i not in skip):
            unsure.setdefault(hits[gmail_id] or gmail_id, []).append(gmail_id)
        refused: set[str] = set()
        while unsure:  # each round reads one hit of every thread still unsure: at most as many rounds as hits
            batch = {group[0]: key for key, group in unsure.items()}
            named = self._names_an_investor(batch, hits)
            for gmail_id, key in batch.items():
                if gmail_id in named:
                    del unsure[key]  # an investor conversation: its other hits come with it
                elif gmail_id in self.screen_failed:
                    refused.update(unsure.pop(key))  # unread: left for the next search (not marked)
                else:
                    refused.add(gmail_id)
                    unsure[key].pop(0)
                    if not unsure[key]:
                        del unsure[key]
        return {i: t for i, t in hits.items() if i not in refused}

    def _names_an_investor(self, batch: dict[str, str], hits: dict[str, str]) -> set[str]:
        """Of `batch` ids, read header-first, those whose headers name an investor (and no exclusion); the
        others are marked (refused, or excluded), a failure to read is in screen_failed."""
        return self._read_and_mark(list(batch), hits, must_name=batch)

    def _screen(self, checks: dict[str, str], must_name: dict[str, str]) -> set[str]:
        """Of {id: threadId} to be read header-first, those to fetch: what the mailbox holds already passes (it
        is not fetched again anyway); excluded mail, and `must_name` mail (the covered sources', hits outside the
        mailbox's conversations) naming no investor, are marked, not fetched; a message whose headers could not
        be read waits for the next search."""
        if not checks:
            return set()
        ids = list(checks)
        held = db_emails.known_gmail_ids(self.conn, self.account_id, ids)
        valid = self._valid_marks(ids)
        todo = [i for i in ids if i not in held and i not in valid]
        return set(held) | self._read_and_mark(todo, checks, must_name)

    def _read_and_mark(self, ids: list[str], threads: dict[str, str], must_name) -> set[str]:
        """Read `ids` header-first and return those that pass: excluded mail, and `must_name` mail naming no
        investor, is marked (with its thread from `threads`) instead; a failure to read is in screen_failed,
        unmarked; a refused credential is raised."""
        found, failed = self.client.batch_get_metadata(ids, sources.SCREEN_HEADERS) if ids else ({}, {})
        auth = next((e for e in failed.values() if isinstance(e, AuthError)), None)
        if auth is not None:
            raise auth
        self.screen_failed.update({i: str(e)[:200] for i, e in failed.items() if not isinstance(e, NotFoundError)})
        passed = set()
        index = self.ingestor.matcher.index(self.conn)
        with atomic(self.conn):
            for gmail_id, resource in found.items():
                addresses = addresses_of(parse(resource))
                if excluded(addresses, self.excluded):
                    db_markers.mark(self.conn, self.account_id, gmail_id, threads[gmail_id], db_markers.EXCLUDED,
                                    basis=self.exclusion_basis)
                elif gmail_id in must_name and not index.match(addresses):
                    db_markers.mark(self.conn, self.account_id, gmail_id, threads[gmail_id], db_markers.REFUSED,
                                    basis=self.terms_basis)
                else:
                    passed.add(gmail_id)
        return passed

    def _valid_marks(self, ids: list[str]) -> set[str]:
        """Ids whose marker still holds: an 'excluded' one made under the current exclusions, a 'refused' one of
        source mail screened against the current investor terms (or of a word-match lookalike)."""
        rows = db_markers.marker_rows(self.conn, self.account_id, ids)
        return {r["gmail_id"] for r in rows if r["basis"] in (None, self.exclusion_basis, self.terms_basis)}

    # -- fetching what the searches found -----------------------------------------------------
    def _fetch_found(self, found: dict[str, str], reason: str, also=None, relook: bool = False) -> None:
        """Fetch what of `found` {id: threadId} (search hits) and `also` (thread members) the mailbox does not
        hold, with the whole conversation of every thread that now first holds investor mail here.
        `relook`: a backfill of new terms fetches its hits again even where a lookalike was refused before."""
        candidates = {**(also or {}), **found}
        ids = list(candidates)
        marks = db_markers.marked(self.conn, self.account_id, ids)
        known = db_emails.known_gmail_ids(self.conn, self.account_id, ids) | \
            {i for i, why in marks.items() if not (relook and why == db_markers.REFUSED and i in found)}
        unknown = {i: t for i, t in candidates.items() if i not in known}
        if not unknown:
            return
        groups: dict[str, list] = {}
        for gmail_id, thread_id in unknown.items():
            groups.setdefault(thread_id, []).append(gmail_id)
        held = db_capture.held_thread_ids(self.conn, self.account_id)
        new = {t for i, t in unknown.items() if t and t not in held and i in found}
        whole = set()
        recent = {**self._recent(), **self._fresh}
        for thread_id in sorted(new):
            if thread_id in recent and thread_id in groups[thread_id]:
                # It started its thread within RECHECK_SEC: every later message of it is among the recent ids.
                mates = [i for i, t in recent.items() if t == thread_id and i not in groups[thread_id] and i not in known]
                groups[thread_id] += mates
            else:
                whole.add(thread_id)
        if whole and reason != "poll" and self._cheaper_by_listing(whole, groups):
            for gmail_id, thread_id in self._thread_mates(whole).items():
                if gmail_id not in groups[thread_id]:
                    groups[thread_id].append(gmail_id)
            whole = set()
        self._fetch_conversations(groups, reason=reason, investor=found, whole=whole)
        with atomic(self.conn):
            db_markers.drop_rechecks(self.conn, self.account_id, list(unknown))

    def _cheaper_by_listing(self, threads: set[str], groups: dict) -> bool:
        cost = self.config.quota.cost
        size = db_accounts.get_sync_state(self.conn, self.account_id)["progress_total"]
        return mates_by_listing(len(threads), sum(len(groups[t]) for t in threads), size, cost("messages.get"),
                                cost("threads.get"), cost("messages.list"), self.config.backfill_page_size)

    def _thread_mates(self, threads: set[str]) -> dict[str, str]:
        """{id: threadId} of the messages of `threads` this mailbox does not hold yet (an id-only listing)."""
        mates: dict[str, str] = {}
        for refs, _ in self.client.iter_message_refs(q=self.listing_q, include_spam_trash=True,
                                                     page_size=self.config.backfill_page_size):
            self._check_stop()
            inside = [r["id"] for r in refs if r.get("threadId") in threads]
            if not inside:
                continue
            known = db_emails.known_gmail_ids(self.conn, self.account_id, inside) | \
                set(db_markers.marked(self.conn, self.account_id, inside, conversation_only=True))
            mates.update({r["id"]: r["threadId"] for r in refs if r["id"] in inside and r["id"] not in known})
        return mates

    def _search_all(self) -> dict[str, str]:
        """Investor mail we do not hold yet, searched without a time window (scheduled runs only); returns
        what the investor queries listed (for the verification)."""
        found = self._search()
        self._fetch_found(found, "search")
        return self.last_listed

    def _backfill_new_terms(self) -> None:
        """Targeted backfill for investor terms added since this mailbox was searched (queued per mailbox)."""
        terms = db_capture.pending_backfill_terms(self.conn, self.account_id)
        if not terms:
            return
        found = self._search(terms=terms, with_sources=False)  # source mail is read again by the next search
        self._fetch_found(found, "backfill", relook=True)
        with atomic(self.conn):
            db_capture.finish_backfill(self.conn, self.account_id, terms, len(found))

    # -- new ids from history -----------------------------------------------------------------
    def _check_new(self, candidates: dict[str, str], arrived=(), restored=(), poll: bool = False) -> None:
        """New ids from history {id: threadId}: those in a conversation the mailbox holds are fetched; for the
        rest (and the ids still awaiting the search) the investor search runs with a window since the last
        good sync (5 units a query; a metadata get to check each id would cost 20 an id and read the headers
        of personal mail), and every hit the mailbox does not hold is fetched. `arrived`: the candidates that are
        new mail (only those may be unseen by the search yet); `restored`: taken out of spam or the trash."""
        self._fresh = dict(candidates)
        held = db_capture.held_thread_ids(self.conn, self.account_id)
        wanted = {i: t for i, t in candidates.items() if t and t in held}
        rest = {i: t for i, t in candidates.items() if i not in wanted}
        now = time.time()
        waiting = {r["gmail_id"]: r["gmail_thread_id"] or "" for r in db_markers.rechecks(self.conn, self.account_id)
                   if r["first_seen_at"] >= now - RECHECK_SEC}
        found: dict[str, str] = {}
        if rest or self._recheck_due(now):
            after = self._window_start()
            found = self._search(after)
            if set(restored) - set(found) - set(wanted):
                found.update(self._search())  # restored from spam or trash: its date may be older than the window
            threads = set(found.values()) - {""}
            for gmail_id, thread_id in {**waiting, **rest}.items():
                if gmail_id in found or (thread_id and thread_id in threads):
                    wanted[gmail_id] = thread_id
            with atomic(self.conn):
                db_markers.add_rechecks(self.conn, self.account_id,
                                        {i: t for i, t in rest.items() if i not in wanted and i in arrived}, now)
                db_markers.checked(self.conn, self.account_id, now)
        self.tally["skipped"] += len([i for i in candidates if i not in wanted and i not in found])
        self._fetch_found(found, "poll" if poll else "sync", also=wanted)  # reads the rechecks: before they go
        with atomic(self.conn):
            db_markers.drop_rechecks(self.conn, self.account_id, list(wanted) + list(found), older_than=now - RECHECK_SEC)

    def _recent(self) -> dict[str, str]:
        """Ids history reported within RECHECK_SEC that the search did not list then {id: threadId}."""
        since = time.time() - RECHECK_SEC
        return {r["gmail_id"]: r["gmail_thread_id"] or "" for r in db_markers.rechecks(self.conn, self.account_id)
                if r["first_seen_at"] >= since}

    def _recheck_due(self, now: float) -> bool:
        """Whether ids awaiting the search are due for another look: on every poll while one is younger than
        RECHECK_SEC, so mail the index sees late is caught by the first poll after it does (a quarter-age
        backoff left it waiting minutes). The cost is bounded: one windowed search a poll (at most
        MAX_SEARCH_QUERIES lists) for RECHECK_SEC after the newest id the search did not list, no gets."""
        waiting = [r for r in db_markers.rechecks(self.conn, self.account_id) if r["first_seen_at"] >= now - RECHECK_SEC]
        if not waiting:
            return False
        return now - max(r["last_checked_at"] for r in waiting) >= self.config.poll_sec * 0.5

    def _window_start(self) -> int:
        last = db_accounts.get_sync_state(self.conn, self.account_id)["last_success_at"]
        try:
            since = _dt.datetime.strptime(last, ISO_FORMAT).replace(tzinfo=_dt.timezone.utc).timestamp()
        except (TypeError, ValueError):
            since = time.time() - self.config.history_stale_days * 86400
        return int(min(since, time.time()) - WINDOW_SLACK_SEC)
