"""Gmail users.messages resource (format full/metadata) → a flat, decoded CRM message dict; never raises."""
from __future__ import annotations

import base64
import binascii
import codecs
import email.message
import email.utils
import html
import mimetypes
import re
from datetime import datetime, timedelta, timezone

from email_integration.html_text import html_to_text, split_reply

KEYS = ("gmail_id", "gmail_thread_id", "history_id", "label_ids", "size_estimate", "internal_date",
        "message_id", "in_reply_to", "references", "subject", "from", "to", "cc", "bcc", "reply_to",
        "date", "date_source", "body_text", "quoted_text", "signature", "body_html", "html_available",
        "snippet", "attachments", "problems")
SNIPPET_CHARS = 200
MAX_DEPTH = 64
MAX_PARAMS_CHARS = 16384
MAX_PROBLEMS = 50
_SPACE = re.compile(r"\s+")
# RFC 2047 section 2 encoded-word; the text may hold spaces (broken mailers) but never "?" (linear matching).
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_ANGLE_ID = re.compile(r"<\s*([^<>\s]+?)\s*>")
_COMMENT = re.compile(r"\(((?:[^()\\]|\\.)*)\)")
_SURROGATE = re.compile("[\udc80-\udcff]")
_GUESS = frozenset({"", "x-unknown", "unknown", "unknown-8bit", "x-user-defined", "default", "charset"})
_ALIASES = {"utf8": "utf-8", "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949",
            "unicode-1-1-utf-7": "utf-7", "x-unicode-1-1-utf-7": "utf-7", "gb2312": "gbk", "x-gbk": "gbk",
            "shift-jis": "cp932", "shift_jis": "cp932", "x-sjis": "cp932", "sjis": "cp932",
            "iso-8859-8-i": "iso-8859-8", "windows-874": "cp874", "x-mac-roman": "mac_roman",
            "iso-2022-jp": "iso2022_jp_ext", "big5": "big5hkscs", "latin-1": "latin-1"}
_TEXT_TYPES = ("text/plain", "text/html")


def _codec(charset: str) -> str | None:
    """Python codec name for a MIME charset label, or None when unknown or 'guess it'."""
    name = (charset or "").strip().strip("\"'").lower()
    if name in _GUESS:
        return None
    try:
        info = codecs.lookup(_ALIASES.get(name, name))
    except (LookupError, ValueError, TypeError):
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None


def decode_bytes(data: bytes, charset: str, problems: list, where: str) -> str:
    """Decode in the declared charset; when unknown or lying fall back to utf-8, cp1252, latin-1."""
    name = _codec(charset)
    if name:
        try:
            return data.decode(name)
        except (UnicodeError, LookupError, ValueError, TypeError):
            if name == "utf-8":  # mostly-right utf-8: keep it, mark the bad bytes
                problems.append(f"charset: {where} has invalid {charset!r} bytes, replaced")
                return data.decode("utf-8", "replace")
            reason = f"declared {charset!r} does not fit"
    else:
        reason = f"unknown {charset!r}" if (charset or "").strip().lower() not in _GUESS else ""
    for fallback in ("utf-8", "cp1252", "latin-1"):
        try:
            text = data.decode(fallback)
        except UnicodeError:
            continue
        if reason or (fallback != "utf-8" and not data.isascii()):
            problems.append(f"charset: {where} {reason or 'undeclared 8-bit'}, decoded as {fallback}")
        return text
    return data.decode("latin-1", "replace")  # unreachable: latin-1 decodes every byte


def _unsurrogate(value: str, problems: list, where: str) -> str:
    """Raw 8-bit header bytes (RFC 6532 or just broken) arrive surrogate-escaped; decode them properly."""
    if not _SURROGATE.search(value):
        return value
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeError:
        return _SURROGATE.sub("\ufffd", value)
    return decode_bytes(raw, "", problems, where)


