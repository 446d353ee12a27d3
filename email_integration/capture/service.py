"""Wires the capture for one CRM database: credentials, one GmailClient per account, the matcher,
the attachment store; runs a sync of one account and a rematch of everything stored."""
from __future__ import annotations

import logging
import os
import threading

from backend.address_policy import team_only
from backend.db import atomic, connect
from email_integration.config import CONFIG
from email_integration.gmail.client import GmailClient
from email_integration.google.credentials import provider_from_config

from . import db_accounts, db_capture, db_emails
from .attachments import AttachmentDownloader, blob_store_for
from .ingest import relink
from .matcher import MatcherCache
from .sync import AccountSync
from .targeted import queue_new_terms

log = logging.getLogger(__name__)


class SqliteTokenStore:
    """credentials.TokenStore over email_oauth_tokens (blobs are TokenCipher ciphertexts)."""

    def __init__(self, db_path: str):
        self.db_path = db_path

    def _account(self, conn, user_email):
        return db_accounts.get_account_by_email(conn, user_email)

    def load_refresh_token(self, user_email):
        conn = connect(self.db_path)
        try:
            account = self._account(conn, user_email)
            return db_accounts.load_token_blob(conn, account["id"]) if account else None
        finally:
            conn.close()

    def save_refresh_token(self, user_email, blob):
        conn = connect(self.db_path)
        try:
            with atomic(conn):
                account = self._account(conn, user_email)
                if account is None:
                    account, _ = db_accounts.enroll_account(conn, user_email, None, "oauth")
                db_accounts.save_token_blob(conn, account["id"], blob)
                if account["state"] == "needs_reconsent":
                    db_accounts.set_account_state(conn, account["id"], "idle")
        finally:
            conn.close()

    def mark_needs_reconsent(self, user_email):
        conn = connect(self.db_path)
        try:
            account = self._account(conn, user_email)
            if account:
                with atomic(conn):
                    db_accounts.set_account_state(conn, account["id"], "needs_reconsent",
                                         "Gmail access was revoked or expired: connect Gmail again")
        finally:
            conn.close()


