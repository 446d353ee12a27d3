"""Gmail's search syntax for messages.list `q`, as far as the sync and the tests use it.

Sources: support.google.com/mail/answer/7190 ("Search operators you can use with Gmail") and
developers.google.com/workspace/gmail/api/guides/filtering (the API's `q`: "most of the same
advanced search syntax as the Gmail web interface"). What we assume, and why:

- Terms side by side are ANDed; `OR` (upper case only, as in Gmail) between two terms ORs them;
  `{a b c}` is an OR-group ("Messages that match multiple terms: OR or { }"); `( )` groups terms;
  a leading `-` negates a term or a group ("Remove messages from your results").
- `from:` / `to:` / `cc:` / `bcc:` have two modes (--search-match). `gmail` (the default) matches words, as
  Gmail is reported to (email_integration/google/quota.py, SEARCH_WORD and its sources): the header, display
  names included, and the value are split into words on every character but letters, digits, `_` and `&`;
  the value matches where its words occur in that order anywhere in the header. So `from:alder.vc` matches
  kim@alder.vc, ops@mail.alder.vc, x@alder.vc.evil.example and "Alder VC Partners" <p@x.example>;
  `from:kim@alder.vc` matches kim@alder.vc.evil.example but never bkim@alder.vc (whole words only); a
  Unicode domain and its punycode form are different words (nothing documents them as equivalent). This is
  looser than any exact reading: a client that trusts a hit, or that hides mail with a negative term, fails
  here as it would against Gmail. `exact` is the reading before v3: an address matches that address in the
  header, a bare domain its addresses and subdomains, anything else a substring (names); it is the recall
  check (a sync must capture at least this). In both modes no operator reads Reply-To, Sender or
  X-Original-Sender (Google documents none), and `bcc:` can only match a copy whose Bcc header survived:
  the sender's own copy (RFC 5322 §3.6.3). `op:(a b)` / `op:{a b}` apply the operator to every word of the
  group (AND / OR).
- `list:` matches the List-Id header (reported: webapps.stackexchange.com/questions/158363): by words in the
  `gmail` mode (`list:ir@firm.test` matches `List-Id: <ir.firm.test>`), as the list's id in `exact`.
- `in:` / `label:` test a label (`in:chats` → CHAT, `in:drafts` → DRAFT, `in:anywhere` → any);
  spam and trash stay out unless includeSpamTrash, as messages.list documents.
- `after:` / `before:` take YYYY/MM/DD, read as midnight *PST* (the API guide: "All dates used in
  the search query are interpreted as midnight on that date in the PST timezone"), or epoch seconds;
  they compare with the message's internalDate; `after:` is inclusive, `before:` exclusive.
- `newer_than:` / `older_than:` take Nd, Nm or Ny; `subject:`, `has:attachment`, plain words.
- An operator we do not know answers 400 (it never silently matches everything), and so does a
  `q` longer than MAX_QUERY_CHARS: Google publishes no limit, so the emulator sets one to make sure
  the sync never depends on an unbounded query (the sync chunks its queries well under it).
"""
from __future__ import annotations

import datetime as _dt
import re
import time

from email_integration.google.quota import SEARCH_WORD

_UNITS = {"d": 86400, "m": 30 * 86400, "y": 365 * 86400}
PST = _dt.timezone(_dt.timedelta(hours=-8))
MAX_QUERY_CHARS = 2048
ADDRESS_FIELDS = ("from", "to", "cc", "bcc")
MATCH_MODES = ("gmail", "exact")
LABEL_NAMES = {"chats": "CHAT", "chat": "CHAT", "drafts": "DRAFT", "draft": "DRAFT"}
_TOKEN = re.compile(r'\s*(?:(?P<punct>[{}()])|(?P<quoted>-?(?:[\w.-]+:)?"[^"]*")|(?P<word>[^\s{}()]+))')
_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")


class QueryError(ValueError):
    """A query we cannot read (unknown operator, bad date, unbalanced group); the server answers 400."""


def _epoch_ms(value: str) -> int:
    if value.isdigit():
        return int(value) * 1000
    try:
        day = _dt.datetime.strptime(value.replace("-", "/"), "%Y/%m/%d")
    except ValueError:
        raise QueryError(f"bad date {value!r}") from None
    return int(day.replace(tzinfo=PST).timestamp() * 1000)


def _age_ms(value: str) -> int:
    match = re.fullmatch(r"(\d+)([dmy])", value)
    if not match:
        raise QueryError(f"bad age {value!r}")
    return int(match.group(1)) * _UNITS[match.group(2)] * 1000


def tokenize(q: str) -> list[str]:
    tokens, position = [], 0
    while position < len(q):
        match = _TOKEN.match(q, position)
        if not match or match.end() == position:
            break
        position = match.end()
        token = match.group("punct") or match.group("quoted") or match.group("word")
        if token:
            tokens.append(token)
    return tokens


def words(text: str) -> list[str]:
    """Gmail's words of a header or a search value (lower case; `@` and other separators dropped)."""
    return SEARCH_WORD.findall(text.lower())


def _in_sequence(needle: list[str], haystack: list[str]) -> bool:
    size = len(needle)
    return bool(needle) and any(haystack[i:i + size] == needle for i in range(len(haystack) - size + 1))


