"""Gmail users.messages resource (format full/metadata) → a flat, decoded CRM message dict; never raises."""
from __future__ import annotations

import base64
import binascii
import email.message
import email.utils
import html
import mimetypes
import re

from .headers import (collapse, decode_bytes, decode_header, internal_date_iso, message_ids, parse_addresses,
                      parse_date, strip_bidi, unsurrogate)
from .html_text import html_to_text, split_reply

KEYS = ("gmail_id", "gmail_thread_id", "history_id", "label_ids", "size_estimate", "internal_date",
        "message_id", "in_reply_to", "references", "subject", "from", "to", "cc", "bcc", "reply_to", "on_behalf",
        "date", "date_source", "body_text", "quoted_text", "signature", "body_html", "html_available",
        "snippet", "attachments", "problems")
SNIPPET_CHARS = 200
MAX_DEPTH = 64
MAX_PARAMS_CHARS = 16384
MAX_PROBLEMS = 50
_TEXT_TYPES = ("text/plain", "text/html")


def _headers(part: dict) -> dict:
    """Lower-cased header name → first value (later duplicates are ignored, as most readers do)."""
    found = {}
    for header in part.get("headers") or []:
        if isinstance(header, dict) and isinstance(header.get("name"), str):
            value = header.get("value")
            found.setdefault(header["name"].strip().lower(), value if isinstance(value, str) else str(value or ""))
    return found


# The common shape, split by hand: `main; key=token; key="quoted"` with no RFC 2231 (*), comments,
# escapes or folded lines; anything else goes through the email package.
_SIMPLE_PARAMS = re.compile(r'[^";*\\()\r\n]*(?:;\s*[^=;"*\\()\s]+\s*=\s*(?:"[^"\\\r\n]*"|[^;"*\\()\r\n]*)\s*)*;?\s*')
_PARAM = re.compile(r';\s*([^=;"*\\()\s]+)\s*=\s*(?:"([^"\\\r\n]*)"|([^;"*\\()\r\n]*))')
_URLSAFE = bytes.maketrans(b"-_", b"+/")  # base64url → the alphabet binascii decodes


def _params(value: str) -> tuple[str, dict]:
    """(main value, params) of a MIME header; RFC 2231 continuations and charsets joined."""
    if isinstance(value, str) and _SIMPLE_PARAMS.fullmatch(value):
        main = value.split(";", 1)[0]
        found = {}
        for key, quoted, token in _PARAM.findall(value):
            found.setdefault(key.lower(), quoted if quoted or not token else token.strip())
        return main.strip().lower(), found
    msg = email.message.Message()
    # email.message's parameter splitter is quadratic; real MIME headers are far below this cap.
    value = unsurrogate(value[:MAX_PARAMS_CHARS], [], "parameter")
    msg["X"] = value.replace("\r", " ").replace("\n", " ")
    params = msg.get_params(header="x", failobj=[]) or []
    main = params[0][0].strip().lower() if params else ""
    found = {}
    for key, param in params[1:]:
        try:
            found[key.strip().lower()] = email.utils.collapse_rfc2231_value(param, fallback_charset="utf-8")
        except Exception:  # noqa: BLE001 - a broken parameter is skipped, not fatal
            continue
    return main, found


