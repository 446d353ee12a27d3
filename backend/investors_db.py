"""All SQL for investors, their addresses, domains and people, grid notes, and the audit log."""
from __future__ import annotations

from .audit_db import audit
from .db import atomic, now_iso

_INVESTOR_SELECT = (
    "SELECT i.id, i.name, i.firm, i.last_contact_at, i.created_at, i.updated_at, "
    "(SELECT COUNT(*) FROM grid_notes n WHERE n.investor_id = i.id) AS note_count FROM investors i")


class DuplicateEmail(ValueError):
    """An address already belongs to another investor."""

    def __init__(self, email: str, investor_id: int):
        super().__init__(f"{email} already belongs to investor {investor_id}")
        self.email, self.investor_id = email, investor_id


def _with_addresses(conn, rows) -> list[dict]:
    investors = [dict(r) for r in rows]
    if not investors:
        return []
    by_id = {inv["id"]: inv for inv in investors}
    for inv in investors:
        inv["emails"], inv["domains"] = [], []
    marks = ",".join("?" * len(by_id))
    for row in conn.execute(f"SELECT investor_id, email FROM investor_emails WHERE investor_id IN ({marks}) "
                            "ORDER BY id", tuple(by_id)):
        by_id[row[0]]["emails"].append(row[1])
    for row in conn.execute(f"SELECT investor_id, domain FROM investor_domains WHERE investor_id IN ({marks}) "
                            "ORDER BY id", tuple(by_id)):
        by_id[row[0]]["domains"].append(row[1])
    _with_people(conn, by_id)
    return investors


def list_investors(conn, q: str | None = None) -> list[dict]:
    if q:
        like = f"%{q.lower()}%"
        rows = conn.execute(
            _INVESTOR_SELECT + " WHERE lower(i.name) LIKE ? OR lower(coalesce(i.firm, '')) LIKE ? OR EXISTS "
            "(SELECT 1 FROM investor_emails e WHERE e.investor_id = i.id AND lower(e.email) LIKE ?) OR EXISTS "
            "(SELECT 1 FROM investor_people p WHERE p.investor_id = i.id AND lower(p.name) LIKE ?) "
            "ORDER BY lower(i.name), i.id", (like, like, like, like))
    else:
        rows = conn.execute(_INVESTOR_SELECT + " ORDER BY lower(i.name), i.id")
    return _with_addresses(conn, rows.fetchall())


def get_investor(conn, investor_id: int) -> dict | None:
    found = _with_addresses(conn, conn.execute(_INVESTOR_SELECT + " WHERE i.id = ?", (investor_id,)).fetchall())
    return found[0] if found else None


def _bump_rev(conn) -> None:
    conn.execute("UPDATE crm_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'investors_rev'")


def _set_addresses(conn, investor_id: int, emails, domains) -> None:
    if emails is not None:
        for email in emails:
            row = conn.execute("SELECT investor_id FROM investor_emails WHERE email = ?", (email,)).fetchone()
            if row and row[0] != investor_id:
                raise DuplicateEmail(email, row[0])
        # Kept addresses keep their rows (a person's assignment points at the row); removed ones go.
        kept = ",".join("?" * len(emails))
        conn.execute(f"DELETE FROM investor_emails WHERE investor_id = ? AND email NOT IN ({kept})",
                     (investor_id, *emails))
        conn.executemany("INSERT OR IGNORE INTO investor_emails (investor_id, email) VALUES (?, ?)",
                         [(investor_id, e) for e in emails])
    if domains is not None:
        conn.execute("DELETE FROM investor_domains WHERE investor_id = ?", (investor_id,))
        conn.executemany("INSERT OR IGNORE INTO investor_domains (investor_id, domain) VALUES (?, ?)",
                         [(investor_id, d) for d in domains])


def _addresses(conn, investor_id: int) -> tuple[list[str], list[str]]:
    found = _with_addresses(conn, conn.execute("SELECT id FROM investors WHERE id = ?", (investor_id,)).fetchall())
    return (found[0]["emails"], found[0]["domains"]) if found else ([], [])


def _address_changes(before, after) -> dict:
    """The audit detail of an address/domain change: {"emails": {"before", "after"}, …} for what changed."""
    return {kind: {"before": sorted(old), "after": sorted(new)}
            for kind, old, new in (("emails", before[0], after[0]), ("domains", before[1], after[1]))
            if sorted(old) != sorted(new)}


def create_investor(conn, name: str, firm: str | None, emails: list[str], domains: list[str], user_id=None) -> int:
    with atomic(conn):
        now = now_iso()
        investor_id = conn.execute("INSERT INTO investors (name, firm, created_at, updated_at) VALUES (?, ?, ?, ?)",
                                   (name, firm, now, now)).lastrowid
        _set_addresses(conn, investor_id, emails, domains)
        _bump_rev(conn)
        audit(conn, user_id, "investor.create", "investor", investor_id,
              {"name": name, **_address_changes(([], []), (emails, domains))})
    return investor_id


