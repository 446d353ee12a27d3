"""Gmail search queries that find investor mail (pure functions: no network, no database).

In CRM_GMAIL_CAPTURE_SCOPE=investors the sync fetches only what these queries list, and the rest of their
conversations. What Gmail's search does is in the Google table (google/quota.py, "Gmail search"):
- `from:` / `to:` / `cc:` / `bcc:` match words, not addresses: a hit is a candidate, which ingest checks
  against the message's parsed headers after fetching (a lookalike such as x@alder.vc.evil.example is listed
  by `from:alder.vc`, fetched once, never stored, never fetched again);
- no operator searches Reply-To, Sender or X-Original-Sender: mail that names an investor only there (a
  Google Group's DMARC rewrite, DocuSign, Drive shares) is found through the sources that send it
  (source_queries) and kept only when those headers name an investor (capture/sources.py);
- SPAM and TRASH are outside messages.list unless includeSpamTrash=true. The capture asks for them and
  searches `-in:spam`: trash is part of the firm's record (a teammate tidying their inbox must not decide what
  the CRM holds), spam is never captured automatically (spoofed investor domains land there); `in:spam` counts
  it for the Admin page.
Syntax (support.google.com/mail/answer/7190): `{a b}` ORs its terms; `-in:chats -in:drafts` keeps chat
transcripts and unsent drafts out (neither is mail with an investor).

Exclusions never join an investor query as negatives: with word matching a negative term hides every message
whose headers merely share its words (an investor's display name, a longer domain), investor mail included.
Their mail is listed by queries of its own (excluded_queries), and the sync reads the headers of what both
list before it fetches anything more (sync_targeted.py).

Length: Google publishes no limit on `q`; every query stays within MAX_QUERY_CHARS (1,500, the reported
filter limit). More investors mean more queries (5 quota units a page each), never longer ones; the whole
investor search is capped at MAX_SEARCH_QUERIES, refused at input beyond (search_size_refusal).
"""
from __future__ import annotations

import logging
import unicodedata

from backend.address_policy import FREE_MAIL_DOMAINS, address_forms, domain_forms
from email_integration.google.quota import ADDRESS_OPERATORS, MAX_QUERY_CHARS, SEARCH_SYNTAX_CHARS
from email_integration.privacy.exclusions import display_form

log = logging.getLogger(__name__)
ALWAYS = ("-in:chats", "-in:drafts")
NOT_SPAM = "-in:spam"  # with includeSpamTrash=true: trash is searched, spam is not (the policy above)
ONLY_SPAM = "in:spam"
FIELDS = ADDRESS_OPERATORS
# The whole investor search of one mailbox: at most this many queries (5 units each in both quota profiles).
# A poll that sees new mail runs it with a window every CRM_GMAIL_POLL_SEC (15): 40 queries four times a minute
# are 800 units, 15% of the 2026 pace of 5,400 a minute; 400 typical addresses (30 characters) make 39.
MAX_SEARCH_QUERIES = 40


def search_forms(value: str) -> list[str]:
    """The forms a term is searched in: an internationalised domain both as Unicode and as xn-- ASCII
    (Gmail is not known to treat them as one; google/quota.py), anything else as it is."""
    value = value.strip().lower()
    return address_forms(value) if "@" in value else domain_forms(value)


def unsearchable_reason(value: str) -> str | None:
    """Why Gmail's search cannot look for this address or domain as itself (None: it can)."""
    value = (value or "").strip()
    if not value:
        return "it is empty"
    bad = sorted({c for c in value if c in SEARCH_SYNTAX_CHARS or ord(c) < 32})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        return (f"{value} cannot be searched in Gmail: its search reads {shown} as syntax; if this really is the "
                "address, add the investor's domain instead")
    if value.startswith("-") or value.rpartition("@")[0].startswith("-"):
        return f"{value} cannot be searched in Gmail: a leading '-' means NOT in its search"
    return None


def _covered_by(address: str, domains: set[str]) -> bool:
    host = address.rpartition("@")[2]
    parts = host.split(".")
    return any(".".join(parts[i:]) in domains for i in range(len(parts) - 1))


def _normalised(kind: str, value: str) -> str:
    value = unicodedata.normalize("NFC", (value or "").strip().lower())  # one form for query and matcher
    return value.lstrip("@").rstrip(".") if kind == "domain" else value


def investor_terms(rows, own_domain: str = "") -> list[str]:
    """The addresses and domains to search for, from (investor_id, 'email'|'domain', value) rows.

    A domain on a public mail provider or our own is never searched as a whole (the matcher ignores it
    too); an address already covered by one of the searched domains is left out; an internationalised
    domain is searched in both forms; a value Gmail's search cannot express is left out (the investor API
    refuses new ones, and the Admin page lists old ones: unsearchable_terms).
    """
    blocked = FREE_MAIL_DOMAINS | ({own_domain.lower()} if own_domain else set())
    domains, addresses = set(), set()
    for _, kind, raw in rows:
        value = _normalised(kind, raw)
        if not value or unsearchable_reason(value):
            continue
        if kind == "domain" and "@" not in value and not blocked & set(domain_forms(value)):
            domains.update(search_forms(value))
        elif kind == "email" and "@" in value:
            addresses.update(search_forms(value))
    addresses = {a for a in addresses if not _covered_by(a, domains)}
    return sorted(domains) + sorted(addresses)


