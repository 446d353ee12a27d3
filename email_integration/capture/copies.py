"""When a message in one more mailbox is a copy of an email already stored (issue 22, item 1). Pure: no SQL.

Anyone can put any message into their own Gmail, and a teammate at the `metadata` or `subject` level
sees an email's sender and date (and, before issue 22, its Message-ID). So agreeing on those proves
nothing: a copy merges into a stored email only when its content digest is the same (the body's text
parts, the HTML, the attachments' part ids, names, types and sizes: what limited levels never show).
A mailbox that holds an email reads it all, so merging on anything weaker would let a planted copy
read (and, as the most open holder, open to the firm) what its planter may not. A copy that differs is
stored as an email of its own, held by its mailbox alone; ingest.py decides with `may_merge`.
"""
from __future__ import annotations

import hashlib
import json


def content_digest(body_text, quoted_text, signature, body_html, attachments) -> str:
    """SHA-256 over what a copy must share with the stored email; `attachments`: dicts with part_id,
    filename, mime_type and size (a parsed message's, or the stored rows')."""
    parts = sorted((str(a["part_id"]), a["filename"] or "", a["mime_type"] or "", int(a["size"] or 0))
                   for a in attachments)
    basis = [body_text or "", quoted_text or "", signature or "", body_html or "", parts]
    return hashlib.sha256(json.dumps(basis, ensure_ascii=False).encode("utf-8", "replace")).hexdigest()


def parsed_digest(parsed: dict) -> str:
    return content_digest(parsed.get("body_text"), parsed.get("quoted_text"), parsed.get("signature"),
                          parsed.get("body_html"), parsed.get("attachments") or [])


def copy_key(key: str, basis: tuple, digest: str) -> str:
    """The key of a message that claims a stored email's key but differs from it: stable (its own later
    copies, with the same content, merge with it), distinct from the original's."""
    return key + "#c" + hashlib.sha256("\x1f".join([*map(str, basis), digest]).encode("utf-8", "replace")).hexdigest()[:16]


def own_key(key: str, account_id: int, gmail_id: str) -> str:
    """The key of one mailbox's own message when no shared key may take it (a copy of an email in a
    conversation that went private before this mailbox brought it): nobody else ever computes it."""
    return key + "#m" + hashlib.sha256(f"{account_id}\x1f{gmail_id}".encode("utf-8", "replace")).hexdigest()[:16]


def late_to_private(email_created_at: str | None, private_since: str | None) -> bool:
    """Whether a new holder would see an email of a private conversation it could not see before: the
    email was stored before the conversation was marked (later mail of it reaches all its recipients)."""
    return private_since is not None and (email_created_at or "") <= private_since
