"""SQL for calendar_sync_state (migration 0016): per mailbox, the sync token, the last full sync's window
and time, the status the Admin page shows and the last error. Nothing of an event is kept here."""
from __future__ import annotations

from backend.db import now_iso

STATUSES = ("pending", "ok", "not_granted", "needs_reconsent", "error")


def get_state(conn, account_id: int) -> dict:
    """The account's row (made, pending, on first use)."""
    row = conn.execute("SELECT * FROM calendar_sync_state WHERE account_id = ?", (account_id,)).fetchone()
    if row is None:
        conn.execute("INSERT OR IGNORE INTO calendar_sync_state (account_id, updated_at) VALUES (?, ?)",
                     (account_id, now_iso()))
        row = conn.execute("SELECT * FROM calendar_sync_state WHERE account_id = ?", (account_id,)).fetchone()
    return dict(row)


def find_state(conn, account_id: int) -> dict | None:
    """The account's row without making one (the status page reads; it never writes)."""
    row = conn.execute("SELECT * FROM calendar_sync_state WHERE account_id = ?", (account_id,)).fetchone()
    return dict(row) if row else None


def save_synced(conn, account_id: int, sync_token: str, requests: int, *, window: tuple | None = None) -> None:
    """A listing applied in full: its token, and for a full sync its window and time; status ok."""
    now = now_iso()
    if window is not None:
        conn.execute("UPDATE calendar_sync_state SET sync_token = ?, window_start = ?, window_end = ?, "
                     "last_full_sync_at = ?, full_syncs = full_syncs + 1, last_sync_at = ?, status = 'ok', "
                     "last_error = NULL, requests = requests + ?, updated_at = ? WHERE account_id = ?",
                     (sync_token, window[0], window[1], now, now, requests, now, account_id))
    else:
        conn.execute("UPDATE calendar_sync_state SET sync_token = ?, last_sync_at = ?, status = 'ok', last_error = NULL, "
                     "requests = requests + ?, updated_at = ? WHERE account_id = ?",
                     (sync_token, now, requests, now, account_id))


def drop_token(conn, account_id: int) -> None:
    """Google said 410: the next listing is a full one."""
    conn.execute("UPDATE calendar_sync_state SET sync_token = NULL, updated_at = ? WHERE account_id = ?",
                 (now_iso(), account_id))


def set_status(conn, account_id: int, status: str, error: str | None, requests: int = 0) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown calendar status {status!r}")
    conn.execute("UPDATE calendar_sync_state SET status = ?, last_error = ?, requests = requests + ?, updated_at = ? "
                 "WHERE account_id = ?", (status, error, requests, now_iso(), account_id))
