"""Gmail search queries that find investor mail (pure functions: no network, no database).

In CRM_GMAIL_CAPTURE_SCOPE=investors the sync lists only what these queries return, so
`messages.get` is spent on investor mail alone. Syntax (support.google.com/mail/answer/7190):
`{a b}` ORs its terms; `from:` / `to:` / `cc:` / `bcc:` take an address or a bare domain (a
domain also matches its subdomains, as our matcher does); `-in:chats -in:drafts` keeps chat
transcripts and unsent drafts out (neither is mail with an investor).

Length: Google publishes no limit on `q`. We keep every query at most MAX_QUERY_CHARS (1,500)
characters. Measured (bench/bench_targeted_capture.py prints it, 2026-11-26): 300 investor
addresses make 29 queries of at most 1,466 characters, at most 1,668 bytes percent-encoded — a
request line under 2 KB, the size every HTTP front end accepts — and the emulator refuses any `q`
over 2,048 characters so a longer one can never slip in. More investors mean more queries (5 quota
units a page each), never longer ones.
"""
from __future__ import annotations

import logging
import re

from backend.address_policy import FREE_MAIL_DOMAINS

log = logging.getLogger(__name__)
MAX_QUERY_CHARS = 1500
ALWAYS = ("-in:chats", "-in:drafts")
FIELDS = ("from", "to", "cc", "bcc")
# What an address or domain may contain to be searched for verbatim: nothing Gmail's query
# syntax would read as an operator, a group or a quote.
_SAFE = re.compile(r"^[a-z0-9._%+'-]+(@[a-z0-9-]+(\.[a-z0-9-]+)+|(\.[a-z0-9-]+)+)$")


def _covered_by(address: str, domains: set[str]) -> bool:
    host = address.rpartition("@")[2]
    parts = host.split(".")
    return any(".".join(parts[i:]) in domains for i in range(len(parts) - 1))


def investor_terms(rows, own_domain: str = "") -> list[str]:
    """The addresses and domains to search for, from (investor_id, 'email'|'domain', value) rows.

    A domain on a public mail provider or our own is never searched as a whole (the matcher ignores
    it too); an address already covered by one of the searched domains is left out; values that are
    not plainly an address or a domain are left out (they could not be searched for verbatim).
    """
    blocked = FREE_MAIL_DOMAINS | ({own_domain.lower()} if own_domain else set())
    domains, addresses = set(), set()
    for _, kind, value in rows:
        value = (value or "").strip().lower()
        if kind == "domain":
            value = value.lstrip("@").rstrip(".")
            if value and value not in blocked and "@" not in value and _SAFE.match("x" + value if value[0] == "." else value):
                domains.add(value)
        elif kind == "email" and "@" in value and _SAFE.match(value):
            addresses.add(value)
    addresses = {a for a in addresses if not _covered_by(a, domains)}
    return sorted(domains) + sorted(addresses)


def _any_field(value: str) -> str:
    return " ".join(f"{field}:{value}" for field in FIELDS)


def exclusion_terms(excluded) -> list[str]:
    """`-{from:x to:x cc:x bcc:x}` per excluded address or "@domain" (the hook for per-person exclusions)."""
    terms = []
    for pattern in excluded or ():
        value = str(pattern).strip().lower().lstrip("@")
        if value and _SAFE.match(value):
            terms.append("-{" + _any_field(value) + "}")
    return terms


def build_queries(values, excluded=(), after: int | None = None, before: int | None = None,
                  max_chars: int = MAX_QUERY_CHARS) -> list[str]:
    """Queries matching mail from, to, cc or bcc any of `values`, each at most `max_chars` long.

    `after` / `before` (epoch seconds) bound the message's internalDate; `excluded` adds one
    negative group per pattern to every query, as many as fit in half the length (the exclusions
    are a saving: ingest refuses excluded mail whatever is fetched). Every value lands in exactly
    one query, except one too long to fit in a query by itself (logged and left out).
    """
    fixed = _fixed(after, before)
    negatives = exclusion_terms(excluded)[:_fitting_negatives(excluded, fixed, max_chars)]
    suffix = " ".join([*fixed[:len(ALWAYS)], *negatives, *fixed[len(ALWAYS):]])
    queries, current = [], []
    for value in values:
        group = _any_field(value)
        if len(_query([group], suffix)) > max_chars:
            # Only an absurd value (the investor API takes an address of any length) cannot fit on its own:
            # it is not searched for, and the rest still are (raising here stopped every run).
            log.warning("a search term of %d characters does not fit in a query; left out", len(value))
            continue
        candidate = current + [group]
        if len(_query(candidate, suffix)) > max_chars:
            queries.append(_query(current, suffix))
            candidate = [group]
        current = candidate
    if current:
        queries.append(_query(current, suffix))
    return queries


def _fixed(after: int | None, before: int | None) -> list[str]:
    return [*ALWAYS, *([f"after:{int(after)}"] if after is not None else []),
            *([f"before:{int(before)}"] if before is not None else [])]


def _fitting_negatives(excluded, fixed: list[str], max_chars: int) -> int:
    """How many of the exclusions' negative groups fit in half a query, in order."""
    negatives = []
    for term in exclusion_terms(excluded):
        if len(" ".join(fixed + negatives + [term])) > max_chars // 2:
            break
        negatives.append(term)
    return len(negatives)


def excluded_queries(excluded, after: int | None = None, before: int | None = None,
                     max_chars: int = MAX_QUERY_CHARS) -> list[str]:
    """Queries finding the mail of the exclusions whose negatives did not fit in build_queries (same
    window): the sync lists those ids (5 units a page) and leaves them out rather than fetch mail
    ingest refuses, and never stores, so that every later search would fetch it again. [] when all fit."""
    values = [str(p).strip().lower().lstrip("@") for p in excluded or ()]
    values = [v for v in values if v and _SAFE.match(v)]
    left_out = values[_fitting_negatives(excluded, _fixed(after, before), max_chars):]
    return build_queries(left_out, after=after, before=before, max_chars=max_chars) if left_out else []


def _query(groups: list[str], suffix: str) -> str:
    return "{" + " ".join(groups) + "} " + suffix
