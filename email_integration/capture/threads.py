"""One CRM thread per conversation: Gmail's threadId within a mailbox, RFC 5322 Message-ID,
In-Reply-To and References across mailboxes (the same message in two mailboxes is one email)."""
from __future__ import annotations

from . import db_emails


def thread_keys(account_id: int, gmail_thread_id: str, parsed: dict) -> list[str]:
    """Every key that names this message's conversation."""
    keys = [f"gmail:{account_id}:{gmail_thread_id}"] if gmail_thread_id else []
    ids = [parsed.get("message_id")] + list(parsed.get("in_reply_to") or []) + list(parsed.get("references") or [])
    keys += [f"mid:{i}" for i in dict.fromkeys(i for i in ids if i)]
    return keys


def resolve_thread(conn, account_id: int, gmail_thread_id: str, parsed: dict, current: int | None = None) -> int:
    """The thread id for the message, creating or merging threads as its keys demand (caller's transaction)."""
    keys = thread_keys(account_id, gmail_thread_id, parsed)
    found = db_emails.threads_for_keys(conn, keys) if keys else []
    if current is not None and current not in found:
        found = sorted(set(found) | {current})
    if not found:
        thread_id = db_emails.create_thread(conn)
    else:
        thread_id = found[0]  # the oldest thread survives a merge, so ids stay stable where possible
        if len(found) > 1:
            db_emails.merge_threads(conn, thread_id, found[1:])
    db_emails.add_thread_keys(conn, thread_id, keys)
    return thread_id


def normalized_subject(subject: str) -> str:
    """The subject without reply/forward prefixes (Re:, Fwd:, AW:, SV:, …), for display."""
    text = (subject or "").strip()
    while True:
        head, sep, rest = text.partition(":")
        if sep and head.strip().lower() in {"re", "fw", "fwd", "aw", "sv", "wg", "antw", "réf", "tr"}:
            text = rest.strip()
        else:
            return text
