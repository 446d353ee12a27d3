"""Exception taxonomy for Gmail and token-endpoint failures; the retry loop classifies on it."""
from __future__ import annotations

import datetime
import email.utils
import json
import re
import time

# Gmail's rate-limit reasons (developers.google.com/gmail/api/guides/handle-errors):
# 429 userRateLimitExceeded / rateLimitExceeded, and 403 with the same reasons.
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
# Gmail's 429 for too many calls in flight for one user (often parts of a big batch): its message.
CONCURRENCY_MESSAGE = "too many concurrent requests for user"
# Token-endpoint errors (RFC 6749 §5.2) that mean "this client may not act for this user": for a
# service account, domain-wide delegation is not granted for the client ID and scope.
UNAUTHORIZED_CLIENT_REASONS = frozenset({"unauthorized_client", "access_denied"})
# Gmail's userRateLimitExceeded message names the moment to retry ("User-rate limit exceeded.
# Retry after 2026-05-02T10:00:00.000Z"), often without a Retry-After header.
RETRY_AFTER_IN_MESSAGE = re.compile(r"retry after (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)", re.I)


class GmailError(Exception):
    """Base class: `status` is the HTTP status (0 for network-level), `reason` Google's reason."""

    retryable = False

    def __init__(self, message: str, status: int = 0, reason: str = "", retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


class TransientError(GmailError):
    """5xx, timeouts, connection resets, truncated bodies: retry with backoff."""

    retryable = True


class RateLimitedError(GmailError):
    """429, or 403 with a rate-limit reason: back off (honouring Retry-After) and retry."""

    retryable = True


class AuthError(GmailError):
    """401, or invalid_grant from the token endpoint: the credentials need attention."""


class NeedsReconsentError(AuthError):
    """OAuth refresh token revoked or expired (invalid_grant): a human must consent again."""


class NotFoundError(GmailError):
    """404 on a message, attachment or user."""


class HistoryExpiredError(NotFoundError):
    """404 on history.list: the startHistoryId is too old, a full sync is needed."""


class PermanentError(GmailError):
    """Any other 4xx: retrying will not help."""


def is_concurrency_limit(error: GmailError) -> bool:
    """A 429 about calls in flight rather than units spent: shrink the batch, keep the pace."""
    return isinstance(error, RateLimitedError) and CONCURRENCY_MESSAGE in str(error).lower()


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date, RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_after_in_message(message: str, now: float | None = None) -> float | None:
    """Seconds until the "Retry after <RFC 3339 time>" a Gmail error message names, if it names one."""
    found = RETRY_AFTER_IN_MESSAGE.search(message or "")
    if not found:
        return None
    try:
        when = datetime.datetime.fromisoformat(found.group(1).replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _google_reason(body: bytes | str | None) -> tuple[str, str]:
    """(reason, message) from Google's error JSON, or ("", "") when the body is not that."""
    if not body:
        return "", ""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    err = data.get("error")
    if isinstance(err, str):  # OAuth token endpoint: {"error": "invalid_grant", ...}
        return err, str(data.get("error_description", ""))
    if not isinstance(err, dict):
        return "", ""
    reason = ""
    errors = err.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        reason = str(errors[0].get("reason", ""))
    if not reason:
        for detail in err.get("details") or []:
            if isinstance(detail, dict) and detail.get("reason"):
                reason = str(detail["reason"])
                break
    return reason, str(err.get("message", ""))


def classify(status: int, body: bytes | str | None = None, headers=None, *, history: bool = False) -> GmailError:
    """Map an HTTP error response to the taxonomy; `history=True` turns a 404 into HistoryExpiredError."""
    reason, message = _google_reason(body)
    # Header names are case-insensitive (RFC 9110 §5.1); batch parts come with lower-cased ones.
    retry_after = parse_retry_after(None if headers is None else
                                    headers.get("Retry-After") or headers.get("retry-after"))
    if retry_after is None and status in (403, 429):
        retry_after = retry_after_in_message(message)
    text = f"HTTP {status}" + (f" {reason}" if reason else "") + (f": {message}" if message else "")
    if status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS):
        return RateLimitedError(text, status, reason or "rateLimitExceeded", retry_after)
    if status >= 500 or status == 408:
        return TransientError(text, status, reason, retry_after)
    if reason == "invalid_grant":
        return NeedsReconsentError(text, status, reason)
    if status == 401 or reason in UNAUTHORIZED_CLIENT_REASONS:
        return AuthError(text, status, reason)
    if status == 404:
        return (HistoryExpiredError if history else NotFoundError)(text, status, reason)
    return PermanentError(text, status, reason)
