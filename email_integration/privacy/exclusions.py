"""Exclusion patterns: 'addr@x' (that mailbox) or '@x' (that domain and its subdomains). Pure: no SQL.

A message is excluded from a mailbox when any of its participants (From, To, Cc, Bcc, Reply-To)
is covered by one of the mailbox's patterns (its owner's and the firm's, db_privacy).

Patterns and addresses are compared as the mailboxes they deliver to (backend.address_policy.mailbox_of, the
rule that keeps teammates' addresses out of the investor list): any case, a trailing dot, a +tag, Gmail's dots
and googlemail.com, an internationalised domain in its Unicode or xn-- form, a Unicode name composed or not
(NFC). So dr.who@gmail.com also covers drwho@, dr.who+x@ and @googlemail.com, and @clinic.test covers
doc@clinic.test. A pattern is saved in that form (its domain in Unicode, as people read it); patterns saved
before (literal, lower case) are compared the same way, so they keep working unchanged.
"""
from __future__ import annotations

import functools

from backend.address_policy import GMAIL_DOMAINS, mailbox_of
from backend.domain_names import canonical_domain, domain_forms
from backend.investors_api import is_domain, is_email

SCOPES = ("mine", "firm")


def parse_pattern(raw) -> str:
    """The normalised pattern (display_form), or ValueError saying what is wrong."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("'pattern' must be an address (a@x.com) or a domain (@x.com)")
    pattern = raw.strip().lower()
    if len(pattern) > 320:
        raise ValueError("'pattern' is longer than 320 characters")
    if pattern.startswith("@"):
        if not is_domain(pattern[1:]):
            raise ValueError(f"not a domain: {pattern[1:]!r}")
    elif not is_email(pattern):
        raise ValueError(f"not an address or @domain: {pattern!r}")
    return display_form(pattern)


def display_form(pattern: str) -> str:
    """A valid pattern as it is saved and shown: the mailbox (mailbox_of) or '@domain', the domain in Unicode."""
    if pattern.startswith("@"):
        return "@" + domain_forms(key(pattern)[1:])[0]
    local, _, domain = mailbox_of(pattern).rpartition("@")
    return f"{local}@{domain_forms(domain)[0]}"


@functools.lru_cache(maxsize=4096)  # pure; a mailbox's patterns are checked against every message
def key(pattern: str) -> str:
    """What two spellings of one pattern share: the mailbox, or '@' + the domain, all in the ASCII form."""
    pattern = pattern.strip()
    if not pattern.startswith("@"):
        return mailbox_of(pattern)
    domain = canonical_domain(pattern[1:])
    return "@gmail.com" if domain in GMAIL_DOMAINS else "@" + domain  # mailbox_of puts googlemail.com at gmail.com


def _covers_key(pattern_key: str, mailbox: str) -> bool:
    if pattern_key.startswith("@"):
        domain = mailbox.rpartition("@")[2]
        return domain == pattern_key[1:] or domain.endswith("." + pattern_key[1:])
    return mailbox == pattern_key


def covers(pattern: str, address: str) -> bool:
    """Whether one pattern (saved in any form) covers one address (as it appears in a header)."""
    return _covers_key(key(pattern), mailbox_of(address))


def excluded(addresses, patterns) -> bool:
    """Whether any address is covered by any pattern (one set look-up per address and parent domain)."""
    keys = {key(p) for p in patterns if p and p.strip()}
    if not keys:
        return False
    domains = {k[1:] for k in keys if k.startswith("@")}
    for address in addresses:
        if not address or "@" not in address:
            continue
        mailbox = mailbox_of(address)
        if mailbox in keys:
            return True
        labels = mailbox.rpartition("@")[2].split(".")
        if domains and any(".".join(labels[i:]) in domains for i in range(len(labels))):
            return True
    return False
