"""Batch encoding/decoding (pure) and the client-side quota limiter (with an injected clock)."""
import pytest

from email_integration.gmail.batch import BatchDecodeError, decode_batch, encode_batch
from email_integration.gmail.client import backoff_delay
from email_integration.google.pacing import QuotaLimiter


def test_encode_then_the_emulators_parser_reads_it():
    from devtools.gmail_emulator.batch import build_batch_response, parse_batch
    content_type, body = encode_batch(["/gmail/v1/users/a@x/messages/1?format=full", "/gmail/v1/users/a@x/messages/2"])
    calls = parse_batch(content_type, body)
    assert [(c["content_id"], c["method"], c["target"]) for c in calls] == [
        ("item-0", "GET", "/gmail/v1/users/a@x/messages/1?format=full"), ("item-1", "GET", "/gmail/v1/users/a@x/messages/2")]
    reply_type, reply = build_batch_response([("item-1", 404, {}, b'{"error": {}}'), ("item-0", 200, {}, b'{"id": "1"}')])
    decoded = decode_batch(reply_type, reply)
    assert decoded[0] == (200, {"content-type": "application/json; charset=UTF-8", "content-length": "11"}, b'{"id": "1"}')
    assert decoded[1][0] == 404


def test_decode_a_google_style_response():
    body = (b"--batch_abc\r\nContent-Type: application/http\r\nContent-ID: <response-item-0>\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{\"id\": \"x\"}\r\n"
            b"--batch_abc\r\nContent-Type: application/http\r\nContent-ID: <response-item-1>\r\n\r\n"
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\n\r\n{}\r\n--batch_abc--\r\n")
    decoded = decode_batch('multipart/mixed; boundary="batch_abc"', body)
    assert decoded[0] == (200, {"content-type": "application/json; charset=UTF-8"}, b'{"id": "x"}')
    assert decoded[1] == (429, {"retry-after": "3"}, b"{}")


def test_decode_refuses_what_is_not_a_batch():
    with pytest.raises(BatchDecodeError):
        decode_batch("application/json", b"{}")
    with pytest.raises(BatchDecodeError):
        decode_batch("multipart/mixed; boundary=b", b"--b\r\nContent-ID: <response-item-0>\r\n\r\nnot http\r\n--b--")


def test_limiter_reserves_ahead_and_sustains_the_rate():
    now = [0.0]
    slept = []
    # The 2026 profile's default pace: 90% of 6,000 units/min = 90 units/s.
    limiter = QuotaLimiter(5400, clock=lambda: now[0], sleep=lambda s: (slept.append(s), now.__setitem__(0, now[0] + s)))
    for _ in range(30):  # 30 batches of 10 messages.get at 20 units = 6,000 units
        limiter.acquire(200)
        now[0] += 0.05  # the network time overlaps the bucket's refill
    assert limiter.spent == 6000
    assert 6000 / now[0] == pytest.approx(90, rel=0.03)


def test_limiter_pause_holds_every_caller():
    now = [0.0]
    limiter = QuotaLimiter(6000, clock=lambda: now[0], sleep=lambda s: None)
    limiter.pause(2.0)
    assert limiter.reserve(1) == pytest.approx(2.0)
    now[0] = 2.5
    assert limiter.reserve(1) == 0


def test_backoff_is_full_jitter_capped_and_floored_by_retry_after():
    assert backoff_delay(0, rng=lambda: 1.0) == 0.5
    assert backoff_delay(3, rng=lambda: 0.5) == 2.0
    assert backoff_delay(20, rng=lambda: 1.0) == 32.0
    assert backoff_delay(0, retry_after=5, rng=lambda: 0.1) == 5
