"""Web routes for proposed grid notes: the Email Capture page's list and decide (contracts §5)."""
from __future__ import annotations

import datetime

from backend.auth import authenticate, require_admin, require_user
from backend.db import ISO_FORMAT
from backend.web import BadRequest, NotFound, Route, field_int, field_str, query_int
from email_integration.config import CONFIG

from . import db_proposals, proposals

STATUSES = ("pending", "approved", "rejected", "decided")
MAX_BULK_IDS = 5000
MAX_LIST = 10000  # the review page loads every pending card at once (it renders them a window at a time)


def list_proposals(req):
    status = req.query.get("status") or "pending"
    if status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}")
    limit = query_int(req.query, "limit", 1000, 1, MAX_LIST)
    if status == "decided":  # the "Decided" view: the most recent decisions, with their undo window
        return {"proposals": proposals.decided_cards(req.conn, req.user, CONFIG.undo_window_min, min(limit, 200)),
                "total": proposals.count(req.conn, status, req.user["id"]),
                "undo_window_min": CONFIG.undo_window_min}
    return {"proposals": proposals.cards(req.conn, req.user["id"], status, limit),
            "total": proposals.count(req.conn, status, req.user["id"])}


def decide_fields(data: dict) -> dict:
    """The decide body shared by the web and the intake bridge: decision, note?, expected_version?."""
    decision = field_str(data, "decision", max_len=20)
    note = field_str(data, "note", required=False, max_len=proposals.MAX_DRAFT_CHARS)
    return {"decision": decision, "note": note, "expected_version": field_int(data, "expected_version", required=False)}


def decide(req):
    fields = decide_fields(req.json())
    if not proposals.visible_to(req.conn, int(req.params["id"]), req.user["id"]):
        raise NotFound(f"no proposal {req.params['id']}")  # private, or another's owner-only card
    return {"proposal": proposals.decide(req.conn, int(req.params["id"]), user=req.user, via="web", **fields)}


def undo(req):
    """POST /api/email/proposals/{id}/undo: take a decision back within CRM_UNDO_WINDOW_MIN (its note goes too)."""
    if not proposals.visible_to(req.conn, int(req.params["id"]), req.user["id"]):
        raise NotFound(f"no proposal {req.params['id']}")
    return {"proposal": proposals.undo(req.conn, int(req.params["id"]), user=req.user,
                                       window_min=CONFIG.undo_window_min)}


def bulk(req):
    """POST /api/email/proposals/bulk {decision: approve|reject, ids: [...]}: one confirmation, many cards."""
    data = req.json()
    decision = field_str(data, "decision", max_len=20)
    ids = data.get("ids")
    if (not isinstance(ids, list) or not 1 <= len(ids) <= MAX_BULK_IDS
            or not all(type(i) is int and 0 < i < 10 ** 12 for i in ids)):
        raise BadRequest(f"ids must be a list of 1 to {MAX_BULK_IDS} proposal ids")
    return proposals.decide_many(req.conn, list(dict.fromkeys(ids)), decision, user=req.user, via="web",
                                 still_allowed=lambda conn: _still_the_actor(conn, req), chunk=CONFIG.bulk_chunk)


def _still_the_actor(conn, req) -> bool:
    """The request's credentials still name the same active person (not deactivated, signed out, revoked or a bot)."""
    user, _ = authenticate(conn, req.headers)
    return user is not None and user["id"] == req.user["id"] and user["role"] in ("admin", "member")


def since_field(data: dict) -> str:
    """`since` as a date (YYYY-MM-DD, from its start) or a UTC timestamp (YYYY-MM-DDTHH:MM:SSZ) → stored format."""
    raw = field_str(data, "since", max_len=40).strip()
    for shape in ("%Y-%m-%d", ISO_FORMAT):
        try:
            parsed = datetime.datetime.strptime(raw, shape)
        except ValueError:
            continue
        # Not strftime: its %Y writes the year 999 as "999", which sorts after "2025" in stored text.
        return parsed.isoformat(timespec="seconds") + "Z"
    raise BadRequest("since must be a date (YYYY-MM-DD) or a UTC timestamp (YYYY-MM-DDTHH:MM:SSZ)")


def backfill(req):
    """POST /api/email/proposals/backfill {investor_id?, since} (admin): widen the proposal horizon once."""
    data = req.json()
    since = since_field(data)
    investor_id = field_int(data, "investor_id", required=False)
    if investor_id is not None and db_proposals.investor_brief(req.conn, investor_id) is None:
        raise NotFound(f"no investor {investor_id}")
    return {"since": since, "investor_id": investor_id,
            **proposals.backfill(req.conn, since, investor_id, CONFIG.workspace_domain)}


ID = r"(?P<id>[0-9]{1,12})"
WEB_ROUTES = [
    Route("GET", r"/api/email/proposals", list_proposals, require_user),
    Route("POST", rf"/api/email/proposals/{ID}/decide", decide, require_user),
    Route("POST", rf"/api/email/proposals/{ID}/undo", undo, require_user),
    Route("POST", r"/api/email/proposals/bulk", bulk, require_user),
    Route("POST", r"/api/email/proposals/backfill", backfill, require_admin),
]
