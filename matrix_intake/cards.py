"""What the bot says: review cards (HTML with a plain-text fallback) and thread lines.

Every message carries `"m.mentions": {}`: with it, servers and clients apply only intentional
mentions (spec "User and room mentions", MSC3952), so a name or "@room" inside an email pings nobody.
A card stays far below Matrix's 64 KiB event limit: every field an email controls is cut.
"""
from __future__ import annotations

import html

MAX_RECIPIENTS = 8
# Caps on what an email controls (characters); a card's JSON stays under ~16 KiB whatever the email holds.
MAX_SUBJECT, MAX_SNIPPET, MAX_DRAFT, MAX_NAME = 300, 1200, 2000, 200
NO_MENTIONS = {"m.mentions": {}}


def cut(text, limit: int) -> str:
    """At most `limit` characters, an ellipsis marking a cut."""
    text = str(text or "")
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def quote(draft) -> str:
    """A draft quoted in a thread line (cut like the card's)."""
    return f"“{cut(draft, MAX_DRAFT)}”"


def _person(p: dict | None) -> str:
    if not p:
        return ""
    return cut(f"{p['name']} <{p['email']}>" if p.get("name") else p.get("email", ""), MAX_NAME)


def drafted_line(drafted_by: str | None) -> str:
    """Who wrote the draft on the card: the model on the Spark, the CRM's own drafter, or a person."""
    if (drafted_by or "").startswith("model:"):
        return f"Drafted by the model ({drafted_by[6:]})"
    return "Edited by a person" if drafted_by == "edited" else "Drafted by the CRM"


def context_of(card: dict) -> str:
    """What the model revising a draft may read of the card's source: the email's snippet, or the meeting's title
    and description (the CRM posts only meetings every teammate may see in full)."""
    if card.get("kind") == "meeting":
        meeting = card.get("meeting") or {}
        return "\n".join(part for part in (meeting.get("title"), meeting.get("description")) if part)
    return (card.get("email") or {}).get("snippet") or ""


def _who(investor: dict) -> str:
    return cut(investor["name"] + (f" ({investor['firm']})" if investor.get("firm") else ""), MAX_NAME)


def _footer(card: dict, crm_base_url: str, waiting) -> tuple[str, str, str]:
    """(link, the plain "N more waiting" line or "", its HTML) shared by both kinds of card."""
    base = crm_base_url.rstrip("/")
    more = f"{waiting} more waiting on the web: {base}/capture" if isinstance(waiting, int) and waiting > 0 else ""
    more_html = (f"<p>{waiting} more waiting on the web: <a href=\"{html.escape(base)}/capture\">Email Capture</a></p>"
                 if more else "")
    return base + card["web_url"], more, more_html


_REPLY_PLAIN = "Reply in this thread: yes to approve, no to reject, or edit: what to change."
_REPLY_HTML = ("<p><i>Reply in this thread: <b>yes</b> to approve, <b>no</b> to reject, or <b>edit:</b> what to "
               "change.</i> <a href=\"{link}\">Open in the CRM</a></p>")


def meeting_content(card: dict, crm_base_url: str, waiting: int | None = None) -> dict:
    """An m.room.message for a meeting card: the investor, the meeting (when, title, who), its description, the
    draft. Only meetings every teammate may see in full reach the room (the CRM's rule)."""
    meeting = card.get("meeting") or {}
    who, draft = _who(card["investor"]), cut(card["draft"], MAX_DRAFT)
    title, about = cut(meeting.get("title") or "", MAX_SUBJECT), cut(meeting.get("description") or "", MAX_SNIPPET)
    when = cut(f"{meeting.get('start') or ''} – {meeting.get('end') or ''}", 80)
    attendees = meeting.get("attendees") or []
    met = ", ".join(_person(p) for p in attendees[:MAX_RECIPIENTS]) + (
        f" and {len(attendees) - MAX_RECIPIENTS} more" if len(attendees) > MAX_RECIPIENTS else "")
    link, more, more_html = _footer(card, crm_base_url, waiting)
    drafted = drafted_line(card.get("drafted_by"))
    plain = (f"Proposed note for {who} (a meeting)\nWhen: {when}\nMeeting: {title}\nWith: {met}\n"
             + (f"\n> {about}\n" if about else "") + f"\nDraft note: {draft}\n({drafted})\n\n{_REPLY_PLAIN} {link}"
             + (f"\n{more}" if more else ""))
    e = html.escape
    formatted = (f"<p><b>Proposed note for {e(who)}</b> (a meeting)</p>"
                 f"<p>When: {e(when)}<br>Meeting: {e(title)}<br>With: {e(met)}</p>"
                 + (f"<blockquote>{e(about)}</blockquote>" if about else "")
                 + f"<p><b>Draft note:</b> {e(draft)}<br><i>{e(drafted)}</i></p>" + _REPLY_HTML.format(link=e(link))
                 + more_html)
    return {"msgtype": "m.text", "body": plain, "format": "org.matrix.custom.html", "formatted_body": formatted,
            **NO_MENTIONS}


