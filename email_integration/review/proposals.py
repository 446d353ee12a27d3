"""Proposed grid notes: which emails deserve one, the drafter, and the decision every surface shares.

A human approves every write: approve writes exactly one grid note, reject none, edit replaces
the draft (version + 1). Decisions are conditional updates on (status = pending, version), so
of any number of simultaneous decisions exactly one wins; the others get Conflict (409) with
the proposal's current state.
"""
from __future__ import annotations

import datetime
import re

from backend.audit_db import audit
from backend.db import ISO_FORMAT, atomic, iso_after, now_iso
from backend.investors_db import add_grid_note, bump_last_contact, delete_note
from backend.web import BadRequest, Conflict, Forbidden, NotFound
from email_integration.capture.ingest import is_internal_only
from email_integration.capture.matcher import index_for
from email_integration.privacy.db_visibility import is_private

from . import db_drafts, db_intake, db_meeting_cards, db_proposals, meeting_cards
from .drafter import draft_note, email_people

MAX_DRAFT_CHARS = 2000
DECISIONS = ("approve", "reject", "edit")
# Mail no person wrote for this person (RFC 3834 Auto-Submitted, RFC 2369 List-*, Precedence).
_NOREPLY = re.compile(r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer-daemon|postmaster|notifications?|"
                      r"bounces?|calendar-notification)([+@]|$)", re.I)
_CALENDAR_SUBJECT = re.compile(r"^(accepted|declined|tentative(ly accepted)?|updated invitation|invitation|"
                               r"automatic reply|out of office|auto[- ]?reply)\b", re.I)


def automated_reason(headers: dict, parsed: dict) -> str | None:
    """Why this message was not written by a person for a person (None when it was)."""
    if headers.get("list-unsubscribe") or headers.get("list-id"):
        return "mailing list"
    if headers.get("precedence", "").strip().lower() in ("bulk", "list", "junk"):
        return "bulk mail"
    auto = headers.get("auto-submitted", "").strip().lower()
    if auto and auto != "no":
        return "auto-submitted"
    if headers.get("x-autoreply") or headers.get("x-autorespond"):
        return "auto-reply"
    sender = (parsed.get("from") or {}).get("email", "")
    if _NOREPLY.match(sender):
        return "no-reply sender"
    if _CALENDAR_SUBJECT.match(parsed.get("subject") or "") or any(
            (a.get("mime_type") or "").startswith("text/calendar") for a in parsed.get("attachments") or []):
        return "calendar"
    return None


# The pluggable drafter: (parsed, investor, own_domain) -> str. A model on the Spark may replace its draft
# later (the intake bridge's to_draft); this one is what stands when no model does.
DRAFTER = draft_note


def propose(conn, email_id: int, thread_id: int, parsed: dict, headers: dict, links: list, investors: dict,
            own_domain: str, horizon: str = "") -> list[int]:
    """Create or refresh pending proposals for an email whose content was just stored (caller's transaction).

    Called once per email (when its body is first kept), so it never proposes the same email twice.
    Mail dated before `horizon` drafts nothing now; it is remembered for an admin's backfill."""
    if not links or automated_reason(headers, parsed) or is_internal_only(parsed, own_domain):
        return []
    if is_private(conn, thread_id):
        return []  # a private conversation never reaches the review room or /capture
    date = parsed.get("date") or ""
    wanted = [investor_id for investor_id, _strategy, _address in links if investors.get(investor_id)]
    if horizon and date and date < horizon:
        db_proposals.defer(conn, email_id, wanted, date)
        return []
    touched = [propose_one(conn, email_id, thread_id, parsed, i, investors[i], own_domain) for i in wanted]
    return [proposal_id for proposal_id in touched if proposal_id is not None]


