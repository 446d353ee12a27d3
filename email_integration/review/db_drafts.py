"""SQL for model-written first drafts (email_proposal_drafts, migration 0006). Callers hold the transaction."""
from __future__ import annotations

from backend.db import now_iso
from email_integration.privacy.db_visibility import card_room_safe_sql, room_safe_sql

# The current draft is the model's when the side row's version is the proposal's and nobody edited it.
MODEL_DRAFTED = ("EXISTS (SELECT 1 FROM email_proposal_drafts d WHERE d.proposal_id = p.id AND d.version = p.version "
                 "AND p.edited = 0)")
# Who wrote the current draft: 'crm' (the CRM's drafter), 'model:<name>', or 'edited' (a person's edit).
DRAFTED_BY = ("CASE WHEN p.edited THEN 'edited' ELSE coalesce((SELECT 'model:' || d.model FROM email_proposal_drafts d "
              "WHERE d.proposal_id = p.id AND d.version = p.version), 'crm') END")


def to_draft(conn, limit: int) -> list[dict]:
    """Pending proposals whose draft is still the CRM's own, newest email first: the model's work. Only
    mail that may reach the review room (db_visibility): the bot sees nothing a teammate could not."""
    rows = conn.execute(f"SELECT p.id, p.version, p.investor_id, p.thread_id, p.email_id FROM email_proposals p "
                        f"JOIN emails e ON e.id = p.email_id WHERE p.status = 'pending' AND p.edited = 0 "
                        f"AND NOT {MODEL_DRAFTED} AND {card_room_safe_sql('p', 'e')} ORDER BY e.date DESC, p.id DESC LIMIT ?",
                        (limit,))
    return [dict(r) for r in rows]


def crm_drafted_pending(conn, investor_id: int) -> list[dict]:
    """The investor's pending proposals whose draft is still the CRM's own (not a person's, not a model's)."""
    rows = conn.execute(f"SELECT p.id, p.version, p.email_id, p.draft FROM email_proposals p WHERE p.investor_id = ? "
                        f"AND p.status = 'pending' AND p.edited = 0 AND NOT {MODEL_DRAFTED} ORDER BY p.id",
                        (investor_id,))
    return [dict(r) for r in rows]


def email_text(conn, email_id: int) -> dict | None:
    row = conn.execute("SELECT id, thread_id, date, from_email, from_name, subject, body_text, snippet FROM emails "
                       "WHERE id = ?", (email_id,)).fetchone()
    return dict(row) if row else None


def earlier_in_thread(conn, thread_id: int, before_date: str, before_id: int, limit: int) -> list[dict]:
    """The conversation's matched, room-safe messages before this one, newest first (the model's short context).

    Matched only: capturing all (CRM_GMAIL_CAPTURE_ALL) the CRM keeps every message's body, and a Gmail thread
    also holds what its investors never saw (a forward to one's lawyer); the bot and its model get only
    the mail the team sees as investor mail, in every scope (issue 22)."""
    rows = conn.execute("SELECT id, date, from_email, from_name, body_text, snippet FROM emails WHERE thread_id = ? "
                        "AND id != ? AND has_body = 1 AND matched = 1 AND (date < ? OR (date = ? AND id < ?)) "
                        f"AND {room_safe_sql('emails')} ORDER BY date DESC, id DESC LIMIT ?",
                        (thread_id, before_id, before_date or "", before_date or "", before_id, limit))
    return [dict(r) for r in rows]


def set_model_draft(conn, proposal_id: int, version: int, draft: str, model: str) -> bool:
    """Replace the CRM's draft with the model's (version + 1), only if still pending, unedited and at
    `version`: False when a person edited or decided it meanwhile, or a newer email redrafted it."""
    if conn.execute("UPDATE email_proposals SET draft = ?, version = version + 1, updated_at = ? WHERE id = ? "
                    "AND status = 'pending' AND edited = 0 AND version = ?",
                    (draft, now_iso(), proposal_id, version)).rowcount != 1:
        return False
    conn.execute("INSERT INTO email_proposal_drafts (proposal_id, version, model, drafted_at) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT (proposal_id) DO UPDATE SET version = excluded.version, model = excluded.model, "
                 "drafted_at = excluded.drafted_at", (proposal_id, version + 1, model, now_iso()))
    return True
