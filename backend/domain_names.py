"""Domain names as the CRM compares them: lower case, NFC, no trailing dot, an internationalised domain in
both its Unicode and its xn-- ASCII form (domain_forms), and the check that a string is a domain (is_domain).
Pure: used by the settings, the address policy and the investor API alike."""
from __future__ import annotations

import functools
import re
import unicodedata

# Labels of letters, digits and inner hyphens, at least two of them (a bare TLD is refused: surely a typo).
DOMAIN_RE = re.compile(r"\A[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)+\Z")


def _ascii_label(label: str) -> str:
    # IDNA 2008 without mapping (RFC 5891 §4.4): a non-ASCII label is xn-- + its RFC 3492 punycode. (Python's
    # "idna" codec is IDNA 2003, which maps ß to ss and so names a different domain.)
    return label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")


def _unicode_label(label: str) -> str:
    if label.startswith("xn--"):
        try:
            return label[4:].encode("ascii").decode("punycode")
        except (UnicodeError, ValueError):
            return label
    return label


def domain_forms(domain: str) -> list[str]:
    """An internationalised domain in both forms, Unicode first ([domain] for a plain ASCII one); lower case, NFC."""
    return list(_forms(domain))


@functools.lru_cache(maxsize=8192)  # pure; the same few domains recur in every message's headers
def _forms(domain: str) -> tuple[str, ...]:
    labels = unicodedata.normalize("NFC", domain.strip().lower().rstrip(".")).split(".")
    forms = [".".join(_unicode_label(l) for l in labels), ".".join(_ascii_label(l) for l in labels)]
    return tuple(dict.fromkeys(forms))


def canonical_domain(domain: str) -> str:
    """The one form two spellings of a domain share: the xn-- ASCII form, lower case, without a trailing dot."""
    return _forms(domain)[-1]


def is_domain(value: str) -> bool:
    """A domain name (an internationalised one is checked in its xn-- form)."""
    try:
        return bool(DOMAIN_RE.match(canonical_domain(value)))
    except (UnicodeError, ValueError):
        return False