def card_content(card: dict, crm_base_url: str, waiting: int | None = None) -> dict:
    """An m.room.message for a to_post card; `waiting`: pending cards the CRM keeps off the room."""
    if card.get("kind") == "meeting":
        return meeting_content(card, crm_base_url, waiting)
    investor, email = card["investor"], card["email"]
    who = _who(investor)
    subject, snippet, draft = (cut(email.get("subject"), MAX_SUBJECT), cut(email.get("snippet"), MAX_SNIPPET),
                               cut(card["draft"], MAX_DRAFT))
    recipients = email.get("to") or []
    to = ", ".join(_person(p) for p in recipients[:MAX_RECIPIENTS]) + (
        f" and {len(recipients) - MAX_RECIPIENTS} more" if len(recipients) > MAX_RECIPIENTS else "")
    link, more, more_html = _footer(card, crm_base_url, waiting)
    date = cut(email.get("date"), 64)
    drafted = drafted_line(card.get("drafted_by"))
    plain = (f"Proposed note for {who}\nFrom: {_person(email.get('from'))}\nTo: {to}\nDate: {date}\n"
             f"Subject: {subject}\n\n> {snippet}\n\nDraft note: {draft}\n({drafted})\n\n{_REPLY_PLAIN} {link}"
             + (f"\n{more}" if more else ""))
    e = html.escape
    formatted = (f"<p><b>Proposed note for {e(who)}</b></p>"
                 f"<p>From: {e(_person(email.get('from')))}<br>To: {e(to)}<br>Date: {e(date)}<br>"
                 f"Subject: {e(subject)}</p><blockquote>{e(snippet)}</blockquote>"
                 f"<p><b>Draft note:</b> {e(draft)}<br><i>{e(drafted)}</i></p>" + _REPLY_HTML.format(link=e(link))
                 + more_html)
    return {"msgtype": "m.text", "body": plain, "format": "org.matrix.custom.html", "formatted_body": formatted,
            **NO_MENTIONS}


def thread_content(root_event_id: str, text: str, reply_to: str | None = None) -> dict:
    """A plain message in the card's thread (m.thread, with the reply fallback for older clients)."""
    return {"msgtype": "m.notice", "body": text, **NO_MENTIONS,
            "m.relates_to": {"rel_type": "m.thread", "event_id": root_event_id, "is_falling_back": reply_to is None,
                             "m.in_reply_to": {"event_id": reply_to or root_event_id}}}


def reaction_content(event_id: str, key: str) -> dict:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}


def updated_line(version: int, draft: str) -> str:
    return f"The draft was updated (version {version}): {quote(draft)}\nReply yes to approve this version."


def decided_line(status: str, by: str | None, via: str | None) -> str:
    mark = {"approved": "✅ Approved", "rejected": "❌ Rejected",
            # The CRM withdrew the card: its conversation went private, its email is gone, or its mailbox's
            # owner keeps that mail from teammates (then the owner decides it on the web). Nothing more is said.
            "superseded": "🚫 Withdrawn from the review room", "withdrawn": "🚫 Withdrawn from the review room",
            }.get(status, f"Closed ({status})")
    where = {"web": " on the web", "matrix": " here"}.get(via or "", "")
    return f"{mark}{where}{f' by {by}' if by else ''}."


def words_of(text: str) -> str:
    """A reviewer's message quoted in a thread line, cut short ("your “no” changed nothing")."""
    return f"“{cut(' '.join(str(text or '').split()), 80)}”"


def ago(seconds) -> str:
    """'just now', '3 s ago', '2 min ago', '5 h ago', '3 days ago'; '' when unknown."""
    if not isinstance(seconds, (int, float)) or seconds < 0:
        return ""
    seconds = int(seconds)
    if seconds < 1:
        return "just now"
    for size, unit in ((86400, " days"), (3600, " h"), (60, " min")):
        if seconds >= size:
            count = seconds // size
            return f"{count}{' day' if unit == ' days' and count == 1 else unit} ago"
    return f"{seconds} s ago"


def already_line(proposal: dict, seconds_ago, what: str) -> str:
    """The one line for a decision on a card already decided (a lost race, a late reply): who decided it, where,
    how long ago, and that `what` (the reviewer's words, or their reaction) changed nothing."""
    verb = {"approved": "approved", "rejected": "rejected"}.get(proposal.get("status"))
    if verb is None:  # withdrawn for privacy, superseded, gone: nothing more is said (contracts §5)
        return f"This card was withdrawn from the review room; your {what} changed nothing."
    where = {"web": " on the web", "matrix": " here"}.get(proposal.get("decided_via") or "", "")
    by = proposal.get("decided_by")
    when = ago(seconds_ago)
    return f"Already {verb}{where}{f' by {by}' if by else ''}{f' {when}' if when else ''}; your {what} changed nothing."