def propose_one(conn, email_id: int, thread_id: int, parsed: dict, investor_id: int, investor: dict,
                own_domain: str) -> int | None:
    """One conversation and investor: a new card, a refreshed one (a newer message), or None."""
    date = parsed.get("date") or ""
    pending = db_proposals.pending_for(conn, thread_id, investor_id)
    if pending:
        if (pending["email_date"] or "") > date:
            return None  # the card already shows a newer message
        draft = None if pending["edited"] else DRAFTER(parsed, investor, own_domain)
        db_proposals.refresh(conn, pending["id"], email_id, draft)
        return pending["id"]
    decided = db_proposals.latest_decided_date(conn, thread_id, investor_id)
    if decided and decided >= date:
        return None  # a human already decided on this conversation at a newer message
    return db_proposals.insert(conn, investor_id, thread_id, email_id, DRAFTER(parsed, investor, own_domain))


def stored_parsed(row: dict, recipients: dict) -> dict:
    """What the drafter reads, from a stored email row (from_email, from_name, date, subject, body_text) and
    its db_proposals.recipients entry."""
    return {"from": {"email": row["from_email"] or "", "name": row["from_name"] or ""},
            "to": recipients.get("to", []), "cc": recipients.get("cc", []), "date": row["date"],
            "subject": row["subject"], "body_text": row["body_text"]}


def naming(index, investor_id: int, investor: dict, parsed: dict) -> dict:
    """The investor brief the drafter names: with `people`, whom of its people the email is with (issue 24,
    item 8; drafter.email_people), when it is with any."""
    with_them = email_people(index, investor_id, parsed.get("from"), [*(parsed.get("to") or []),
                                                                      *(parsed.get("cc") or [])])
    return {**investor, "people": with_them} if with_them else investor


def backfill(conn, since: str, investor_id: int | None, own_domain: str) -> dict:
    """The admin widens the horizon once: draft the cards held back for mail dated from `since` on
    (one investor's, or everyone's). Oldest first, so a conversation's card ends on its newest message."""
    with atomic(conn):
        rows = db_proposals.deferred(conn, since, investor_id)
        touched = set()
        index = index_for(conn, sorted({row["investor_id"] for row in rows}), own_domain) if rows else None
        recipients = db_proposals.recipients(conn, sorted({row["email_id"] for row in rows}))
        for row in rows:
            if is_private(conn, row["thread_id"]):
                continue  # made private since: never a card
            parsed = stored_parsed(row, recipients[row["email_id"]])
            investor = naming(index, row["investor_id"], {"name": row["investor_name"], "firm": row["investor_firm"]},
                              parsed)
            found = propose_one(conn, row["email_id"], row["thread_id"], parsed, row["investor_id"], investor,
                                own_domain)
            if found is not None:
                touched.add(found)
        db_proposals.forget_deferred(conn, since, investor_id)
    return {"emails": len({row["email_id"] for row in rows}), "proposals": len(touched)}


def redraft_for_people(conn, investor_id: int, own_domain: str) -> int:
    """The investor's people changed (issue 24, item 8): its pending cards that still hold the CRM's own draft
    are drafted again, naming the person their email is with now; a changed draft bumps the version (a
    decision made on the old one gets 409). Returns how many changed."""
    changed = 0
    with atomic(conn):
        rows = db_drafts.crm_drafted_pending(conn, investor_id)
        investor = db_proposals.investor_brief(conn, investor_id)
        if not rows or investor is None:
            return 0
        index = index_for(conn, [investor_id], own_domain)
        recipients = db_proposals.recipients(conn, [r["email_id"] for r in rows])
        for row in rows:
            email = db_drafts.email_text(conn, row["email_id"])
            if email is None:
                continue
            parsed = stored_parsed(email, recipients[row["email_id"]])
            draft = DRAFTER(parsed, naming(index, investor_id, investor, parsed), own_domain)
            if draft != row["draft"]:
                db_proposals.refresh(conn, row["id"], row["email_id"], draft)
                changed += 1
    return changed


def state_of(proposal: dict) -> dict:
    return {k: proposal[k] for k in ("id", "status", "version", "draft", "drafted_by", "decided_by", "decided_via",
                                     "decided_at", "note_id")}


