"""Read queries behind /api/email/*: only matched emails are ever returned (investor-linked, or in the
investors scope an unlinked reply inside an investor conversation, shown with it: ingest.py)."""
from __future__ import annotations

import json
import re

from .db import has_fts

_WORD = re.compile(r"[\w@.+-]+", re.UNICODE)


def _fts_query(q: str) -> str:
    """User text → an FTS5 query of quoted prefix terms (no operators reach FTS5 from the user)."""
    words = [w.replace('"', "") for w in _WORD.findall(q)][:12]
    return " ".join(f'"{w}"*' for w in words if w)


def _matching_email_ids_sql(conn, q: str) -> tuple[str, list]:
    """A SQL fragment selecting ids of emails matching `q` in subject, participants or body."""
    if has_fts(conn) and _fts_query(q):
        return "SELECT rowid FROM emails_fts WHERE emails_fts MATCH ?", [_fts_query(q)]
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return ("SELECT e2.id FROM emails e2 WHERE e2.subject LIKE ? ESCAPE '\\' OR e2.body_text LIKE ? ESCAPE '\\' "
            "OR e2.id IN (SELECT email_id FROM email_participants WHERE address LIKE ? ESCAPE '\\' "
            "OR name LIKE ? ESCAPE '\\')", [like] * 4)


def list_threads(conn, investor_id: int | None, q: str | None, limit: int, offset: int) -> tuple[list[dict], int]:
    where, params = ["e.matched = 1"], []
    if investor_id is not None:
        where.append("e.id IN (SELECT email_id FROM email_investor_links WHERE investor_id = ?)")
        params.append(investor_id)
    if q:
        fragment, extra = _matching_email_ids_sql(conn, q)
        where.append(f"e.id IN ({fragment})")
        params.extend(extra)
    base = f"FROM email_threads t JOIN emails e ON e.thread_id = t.id WHERE {' AND '.join(where)}"
    total = conn.execute(f"SELECT count(DISTINCT t.id) {base}", params).fetchone()[0]
    rows = conn.execute(f"SELECT t.id, t.subject, t.last_date, count(DISTINCT e.id) AS email_count {base} "
                        "GROUP BY t.id ORDER BY t.last_date DESC, t.id DESC LIMIT ? OFFSET ?",
                        [*params, limit, offset]).fetchall()
    threads = []
    for row in rows:
        thread = dict(row)
        thread["email_count"] = _matched_count(conn, thread["id"])
        thread["investors"] = thread_investors(conn, thread["id"])
        thread["participants"] = _thread_participants(conn, thread["id"])
        threads.append(thread)
    return threads, total


def _matched_count(conn, thread_id: int) -> int:
    return conn.execute("SELECT count(*) FROM emails WHERE thread_id = ? AND matched = 1", (thread_id,)).fetchone()[0]


def thread_investors(conn, thread_id: int) -> list[dict]:
    rows = conn.execute("SELECT DISTINCT i.id, i.name FROM email_investor_links l JOIN emails e ON e.id = l.email_id "
                        "JOIN investors i ON i.id = l.investor_id WHERE e.thread_id = ? AND e.matched = 1 "
                        "ORDER BY i.name", (thread_id,))
    return [dict(r) for r in rows]


def _thread_participants(conn, thread_id: int, limit: int = 20) -> list[dict]:
    rows = conn.execute("SELECT p.address AS email, max(p.name) AS name FROM email_participants p "
                        "JOIN emails e ON e.id = p.email_id WHERE e.thread_id = ? AND e.matched = 1 "
                        "GROUP BY p.address ORDER BY min(e.date), p.address LIMIT ?", (thread_id, limit))
    return [dict(r) for r in rows]


def get_thread(conn, thread_id: int) -> dict | None:
    row = conn.execute("SELECT id, subject, last_date FROM email_threads WHERE id = ?", (thread_id,)).fetchone()
    if row is None or not _matched_count(conn, thread_id):
        return None
    emails = conn.execute("SELECT id, from_email, from_name, date, subject, snippet FROM emails "
                          "WHERE thread_id = ? AND matched = 1 ORDER BY date, id", (thread_id,))
    return {**dict(row), "investors": thread_investors(conn, thread_id),
            "emails": [{"id": e["id"], "from": _person(e["from_email"], e["from_name"]), "date": e["date"],
                        "subject": e["subject"], "snippet": e["snippet"]} for e in emails]}


def _person(address, name) -> dict | None:
    return {"email": address, "name": name or ""} if address else None


def email_investors(conn, email_id: int) -> list[dict]:
    rows = conn.execute("SELECT i.id, i.name, i.firm, l.strategy, l.address FROM email_investor_links l "
                        "JOIN investors i ON i.id = l.investor_id WHERE l.email_id = ? ORDER BY i.name", (email_id,))
    return [dict(r) for r in rows]


def get_email_detail(conn, email_id: int) -> dict | None:
    row = conn.execute("SELECT id, message_id, from_email, from_name, date, subject, body_text, quoted_text, "
                       "signature, body_html IS NOT NULL AS body_html_available, thread_id, snippet, problems_json "
                       "FROM emails WHERE id = ? AND matched = 1", (email_id,)).fetchone()
    if row is None:
        return None
    people = conn.execute("SELECT role, address, name FROM email_participants WHERE email_id = ? AND role IN "
                          "('to', 'cc') ORDER BY rowid", (email_id,)).fetchall()
    attachments = conn.execute("SELECT id, filename, mime_type, size, status, inline FROM email_attachments "
                               "WHERE email_id = ? ORDER BY part_id", (email_id,)).fetchall()
    detail = dict(row)
    detail["body_html_available"] = bool(detail["body_html_available"])
    detail["from"] = _person(detail.pop("from_email"), detail.pop("from_name"))
    detail["to"] = [{"email": p["address"], "name": p["name"] or ""} for p in people if p["role"] == "to"]
    detail["cc"] = [{"email": p["address"], "name": p["name"] or ""} for p in people if p["role"] == "cc"]
    detail["problems"] = json.loads(detail.pop("problems_json") or "[]")
    detail["attachments"] = [{**dict(a), "inline": bool(a["inline"])} for a in attachments]
    detail["investors"] = email_investors(conn, email_id)
    return detail


def get_email_html(conn, email_id: int) -> str | None:
    row = conn.execute("SELECT body_html FROM emails WHERE id = ? AND matched = 1", (email_id,)).fetchone()
    return row[0] if row else None


def get_attachment(conn, attachment_id: int) -> dict | None:
    row = conn.execute("SELECT a.id, a.filename, a.mime_type, a.size, a.status, a.sha256 FROM email_attachments a "
                       "JOIN emails e ON e.id = a.email_id WHERE a.id = ? AND e.matched = 1", (attachment_id,)).fetchone()
    return dict(row) if row else None


def account_counts(conn, account_id: int) -> dict:
    row = conn.execute("SELECT count(*), sum(e.matched) FROM email_mailbox_entries m JOIN emails e ON e.id = m.email_id "
                       "WHERE m.account_id = ?", (account_id,)).fetchone()
    return {"messages": row[0] or 0, "matched": row[1] or 0}
