"""The CRM→Matrix bridge, CRM side (contracts §5 "Intake bridge"): the intake bot pulls work-lists
and reports back; bot or admin only. The bot relays a human's decision and names them (`actor`)."""
from __future__ import annotations

import datetime as _dt
import re

from backend.auth import require_bot_or_admin
from backend.db import ISO_FORMAT, atomic, iso_after
from backend.web import BadRequest, Conflict, NotFound, Route, field_str, query_int
from email_integration.config import CONFIG

from . import db_intake, db_proposals, meeting_cards, model_drafts, proposals
from .proposal_routes import decide_fields

# Matrix identifiers: room ids "!opaque:server" ("!opaque" from room version 12), event ids "$opaque[:server]".
ROOM_ID = re.compile(r"^![^\s]+$")
EVENT_ID = re.compile(r"^\$\S+$")
KIND = "email"  # contracts §7 v3: every work-list item says what it is about, "email" or "meeting"


def web_url(proposal_id: int) -> str:
    return f"/capture#proposal-{proposal_id}"


def work_lists(req):
    """The bot's work: at most CRM_INTAKE_MAX_OPEN_CARDS cards open in the room (to_post fills the free
    places, newest email first), the open ones, decided ones to close, how many more wait on the web, and
    the proposals whose draft is still the CRM's own for the model to draft (to_draft)."""
    limit = query_int(req.query, "limit", 50, 1, 500)
    free = max(0, CONFIG.intake_max_open_cards - db_intake.open_count(req.conn))
    # A card waits up to CRM_INTAKE_DRAFT_WAIT_SEC for the model's draft: the room never shows a draft about to change.
    settled_before = iso_after(-CONFIG.intake_draft_wait_sec)
    ids = db_intake.unposted_ids(req.conn, min(limit, free), settled_before) if free else []
    to_post = []
    if ids:
        rows = db_proposals.list_cards(req.conn, "pending", len(ids), ids=ids)
        people = db_proposals.recipients(req.conn, [r["email_id"] for r in rows])
        found = [proposals.card(row, people.get(row["email_id"], {})) for row in rows]
        found += meeting_cards.cards(req.conn, "pending", len(ids), ids=ids)
        order = {proposal_id: n for n, proposal_id in enumerate(ids)}  # newest email or meeting first
        for card in sorted(found, key=lambda c: order[c["id"]]):
            for web_only in ("status", "created_at", "owner_only", "thread_id", "holder", "teammates"):
                card.pop(web_only, None)  # owner_only is always false here: only room-safe cards are posted
            card["web_url"] = web_url(card["id"])
            to_post.append(card)
    lists = {"to_post": to_post, "open": db_intake.open_cards(req.conn), "to_close": db_intake.cards_to_close(req.conn),
             "to_draft": model_drafts.items(req.conn, limit, CONFIG.workspace_domain)}
    for items in lists.values():
        for item in items:
            item.setdefault("kind", KIND)
    return {**lists, "waiting": db_intake.unposted_count(req.conn) - len(to_post)}


def not_in_room() -> NotFound:
    """The bot's one 404 (issue 22): a proposal hidden from the room (private, narrowed, Bcc'd) and one that
    never existed get the same bytes (no id in it either), so the bot cannot probe ids for hidden mail."""
    return NotFound("no such proposal in the review room")


def _proposal(req, closing: bool = False) -> dict:
    """The proposal as the bot may see it: one not safe for the room (private conversation, a mailbox's
    narrowed visibility), pending or decided, exists for the bot only to be closed. Decided ones too: a
    409 on decide/draft/posted carries the draft, drawn from mail the bot may not read."""
    found = db_proposals.get(req.conn, int(req.params["id"]))
    if found is None or found["status"] == "superseded" and not db_intake.side_row(req.conn, found["id"]):
        raise not_in_room()
    if not closing and not proposals.room_safe(req.conn, found["id"]):
        raise not_in_room()
    return found


def posted(req):
    data = req.json()
    room_id, event_id = field_str(data, "room_id", max_len=255), field_str(data, "event_id", max_len=255)
    if not ROOM_ID.match(room_id) or not EVENT_ID.match(event_id):
        raise BadRequest("room_id and event_id must be Matrix ids (!room, $event)")
    with atomic(req.conn):
        proposal = _proposal(req)
        existing = db_intake.side_row(req.conn, proposal["id"])
        if existing:
            if existing["event_id"] == event_id and existing["room_id"] == room_id:
                return {"posted": existing}  # the same report twice (a retry): fine
            raise Conflict("this proposal's card was already posted as another event", payload={"posted": existing})
        db_intake.record_posted(req.conn, proposal["id"], room_id, event_id, proposal["version"])
        return {"posted": db_intake.side_row(req.conn, proposal["id"])}


def decided_ago(state: dict) -> dict:
    """{"decided_ago_sec": N} for a decided proposal (the CRM's clock, so the bot needs none): how the room says
    "Already approved by @ann 3 s ago"."""
    if state.get("status") not in ("approved", "rejected") or not state.get("decided_at"):
        return {}
    decided = _dt.datetime.strptime(state["decided_at"], ISO_FORMAT).replace(tzinfo=_dt.timezone.utc)
    return {"decided_ago_sec": max(0, int((_dt.datetime.now(_dt.timezone.utc) - decided).total_seconds()))}


def proposal_state(req):
    """GET …/{id}: the proposal's state, for the bot to answer a reply to a card no longer open."""
    state = proposals.state_of(_proposal(req))
    return {"proposal": state, **decided_ago(state)}


def decide(req):
    data = req.json()
    actor = field_str(data, "actor", max_len=255)
    fields = decide_fields(data)
    _proposal(req)
    try:
        return {"proposal": proposals.decide(req.conn, int(req.params["id"]), user=req.user, via="matrix",
                                             actor=actor, **fields)}
    except Conflict as conflict:  # who decided it, and how long ago, for the reviewer who lost the race
        conflict.payload = {**(conflict.payload or {}), **decided_ago((conflict.payload or {}).get("proposal") or {})}
        raise


def draft(req):
    """The model's first draft (the bot on the Spark); 409 once a person edited or decided the proposal."""
    data = req.json()
    return {"proposal": model_drafts.accept(req.conn, _proposal(req)["id"], data)}


def closed(req):
    with atomic(req.conn):
        proposal = _proposal(req, closing=True)
        if db_intake.side_row(req.conn, proposal["id"]) is None:
            raise not_in_room()  # never posted: as unknown to the bot as an id that never was
        if proposal["status"] == "pending" and proposals.room_safe(req.conn, proposal["id"]):
            raise Conflict("the proposal is still pending", payload={"proposal": proposals.state_of(proposal)})
        db_intake.record_closed(req.conn, proposal["id"])
        return {"closed": db_intake.side_row(req.conn, proposal["id"])}


ID = r"(?P<id>[0-9]{1,12})"
INTAKE_ROUTES = [
    Route("GET", r"/api/intake/email-proposals", work_lists, require_bot_or_admin),
    Route("GET", rf"/api/intake/email-proposals/{ID}", proposal_state, require_bot_or_admin),
    Route("POST", rf"/api/intake/email-proposals/{ID}/posted", posted, require_bot_or_admin),
    Route("POST", rf"/api/intake/email-proposals/{ID}/decide", decide, require_bot_or_admin),
    Route("POST", rf"/api/intake/email-proposals/{ID}/draft", draft, require_bot_or_admin),
    Route("POST", rf"/api/intake/email-proposals/{ID}/closed", closed, require_bot_or_admin),
]
