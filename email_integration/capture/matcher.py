"""Which investors an email concerns: exact address first, then domain (never free-mail or our own domain).
An internationalised domain matches in either form (Unicode or its xn-- ASCII form: address_policy.domain_forms).

And which of an investor's people (issue 24, item 8): an address assigned to a person is that person; any other
address that matches the investor (unassigned, or at its domain) is the person whose name equals the address's
display name (case and spacing aside), else nobody. An investor without people has nobody: the investor is
the person, as before."""
from __future__ import annotations

import threading

from backend.address_policy import FREE_MAIL_DOMAINS, address_forms, capturable, domain_forms, domain_of
from backend.investors_db import investor_addresses, investors_rev, people_rows

from .db_accounts import team_revision

_MEMO_MAX = 50_000  # person() answers kept per index


class InvestorIndex:
    """Investor addresses and domains indexed for matching; built from (investor_id, kind, value) rows."""

    def __init__(self, rows, own_domain: str = "", people=()):
        """`people`: investors_db.people_rows' dicts {id, investor_id, name, title, emails}."""
        self.by_email: dict[str, set[int]] = {}
        self.by_domain: dict[str, set[int]] = {}
        self.person_by_email: dict[str, tuple[int, dict]] = {}  # address form → (investor_id, person)
        self.people_by_name: dict[tuple[int, str], dict] = {}  # (investor_id, folded name) → person
        self.with_people: set[int] = set()  # investors that have people (the others name nobody, at no cost)
        self._memo: dict[tuple, dict | None] = {}
        for person in people:
            self.with_people.add(person["investor_id"])
            brief = {k: person[k] for k in ("id", "name", "title")}
            for email in person["emails"]:
                for form in address_forms(email.strip().lower()):
                    self.person_by_email[form] = (person["investor_id"], brief)
            self.people_by_name.setdefault((person["investor_id"], _folded(person["name"])), brief)
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
            for candidate in _domains_of(address):
                for investor_id in sorted(self.by_domain.get(candidate, ())):
                    found.setdefault(investor_id, (investor_id, "domain", address))
        return sorted(found.values())

    def person(self, investor_id: int, address: str, name: str = "") -> dict | None:
        """The investor's person this address (with its display name) is: {id, name, title}, or None."""
        address = (address or "").strip().lower()
        if investor_id not in self.with_people or "@" not in address:
            return None
        key = (investor_id, address, name or "")
        if key not in self._memo:
            if len(self._memo) >= _MEMO_MAX:
                self._memo.clear()  # bounded: a page of cards repeats a few participants many times
            self._memo[key] = self._person(investor_id, address, name)
        return self._memo[key]

    def _person(self, investor_id: int, address: str, name: str) -> dict | None:
        forms = address_forms(address)
        if not any(investor_id in self.by_email.get(form, ()) or
                   any(investor_id in self.by_domain.get(d, ()) for d in _domains_of(form)) for form in forms):
            return None  # not the investor's address: a name alone names nobody
        for form in forms:
            assigned = self.person_by_email.get(form)
            if assigned is not None:
                return assigned[1] if assigned[0] == investor_id else None
        return self.people_by_name.get((investor_id, _folded(name))) if name else None

    def people(self, investor_id: int, participants) -> list[dict]:
        """The investor's distinct people ({id, name, title}) among `participants` ({email, name} dicts), in order."""
        found: dict[int, dict] = {}
        if investor_id not in self.with_people:
            return []
        for participant in participants:
            if participant:
                person = self.person(investor_id, participant.get("email") or "", participant.get("name") or "")
                if person is not None:
                    found.setdefault(person["id"], person)
        return list(found.values())


def _domains_of(address: str) -> list[str]:
    """The address's domain and its parents: subdomains count (mail.alder.vc belongs to alder.vc)."""
    domain = domain_of(address)
    return [domain] + [domain.split(".", i)[-1] for i in range(1, domain.count("."))]


def _folded(name: str) -> str:
    return " ".join((name or "").casefold().replace('"', "").split())


def index_for(conn, investor_ids: list[int] | None, own_domain: str = "") -> InvestorIndex:
    """An index of these investors' addresses and people (every investor's with None), for reading stored
    mail (the relationship view, cards, the timeline); not filtered by the address policy as capture is."""
    if investor_ids is not None and len(investor_ids) == 1:
        rows = investor_addresses(conn, investor_ids[0])
    else:
        rows = investor_addresses(conn)
        if investor_ids is not None:
            wanted = set(investor_ids)
            rows = [r for r in rows if r[0] in wanted]
    return InvestorIndex(rows, own_domain, people_rows(conn, investor_ids))


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
                self._index = InvestorIndex(rows, self.own_domain, people_rows(conn))
                self._rev = rev
            return self._index