def decide(conn, proposal_id: int, decision: str, *, user: dict, via: str, actor: str | None = None,
           note: str | None = None, expected_version: int | None = None) -> dict:
    """Apply one decision; returns the proposal's new state. NotFound, BadRequest or Conflict (409)."""
    if decision not in DECISIONS:
        raise BadRequest("decision must be approve, reject or edit")
    if note is not None:
        note = note.strip()
        if not note:
            raise BadRequest("note must not be empty")
        if len(note) > MAX_DRAFT_CHARS:
            raise BadRequest(f"note is longer than {MAX_DRAFT_CHARS} characters")
    if decision == "edit" and note is None:
        raise BadRequest("edit needs the new note")
    actor = actor or user["name"]
    with atomic(conn):  # BEGIN IMMEDIATE: deciders queue here; the conditional updates pick one winner
        proposal = db_proposals.get(conn, proposal_id)
        if proposal is None or proposal["status"] == "superseded":
            raise NotFound(f"no proposal {proposal_id}")
        if proposal["status"] != "pending":
            raise Conflict(f"proposal already {proposal['status']}", payload={"proposal": state_of(proposal)})
        version = proposal["version"] if expected_version is None else expected_version
        if version != proposal["version"]:
            raise Conflict("the proposal changed since you loaded it", payload={"proposal": state_of(proposal)})
        if decision == "edit":
            if not db_proposals.set_edited(conn, proposal_id, version, note):
                raise Conflict("the proposal changed", payload={"proposal": state_of(db_proposals.get(conn, proposal_id))})
            return state_of(db_proposals.get(conn, proposal_id))
        status = "approved" if decision == "approve" else "rejected"
        if note is not None and decision == "approve" and note != proposal["draft"]:
            db_proposals.set_edited(conn, proposal_id, version, note)
            version += 1
        if not db_proposals.set_decided(conn, proposal_id, status, version, user["id"], actor, via):
            raise Conflict("the proposal was decided elsewhere",
                           payload={"proposal": state_of(db_proposals.get(conn, proposal_id))})
        db_intake.record_decision(conn, proposal_id, via, actor)
        if decision == "approve":
            _write_note(conn, proposal_id, user)
        return state_of(db_proposals.get(conn, proposal_id))


def _write_note(conn, proposal_id: int, user: dict) -> None:
    """The approved proposal's grid note (source 'email', the integration's), dated by its email or meeting."""
    decided = db_proposals.get(conn, proposal_id)
    meeting = db_meeting_cards.meeting_of(conn, proposal_id)
    if meeting is not None:
        ref, date = f"proposal:{proposal_id} meeting:{meeting['meeting_id']}", meeting["meeting_start"]
    else:
        card = db_proposals.list_cards(conn, "approved", 1, ids=[proposal_id])[0]
        ref, date = f"proposal:{proposal_id} email:{decided['email_id']}", card["date"]
    note_id = add_grid_note(conn, decided["investor_id"], decided["draft"], "email", ref, user["id"],
                            created_at=date or None)
    db_proposals.set_note(conn, proposal_id, note_id)
    if date:
        bump_last_contact(conn, decided["investor_id"], date)


def visible_to(conn, proposal_id: int, viewer_id: int) -> bool:
    """Whether the viewer may see and decide this card: an email card's rule (db_proposals) or a meeting card's."""
    return db_proposals.visible_to(conn, proposal_id, viewer_id) or db_meeting_cards.visible_to(conn, proposal_id,
                                                                                                  viewer_id)


def room_safe(conn, proposal_id: int) -> bool:
    """Whether the card may be in the review room (an email card's rule, or a meeting card's)."""
    return db_proposals.room_safe(conn, proposal_id) or db_meeting_cards.room_safe(conn, proposal_id)


def count(conn, status: str, viewer_id: int) -> int:
    """How many cards of this status (email and meeting) the viewer may see."""
    return db_proposals.count(conn, status, viewer_id) + db_meeting_cards.count(conn, status, viewer_id)


def undo_until(proposal: dict, window_min: float) -> str | None:
    """When the decision stops being undoable (decided_at + the window), as stored timestamps are written."""
    if not proposal.get("decided_at"):
        return None
    at = datetime.datetime.strptime(proposal["decided_at"], ISO_FORMAT) + datetime.timedelta(minutes=window_min)
    return at.strftime(ISO_FORMAT)