def address_matches(value: str, addresses: list[str], header: str, mode: str = "gmail") -> bool:
    """`from:value` against one header: by words (`gmail`), or exact address / bare domain / substring."""
    if mode == "gmail":
        return _in_sequence(words(value), words(header))
    if "@" in value:
        return value in addresses
    if _DOMAIN.match(value):
        return any(a.rpartition("@")[2] == value or a.rpartition("@")[2].endswith("." + value) for a in addresses)
    return value in header


def list_matches(value: str, list_id: str, mode: str = "gmail") -> bool:
    """`list:value` against the List-Id header (`<ir.firm.test>` for the list ir@firm.test)."""
    if mode == "gmail":
        return _in_sequence(words(value), words(list_id))
    found = re.search(r"<([^>]*)>", list_id)
    return bool(list_id) and (found.group(1) if found else list_id).strip() == value.replace("@", ".")


class _Parser:
    def __init__(self, tokens: list[str], now_ms: int, mode: str):
        self.tokens, self.position, self.now_ms, self.mode = tokens, 0, now_ms, mode

    def peek(self):
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self):
        token = self.peek()
        self.position += 1
        return token

    def sequence(self, closer=None):
        """Terms until `closer` (or the end): a list of predicates, each possibly an OR of several."""
        terms = []
        while self.peek() is not None and self.peek() != closer:
            if self.peek() in ("}", ")"):
                raise QueryError(f"unbalanced {self.peek()!r}")
            term = self.unary()
            while self.peek() == "OR":
                self.take()
                if self.peek() in (None, closer):
                    raise QueryError("OR at the end of a group")
                left, right = term, self.unary()
                term = lambda f, a=left, b=right: a(f) or b(f)
            terms.append(term)
        if closer is not None:
            if self.take() != closer:
                raise QueryError(f"missing {closer!r}")
        return terms

    def unary(self):
        token = self.peek()
        if token == "AND":  # Gmail's explicit AND is what juxtaposition means anyway
            self.take()
            return lambda f: True
        if token == "-":
            self.take()
            inner = self.unary()
            return lambda f, p=inner: not p(f)
        if token and token.startswith("-") and len(token) > 1:
            self.tokens[self.position] = token[1:]
            inner = self.unary()
            return lambda f, p=inner: not p(f)
        return self.atom()

    def atom(self):
        token = self.take()
        if token == "{":
            terms = self.sequence("}")
            return lambda f, ts=terms: any(t(f) for t in ts)
        if token == "(":
            terms = self.sequence(")")
            return lambda f, ts=terms: all(t(f) for t in ts)
        op, sep, value = token.partition(":")
        if sep and op.isalpha() and not value and self.peek() in ("{", "("):
            opener = self.take()
            words = []
            while self.peek() not in (None, "}", ")"):
                words.append(self.term(op.lower(), self.take().strip('"').lower()))
            if self.take() != {"{": "}", "(": ")"}[opener]:
                raise QueryError(f"missing close of {op}:{opener}")
            combine = any if opener == "{" else all
            return lambda f, ws=words, c=combine: c(w(f) for w in ws)
        if sep and op.replace("_", "").isalpha():
            return self.term(op.lower(), value.strip('"').lower())
        word = token.strip('"').lower()
        return lambda f, w=word: w in f["text"] or w in f["subject"] or w in f["from"] or w in f["to"]

    def term(self, op: str, value: str):
        if op in ADDRESS_FIELDS:
            return lambda f, k=op, v=value, m=self.mode: address_matches(v, f[k + "_addrs"], f[k], m)
        if op == "list":
            return lambda f, v=value, m=self.mode: list_matches(v, f.get("list", ""), m)
        if op == "after":
            return lambda f, t=_epoch_ms(value): f["internal_date_ms"] >= t
        if op == "before":
            return lambda f, t=_epoch_ms(value): f["internal_date_ms"] < t
        if op == "newer_than":
            return lambda f, t=self.now_ms - _age_ms(value): f["internal_date_ms"] >= t
        if op == "older_than":
            return lambda f, t=self.now_ms - _age_ms(value): f["internal_date_ms"] < t
        if op == "subject":
            return lambda f, v=value: v in f["subject"]
        if op in ("label", "in"):
            label = LABEL_NAMES.get(value, value.upper())
            return lambda f, v=label: v == "ANYWHERE" or v in f["labels"]
        if op == "has" and value == "attachment":
            return lambda f: f["has_attachment"]
        raise QueryError(f"unsupported search operator {op!r}")


def compile_query(q: str | None, now_ms: int | None = None, mode: str = "gmail"):
    """A predicate over message facts {internal_date_ms, labels, from, to, cc, bcc, *_addrs, list, subject,
    text, has_attachment}; QueryError for a query we cannot read. `mode`: how address operators match."""
    if mode not in MATCH_MODES:
        raise ValueError(f"unknown search match mode {mode!r}; expected one of {', '.join(MATCH_MODES)}")
    if not q or not q.strip():
        return lambda facts: True
    if len(q) > MAX_QUERY_CHARS:
        raise QueryError(f"query longer than {MAX_QUERY_CHARS} characters")
    parser = _Parser(tokenize(q), int(time.time() * 1000) if now_ms is None else now_ms, mode)
    terms = parser.sequence()
    return lambda facts: all(t(facts) for t in terms)