def _word_bytes(encoding: str, text: str, problems: list) -> bytes:
    if encoding in "bB":
        cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
        cleaned = cleaned[: len(cleaned) - (len(cleaned) % 4 == 1)]
        try:
            return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
        except (binascii.Error, ValueError):
            problems.append("header: undecodable base64 encoded-word")
            return text.encode("latin-1", "replace")
    # RFC 2047 4.2: "_" is always space in Q; =XX is a hex octet.
    raw = text.replace("_", " ").encode("latin-1", "replace")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)


def decode_header(value, problems: list, where: str = "header") -> str:
    """RFC 2047 decode: adjacent words of one charset are joined before decoding; whitespace between words dropped."""
    if not isinstance(value, str):
        value = "" if value is None else str(value)
    value = _unsurrogate(value, problems, where)
    pieces: list = []  # str for plain text, [charset, bytes] for encoded runs
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[position:match.start()]
        # RFC 2047 6.2: linear whitespace between two encoded-words is not displayed.
        if gap and not (gap.isspace() and pieces and isinstance(pieces[-1], list)):
            pieces.append(gap)
        charset = match.group(1).split("*")[0]  # RFC 2231 section 5 language suffix
        data = _word_bytes(match.group(2), match.group(3), problems)
        if pieces and isinstance(pieces[-1], list) and pieces[-1][0].lower() == charset.lower():
            pieces[-1][1] += data
        else:
            pieces.append([charset, data])
        position = match.end()
    pieces.append(value[position:])
    return "".join(p if isinstance(p, str) else decode_bytes(p[1], p[0], problems, where) for p in pieces)


