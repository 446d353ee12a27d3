"""SQL behind the relationship view: an investor's emails for the timeline, the rows the strength
is computed from, and the precomputed per-(investor, teammate) stats with their dirty marks."""
from __future__ import annotations

from email_integration.privacy.db_visibility import (FULL, METADATA, bcc_link_sql, level_sql, link_visible_sql, redact,
                                                     shared_level_sql, thread_shown_sql)

_CHUNK = 500  # ids per IN (...) list, well under SQLite's variable limit


def teammates(conn) -> dict[str, dict]:
    """{lower-case address: {id, name, email}} of every person (not bot): their login and any mailbox of theirs."""
    rows = conn.execute(
        "SELECT lower(u.email) AS address, u.id, u.name, u.email FROM users u WHERE u.role != 'bot' "
        "UNION SELECT lower(a.email), u.id, u.name, u.email FROM email_accounts a JOIN users u ON u.id = a.user_id "
        "WHERE u.role != 'bot'")
    return {r["address"]: {"id": r["id"], "name": r["name"], "email": r["email"]} for r in rows}


# -- the timeline -------------------------------------------------------------------------------
def emails_before(conn, viewer_id: int, investor_id: int, bound: tuple[str, int] | None, limit: int) -> list[dict]:
    """The investor's newest linked emails the viewer may see, older than `bound` (at, id), newest first;
    each with the viewer's `level` and what that level hides blanked (db_visibility's rule)."""
    level, level_params = level_sql(viewer_id)
    shown, shown_params = link_visible_sql(viewer_id, "l.email_id", "l.investor_id")
    where = f"l.investor_id = ? AND e.matched = 1 AND {level} >= {METADATA} AND {shown}"
    params = [investor_id, *level_params, *shown_params]
    if bound is not None:
        where += " AND (coalesce(e.date, e.created_at) < ? OR (coalesce(e.date, e.created_at) = ? AND e.id < ?))"
        params += [bound[0], bound[0], bound[1]]
    rows = conn.execute(
        f"SELECT e.id, e.thread_id, coalesce(e.date, e.created_at) AS at, e.date, e.subject, e.snippet, e.from_email, "
        f"e.from_name, {level} AS level FROM email_investor_links l JOIN emails e ON e.id = l.email_id "
        f"WHERE {where} ORDER BY at DESC, e.id DESC LIMIT ?", (*level_params, *params, limit))
    return [redact(dict(r), r["level"]) for r in rows]


def pending_card_ids(conn, viewer_id: int, investor_id: int, bound: tuple[str, int] | None, limit: int) -> list[int]:
    """The investor's newest pending proposals the viewer may decide (they may read the whole email),
    older than `bound` (at = the email's date), newest first."""
    level, level_params = level_sql(viewer_id)
    shown, shown_params = link_visible_sql(viewer_id, "p.email_id", "p.investor_id")
    at = "coalesce(e.date, p.created_at)"
    where = f"p.investor_id = ? AND p.status = 'pending' AND {level} = {FULL} AND {shown}"
    params = [investor_id, *level_params, *shown_params]
    if bound is not None:
        where += f" AND ({at} < ? OR ({at} = ? AND p.id < ?))"
        params += [bound[0], bound[0], bound[1]]
    rows = conn.execute(f"SELECT p.id FROM email_proposals p JOIN emails e ON e.id = p.email_id WHERE {where} "
                        f"ORDER BY {at} DESC, p.id DESC LIMIT ?", (*params, limit))
    return [r[0] for r in rows]


# -- what strength is computed from ---------------------------------------------------------------
def _investor_filter(investor_ids) -> tuple[str, list]:
    if investor_ids is None:
        return "", []
    return f" AND l.investor_id IN ({','.join('?' * len(investor_ids))})", list(investor_ids)


# What the relationship view (firm-wide: every member sees the same figures) takes of an email: the time of
# mail every teammate may read in full; only the day (00:00:00Z) of mail some of them may not (a private
# conversation, a mailbox at a limited level): it still counts, its time to the second is not shown; nothing
# of a link only a Bcc makes (the sender's alone). Issue 22.
_SHARED_AT = (f"CASE WHEN {shared_level_sql('e')} = {FULL} THEN coalesce(e.date, e.created_at) "
              "ELSE substr(coalesce(e.date, e.created_at), 1, 10) || 'T00:00:00Z' END")
_COUNTED = f"NOT {bcc_link_sql('l.email_id', 'l.investor_id')}"


