"""SQL for targeted capture: per-account counters, the searched investor terms, the backfill queue.

Callers hold the transaction (backend.db.atomic) where they need one; nothing here commits.
"""
from __future__ import annotations

from backend.db import now_iso

COUNTERS = ("listed", "fetched", "skipped", "captured", "units")


# -- counters ---------------------------------------------------------------------------------
def add_counts(conn, account_id: int, counts: dict) -> None:
    """Add `counts` (any of COUNTERS) to the account's running totals."""
    values = [int(counts.get(name, 0)) for name in COUNTERS]
    conn.execute("INSERT INTO email_capture_counters (account_id, listed, fetched, skipped, captured, units, "
                 "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(account_id) DO UPDATE SET "
                 "listed = listed + excluded.listed, fetched = fetched + excluded.fetched, "
                 "skipped = skipped + excluded.skipped, captured = captured + excluded.captured, "
                 "units = units + excluded.units, updated_at = excluded.updated_at",
                 (account_id, *values, now_iso()))


def counts(conn, account_id: int) -> dict:
    row = conn.execute("SELECT listed, fetched, skipped, captured, units FROM email_capture_counters "
                       "WHERE account_id = ?", (account_id,)).fetchone()
    return dict(row) if row else dict.fromkeys(COUNTERS, 0)


# -- searched terms and targeted backfills ------------------------------------------------------
def searched_terms(conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT term FROM email_capture_terms")}


def record_terms(conn, terms) -> None:
    conn.executemany("INSERT OR IGNORE INTO email_capture_terms (term, added_at) VALUES (?, ?)",
                     [(t, now_iso()) for t in terms])


def forget_terms(conn, terms) -> None:
    """Terms no investor holds any more: forgotten, so adding one again backfills it again."""
    conn.executemany("DELETE FROM email_capture_terms WHERE term = ?", [(t,) for t in terms])
    conn.executemany("DELETE FROM email_backfill_queue WHERE term = ? AND status = 'pending'", [(t,) for t in terms])


def queue_backfill(conn, account_id: int, terms) -> None:
    conn.executemany("INSERT OR IGNORE INTO email_backfill_queue (account_id, term, queued_at) VALUES (?, ?, ?)",
                     [(account_id, t, now_iso()) for t in terms])


def pending_backfill_terms(conn, account_id: int) -> list[str]:
    return [r[0] for r in conn.execute("SELECT term FROM email_backfill_queue WHERE account_id = ? "
                                       "AND status = 'pending' ORDER BY id", (account_id,))]


def finish_backfill(conn, account_id: int, terms, found: int) -> None:
    conn.executemany("UPDATE email_backfill_queue SET status = 'done', finished_at = ?, found = ? "
                     "WHERE account_id = ? AND term = ? AND status = 'pending'",
                     [(now_iso(), found, account_id, t) for t in terms])


def accounts_backfilling(conn, terms) -> set[int]:
    """Ids of the mailboxes whose targeted backfill for one of `terms` is still pending."""
    terms = list(terms)
    if not terms:
        return set()
    return {r[0] for r in conn.execute("SELECT DISTINCT account_id FROM email_backfill_queue WHERE status = 'pending' "
                                       f"AND term IN ({','.join('?' * len(terms))})", terms)}


def backfill_queue(conn, account_id: int, limit: int = 20) -> dict:
    """What the Admin page shows: how many terms wait, and the latest ones with their state."""
    pending = conn.execute("SELECT count(*) FROM email_backfill_queue WHERE account_id = ? AND status = 'pending'",
                           (account_id,)).fetchone()[0]
    rows = conn.execute("SELECT term, status, queued_at, finished_at, found FROM email_backfill_queue "
                        "WHERE account_id = ? ORDER BY id DESC LIMIT ?", (account_id, limit))
    return {"pending": pending, "recent": [dict(r) for r in rows]}


def held_thread_ids(conn, account_id: int) -> set[str]:
    """Gmail thread ids of the investor conversations this mailbox holds: a new message in one of them
    belongs to it. Only threads with mail shown as investor mail (matched): the metadata of personal
    mail (kept from the `all` scope, or unlinked since) must not make its threads' new mail fetched."""
    return {r[0] for r in conn.execute("SELECT DISTINCT m.gmail_thread_id FROM email_mailbox_entries m "
                                       "JOIN emails e ON e.id = m.email_id WHERE m.account_id = ? "
                                       "AND m.gmail_thread_id IS NOT NULL AND e.matched = 1", (account_id,))}


def discard_run(conn, run_id: int) -> None:
    """A poll that found nothing to do leaves no run row (one a minute per mailbox would bury the real runs)."""
    conn.execute("DELETE FROM email_sync_runs WHERE id = ?", (run_id,))


def waiting_attachments(conn, account_id: int, max_attempts: int = 5) -> int:
    """Attachment bytes of this mailbox's captured mail still to fetch (after the message backlog)."""
    return conn.execute("SELECT count(*) FROM email_attachments WHERE account_id = ? AND status = 'pending' "
                        "AND attempts < ?", (account_id, max_attempts)).fetchone()[0]


def pending_attachment(conn, attachment_id: int, max_attempts: int = 5) -> list[dict]:
    """The attachment as AttachmentDownloader takes it ([] unless its bytes are still to fetch)."""
    rows = conn.execute(
        "SELECT id, email_id, part_id, filename, size, attempts, account_id, gmail_id, gmail_attachment_id "
        "FROM email_attachments WHERE id = ? AND status = 'pending' AND attempts < ?", (attachment_id, max_attempts))
    return [dict(r) for r in rows]


def thread_has_investor_mail(conn, thread_id: int) -> bool:
    return conn.execute("SELECT 1 FROM emails e JOIN email_investor_links l ON l.email_id = e.id "
                        "WHERE e.thread_id = ? LIMIT 1", (thread_id,)).fetchone() is not None


def show_in_conversation(conn, email_id: int) -> None:
    """An unlinked email of an investor conversation (investors scope) is shown with it: matched, no links."""
    conn.execute("UPDATE emails SET matched = 1 WHERE id = ?", (email_id,))


def orphaned_conversation_emails(conn) -> list[tuple[int, int]]:
    """(email id, thread id) of unlinked emails shown with a conversation that holds no investor mail any more."""
    return [tuple(r) for r in conn.execute(
        "SELECT e.id, e.thread_id FROM emails e WHERE e.matched = 1 "
        "AND NOT EXISTS (SELECT 1 FROM email_investor_links l WHERE l.email_id = e.id) "
        "AND NOT EXISTS (SELECT 1 FROM emails o JOIN email_investor_links l ON l.email_id = o.id "
        "WHERE o.thread_id = e.thread_id)")]


def conversation_emails(conn) -> list[tuple[int, int]]:
    """(email id, thread id) of every unlinked email shown with an investor conversation."""
    return [tuple(r) for r in conn.execute(
        "SELECT e.id, e.thread_id FROM emails e WHERE e.matched = 1 "
        "AND NOT EXISTS (SELECT 1 FROM email_investor_links l WHERE l.email_id = e.id)")]


def hide_from_conversation(conn, email_id: int) -> None:
    conn.execute("UPDATE emails SET matched = 0 WHERE id = ?", (email_id,))
