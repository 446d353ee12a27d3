"""Which addresses and domains an investor may have: never the team's own, never a public mail provider.

An investor address is captured from every teammate's mailbox, so adding a teammate's address (or
one at the firm's domain, or all of gmail.com) as an "investor" would capture the team's private mail.
Refused, with the reason:
- an address or domain at the firm's own domains: CRM_GMAIL_WORKSPACE_DOMAIN (Settings.firm_domain)
  plus the domain of every person who has a CRM login, unless that is a public mail provider;
- an address of anyone with a CRM login, or of any mailbox an integration registered
  (register_team_addresses: the Gmail capture registers its enrolled mailboxes; the core never
  imports the integration);
- a domain on FREE_MAIL_DOMAINS (addresses there are fine: investors use Gmail too).
"""
from __future__ import annotations

from . import users_db

# Domains shared by unrelated people: one list for the whole CRM (the email matcher never matches
# them by domain either).
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "live.com", "msn.com",
    "yahoo.com", "yahoo.co.uk", "ymail.com", "aol.com", "icloud.com", "me.com", "mac.com", "proton.me",
    "protonmail.com", "pm.me", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "zoho.com", "yandex.com",
    "yandex.ru", "qq.com", "163.com", "126.com", "fastmail.com", "hey.com", "tutanota.com", "naver.com",
})

_team_sources = []  # callables conn -> iterable of addresses


def register_team_addresses(source) -> None:
    """Add a source of team addresses (called by an integration at import; idempotent)."""
    if source not in _team_sources:
        _team_sources.append(source)


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower().strip().rstrip(".")


def _within(domain: str, parent: str) -> bool:
    return domain == parent or domain.endswith("." + parent)


def firm_domains(conn, configured: str = "") -> set[str]:
    """The firm's own domains: the configured one and every person's login domain (public mail excluded)."""
    found = {configured.lower().strip().lstrip("@")} if configured and configured.strip() else set()
    for user in users_db.list_users(conn):
        domain = domain_of(user["email"])
        if user["role"] != "bot" and domain and domain not in FREE_MAIL_DOMAINS:
            found.add(domain)
    return found


# Gmail ignores dots in the local part and treats googlemail.com as gmail.com
# (https://support.google.com/mail/answer/7436150); Gmail, Outlook.com and iCloud deliver
# name+anything@ to name@ (https://support.google.com/a/users/answer/9308648).
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def mailbox_of(address: str) -> str:
    """The mailbox an address is delivered to: lower case, without a +tag, and at Gmail without dots."""
    local, _, domain = address.strip().lower().rstrip(".").rpartition("@")
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
    if value in FREE_MAIL_DOMAINS:
        return f"{value} is a public mail provider: matching it would link strangers' mail to this investor"
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