def exchange_rows(conn, investor_ids=None) -> list[dict]:
    """(investor_id, email_id, at, thread_id, sender, sender_name) of every linked email the firm-wide view counts
    (_COUNTED, at as _SHARED_AT), in the order strength reads them."""
    rows = []
    for chunk in _chunks(investor_ids):
        clause, params = _investor_filter(chunk)
        rows += conn.execute(
            f"SELECT l.investor_id, e.id AS email_id, {_SHARED_AT} AS at, e.thread_id, "
            "lower(e.from_email) AS sender, e.from_name AS sender_name FROM email_investor_links l "
            "JOIN emails e ON e.id = l.email_id "
            f"WHERE e.matched = 1 AND {_COUNTED}{clause} ORDER BY l.investor_id, e.thread_id, at, e.id",
            params).fetchall()
    return [dict(r) for r in rows]


def privacy_state(conn) -> list[tuple]:
    """What the counted mail depends on besides the emails: the private conversations and the mailboxes'
    limited visibility (a change recomputes every investor's stats)."""
    return (conn.execute("SELECT 'private', thread_id FROM email_private_threads ORDER BY thread_id").fetchall() +
            conn.execute("SELECT 'visibility', account_id, visibility FROM email_account_privacy "
                         "WHERE visibility != 'everything' ORDER BY account_id").fetchall())


def teammate_recipients(conn, addresses, investor_ids=None) -> dict[int, set[str]]:
    """{email_id: lower-case recipient addresses among `addresses`} for the investors' linked emails."""
    found: dict[int, set[str]] = {}
    addresses = sorted(addresses)
    if not addresses:
        return found
    marks = ",".join("?" * len(addresses))
    for chunk in _chunks(investor_ids):
        clause, params = _investor_filter(chunk)
        rows = conn.execute(
            "SELECT DISTINCT p.email_id, lower(p.address) FROM email_investor_links l JOIN email_participants p "
            f"ON p.email_id = l.email_id WHERE p.role IN ('to', 'cc', 'bcc') AND lower(p.address) IN ({marks}){clause}",
            (*addresses, *params))
        for email_id, address in rows:
            found.setdefault(email_id, set()).add(address)
    return found


def _chunks(ids):
    if ids is None:
        yield None
        return
    ids = list(ids)
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


# -- precomputed stats ----------------------------------------------------------------------------
def mark_dirty(conn, investor_ids) -> None:
    """These investors' emails changed: their stats are recomputed at the next read."""
    conn.executemany("INSERT OR IGNORE INTO email_relationship_dirty (investor_id) VALUES (?)",
                     [(i,) for i in investor_ids])


def mark_thread_dirty(conn, thread_id: int) -> None:
    """A conversation was regrouped: who answered whom may have changed for everyone in it."""
    conn.execute("INSERT OR IGNORE INTO email_relationship_dirty (investor_id) SELECT DISTINCT l.investor_id "
                 "FROM emails e JOIN email_investor_links l ON l.email_id = e.id WHERE e.thread_id = ?", (thread_id,))


def dirty_ids(conn) -> list[int]:
    return [r[0] for r in conn.execute("SELECT investor_id FROM email_relationship_dirty ORDER BY investor_id")]


def basis(conn) -> tuple[str | None, int | None, str | None]:
    """(teammates fingerprint, investors_rev, newest investor updated_at) the stored stats were computed at."""
    row = conn.execute("SELECT fingerprint, investors_rev, investors_seen FROM email_relationship_basis "
                       "WHERE id = 1").fetchone()
    return (row[0], row[1], row[2]) if row else (None, None, None)


def newest_investor_change(conn) -> str | None:
    return conn.execute("SELECT max(updated_at) FROM investors").fetchone()[0]


def investors_changed_since(conn, seen: str | None) -> list[int]:
    """Investors edited at or after `seen` (same second included: stamps have one-second steps)."""
    if seen is None:
        return [r[0] for r in conn.execute("SELECT id FROM investors")]
    return [r[0] for r in conn.execute("SELECT id FROM investors WHERE updated_at >= ?", (seen,))]


