"""SQL of what the capture remembers about mail it does not keep: id-only markers of fetched mail it refused
or excluded, captured mail deleted in Gmail (kept in the CRM), and new ids the search has yet to list.

Callers hold the transaction (backend.db.atomic) where they need one; nothing here commits.
"""
from __future__ import annotations

import hashlib

from backend.db import now_iso

REFUSED, EXCLUDED = "refused", "excluded"


def exclusion_basis(patterns) -> str:
    """A fingerprint of a mailbox's exclusions: an 'excluded' marker made under others is stale."""
    return hashlib.sha256("\n".join(sorted(p.lower() for p in patterns)).encode()).hexdigest()[:16]


# -- id-only markers ----------------------------------------------------------------------------
def mark(conn, account_id: int, gmail_id: str, thread_id: str | None, reason: str, in_conversation: bool = False,
         basis: str | None = None, seen_gen: int = 0) -> None:
    conn.execute("INSERT INTO email_skipped_messages (account_id, gmail_id, gmail_thread_id, reason, in_conversation, "
                 "basis, seen_gen, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(account_id, gmail_id) DO "
                 "UPDATE SET reason = excluded.reason, in_conversation = excluded.in_conversation, basis = "
                 "excluded.basis, seen_gen = max(seen_gen, excluded.seen_gen)",
                 (account_id, gmail_id, thread_id or None, reason, int(in_conversation), basis, seen_gen, now_iso()))


def unmark(conn, account_id: int, gmail_ids) -> None:
    conn.executemany("DELETE FROM email_skipped_messages WHERE account_id = ? AND gmail_id = ?",
                     [(account_id, g) for g in gmail_ids])


def marked(conn, account_id: int, gmail_ids, conversation_only: bool = False) -> dict[str, str]:
    """{gmail id: reason} of the ids with a marker (`conversation_only`: only those refused inside an investor
    conversation, or excluded: what a whole-thread fetch must not take again)."""
    found: dict[str, str] = {}
    ids = list(gmail_ids)
    extra = " AND (in_conversation = 1 OR reason = 'excluded')" if conversation_only else ""
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        found.update((r[0], r[1]) for r in conn.execute(
            f"SELECT gmail_id, reason FROM email_skipped_messages WHERE account_id = ? AND gmail_id IN ({marks}){extra}",
            (account_id, *chunk)))
    return found


def marker_rows(conn, account_id: int, gmail_ids) -> list[dict]:
    rows, ids = [], list(gmail_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        rows += [dict(r) for r in conn.execute(
            f"SELECT gmail_id, reason, in_conversation, basis FROM email_skipped_messages WHERE account_id = ? "
            f"AND gmail_id IN ({marks})", (account_id, *chunk))]
    return rows


def drop_stale_exclusions(conn, account_id: int, basis: str) -> int:
    """'excluded' markers made under other exclusions go: their mail is looked at again."""
    return conn.execute("DELETE FROM email_skipped_messages WHERE account_id = ? AND reason = 'excluded' "
                        "AND coalesce(basis, '') != ?", (account_id, basis)).rowcount


def mark_seen(conn, account_id: int, gmail_ids, seen_gen: int) -> None:
    conn.executemany("UPDATE email_skipped_messages SET seen_gen = ? WHERE account_id = ? AND gmail_id = ?",
                     [(seen_gen, account_id, g) for g in gmail_ids])


def forget_unseen(conn, account_id: int, seen_gen: int) -> None:
    """Markers a finished listing did not see: their message is gone from Gmail."""
    conn.execute("DELETE FROM email_skipped_messages WHERE account_id = ? AND seen_gen < ?", (account_id, seen_gen))


def marker_counts(conn, account_id: int) -> dict:
    return {r[0]: r[1] for r in conn.execute("SELECT reason, count(*) FROM email_skipped_messages WHERE account_id = ? "
                                             "GROUP BY reason", (account_id,))}


# -- captured mail deleted in Gmail ---------------------------------------------------------------
def mark_gone(conn, account_id: int, gmail_id: str) -> bool:
    return conn.execute("INSERT OR IGNORE INTO email_gone_entries (account_id, gmail_id, gone_at) VALUES (?, ?, ?)",
                        (account_id, gmail_id, now_iso())).rowcount > 0


def gone_ids(conn, account_id: int) -> set[str]:
    return {r[0] for r in conn.execute("SELECT gmail_id FROM email_gone_entries WHERE account_id = ?", (account_id,))}


def keeps_record(conn, account_id: int, gmail_id: str) -> bool:
    """Whether the mailbox's row of this message is captured mail (shown: investor mail or its conversation),
    which stays in the CRM when Gmail loses it; metadata kept only for rematch follows Gmail."""
    return conn.execute("SELECT 1 FROM email_mailbox_entries m JOIN emails e ON e.id = m.email_id WHERE "
                        "m.account_id = ? AND m.gmail_id = ? AND e.matched = 1", (account_id, gmail_id)).fetchone() \
        is not None


# -- new ids the search has not listed yet ---------------------------------------------------------
def add_rechecks(conn, account_id: int, found: dict[str, str], now: float) -> None:
    conn.executemany("INSERT OR IGNORE INTO email_search_rechecks (account_id, gmail_id, gmail_thread_id, "
                     "first_seen_at, last_checked_at) VALUES (?, ?, ?, ?, ?)",
                     [(account_id, g, t or None, now, now) for g, t in found.items()])


def rechecks(conn, account_id: int) -> list[dict]:
    return [dict(r) for r in conn.execute("SELECT gmail_id, gmail_thread_id, first_seen_at, last_checked_at FROM "
                                          "email_search_rechecks WHERE account_id = ?", (account_id,))]


def checked(conn, account_id: int, now: float) -> None:
    conn.execute("UPDATE email_search_rechecks SET last_checked_at = ? WHERE account_id = ?", (now, account_id))


def drop_rechecks(conn, account_id: int, gmail_ids=None, older_than: float | None = None) -> None:
    """Forget these ids (found, or fetched), or those first seen before `older_than`."""
    if gmail_ids is not None:
        conn.executemany("DELETE FROM email_search_rechecks WHERE account_id = ? AND gmail_id = ?",
                         [(account_id, g) for g in gmail_ids])
    if older_than is not None:
        conn.execute("DELETE FROM email_search_rechecks WHERE account_id = ? AND first_seen_at < ?",
                     (account_id, older_than))
