"""SQL for merging two investors on the integration's side (issue 24, item 5): the captured email's and meetings' links,
the proposals and held-back proposals, and the relationship stats move from `gone` to `keep`.
Runs inside the core's merge transaction (backend.investors_db.merge_investors)."""
from __future__ import annotations

from backend.db import now_iso


def merge_investors(conn, keep: int, gone: int) -> None:
    # An email linked to both keeps the kept investor's link; the rest move.
    conn.execute("INSERT OR IGNORE INTO email_investor_links (email_id, investor_id, strategy, address) "
                 "SELECT email_id, ?, strategy, address FROM email_investor_links WHERE investor_id = ?", (keep, gone))
    conn.execute("DELETE FROM email_investor_links WHERE investor_id = ?", (gone,))
    # A meeting with both keeps the kept investor's link; the rest move (their cards move with the proposals).
    conn.execute("INSERT OR IGNORE INTO email_meeting_investors (meeting_id, investor_id, strategy, address) "
                 "SELECT meeting_id, ?, strategy, address FROM email_meeting_investors WHERE investor_id = ?", (keep, gone))
    conn.execute("DELETE FROM email_meeting_investors WHERE investor_id = ?", (gone,))
    # One pending card per conversation and investor: a second one for the same conversation is superseded.
    conn.execute("UPDATE email_proposals SET status = 'superseded', updated_at = ?1, decided_at = ?1 "
                 "WHERE investor_id = ?3 AND status = 'pending' AND thread_id IN "
                 "(SELECT thread_id FROM email_proposals WHERE investor_id = ?2 AND status = 'pending')",
                 (now_iso(), keep, gone))
    conn.execute("UPDATE email_proposals SET investor_id = ? WHERE investor_id = ?", (keep, gone))
    conn.execute("INSERT OR IGNORE INTO email_proposal_deferred (email_id, investor_id, email_date) "
                 "SELECT email_id, ?, email_date FROM email_proposal_deferred WHERE investor_id = ?", (keep, gone))
    conn.execute("DELETE FROM email_proposal_deferred WHERE investor_id = ?", (gone,))
    # Strength is recomputed from the links on the next read.
    conn.execute("DELETE FROM email_relationship_stats WHERE investor_id IN (?, ?)", (keep, gone))
    conn.execute("INSERT OR IGNORE INTO email_relationship_dirty (investor_id) VALUES (?)", (keep,))
    conn.execute("DELETE FROM email_relationship_dirty WHERE investor_id = ?", (gone,))