def unsearchable_terms(rows) -> list[dict]:
    """[{investor_id, kind, value, reason}] of investor addresses the search leaves out (saved before the check)."""
    found = []
    for investor_id, kind, raw in rows:
        reason = unsearchable_reason(_normalised(kind, raw))
        if reason:
            found.append({"investor_id": investor_id, "kind": kind, "value": raw, "reason": reason})
    return found


def _group(value: str, fields=FIELDS) -> str:
    return " ".join(f"{field}:{value}" for field in fields)


def build_queries(values, after: int | None = None, before: int | None = None, max_chars: int = MAX_QUERY_CHARS,
                  where: str = NOT_SPAM, fields=FIELDS) -> list[str]:
    """Queries matching mail where any of `fields` names any of `values`, each at most `max_chars` long.

    `after` / `before` (epoch seconds) bound the message's internalDate; `where`: NOT_SPAM (to be listed with
    includeSpamTrash=true) or ONLY_SPAM. Every value lands in exactly one query, except one too long to fit in
    a query by itself (logged and left out).
    """
    return [q for q, _ in query_chunks(values, after, before, max_chars, where, fields)]


def query_chunks(values, after: int | None = None, before: int | None = None, max_chars: int = MAX_QUERY_CHARS,
                 where: str = NOT_SPAM, fields=FIELDS) -> list[tuple[str, list[str]]]:
    """build_queries' queries with the values each one holds: [(query, [values])]."""
    suffix = " ".join([*ALWAYS, where, *_window(after, before)])
    chunks, current = [], []
    for value in values:
        if len(_query([_group(value, fields)], suffix)) > max_chars:
            # Only an absurd value (the investor API caps addresses at 254 characters) cannot fit on its own:
            # it is not searched for, and the rest still are (raising here stopped every run).
            log.warning("a search term of %d characters does not fit in a query; left out", len(value))
            continue
        if current and len(_query([_group(v, fields) for v in current + [value]], suffix)) > max_chars:
            chunks.append(current)
            current = []
        current.append(value)
    if current:
        chunks.append(current)
    return [(_query([_group(v, fields) for v in chunk], suffix), chunk) for chunk in chunks]


def _window(after: int | None, before: int | None) -> list[str]:
    return [*([f"after:{int(after)}"] if after is not None else []),
            *([f"before:{int(before)}"] if before is not None else [])]


def excluded_queries(excluded, after: int | None = None, before: int | None = None,
                     max_chars: int = MAX_QUERY_CHARS) -> list[str]:
    """Queries listing the mail of the mailbox's exclusions ('a@x' / '@x' patterns), same window: what they
    list among the investor search's hits is checked by its headers before anything is fetched whole."""
    values = [str(p).strip().lower() for p in excluded or ()]
    values = [v.lstrip("@") for p in values if p for v in dict.fromkeys([p, *spellings(p)])]
    values = [form for v in values if v and not unsearchable_reason(v) for form in search_forms(v)]
    return build_queries(list(dict.fromkeys(values)), after=after, before=before, max_chars=max_chars)


def spellings(pattern: str) -> list[str]:
    """Other spellings Gmail's search may need for one exclusion pattern: its saved form (display_form), and at
    Gmail the googlemail.com twin. The headers decide what is excluded (exclusions.covers); these only let the
    exclusion queries list, header-first, what the investor queries also list."""
    if not pattern.strip() or not (pattern.startswith("@") or "@" in pattern):
        return []
    try:
        shown = display_form(pattern)
    except (UnicodeError, ValueError):
        return []
    local, at, domain = shown.rpartition("@")
    return [shown, *([f"{local}@googlemail.com"] if domain == "gmail.com" else [])]


def source_queries(services, groups, after: int | None = None) -> list[str]:
    """Queries listing the mail of the covered sources: signing and sharing services by their sending
    address or domain (`from:`), the firm's group addresses wherever a group puts itself (From after a DMARC
    rewrite, To/Cc as the recipient, List-Id)."""
    queries = build_queries(sorted(services), after=after, fields=("from",)) if services else []
    if groups:
        queries += build_queries(sorted(groups), after=after, fields=("from", "to", "cc", "list"))
    return queries


def search_size_refusal(terms: list[str]) -> str | None:
    """Why these investor terms make an investor search too big for Gmail's quota (None: they fit)."""
    count = len(build_queries(terms))
    if count <= MAX_SEARCH_QUERIES:
        return None
    return (f"with these addresses the investor search would need {count} Gmail searches per mailbox per sync "
            f"(at most {MAX_SEARCH_QUERIES}): remove addresses an investor no longer uses, or use the domain")


def _query(groups: list[str], suffix: str) -> str:
    return "{" + " ".join(groups) + "} " + suffix