def _collapse(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _split_entries(value: str) -> list[str]:
    """Top-level entries of an RFC 5322 3.4 address-list; group names dropped, groups flattened."""
    entries, buf, quote, comment, angle, escape, has_at = [], [], False, 0, 0, False, False
    for ch in value:
        if escape:
            escape = False
        elif ch == "\\" and (quote or comment):
            escape = True
        elif quote:
            quote = ch != '"'
        elif comment:
            comment += (ch == "(") - (ch == ")")
        elif ch == '"':
            quote = True
        elif ch == "(":
            comment = 1
        elif ch == "<":
            angle += 1
        elif ch == ">":
            angle = max(0, angle - 1)
        elif ch in ",;" and not angle:
            entries.append("".join(buf))
            buf, has_at = [], False
            continue
        elif ch == ":" and not angle and not has_at:
            buf = []  # "display-name:" opens a group (RFC 5322 3.4); its members follow
            continue
        has_at = has_at or ch == "@"
        buf.append(ch)
    entries.append("".join(buf))
    return [entry.strip() for entry in entries if entry.strip()]


def _strip_comments(text: str) -> tuple[str, str]:
    """(text without RFC 5322 3.2.2 comments, first comment's content); nesting removed inside out."""
    found = []
    for _ in range(16):  # bounded: each pass removes one nesting level of every comment
        found.extend(_COMMENT.findall(text))
        text, count = _COMMENT.subn(" ", text)
        if not count:
            break
    return text, found[0] if found else ""


def _clean_addr(addr: str) -> str:
    addr = _strip_comments(addr)[0].strip()
    if len(addr) > 1 and addr[0] == addr[-1] and addr[0] in "'\"":
        addr = addr[1:-1]  # the whole address wrongly quoted: 'user@host'
    addr = addr if '"' in addr else re.sub(r"\s+", "", addr)
    return addr.rsplit(":", 1)[-1].lower()  # obsolete source route "@a,@b:user@host" (RFC 5322 4.4)


def _address(entry: str, problems: list, where: str) -> list[dict]:
    """One address-list entry → its mailboxes (several when bare addresses are only space-separated)."""
    angle, quotes, seen = None, 0, 0
    for match in re.finditer(r"<([^<>]*)>", entry):  # the last <addr-spec> outside a quoted string
        quotes, seen = quotes + entry.count('"', seen, match.start()), match.start()
        if quotes % 2 == 0:
            angle = match
    if angle:
        addrs, name = [angle.group(1)], entry[:angle.start()]
        name = _strip_comments(name)[0] if '"' not in name else name
    else:
        bare, name = _strip_comments(entry)  # RFC 822 style "user@host (Display Name)"
        bare = re.sub(r" ?([.@]) ?", r"\1", " ".join(bare.split()))  # obsolete CFWS around "." "@" (RFC 5322 4.4)
        if not bare.strip():
            return []  # only a comment, e.g. "(nobody)"
        quoted_local = re.fullmatch(r'\s*"(?:[^"\\]|\\.)*"@\S+\s*', bare)
        addrs = [bare] if quoted_local else [t for t in bare.split() if "@" in t] or [bare]
    name = re.sub(r'\\(.)', r"\1", name.replace('"', "")) if '"' in name else name
    name = _collapse(decode_header(name, problems, where))
    found = []
    for addr in map(_clean_addr, addrs):
        local, at, domain = addr.rpartition("@")
        if at and local and domain:
            found.append({"name": name, "email": addr})
        else:
            problems.append(f"{where}: dropped entry without an address {entry[:60]!r}")
    return found


def parse_addresses(value, problems: list, where: str) -> list[dict]:
    """Decoded RFC 5322 address list; entries that carry no addr-spec are dropped with a problem."""
    if not value:
        return []
    text = _unsurrogate(value if isinstance(value, str) else str(value), problems, where)
    found, seen = [], set()
    for entry in _split_entries(text):
        for item in _address(entry, problems, where):
            if (item["name"], item["email"]) not in seen:
                seen.add((item["name"], item["email"]))
                found.append(item)
    return found


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date(value) -> str:
    """RFC 5322 3.3 date (with obsolete forms) → ISO 8601 UTC; "" when unparseable."""
    if not isinstance(value, str) or not value.strip():
        return ""
    try:
        parts = email.utils.parsedate_tz(value)
        if not parts:
            return ""
        offset = parts[9] or 0  # "-0000" / no zone: the local time is taken as UTC (RFC 5322 3.3)
        moment = datetime(*parts[:6], tzinfo=timezone.utc) - timedelta(seconds=offset)
        return _iso(moment) if 1900 <= moment.year <= 9999 else ""
    except (ValueError, TypeError, OverflowError, IndexError):
        return ""


def _internal_date(value) -> str:
    try:
        return _iso(datetime.fromtimestamp(int(str(value)) / 1000, tz=timezone.utc))
    except (ValueError, TypeError, OverflowError, OSError):
        return ""


def _message_ids(value, single: bool = False) -> list[str]:
    text = value if isinstance(value, str) else ""
    found = _ANGLE_ID.findall(text)
    if not found:  # no angle brackets: bare tokens that look like ids
        found = [token.strip("<>,;") for token in text.split() if "@" in token or single]
    unique = [item for item in dict.fromkeys(found) if item]  # order kept, duplicates dropped
    return unique[:1] if single else unique


def _headers(part: dict) -> dict:
    """Lower-cased header name → first value (later duplicates are ignored, as most readers do)."""
    found = {}
    for header in part.get("headers") or []:
        if isinstance(header, dict) and isinstance(header.get("name"), str):
            value = header.get("value")
            found.setdefault(header["name"].strip().lower(), value if isinstance(value, str) else str(value or ""))
    return found


_SIMPLE_PARAMS = re.compile(r"[^\"*\\()\r\n]*")  # no quoting, RFC 2231 or comments: split by hand
_B64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def _params(value: str) -> tuple[str, dict]:
    """(main value, params) of a MIME header; RFC 2231 continuations and charsets joined."""
    if isinstance(value, str) and _SIMPLE_PARAMS.fullmatch(value):
        main, *pieces = value.split(";")
        found = {}
        for piece in pieces:
            key, sep, param = piece.partition("=")
            if sep and key.strip():
                found.setdefault(key.strip().lower(), param.strip())
        return main.strip().lower(), found
    msg = email.message.Message()
    # email.message's parameter splitter is quadratic; real MIME headers are far below this cap.
    value = _unsurrogate(value[:MAX_PARAMS_CHARS], [], "parameter")
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
    if _B64URL.fullmatch(data) and len(data.rstrip("=")) % 4 != 1:  # the usual case: well-formed
        return base64.urlsafe_b64decode(data.rstrip("=") + "=" * (-len(data.rstrip("=")) % 4))
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
            candidates.append((_collapse(decode_header(raw, notes, "filename")), notes))
    name, notes = next((c for c in candidates if "\ufffd" not in c[0]), candidates[0] if candidates else ("", []))
    problems.extend(notes + (["filename: undecodable bytes replaced"] if "\ufffd" in name else []))
    name = name.replace("/", "_").replace("\\", "_")
    if not name:
        name = "forwarded-message.eml" if mime == "message/rfc822" else \
            f"attachment-{part_id or 'root'}{mimetypes.guess_extension(mime) or ''}"
    try:
        size = int(body.get("size") or 0)
    except (TypeError, ValueError):
        size = 0
    content_id = _message_ids(headers.get("content-id", ""), single=True)
    content_id = content_id[0] if content_id else headers.get("content-id", "").strip().strip("<>")
    data = _b64url(body["data"], problems, f"part {part_id!r}") if "data" in body else None
    inline = disposition == "inline" or (not disposition and bool(content_id))
    return {"part_id": part_id, "filename": name, "mime_type": mime, "size": size,
            "attachment_id": str(body.get("attachmentId") or ""), "content_id": content_id,
            "inline": inline, "data": data}


def _bodies(payload: dict, problems: list) -> tuple[str, str, list]:
    """(plain text, html, attachments) from the part tree."""
    plains, htmls, attachments = [], [], []
    for part in _leaves(payload):
        headers = _headers(part)
        ctype, ctype_params = _params(headers.get("content-type", ""))
        mime = str(part.get("mimeType") or ctype or "text/plain").strip().lower()
        disposition = _params(headers.get("content-disposition", ""))[0]
        if part.get("filename") or disposition == "attachment" or mime not in _TEXT_TYPES:
            attachments.append(_attachment(part, headers, mime, disposition, problems))
            continue
        body = part.get("body") if isinstance(part.get("body"), dict) else {}
        if "data" not in body:
            continue
        raw = _b64url(body.get("data"), problems, f"part {part.get('partId')!r}")
        text = decode_bytes(raw, ctype_params.get("charset", ""), problems, f"{mime} part")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        (plains if mime == "text/plain" else htmls).append(text)
    return "\n".join(plains), "\n".join(htmls), attachments


def _empty() -> dict:
    result = {key: "" for key in KEYS}
    result.update({"label_ids": [], "size_estimate": 0, "in_reply_to": [], "references": [], "from": None,
                   "to": [], "cc": [], "bcc": [], "reply_to": [], "html_available": False,
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
    result["internal_date"] = _internal_date(message.get("internalDate"))


def _header_fields(headers: dict, result: dict) -> None:
    problems = result["problems"]
    ids = _message_ids(headers.get("message-id", ""), single=True)
    result["message_id"] = ids[0] if ids else ""
    result["in_reply_to"] = _message_ids(headers.get("in-reply-to", ""))
    result["references"] = _message_ids(headers.get("references", ""))
    result["subject"] = _collapse(decode_header(headers.get("subject", ""), problems, "subject"))
    senders = parse_addresses(headers.get("from", ""), problems, "from")
    result["from"] = senders[0] if senders else None
    for key, name in (("to", "to"), ("cc", "cc"), ("bcc", "bcc"), ("reply_to", "reply-to")):
        result[key] = parse_addresses(headers.get(name, ""), problems, key)
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


def _body_fields(payload: dict, snippet, result: dict) -> None:
    plain, markup, result["attachments"] = _bodies(payload, result["problems"])
    result["body_html"], result["html_available"] = markup, bool(markup.strip())
    text = plain if plain.strip() or not markup.strip() else html_to_text(markup)
    result["body_text"], result["quoted_text"], result["signature"] = split_reply(text)
    if isinstance(snippet, str) and snippet:
        result["snippet"] = html.unescape(snippet)  # Gmail HTML-escapes its snippet
    else:
        result["snippet"] = _collapse(result["body_text"])[:SNIPPET_CHARS]


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
