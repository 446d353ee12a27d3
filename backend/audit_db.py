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


def _in(ids) -> str:
    return ",".join("?" * len(ids))


def core_targets(conn, entries: list[dict]) -> dict[tuple[str, str], dict]:
    """Names for the core's own audit targets (issue 24, item 7), {(target_type, target_id): {name, href}}:
    an investor (its name and page; a deleted one by the name its audit detail kept), a note (its investor),
    a person (their name), an API token (its label and whose it is). Other target types are not the core's."""
    found: dict[tuple[str, str], dict] = {}
    wanted: dict[str, set] = {}
    for entry in entries:
        if entry["target_id"] is not None:
            wanted.setdefault(entry["target_type"], set()).add(entry["target_id"])
    investor_ids = {int(i) for i in wanted.get("investor", ()) if i.isdigit()}
    note_ids = sorted(int(i) for i in wanted.get("grid_note", ()) if i.isdigit())
    notes = {}
    if note_ids:
        notes = dict(conn.execute(f"SELECT id, investor_id FROM grid_notes WHERE id IN ({_in(note_ids)})",
                                  note_ids).fetchall())
    for entry in entries:  # a deleted note's investor is in its audit detail
        if entry["target_type"] == "grid_note" and isinstance(entry["detail"].get("investor_id"), int):
            notes.setdefault(int(entry["target_id"]), entry["detail"]["investor_id"])
    investor_ids |= set(notes.values())
    investors = {}
    if investor_ids:
        ids = sorted(investor_ids)
        investors = {r[0]: {"name": r[1], "firm": r[2], "href": f"/investors/{r[0]}"} for r in conn.execute(
            f"SELECT id, name, firm FROM investors WHERE id IN ({_in(ids)})", ids)}
    for entry in entries:
        kind, target = entry["target_type"], entry["target_id"]
        if kind == "investor" and target is not None and target.isdigit():
            found[(kind, target)] = investors.get(int(target)) or {
                "name": entry["detail"].get("name"), "firm": None, "href": None}
        elif kind == "grid_note" and target is not None and target.isdigit():
            investor = investors.get(notes.get(int(target)))
            found[(kind, target)] = investor or {"name": None, "firm": None, "href": None}
    user_ids = sorted(int(i) for i in wanted.get("user", ()) if i.isdigit())
    if user_ids:
        for row in conn.execute(f"SELECT id, name, email FROM users WHERE id IN ({_in(user_ids)})", user_ids):
            found[("user", str(row[0]))] = {"name": row[1], "email": row[2], "href": None}
    token_ids = sorted(int(i) for i in wanted.get("api_token", ()) if i.isdigit())
    if token_ids:
        for row in conn.execute(f"SELECT t.id, t.label, u.name FROM api_tokens t JOIN users u ON u.id = t.user_id "
                                f"WHERE t.id IN ({_in(token_ids)})", token_ids):
            found[("api_token", str(row[0]))] = {"name": row[1] or None, "owner": row[2], "href": None}
    return found