def replace_stats(conn, investor_ids, stats: list[tuple], new_basis: tuple) -> None:
    """Swap in freshly computed stats for `investor_ids` (None: all), clear their dirty marks, record the basis.

    stats: (investor_id, user_id, received_anchored, sent_anchored, last_sent, last_received, last_two_way);
    new_basis: (teammates fingerprint, investors_rev, newest investor updated_at).
    """
    if investor_ids is None:
        conn.execute("DELETE FROM email_relationship_stats")
        conn.execute("DELETE FROM email_relationship_dirty")
    else:
        for chunk in _chunks(investor_ids):
            marks = ",".join("?" * len(chunk))
            conn.execute(f"DELETE FROM email_relationship_stats WHERE investor_id IN ({marks})", chunk)
            conn.execute(f"DELETE FROM email_relationship_dirty WHERE investor_id IN ({marks})", chunk)
    conn.executemany("INSERT INTO email_relationship_stats (investor_id, user_id, received_anchored, sent_anchored, "
                     "last_sent, last_received, last_two_way) VALUES (?, ?, ?, ?, ?, ?, ?)", stats)
    conn.execute("INSERT INTO email_relationship_basis (id, fingerprint, investors_rev, investors_seen) "
                 "VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET fingerprint = excluded.fingerprint, "
                 "investors_rev = excluded.investors_rev, investors_seen = excluded.investors_seen", new_basis)


def stats_rows(conn) -> list[tuple]:
    """Every stored (investor_id, user_id, received_anchored, sent_anchored, last_two_way, last_received,
    last_sent), as plain tuples: the grid reads ten thousand of them per load."""
    return conn.execute("SELECT investor_id, user_id, received_anchored, sent_anchored, last_two_way, last_received, "
                        "last_sent FROM email_relationship_stats").fetchall()


# -- names for the audit log (issue 24, item 7) -------------------------------------------------
def thread_investors(conn, viewer_id: int, thread_ids: list[int]) -> dict[int, list[dict]]:
    """{thread id: [{id, name, firm}]} of the investors linked to each conversation's email or cards, as the
    viewer may see them (db_visibility): links of emails they see, a Bcc's alone only for its sender, and
    nothing of a private conversation they hold none of."""
    level, level_params = level_sql(viewer_id)
    shown, shown_params = link_visible_sql(viewer_id, "l.email_id", "l.investor_id")
    card_shown, card_params = link_visible_sql(viewer_id, "p.email_id", "p.investor_id")
    thread_shown, thread_params = thread_shown_sql(viewer_id, "p.thread_id")
    found: dict[int, dict[int, dict]] = {}
    for start in range(0, len(thread_ids), _CHUNK):
        chunk = thread_ids[start:start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT e.thread_id, i.id, i.name, i.firm FROM emails e JOIN email_investor_links l ON l.email_id = e.id "
            f"JOIN investors i ON i.id = l.investor_id WHERE e.thread_id IN ({marks}) AND {level} >= {METADATA} "
            f"AND {shown} "
            f"UNION SELECT p.thread_id, i.id, i.name, i.firm FROM email_proposals p JOIN investors i ON i.id = p.investor_id "
            f"WHERE p.thread_id IN ({marks}) AND {thread_shown} AND (p.email_id IS NULL OR EXISTS (SELECT 1 FROM "
            f"emails e WHERE e.id = p.email_id AND {level} >= {METADATA} AND {card_shown})) ORDER BY 1, 3",
            [*chunk, *level_params, *shown_params, *chunk, *thread_params, *level_params, *card_params])
        for row in rows:
            found.setdefault(row[0], {})[row[1]] = {"id": row[1], "name": row[2], "firm": row[3]}
    return {thread_id: list(people.values()) for thread_id, people in found.items()}


def account_owners(conn, account_ids: list[int]) -> dict[int, dict]:
    """{account id: {email, name}}: a mailbox and whose it is (name None when it is nobody's login)."""
    marks = ",".join("?" * len(account_ids))
    rows = conn.execute(f"SELECT a.id, a.email, u.name FROM email_accounts a LEFT JOIN users u ON u.id = a.user_id "
                        f"WHERE a.id IN ({marks})", account_ids) if account_ids else []
    return {r[0]: {"email": r[1], "name": r[2]} for r in rows}


def proposal_investors(conn, proposal_ids: list[int]) -> dict[int, dict]:
    """{proposal id: {id, name, firm}}: the investor each proposed note is for."""
    marks = ",".join("?" * len(proposal_ids))
    rows = conn.execute(f"SELECT p.id, i.id, i.name, i.firm FROM email_proposals p JOIN investors i ON "
                        f"i.id = p.investor_id WHERE p.id IN ({marks})", proposal_ids) if proposal_ids else []
    return {r[0]: {"id": r[1], "name": r[2], "firm": r[3]} for r in rows}
