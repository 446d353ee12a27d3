"""Review's reactions to capture's store (capture/events.py): draft a proposed note for mail just kept,
and keep pending proposals in step when an email loses an investor, its body, or its own conversation."""
from __future__ import annotations

from backend.investors_db import investors_rev
from email_integration.capture import events
from email_integration.capture.matcher import index_for

from . import db_proposals
from .proposals import naming, propose


class ReviewOnCapture(events.Listener):
    def email_kept(self, conn, kept: events.Kept) -> None:
        investors = {i: _with_people(conn, kept, i, _brief(conn, kept.memo, i)) for i, _, _ in kept.links}
        propose(conn, kept.email_id, kept.thread_id, kept.parsed, kept.headers, kept.links, investors,
                kept.own_domain, kept.horizon)

    def links_changed(self, conn, email_id: int, linked: set, lost: set) -> None:
        if lost:
            db_proposals.supersede_pending(conn, email_id, lost)

    def email_removed(self, conn, email_id: int, investor_ids: set) -> None:
        db_proposals.supersede_pending(conn, email_id, investor_ids)

    def body_dropped(self, conn, email_id: int) -> None:
        db_proposals.clear_undecided_drafts(conn, email_id)

    def threads_merging(self, conn, keep: int, other: int) -> None:
        db_proposals.fold_threads(conn, keep, other)


def _brief(conn, memo: dict, investor_id: int) -> dict | None:
    """Name and firm for drafting, cached for the ingestor's life (one sync run)."""
    key = ("investor", investor_id)
    if key not in memo:
        memo[key] = db_proposals.investor_brief(conn, investor_id)
    return memo[key]


def _with_people(conn, kept: events.Kept, investor_id: int, brief: dict | None) -> dict | None:
    """The brief with the investor's people this email is with (the draft names them, issue 24, item 8)."""
    if brief is None:
        return None
    key = ("people-index", investors_rev(conn))
    if key not in kept.memo:
        kept.memo[key] = index_for(conn, None, kept.own_domain)
    return naming(kept.memo[key], investor_id, brief, kept.parsed)
