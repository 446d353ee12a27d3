"""SQL of meeting cards: proposals (email_proposals) whose email_proposal_meetings row names a meeting of
calendar/ (migration 0017). Who may see one is calendar/db_meetings' rule: the whole card (title and
description) to the meeting's holders and, when every holder's setting shows everything and no copy is
private, to everyone and the review room. Callers hold the transaction."""
from __future__ import annotations

from backend.db import now_iso
from email_integration.calendar.db_meetings import (ATTENDED, level_sql, private_sql, room_safe_sql, sees_shared_sql,
                                                    shared_level_sql)
from email_integration.privacy.db_visibility import FULL

from .db_proposals import _COLUMNS as PROPOSAL_COLUMNS

_FROM = ("FROM email_proposals p JOIN email_proposal_meetings pm ON pm.proposal_id = p.id "
         "JOIN email_meetings m ON m.id = pm.meeting_id")
_HOLDER = ("EXISTS (SELECT 1 FROM email_meeting_copies hc JOIN email_accounts ha ON ha.id = hc.account_id "
           "WHERE hc.meeting_id = m.id AND ha.user_id = ?)")


def _statuses(status: str) -> tuple:
    return ("approved", "rejected") if status == "decided" else (status,)


# -- the meetings that ended ----------------------------------------------------------------------
def ended_unlooked(conn, now: str, limit: int) -> list[dict]:
    """Meetings that ended by `now` and were not yet looked at for a card, oldest first, with the first time any
    teammate's calendar brought them (the horizon is measured from there) and how many teammates attended."""
    rows = conn.execute("SELECT m.id, m.start_at, m.end_at, m.title, m.organizer_email, "
                        "(SELECT min(c.first_seen_at) FROM email_meeting_copies c WHERE c.meeting_id = m.id) AS first_seen, "
                        f"{shared_level_sql('m')} AS shared_level, {private_sql('m')} AS private "
                        "FROM email_meetings m WHERE m.card_state IS NULL AND m.end_at <= ? ORDER BY m.end_at, m.id LIMIT ?",
                        (now, limit))
    return [dict(r) for r in rows]


def attendees_named(conn, meeting_id: int) -> list[str]:
    """The names of the teammates who attended (db_meetings.ATTENDED: not an unanswered invitation), by name."""
    return [r[0] for r in conn.execute(
        "SELECT DISTINCT coalesce(nullif(u.name, ''), a.email) FROM email_meeting_copies c JOIN email_accounts a "
        "ON a.id = c.account_id LEFT JOIN users u ON u.id = a.user_id WHERE c.meeting_id = ? "
        f"AND {ATTENDED.format(c='c')} ORDER BY 1", (meeting_id,))]


def meeting_investors(conn, meeting_id: int, organizer: str | None) -> list[dict]:
    """The meeting's investors, the card's first: the organizer's, then by address match, then by id."""
    rows = conn.execute("SELECT l.investor_id AS id, i.name, i.firm FROM email_meeting_investors l "
                        "JOIN investors i ON i.id = l.investor_id WHERE l.meeting_id = ? ORDER BY "
                        "(l.address = coalesce(?, '')) DESC, (l.strategy = 'exact') DESC, l.investor_id",
                        (meeting_id, organizer))
    return [dict(r) for r in rows]


def investor_names(conn, meeting_ids: list[int]) -> dict[int, dict[str, str]]:
    """{meeting_id: {address: investor name}}: the attendees the CRM knows by address as investors, to name them."""
    found: dict[int, dict[str, str]] = {i: {} for i in meeting_ids}
    for start in range(0, len(meeting_ids), 500):
        chunk = meeting_ids[start:start + 500]
        for row in conn.execute("SELECT l.meeting_id, l.address, i.name FROM email_meeting_investors l JOIN investors i "
                                f"ON i.id = l.investor_id WHERE l.strategy = 'exact' AND l.meeting_id IN ({','.join('?' * len(chunk))})",
                                chunk):  # 'exact': the investor's own address; a domain match may be a colleague
            if row["address"]:
                found[row["meeting_id"]].setdefault(row["address"].lower(), row["name"])
    return found


def set_card_state(conn, meeting_id: int, state: str) -> None:
    conn.execute("UPDATE email_meetings SET card_state = ? WHERE id = ?", (state, meeting_id))


