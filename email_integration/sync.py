"""Sync one account: backfill (resumable listing), incremental history, full resync; every run recorded.

The discipline is lieer's: read the mailbox's historyId *before* listing, save it only after
every change up to it is applied; a 404 from history.list (or a last success older than
CRM_GMAIL_HISTORY_STALE_DAYS) means a full listing, which converges without duplicates because
every message is keyed by (account, Gmail id) and every email by its Message-ID.
A listing saves its page token after each page, so a killed process resumes where it stopped.
"""
from __future__ import annotations

import logging
import threading

from backend.db import atomic, iso_after, now_iso

from . import db, db_emails
from .errors import AuthError, GmailError, HistoryExpiredError, NeedsReconsentError, NotFoundError
from .ingest import Ingestor

log = logging.getLogger(__name__)
HISTORY_TYPES = ("messageAdded", "messageDeleted", "labelAdded", "labelRemoved")
HIDDEN_LABELS = {"SPAM", "TRASH"}


class Interrupted(Exception):
    """The scheduler is shutting down; the run stops at a safe point with its checkpoint saved."""


def _stale(last_success_at: str | None, days: float) -> bool:
    return not last_success_at or last_success_at < iso_after(-days * 86400)


class AccountSync:
    """One run for one account over `conn` (a connection of its own) with the account's GmailClient."""

    def __init__(self, conn, account: dict, client, config, matcher_cache, blob_store, stop=None):
        self.conn, self.account, self.client, self.config = conn, account, client, config
        self.account_id = account["id"]
        self.ingestor = Ingestor(conn, matcher_cache, blob_store, config.capture_all, config.max_attachment_bytes,
                                 config.propose_since_days)
        self.blob_store = blob_store
        self.stop = stop or threading.Event()
        self.counts = {"added": 0, "updated": 0, "deleted": 0, "failed": 0}
        self.run_id = None

    # -- the run ------------------------------------------------------------------------------
    def run(self) -> dict | None:
        """Run whatever the account needs next; the finished run row, or None when another process runs it."""
        if not db.claim_account(self.conn, self.account_id):
            log.info("account %s is being synced by another process; skipped", self.account_id)
            return None
        state = db.get_sync_state(self.conn, self.account_id)
        kind = state["listing_kind"] or ("backfill" if not state["history_id"] else
                                         "full_resync" if _stale(state["last_success_at"],
                                                                 self.config.history_stale_days) else "incremental")
        with atomic(self.conn):
            self.run_id = db.start_run(self.conn, self.account_id, kind)
        status, error, account_state = "ok", None, "idle"
        try:
            # Inside an unfinished listing, what the queue fetches counts as seen by that listing.
            self._retry_queue(state["listing_gen"] if state["listing_kind"] else 0)
            if kind == "incremental":
                try:
                    self._incremental(state["history_id"])
                except HistoryExpiredError:
                    log.info("history expired for account %s: full resync", self.account_id)
                    kind = "full_resync"
                    with atomic(self.conn):
                        db.set_run_kind(self.conn, self.run_id, kind)
            if kind != "incremental":
                self._listing(kind, resume=bool(state["listing_kind"]))
                self._incremental(db.get_sync_state(self.conn, self.account_id)["history_id"])
            queued = db.queue_size(self.conn, self.account_id)
            if self.counts["failed"] or queued:
                status, error = "partial", f"{queued} message(s) could not be fetched; retried next run"
        except Interrupted:
            status, error = "partial", "interrupted by shutdown; resumes from its checkpoint"
        except NeedsReconsentError as exc:
            status, error, account_state = "error", str(exc), "needs_reconsent"
        except AuthError as exc:
            status, error, account_state = "error", f"authorization failed: {exc}", "error"
        except GmailError as exc:
            status, error, account_state = "error", str(exc), "error"
        except Exception as exc:  # noqa: BLE001 - recorded on the run; the scheduler must go on
            log.exception("sync of account %s failed", self.account_id)
            status, error, account_state = "error", f"internal error: {type(exc).__name__}", "error"
        with atomic(self.conn):
            db.finish_run(self.conn, self.run_id, status, self.counts, error)
            db.release_account(self.conn, self.account_id, account_state, error if account_state != "idle" else None)
        return db.last_run(self.conn, self.account_id)

    def _check_stop(self) -> None:
        """Between batches: stop if asked, and renew the run lease (other processes see we are alive)."""
        if self.stop.is_set():
            raise Interrupted()
        with atomic(self.conn):
            db.renew_lease(self.conn, self.account_id)

    # -- fetch and store ----------------------------------------------------------------------
    def _fetch_and_store(self, gmail_ids: list[str], seen_gen: int = 0, reason: str = "sync") -> None:
        """Fetch full messages in batches and store them; failures go to the queue for the next run."""
        for start in range(0, len(gmail_ids), self.config.batch_size * 4):
            self._check_stop()
            found, failed = self.client.batch_get_messages(gmail_ids[start:start + self.config.batch_size * 4])
            with atomic(self.conn):  # one commit per batch: a commit per message costs more than the rest
                for gmail_id, resource in found.items():
                    self._store_one(gmail_id, resource, seen_gen, reason)
                for gmail_id, error in failed.items():
                    if isinstance(error, NotFoundError):  # deleted since it was listed: nothing to keep
                        db.dequeue_fetch(self.conn, self.account_id, gmail_id)
                        self._remove(gmail_id)
                    else:
                        db.queue_fetch(self.conn, self.account_id, gmail_id, reason, str(error)[:300])
                        self.counts["failed"] += 1

    def _store_one(self, gmail_id: str, resource: dict, seen_gen: int, reason: str) -> None:
        if HIDDEN_LABELS & set(resource.get("labelIds") or []):  # moved to spam/trash since it was listed
            db.dequeue_fetch(self.conn, self.account_id, gmail_id)
            self._remove(gmail_id)
            return
        try:
            outcome = self.ingestor.ingest(self.account_id, resource, seen_gen)
        except Exception as exc:  # noqa: BLE001 - one message we cannot store must not sink the run
            log.warning("account %s: message %s not stored: %s", self.account_id, gmail_id, type(exc).__name__)
            db.queue_fetch(self.conn, self.account_id, gmail_id, reason, f"not stored: {type(exc).__name__}")
            self.counts["failed"] += 1
            return
        if outcome in ("added", "updated"):
            self.counts[outcome] += 1
        db.dequeue_fetch(self.conn, self.account_id, gmail_id)

    def _retry_queue(self, seen_gen: int) -> None:
        queued = db.queued_fetches(self.conn, self.account_id)
        if queued:
            self._fetch_and_store(queued, seen_gen, reason="retry")
            self.counts["failed"] = 0  # what is still queued shows up as 'partial' at the end

    def _remove(self, gmail_id: str) -> None:
        removed, hashes = db_emails.remove_entry(self.conn, self.account_id, gmail_id)
        if removed:
            self.counts["deleted"] += 1
            self.blob_store.release(self.conn, hashes)

    # -- listing: backfill and full resync ----------------------------------------------------
    def _listing(self, kind: str, resume: bool) -> None:
        state = db.get_sync_state(self.conn, self.account_id)
        if not resume:
            profile = self.client.get_profile()
            with atomic(self.conn):
                db.update_sync_state(self.conn, self.account_id, listing_kind=kind,
                                     listing_gen=state["listing_gen"] + 1, listing_page_token=None,
                                     listing_start_history_id=str(profile.get("historyId", "")),
                                     progress_done=0, progress_total=int(profile.get("messagesTotal") or 0))
            state = db.get_sync_state(self.conn, self.account_id)
        gen, token = state["listing_gen"], state["listing_page_token"]
        done = state["progress_done"]
        if resume and token is None and done:
            pages = iter(())  # the last page was applied before the stop; only the finish is left
        else:
            pages = self.client.iter_message_refs(page_size=self.config.backfill_page_size, page_token=token)
        for refs, next_token in pages:
            self._check_stop()
            ids = [ref["id"] for ref in refs]
            known = db_emails.known_gmail_ids(self.conn, self.account_id, ids)
            with atomic(self.conn):
                db_emails.mark_seen(self.conn, self.account_id, known, gen)
            self._fetch_and_store([i for i in ids if i not in known], gen)
            if kind == "full_resync" and known:
                self._refresh_labels(sorted(known))
            done += len(ids)
            with atomic(self.conn):
                db.update_sync_state(self.conn, self.account_id, listing_page_token=next_token, progress_done=done)
        self._check_stop()
        with atomic(self.conn):
            # A message the finished listing did not see is gone from the mailbox (unless queued: then
            # it was seen but not yet fetched).
            queued = set(db.queued_fetches(self.conn, self.account_id))
            for gmail_id in db_emails.unseen_gmail_ids(self.conn, self.account_id, gen):
                if gmail_id not in queued:
                    self._remove(gmail_id)
            db.update_sync_state(self.conn, self.account_id, history_id=state["listing_start_history_id"],
                                 listing_kind=None, listing_page_token=None, progress_done=done,
                                 progress_total=max(done, state["progress_total"]))

    def _refresh_labels(self, gmail_ids: list[str]) -> None:
        found, failed = self.client.batch_get_messages(gmail_ids, fmt="minimal")
        with atomic(self.conn):
            for gmail_id, resource in found.items():
                db_emails.set_labels(self.conn, self.account_id, gmail_id, resource.get("labelIds", []))
            for gmail_id, error in failed.items():
                if isinstance(error, NotFoundError):
                    self._remove(gmail_id)

    # -- incremental --------------------------------------------------------------------------
    def _incremental(self, start_history_id: str) -> None:
        added: dict[str, None] = {}
        deleted: set[str] = set()
        labels: dict[str, list] = {}
        newest = None
        for records, mailbox_history_id in self.client.iter_history(start_history_id, HISTORY_TYPES):
            self._check_stop()
            newest = newest or mailbox_history_id  # the first page's: later changes come next run
            for record in records:
                for item in record.get("messagesAdded", []):
                    message = item["message"]
                    if HIDDEN_LABELS & set(message.get("labelIds", [])):
                        continue  # arrived straight in spam or trash
                    added[message["id"]] = None
                    deleted.discard(message["id"])
                for item in record.get("messagesDeleted", []):
                    message_id = item["message"]["id"]
                    added.pop(message_id, None)
                    labels.pop(message_id, None)
                    deleted.add(message_id)
                for item in record.get("labelsAdded", []) + record.get("labelsRemoved", []):
                    message = item["message"]
                    if message["id"] not in deleted and "labelIds" in message:
                        labels[message["id"]] = message["labelIds"]
        # Spam and trash are outside the mailbox as messages.list shows it (includeSpamTrash=false):
        # moving a message there removes it from the CRM; taking it out brings it back.
        for gmail_id, label_ids in list(labels.items()):
            if HIDDEN_LABELS & set(label_ids):
                deleted.add(gmail_id)
                added.pop(gmail_id, None)
                del labels[gmail_id]
        unknown = set(labels) - db_emails.known_gmail_ids(self.conn, self.account_id, list(labels))
        self._fetch_and_store(list(added) + sorted(unknown - set(added)))
        with atomic(self.conn):
            for gmail_id in deleted:
                self._remove(gmail_id)
            for gmail_id, label_ids in labels.items():
                if gmail_id not in added and gmail_id not in unknown and \
                        db_emails.set_labels(self.conn, self.account_id, gmail_id, label_ids):
                    self.counts["updated"] += 1
            # History up to `newest` is applied: the state is fresh even if some fetches are queued.
            db.update_sync_state(self.conn, self.account_id, last_success_at=now_iso(),
                                 **({"history_id": str(newest)} if newest else {}))
