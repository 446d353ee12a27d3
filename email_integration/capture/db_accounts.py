"""SQL for the capture's accounts, sync state, runs, OAuth tokens and fetch queue.

Emails, threads and attachments live in db_emails.py; the read queries behind the API in db_queries.py;
the migrations in ../db.py.
"""
from __future__ import annotations

import os
import socket

from backend.db import atomic, iso_after, now_iso

ACCOUNT_STATES = ("idle", "running", "error", "needs_reconsent", "disabled")


# -- accounts ---------------------------------------------------------------------------------
_ACCOUNT_COLUMNS = ("id, user_id, email, auth_method, state, last_error, lease_owner, lease_until, created_at, "
                    "updated_at")


def enroll_account(conn, email: str, user_id: int | None, auth_method: str) -> tuple[dict, bool]:
    """Create the account for `email` unless it exists; (account, created). Re-enrolling a disabled one enables it."""
    with atomic(conn):
        existing = get_account_by_email(conn, email)
        if existing:
            if existing["state"] == "disabled":
                set_account_state(conn, existing["id"], "idle")
                existing = get_account(conn, existing["id"])
            return existing, False
        now = now_iso()
        account_id = conn.execute(
            "INSERT INTO email_accounts (user_id, email, auth_method, state, created_at, updated_at) "
            "VALUES (?, ?, ?, 'idle', ?, ?)", (user_id, email.lower(), auth_method, now, now)).lastrowid
        conn.execute("INSERT INTO email_sync_state (account_id, updated_at) VALUES (?, ?)", (account_id, now))
    return get_account(conn, account_id), True


def get_account(conn, account_id: int) -> dict | None:
    row = conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM email_accounts WHERE id = ?", (account_id,)).fetchone()
    return dict(row) if row else None


def get_account_by_email(conn, email: str) -> dict | None:
    row = conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM email_accounts WHERE email = ?", (email,)).fetchone()
    return dict(row) if row else None


