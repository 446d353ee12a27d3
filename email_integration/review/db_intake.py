"""SQL for the intake bridge's work-lists and the email_proposal_matrix side rows."""
from __future__ import annotations

from backend.db import now_iso
from email_integration.calendar.db_meetings import room_safe_sql as meeting_room_safe_sql
from email_integration.privacy.db_visibility import card_room_safe_sql

from .db_drafts import MODEL_DRAFTED


# A card's source: its email (e) or, for a meeting card, its meeting (mt, through pm); either may be gone.
_SOURCES = ("LEFT JOIN emails e ON e.id = p.email_id LEFT JOIN email_proposal_meetings pm ON pm.proposal_id = p.id "
            "LEFT JOIN email_meetings mt ON mt.id = pm.meeting_id")
# May be in the review room: its email every teammate may read (db_visibility), or its meeting every teammate
# may see in full (calendar/db_meetings).
_ROOM_SAFE = (f"(CASE WHEN pm.proposal_id IS NOT NULL THEN mt.id IS NOT NULL AND {meeting_room_safe_sql('mt')} "
              f"ELSE e.id IS NOT NULL AND {card_room_safe_sql()} END)")
KIND = "CASE WHEN pm.proposal_id IS NULL THEN 'email' ELSE 'meeting' END"
# Pending proposals whose card is not in the review room and may be. One condition a line: other work-list
# rules (a model draft still to come) add theirs.
_UNPOSTED = ("p.status = 'pending'", "m.proposal_id IS NULL", _ROOM_SAFE)
_UNPOSTED_FROM = f"FROM email_proposals p {_SOURCES} LEFT JOIN email_proposal_matrix m ON m.proposal_id = p.id"
# Cards in the room still awaiting a decision (what CRM_INTAKE_MAX_OPEN_CARDS caps).
_OPEN = (f"FROM email_proposal_matrix m JOIN email_proposals p ON p.id = m.proposal_id {_SOURCES} "
         f"WHERE p.status = 'pending' AND m.closed_at IS NULL AND {_ROOM_SAFE}")


# A card is posted once its draft will not change under the reviewers: a person edited it, the model
# drafted this version, or the CRM's draft is older than the wait (the model had its chance). The model
# drafts no meeting card: those are settled at once.
_SETTLED = f"(p.edited = 1 OR {MODEL_DRAFTED} OR pm.proposal_id IS NOT NULL OR p.updated_at <= ?)"


def unposted_ids(conn, limit: int, settled_before: str) -> list[int]:
    """Up to `limit` pending proposals not yet in the room whose draft is settled (see _SETTLED; drafts
    last touched before `settled_before`), newest email first (a fresh card beats an old one)."""
    rows = conn.execute(f"SELECT p.id {_UNPOSTED_FROM} WHERE {' AND '.join(_UNPOSTED)} AND {_SETTLED} "
                        "ORDER BY coalesce(e.date, mt.start_at) DESC, p.id DESC LIMIT ?", (settled_before, limit))
    return [r[0] for r in rows]


def unposted_count(conn) -> int:
    return conn.execute(f"SELECT count(*) {_UNPOSTED_FROM} WHERE {' AND '.join(_UNPOSTED)}").fetchone()[0]


def open_count(conn) -> int:
    return conn.execute(f"SELECT count(*) {_OPEN}").fetchone()[0]


def open_cards(conn) -> list[dict]:
    rows = conn.execute(f"SELECT p.id, m.room_id, m.event_id, p.version, p.draft, {KIND} AS kind {_OPEN} ORDER BY p.id")
    return [dict(r) for r in rows]


def cards_to_close(conn) -> list[dict]:
    """Posted cards to close: decided elsewhere or superseded, or still pending but now private or owner-only
    (a mailbox's visibility narrowed): those show status 'withdrawn' and stay decidable on /capture only."""
    rows = conn.execute("SELECT p.id, m.room_id, m.event_id, CASE WHEN p.status = 'pending' THEN 'withdrawn' "
                        f"ELSE p.status END AS status, p.decided_by, p.decided_via, {KIND} AS kind "
                        f"FROM email_proposal_matrix m JOIN email_proposals p ON p.id = m.proposal_id {_SOURCES} "
                        f"WHERE m.closed_at IS NULL AND (p.status != 'pending' OR NOT {_ROOM_SAFE}) "
                        "ORDER BY p.decided_at, p.id")
    return [dict(r) for r in rows]


def side_row(conn, proposal_id: int) -> dict | None:
    row = conn.execute("SELECT * FROM email_proposal_matrix WHERE proposal_id = ?", (proposal_id,)).fetchone()
    return dict(row) if row else None


def record_posted(conn, proposal_id: int, room_id: str, event_id: str, version: int) -> None:
    conn.execute("INSERT INTO email_proposal_matrix (proposal_id, room_id, event_id, posted_version, posted_at) "
                 "VALUES (?, ?, ?, ?, ?)", (proposal_id, room_id, event_id, version, now_iso()))


def record_decision(conn, proposal_id: int, via: str, by: str) -> None:
    conn.execute("UPDATE email_proposal_matrix SET decided_via = ?, decided_by = ?, decided_at = ? "
                 "WHERE proposal_id = ?", (via, by, now_iso(), proposal_id))


def record_closed(conn, proposal_id: int) -> None:
    conn.execute("UPDATE email_proposal_matrix SET closed_at = coalesce(closed_at, ?) WHERE proposal_id = ?",
                 (now_iso(), proposal_id))
