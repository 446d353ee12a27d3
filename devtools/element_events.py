"""Event contents shaped as Element Web sends them (development only), for the bot's tests.

Shapes from the Matrix client-server spec (Threading, Rich replies, Event replacements, Event
annotations, User and room mentions) as Element fills them in: a thread message always carries
`is_falling_back: true` and an `m.in_reply_to` of the thread's latest event (for clients without
threads); a reply inside a thread sets `is_falling_back: false` and the replied-to event; every
message carries `m.mentions` (empty when nobody is mentioned) and a Reply lists the replied-to sender
there (Element's attachMentions); a mention pill is a matrix.to link in formatted_body with the display
name in body; an edit's body starts with "* ". matrix_intake/fixtures/real_client_events.json holds the
same shapes as a real client (matrix-js-sdk) sent them and Synapse served them.
"""
from __future__ import annotations

import html


def _pill(user_id: str, name: str) -> str:
    return f'<a href="https://matrix.to/#/{html.escape(user_id)}">{html.escape(name)}</a>'


def message(body: str, thread_root: str | None = None, latest: str | None = None, reply_to: str | None = None,
            mention: tuple[str, str] | None = None, reply_sender: str | None = None) -> dict:
    """A text message; in a thread (latest: the thread's newest event), as a reply (to an event of
    `reply_sender`), mentioning (user_id, name)."""
    content = {"msgtype": "m.text", "body": body, "m.mentions": {}}
    named = [reply_sender] if reply_to and reply_sender else []
    if mention:
        user_id, name = mention
        content.update(body=f"{name}: {body}", format="org.matrix.custom.html",
                       formatted_body=f"{_pill(user_id, name)}: {html.escape(body)}")
        named.append(user_id)
    if named:
        content["m.mentions"] = {"user_ids": list(dict.fromkeys(named))}
    if thread_root:
        content["m.relates_to"] = {"rel_type": "m.thread", "event_id": thread_root,
                                   "is_falling_back": reply_to is None,
                                   "m.in_reply_to": {"event_id": reply_to or latest or thread_root}}
    elif reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content


def legacy_reply(body: str, reply_to: str, quoted_sender: str, quoted: str) -> dict:
    """A rich reply with the quoted fallback older Element versions sent (removed by MSC2781)."""
    return {"msgtype": "m.text", "body": f"> <{quoted_sender}> {quoted}\n\n{body}", "format": "org.matrix.custom.html",
            "formatted_body": f"<mx-reply><blockquote>{html.escape(quoted)}</blockquote></mx-reply>{html.escape(body)}",
            "m.relates_to": {"m.in_reply_to": {"event_id": reply_to}}, "m.mentions": {"user_ids": [quoted_sender]}}


def edit(original: str, new_body: str) -> dict:
    """An edit (m.replace) of `original`; the new content carries no relation of its own."""
    return {"msgtype": "m.text", "body": f"* {new_body}", "m.mentions": {},
            "m.new_content": {"msgtype": "m.text", "body": new_body, "m.mentions": {}},
            "m.relates_to": {"rel_type": "m.replace", "event_id": original}}


def reaction(event_id: str, key: str) -> dict:
    """A reaction; Element's quick 👍 is "👍️" (with U+FE0F), a skin tone comes from the emoji picker."""
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
