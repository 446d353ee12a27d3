"""Sync one account: backfill (resumable listing), incremental history, full resync; every run recorded.

The discipline is lieer's: read the mailbox's historyId *before* listing, save it only after
every change up to it is applied; a 404 from history.list (or a last success older than
CRM_GMAIL_HISTORY_STALE_DAYS) means a full listing, which converges without duplicates because
every message is keyed by (account, Gmail id) and every email by its Message-ID.
A listing saves its page token after each page, so a killed process resumes where it stopped.

CRM_GMAIL_CAPTURE_SCOPE=investors (the default) fetches investor conversations only: Gmail's
search (gmail/search_query.py) says which ids involve an investor, a cheap id-only listing says which
other messages share their threads (a teammate's internal reply), and only those are fetched, a
whole thread at a time where that is cheaper (targeted.py). New mail from history is checked the
same way, with the search limited to a window around the last sync. `all` lists and fetches
every message, as before, and matches locally.

Spam, trash, deletion (the written policy, both scopes): captured mail stays in the CRM when a teammate
trashes or deletes it in Gmail (the firm's record; withdrawing mail is what private conversations and
exclusions are for): its labels follow Gmail, a deletion is recorded (db_markers.mark_gone), the email stays.
Metadata kept only for rematch (the `all` scope's other mail) follows Gmail out. Mail in spam is never
captured automatically (phishing spoofs investor domains); in the investors scope the searches include the
trash (mail trashed before its first capture is the firm's too) and count what spam holds for the Admin page.
"""
from __future__ import annotations

import base64
import logging
import threading

from backend.db import atomic, iso_after, now_iso
from email_integration.gmail.search_query import ALWAYS, NOT_SPAM
from email_integration.google import quota
from email_integration.google.errors import (AuthError, GmailError, HistoryExpiredError, NeedsReconsentError,
                                             NotFoundError, PermanentError)
from email_integration.mail.parser import body_references, parse
from email_integration.privacy import db_privacy
from email_integration.privacy.exclusions import excluded

from . import db_accounts, db_capture, db_emails, db_markers
from .completeness import Verification
from .ingest import EXCLUDED, REFUSED, Ingestor, addresses_of, is_internal_only
from .sync_targeted import TargetedCapture
from .targeted import current_terms, queue_new_terms, terms_basis

log = logging.getLogger(__name__)
HISTORY_TYPES = ("messageAdded", "messageDeleted", "labelAdded", "labelRemoved")
HIDDEN_LABELS = set(quota.HIDDEN_LABELS)  # outside messages.list unless includeSpamTrash (the Google table)
# Drafts and chat transcripts are messages to Gmail but not mail: never captured nor proposed
# (developers.google.com/gmail/api/guides/labels: DRAFT and CHAT are system labels).
NOT_MAIL_LABELS = {"DRAFT", "CHAT"}
SKIPPED_LABELS = HIDDEN_LABELS | NOT_MAIL_LABELS
NEVER_CAPTURED = NOT_MAIL_LABELS | {"SPAM"}  # the investors scope captures trash (the policy above)
POLL_RETRIES = 2  # tries of a queued fetch a poll may spend (sync._retry_queue)
RESTARTED = object()  # the page-token marker _pages yields when it had to list from the start


class Interrupted(Exception):
    """The scheduler is shutting down; the run stops at a safe point with its checkpoint saved."""


def _stale(last_success_at: str | None, days: float) -> bool:
    return not last_success_at or last_success_at < iso_after(-days * 86400)