def update_investor(conn, investor_id: int, changes: dict, user_id=None, also=None) -> bool:
    """Apply name/firm/emails/domains changes (emails/domains replace the sets); False if unknown. `also(conn)` (the
    email integration's re-link of what the addresses matched) runs in the same transaction, after the change."""
    with atomic(conn):
        if conn.execute("SELECT 1 FROM investors WHERE id = ?", (investor_id,)).fetchone() is None:
            return False
        before = _addresses(conn, investor_id)
        for column in ("name", "firm"):
            if column in changes:
                conn.execute(f"UPDATE investors SET {column} = ? WHERE id = ?", (changes[column], investor_id))
        _set_addresses(conn, investor_id, changes.get("emails"), changes.get("domains"))
        conn.execute("UPDATE investors SET updated_at = ? WHERE id = ?", (now_iso(), investor_id))
        _bump_rev(conn)
        if also is not None:
            also(conn)
        audit(conn, user_id, "investor.update", "investor", investor_id,
              {"fields": sorted(changes), **_address_changes(before, _addresses(conn, investor_id))})
    return True


def merge_investors(conn, keep: int, gone: int, user_id: int | None, also=None) -> dict:
    """Fold investor `gone` into `keep` (issue 24, item 5): its notes, addresses and domains move, `also(conn)`
    (the email integration's links, cards, …) runs in the same transaction, then `gone` is deleted; audited.
    Returns what moved: {notes, emails, domains}."""
    with atomic(conn):
        names = dict(conn.execute("SELECT id, name FROM investors WHERE id IN (?, ?)", (keep, gone)).fetchall())
        before = _addresses(conn, keep)
        notes = conn.execute("UPDATE grid_notes SET investor_id = ? WHERE investor_id = ?", (keep, gone)).rowcount
        emails = conn.execute("UPDATE investor_emails SET investor_id = ? WHERE investor_id = ?", (keep, gone)).rowcount
        conn.execute("UPDATE investor_people SET investor_id = ? WHERE investor_id = ?", (keep, gone))
        domains = conn.execute("INSERT OR IGNORE INTO investor_domains (investor_id, domain) "
                               "SELECT ?, domain FROM investor_domains WHERE investor_id = ?", (keep, gone)).rowcount
        conn.execute("UPDATE investors SET last_contact_at = (SELECT max(coalesce(last_contact_at, '')) FROM investors "
                     "WHERE id IN (?, ?)), firm = coalesce(firm, (SELECT firm FROM investors WHERE id = ?)), "
                     "updated_at = ? WHERE id = ?", (keep, gone, gone, now_iso(), keep))
        conn.execute("UPDATE investors SET last_contact_at = NULL WHERE id = ? AND last_contact_at = ''", (keep,))
        if also is not None:
            also(conn)
        conn.execute("DELETE FROM investors WHERE id = ?", (gone,))
        _bump_rev(conn)
        moved = {"notes": notes, "emails": emails, "domains": domains}
        audit(conn, user_id, "investor.merge", "investor", keep,
              {"merged": {"id": gone, "name": names.get(gone)}, **moved,
               **_address_changes(before, _addresses(conn, keep))})
    return moved


def investor_exists(conn, investor_id: int) -> bool:
    return conn.execute("SELECT 1 FROM investors WHERE id = ?", (investor_id,)).fetchone() is not None


def list_notes(conn, investor_id: int) -> list[dict]:
    return notes_before(conn, investor_id, None, -1)  # LIMIT -1: all of them


def notes_before(conn, investor_id: int, bound: tuple[str, int] | None, limit: int) -> list[dict]:
    """The investor's newest notes older than `bound` (at, id) (backend.timeline's order), at most `limit`."""
    where, params = "n.investor_id = ?", [investor_id]
    if bound is not None:
        where += " AND (n.created_at < ? OR (n.created_at = ? AND n.id < ?))"
        params += [bound[0], bound[0], bound[1]]
    rows = conn.execute(
        "SELECT n.id, n.body, n.source, n.source_ref, u.name AS author, n.author_user_id AS author_id, n.created_at "
        "FROM grid_notes n "
        f"LEFT JOIN users u ON u.id = n.author_user_id WHERE {where} ORDER BY n.created_at DESC, n.id DESC LIMIT ?",
        (*params, limit))
    return [dict(r) for r in rows]


def get_note(conn, note_id: int) -> dict | None:
    row = conn.execute(
        "SELECT n.id, n.investor_id, n.body, n.source, n.source_ref, u.name AS author, n.author_user_id AS author_id, "
        "n.created_at "
        "FROM grid_notes n LEFT JOIN users u ON u.id = n.author_user_id WHERE n.id = ?", (note_id,)).fetchone()
    return dict(row) if row else None


