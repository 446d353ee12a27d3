"""SQL for the privacy settings: mailbox visibility, exclusions, private conversations.

The rule that reads them is db_visibility.py; callers hold the transaction (backend.db.atomic).
"""
from __future__ import annotations

from backend.address_policy import GMAIL_DOMAINS
from backend.db import now_iso
from backend.domain_names import domain_forms

from .exclusions import covers, key


# -- mailbox visibility -------------------------------------------------------------------------
def visibility(conn, account_id: int) -> str:
    row = conn.execute("SELECT visibility FROM email_account_privacy WHERE account_id = ?", (account_id,)).fetchone()
    return row[0] if row else "everything"


def set_visibility(conn, account_id: int, value: str, user_id: int) -> None:
    conn.execute("INSERT INTO email_account_privacy (account_id, visibility, updated_by, updated_at) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT(account_id) DO UPDATE SET visibility = excluded.visibility, "
                 "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                 (account_id, value, user_id, now_iso()))


# -- exclusions ---------------------------------------------------------------------------------
_EXCLUSION_COLUMNS = "x.id, x.scope, x.user_id, x.pattern, x.created_at, u.name AS created_by"


def list_exclusions(conn, user_id: int) -> list[dict]:
    """The user's own exclusions and the firm-wide ones."""
    rows = conn.execute(f"SELECT {_EXCLUSION_COLUMNS} FROM email_exclusions x LEFT JOIN users u ON u.id = x.created_by "
                        "WHERE x.scope = 'firm' OR x.user_id = ? ORDER BY x.scope, x.pattern", (user_id,))
    return [dict(r) for r in rows]


def get_exclusion(conn, exclusion_id: int) -> dict | None:
    row = conn.execute(f"SELECT {_EXCLUSION_COLUMNS} FROM email_exclusions x LEFT JOIN users u ON u.id = x.created_by "
                       "WHERE x.id = ?", (exclusion_id,)).fetchone()
    return dict(row) if row else None


def find_exclusion(conn, scope: str, user_id: int | None, pattern: str) -> dict | None:
    """The exclusion of that scope and owner covering the same mailbox or domain as `pattern` in any spelling
    (exclusions.key: one saved before patterns were normalised, as dr.who@gmail.com, is found by drwho@gmail.com)."""
    wanted = key(pattern)
    rows = conn.execute("SELECT id, pattern FROM email_exclusions WHERE scope = ? AND coalesce(user_id, 0) = ? "
                        "ORDER BY id", (scope, user_id or 0))
    found = next((r[0] for r in rows if key(r[1]) == wanted), None)
    return get_exclusion(conn, found) if found is not None else None


def add_exclusion(conn, scope: str, user_id: int | None, pattern: str, created_by: int) -> int:
    return conn.execute("INSERT INTO email_exclusions (scope, user_id, pattern, created_by, created_at) "
                        "VALUES (?, ?, ?, ?, ?)", (scope, user_id, pattern, created_by, now_iso())).lastrowid


def delete_exclusion(conn, exclusion_id: int) -> None:
    conn.execute("DELETE FROM email_exclusions WHERE id = ?", (exclusion_id,))


def patterns_for_account(conn, account_id: int) -> list[str]:
    """The patterns that keep mail out of this mailbox: its owner's and the firm's."""
    rows = conn.execute("SELECT pattern FROM email_exclusions WHERE scope = 'firm' OR user_id = "
                        "(SELECT user_id FROM email_accounts WHERE id = ?)", (account_id,))
    return [r[0].lower() for r in rows]


def accounts_of(conn, user_id: int | None) -> list[int]:
    """Mailboxes a 'mine' exclusion covers (the user's), or every mailbox for a firm-wide one (None)."""
    if user_id is None:
        return [r[0] for r in conn.execute("SELECT id FROM email_accounts ORDER BY id")]
    return [r[0] for r in conn.execute("SELECT id FROM email_accounts WHERE user_id = ? ORDER BY id", (user_id,))]


def entries_matching(conn, account_id: int, pattern: str) -> list[tuple[str, int]]:
    """(Gmail id, email id) of the mailbox's messages with a participant the pattern covers (exclusions.covers:
    'a@x' that mailbox in any spelling, '@x' the domain and its subdomains). SQL narrows by the domain in every
    spelling (both IDN forms, a trailing dot, googlemail.com for gmail.com); covers() decides. Patterns are
    validated (exclusions.parse_pattern): a domain has no '%' or '_', so it is safe inside LIKE."""
    pattern_key = key(pattern)
    domain = pattern_key.rpartition("@")[2]
    domains = set(domain_forms(domain)) | (set(GMAIL_DOMAINS) if domain in GMAIL_DOMAINS else set())
    likes = [f"%@{sub}{d}{dot}" for d in domains for dot in ("", ".")
             for sub in ("", *(["%."] if pattern_key.startswith("@") else []))]
    condition = " OR ".join("p.address LIKE ?" for _ in likes)
    rows = conn.execute("SELECT DISTINCT m.gmail_id, m.email_id, p.address FROM email_mailbox_entries m "
                        "JOIN email_participants p ON p.email_id = m.email_id "
                        f"WHERE m.account_id = ? AND ({condition})", (account_id, *likes))
    return list(dict.fromkeys((r[0], r[1]) for r in rows if covers(pattern, r[2])))


def thread_count(conn, email_ids: list[int]) -> int:
    """How many conversations these emails belong to (an email without a thread counts as its own)."""
    threads, loose = set(), 0
    for start in range(0, len(email_ids), 500):
        chunk = email_ids[start:start + 500]
        for row in conn.execute(f"SELECT thread_id FROM emails WHERE id IN ({','.join('?' * len(chunk))})", chunk):
            if row[0] is None:
                loose += 1
            else:
                threads.add(row[0])
    return len(threads) + loose


def stop_fetching_from(conn, email_id: int, account_id: int) -> None:
    """An email another mailbox still holds keeps its attachments, but never fetched through the mailbox
    that excluded it (Gmail's attachmentId belongs to that copy): such pending downloads end here."""
    conn.execute("UPDATE email_attachments SET status = 'error', error = 'its source mailbox excluded this mail', "
                 "account_id = NULL WHERE email_id = ? AND account_id = ? AND status = 'pending'",
                 (email_id, account_id))


# -- private conversations ----------------------------------------------------------------------
def flag_private(conn, thread_id: int, user_id: int) -> None:
    """Flag the conversation private. Only the flag: marking it private, as a person does it, also withdraws
    its pending proposals (controls/actions.set_private calls review's db_proposals.withdraw_private)."""
    conn.execute("INSERT OR IGNORE INTO email_private_threads (thread_id, marked_by, marked_at) VALUES (?, ?, ?)",
                 (thread_id, user_id, now_iso()))


def unflag_private(conn, thread_id: int) -> None:
    """Lift the flag. Only the flag: unmarking, as a person does it, also restores the proposals marking
    withdrew (controls/actions.set_private calls review's db_proposals.restore_withdrawn)."""
    conn.execute("DELETE FROM email_private_threads WHERE thread_id = ?", (thread_id,))


def private_since(conn, thread_id: int) -> str | None:
    """When the conversation was marked private (None: it is not)."""
    row = conn.execute("SELECT marked_at FROM email_private_threads WHERE thread_id = ?", (thread_id,)).fetchone()
    return row[0] if row else None


def may_unmark(conn, thread_id: int, user_id: int) -> bool:
    """Whether unmarking shows teammates nothing the user's own mailboxes do not already hold: the user
    marked it, or holds every message of it. Any holder may mark; a co-holder who holds only part of the
    conversation must not open up the rest (the marker's messages, kept private)."""
    row = conn.execute("SELECT marked_by FROM email_private_threads WHERE thread_id = ?", (thread_id,)).fetchone()
    if row is not None and row[0] == user_id:
        return True
    return conn.execute("SELECT NOT EXISTS (SELECT 1 FROM emails e WHERE e.thread_id = ? AND e.matched = 1 "
                        "AND NOT EXISTS (SELECT 1 FROM email_mailbox_entries m JOIN email_accounts a "
                        "ON a.id = m.account_id WHERE m.email_id = e.id AND a.user_id = ?))",
                        (thread_id, user_id)).fetchone()[0] == 1


def carry_private(conn, keep: int, other: int) -> None:
    """Threads merge: a private half makes the whole conversation private (never the reverse)."""
    conn.execute("INSERT OR IGNORE INTO email_private_threads (thread_id, marked_by, marked_at) "
                 "SELECT ?, marked_by, marked_at FROM email_private_threads WHERE thread_id = ?", (keep, other))
