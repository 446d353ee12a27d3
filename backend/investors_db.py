"""All SQL for investors, their addresses and domains, grid notes, and the audit log."""
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
    return investors


def list_investors(conn, q: str | None = None) -> list[dict]:
    if q:
        like = f"%{q.lower()}%"
        rows = conn.execute(
            _INVESTOR_SELECT + " WHERE lower(i.name) LIKE ? OR lower(coalesce(i.firm, '')) LIKE ? OR EXISTS "
            "(SELECT 1 FROM investor_emails e WHERE e.investor_id = i.id AND lower(e.email) LIKE ?) "
            "ORDER BY lower(i.name), i.id", (like, like, like))
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
        conn.execute("DELETE FROM investor_emails WHERE investor_id = ?", (investor_id,))
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


def update_investor(conn, investor_id: int, changes: dict, user_id=None) -> bool:
    """Apply name/firm/emails/domains changes (emails/domains replace the sets); False if unknown."""
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
