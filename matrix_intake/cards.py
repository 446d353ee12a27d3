"""What the bot says: review cards (HTML with a plain-text fallback), thread lines, and reading replies."""
from __future__ import annotations

import html
import re

APPROVE_WORDS = {"yes", "y", "approve", "approved", "ok", "okay", "lgtm", "ship it", "👍"}
REJECT_WORDS = {"no", "n", "reject", "rejected", "nope", "👎"}
APPROVE_REACTIONS = {"👍", "👍️", "👍🏻", "👍🏼", "👍🏽", "👍🏾", "👍🏿", "✅"}
REJECT_REACTIONS = {"👎", "👎️", "👎🏻", "👎🏼", "👎🏽", "👎🏾", "👎🏿", "❌"}
MAX_RECIPIENTS = 8  # a card stays well under Matrix's 64 KiB event limit
_FALLBACK = re.compile(r"^(> .*\n?)+\n?", re.M)  # the quoted "> <@user> ..." of a rich reply


def _person(p: dict | None) -> str:
    if not p:
        return ""
    return f"{p['name']} <{p['email']}>" if p.get("name") else p.get("email", "")


def drafted_line(drafted_by: str | None) -> str:
    """Who wrote the draft on the card: the model on the Spark, the CRM's own drafter, or a person."""
    if (drafted_by or "").startswith("model:"):
        return f"Drafted by the model ({drafted_by[6:]})"
    return "Edited by a person" if drafted_by == "edited" else "Drafted by the CRM"


def card_content(card: dict, crm_base_url: str, waiting: int = 0) -> dict:
    """An m.room.message for a to_post card; `waiting`: how many more proposals wait on the web page."""
    investor, email = card["investor"], card["email"]
    who = investor["name"] + (f" ({investor['firm']})" if investor.get("firm") else "")
    recipients = email.get("to") or []
    to = ", ".join(_person(p) for p in recipients[:MAX_RECIPIENTS]) + (
        f" and {len(recipients) - MAX_RECIPIENTS} more" if len(recipients) > MAX_RECIPIENTS else "")
    link = crm_base_url.rstrip("/") + card["web_url"]
    queue = crm_base_url.rstrip("/") + "/capture"
    drafted = drafted_line(card.get("drafted_by"))
    more = f"{waiting} more proposed note{'s' if waiting != 1 else ''} wait on the web: {queue}" if waiting > 0 else ""
    plain = (f"Proposed note for {who}\nFrom: {_person(email.get('from'))}\nTo: {to}\nDate: {email.get('date') or ''}\n"
             f"Subject: {email.get('subject') or ''}\n\n> {email.get('snippet') or ''}\n\nDraft note: {card['draft']}\n"
             f"({drafted})\n\n"
             f"Reply in this thread: yes to approve, no to reject, or say how to change it. {link}"
             + (f"\n{more}" if more else ""))
    e = html.escape
    formatted = (f"<p><b>Proposed note for {e(who)}</b></p>"
                 f"<p>From: {e(_person(email.get('from')))}<br>To: {e(to)}<br>Date: {e(email.get('date') or '')}<br>"
                 f"Subject: {e(email.get('subject') or '')}</p><blockquote>{e(email.get('snippet') or '')}</blockquote>"
                 f"<p><b>Draft note:</b> {e(card['draft'])}<br><i>{e(drafted)}</i></p>"
                 f"<p><i>Reply in this thread: <b>yes</b> to approve, <b>no</b> to reject, or say how to change it."
                 f"</i> <a href=\"{e(link)}\">Open in the CRM</a></p>"
                 + (f"<p>{waiting} more proposed note{'s' if waiting != 1 else ''} wait on the web: "
                    f"<a href=\"{e(queue)}\">Email Capture</a></p>" if more else ""))
    return {"msgtype": "m.text", "body": plain, "format": "org.matrix.custom.html", "formatted_body": formatted}


def thread_content(root_event_id: str, text: str, reply_to: str | None = None) -> dict:
    """A plain message in the card's thread (m.thread, with the reply fallback for older clients)."""
    return {"msgtype": "m.notice", "body": text,
            "m.relates_to": {"rel_type": "m.thread", "event_id": root_event_id, "is_falling_back": reply_to is None,
                             "m.in_reply_to": {"event_id": reply_to or root_event_id}}}


def reaction_content(event_id: str, key: str) -> dict:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}


def reply_text(content: dict) -> str:
    """The words the reviewer typed (a rich reply's quoted fallback removed)."""
    body = str(content.get("body") or "")
    if (content.get("m.relates_to") or {}).get("m.in_reply_to") and body.startswith("> "):
        body = _FALLBACK.sub("", body, count=1)
    return body.strip()


def classify(text: str) -> str:
    """'approve', 'reject' or 'edit' (anything else is an instruction for the model)."""
    words = text.strip().lower().rstrip(".!")
    if words in APPROVE_WORDS or words in APPROVE_REACTIONS:
        return "approve"
    if words in REJECT_WORDS or words in REJECT_REACTIONS:
        return "reject"
    return "edit"


def target_of(content: dict) -> str | None:
    """The event a message answers: its thread root, else the event it replies to."""
    relates = content.get("m.relates_to") or {}
    if relates.get("rel_type") == "m.thread":
        return relates.get("event_id")
    return (relates.get("m.in_reply_to") or {}).get("event_id")


def updated_line(version: int, draft: str) -> str:
    return f"The draft was updated (version {version}): “{draft}”\nReply yes to approve this version."


def decided_line(status: str, by: str | None, via: str | None) -> str:
    mark = {"approved": "✅ Approved", "rejected": "❌ Rejected"}.get(status, f"Closed ({status})")
    where = {"web": " on the web", "matrix": " here"}.get(via or "", "")
    return f"{mark}{where}{f' by {by}' if by else ''}."