def list_accounts(conn) -> list[dict]:
    return [dict(r) for r in conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM email_accounts ORDER BY email")]


def owner_active(conn, account_id: int) -> bool:
    """False once the mailbox's person is deactivated (backend.manage deactivate-user): their mail is
    not synced until they are reactivated. A mailbox with no CRM user behind it counts as active."""
    row = conn.execute("SELECT u.active FROM email_accounts a LEFT JOIN users u ON u.id = a.user_id "
                       "WHERE a.id = ?", (account_id,)).fetchone()
    return row is None or row[0] is None or bool(row[0])


def set_account_state(conn, account_id: int, state: str, error: str | None = None) -> None:
    if state not in ACCOUNT_STATES:
        raise ValueError(f"unknown account state {state!r}")
    conn.execute("UPDATE email_accounts SET state = ?, last_error = ?, updated_at = ? WHERE id = ?",
                 (state, error, now_iso(), account_id))


LEASE_SECONDS = 120  # renewed at every batch; a run silent this long is presumed dead


def lease_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str | None) -> bool:
    """False when the owner is a process of this host that no longer exists; other hosts count as alive."""
    host, _, pid = (owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return bool(owner)
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lease_live(account: dict) -> bool:
    return (account["state"] == "running" and account["lease_until"] is not None
            and account["lease_until"] > now_iso() and _owner_alive(account["lease_owner"]))


def claim_account(conn, account_id: int) -> bool:
    """Take the account's run lease (state 'running'); False when another live process holds it."""
    with atomic(conn):
        account = get_account(conn, account_id)
        if account is None or account["state"] == "disabled":
            return False
        if _lease_live(account) and account["lease_owner"] != lease_owner():
            return False
        conn.execute("UPDATE email_accounts SET state = 'running', lease_owner = ?, lease_until = ?, updated_at = ? "
                     "WHERE id = ?", (lease_owner(), iso_after(LEASE_SECONDS), now_iso(), account_id))
    return True


def renew_lease(conn, account_id: int) -> None:
    conn.execute("UPDATE email_accounts SET lease_until = ? WHERE id = ? AND lease_owner = ?",
                 (iso_after(LEASE_SECONDS), account_id, lease_owner()))


def release_account(conn, account_id: int, state: str, error: str | None) -> None:
    conn.execute("UPDATE email_accounts SET state = ?, last_error = ?, lease_owner = NULL, lease_until = NULL, "
                 "updated_at = ? WHERE id = ?", (state, error, now_iso(), account_id))


def reset_interrupted(conn) -> int:
    """After a crash: accounts whose run lease is dead (owner gone or expired) become idle again and
    their unfinished runs errors. A live run of another process (e.g. `manage sync-now`) is left alone."""
    count = 0
    with atomic(conn):
        for account in list_accounts(conn):
            if account["state"] != "running" or _lease_live(account):
                continue
            count += conn.execute("UPDATE email_sync_runs SET status = 'error', finished_at = ?, error = "
                                  "'interrupted: the process running it stopped' WHERE status = 'running' "
                                  "AND account_id = ?", (now_iso(), account["id"])).rowcount
            release_account(conn, account["id"], "idle", None)
    return count


def enrolled_addresses(conn) -> list[str]:
    """Every enrolled mailbox's address: never allowed as an investor address (backend.address_policy)."""
    return [r[0] for r in conn.execute("SELECT email FROM email_accounts")]


def team_revision(conn) -> tuple:
    """Moves when a person or a mailbox is added or removed (the matcher's team check is rebuilt)."""
    return tuple(conn.execute("SELECT (SELECT count(*) FROM users), (SELECT coalesce(max(id), 0) FROM users), "
                              "(SELECT count(*) FROM email_accounts), (SELECT coalesce(max(id), 0) "
                              "FROM email_accounts)").fetchone())


def workspace_users(conn, domain: str) -> list[dict]:
    """Active users whose address ends in @domain (enroll-all's list); bots are never mailboxes."""
    rows = conn.execute("SELECT id, email, name FROM users WHERE lower(email) LIKE ? AND role != 'bot' AND active = 1 "
                        "ORDER BY email", ("%@" + domain.lower(),))
    return [dict(r) for r in rows]


def people(conn) -> list[dict]:
    """id and name of every CRM user (the Admin page names mailboxes by their owner)."""
    return [dict(r) for r in conn.execute("SELECT id, name FROM users ORDER BY id")]


def get_user(conn, user_id: int) -> dict | None:
    row = conn.execute("SELECT id, email, name, role FROM users WHERE id = ?", (user_id,)).fetchone()
    return dict(row) if row else None


# -- sync state -------------------------------------------------------------------------------
_STATE_FIELDS = {"history_id", "listing_kind", "listing_gen", "listing_page_token", "listing_start_history_id",
                 "progress_done", "progress_total", "last_success_at"}


def get_sync_state(conn, account_id: int) -> dict:
    row = conn.execute("SELECT * FROM email_sync_state WHERE account_id = ?", (account_id,)).fetchone()
    if row is None:
        conn.execute("INSERT OR IGNORE INTO email_sync_state (account_id, updated_at) VALUES (?, ?)",
                     (account_id, now_iso()))
        row = conn.execute("SELECT * FROM email_sync_state WHERE account_id = ?", (account_id,)).fetchone()
    return dict(row)


def update_sync_state(conn, account_id: int, **fields) -> None:
    unknown = set(fields) - _STATE_FIELDS
    if unknown:
        raise ValueError(f"unknown sync state fields {sorted(unknown)}")
    assignments = ", ".join(f"{name} = ?" for name in fields)  # names come from _STATE_FIELDS only
    conn.execute(f"UPDATE email_sync_state SET {assignments}, updated_at = ? WHERE account_id = ?",
                 (*fields.values(), now_iso(), account_id))


# -- runs -------------------------------------------------------------------------------------
def start_run(conn, account_id: int, kind: str) -> int:
    return conn.execute("INSERT INTO email_sync_runs (account_id, kind, status, started_at) VALUES (?, ?, 'running', ?)",
                        (account_id, kind, now_iso())).lastrowid


def set_run_kind(conn, run_id: int, kind: str) -> None:
    conn.execute("UPDATE email_sync_runs SET kind = ? WHERE id = ?", (kind, run_id))


def finish_run(conn, run_id: int, status: str, counts: dict, error: str | None = None) -> None:
    conn.execute("UPDATE email_sync_runs SET status = ?, finished_at = ?, messages_added = ?, messages_updated = ?, "
                 "messages_deleted = ?, messages_failed = ?, error = ? WHERE id = ?",
                 (status, now_iso(), counts.get("added", 0), counts.get("updated", 0), counts.get("deleted", 0),
                  counts.get("failed", 0), error, run_id))


def last_run(conn, account_id: int) -> dict | None:
    runs = list_runs(conn, account_id, limit=1)
    return runs[0] if runs else None


def list_runs(conn, account_id: int, limit: int = 20) -> list[dict]:
    rows = conn.execute("SELECT id, kind, status, started_at, finished_at, messages_added, messages_updated, "
                        "messages_deleted, messages_failed, error FROM email_sync_runs WHERE account_id = ? "
                        "ORDER BY id DESC LIMIT ?", (account_id, limit))
    return [dict(r) for r in rows]


# -- OAuth tokens -----------------------------------------------------------------------------
def save_token_blob(conn, account_id: int, blob: str) -> None:
    conn.execute("INSERT INTO email_oauth_tokens (account_id, token_blob, updated_at) VALUES (?, ?, ?) "
                 "ON CONFLICT(account_id) DO UPDATE SET token_blob = excluded.token_blob, "
                 "updated_at = excluded.updated_at", (account_id, blob, now_iso()))


def load_token_blob(conn, account_id: int) -> str | None:
    row = conn.execute("SELECT token_blob FROM email_oauth_tokens WHERE account_id = ?", (account_id,)).fetchone()
    return row[0] if row else None


# -- fetch queue ------------------------------------------------------------------------------
def queue_fetch(conn, account_id: int, gmail_id: str, reason: str, error: str | None = None) -> None:
    conn.execute("INSERT INTO email_fetch_queue (account_id, gmail_id, reason, attempts, last_error) "
                 "VALUES (?, ?, ?, 0, ?) ON CONFLICT(account_id, gmail_id) DO UPDATE SET "
                 "attempts = attempts + 1, last_error = excluded.last_error", (account_id, gmail_id, reason, error))


MAX_FETCH_ATTEMPTS = 8  # then the message stays recorded (gave_up) but no longer holds every run at 'partial'


def queued_fetches(conn, account_id: int, limit: int = 5000, max_attempts: int = MAX_FETCH_ATTEMPTS) -> list[str]:
    rows = conn.execute("SELECT gmail_id FROM email_fetch_queue WHERE account_id = ? AND attempts < ? "
                        "ORDER BY rowid LIMIT ?", (account_id, min(max_attempts, MAX_FETCH_ATTEMPTS), limit))
    return [r[0] for r in rows]


def dequeue_fetch(conn, account_id: int, gmail_id: str) -> None:
    conn.execute("DELETE FROM email_fetch_queue WHERE account_id = ? AND gmail_id = ?", (account_id, gmail_id))


def queue_size(conn, account_id: int) -> int:
    return conn.execute("SELECT count(*) FROM email_fetch_queue WHERE account_id = ? AND attempts < ?",
                        (account_id, MAX_FETCH_ATTEMPTS)).fetchone()[0]


def given_up_count(conn, account_id: int) -> int:
    """Messages that failed MAX_FETCH_ATTEMPTS times: shown on the Admin page, kept for a full resync."""
    return conn.execute("SELECT count(*) FROM email_fetch_queue WHERE account_id = ? AND attempts >= ?",
                        (account_id, MAX_FETCH_ATTEMPTS)).fetchone()[0]
