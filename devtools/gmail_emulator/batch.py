"""Gmail's batch endpoint: a multipart/mixed body of application/http requests in, the same out.

developers.google.com/gmail/api/guides/batch: up to 100 calls a batch, each counted against
quota separately; each response part echoes its request's Content-ID as <response-ID>.
"""
from __future__ import annotations

import email
import email.policy
import secrets

MAX_CALLS = 100
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


class BatchError(ValueError):
    """The batch body itself is malformed."""


def parse_batch(content_type: str, body: bytes) -> list[dict]:
    """[{content_id, method, target, headers}] from a batch request body."""
    if not content_type.lower().startswith("multipart/mixed") or "boundary" not in content_type.lower():
        raise BatchError("batch requests must be multipart/mixed with a boundary")
    message = email.message_from_bytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body,
                                       policy=email.policy.compat32)
    parts = message.get_payload()
    if not isinstance(parts, list) or not parts:
        raise BatchError("the batch has no parts")
    if len(parts) > MAX_CALLS:
        raise BatchError(f"a batch may hold at most {MAX_CALLS} calls, this one has {len(parts)}")
    calls = []
    for part in parts:
        payload = part.get_payload(decode=True) or b""
        text = payload.decode("utf-8", "replace").replace("\r\n", "\n")
        request_line, _, rest = text.lstrip("\n").partition("\n")
        pieces = request_line.split()
        if len(pieces) < 2:
            raise BatchError(f"bad request line in a batch part: {request_line[:80]!r}")
        header_block = rest.split("\n\n", 1)[0]
        headers = {}
        for line in header_block.split("\n"):
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        calls.append({"content_id": (part.get("Content-ID") or "").strip().strip("<>"), "method": pieces[0].upper(),
                      "target": pieces[1], "headers": headers})
    return calls


def build_batch_response(replies: list[tuple[str, int, dict, bytes]]) -> tuple[str, bytes]:
    """(content type, body) for [(content_id, status, headers, body)]."""
    boundary = "batch_" + secrets.token_hex(12)
    chunks = []
    for content_id, status, headers, body in replies:
        inner = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}", "Content-Type: application/json; charset=UTF-8"]
        inner += [f"{k}: {v}" for k, v in headers.items()]
        inner += [f"Content-Length: {len(body)}", "", ""]
        head = [f"--{boundary}", "Content-Type: application/http"]
        if content_id:
            head.append(f"Content-ID: <response-{content_id}>")
        chunks.append(("\r\n".join(head + ["", ""]) + "\r\n".join(inner)).encode() + body + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return f"multipart/mixed; boundary={boundary}", b"".join(chunks)