def _b64url(data, problems: list, where: str) -> bytes:
    if not isinstance(data, str):
        problems.append(f"body: {where} data is not a string")
        return b""
    try:  # the usual case, well-formed: strict decoding refuses anything else, which then gets cleaned
        raw = data.rstrip("=").encode("ascii")
        return binascii.a2b_base64((raw + b"=" * (-len(raw) % 4)).translate(_URLSAFE), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        pass
    cleaned = re.sub(r"[^A-Za-z0-9_\-+/]", "", data)
    if re.search(r"[^A-Za-z0-9_\-+/=\s]", data):
        problems.append(f"body: {where} data had invalid base64url characters")
    cleaned = cleaned.replace("+", "-").replace("/", "_")
    cleaned = cleaned[: len(cleaned) - (len(cleaned) % 4 == 1)]
    try:
        return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        problems.append(f"body: {where} data is not base64url")
        return b""


def _leaves(payload: dict):
    """Depth-first leaf parts (multipart containers skipped; message/rfc822 is a leaf, as in Gmail)."""
    stack = [(payload, 0)]
    while stack:
        part, depth = stack.pop()
        children = [c for c in (part.get("parts") or []) if isinstance(c, dict)] if depth < MAX_DEPTH else []
        if children:
            stack.extend((child, depth + 1) for child in reversed(children))
        elif not str(part.get("mimeType") or "").lower().startswith("multipart/"):
            yield part


def _attachment(part: dict, headers: dict, mime: str, disposition: str, problems: list) -> dict:
    part_id = str(part.get("partId") if part.get("partId") is not None else "")
    body = part.get("body") if isinstance(part.get("body"), dict) else {}
    candidates = []  # Gmail's filename, then our own RFC 2231 reading of the headers (raw 8-bit names)
    for raw in (part.get("filename"), _params(headers.get("content-disposition", ""))[1].get("filename"),
                _params(headers.get("content-type", ""))[1].get("name")):
        if isinstance(raw, str) and raw.strip():
            notes: list = []
            candidates.append((collapse(decode_header(raw, notes, "filename")), notes))
    name, notes = next((c for c in candidates if "\ufffd" not in c[0]), candidates[0] if candidates else ("", []))
    problems.extend(notes + (["filename: undecodable bytes replaced"] if "\ufffd" in name else []))
    if strip_bidi(name) != name:
        problems.append("filename: bidi controls removed")
        name = strip_bidi(name)
    name = name.replace("/", "_").replace("\\", "_")
    if not name:
        name = "forwarded-message.eml" if mime == "message/rfc822" else \
            f"attachment-{part_id or 'root'}{mimetypes.guess_extension(mime) or ''}"
    try:
        size = int(body.get("size") or 0)
    except (TypeError, ValueError):
        size = 0
    content_id = message_ids(headers.get("content-id", ""), single=True)
    content_id = content_id[0] if content_id else headers.get("content-id", "").strip().strip("<>")
    data = _b64url(body["data"], problems, f"part {part_id!r}") if "data" in body else None
    inline = disposition == "inline" or (not disposition and bool(content_id))
    return {"part_id": part_id, "filename": name, "mime_type": mime, "size": size,
            "attachment_id": str(body.get("attachmentId") or ""), "content_id": content_id,
            "inline": inline, "data": data}


def _classified_leaves(payload: dict):
    """Yield (part, headers, mime, content-type params, disposition, is it a body text part)."""
    for part in _leaves(payload):
        headers = _headers(part)
        ctype, ctype_params = _params(headers.get("content-type", ""))
        mime = str(part.get("mimeType") or ctype or "text/plain").strip().lower()
        disposition = _params(headers.get("content-disposition", ""))[0]
        is_text = not (part.get("filename") or disposition == "attachment" or mime not in _TEXT_TYPES)
        yield part, headers, mime, ctype_params, disposition, is_text


def body_references(gmail_message: dict) -> list[dict]:
    """The body text parts Gmail delivered by attachmentId instead of inline data (large bodies): the
    caller fetches them with messages.attachments.get and puts the bytes in part["body"]["data"]."""
    payload = gmail_message.get("payload") if isinstance(gmail_message, dict) else None
    if not isinstance(payload, dict):
        return []
    return [part for part, *_, is_text in _classified_leaves(payload)
            if is_text and isinstance(part.get("body"), dict) and "data" not in part["body"]
            and part["body"].get("attachmentId")]


def _bodies(payload: dict, problems: list) -> tuple[str, str, list]:
    """(plain text, html, attachments) from the part tree."""
    plains, htmls, attachments = [], [], []
    for part, headers, mime, ctype_params, disposition, is_text in _classified_leaves(payload):
        if not is_text:
            attachments.append(_attachment(part, headers, mime, disposition, problems))
            continue
        body = part.get("body") if isinstance(part.get("body"), dict) else {}
        if "data" not in body:
            if body.get("attachmentId"):
                problems.append(f"body: the {mime} part {part.get('partId')!r} came by attachmentId and was "
                                "not fetched")
            continue
        raw = _b64url(body.get("data"), problems, f"part {part.get('partId')!r}")
        text = decode_bytes(raw, ctype_params.get("charset", ""), problems, f"{mime} part")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        (plains if mime == "text/plain" else htmls).append(text)
    return "\n".join(plains), "\n".join(htmls), attachments


def _empty() -> dict:
    result = {key: "" for key in KEYS}
    result.update({"label_ids": [], "size_estimate": 0, "in_reply_to": [], "references": [], "from": None,
                   "to": [], "cc": [], "bcc": [], "reply_to": [], "on_behalf": [], "html_available": False,
                   "attachments": [], "problems": []})
    return result


def _envelope(message: dict, result: dict) -> None:
    result["gmail_id"] = str(message.get("id") or "")
    result["gmail_thread_id"] = str(message.get("threadId") or "")
    result["history_id"] = str(message.get("historyId") or "")
    labels = message.get("labelIds")
    result["label_ids"] = [str(label) for label in labels] if isinstance(labels, (list, tuple)) else []
    try:
        result["size_estimate"] = int(message.get("sizeEstimate") or 0)
    except (TypeError, ValueError):
        result["problems"].append("sizeEstimate: not an integer")
    result["internal_date"] = internal_date_iso(message.get("internalDate"))


def _header_fields(headers: dict, result: dict) -> None:
    problems = result["problems"]
    ids = message_ids(headers.get("message-id", ""), single=True)
    result["message_id"] = ids[0] if ids else ""
    result["in_reply_to"] = message_ids(headers.get("in-reply-to", ""))
    result["references"] = message_ids(headers.get("references", ""))
    result["subject"] = collapse(decode_header(headers.get("subject", ""), problems, "subject"))
    senders = parse_addresses(headers.get("from", ""), problems, "from")
    result["from"] = senders[0] if senders else None
    for key, name in (("to", "to"), ("cc", "cc"), ("bcc", "bcc"), ("reply_to", "reply-to")):
        result[key] = parse_addresses(headers.get(name, ""), problems, key)
    result["on_behalf"] = _on_behalf(headers, problems)
    result["date"] = parse_date(headers.get("date"))
    if result["date"]:
        result["date_source"] = "header"
        return
    if "date" in headers:
        problems.append(f"date: unparseable {headers['date'][:60]!r}")
    else:
        problems.append("date: missing Date header")
    result["date"] = result["internal_date"]
    result["date_source"] = "internal_date" if result["date"] else ""


# Who a message was sent for when someone else sent it: the agent (Sender, RFC 5322 §3.6.2) and the author a
# Google Group names when it rewrites From to itself for DMARC (X-Original-Sender, X-Original-From; reported
# header sets: github.com/chatwoot/chatwoot/issues/2715, github.com/mricon/b4/issues/11).
ON_BEHALF_HEADERS = ("sender", "x-original-sender", "x-original-from")


def _on_behalf(headers: dict, problems: list) -> list[dict]:
    found, seen = [], set()
    for name in ON_BEHALF_HEADERS:
        for person in parse_addresses(headers.get(name, ""), problems, name):
            if person["email"] not in seen:
                seen.add(person["email"])
                found.append(person)
    return found


def _body_fields(payload: dict, snippet, result: dict) -> None:
    plain, markup, result["attachments"] = _bodies(payload, result["problems"])
    result["body_html"], result["html_available"] = markup, bool(markup.strip())
    text = plain if plain.strip() or not markup.strip() else html_to_text(markup)
    result["body_text"], result["quoted_text"], result["signature"] = split_reply(text)
    if isinstance(snippet, str) and snippet:
        result["snippet"] = html.unescape(snippet)  # Gmail HTML-escapes its snippet
    else:
        result["snippet"] = collapse(result["body_text"])[:SNIPPET_CHARS]


def parse(gmail_message) -> dict:
    """A users.messages resource → the dict described by KEYS; problems are recorded, never raised."""
    result = _empty()
    problems = result["problems"]
    if not isinstance(gmail_message, dict):
        problems.append(f"input: expected a dict, got {type(gmail_message).__name__}")
        return result
    payload = gmail_message.get("payload")
    if not isinstance(payload, dict):
        problems.append("payload: missing")
        payload = {}
    steps = (("envelope", lambda: _envelope(gmail_message, result)),
             ("headers", lambda: _header_fields(_headers(payload), result)),
             ("body", lambda: _body_fields(payload, gmail_message.get("snippet"), result)))
    for name, step in steps:
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - contract: keep what survived, say what did not
            problems.append(f"{name}: internal error {type(exc).__name__}")
    if len(problems) > MAX_PROBLEMS:
        problems[MAX_PROBLEMS:] = [f"problems: {len(problems) - MAX_PROBLEMS} more not listed"]
    return result