def add_grid_note(conn, investor_id: int, body: str, source: str, source_ref: str | None,
                  author_user_id: int | None, created_at: str | None = None) -> int:
    """Insert one grid note (joins the caller's transaction when there is one) and audit it."""
    with atomic(conn):
        note_id = conn.execute(
            "INSERT INTO grid_notes (investor_id, body, source, source_ref, author_user_id, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (investor_id, body, source, source_ref, author_user_id, created_at or now_iso())).lastrowid
        audit(conn, author_user_id, "note.create", "grid_note", note_id,
              {"investor_id": investor_id, "source": source, "source_ref": source_ref})
    return note_id


def note_author(conn, note_id: int) -> tuple[int, int | None] | None:
    """(investor id, author user id) of a note, or None when there is no such note."""
    row = conn.execute("SELECT investor_id, author_user_id FROM grid_notes WHERE id = ?", (note_id,)).fetchone()
    return (row[0], row[1]) if row else None


def update_note(conn, note_id: int, body: str, user_id: int) -> None:
    """Replace a note's text (issue 24, item 5); the audit row keeps the length before and after, not the text."""
    with atomic(conn):
        before = conn.execute("SELECT length(body) FROM grid_notes WHERE id = ?", (note_id,)).fetchone()[0]
        conn.execute("UPDATE grid_notes SET body = ? WHERE id = ?", (body, note_id))
        audit(conn, user_id, "note.edit", "grid_note", note_id, {"chars": {"before": before, "after": len(body)}})


def delete_note(conn, note_id: int, user_id: int | None, reason: str = "deleted") -> bool:
    """Delete a note (a proposal that wrote it keeps its decision; its note_id goes NULL); audited."""
    with atomic(conn):
        row = conn.execute("SELECT investor_id, source, source_ref FROM grid_notes WHERE id = ?", (note_id,)).fetchone()
        if row is None:
            return False
        conn.execute("DELETE FROM grid_notes WHERE id = ?", (note_id,))
        audit(conn, user_id, "note.delete", "grid_note", note_id,
              {"investor_id": row[0], "source": row[1], "source_ref": row[2], "reason": reason})
    return True


def bump_last_contact(conn, investor_id: int, at: str) -> None:
    """Move the investor's last contact forward to `at` (never backwards)."""
    conn.execute("UPDATE investors SET last_contact_at = ? WHERE id = ? "
                 "AND (last_contact_at IS NULL OR last_contact_at < ?)", (at, investor_id, at))


def investor_addresses(conn, investor_id: int | None = None) -> list[tuple[int, str, str]]:
    """Every (investor_id, 'email'|'domain', value) — what the email matcher indexes; one investor's with `investor_id`."""
    if investor_id is None:
        rows = conn.execute("SELECT investor_id, 'email', lower(email) FROM investor_emails "
                            "UNION ALL SELECT investor_id, 'domain', lower(domain) FROM investor_domains")
    else:
        rows = conn.execute("SELECT investor_id, 'email', lower(email) FROM investor_emails WHERE investor_id = ?1 "
                            "UNION ALL SELECT investor_id, 'domain', lower(domain) FROM investor_domains "
                            "WHERE investor_id = ?1", (investor_id,))
    return [tuple(r) for r in rows]


def investors_rev(conn) -> int:
    row = conn.execute("SELECT value FROM crm_meta WHERE key = 'investors_rev'").fetchone()
    return int(row[0]) if row else 0


def address_counts(conn, investor_id: int | None) -> tuple[int, int, int]:
    """(addresses and domains of every other investor, this investor's addresses, its domains)."""
    row = conn.execute("SELECT (SELECT count(*) FROM investor_emails WHERE investor_id IS NOT ?1) + "
                       "(SELECT count(*) FROM investor_domains WHERE investor_id IS NOT ?1), "
                       "(SELECT count(*) FROM investor_emails WHERE investor_id = ?1), "
                       "(SELECT count(*) FROM investor_domains WHERE investor_id = ?1)", (investor_id,)).fetchone()
    return row[0], row[1], row[2]


# -- people of an investor (issue 24, item 8) ------------------------------------------------------
class AddressTaken(ValueError):
    """An address is already another person's (of the same investor)."""


def _with_people(conn, by_id: dict) -> None:
    """Each investor's `people`: [{id, name, title, emails}] (empty: the investor is one person)."""
    for inv in by_id.values():
        inv["people"] = []
    for person in people_rows(conn, list(by_id)):
        by_id[person["investor_id"]]["people"].append(
            {k: person[k] for k in ("id", "name", "title", "emails")})


def people_rows(conn, investor_ids: list[int] | None = None) -> list[dict]:
    """[{id, investor_id, name, title, emails}] of these investors' people (every investor's with None), by id."""
    where, params = "", ()
    if investor_ids is not None:
        if not investor_ids:
            return []
        where, params = f" WHERE p.investor_id IN ({','.join('?' * len(investor_ids))})", tuple(investor_ids)
    people = {r["id"]: {**dict(r), "emails": []} for r in conn.execute(
        f"SELECT p.id, p.investor_id, p.name, p.title FROM investor_people p{where} ORDER BY p.id", params)}
    if people:
        marks = ",".join("?" * len(people))
        for person_id, email in conn.execute(
                f"SELECT a.person_id, lower(e.email) FROM investor_person_emails a JOIN investor_emails e "
                f"ON e.id = a.email_id WHERE a.person_id IN ({marks}) ORDER BY e.id", tuple(people)):
            people[person_id]["emails"].append(email)
    return list(people.values())


def get_person(conn, investor_id: int, person_id: int) -> dict | None:
    found = [p for p in people_rows(conn, [investor_id]) if p["id"] == person_id]
    return {k: found[0][k] for k in ("id", "name", "title", "emails")} if found else None


def _assign_emails(conn, investor_id: int, person_id: int, emails: list[str]) -> None:
    """The person's addresses become exactly `emails`: an address the investor lacks is added to it; one
    another investor has raises DuplicateEmail, one another person of this investor has AddressTaken."""
    for email in emails:
        row = conn.execute("SELECT id, investor_id FROM investor_emails WHERE email = ?", (email,)).fetchone()
        if row is not None and row[1] != investor_id:
            raise DuplicateEmail(email, row[1])
        if row is not None:
            other = conn.execute("SELECT p.name FROM investor_person_emails a JOIN investor_people p "
                                 "ON p.id = a.person_id WHERE a.email_id = ? AND a.person_id != ?",
                                 (row[0], person_id)).fetchone()
            if other is not None:
                raise AddressTaken(f"{email} is already {other[0]}'s address: remove it there first")
    conn.execute("DELETE FROM investor_person_emails WHERE person_id = ?", (person_id,))
    for email in emails:
        conn.execute("INSERT OR IGNORE INTO investor_emails (investor_id, email) VALUES (?, ?)", (investor_id, email))
        email_id = conn.execute("SELECT id FROM investor_emails WHERE email = ?", (email,)).fetchone()[0]
        conn.execute("INSERT INTO investor_person_emails (email_id, person_id) VALUES (?, ?)", (email_id, person_id))


def _person_touched(conn, investor_id: int) -> None:
    conn.execute("UPDATE investors SET updated_at = ? WHERE id = ?", (now_iso(), investor_id))
    _bump_rev(conn)  # the matcher's index holds the people too


def add_person(conn, investor_id: int, name: str, title: str | None, emails: list[str], user_id=None) -> int:
    with atomic(conn):
        now = now_iso()
        person_id = conn.execute("INSERT INTO investor_people (investor_id, name, title, created_at, updated_at) "
                                 "VALUES (?, ?, ?, ?, ?)", (investor_id, name, title, now, now)).lastrowid
        _assign_emails(conn, investor_id, person_id, emails)
        _person_touched(conn, investor_id)
        audit(conn, user_id, "person.create", "investor", investor_id,
              {"person_id": person_id, "name": name, "emails": sorted(emails)})
    return person_id


def update_person(conn, investor_id: int, person_id: int, changes: dict, user_id=None) -> None:
    """Apply name/title/emails changes (emails replace the person's set; unassigned ones stay the investor's)."""
    with atomic(conn):
        before = get_person(conn, investor_id, person_id)
        for column in ("name", "title"):
            if column in changes:
                conn.execute(f"UPDATE investor_people SET {column} = ?, updated_at = ? WHERE id = ?",
                             (changes[column], now_iso(), person_id))
        if "emails" in changes:
            _assign_emails(conn, investor_id, person_id, changes["emails"])
        _person_touched(conn, investor_id)
        detail = {"person_id": person_id, "fields": sorted(changes)}
        if "emails" in changes and sorted(changes["emails"]) != sorted(before["emails"]):
            detail["emails"] = {"before": sorted(before["emails"]), "after": sorted(changes["emails"])}
        audit(conn, user_id, "person.update", "investor", investor_id, detail)


def delete_person(conn, investor_id: int, person_id: int, user_id=None) -> None:
    """Remove a person; their addresses stay with the investor, unassigned."""
    with atomic(conn):
        name = conn.execute("SELECT name FROM investor_people WHERE id = ?", (person_id,)).fetchone()[0]
        conn.execute("DELETE FROM investor_people WHERE id = ? AND investor_id = ?", (person_id, investor_id))
        _person_touched(conn, investor_id)
        audit(conn, user_id, "person.delete", "investor", investor_id, {"person_id": person_id, "name": name})
