"""The Gmail API v1 over HTTP for one account: quota-aware, retrying, batching, keep-alive.

Network only (no database): `iter_*` generators yield pages so the sync can checkpoint page
tokens; `batch_get(method, requests)` fetches many resources of one GET method (messages.get,
threads.get) in multipart batches. Every call charges its cost in the configured quota profile
(google/quota.py) to the account's limiter first, and tells the limiter what Gmail
answered so the pace adapts (google/pacing.py). Failures follow google/errors.py:
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
from collections import defaultdict, deque

from email_integration.config import CONFIG
from email_integration.google.errors import (AuthError, GmailError, NeedsReconsentError, RateLimitedError,
                                             TransientError, classify, is_concurrency_limit)
from email_integration.google.http_conn import ConnectionPool
from email_integration.google.pacing import limiter_for

from . import batch

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
        self.quota = config.quota
        self.limiter = limiter or limiter_for(self.user, config.pace_units_per_min, config.batch_size)
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
                    self._rate_limited(error, delay)
                log.info("%s for %s: %s; retry %d in %.2fs", describe, self.user, error, attempt + 1, delay)
                self.sleep(delay)
        raise AssertionError("unreachable")

    def _rate_limited(self, error: RateLimitedError, delay: float) -> None:
        """Hold the whole account; a quota refusal (not a concurrency one) also lowers the pace. Either reason
        is this user's own budget (google/quota.py, QUOTA_ERROR_SHAPES: Google's guide says both mean "the user
        has reached Gmail API's maximum request rate", and the project's budget is far beyond ours)."""
        if not is_concurrency_limit(error):
            self.limiter.rate_limited(error.retry_after, per_user=True)
        self.limiter.pause(delay)

    def _get(self, method: str, suffix: str, query: dict | None = None, *, history: bool = False) -> dict:
        path = self._path(suffix, query)
        cost = self.quota.cost(method)

        def once():
            self.limiter.acquire(cost)
            self.calls += 1
            status, headers, body = self.pool.request("GET", path, headers=self._headers())
            error = classify(status, body, headers, history=history) if status != 200 else None
            if not isinstance(error, RateLimitedError):
                self.limiter.charged(cost)  # Gmail charges every call it admits, failed or not (not a 429/403 refusal)
            if error is not None:
                raise error
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
        return self._get("messages.get", *self._message_request(message_id, fmt, metadata_headers))

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

    def get_thread(self, thread_id: str, fmt: str = "full", metadata_headers=None) -> dict:
        return self._get("threads.get", *self._thread_request(thread_id, fmt, metadata_headers))

    @staticmethod
    def _message_request(message_id, fmt="full", metadata_headers=None) -> tuple[str, dict]:
        return "/messages/" + urllib.parse.quote(message_id), {"format": fmt,
                                                              "metadataHeaders": list(metadata_headers or [])}

    @staticmethod
    def _thread_request(thread_id, fmt="full", metadata_headers=None) -> tuple[str, dict]:
        return "/threads/" + urllib.parse.quote(thread_id), {"format": fmt,
                                                            "metadataHeaders": list(metadata_headers or [])}

    # -- batches ---------------------------------------------------------------------------
    def batch_get_metadata(self, ids, headers=METADATA_HEADERS):
        """Metadata of many messages: ({id: message}, {id: final GmailError})."""
        return self.batch_get_messages(ids, fmt="metadata", metadata_headers=headers)

    def batch_get_messages(self, ids, fmt: str = "full", metadata_headers=None):
        """Many messages: ({id: message}, {id: final GmailError}); see batch_get."""
        return self.batch_get("messages.get", {i: self._message_request(i, fmt, metadata_headers)
                                               for i in dict.fromkeys(ids)})

    def batch_get_threads(self, ids, fmt: str = "full", metadata_headers=None):
        """Many whole threads: ({id: thread}, {id: final GmailError}); see batch_get."""
        return self.batch_get("threads.get", {i: self._thread_request(i, fmt, metadata_headers)
                                              for i in dict.fromkeys(ids)})

    def batch_get(self, method: str, requests: dict):
        """GETs of one Gmail method in multipart batches: requests {key: (path suffix, query)} →
        ({key: resource}, {key: final GmailError}).

        Batches carry the account's learned size (pacing.BatchSizer, at most CRM_GMAIL_BATCH_SIZE).
        Parts Gmail answers 429 go back to the front of the pending list: the account's limiter
        pauses (a quota 429 also lowers its pace), and when Gmail refused calls beyond the user's
        concurrent ones the batch size shrinks to what got through;
        other retryable parts go back too, each at most CONFIG.retry_max times; more than retry_max
        batches in a row where no part gets through end the call like a spent retry budget. A batch that fails
        whole is retried at half the size; that retry budget restarts after a batch succeeds, and when
        it is spent the rest are reported failed: what was fetched is always returned.
        """
        pending = deque(requests)
        found, failed, attempts = {}, {}, defaultdict(int)
        sizer, whole_failures, stalled = self.limiter.batches, 0, 0
        cap = sizer.size  # this call's own limit: halved by whole-batch failures, doubled back by successes
        while pending:
            chunk = [pending.popleft() for _ in range(min(cap, sizer.size, len(pending)))]
            try:
                parts = self._send_batch(method, [requests[key] for key in chunk])
            except GmailError as error:
                pending.extendleft(reversed(chunk))
                whole_failures += 1
                if not error.retryable or whole_failures > self.config.retry_max:
                    failed.update((key, error) for key in pending)
                    break
                cap = max(1, len(chunk) // 2)
                delay = backoff_delay(whole_failures - 1, error.retry_after, self.rng)
                if isinstance(error, RateLimitedError):
                    self._rate_limited(error, delay)
                self.sleep(delay)
                continue
            whole_failures, cap = 0, min(sizer.maximum, cap * 2)
            retry, limited = self._sort_parts(method, chunk, parts, found, failed, attempts)
            # Rate-limited parts cost no attempt of their own while others get through; a run of
            # batches where nothing at all gets through ends like a whole-batch failure.
            stalled = stalled + 1 if len(retry) == len(chunk) else 0
            if stalled > self.config.retry_max:
                failed.update((key, limited[0] if limited else TransientError(f"{method}: no progress"))
                              for key in retry + list(pending))
                break
            pending.extendleft(reversed(retry))
            if limited:
                # Too many calls at once: the batch becomes what got through. Over the quota: the
                # pace comes down (in _rate_limited); a smaller batch would not spend less per second.
                over_quota = [e for e in limited if not is_concurrency_limit(e)]
                if len(over_quota) < len(limited):
                    sizer.limited(len(chunk), len(chunk) - len(limited))
                worst = max(over_quota or limited, key=lambda e: e.retry_after or 0.0)
                self._rate_limited(worst, backoff_delay(0, worst.retry_after, self.rng))
            elif retry:
                self.sleep(backoff_delay(0, None, self.rng))
            else:
                sizer.clean(len(chunk))
        return found, failed

    def _sort_parts(self, method, chunk, parts, found, failed, attempts):
        """Put each part of an answered batch where it belongs; (keys to retry, rate-limit errors)."""
        retry, limited, admitted = [], [], 0
        refreshed = False
        for index, key in enumerate(chunk):
            status, headers, body = parts.get(index, (0, {}, b""))
            if status == 200:
                admitted += 1
                try:
                    found[key] = json.loads(body)
                    continue
                except ValueError:
                    error = TransientError(f"{method}: a batch part is not JSON")
            elif status:
                error = classify(status, body, headers)
            else:
                error = TransientError(f"{method}: the batch answer lacks this part")
            if isinstance(error, RateLimitedError):  # refused (429, or 403 over quota): not charged
                limited.append(error)
                retry.append(key)
                continue
            admitted += bool(status) and status != 200  # a 200 was counted above
            if isinstance(error, AuthError) and not refreshed:
                self.credentials.invalidate(self.user)
                refreshed = True
            if not (error.retryable or isinstance(error, AuthError)):
                failed[key] = error  # e.g. 404: deleted since it was listed
                continue
            attempts[key] += 1
            if attempts[key] > self.config.retry_max:
                failed[key] = error
            else:
                retry.append(key)
        self.limiter.charged(self.quota.cost(method) * admitted)
        return retry, limited

    def _send_batch(self, method: str, requests: list):
        paths = [self._path(suffix, query) for suffix, query in requests]
        content_type, body = batch.encode_batch(paths)
        self.limiter.acquire(self.quota.cost(method) * len(paths))  # each call in a batch is charged
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
