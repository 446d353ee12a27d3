"""email_integration.google.errors: how HTTP failures map onto the retry taxonomy."""
import json

import pytest

from email_integration.google import errors


def google_error(code, reason, message="m"):
    return json.dumps({"error": {"code": code, "message": message,
                                 "errors": [{"domain": "usageLimits", "reason": reason, "message": message}]}})


@pytest.mark.parametrize("status, body, expected", [
    (429, google_error(429, "userRateLimitExceeded"), errors.RateLimitedError),
    (429, None, errors.RateLimitedError),
    (403, google_error(403, "rateLimitExceeded"), errors.RateLimitedError),
    (403, google_error(403, "userRateLimitExceeded"), errors.RateLimitedError),
    (403, google_error(403, "forbidden"), errors.PermanentError),
    (500, google_error(500, "backendError"), errors.TransientError),
    (503, "<html>unavailable</html>", errors.TransientError),
    (401, google_error(401, "authError"), errors.AuthError),
    (400, json.dumps({"error": "invalid_grant", "error_description": "Token has been revoked."}),
     errors.NeedsReconsentError),
    (404, google_error(404, "notFound"), errors.NotFoundError),
    (400, google_error(400, "invalidArgument"), errors.PermanentError),
])
def test_classify(status, body, expected):
    error = errors.classify(status, body)
    assert type(error) is expected
    assert error.status == status
    assert error.retryable == (expected in (errors.RateLimitedError, errors.TransientError))


def test_history_404_is_history_expired():
    assert type(errors.classify(404, google_error(404, "notFound"), history=True)) is errors.HistoryExpiredError
    assert isinstance(errors.HistoryExpiredError("x"), errors.NotFoundError)


def test_retry_after_seconds_and_http_date():
    assert errors.classify(429, None, {"Retry-After": "7"}).retry_after == 7.0
    assert errors.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert errors.parse_retry_after("soon") is None
    assert errors.parse_retry_after(None) is None
    assert errors.parse_retry_after("-3") == 0.0


def test_reason_and_message_reach_the_text():
    error = errors.classify(429, google_error(429, "userRateLimitExceeded", "User-rate limit exceeded"))
    assert error.reason == "userRateLimitExceeded"
    assert "User-rate limit exceeded" in str(error)


def test_garbage_bodies_do_not_break_classification():
    for body in (b"\xff\xfe", "[]", '{"error": 5}', '{"error": {"errors": "x"}}', ""):
        assert type(errors.classify(502, body)) is errors.TransientError


def test_retry_after_is_read_whatever_the_header_case():
    # Batch parts come back with lower-cased header names (email_integration.gmail.batch.decode_batch).
    assert errors.classify(429, b"", {"retry-after": "3"}).retry_after == 3.0
    assert errors.classify(429, b"", {"Retry-After": "4"}).retry_after == 4.0


def test_retry_after_named_in_gmails_message():
    body = json.dumps({"error": {"code": 429, "message": "User-rate limit exceeded.  Retry after 2026-05-02T10:00:30.000Z",
                                 "errors": [{"reason": "userRateLimitExceeded"}]}}).encode()
    import datetime
    now = datetime.datetime(2026, 5, 2, 10, 0, 0, tzinfo=datetime.timezone.utc).timestamp()
    assert errors.retry_after_in_message(json.loads(body)["error"]["message"], now) == 30.0
    assert errors.classify(429, body).retry_after is not None  # no header: the message says when
    assert errors.classify(429, body, {"Retry-After": "7"}).retry_after == 7.0  # the header wins
