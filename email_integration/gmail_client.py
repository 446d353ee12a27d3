"""The Gmail API v1 over HTTP for one account: quota-aware, retrying, batching, keep-alive.

Network only (no database): `iter_*` generators yield pages so the sync can checkpoint page
tokens; `batch_get_*` fetch many messages in multipart batches. Every call charges its Gmail
quota cost to the account's limiter first. Failures follow email_integration.errors:
transient and rate-limited ones are retried with exponential backoff and full jitter (never
sooner than Retry-After) up to CONFIG.retry_max times; a 401 refreshes the token once.
"""
from __future__ import annotations

import base64
import json
import logging
import random
import time
import urllib.parse

from . import batch
from .config import CONFIG
from .errors import AuthError, GmailError, NeedsReconsentError, RateLimitedError, TransientError, classify
from .http_conn import ConnectionPool
from .quota import COSTS, limiter_for

log = logging.getLogger("email_integration.gmail")
BACKOFF_BASE, BACKOFF_CAP = 0.5, 32.0
METADATA_HEADERS = ("From", "To", "Cc", "Bcc", "Date", "Subject", "Message-ID", "In-Reply-To", "References",
                    "List-Unsubscribe", "Precedence", "Auto-Submitted")


def backoff_delay(attempt: int, retry_after: float | None = None, rng=random.random) -> float:
    """Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"), floored by Retry-After."""
    delay = rng() * min(BACKOFF_CAP, BACKOFF_BASE * (2 ** attempt))
    return max(delay, retry_after or 0.0)