def may_undo(proposal: dict, user: dict) -> bool:
    """Who decided it (on the web, or the bot's reviewer through the bot's user) or an admin."""
    return user["role"] == "admin" or proposal.get("decided_by_user_id") == user["id"]


def undo(conn, proposal_id: int, *, user: dict, window_min: float) -> dict:
    """Take a decision back within the window (issue 24, item 5): the card is pending again (version + 1)
    and the grid note an approve wrote is deleted with it. NotFound, Forbidden or Conflict (409)."""
    with atomic(conn):
        proposal = db_proposals.get(conn, proposal_id)
        if proposal is None or proposal["status"] == "superseded":
            raise NotFound(f"no proposal {proposal_id}")
        if proposal["status"] == "pending":
            raise Conflict("this proposal is not decided", payload={"proposal": state_of(proposal)})
        if not may_undo(proposal, user):
            raise Forbidden("only who decided it, or an admin, can undo a decision")
        if window_min <= 0 or proposal["decided_at"] < iso_after(-window_min * 60):
            raise Conflict(f"the decision can no longer be undone (the window is {window_min:g} minutes)",
                           payload={"proposal": state_of(proposal)})
        if db_proposals.pending_for(conn, proposal["thread_id"], proposal["investor_id"]):
            raise Conflict("a newer card for this conversation is pending; decide that one instead",
                           payload={"proposal": state_of(proposal)})
        if proposal["note_id"]:
            delete_note(conn, proposal["note_id"], user["id"], reason=f"undo of proposal {proposal_id}")
        db_proposals.reopen(conn, proposal_id)
        audit(conn, user["id"], "email.proposal.undo", "email_proposal", proposal_id,
              {"status": proposal["status"], "note_id": proposal["note_id"], "decided_by": proposal["decided_by"]})
        return state_of(db_proposals.get(conn, proposal_id))


BULK_CHUNK = 200  # cards per transaction: one commit per chunk, the write lock released between chunks


def decide_many(conn, ids: list[int], decision: str, *, user: dict, via: str, still_allowed=None,
                chunk: int = BULK_CHUNK) -> dict:
    """Approve or reject many proposals, each with decide()'s semantics: {decided: [ids], conflicts: [{id, proposal}]}.

    Each card is its own savepoint inside a chunk's transaction, so a card decided elsewhere in the
    meantime is reported (with its current state; null when there is no such proposal, or none the
    user may see: private, or another's owner-only card) and the others go ahead; no card is ever
    half-applied. `still_allowed(conn)` is asked at the start of every chunk, in its transaction (issue 22,
    item 9): a user deactivated, signed out or made a bot while their bulk runs decides nothing more
    (Forbidden, with what was decided before and what was not)."""
    if decision not in ("approve", "reject"):
        raise BadRequest("decision must be approve or reject")
    decided, conflicts = [], []
    for start in range(0, len(ids), chunk):
        with atomic(conn):
            if still_allowed is not None and not still_allowed(conn):
                raise Forbidden("your account or session ended during this bulk decision; the rest was not decided",
                                payload={"decided": decided, "conflicts": conflicts, "undecided": ids[start:]})
            for proposal_id in ids[start:start + chunk]:
                if not visible_to(conn, proposal_id, user["id"]):
                    conflicts.append({"id": proposal_id, "proposal": None})
                    continue
                try:
                    decide(conn, proposal_id, decision, user=user, via=via)
                    decided.append(proposal_id)
                except (Conflict, NotFound):
                    current = db_proposals.get(conn, proposal_id)
                    conflicts.append({"id": proposal_id, "proposal": state_of(current) if current else None})
    return {"decided": decided, "conflicts": conflicts}


