"""SQL of the covered sources the admins list: the firm's group addresses (sources.py says why)."""
from __future__ import annotations

from backend.db import now_iso


def groups(conn) -> list[dict]:
    return [dict(r) for r in conn.execute("SELECT address, added_by, added_at FROM email_capture_sources "
                                          "WHERE kind = 'group' ORDER BY address")]


def group_addresses(conn) -> list[str]:
    return [g["address"].lower() for g in groups(conn)]


def add_group(conn, address: str, user_id: int | None) -> bool:
    return conn.execute("INSERT OR IGNORE INTO email_capture_sources (address, kind, added_by, added_at) "
                        "VALUES (?, 'group', ?, ?)", (address.lower(), user_id, now_iso())).rowcount > 0


def remove_group(conn, address: str) -> bool:
    return conn.execute("DELETE FROM email_capture_sources WHERE address = ? AND kind = 'group'",
                        (address.lower(),)).rowcount > 0
