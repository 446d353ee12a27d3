"""SQL for proposed grid notes (email_proposals). Callers hold the transaction."""
from __future__ import annotations

from backend.db import now_iso
from email_integration.privacy.db_visibility import FULL, card_room_safe_sql, holds_thread_sql, level_sql, link_visible_sql

from .db_drafts import DRAFTED_BY

_COLUMNS = ("p.id, p.investor_id, p.thread_id, p.email_id, p.status, p.version, p.draft, p.edited, p.created_at, "
            "p.updated_at, p.decided_at, p.decided_by_user_id, p.decided_by, p.decided_via, p.note_id, "
            f"{DRAFTED_BY} AS drafted_by")


def pending_for(conn, thread_id: int, investor_id: int) -> dict | None:
    row = conn.execute(f"SELECT {_COLUMNS}, e.date AS email_date FROM email_proposals p JOIN emails e ON "
                       "e.id = p.email_id WHERE p.thread_id = ? AND p.investor_id = ? AND p.status = 'pending'",
                       (thread_id, investor_id)).fetchone()
    return dict(row) if row else None


def latest_decided_date(conn, thread_id: int, investor_id: int) -> str | None:
    """The newest email date a decided proposal of this conversation and investor was drafted from."""
    row = conn.execute("SELECT max(e.date) FROM email_proposals p JOIN emails e ON e.id = p.email_id "
                       "WHERE p.thread_id = ? AND p.investor_id = ? AND p.status IN ('approved', 'rejected')",
                       (thread_id, investor_id)).fetchone()
    return row[0] if row else None


def investor_brief(conn, investor_id: int) -> dict | None:
    row = conn.execute("SELECT id, name, firm FROM investors WHERE id = ?", (investor_id,)).fetchone()
    return dict(row) if row else None