def insert(conn, investor_id: int, meeting_id: int, meeting_start: str, draft: str) -> int:
    now = now_iso()
    proposal_id = conn.execute("INSERT INTO email_proposals (investor_id, thread_id, email_id, draft, created_at, "
                               "updated_at) VALUES (?, NULL, NULL, ?, ?, ?)", (investor_id, draft, now, now)).lastrowid
    conn.execute("INSERT INTO email_proposal_meetings (proposal_id, meeting_id, meeting_start) VALUES (?, ?, ?)",
                 (proposal_id, meeting_id, meeting_start))
    conn.execute("UPDATE email_meetings SET card_state = 'proposed' WHERE id = ?", (meeting_id,))
    return proposal_id


def supersede_orphans(conn) -> int:
    """Pending meeting cards whose meeting is gone (cancelled in every calendar) are withdrawn."""
    return conn.execute("UPDATE email_proposals SET status = 'superseded', updated_at = ?1, decided_at = ?1 "
                        "WHERE status = 'pending' AND id IN (SELECT proposal_id FROM email_proposal_meetings "
                        "WHERE meeting_id IS NULL)", (now_iso(),)).rowcount


# -- reads --------------------------------------------------------------------------------------
def meeting_of(conn, proposal_id: int) -> dict | None:
    """The proposal's meeting link (None: it is an email card)."""
    row = conn.execute("SELECT proposal_id, meeting_id, meeting_start FROM email_proposal_meetings "
                       "WHERE proposal_id = ?", (proposal_id,)).fetchone()
    return dict(row) if row else None


def list_cards(conn, status: str, limit: int = 1000, ids=None, viewer_id: int | None = None) -> list[dict]:
    """Meeting cards with what a review card shows; with `viewer_id` only those they may see in full
    (level FULL), `owner_only` when not every teammate may, `holder` when their calendar holds it."""
    statuses = _statuses(status)
    where, params = [f"p.status IN ({','.join('?' * len(statuses))})"], list(statuses)
    order = "p.decided_at DESC, p.id DESC" if status == "decided" else "m.start_at DESC, p.id DESC"
    if ids is not None:
        where.append(f"p.id IN ({','.join('?' * len(ids))})")
        params.extend(ids)
    if viewer_id is None:
        level, level_params, holder, holder_params = shared_level_sql("m"), [], "0", []
        sees, sees_params = "0", []
    else:
        level, level_params = level_sql(viewer_id)
        holder, holder_params = _HOLDER, [viewer_id]
        sees, sees_params = sees_shared_sql(viewer_id)
        where.append(f"{level} = {FULL}")
        params.extend(level_params)
    rows = conn.execute(
        f"SELECT {PROPOSAL_COLUMNS}, i.name AS investor_name, i.firm AS investor_firm, m.id AS meeting_id, m.start_at, "
        f"m.end_at, m.title, m.description, m.location, m.organizer_email, {level} AS level, "
        f"NOT {room_safe_sql('m')} AS owner_only, {holder} AS holder, {sees} AS sees_all {_FROM} "
        f"JOIN investors i ON i.id = p.investor_id WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?",
        (*level_params, *holder_params, *sees_params, *params, limit))
    return [dict(r) for r in rows]


def visible_to(conn, proposal_id: int, viewer_id: int) -> bool:
    level, params = level_sql(viewer_id)
    row = conn.execute(f"SELECT {level} {_FROM} WHERE p.id = ?", (*params, proposal_id)).fetchone()
    return row is not None and row[0] == FULL


def room_safe(conn, proposal_id: int) -> bool:
    row = conn.execute(f"SELECT {room_safe_sql('m')} {_FROM} WHERE p.id = ?", (proposal_id,)).fetchone()
    return row is not None and bool(row[0])


def count(conn, status: str, viewer_id: int) -> int:
    statuses = _statuses(status)
    level, params = level_sql(viewer_id)
    return conn.execute(f"SELECT count(*) {_FROM} WHERE p.status IN ({','.join('?' * len(statuses))}) "
                        f"AND {level} = {FULL}", (*statuses, *params)).fetchone()[0]


def pending_ids_of_investor(conn, viewer_id: int, investor_id: int, bound: tuple[str, int] | None,
                            limit: int) -> list[int]:
    """The investor's pending meeting cards the viewer may decide, older than `bound` (at = the meeting's start),
    newest first (the timeline's)."""
    level, params = level_sql(viewer_id)
    where, args = [f"p.investor_id = ? AND p.status = 'pending' AND {level} = {FULL}"], [investor_id, *params]
    if bound is not None:
        where.append("(m.start_at < ? OR (m.start_at = ? AND p.id < ?))")
        args += [bound[0], bound[0], bound[1]]
    rows = conn.execute(f"SELECT p.id {_FROM} WHERE {' AND '.join(where)} ORDER BY m.start_at DESC, p.id DESC LIMIT ?",
                        (*args, limit))
    return [r[0] for r in rows]
