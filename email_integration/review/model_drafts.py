"""Model-written first drafts (contracts §5 v2): the intake bridge lists proposals whose draft is still the
CRM's own (`to_draft`) and takes the model's draft back (`POST …/{id}/draft`).

The model runs on the Spark, behind the bot; the CRM stays standard-library. A model draft replaces the
CRM's only while no person has touched the proposal: the update is conditional on (pending, unedited,
expected version), so a web edit or a decision that lands first wins and the model's draft gets 409.
A person still approves every note.
"""
from __future__ import annotations

import re

from backend.db import atomic
from backend.web import BadRequest, Conflict, field_int, field_str
from email_integration.capture.matcher import index_for

from . import db_drafts, db_proposals, proposals
from .drafter import email_people, named_investor

MAX_TEXT_CHARS = 4000  # the new text the model reads (quoted history and signature are already split off)
CONTEXT_MESSAGES = 3  # earlier messages of the conversation, newest first
CONTEXT_CHARS = 400  # each
MODEL_NAME = re.compile(r"^[\w.:/@+-]{1,100}$")


def _clip(text: str | None, limit: int, keep_lines: bool = False) -> str:
    """At most `limit` characters, cut at a word; whitespace folded (line breaks kept if asked)."""
    if keep_lines:
        lines = [" ".join(line.split()) for line in (text or "").splitlines()]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    else:
        text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1].rsplit(" ", 1)[0] + "…"


def _sender(row: dict) -> dict:
    return {"email": row["from_email"] or "", "name": row["from_name"] or ""}


def items(conn, limit: int, own_domain: str = "") -> list[dict]:
    """to_draft: [{id, version, investor, email, text, context, people, who}] for the bot's model, newest email
    first; `people` [{id, name, title}]: whom of the investor's people the email is with (issue 24, item 8), and
    `who` the name the CRM's own draft gives ('Leo Park (Fjord Capital)')."""
    found = []
    rows = db_drafts.to_draft(conn, limit)
    index = index_for(conn, sorted({row["investor_id"] for row in rows}), own_domain) if rows else None
    for row in rows:
        email = db_drafts.email_text(conn, row["email_id"])
        investor = db_proposals.investor_brief(conn, row["investor_id"])
        if email is None or investor is None:
            continue
        people = db_proposals.recipients(conn, [email["id"]]).get(email["id"], {})
        sent = bool(own_domain) and (email["from_email"] or "").lower().endswith("@" + own_domain.lower())
        earlier = (db_drafts.earlier_in_thread(conn, email["thread_id"], email["date"], email["id"], CONTEXT_MESSAGES)
                   if email["thread_id"] else [])
        with_them = email_people(index, row["investor_id"], _sender(email), [*people.get("to", []),
                                                                               *people.get("cc", [])])
        found.append({
            "id": row["id"], "version": row["version"], "investor": investor,
            "people": with_them, "who": named_investor({**investor, "people": with_them}),
            "email": {"id": email["id"], "from": _sender(email), "to": people.get("to", []), "cc": people.get("cc", []),
                      "date": email["date"], "subject": email["subject"], "direction": "sent" if sent else "received"},
            "text": _clip(email["body_text"] or email["snippet"], MAX_TEXT_CHARS, keep_lines=True),
            "context": [{"from": _sender(m), "date": m["date"], "text": _clip(m["body_text"] or m["snippet"],
                                                                              CONTEXT_CHARS)} for m in earlier]})
    return found


def accept(conn, proposal_id: int, data: dict) -> dict:
    """POST …/{id}/draft {draft, expected_version, model}: the model's draft replaces the CRM's (version + 1)."""
    draft = " ".join(field_str(data, "draft", max_len=proposals.MAX_DRAFT_CHARS).split())
    model = field_str(data, "model", max_len=100).strip()
    expected = field_int(data, "expected_version")
    if not MODEL_NAME.match(model):
        raise BadRequest("model must be a model name (letters, digits, . : / @ + - _)")
    with atomic(conn):
        proposal = db_proposals.get(conn, proposal_id)
        state = proposals.state_of(proposal)
        if proposal["status"] != "pending":
            raise Conflict(f"proposal already {proposal['status']}", payload={"proposal": state})
        if proposal["edited"]:
            raise Conflict("a person edited this draft; the model's draft is not used", payload={"proposal": state})
        if proposal["version"] != expected or not db_drafts.set_model_draft(conn, proposal_id, expected, draft, model):
            raise Conflict("the proposal changed since it was listed", payload={"proposal": state})
        return proposals.state_of(db_proposals.get(conn, proposal_id))
