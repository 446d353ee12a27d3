"""Attachment bytes: content-addressed storage by SHA-256 (deduplicated) and the download worker.

Files live at $CRM_DATA_DIR/email_attachments/ab/cd/<sha256>; names never come from the email,
so a hostile filename cannot reach the file system. The filename is only ever sent back in a
Content-Disposition header, after safe_filename().
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
import unicodedata
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from backend.db import atomic
from email_integration.google.errors import GmailError, NotFoundError

from . import db_capture, db_emails

log = logging.getLogger(__name__)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobStore:
    """Bytes by their SHA-256 under `root`; put() of the same bytes twice stores them once."""

    def __init__(self, root: str):
        self.root = root

    def path_for(self, sha256: str) -> str:
        if not _SHA256.match(sha256 or ""):
            raise ValueError("not a sha256 hex digest")
        return os.path.join(self.root, sha256[:2], sha256[2:4], sha256)

    def put(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        path = self.path_for(sha256)
        if os.path.exists(path):
            return sha256
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        # temp file + rename: a crash never leaves a half-written blob under its final name
        fd, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise
        return sha256

    def read(self, sha256: str) -> bytes:
        with open(self.path_for(sha256), "rb") as handle:
            return handle.read()

    def exists(self, sha256: str) -> bool:
        return os.path.exists(self.path_for(sha256))

    def release(self, conn, hashes) -> int:
        """Delete the blobs no attachment row refers to any more; returns how many went."""
        removed = 0
        for sha256 in set(hashes):
            if sha256 and not db_emails.hash_in_use(conn, sha256) and self.exists(sha256):
                os.unlink(self.path_for(sha256))
                removed += 1
        return removed


def blob_store_for(data_dir: str) -> BlobStore:
    return BlobStore(os.path.join(data_dir, "email_attachments"))


def safe_filename(name: str, fallback: str = "attachment") -> str:
    """A name safe for a download: no directories, control characters or leading dots."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".").strip()
    return name[:200] or fallback


def content_disposition(name: str) -> str:
    """attachment; filename="ascii"; filename*=UTF-8''… (RFC 6266 / RFC 5987)."""
    safe = safe_filename(name)
    ascii_name = safe.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(safe, safe='')}"


def store_inline(conn, store: BlobStore, attachment_id: int, data: bytes, max_bytes: int) -> None:
    """Bytes Gmail sent inside the message itself (small parts): stored at once."""
    if len(data) > max_bytes:
        db_emails.set_attachment_result(conn, attachment_id, "too_large", size=len(data))
        return
    db_emails.set_attachment_result(conn, attachment_id, "stored", sha256=store.put(data), size=len(data))


class AttachmentDownloader:
    """Fetches pending attachment bytes with CRM_GMAIL_ATTACH_CONCURRENCY workers.

    `client_for(account_id)` gives the account's GmailClient; `connect()` a new SQLite connection
    (one per worker: sqlite3 connections are not shared across threads here).
    """

    def __init__(self, connect, client_for, store: BlobStore, concurrency: int, max_bytes: int, stop=None):
        self.connect, self.client_for, self.store = connect, client_for, store
        self.concurrency, self.max_bytes = max(1, concurrency), max_bytes
        self.stop = stop or threading.Event()
        self.counts = {"stored": 0, "too_large": 0, "error": 0, "retry": 0}
        self._lock = threading.Lock()

    def run(self, account_id: int | None = None, limit: int = 10_000, only_id: int | None = None) -> dict:
        """Fetch the pending attachments (of one account, or just attachment `only_id`)."""
        conn = self.connect()
        try:
            rows = db_capture.pending_attachment(conn, only_id) if only_id is not None else \
                [r for r in db_emails.pending_attachments(conn, limit) if account_id is None or r["account_id"] == account_id]
        finally:
            conn.close()
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="attach") as pool:
            list(pool.map(self._one, rows))
        return dict(self.counts)

    def _count(self, key: str) -> None:
        with self._lock:
            self.counts[key] += 1

    def _one(self, row: dict) -> None:
        if self.stop.is_set():
            return
        conn = self.connect()
        try:
            if row["size"] > self.max_bytes:
                with atomic(conn):
                    db_emails.set_attachment_result(conn, row["id"], "too_large")
                self._count("too_large")
                return
            if not (row["gmail_attachment_id"] and row["account_id"]):
                with atomic(conn):
                    db_emails.set_attachment_result(conn, row["id"], "error", error="Gmail gave no attachmentId")
                self._count("error")
                return
            try:
                data = self.client_for(row["account_id"]).get_attachment(row["gmail_id"], row["gmail_attachment_id"])
            except NotFoundError:
                with atomic(conn):
                    db_emails.set_attachment_result(conn, row["id"], "error", error="gone from Gmail")
                self._count("error")
                return
            except GmailError as error:
                with atomic(conn):  # stays pending; a later run tries again (attempts are capped)
                    db_emails.retry_attachment_later(conn, row["id"], str(error)[:300])
                self._count("retry")
                return
            with atomic(conn):
                store_inline(conn, self.store, row["id"], data, self.max_bytes)
            self._count("stored" if len(data) <= self.max_bytes else "too_large")
        finally:
            conn.close()
