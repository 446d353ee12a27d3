"""Reading room events as Element sends them (pure functions; Matrix client-server spec v1.x):

* a thread message: `m.relates_to: {rel_type: "m.thread", event_id: ROOT, is_falling_back: true,
  m.in_reply_to: {event_id: LATEST}}`; the in-reply-to is only a fallback for clients without
  threads unless `is_falling_back` is false/absent, which is how Element marks a real reply
  inside a thread (spec "Threading", "Fallback for unthreaded clients");
* a rich reply: `m.relates_to: {m.in_reply_to: {event_id}}`, possibly with the older quoted
  fallback (`> <@user> …` in body, `<mx-reply>` in formatted_body) that MSC2781 removed; Element names
  the replied-to sender in `m.mentions` (so every Reply to the bot "mentions" it), and a Reply to a
  thread root once the thread exists carries `is_falling_back: false` without any `rel_type`;
* a rich reply from a client without threads to an event that is itself in a thread belongs to that
  thread (spec "Threading", "Fallback for unthreaded clients": such replies can be treated as threaded);
* an edit: `body: "* new"` (" * new" before 2022), `m.new_content: {body: "new"}`, `m.relates_to: {rel_type: "m.replace",
  event_id: ORIGINAL}` (spec "Event replacements"; the new content carries no thread relation);
* a reaction: `m.reaction` with `m.relates_to: {rel_type: "m.annotation", event_id, key}`, the key
  as typed, often with U+FE0F or a skin tone (Element's quick 👍 is "👍️");
* a mention: `m.mentions: {user_ids: [...]}` and a matrix.to pill in formatted_body (spec
  "User and room mentions"; MSC3952).
"""
from __future__ import annotations

import re
from typing import NamedTuple

# The quoted event of a legacy rich reply (spec "Rich replies": clients strip <mx-reply> and its content first).
_MX_REPLY = re.compile(r"^\s*<mx-reply>.*</mx-reply>", re.S | re.I)
_PILL = re.compile(r"matrix\.to/#/(@[^\"'<>?/\s]+)")


class Relation(NamedTuple):
    kind: str | None  # "thread" | "reply" | "replace" | "annotation" | None (a plain message)
    target: str | None  # thread root, replied-to event, edited event, reacted-to event
    reply_to: str | None = None  # a real reply (not a thread's fallback) to this event
    key: str = ""  # a reaction's key


def relation(content: dict) -> Relation:
    relates = content.get("m.relates_to") or {}
    rel_type = relates.get("rel_type")
    in_reply_to = (relates.get("m.in_reply_to") or {}).get("event_id")
    if rel_type == "m.thread":
        return Relation("thread", relates.get("event_id"), None if relates.get("is_falling_back") else in_reply_to)
    if rel_type == "m.replace":
        return Relation("replace", relates.get("event_id"))
    if rel_type == "m.annotation":
        return Relation("annotation", relates.get("event_id"), key=str(relates.get("key") or ""))
    if in_reply_to:
        return Relation("reply", in_reply_to, in_reply_to)
    return Relation(None, None)


def without_reply_fallback(body: str) -> str:
    """A rich reply's body without the quoted fallback older clients put first (spec "Rich replies", removed by
    MSC2781): lines starting with "> ", the first "> <@sender> …", then one blank line. A quote the reviewer typed
    ("> the draft says…" without that shape) is kept, as ruma's and the spec's stripping keep it."""
    if not body.startswith("> <"):
        return body
    lines = body.split("\n")
    quoted = next((i for i, line in enumerate(lines) if not line.startswith(">")), len(lines))
    if quoted < len(lines) and lines[quoted] == "":
        return "\n".join(lines[quoted + 1:])
    return body


def text(content: dict) -> str:
    """The words typed: an edit's new text, a rich reply's quoted fallback removed."""
    if (content.get("m.relates_to") or {}).get("rel_type") == "m.replace":
        content = content.get("m.new_content") or {}
    body = str(content.get("body") or "")
    if (content.get("m.relates_to") or {}).get("m.in_reply_to"):
        body = without_reply_fallback(body)
    return body.strip()


def _typed(content: dict) -> dict:
    """The content a person typed: an edit's new content; the formatted body without a quoted reply fallback."""
    if (content.get("m.relates_to") or {}).get("rel_type") == "m.replace":
        content = content.get("m.new_content") or content
    formatted = _MX_REPLY.sub("", str(content.get("formatted_body") or ""), count=1)
    return {**content, "formatted_body": formatted}


def named(content: dict) -> set[str]:
    """Everyone the message names: intentional mentions, and matrix.to pills in what was typed (a link inside
    the quoted fallback of a legacy reply names nobody: it is the replied-to event's text)."""
    content = _typed(content)
    listed = set((content.get("m.mentions") or {}).get("user_ids") or [])
    return listed | {pill.replace("%40", "@") for pill in _PILL.findall(content["formatted_body"])}


def mentions(content: dict, user_id: str) -> bool:
    """The message mentions `user_id` (intentional mentions, or a pill linking to it)."""
    return user_id in named(content)


def others_mentioned(content: dict, user_id: str, sender: str) -> bool:
    """The message mentions someone besides `user_id` (and its sender): it is addressed to them too."""
    return bool(named(content) - {user_id, sender})


def without_name(words: str, user_id: str, display_name: str = "") -> str:
    """The message without a leading mention of the bot ("intakebot: shorter", "@intakebot:s shorter")."""
    names = [re.escape(user_id.lstrip("@")), re.escape(user_id.split(":")[0].lstrip("@"))]
    if display_name:
        names.append(re.escape(display_name))
    return re.sub(rf"^\s*@?(?:{'|'.join(names)})\b[\s:,]*", "", words, flags=re.I).strip()


def encryption_in(events: list[dict]) -> bool:
    """Any m.room.encryption state event among these (spec "End-to-end encryption": state key "")."""
    return any(e.get("type") == "m.room.encryption" and "state_key" in e for e in events)


def redacted_ids(events: list[dict]) -> set[str]:
    """The events these redactions take back (`redacts` is in content from room version 11, top-level before)."""
    return {e.get("redacts") or (e.get("content") or {}).get("redacts") for e in events
            if e.get("type") == "m.room.redaction"} - {None}
