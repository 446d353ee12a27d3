"""All SQL for the audit log (audit_log, migration 0002): who did what, when, with before/after details."""
from __future__ import annotations

import json

from .db import now_iso


def audit(conn, user_id, action: str, target_type: str, target_id, detail: dict | None = None) -> None:
    """Append one row (joins the caller's transaction)."""
    conn.execute("INSERT INTO audit_log (at, user_id, action, target_type, target_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
                 (now_iso(), user_id, action, target_type, None if target_id is None else str(target_id),
                  json.dumps(detail or {}, sort_keys=True)))


def list_audit(conn, limit: int, offset: int) -> tuple[list[dict], int]:
    """Newest first: [{id, at, user:{id, name, email}|None, action, target_type, target_id, detail}], total."""
    total = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    rows = conn.execute("SELECT a.id, a.at, a.user_id, u.name, u.email, a.action, a.target_type, a.target_id, a.detail "
                        "FROM audit_log a LEFT JOIN users u ON u.id = a.user_id ORDER BY a.id DESC LIMIT ? OFFSET ?",
                        (limit, offset)).fetchall()
    entries = []
    for row in rows:
        user = {"id": row["user_id"], "name": row["name"], "email": row["email"]} if row["user_id"] else None
        entries.append({"id": row["id"], "at": row["at"], "user": user, "action": row["action"],
                        "target_type": row["target_type"], "target_id": row["target_id"],
                        "detail": json.loads(row["detail"] or "{}")})
    return entries, total
