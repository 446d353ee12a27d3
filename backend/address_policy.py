"""Which addresses and domains an investor may have: never the team's own, never a public mail provider.

An investor address is captured from every teammate's mailbox, so adding a teammate's address (or
one at the firm's domain, or all of gmail.com) as an "investor" would capture the team's private mail.
Refused, with the reason:
- an address or domain at the firm's own domains or their subdomains: CRM_GMAIL_WORKSPACE_DOMAIN
  (Settings.firm_domain), CRM_FIRM_DOMAINS (the Workspace's alias and secondary domains, set_firm_domains) and
  the domain of every person who has a CRM login, unless that is a public mail provider;
- an address of anyone with a CRM login, or of any mailbox an integration registered
  (register_team_addresses: the Gmail capture registers its enrolled mailboxes; the core never
  imports the integration);
- a public mail provider's domain (free_mail: a vendored list of some 14,000), or a registry's second level
  with one under it (co.uk); addresses there are fine: investors use Gmail too;
- more than MAX_EMAILS_PER_INVESTOR addresses or MAX_DOMAINS_PER_INVESTOR domains on one investor, or more
  than MAX_ADDRESSES_TOTAL of both over all investors: every address is searched in every mailbox on every
  run, so a member must not be able to push each run over Gmail's quota (limit_refusal);
- whatever an integration's registered check refuses (register_address_check: the Gmail capture refuses an
  address its search cannot express, and a set of addresses whose search would not fit its quota).
Internationalised domains are one domain in either form (domain_forms: Unicode and its xn-- ASCII form).
"""
from __future__ import annotations

import functools
import unicodedata

from . import investors_db, users_db
from .domain_names import canonical_domain, domain_forms
from .free_mail import FREE_MAIL_DOMAINS, covers_free_mail, is_free_mail  # noqa: F401  (FREE_MAIL_DOMAINS: re-exported)

# Caps on investor addresses and domains (the Gmail capture searches each in every mailbox, every run:
# 400 addresses of a typical 30 characters make 39 searches of 5 quota units, under 4% of a mailbox's
# per-minute budget; email_integration/gmail/search_query.py MAX_SEARCH_QUERIES holds the search itself).
MAX_EMAILS_PER_INVESTOR = 20
MAX_DOMAINS_PER_INVESTOR = 10
MAX_ADDRESSES_TOTAL = 400

_team_sources = []  # callables conn -> iterable of addresses
_configured_firm_domains: frozenset[str] = frozenset()  # CRM_FIRM_DOMAINS (set_firm_domains)
_address_checks = []  # callables (conn, investor_id | None, emails, domains) -> reason | None


def register_team_addresses(source) -> None:
    """Add a source of team addresses (called by an integration at import; idempotent)."""
    if source not in _team_sources:
        _team_sources.append(source)


def set_firm_domains(domains) -> None:
    """The firm's domains from the settings (CRM_FIRM_DOMAINS: the Workspace's secondary and alias domains), set
    once at start by whatever loaded the settings (the server, the capture's sync-now); both IDN forms of each."""
    global _configured_firm_domains
    _configured_firm_domains = frozenset(form for d in domains for form in domain_forms(d.lstrip("@")) if d.strip())


def register_address_check(check) -> None:
    """Add a check of an investor's new addresses: check(conn, investor_id or None for a new investor, emails,
    domains) → the reason they are refused, or None (emails/domains None: unchanged). Idempotent."""
    if check not in _address_checks:
        _address_checks.append(check)


def address_forms(address: str) -> list[str]:
    """An address with an internationalised domain in both forms (the local part kept, NFC: "jürgen" typed or
    saved decomposed is the same address as in a header, and Gmail's words split a decomposed ü)."""
    address = unicodedata.normalize("NFC", address.strip().lower())
    local, at, domain = address.rpartition("@")
    return [f"{local}@{form}" for form in domain_forms(domain)] if at else [address]


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower().strip().rstrip(".")


def _within(domain: str, parent: str) -> bool:
    return domain == parent or domain.endswith("." + parent)


def firm_domains(conn, configured: str = "") -> set[str]:
    """The firm's own domains: the Workspace domain given (CRM_GMAIL_WORKSPACE_DOMAIN), CRM_FIRM_DOMAINS
    (set_firm_domains: its alias and secondary domains) and every person's login domain (public mail excluded);
    an internationalised one in both forms."""
    found = set(_configured_firm_domains)
    if configured and configured.strip():
        found.update(domain_forms(configured.strip().lstrip("@")))
    for user in users_db.list_users(conn):
        domain = domain_of(user["email"])
        if user["role"] != "bot" and domain and not is_free_mail(domain):
            found.update(domain_forms(domain))
    return found


# Gmail ignores dots in the local part and treats googlemail.com as gmail.com
# (https://support.google.com/mail/answer/7436150); Gmail, Outlook.com and iCloud deliver
# name+anything@ to name@ (https://support.google.com/a/users/answer/9308648).
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


