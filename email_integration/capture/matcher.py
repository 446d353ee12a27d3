"""Which investors an email concerns: exact address first, then domain (never free-mail or our own domain).
An internationalised domain matches in either form (Unicode or its xn-- ASCII form: address_policy.domain_forms)."""
from __future__ import annotations

import threading

from backend.address_policy import FREE_MAIL_DOMAINS, address_forms, capturable, domain_forms, domain_of
from backend.investors_db import investor_addresses, investors_rev

from .db_accounts import team_revision

class InvestorIndex:
    """Investor addresses and domains indexed for matching; built from (investor_id, kind, value) rows."""

    def __init__(self, rows, own_domain: str = ""):
        self.by_email: dict[str, set[int]] = {}
        self.by_domain: dict[str, set[int]] = {}
        blocked = FREE_MAIL_DOMAINS | ({own_domain.lower()} if own_domain else set())
        for investor_id, kind, value in rows:
            value = (value or "").strip().lower()
            if kind == "email" and "@" in value:
                for form in address_forms(value):
                    self.by_email.setdefault(form, set()).add(investor_id)
            elif kind == "domain" and value and value not in blocked:
                for form in domain_forms(value.lstrip("@")):
                    self.by_domain.setdefault(form, set()).add(investor_id)

    def match(self, addresses) -> list[tuple[int, str, str]]:
        """[(investor_id, 'exact'|'domain', address)], one per investor, exact preferred, stable order."""
        found: dict[int, tuple[int, str, str]] = {}
        addresses = [a.strip().lower() for a in addresses if a and "@" in a]
        addresses = list(dict.fromkeys(form for a in addresses for form in address_forms(a)))
        for address in addresses:
            for investor_id in sorted(self.by_email.get(address, ())):
                found.setdefault(investor_id, (investor_id, "exact", address))
        for address in addresses:
            domain = domain_of(address)
            # Subdomains count: mail.alder.vc belongs to alder.vc.
            candidates = [domain] + [domain.split(".", i)[-1] for i in range(1, domain.count("."))]
            for candidate in candidates:
                for investor_id in sorted(self.by_domain.get(candidate, ())):
                    found.setdefault(investor_id, (investor_id, "domain", address))
        return sorted(found.values())


class MatcherCache:
    """One InvestorIndex per process, rebuilt when crm_meta.investors_rev moves (an investor changed)."""

    def __init__(self, own_domain: str = ""):
        self.own_domain = own_domain
        self._lock = threading.Lock()
        self._rev = None
        self._index = None

    def index(self, conn) -> InvestorIndex:
        """Investor rows that would capture the team (saved before the address policy, or before that
        teammate joined) are left out: rebuilt when the investors or the team change."""
        rev = (investors_rev(conn), team_revision(conn))
        with self._lock:
            if self._index is None or rev != self._rev:
                rows = capturable(conn, investor_addresses(conn), self.own_domain)
                self._index = InvestorIndex(rows, self.own_domain)
                self._rev = rev
            return self._index