def card(row: dict, people: dict, with_them: list | None = None) -> dict:
    """The JSON shape of a proposal for the web page and the bot (contracts §5); `with_them` (web cards): the
    investor's people the email is with, [{id, name, title}] (issue 24, item 8)."""
    extra = {} if with_them is None else {"people": with_them}
    return {**extra, "id": row["id"], "kind": "email", "version": row["version"], "status": row["status"], "draft": row["draft"],
            "drafted_by": row["drafted_by"],
            "thread_id": row["thread_id"],
            "investor": {"id": row["investor_id"], "name": row["investor_name"], "firm": row["investor_firm"]},
            "email": {"id": row["email_id"], "from": {"email": row["from_email"], "name": row["from_name"] or ""},
                      "to": people.get("to", []), "cc": people.get("cc", []), "date": row["date"],
                      "subject": row["subject"], "snippet": _snippet(row)},
            "created_at": row["created_at"], "owner_only": bool(row.get("owner_only")),
            "holder": bool(row.get("holder"))}


def _snippet(row: dict, limit: int = 300) -> str:
    text = " ".join((row.get("body_text") or row.get("snippet") or "").split())
    return text if len(text) <= limit else text[:limit - 1].rsplit(" ", 1)[0] + "…"


def with_decision(card_json: dict, row: dict, user: dict, window_min: float) -> dict:
    """A decided card for the "Decided" view: who decided, when, and until when it can be undone."""
    until = undo_until(row, window_min)
    return {**card_json, "decision": {"status": row["status"], "at": row["decided_at"], "by": row["decided_by"],
                                      "via": row["decided_via"], "note_id": row["note_id"], "undo_until": until,
                                      "can_undo": bool(until and until > now_iso() and may_undo(row, user))}}


def card_people(conn, rows: list, recipients: dict) -> dict[int, list[dict]]:
    """{proposal id: [{id, name, title}]}: whom of its investor's people each card's email is with."""
    if not rows:
        return {}
    index = index_for(conn, sorted({r["investor_id"] for r in rows}))
    found = {}
    for r in rows:
        people = recipients.get(r["email_id"], {})
        sender = {"email": r["from_email"] or "", "name": r["from_name"] or ""}
        found[r["id"]] = email_people(index, r["investor_id"], sender, [*people.get("to", []), *people.get("cc", [])])
    return found


def decided_cards(conn, user: dict, window_min: float, limit: int = 50) -> list[dict]:
    rows = db_proposals.list_cards(conn, "decided", limit, viewer_id=user["id"])
    email_ids = [r["email_id"] for r in rows]
    people = db_proposals.recipients(conn, email_ids)
    with_them = card_people(conn, rows, people)
    found = [(r, card(r, people.get(r["email_id"], {}), with_them[r["id"]])) for r in rows]
    found += meeting_cards.rows_and_cards(conn, "decided", limit, viewer_id=user["id"])
    found.sort(key=lambda pair: (pair[0]["decided_at"] or "", pair[0]["id"]), reverse=True)
    return [with_decision(shown, r, user, window_min) for r, shown in found[:limit]]


def cards(conn, viewer_id: int, status: str = "pending", limit: int = 1000, ids=None) -> list[dict]:
    """The cards `viewer_id` may see (db_visibility), newest email first: owner-only ones carry owner_only =
    true; each lists the teammates whose mailbox holds its email (the page's teammate filter)."""
    rows = db_proposals.list_cards(conn, status, limit, ids=ids, viewer_id=viewer_id)
    email_ids = [r["email_id"] for r in rows]
    people, holders = db_proposals.recipients(conn, email_ids), db_proposals.holders(conn, email_ids)
    with_them = card_people(conn, rows, people)
    found = [{**card(r, people.get(r["email_id"], {}), with_them[r["id"]]), "teammates": holders.get(r["email_id"], [])}
             for r in rows]
    found += meeting_cards.cards(conn, status, limit, ids, viewer_id)
    found.sort(key=lambda c: (card_date(c), c["id"]), reverse=True)  # newest email or meeting first
    return found[:limit]


def card_date(shown: dict) -> str:
    """When the card's email was sent or its meeting started (what the lists order by)."""
    return (shown["meeting"]["start"] if shown.get("kind") == "meeting" else shown["email"]["date"]) or ""
