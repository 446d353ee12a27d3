"""Public mail providers: domains shared by unrelated people, never an investor's domain (address_policy).

The list is vendored in backend/lists/free_email_domains.txt (npm free-email-domains, MIT; its header names the
source, version and licence; devtools/refresh_free_mail.py refreshes it), read once at import, plus the few
providers the CRM refused before that the list lacks (LOCAL_ADDITIONS). A registry's second level that covers a
provider (co.uk covers hotmail.co.uk, ne.jp covers ezweb.ne.jp: matching it would match the provider's users) is
refused too (covers_free_mail). Without the Public Suffix List that is told by its shape: two labels, the first of
at most three characters; a company's domain that merely has a provider under it (google.com has bounces.google.com
on the list) stays allowed.
"""
from __future__ import annotations

import os

from .domain_names import canonical_domain

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lists", "free_email_domains.txt")
# In the CRM's own list before the vendored one and not in free-email-domains 1.12.6.
LOCAL_ADDITIONS = frozenset({"hey.com", "tutanota.com"})


def load(path: str = PATH) -> frozenset[str]:
    """The domains of a list file: one a line, '#' comments and blank lines skipped, lower case."""
    with open(path, encoding="utf-8") as handle:
        return frozenset(line.strip().lower().rstrip(".") for line in handle
                         if line.strip() and not line.lstrip().startswith("#"))


def registry_parents(domains) -> frozenset[str]:
    """The parents of the domains shaped like a registry's second level (co.uk, com.br, ne.jp: two labels, the
    first of at most three characters)."""
    return frozenset(parent for parent in (".".join(d.split(".")[-2:]) for d in domains if d.count(".") >= 2)
                     if len(parent.split(".")[0]) <= 3)


FREE_MAIL_DOMAINS = load() | LOCAL_ADDITIONS
_REGISTRY_PARENTS = registry_parents(FREE_MAIL_DOMAINS)


def is_free_mail(domain: str) -> bool:
    """Whether a domain (any case, either IDN form, a trailing dot) is a public mail provider's."""
    return canonical_domain(domain) in FREE_MAIL_DOMAINS


def covers_free_mail(domain: str) -> bool:
    """Whether a domain is a registry's second level with a public mail provider under it (co.uk): matching it and
    its subdomains would match the provider's users."""
    return canonical_domain(domain) in _REGISTRY_PARENTS
