"""Header and text decoding for the parser: charsets (with fallbacks for unknown or lying ones),
RFC 2047 encoded words, address lists, dates, Message-IDs. Pure functions; problems are recorded, never raised."""
from __future__ import annotations

import base64
import binascii
import codecs
import email.utils
import re
from datetime import datetime, timedelta, timezone

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


def unsurrogate(value: str, problems: list, where: str) -> str:
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
    value = unsurrogate(value, problems, where)
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


# Unicode bidirectional controls (UAX #9: the embeddings, overrides and isolates, and the
# implicit marks): in a name, "invoice\u202Efdp.exe" shows as "invoiceexe.pdf".
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def strip_bidi(text: str) -> str:
    """`text` without bidi controls, so it reads in the order its characters are stored."""
    return _BIDI_CONTROLS.sub("", text)


def collapse(text: str) -> str:
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
    name = collapse(decode_header(name, problems, where))
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
    text = unsurrogate(value if isinstance(value, str) else str(value), problems, where)
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


def internal_date_iso(value) -> str:
    try:
        return _iso(datetime.fromtimestamp(int(str(value)) / 1000, tz=timezone.utc))
    except (ValueError, TypeError, OverflowError, OSError):
        return ""


def message_ids(value, single: bool = False) -> list[str]:
    text = value if isinstance(value, str) else ""
    found = _ANGLE_ID.findall(text)
    if not found:  # no angle brackets: bare tokens that look like ids
        found = [token.strip("<>,;") for token in text.split() if "@" in token or single]
    unique = [item for item in dict.fromkeys(found) if item]  # order kept, duplicates dropped
    return unique[:1] if single else unique
