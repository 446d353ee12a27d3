"""The completeness view in GET /api/email/status: per mailbox (accounts[].completeness) and firm-wide
(completeness: per investor, alerts, covered sources, unsearchable addresses). Figures are the last
verification's (capture/completeness.py); an alert is a gap still there after ALERT_RUNS scheduled runs."""
from __future__ import annotations

from backend.investors_db import investor_addresses, list_investors
from email_integration.capture import db_accounts, db_completeness, sources
from email_integration.capture.completeness import ALERT_RUNS
from email_integration.gmail.search_query import unsearchable_terms

COUNTED = ("listed", "held", "private", "excluded", "refused", "missing")


def mailbox(conn, account_id: int) -> dict | None:
    """The mailbox's last verification, or None before its first."""
    rows = [r for r in db_completeness.figures(conn, account_id) if r["investor_id"] == 0]
    if not rows:
        return None
    row = rows[0]
    gaps = db_completeness.gaps(conn, account_id)
    return {**{k: row[k] for k in (*COUNTED, "spam", "via_sources")}, "verified_at": row["verified_at"],
            "verified_by": row["verified_by"], "gaps": len(gaps),
            "alerts": sum(1 for g in gaps if g["runs"] >= ALERT_RUNS)}


def firm(conn) -> dict:
    """Per investor (summed over mailboxes, and each mailbox's share), the alerts, the covered sources and
    the investor addresses the search leaves out."""
    emails = {a["id"]: a["email"] for a in db_accounts.list_accounts(conn)}
    investors = {i["id"]: i for i in list_investors(conn)}
    per_investor: dict[int, dict] = {}
    verified = []
    for row in db_completeness.figures(conn):
        if row["investor_id"] == 0:
            verified.append(row["verified_at"])
            continue
        investor = investors.get(row["investor_id"])
        if investor is None or row["account_id"] not in emails:
            continue
        entry = per_investor.setdefault(investor["id"], {"id": investor["id"], "name": investor["name"],
                                                         "firm": investor.get("firm"), "mailboxes": [],
                                                         **dict.fromkeys(COUNTED, 0)})
        for key in COUNTED:
            entry[key] += row[key]
        entry["mailboxes"].append({"account_id": row["account_id"], "email": emails[row["account_id"]],
                                   **{k: row[k] for k in COUNTED}})
    alerts = [{"account_id": g["account_id"], "email": emails.get(g["account_id"]), "gmail_id": g["gmail_id"],
               "investors": [{"id": i, "name": investors[i]["name"]} for i in g["investor_ids"] if i in investors],
               "reason": g["reason"], "since": g["first_seen_at"], "runs": g["runs"]}
              for g in db_completeness.gaps(conn, min_runs=ALERT_RUNS) if g["account_id"] in emails]
    unsearchable = [{**t, "investor": investors[t["investor_id"]]["name"] if t["investor_id"] in investors else None}
                    for t in unsearchable_terms(investor_addresses(conn))]
    owners = {u["id"]: u["name"] for u in db_accounts.people(conn)}
    mailboxes = [{"account_id": a["id"], "email": a["email"], "owner": owners.get(a["user_id"])}
                 for a in db_accounts.list_accounts(conn)]
    return {"verified_at": min(verified) if verified else None, "alert_runs": ALERT_RUNS, "mailboxes": mailboxes,
            "investors": sorted(per_investor.values(), key=lambda i: (-i["missing"], i["name"].lower())),
            "alerts": alerts, "sources": sources.described(conn), "unsearchable": unsearchable}
