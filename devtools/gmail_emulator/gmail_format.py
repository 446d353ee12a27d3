"""RFC 822 bytes → a Gmail API `users.messages` resource, shaped as Gmail shapes it.

Reference: developers.google.com/gmail/api/reference/rest/v1/users.messages (Message,
MessagePart, MessagePartBody). The root part has partId "", its children "0", "1", …, nested
parts "0.1"; headers are a list of {name, value} with the raw (still RFC 2047-encoded) values;
`body.data` is base64url of the transfer-decoded bytes, in the part's own charset; parts
with a filename (attachments) carry `attachmentId` + `size` instead of data.
Never raises on malformed mail: whatever the email package recovers is served.
"""
from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import html
import re
from email.message import Message

FORMATS = ("full", "metadata", "minimal", "raw")
SNIPPET_CHARS = 200
_TAG = re.compile(r"<[^>]*>")
_DROP = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.I | re.S)
_SPACE = re.compile(r"\s+")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def parse_bytes(raw: bytes) -> Message:
    """The compat32 parse keeps raw header values exactly as written (what Gmail returns)."""
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def _unfold(value) -> str:
    if not isinstance(value, str):  # compat32 may hand back a Header for undecodable bytes
        value = str(value)
    if any("\udc80" <= c <= "\udcff" for c in value):
        # 8-bit header bytes (RFC 6532 internationalised mail: UTF-8 in headers), kept by the parser as
        # surrogate escapes: Gmail hands them out decoded.
        value = value.encode("ascii", "surrogateescape").decode("utf-8", "replace")
    return re.sub(r"\r?\n(?=[ \t])", "", value).replace("\r", "").replace("\n", "")


def header_value(msg: Message, name: str) -> str:
    """The first `name` header as written (8-bit UTF-8 decoded), unfolded; "" when absent."""
    wanted = name.lower()
    return next((_unfold(v) for k, v in msg.raw_items() if k.lower() == wanted), "")


def headers_of(part: Message) -> list[dict]:
    return [{"name": name, "value": _unfold(value)} for name, value in part.raw_items()]


def attachment_id(message_id: str, part_id: str) -> str:
    """Opaque and stable, like Gmail's (which are long base64url strings)."""
    digest = hashlib.sha256(f"{message_id}/{part_id}".encode()).digest()
    return "ANGjdJ" + b64url(digest).rstrip("=")


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:  # noqa: BLE001 - broken RFC 2231 parameters
        name = ""
    return name


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - broken transfer encodings
        data = None
    if data is None:
        payload = part.get_payload()
        data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    return data


# Gmail hands a large text/html body out by attachmentId (fetched with messages.attachments.get) instead
# of inline data; Google documents no threshold, the emulator uses this one.
INLINE_BODY_MAX = 1 << 20


def by_reference(part: Message, data: bytes) -> bool:
    """Whether a leaf's bytes come as an attachmentId: attachments, and bodies over INLINE_BODY_MAX."""
    return is_attachment(part) or len(data) > INLINE_BODY_MAX


def is_attachment(part: Message) -> bool:
    if part.get_content_type() == "message/rfc822":
        return True
    disposition = _unfold(part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    return bool(_filename(part)) or disposition == "attachment"


def _leaf_bytes(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822" and part.is_multipart():
        inner = part.get_payload()
        if isinstance(inner, list) and inner:
            try:
                return inner[0].as_bytes()
            except Exception:  # noqa: BLE001
                return str(inner[0]).encode("utf-8", "replace")
    return _payload_bytes(part)


def walk_parts(msg: Message, part_id: str = ""):
    """Yield (part_id, part) depth-first with Gmail's numbering; message/rfc822 is a leaf."""
    yield part_id, msg
    if msg.is_multipart() and msg.get_content_type() != "message/rfc822":
        children = msg.get_payload()
        if isinstance(children, list):
            for index, child in enumerate(children):
                child_id = str(index) if part_id == "" else f"{part_id}.{index}"
                yield from walk_parts(child, child_id)


def part_resource(msg: Message, message_id: str, part_id: str = "") -> dict:
    resource = {"partId": part_id, "mimeType": msg.get_content_type(), "filename": _filename(msg),
                "headers": headers_of(msg)}
    if msg.is_multipart() and msg.get_content_type() != "message/rfc822":
        resource["body"] = {"size": 0}
        children = msg.get_payload() if isinstance(msg.get_payload(), list) else []
        resource["parts"] = [part_resource(child, message_id, str(i) if part_id == "" else f"{part_id}.{i}")
                             for i, child in enumerate(children)]
        return resource
    data = _leaf_bytes(msg)
    if by_reference(msg, data):
        resource["body"] = {"attachmentId": attachment_id(message_id, part_id), "size": len(data)}
    elif data:
        resource["body"] = {"size": len(data), "data": b64url(data)}
    else:
        resource["body"] = {"size": 0}
    return resource


def attachments(raw: bytes, message_id: str) -> dict[str, bytes]:
    """attachmentId → the attachment's transfer-decoded bytes."""
    found = {}
    for part_id, part in walk_parts(parse_bytes(raw)):
        if not (part.is_multipart() and part.get_content_type() != "message/rfc822"):
            data = _leaf_bytes(part)
            if by_reference(part, data):
                found[attachment_id(message_id, part_id)] = data
    return found


def _decode_text(part: Message) -> str:
    data = _payload_bytes(part)
    try:
        charset = part.get_content_charset() or "utf-8"
        return data.decode(charset, "replace")
    except (LookupError, UnicodeError, ValueError):
        return data.decode("utf-8", "replace")


def snippet(msg: Message) -> str:
    """Gmail's snippet: the start of the text, whitespace collapsed, HTML-escaped."""
    plain = html_text = None
    for _, part in walk_parts(msg):
        if part.is_multipart() or is_attachment(part):
            continue
        if part.get_content_type() == "text/plain" and plain is None:
            plain = _decode_text(part)
        elif part.get_content_type() == "text/html" and html_text is None:
            html_text = html.unescape(_TAG.sub(" ", _DROP.sub(" ", _decode_text(part))))
    text = _SPACE.sub(" ", plain if plain is not None else html_text or "").strip()
    return html.escape(text[:SNIPPET_CHARS], quote=True).replace("&#x27;", "&#39;")


def message_resource(raw: bytes, *, id: str, thread_id: str, label_ids, history_id: int,
                     internal_date_ms: int, fmt: str = "full", metadata_headers=None) -> dict:
    """The users.messages resource for `raw` in format full | metadata | minimal | raw."""
    msg = parse_bytes(raw)
    resource = {"id": id, "threadId": thread_id, "labelIds": list(label_ids), "snippet": snippet(msg),
                "sizeEstimate": len(raw), "historyId": str(history_id), "internalDate": str(internal_date_ms)}
    if fmt == "raw":
        resource["raw"] = b64url(raw)
    elif fmt == "metadata":
        headers = headers_of(msg)
        if metadata_headers:
            wanted = {h.lower() for h in metadata_headers}
            headers = [h for h in headers if h["name"].lower() in wanted]
        resource["payload"] = {"partId": "", "mimeType": msg.get_content_type(), "filename": "", "headers": headers,
                               "body": {"size": 0}}
    elif fmt == "full":
        resource["payload"] = part_resource(msg, id)
    return resource