class GmailClient:
    def __init__(self, user_email: str, credentials, config=CONFIG, limiter=None, pool=None,
                 sleep=time.sleep, rng=random.random):
        self.user = user_email.lower()
        self.credentials, self.config = credentials, config
        self.limiter = limiter or limiter_for(self.user, config.rate_units_sec)
        self.pool = pool or ConnectionPool(config.api_base, config.http_timeout_sec)
        self.sleep, self.rng = sleep, rng
        self.base_path = "/gmail/v1/users/" + urllib.parse.quote(self.user, safe="@")
        self.calls = 0

    # -- plumbing ------------------------------------------------------------------------
    def _headers(self) -> dict:
        return {"Authorization": "Bearer " + self.credentials.access_token(self.user), "Accept": "application/json"}

    def _path(self, suffix: str, query: dict | None = None) -> str:
        pairs = [(k, v) for k, value in (query or {}).items() if value is not None
                 for v in (value if isinstance(value, (list, tuple)) else [value])]
        return self.base_path + suffix + ("?" + urllib.parse.urlencode(pairs) if pairs else "")

    def _retrying(self, attempt_once, describe: str):
        """Run attempt_once() until it succeeds, or the error is final, or the retries are spent."""
        refreshed = False
        for attempt in range(self.config.retry_max + 1):
            try:
                return attempt_once()
            except NeedsReconsentError:
                raise
            except AuthError:
                if refreshed:
                    raise
                refreshed = True
                self.credentials.invalidate(self.user)
                continue
            except GmailError as error:
                if not error.retryable or attempt == self.config.retry_max:
                    raise
                delay = backoff_delay(attempt, error.retry_after, self.rng)
                if isinstance(error, RateLimitedError):
                    self.limiter.pause(delay)
                log.info("%s for %s: %s; retry %d in %.2fs", describe, self.user, error, attempt + 1, delay)
                self.sleep(delay)
        raise AssertionError("unreachable")

    def _get(self, method: str, suffix: str, query: dict | None = None, *, history: bool = False) -> dict:
        path = self._path(suffix, query)

        def once():
            self.limiter.acquire(COSTS[method])
            self.calls += 1
            status, headers, body = self.pool.request("GET", path, headers=self._headers())
            if status != 200:
                raise classify(status, body, headers, history=history)
            try:
                return json.loads(body)
            except ValueError:
                raise TransientError(f"{method}: response is not JSON (cut short?)") from None

        return self._retrying(once, method)

    # -- single calls ----------------------------------------------------------------------
    def get_profile(self) -> dict:
        return self._get("getProfile", "/profile")

    def list_messages(self, q=None, label_ids=None, include_spam_trash=False, page_token=None,
                      page_size=None) -> dict:
        return self._get("messages.list", "/messages", {
            "q": q, "labelIds": list(label_ids or []), "pageToken": page_token,
            "includeSpamTrash": "true" if include_spam_trash else None,
            "maxResults": page_size or self.config.backfill_page_size})

    def iter_message_refs(self, q=None, label_ids=None, include_spam_trash=False, page_size=None, page_token=None):
        """Yield (page of {id, threadId}, next page token or None), page by page."""
        while True:
            page = self.list_messages(q, label_ids, include_spam_trash, page_token, page_size)
            page_token = page.get("nextPageToken")
            yield page.get("messages", []), page_token
            if not page_token:
                return

    def get_message(self, message_id: str, fmt: str = "full", metadata_headers=None) -> dict:
        return self._get("messages.get", "/messages/" + urllib.parse.quote(message_id),
                         {"format": fmt, "metadataHeaders": list(metadata_headers or [])})

    def list_history(self, start_history_id, history_types=None, page_token=None, label_id=None) -> dict:
        """One page of history.list; HistoryExpiredError when start_history_id is too old (→ full sync)."""
        return self._get("history.list", "/history", {
            "startHistoryId": str(start_history_id), "historyTypes": list(history_types or []),
            "pageToken": page_token, "labelId": label_id, "maxResults": 500}, history=True)

    def iter_history(self, start_history_id, history_types=None, label_id=None):
        """Yield (records, historyId of the mailbox) page by page."""
        page_token = None
        while True:
            page = self.list_history(start_history_id, history_types, page_token, label_id)
            yield page.get("history", []), page.get("historyId")
            page_token = page.get("nextPageToken")
            if not page_token:
                return

    def get_attachment(self, message_id: str, attachment_id: str) -> bytes:
        data = self._get("messages.attachments.get", f"/messages/{urllib.parse.quote(message_id)}/attachments/"
                                                     f"{urllib.parse.quote(attachment_id)}")
        return base64.urlsafe_b64decode(data.get("data", "") + "=" * (-len(data.get("data", "")) % 4))

    def get_thread(self, thread_id: str, fmt: str = "full") -> dict:
        return self._get("threads.get", "/threads/" + urllib.parse.quote(thread_id), {"format": fmt})

    # -- batches ---------------------------------------------------------------------------
    def batch_get_metadata(self, ids, headers=METADATA_HEADERS):
        """Metadata of many messages: ({id: message}, {id: final GmailError})."""
        return self.batch_get_messages(ids, fmt="metadata", metadata_headers=headers)

    def batch_get_messages(self, ids, fmt: str = "full", metadata_headers=None):
        """Many messages in batches of CONFIG.batch_size: ({id: message}, {id: final GmailError}).

        A batch that fails whole is retried at half the size (growing back after successes);
        a part that failed on its own is retried alone, with the ordinary retry loop.
        """
        pending = list(dict.fromkeys(ids))
        found, failed = {}, {}
        size, whole_failures = self.config.batch_size, 0
        while pending:
            chunk, rest = pending[:size], pending[size:]
            try:
                parts = self._send_batch(chunk, fmt, metadata_headers)
            except (TransientError, RateLimitedError) as error:
                whole_failures += 1
                if whole_failures > self.config.retry_max:
                    raise
                size = max(1, size // 2)
                delay = backoff_delay(whole_failures - 1, error.retry_after, self.rng)
                if isinstance(error, RateLimitedError):
                    self.limiter.pause(delay)
                self.sleep(delay)
                continue
            pending = rest
            size = min(self.config.batch_size, size * 2)
            for index, message_id in enumerate(chunk):
                status, headers, body = parts.get(index, (0, {}, b""))
                if status == 200:
                    try:
                        found[message_id] = json.loads(body)
                        continue
                    except ValueError:
                        pass
                elif status:
                    error = classify(status, body, headers)
                    if not error.retryable and not isinstance(error, AuthError):
                        failed[message_id] = error  # e.g. 404: deleted since it was listed
                        continue
                try:
                    found[message_id] = self.get_message(message_id, fmt, metadata_headers)
                except GmailError as error:
                    failed[message_id] = error
        return found, failed

    def _send_batch(self, ids, fmt, metadata_headers):
        paths = [self._path("/messages/" + urllib.parse.quote(i), {"format": fmt,
                                                                  "metadataHeaders": list(metadata_headers or [])})
                 for i in ids]
        content_type, body = batch.encode_batch(paths)
        self.limiter.acquire(COSTS["messages.get"] * len(ids))  # each call in a batch is charged
        self.calls += 1
        headers = {**self._headers(), "Content-Type": content_type}
        status, response_headers, data = self.pool.request("POST", "/batch/gmail/v1", body, headers)
        if status == 401:
            self.credentials.invalidate(self.user)
            raise TransientError("batch: 401, token refreshed")
        if status != 200:
            raise classify(status, data, response_headers)
        try:
            return batch.decode_batch(response_headers.get("Content-Type", ""), data)
        except batch.BatchDecodeError as error:
            raise TransientError(f"batch: {error}") from None

    def close(self) -> None:
        self.pool.close()