class AccountSync(TargetedCapture, Verification):
    """One run for one account over `conn` (a connection of its own) with the account's GmailClient."""

    def __init__(self, conn, account: dict, client, config, matcher_cache, blob_store, stop=None, excluded=()):
        self.conn, self.account, self.client, self.config = conn, account, client, config
        self.account_id = account["id"]
        self.ingestor = Ingestor(conn, matcher_cache, blob_store, config.capture_all, config.max_attachment_bytes,
                                 config.propose_since_days, conversations=config.capture_scope == "investors")
        self.blob_store = blob_store
        self.stop = stop or threading.Event()
        self.counts = {"added": 0, "updated": 0, "deleted": 0, "failed": 0}
        self.run_id = None
        self.targeted = config.capture_scope == "investors"
        # Addresses / "@domains" this mailbox keeps out (its owner's and the firm's exclusions): left out of
        # the investor search, so their mail is not even fetched (ingest refuses it in any case).
        self.excluded = tuple(excluded) or tuple(db_privacy.patterns_for_account(conn, self.account_id))
        self.tally = {"listed": 0, "fetched": 0, "skipped": 0, "captured": 0}
        # Every listing leaves out drafts and chats (they are not mail: never fetched, stored or proposed;
        # in investors scope a draft reply inside an investor thread must not be fetched as its member), and in
        # the investors scope spam, with the trash listed (includeSpamTrash=true: the policy above).
        self.listing_q = " ".join([*ALWAYS, NOT_SPAM] if self.targeted else ALWAYS)
        self.not_captured = NEVER_CAPTURED if self.targeted else SKIPPED_LABELS  # labels whose mail is never captured
        self.exclusion_basis = db_markers.exclusion_basis(self.excluded)
        self.terms_basis = terms_basis(current_terms(conn, config.workspace_domain)) if self.targeted else None
        self.last_listed: dict = {}  # what the investor queries listed last (the completeness view)
        self.listed_by: dict = {}  # id → the query that listed it
        self.found_via_sources: set = set()
        self.screen_failed: dict = {}

    def is_due_for_poll(self) -> bool:
        """A poll only reads history: nothing to do for a mailbox that has not finished its listing."""
        state = db_accounts.get_sync_state(self.conn, self.account_id)
        account = db_accounts.get_account(self.conn, self.account_id)  # an account in error waits for the full schedule
        return account is not None and account["state"] == "idle" and \
            bool(state["history_id"]) and not state["listing_kind"] and \
            not _stale(state["last_success_at"], self.config.history_stale_days)

    # -- the run ------------------------------------------------------------------------------
    def run(self, poll: bool = False) -> dict | None:
        """Run whatever the account needs next; the finished run row, or None when another process runs it.

        `poll`: the one-minute freshness check (history only, then queued targeted backfills); a poll
        that finds nothing to do leaves no run row.
        """
        if poll and not self.is_due_for_poll():
            return None
        spent_before = self._units_spent()
        if not db_accounts.claim_account(self.conn, self.account_id):
            log.info("account %s is being synced by another process; skipped", self.account_id)
            return None
        state = db_accounts.get_sync_state(self.conn, self.account_id)
        kind = state["listing_kind"] or ("backfill" if not state["history_id"] else
                                         "full_resync" if _stale(state["last_success_at"],
                                                                 self.config.history_stale_days) else "incremental")
        with atomic(self.conn):
            self.run_id = db_accounts.start_run(self.conn, self.account_id, kind)
        status, error, account_state = "ok", None, "idle"
        verified = None
        try:
            with atomic(self.conn):  # an exclusion removed since: the mail it kept out is looked at again
                db_markers.drop_stale_exclusions(self.conn, self.account_id, self.exclusion_basis)
            if self.targeted:
                queue_new_terms(self.conn, self.config.workspace_domain)
            # Inside an unfinished listing, what the queue fetches counts as seen by that listing.
            self._retry_queue(state["listing_gen"] if state["listing_kind"] else 0, poll)
            if kind == "incremental":
                try:
                    self._incremental(state["history_id"], poll)
                except HistoryExpiredError:
                    log.info("history expired for account %s: full resync", self.account_id)
                    kind = "full_resync"
                    with atomic(self.conn):
                        db_accounts.set_run_kind(self.conn, self.run_id, kind)
            if kind != "incremental":
                verified = self._listing(kind, resume=bool(state["listing_kind"]))
                self._incremental(db_accounts.get_sync_state(self.conn, self.account_id)["history_id"], poll)
            if self.targeted:
                self._backfill_new_terms()  # before the search below, which would find their mail without its threads
                if kind == "incremental" and not poll:
                    verified = self._search_all()  # the scheduled run catches what the windowed poll searches cannot see
                if verified is not None:  # a search without a window is the verification (the completeness view)
                    self._verify(verified, "run")
            queued = db_accounts.queue_size(self.conn, self.account_id)
            if self.counts["failed"] or queued:
                status, error = "partial", f"{queued} message(s) could not be fetched; retried next run"
            elif self.screen_failed:
                status, error = "partial", (f"the headers of {len(self.screen_failed)} message(s) could not be read; "
                                            "read again next run")
        except Interrupted:
            status, error = "partial", "interrupted by shutdown; resumes from its checkpoint"
        except NeedsReconsentError as exc:
            status, error, account_state = "error", str(exc), "needs_reconsent"
        except AuthError as exc:
            status, error, account_state = "error", f"authorization failed: {exc}", "error"
        except GmailError as exc:
            # Gmail down or shedding load past the client's retries: the run is an error, but the account
            # stays idle, so the one-minute poll tries again (the next full run may be hours away).
            status, error, account_state = "error", str(exc), "idle" if exc.retryable else "error"
        except Exception as exc:  # noqa: BLE001 - recorded on the run; the scheduler must go on
            log.exception("sync of account %s failed", self.account_id)
            status, error, account_state = "error", f"internal error: {type(exc).__name__}", "error"
        # A poll that changed nothing leaves no row, even 'partial' for fetches still queued for the full runs.
        idle_poll = poll and status != "error" and not any(self.counts.values()) and not self.tally["fetched"]
        with atomic(self.conn):
            db_accounts.finish_run(self.conn, self.run_id, status, self.counts, error)
            if idle_poll:
                db_capture.discard_run(self.conn, self.run_id)
            db_accounts.release_account(self.conn, self.account_id, account_state, error if account_state != "idle" else None)
            db_capture.add_counts(self.conn, self.account_id,
                                  {**self.tally, "units": self._units_spent() - spent_before})
        return None if idle_poll else db_accounts.last_run(self.conn, self.account_id)

    def verify(self) -> dict | None:
        """"Verify now": the investor search alone, classified (list calls only, no fetch): the mailbox's
        completeness figures; None outside the investors scope, or while the mailbox runs or lists (its run
        verifies), or when another process holds it."""
        account = db_accounts.get_account(self.conn, self.account_id)
        state = db_accounts.get_sync_state(self.conn, self.account_id)
        if not self.targeted or account is None or account["state"] not in ("idle", "error") or \
                not state["history_id"] or state["listing_kind"]:
            return None
        spent_before = self._units_spent()
        if not db_accounts.claim_account(self.conn, self.account_id):
            return None
        try:
            return self.verify_now()
        except GmailError as exc:
            log.info("verification of account %s failed: %s", self.account_id, exc)
            return {"error": str(exc)}
        finally:
            with atomic(self.conn):
                db_accounts.release_account(self.conn, self.account_id, account["state"], account["last_error"])
                db_capture.add_counts(self.conn, self.account_id, {"units": self._units_spent() - spent_before})

    def _units_spent(self) -> float:
        """Quota units Gmail charged the account so far, as its limiter counts them (shared by every client of
        the account; rate-limited calls and batch parts cost nothing)."""
        return getattr(getattr(self.client, "limiter", None), "charged_total", 0.0)

    def _check_stop(self) -> None:
        """Between batches: stop if asked, and renew the run lease (other processes see we are alive)."""
        if self.stop.is_set():
            raise Interrupted()
        with atomic(self.conn):
            db_accounts.renew_lease(self.conn, self.account_id)

    # -- fetch and store ----------------------------------------------------------------------
    def _fetch_and_store(self, gmail_ids: list[str], seen_gen: int = 0, reason: str = "sync") -> None:
        """Fetch full messages in batches and store them; failures go to the queue for the next run."""
        for start in range(0, len(gmail_ids), self.config.batch_size * 4):
            self._check_stop()
            found, failed = self.client.batch_get_messages(gmail_ids[start:start + self.config.batch_size * 4])
            self.tally["fetched"] += len(found)
            for resource in found.values():
                self._fetch_bodies_by_reference(resource)
            with atomic(self.conn):  # one commit per batch: a commit per message costs more than the rest
                for gmail_id, resource in self._investor_mail_first(found.items()):
                    self._store_one(gmail_id, resource, seen_gen, reason)
                for gmail_id, error in failed.items():
                    if isinstance(error, NotFoundError):  # deleted since it was listed
                        db_accounts.dequeue_fetch(self.conn, self.account_id, gmail_id)
                        self._gone(gmail_id)
                    else:
                        db_accounts.queue_fetch(self.conn, self.account_id, gmail_id, reason, str(error)[:300])
                        self.counts["failed"] += 1
            # What was fetched is stored above; then an authorization failure ends the run as one.
            auth = next((e for e in failed.values() if isinstance(e, AuthError)), None)
            if auth is not None:
                raise auth

    def _fetch_bodies_by_reference(self, resource: dict) -> None:
        """Fetch the body parts Gmail handed out by attachmentId (large bodies) of mail we will keep;
        one that cannot be fetched stays missing and the parser records it as a problem."""
        parts = body_references(resource)
        if not parts or self.not_captured & set(resource.get("labelIds") or []) or not self._keeps_body(resource):
            return
        for part in parts:
            try:
                data = self.client.get_attachment(resource["id"], part["body"]["attachmentId"])
            except AuthError:
                raise
            except GmailError as exc:
                log.info("account %s: a body part of %s could not be fetched: %s", self.account_id,
                         resource.get("id"), exc)
                continue
            part["body"] = {**part["body"], "data": base64.urlsafe_b64encode(data).decode("ascii")}

    def _keeps_body(self, resource: dict) -> bool:
        """Whether ingest will keep this message's body: never when the mailbox excludes a participant;
        investor mail (or CRM_GMAIL_CAPTURE_ALL); targeted, also a teammates-only message, which all we
        fetch there is part of an investor conversation (ingest.py shows it with the conversation)."""
        parsed = parse(resource)
        if excluded(addresses_of(parsed), self.excluded):
            return False
        return self.ingestor.keeps_body(resource) or \
            (self.targeted and is_internal_only(parsed, self.config.workspace_domain))

    def _store_one(self, gmail_id: str, resource: dict, seen_gen: int, reason: str) -> None:
        # A draft or chat, or in spam (or, in the `all` scope, the trash) since it was listed: nothing to capture.
        labels = resource.get("labelIds") or []
        if self.not_captured & set(labels):
            db_accounts.dequeue_fetch(self.conn, self.account_id, gmail_id)
            self._lost(gmail_id, labels)
            return
        try:
            outcome = self.ingestor.ingest(self.account_id, resource, seen_gen)
        except Exception as exc:  # noqa: BLE001 - one message we cannot store must not sink the run
            log.warning("account %s: message %s not stored: %s", self.account_id, gmail_id, type(exc).__name__)
            db_accounts.queue_fetch(self.conn, self.account_id, gmail_id, reason, f"not stored: {type(exc).__name__}")
            self.counts["failed"] += 1
            return
        if outcome in ("added", "updated"):
            self.counts[outcome] += 1
            if self.targeted or self.ingestor.last_links:
                self.tally["captured"] += 1  # targeted: all we keep is investor conversation
        elif outcome in (REFUSED, EXCLUDED):  # nothing stored: an id-only marker, so it is never fetched again
            db_markers.mark(self.conn, self.account_id, gmail_id, resource.get("threadId"), outcome,
                            in_conversation=outcome == REFUSED and self.ingestor.last_in_conversation,
                            basis=self.exclusion_basis if outcome == EXCLUDED else None, seen_gen=seen_gen)
        db_accounts.dequeue_fetch(self.conn, self.account_id, gmail_id)

    def _investor_mail_first(self, items):
        """Targeted: investor mail before the rest of its conversation, which it then lets in (ingest.py)."""
        items = list(items)
        if not self.targeted:
            return items
        return sorted(items, key=lambda item: not self.ingestor.keeps_body(item[1]))

    def _retry_queue(self, seen_gen: int, poll: bool = False) -> None:
        """Fetch the queued ids again. A poll (every minute) retries an id only on its first POLL_RETRIES
        tries and leaves the rest of its MAX_FETCH_ATTEMPTS to the scheduled runs: minutes of Gmail trouble
        must not use them all (a message given up waits for a full resync in the `all` scope)."""
        queued = db_accounts.queued_fetches(self.conn, self.account_id, max_attempts=POLL_RETRIES if poll else db_accounts.MAX_FETCH_ATTEMPTS)
        if queued:
            self._fetch_and_store(queued, seen_gen, reason="retry")
            self.counts["failed"] = 0  # what is still queued shows up as 'partial' at the end

    def _remove(self, gmail_id: str) -> None:
        removed, hashes = db_emails.remove_entry(self.conn, self.account_id, gmail_id)
        if removed:
            self.counts["deleted"] += 1
            self.blob_store.release(self.conn, hashes)

    def _gone(self, gmail_id: str) -> None:
        """Gmail no longer has the message (deleted for good): captured mail stays, recorded as gone from
        this mailbox; metadata kept only for rematch goes."""
        if db_markers.keeps_record(self.conn, self.account_id, gmail_id):
            if db_markers.mark_gone(self.conn, self.account_id, gmail_id):
                self.counts["deleted"] += 1
        else:
            self._remove(gmail_id)

    def _lost(self, gmail_id: str, labels: list) -> None:
        """The message moved out of what the capture keeps (spam, trash in the `all` scope): captured mail stays
        with its new labels; metadata kept only for rematch goes."""
        if db_markers.keeps_record(self.conn, self.account_id, gmail_id):
            if db_emails.set_labels(self.conn, self.account_id, gmail_id, labels):
                self.counts["updated"] += 1
        else:
            self._remove(gmail_id)

    # -- listing: backfill and full resync ----------------------------------------------------
    def _listing(self, kind: str, resume: bool) -> None:
        state = db_accounts.get_sync_state(self.conn, self.account_id)
        if not resume:
            profile = self.client.get_profile()
            with atomic(self.conn):
                db_accounts.update_sync_state(self.conn, self.account_id, listing_kind=kind,
                                     listing_gen=state["listing_gen"] + 1, listing_page_token=None,
                                     listing_start_history_id=str(profile.get("historyId", "")),
                                     progress_done=0, progress_total=int(profile.get("messagesTotal") or 0))
            state = db_accounts.get_sync_state(self.conn, self.account_id)
        gen, token = state["listing_gen"], state["listing_page_token"]
        done = state["progress_done"]
        if resume and token is None and done:
            pages = iter(())  # the last page was applied before the stop; only the finish is left
        else:
            pages = self._pages(token)
        # Targeted: the investor search first; the id listing below then finds the rest of their threads.
        investor = self._search() if self.targeted else None
        threads = (set(investor.values()) | db_capture.held_thread_ids(self.conn, self.account_id)) - {""} \
            if self.targeted else set()
        groups: dict[str, list] = {}
        for refs, next_token in pages:
            if next_token is RESTARTED:
                done = 0
                continue
            self._check_stop()
            ids = [ref["id"] for ref in refs]
            known = db_emails.known_gmail_ids(self.conn, self.account_id, ids)
            marks = {r["gmail_id"]: r for r in db_markers.marker_rows(self.conn, self.account_id, ids)}
            with atomic(self.conn):
                db_emails.mark_seen(self.conn, self.account_id, known, gen)
                db_markers.mark_seen(self.conn, self.account_id, marks, gen)
            if investor is None:
                self.tally["listed"] += len(ids)
                self._fetch_and_store([i for i in ids if i not in known and i not in marks], gen)
            else:
                # A marker keeps a search hit from being fetched again; a thread mate only when it was refused
                # inside the conversation (or excluded): refused before the thread held investor mail, it may join now.
                unknown = [r for r in refs if r["id"] not in known and not (
                    r["id"] in marks and (r["id"] in investor or marks[r["id"]]["in_conversation"] or
                                          marks[r["id"]]["reason"] == db_markers.EXCLUDED))]
                wanted = [r for r in unknown if r["id"] in investor or r.get("threadId") in threads]
                with atomic(self.conn):  # queued: an interrupted listing still fetches them next run
                    for ref in wanted:
                        db_accounts.queue_fetch(self.conn, self.account_id, ref["id"], "investor")
                for ref in wanted:
                    groups.setdefault(ref.get("threadId") or "", []).append(ref["id"])
                self.tally["skipped"] += len(unknown) - len(wanted)
            if kind == "full_resync" and known:
                self._refresh_labels(sorted(known))
            done += len(ids)
            with atomic(self.conn):
                db_accounts.update_sync_state(self.conn, self.account_id, listing_page_token=next_token, progress_done=done)
        self._fetch_conversations(groups, gen, investor=investor or ())
        self._check_stop()
        with atomic(self.conn):
            # A message the finished listing did not see is gone from the mailbox (unless queued: then
            # it was seen but not yet fetched).
            queued = set(db_accounts.queued_fetches(self.conn, self.account_id))
            for gmail_id in db_emails.unseen_gmail_ids(self.conn, self.account_id, gen):
                if gmail_id not in queued:
                    self._gone(gmail_id)
            db_markers.forget_unseen(self.conn, self.account_id, gen)
            # A finished listing is as fresh as history applied up to where it started: a process killed
            # before the incremental pass that follows resumes incrementally, not with a full resync.
            db_accounts.update_sync_state(self.conn, self.account_id, history_id=state["listing_start_history_id"],
                                 listing_kind=None, listing_page_token=None, progress_done=done,
                                 progress_total=max(done, state["progress_total"]), last_success_at=now_iso())
        return self.last_listed if self.targeted else None

    def _pages(self, token: str | None):
        """The listing's pages from `token`; a saved token Gmail refuses (400: tokens do not live forever)
        restarts the listing from its first page, within the same generation (marks stay valid)."""
        pages = self.client.iter_message_refs(q=self.listing_q, page_size=self.config.backfill_page_size,
                                              page_token=token, include_spam_trash=self.targeted)
        try:
            first = next(pages, None)
        except PermanentError as exc:
            if token is None or exc.status != 400:
                raise
            log.info("account %s: the saved page token was refused (%s); listing again from the start",
                     self.account_id, exc)
            with atomic(self.conn):
                db_accounts.update_sync_state(self.conn, self.account_id, listing_page_token=None, progress_done=0)
            yield [], RESTARTED
            yield from self.client.iter_message_refs(q=self.listing_q, page_size=self.config.backfill_page_size,
                                                     include_spam_trash=self.targeted)
            return
        if first is not None:
            yield first
            yield from pages

    def _refresh_labels(self, gmail_ids: list[str]) -> None:
        found, failed = self.client.batch_get_messages(gmail_ids, fmt="minimal")
        with atomic(self.conn):
            for gmail_id, resource in found.items():
                db_emails.set_labels(self.conn, self.account_id, gmail_id, resource.get("labelIds", []))
            for gmail_id, error in failed.items():
                if isinstance(error, NotFoundError):
                    self._gone(gmail_id)

    # -- incremental --------------------------------------------------------------------------
    def _incremental(self, start_history_id: str, poll: bool = False) -> None:
        added: dict[str, str] = {}  # id → threadId
        deleted: set[str] = set()
        labels: dict[str, list] = {}
        thread_of: dict[str, str] = {}
        newest = None
        restored: set[str] = set()
        hidden = self.not_captured
        for records, mailbox_history_id in self.client.iter_history(start_history_id, HISTORY_TYPES):
            self._check_stop()
            newest = newest or mailbox_history_id  # the first page's: later changes come next run
            for record in records:
                for item in record.get("messagesAdded", []):
                    message = item["message"]
                    if hidden & set(message.get("labelIds", [])):
                        continue  # a draft or chat, or arrived straight in spam (or trash, `all`): not fetched
                    added[message["id"]] = message.get("threadId") or ""
                    deleted.discard(message["id"])
                for item in record.get("messagesDeleted", []):
                    message_id = item["message"]["id"]
                    added.pop(message_id, None)
                    labels.pop(message_id, None)
                    deleted.add(message_id)
                for item in record.get("labelsRemoved", []):
                    if HIDDEN_LABELS & set(item.get("labelIds") or []):
                        restored.add(item["message"]["id"])  # out of spam or the trash: its date may be old
                for item in record.get("labelsAdded", []) + record.get("labelsRemoved", []):
                    message = item["message"]
                    if message["id"] not in deleted and "labelIds" in message:
                        labels[message["id"]] = message["labelIds"]
                        thread_of[message["id"]] = message.get("threadId") or ""
        # Moved to spam (or, in the `all` scope, the trash): captured mail stays with its labels, metadata goes,
        # an unknown id is not fetched; taken out again, an unknown id is a candidate like new mail.
        lost: dict[str, list] = {}
        for gmail_id, label_ids in list(labels.items()):
            if hidden & set(label_ids):
                lost[gmail_id] = label_ids
                added.pop(gmail_id, None)
                del labels[gmail_id]
        # Mail history reports as added that this mailbox already holds (fetched by the listing the history
        # follows, or by the retry queue earlier in this run) is not fetched again.
        for gmail_id in db_emails.known_gmail_ids(self.conn, self.account_id, list(added)):
            del added[gmail_id]
        unknown = set(labels) - db_emails.known_gmail_ids(self.conn, self.account_id, list(labels))
        if self.targeted:  # only investor conversations; the rest is never fetched
            candidates = {**{i: thread_of[i] for i in sorted(unknown - set(added))}, **added}
            self._check_new(candidates, arrived=set(added), restored=restored & (unknown - set(added)), poll=poll)
        else:
            self.tally["listed"] += len(added)
            self._fetch_and_store(list(added) + sorted(unknown - set(added)))
        with atomic(self.conn):
            for gmail_id in deleted:
                self._gone(gmail_id)
            for gmail_id, label_ids in lost.items():
                self._lost(gmail_id, label_ids)
            for gmail_id, label_ids in labels.items():
                if gmail_id not in added and gmail_id not in unknown and \
                        db_emails.set_labels(self.conn, self.account_id, gmail_id, label_ids):
                    self.counts["updated"] += 1
            # History up to `newest` is applied: the state is fresh even if some fetches are queued.
            db_accounts.update_sync_state(self.conn, self.account_id, last_success_at=now_iso(),
                                 **({"history_id": str(newest)} if newest else {}))