def insert(conn, investor_id: int, thread_id: int, email_id: int, draft: str) -> int:
    now = now_iso()
    return conn.execute("INSERT INTO email_proposals (investor_id, thread_id, email_id, draft, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (investor_id, thread_id, email_id, draft, now, now)).lastrowid


def refresh(conn, proposal_id: int, email_id: int, draft: str | None) -> None:
    """A newer message of the conversation: point at it, redraft unless a human edited, bump the version."""
    conn.execute("UPDATE email_proposals SET email_id = ?, draft = coalesce(?, draft), version = version + 1, "
                 "updated_at = ? WHERE id = ?", (email_id, draft, now_iso(), proposal_id))


def supersede_pending(conn, email_id: int, investor_ids) -> None:
    """The email no longer concerns these investors (unlinked, or gone from Gmail): their pending
    proposals drafted from it are withdrawn (a posted Matrix card then shows up in to_close)."""
    for investor_id in investor_ids:
        conn.execute("UPDATE email_proposals SET status = 'superseded', updated_at = ?, decided_at = ? "
                     "WHERE email_id = ? AND investor_id = ? AND status = 'pending'",
                     (now_iso(), now_iso(), email_id, investor_id))


def defer(conn, email_id: int, investor_ids, date: str) -> None:
    """Beyond the proposal horizon: remember what would have been proposed, for a later backfill."""
    conn.executemany("INSERT OR IGNORE INTO email_proposal_deferred (email_id, investor_id, email_date) "
                     "VALUES (?, ?, ?)", [(email_id, investor_id, date) for investor_id in investor_ids])


def _deferred_where(since: str, investor_id: int | None) -> tuple[str, list]:
    if investor_id is None:
        return "d.email_date >= ?", [since]
    return "d.email_date >= ? AND d.investor_id = ?", [since, investor_id]


def deferred(conn, since: str, investor_id: int | None) -> list[dict]:
    """Held-back proposals from `since` on whose email is still linked to the investor, oldest first."""
    where, params = _deferred_where(since, investor_id)
    rows = conn.execute(
        "SELECT d.email_id, d.investor_id, e.thread_id, e.date, e.from_email, e.from_name, e.subject, e.body_text, "
        "i.name AS investor_name, i.firm AS investor_firm FROM email_proposal_deferred d "
        "JOIN emails e ON e.id = d.email_id JOIN investors i ON i.id = d.investor_id "
        "JOIN email_investor_links l ON l.email_id = d.email_id AND l.investor_id = d.investor_id "
        f"WHERE {where} AND e.thread_id IS NOT NULL ORDER BY d.email_date, d.email_id", params)
    return [dict(r) for r in rows]


def forget_deferred(conn, since: str, investor_id: int | None) -> None:
    where, params = _deferred_where(since, investor_id)
    conn.execute(f"DELETE FROM email_proposal_deferred AS d WHERE {where}", params)


def clear_undecided_drafts(conn, email_id: int) -> None:
    """The email's body is being dropped: drafts that never became a grid note (superseded or
    rejected) lose their text too, which was drawn from that body (issue 15, item 12)."""
    conn.execute("UPDATE email_proposals SET draft = '', updated_at = ? WHERE email_id = ? "
                 "AND status IN ('superseded', 'rejected') AND draft != ''", (now_iso(), email_id))


def get(conn, proposal_id: int) -> dict | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM email_proposals p WHERE p.id = ?", (proposal_id,)).fetchone()
    return dict(row) if row else None


def set_decided(conn, proposal_id: int, status: str, version: int, user_id: int | None, actor: str, via: str) -> bool:
    """pending → approved/rejected, only from the expected version: False when someone else won."""
    return conn.execute("UPDATE email_proposals SET status = ?, decided_at = ?, decided_by_user_id = ?, "
                        "decided_by = ?, decided_via = ?, updated_at = ? WHERE id = ? AND status = 'pending' "
                        "AND version = ?", (status, now_iso(), user_id, actor, via, now_iso(), proposal_id,
                                            version)).rowcount == 1


def set_edited(conn, proposal_id: int, version: int, draft: str) -> bool:
    return conn.execute("UPDATE email_proposals SET draft = ?, edited = 1, version = version + 1, updated_at = ? "
                        "WHERE id = ? AND status = 'pending' AND version = ?",
                        (draft, now_iso(), proposal_id, version)).rowcount == 1


def reopen(conn, proposal_id: int) -> None:
    """Undo a decision: pending again at a new version, the decision and its note forgotten. A card the bot
    already closed in the room loses its side row, so it is posted afresh; one still open stays open."""
    conn.execute("UPDATE email_proposals SET status = 'pending', version = version + 1, decided_at = NULL, "
                 "decided_by_user_id = NULL, decided_by = NULL, decided_via = NULL, note_id = NULL, updated_at = ? "
                 "WHERE id = ?", (now_iso(), proposal_id))
    conn.execute("DELETE FROM email_proposal_matrix WHERE proposal_id = ? AND closed_at IS NOT NULL", (proposal_id,))
    conn.execute("UPDATE email_proposal_matrix SET decided_via = NULL, decided_by = NULL, decided_at = NULL "
                 "WHERE proposal_id = ?", (proposal_id,))


def set_note(conn, proposal_id: int, note_id: int) -> None:
    conn.execute("UPDATE email_proposals SET note_id = ? WHERE id = ?", (note_id, proposal_id))


def fold_threads(conn, keep: int, other: int) -> None:
    """Threads merged: a second pending proposal for the same investor is superseded, the rest move."""
    conn.execute("UPDATE email_proposals SET status = 'superseded', updated_at = ? WHERE thread_id = ? "
                 "AND status = 'pending' AND investor_id IN (SELECT investor_id FROM email_proposals "
                 "WHERE thread_id = ? AND status = 'pending')", (now_iso(), other, keep))
    conn.execute("UPDATE email_proposals SET thread_id = ? WHERE thread_id = ?", (keep, other))


def list_cards(conn, status: str, limit: int = 1000, ids=None, viewer_id: int | None = None) -> list[dict]:
    """Proposals with what a review card shows: investor, email metadata, the draft.

    With `viewer_id`, only cards that viewer may see: drafted from mail every teammate can read, or
    from mail in the viewer's own mailbox (db_visibility). `owner_only` marks the latter kind; `holder`:
    the viewer's mailbox holds the conversation (they may mark it private)."""
    where, params = ["p.status = ?"], [status]
    order = "e.date DESC, p.id DESC"
    if status == "decided":  # the "Decided" view: approvals and rejections, most recently decided first
        where, params, order = ["p.status IN ('approved', 'rejected')"], [], "p.decided_at DESC, p.id DESC"
    if ids is not None:
        where.append(f"p.id IN ({','.join('?' * len(ids))})")
        params.extend(ids)
    holder, holder_params = "0", []
    if viewer_id is not None:
        visible, visible_params = _card_visible(viewer_id)
        where.append(visible)
        params.extend(visible_params)
        holder, holder_params = holds_thread_sql(viewer_id, "p.thread_id")
    rows = conn.execute(
        f"SELECT {_COLUMNS}, i.name AS investor_name, i.firm AS investor_firm, e.from_email, e.from_name, e.date, "
        f"e.subject, e.snippet, e.body_text, NOT {card_room_safe_sql()} AS owner_only, {holder} AS holder "
        "FROM email_proposals p JOIN investors i ON i.id = p.investor_id "
        f"JOIN emails e ON e.id = p.email_id WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?",
        (*holder_params, *params, limit))
    return [dict(r) for r in rows]


def visible_to(conn, proposal_id: int, viewer_id: int) -> bool:
    """Whether the viewer may see (and decide) this proposal: they may read its whole email."""
    visible, params = _card_visible(viewer_id)
    row = conn.execute(f"SELECT {visible} FROM email_proposals p JOIN emails e ON e.id = p.email_id WHERE p.id = ?",
                       (*params, proposal_id)).fetchone()
    return row is not None and bool(row[0])


def _card_visible(viewer_id: int) -> tuple[str, list]:
    """(SQL, params): the viewer may see and decide card `p` of email `e`: they may read the whole email,
    and see its investor link (one only a Bcc makes is its sender's, issue 22)."""
    level, params = level_sql(viewer_id)
    shown, shown_params = link_visible_sql(viewer_id, "p.email_id", "p.investor_id")
    return f"({level} = {FULL} AND {shown})", [*params, *shown_params]


def room_safe(conn, proposal_id: int) -> bool:
    """Whether the proposal may be shown in the review room (its email is readable by every teammate)."""
    row = conn.execute(f"SELECT {card_room_safe_sql()} FROM email_proposals p JOIN emails e ON e.id = p.email_id "
                       "WHERE p.id = ?", (proposal_id,)).fetchone()
    return row is not None and bool(row[0])


def pending_in_thread(conn, thread_id: int) -> list[dict]:
    return [dict(r) for r in conn.execute(f"SELECT {_COLUMNS} FROM email_proposals p WHERE p.thread_id = ? "
                                          "AND p.status = 'pending'", (thread_id,))]


def withdraw_private(conn, thread_id: int) -> list[int]:
    """The conversation went private: withdraw its pending proposals (remembered, to restore them when
    it is unmarked); returns their ids. Approved grid notes are the firm's and stay."""
    withdrawn = [p["id"] for p in pending_in_thread(conn, thread_id)]
    for proposal_id in withdrawn:
        conn.execute("UPDATE email_proposals SET status = 'superseded', updated_at = ?, decided_at = ? WHERE id = ?",
                     (now_iso(), now_iso(), proposal_id))
        conn.execute("INSERT OR IGNORE INTO email_proposal_withdrawals (proposal_id, reason, at) "
                     "VALUES (?, 'private', ?)", (proposal_id, now_iso()))
    return withdrawn


def restore_withdrawn(conn, thread_id: int) -> list[int]:
    """The conversation is visible again: re-propose what marking it withdrew, as new proposals (new
    ids: the review room gets fresh cards); returns their ids."""
    rows = conn.execute("SELECT p.id, p.investor_id, p.email_id, p.draft, p.edited FROM email_proposal_withdrawals w "
                        "JOIN email_proposals p ON p.id = w.proposal_id WHERE p.thread_id = ? AND p.email_id IS NOT NULL "
                        "ORDER BY p.id", (thread_id,)).fetchall()
    restored = []
    for row in rows:
        if pending_for(conn, thread_id, row["investor_id"]) is None:
            new_id = insert(conn, row["investor_id"], thread_id, row["email_id"], row["draft"])
            if row["edited"]:
                conn.execute("UPDATE email_proposals SET edited = 1 WHERE id = ?", (new_id,))
            restored.append(new_id)
    conn.execute("DELETE FROM email_proposal_withdrawals WHERE proposal_id IN "
                 "(SELECT id FROM email_proposals WHERE thread_id = ?)", (thread_id,))
    return restored


def recipients(conn, email_ids: list[int]) -> dict[int, dict[str, list]]:
    """{email_id: {'to': [...], 'cc': [...]}} for the cards' header lines."""
    found: dict[int, dict[str, list]] = {i: {"to": [], "cc": []} for i in email_ids}
    for start in range(0, len(email_ids), 500):
        chunk = email_ids[start:start + 500]
        rows = conn.execute(f"SELECT email_id, role, address, name FROM email_participants WHERE role IN ('to', 'cc') "
                            f"AND email_id IN ({','.join('?' * len(chunk))}) ORDER BY rowid", chunk)
        for row in rows:
            found[row["email_id"]][row["role"]].append({"email": row["address"], "name": row["name"] or ""})
    return found


def holders(conn, email_ids: list[int]) -> dict[int, list[dict]]:
    """{email_id: [{id, name}]}: the teammates whose mailbox holds each email (the page's teammate filter)."""
    found: dict[int, list[dict]] = {i: [] for i in email_ids}
    for start in range(0, len(email_ids), 500):
        chunk = email_ids[start:start + 500]
        rows = conn.execute("SELECT DISTINCT m.email_id, u.id, u.name FROM email_mailbox_entries m "
                            "JOIN email_accounts a ON a.id = m.account_id JOIN users u ON u.id = a.user_id "
                            f"WHERE m.email_id IN ({','.join('?' * len(chunk))}) ORDER BY u.name", chunk)
        for row in rows:
            found[row["email_id"]].append({"id": row["id"], "name": row["name"]})
    return found


def count(conn, status: str, viewer_id: int) -> int:
    """How many proposals of this status the viewer may see (list_cards' rule)."""
    visible, params = _card_visible(viewer_id)
    statuses = ("approved", "rejected") if status == "decided" else (status,)
    return conn.execute(f"SELECT count(*) FROM email_proposals p JOIN emails e ON e.id = p.email_id "
                        f"WHERE p.status IN ({','.join('?' * len(statuses))}) AND {visible}",
                        (*statuses, *params)).fetchone()[0]


def pending_in_mailbox(conn, account_id: int) -> int:
    """How many cards wait for review on mail this mailbox holds (the Admin page's sync summary)."""
    return conn.execute("SELECT count(*) FROM email_proposals p WHERE p.status = 'pending' AND EXISTS (SELECT 1 FROM "
                        "email_mailbox_entries m WHERE m.email_id = p.email_id AND m.account_id = ?)",
                        (account_id,)).fetchone()[0]


def user_name(conn, user_id: int | None) -> str | None:
    row = conn.execute("SELECT name FROM users WHERE id = ?", (user_id,)).fetchone() if user_id else None
    return row[0] if row else None
