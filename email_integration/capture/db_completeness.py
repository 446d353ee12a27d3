"""SQL of the completeness view: where each id Gmail's investor search lists stands in the CRM, the figures of
the last verification per mailbox and investor, and the gaps it found (completeness.py computes them).

Callers hold the transaction (backend.db.atomic) where they need one; nothing here commits.
"""
from __future__ import annotations

import json

from backend.db import now_iso

FIGURES = ("listed", "held", "private", "excluded", "refused", "missing", "spam", "via_sources")


def _chunks(ids, size: int = 500):
    ids = list(ids)
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def held(conn, account_id: int, gmail_ids) -> dict[str, dict]:
    """{gmail id: {private, investor_ids}} of the ids the mailbox holds."""
    found: dict[str, dict] = {}
    for chunk in _chunks(gmail_ids):
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT m.gmail_id, EXISTS (SELECT 1 FROM email_private_threads p WHERE p.thread_id = e.thread_id), "
            f"(SELECT group_concat(l.investor_id) FROM email_investor_links l WHERE l.email_id = e.id) "
            f"FROM email_mailbox_entries m JOIN emails e ON e.id = m.email_id "
            f"WHERE m.account_id = ? AND m.gmail_id IN ({marks})", (account_id, *chunk))
        for gmail_id, private, investors in rows:
            found[gmail_id] = {"private": bool(private),
                               "investor_ids": sorted({int(i) for i in (investors or "").split(",") if i})}
    return found


def queued(conn, account_id: int, gmail_ids) -> dict[str, dict]:
    """{gmail id: {attempts, last_error}} of the ids waiting in the fetch queue."""
    found: dict[str, dict] = {}
    for chunk in _chunks(gmail_ids):
        marks = ",".join("?" * len(chunk))
        found.update((r[0], {"attempts": r[1], "last_error": r[2]}) for r in conn.execute(
            f"SELECT gmail_id, attempts, last_error FROM email_fetch_queue WHERE account_id = ? "
            f"AND gmail_id IN ({marks})", (account_id, *chunk)))
    return found


def replace_figures(conn, account_id: int, figures: dict[int, dict], verified_by: str) -> None:
    """The verification's figures {investor id (0: the mailbox): {FIGURES…}} replace the account's last ones."""
    conn.execute("DELETE FROM email_completeness WHERE account_id = ?", (account_id,))
    at = now_iso()
    conn.executemany(
        "INSERT INTO email_completeness (account_id, investor_id, listed, held, private, excluded, refused, missing, "
        "spam, via_sources, verified_at, verified_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(account_id, investor_id, *(int(row.get(name, 0)) for name in FIGURES), at, verified_by)
         for investor_id, row in figures.items()])


def record_gaps(conn, account_id: int, gaps: dict[str, dict], count_run: bool) -> None:
    """The verification's gaps {gmail id: {thread_id, investor_ids, reason}}: new ones start at one run, known
    ones count one more run when `count_run` (a scheduled run, not "verify now"); gaps no longer found go."""
    at = now_iso()
    known = {r[0] for r in conn.execute("SELECT gmail_id FROM email_completeness_gaps WHERE account_id = ?",
                                        (account_id,))}
    for gone in known - set(gaps):
        conn.execute("DELETE FROM email_completeness_gaps WHERE account_id = ? AND gmail_id = ?", (account_id, gone))
    for gmail_id, gap in gaps.items():
        conn.execute(
            "INSERT INTO email_completeness_gaps (account_id, gmail_id, gmail_thread_id, investor_ids, reason, "
            "first_seen_at, last_seen_at, runs) VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT(account_id, gmail_id) "
            "DO UPDATE SET reason = excluded.reason, investor_ids = excluded.investor_ids, last_seen_at = "
            "excluded.last_seen_at, runs = runs + ?",
            (account_id, gmail_id, gap.get("thread_id") or None, json.dumps(gap.get("investor_ids") or []),
             gap["reason"], at, at, int(count_run)))


def figures(conn, account_id: int | None = None) -> list[dict]:
    where, params = ("WHERE account_id = ?", (account_id,)) if account_id is not None else ("", ())
    return [dict(r) for r in conn.execute(f"SELECT * FROM email_completeness {where} ORDER BY account_id, investor_id",
                                          params)]


def gaps(conn, account_id: int | None = None, min_runs: int = 1) -> list[dict]:
    where, params = ("AND account_id = ?", (account_id, )) if account_id is not None else ("", ())
    rows = conn.execute(f"SELECT * FROM email_completeness_gaps WHERE runs >= ? {where} ORDER BY account_id, "
                        f"first_seen_at, gmail_id", (min_runs, *params))
    return [{**dict(r), "investor_ids": json.loads(r["investor_ids"])} for r in rows]
