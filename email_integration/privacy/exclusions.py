"""Exclusion patterns: 'addr@x' (that address) or '@x' (that domain and its subdomains). Pure: no SQL.

A message is excluded from a mailbox when any of its participants (From, To, Cc, Bcc, Reply-To)
is covered by one of the mailbox's patterns (its owner's and the firm's, db_privacy).
"""
from __future__ import annotations

from backend.investors_api import is_domain, is_email

SCOPES = ("mine", "firm")


def parse_pattern(raw) -> str:
    """The normalised pattern (lower case), or ValueError saying what is wrong."""
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
    return pattern


def covers(pattern: str, address: str) -> bool:
    """Whether one (normalised) pattern covers one address."""
    address = address.strip().lower()
    if pattern.startswith("@"):
        domain = address.rpartition("@")[2]
        return domain == pattern[1:] or domain.endswith("." + pattern[1:])
    return address == pattern


def excluded(addresses, patterns) -> bool:
    """Whether any address is covered by any pattern."""
    return any(covers(pattern, address) for pattern in patterns for address in addresses if address)
