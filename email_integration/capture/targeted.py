"""Targeted capture (CRM_GMAIL_CAPTURE_SCOPE=investors): which investor terms each mailbox must still
be searched for, whether a conversation is cheaper fetched whole or message by message, and the check of
new investor addresses the search must be able to carry.

No network here: the sync (sync.py) lists and fetches; this decides what.
"""
from __future__ import annotations

import hashlib
import math

from backend.address_policy import capturable
from backend.db import atomic
from backend.investors_db import investor_addresses
from email_integration.config import CONFIG
from email_integration.gmail.search_query import investor_terms, search_size_refusal, unsearchable_reason

from . import db_accounts, db_capture


def plan_fetches(groups: dict, message_cost: int, thread_cost: int) -> tuple[list[str], list[str]]:
    """(threads to fetch whole, messages to fetch one by one) for {threadId: [message ids to fetch]}.

    A thread is fetched whole (threads.get) when that costs less than a messages.get for each of
    its messages we need: with the 2026 profile's 40 against 20, from 3 messages on. A whole thread
    also brings the messages of the conversation we did not know about (e.g. a teammate's internal
    reply), which belong to it.
    """
    threads, messages = [], []
    for thread_id, ids in groups.items():
        if thread_id and len(ids) * message_cost > thread_cost:
            threads.append(thread_id)
        else:
            messages.extend(ids)
    return threads, messages


def mates_by_listing(threads: int, hits: int, mailbox_size: int, message_cost: int, thread_cost: int,
                     list_cost: int, page_size: int) -> bool:
    """Whether the other messages of `threads` new conversations (with `hits` messages found in them) are
    cheaper found by an id-only listing of the whole mailbox (list_cost a page of page_size ids, then a
    messages.get each) than by fetching each conversation whole (thread_cost each)."""
    listing = list_cost * max(1, math.ceil(mailbox_size / page_size)) + message_cost * hits
    return listing < thread_cost * threads


def terms_basis(terms) -> str:
    """A fingerprint of the investor terms: source mail refused under other terms is read again."""
    return "t:" + hashlib.sha256("\n".join(sorted(terms)).encode()).hexdigest()[:16]


def address_check(conn, investor_id, emails, domains) -> str | None:
    """The capture's check of an investor's new addresses (registered with backend.address_policy): refused
    when Gmail's search cannot express one, or when the investor search would outgrow its quota."""
    for value in [*(emails or []), *(domains or [])]:
        reason = unsearchable_reason(value)
        if reason:
            return reason
    rows = [r for r in investor_addresses(conn) if r[0] != investor_id or
            (r[1] == "email" and emails is None) or (r[1] == "domain" and domains is None)]
    rows += [(investor_id, "email", e) for e in emails or []] + [(investor_id, "domain", d) for d in domains or []]
    return search_size_refusal(investor_terms(capturable(conn, rows, CONFIG.workspace_domain), CONFIG.workspace_domain))


def current_terms(conn, own_domain: str) -> list[str]:
    """The search terms of the investors' addresses the policy allows (never a teammate's: no fetch)."""
    return investor_terms(capturable(conn, investor_addresses(conn), own_domain), own_domain)


def queue_new_terms(conn, own_domain: str) -> dict:
    """Compare the investors' addresses and domains with the terms already searched for.

    New terms get a targeted backfill queued in every enrolled mailbox that has listed (or is
    listing) already — a mailbox that has not started lists with every term anyway. Terms no
    investor holds any more are forgotten (their mail is unlinked by rematch, as before).
    Returns {"new": [...], "removed": [...]}.
    """
    if set(current_terms(conn, own_domain)) == db_capture.searched_terms(conn):
        return {"new": [], "removed": []}  # the usual case (every run and poll asks): no write at all
    with atomic(conn):  # BEGIN IMMEDIATE: two accounts' runs never queue the same terms twice
        terms = set(current_terms(conn, own_domain))
        known = db_capture.searched_terms(conn)
        new, removed = sorted(terms - known), sorted(known - terms)
        if new:
            for account in db_accounts.list_accounts(conn):
                if account["state"] != "disabled" and _has_listed(conn, account["id"]):
                    db_capture.queue_backfill(conn, account["id"], new)
            db_capture.record_terms(conn, new)
        if removed:
            db_capture.forget_terms(conn, removed)
    return {"new": new, "removed": removed}


# Mailboxes whose runs cannot search now (their owner must act first): not counted as searching.
_STALLED = ("disabled", "error", "needs_reconsent")


def search_progress(conn, investor_id: int, own_domain: str, targeted: bool, running: bool) -> dict:
    """Where the search for one investor's mail stands: {state, mailboxes, searched}.

    "searching" while one of its search terms waits to be queued (the next run or poll of any mailbox
    queues it: queue_new_terms) or a mailbox's targeted backfill for it is pending; "done" once every
    mailbox has searched; "idle" when nothing will search (no capturable address, or only ones another
    investor's domain already covers; the `all` scope; no scheduler; no mailbox listed yet: its first run
    lists every term). `mailboxes`: the enrolled mailboxes that search; `searched`: those done. Counts
    only: what a mailbox found is its owner's (a member reads this for any investor)."""
    mailboxes = [a["id"] for a in db_accounts.list_accounts(conn) if a["state"] not in _STALLED
                 and db_accounts.owner_active(conn, a["id"]) and _has_listed(conn, a["id"])]
    terms = set(investor_terms(capturable(conn, investor_addresses(conn, investor_id), own_domain), own_domain))
    terms &= set(current_terms(conn, own_domain))
    if not (targeted and running and terms and mailboxes):
        return {"state": "idle", "mailboxes": len(mailboxes), "searched": len(mailboxes)}
    if terms - db_capture.searched_terms(conn):
        busy = set(mailboxes)  # not queued yet: every mailbox that has listed will search for it
    else:
        busy = db_capture.accounts_backfilling(conn, terms) & set(mailboxes)
    return {"state": "searching" if busy else "done", "mailboxes": len(mailboxes),
            "searched": len(mailboxes) - len(busy)}


def _has_listed(conn, account_id: int) -> bool:
    state = db_accounts.get_sync_state(conn, account_id)
    return bool(state["history_id"] or state["listing_kind"])