class CaptureService:
    """Everything a sync needs, built once per process for one database and data directory."""

    def __init__(self, db_path: str, data_dir: str, config=CONFIG, limiter_for=None):
        self.db_path, self.data_dir, self.config = db_path, data_dir, config
        # Gmail's per-user quota by default; benchmarks of memory pass an unlimited one.
        self.limiter_for = limiter_for
        self.matcher = MatcherCache(config.workspace_domain)
        self.blob_store = blob_store_for(data_dir)
        self._provider = None
        self._clients: dict[int, GmailClient] = {}
        self._lock = threading.Lock()

    def connect(self):
        return connect(self.db_path)

    def provider(self):
        with self._lock:
            if self._provider is None:
                self._provider = provider_from_config(self.config, SqliteTokenStore(self.db_path))
            return self._provider

    def client_for(self, account_id: int) -> GmailClient:
        """The account's client (one per account: its own keep-alive connection and quota limiter)."""
        with self._lock:
            client = self._clients.get(account_id)
        if client is not None:
            return client
        conn = self.connect()
        try:
            account = db_accounts.get_account(conn, account_id)
        finally:
            conn.close()
        if account is None:
            raise LookupError(f"no email account {account_id}")
        limiter = self.limiter_for(account["email"]) if self.limiter_for else None
        client = GmailClient(account["email"], self.provider(), self.config, limiter=limiter)
        with self._lock:
            return self._clients.setdefault(account_id, client)

    def sync_account(self, account_id: int, stop=None, poll: bool = False) -> dict | None:
        """One run for the account (a poll: history and queued backfills only), then its pending
        attachments once no message waits; the finished run row (None for a poll with nothing to do)."""
        conn = self.connect()
        try:
            account = db_accounts.get_account(conn, account_id)
            if account is None or account["state"] == "disabled" or not db_accounts.owner_active(conn, account_id):
                return None  # a deactivated teammate's mailbox is left alone until they are reactivated
            run = AccountSync(conn, account, self.client_for(account_id), self.config, self.matcher,
                              self.blob_store, stop).run(poll=poll)
            backlog = message_backlog(conn, account_id)
        finally:
            conn.close()
        # Attachment bytes cost as much as a message (2026 profile): they never hold up mail.
        if (run is None or run["status"] != "error") and not backlog:
            self.download_attachments(account_id, stop)
        return run

    def verify_account(self, account_id: int, stop=None) -> dict | None:
        """"Verify now" for one mailbox: its completeness figures (None when it is busy, or not in scope)."""
        conn = self.connect()
        try:
            account = db_accounts.get_account(conn, account_id)
            if account is None or account["state"] == "disabled" or not db_accounts.owner_active(conn, account_id):
                return None
            return AccountSync(conn, account, self.client_for(account_id), self.config, self.matcher,
                               self.blob_store, stop).verify()
        finally:
            conn.close()

    def download_attachments(self, account_id: int | None = None, stop=None, only_id: int | None = None) -> dict:
        return AttachmentDownloader(self.connect, self.client_for, self.blob_store, self.config.attach_concurrency,
                                    self.config.max_attachment_bytes, stop).run(account_id, only_id=only_id)

    def rematch(self) -> dict:
        """Re-link every stored email to investors; newly matched ones get their body fetched next run.

        In the investors scope, investors' new addresses and domains also get targeted backfills queued
        (mail of theirs we never listed is not stored at all, so relinking alone cannot find it).
        """
        counts = {"emails": 0, "linked": 0, "unlinked": 0, "queued": 0, "backfills": 0}
        conn = self.connect()
        try:
            if self.config.capture_scope == "investors":
                counts["backfills"] = len(queue_new_terms(conn, self.config.workspace_domain)["new"])
            index = self.matcher.index(conn)
            for email_id in db_emails.all_email_ids(conn):
                counts["emails"] += 1
                with atomic(conn):
                    brief = db_emails.email_brief(conn, email_id)
                    links, changed = relink(conn, index, email_id, brief["date"])
                    if not changed:
                        continue
                    if links and not brief["has_body"]:
                        entry = db_emails.any_mailbox_entry(conn, email_id)
                        if entry:
                            db_accounts.queue_fetch(conn, entry[0], entry[1], "rematch")
                            counts["queued"] += 1
                    elif not links and brief["has_body"] and not self.config.capture_all:
                        self.blob_store.release(conn, db_emails.drop_body(conn, email_id))
                    counts["linked" if links else "unlinked"] += 1
                    if brief["thread_id"]:
                        db_emails.refresh_thread(conn, brief["thread_id"])
            # A teammate's reply shown with an investor conversation goes when the conversation has none left,
            # and so does one naming anyone but teammates (shown before ingest checked that).
            with atomic(conn):
                for email_id, thread_id in self._not_in_conversation(conn):
                    if not self.config.capture_all:
                        self.blob_store.release(conn, db_emails.drop_body(conn, email_id))
                    db_capture.hide_from_conversation(conn, email_id)
                    db_emails.refresh_thread(conn, thread_id)
                    counts["unlinked"] += 1
        finally:
            conn.close()
        return counts


    def _not_in_conversation(self, conn) -> list[tuple[int, int]]:
        """(email id, thread id) of unlinked emails shown with a conversation that must not be any more."""
        gone = set(db_capture.orphaned_conversation_emails(conn))
        for email_id, thread_id in db_capture.conversation_emails(conn):
            if not team_only(conn, db_emails.participant_addresses(conn, email_id), self.config.workspace_domain):
                gone.add((email_id, thread_id))
        return sorted(gone)


def message_backlog(conn, account_id: int) -> int:
    """Messages the account still has to fetch: queued ids, an unfinished listing, queued backfills."""
    state = db_accounts.get_sync_state(conn, account_id)
    return (db_accounts.queue_size(conn, account_id) + (1 if state["listing_kind"] else 0)
            + len(db_capture.pending_backfill_terms(conn, account_id)))


def data_dir_from_env(environ=os.environ) -> str:
    return environ.get("CRM_DATA_DIR", "").strip() or "data"
