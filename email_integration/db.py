"""The seed's Patch 1 entry point and the capture's schema as a whole: migrations, the full-text index,
and (for `manage.py remove-all`) every table the integration owns.

The SQL of each concern lives in its subpackage (capture/db_accounts.py, capture/db_emails.py, …).
"""
from __future__ import annotations

import os
import sqlite3

from backend.db import apply_sql_migrations, atomic

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")

# Full-text search over what we keep of matched emails; FTS5 is optional in SQLite builds,
# so the table is made here (not in the .sql file) and search falls back to LIKE without it.
_FTS_DDL = "CREATE VIRTUAL TABLE IF NOT EXISTS emails_fts USING fts5(subject, participants, body, tokenize='unicode61')"


def apply_migrations(cursor) -> list[str]:
    """The seed's Patch 1 entry point: apply email_integration/migrations/*.sql once each, then FTS5."""
    applied = apply_sql_migrations(cursor, MIGRATIONS_DIR, "email_schema_migrations")
    try:
        cursor.execute(_FTS_DDL)
    except sqlite3.OperationalError:
        pass  # no FTS5 in this SQLite: db_queries searches with LIKE instead
    if "0007_privacy.sql" in applied:
        _drop_bcc_from_search(cursor)
    return applied


def _drop_bcc_from_search(cursor) -> None:
    """Once, with 0007: search rows written before it named Bcc recipients; rewrite those without them."""
    if cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'emails_fts'").fetchone() is None:
        return
    ids = [r[0] for r in cursor.execute("SELECT DISTINCT p.email_id FROM email_participants p JOIN emails e "
                                        "ON e.id = p.email_id WHERE p.role = 'bcc' AND e.has_body = 1").fetchall()]
    for email_id in ids:
        people = cursor.execute("SELECT address, coalesce(name, '') FROM email_participants WHERE email_id = ? "
                                "AND role != 'bcc' ORDER BY rowid", (email_id,)).fetchall()
        cursor.execute("UPDATE emails_fts SET participants = ? WHERE rowid = ?",
                       (" ".join(f"{a} {n}" for a, n in people), email_id))


# -- removal ----------------------------------------------------------------------------------
def capture_tables(conn) -> list[str]:
    """Every table the capture owns (email_*, emails, emails_*, and the calendar's calendar_sync_state, 0016);
    the FTS table's shadows go with it."""
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND (name = 'emails' OR "
                        "name = 'calendar_sync_state' OR "
                        "name LIKE 'email\\_%' ESCAPE '\\' OR name LIKE 'emails\\_%' ESCAPE '\\')")
    names = [r[0] for r in rows]
    shadows = {n for n in names if n.startswith("emails_fts_")}
    return [n for n in names if n not in shadows]


def drop_capture_tables(conn) -> list[str]:
    """DROP every capture table in one transaction (foreign keys off so order does not matter)."""
    tables = capture_tables(conn)
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        with atomic(conn):
            for name in tables:
                conn.execute(f'DROP TABLE IF EXISTS "{name}"')  # names read from sqlite_master above
    finally:
        conn.execute("PRAGMA foreign_keys = ON")
    return tables
