"""Gmail batch requests (developers.google.com/gmail/api/guides/batch): multipart/mixed in and out.

Pure functions: encode a list of GET paths into one body, decode the multipart response into
(index → (status, headers, body)). Each part is an application/http message whose Content-ID
we number; Gmail answers each with Content-ID <response-…> echoing it.
"""
from __future__ import annotations

import re
import secrets

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)
_CONTENT_ID = re.compile(rb"^content-id:\s*<?(?:response-)?item-(\d+)>?\s*$", re.I | re.M)


class BatchDecodeError(ValueError):
    """The batch response is not the multipart body we asked for."""


def encode_batch(paths: list[str], boundary: str | None = None) -> tuple[str, bytes]:
    """(content type, body) for GETs of `paths` (each starting with /gmail/v1/...)."""
    boundary = boundary or "batch_" + secrets.token_hex(16)
    chunks = []
    for index, path in enumerate(paths):
        chunks.append(f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <item-{index}>\r\n\r\n"
                      f"GET {path}\r\n\r\n")
    chunks.append(f"--{boundary}--\r\n")
    return f"multipart/mixed; boundary={boundary}", "".join(chunks).encode("utf-8")


def _split_head(block: bytes) -> tuple[bytes, bytes]:
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, rest = block.partition(separator)
        if found:
            return head, rest
    return block, b""


def decode_batch(content_type: str, body: bytes) -> dict[int, tuple[int, dict, bytes]]:
    """index → (status, lower-cased headers, body) for every part that came back."""
    match = _BOUNDARY.search(content_type or "")
    if not content_type.lower().startswith("multipart/") or not match:
        raise BatchDecodeError(f"expected a multipart batch response, got {content_type!r}")
    delimiter = b"--" + match.group(1).encode("latin-1")
    results = {}
    for block in body.split(delimiter)[1:]:
        if block.startswith(b"--"):
            break
        part_head, http_message = _split_head(block.lstrip(b"\r\n"))
        found = _CONTENT_ID.search(part_head)
        if not found:
            continue
        status_and_headers, payload = _split_head(http_message)
        lines = status_and_headers.decode("latin-1").splitlines()
        pieces = lines[0].split() if lines else []
        if len(pieces) < 2 or not pieces[1].isdigit():
            raise BatchDecodeError("a batch part has no HTTP status line")
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if headers.get("content-length", "").isdigit():
            payload = payload[:int(headers["content-length"])]
        elif payload.endswith(b"\r\n"):
            payload = payload[:-2]
        elif payload.endswith(b"\n"):
            payload = payload[:-1]
        results[int(found.group(1))] = (int(pieces[1]), headers, payload)
    return results