@functools.lru_cache(maxsize=8192)  # pure; called per participant per exclusion check
def mailbox_of(address: str) -> str:
    """The mailbox an address is delivered to: lower case, without a +tag, and at Gmail without dots; the local
    part in Unicode NFC, the domain in its xn-- ASCII form without a trailing dot (so either IDN spelling of a
    domain, and either Unicode composition of a name, is the same mailbox). A +tag is dropped at every provider:
    where one delivers a+b@ elsewhere than a@, the policy errs on the side of the team's privacy."""
    local, _, domain = address.strip().rpartition("@")
    local, domain = unicodedata.normalize("NFC", local).lower(), canonical_domain(domain)
    local = local.split("+", 1)[0] or local
    if domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def team_addresses(conn) -> set[str]:
    addresses = {user["email"].lower() for user in users_db.list_users(conn)}
    for source in _team_sources:
        addresses.update(a.lower() for a in source(conn))
    return addresses


def _team_mailboxes(conn) -> set[str]:
    return {mailbox_of(a) for a in team_addresses(conn)}


def team_only(conn, addresses, configured_domain: str = "") -> bool:
    """Whether every address is a teammate's or at the firm's own domains (internal mail)."""
    team, own = _team_mailboxes(conn), firm_domains(conn, configured_domain)
    return bool(addresses) and all(mailbox_of(a) in team or any(_within(domain_of(a), firm) for firm in own)
                                   for a in addresses)


def _reason(kind: str, value: str, team: set[str], own: set[str]) -> str | None:
    """Why one investor address ('email') or domain ('domain') would capture the team (None: it would not);
    `team`: the teammates' mailboxes (mailbox_of), `own`: the firm's domains."""
    if kind == "email":
        if mailbox_of(value) in team:
            return f"{value} is a teammate's address: investor addresses would capture their mail"
        for firm in own:
            if _within(domain_of(value), firm):
                return f"{value} is at the firm's own domain {firm}: investor addresses would capture the team's mail"
        return None
    if is_free_mail(value):
        return f"{value} is a public mail provider: matching it would link strangers' mail to this investor"
    if covers_free_mail(value):
        return f"{value} covers public mail providers (such as hotmail.co.uk under co.uk): it would link strangers' mail"
    for firm in own:
        if _within(value, firm) or _within(firm, value):
            return f"{value} covers the firm's own domain {firm}: it would capture the team's mail"
    return None


def refusal(conn, emails: list[str], domains: list[str], configured_domain: str = "") -> str | None:
    """Why these investor addresses/domains are refused (None: they are fine). Inputs are lower case."""
    team, own = _team_mailboxes(conn), firm_domains(conn, configured_domain)
    reasons = [_reason("email", e, team, own) for e in emails] + [_reason("domain", d, team, own) for d in domains]
    return next((r for r in reasons if r), None)


def capturable(conn, rows, configured_domain: str = "") -> list[tuple]:
    """Of (investor_id, 'email'|'domain', value) rows, those the policy allows: what the email matcher
    indexes, so an investor address saved before the policy (or before that teammate joined) never
    captures the team's mail."""
    team, own = _team_mailboxes(conn), firm_domains(conn, configured_domain)
    return [row for row in rows
            if _reason(row[1], (row[2] or "").strip().lower().lstrip("@").rstrip("."), team, own) is None]


def limit_refusal(conn, investor_id: int | None, emails: list[str] | None, domains: list[str] | None) -> str | None:
    """Why an investor's new addresses/domains (None: unchanged) would pass the caps; None when they do not."""
    if emails is not None and len(emails) > MAX_EMAILS_PER_INVESTOR:
        return (f"an investor can have at most {MAX_EMAILS_PER_INVESTOR} email addresses ({len(emails)} given): "
                "add the firm's domain instead")
    if domains is not None and len(domains) > MAX_DOMAINS_PER_INVESTOR:
        return f"an investor can have at most {MAX_DOMAINS_PER_INVESTOR} domains ({len(domains)} given)"
    others, own_emails, own_domains = investors_db.address_counts(conn, investor_id)
    total = others + (len(emails) if emails is not None else own_emails) + \
        (len(domains) if domains is not None else own_domains)
    if total > MAX_ADDRESSES_TOTAL:
        return (f"the CRM holds at most {MAX_ADDRESSES_TOTAL} investor addresses and domains in all (this would make "
                f"{total}): every one is searched in every mailbox on every sync; remove unused ones first")
    return None


def registered_refusal(conn, investor_id: int | None, emails: list[str] | None, domains: list[str] | None) -> str | None:
    """The first reason a registered check gives (register_address_check), or None."""
    return next((r for r in (check(conn, investor_id, emails, domains) for check in _address_checks) if r), None)
