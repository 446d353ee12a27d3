"""Read queries behind /api/email/*: only matched emails (investor-linked, or in the investors scope an
unlinked reply inside an investor conversation, shown with it: ingest.py), and only what the viewer
may see of them (db_visibility holds the rule)."""
from __future__ import annotations

import json

from email_integration.mail.headers import strip_bidi
from email_integration.privacy.db_visibility import (FULL, HIDDEN, METADATA, SUBJECT, bcc_visible_sql, email_level,
                                                     holds_thread, is_private, level_sql, link_visible_sql, redact,
                                                     sees_bcc)

from . import search_match


def has_fts(conn) -> bool:
    """Whether this SQLite has the emails_fts table (FTS5 is optional; ../db.py makes it when it can)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'emails_fts'").fetchone() is not None


def _fts_query(q: str) -> str:
    """User text → an FTS5 query of quoted prefix terms (no operators reach FTS5 from the user)."""
    return " ".join(f'"{w}"*' for w in search_match.search_words(q))


class Search:
    """One search of the thread list: the FTS5 terms (or the LIKE fallback), the investors it finds by
    name or firm, and the words' patterns the explanation of each hit uses (search_match)."""

    def __init__(self, conn, q: str):
        self.q, self.terms = q, _fts_query(q)
        self.fts = has_fts(conn) and bool(self.terms)
        self.words = search_match.patterns(q, substring=not self.fts)
        rows = conn.execute("SELECT id, name, firm FROM investors ORDER BY name, id").fetchall()
        self.investors = {r["id"]: _investor_text(r["name"], r["firm"]) for r in rows
                          if search_match.matches_all(_investor_text(r["name"], r["firm"]), self.words)}


def _investor_text(name: str, firm: str | None) -> str:
    return f"{name} · {firm}" if firm else name


def _matching_email_ids_sql(search: Search, viewer_id: int) -> tuple[str, list]:
    """A SQL fragment selecting ids of emails matching the search that the viewer may search: body and
    subject only where they may read them, participants (never Bcc) wherever they see the email, and the
    emails of an investor found by name through a link the viewer sees."""
    level, level_params = level_sql(viewer_id, "e2")
    shown, shown_params = link_visible_sql(viewer_id, "l.email_id", "l.investor_id", "e2")
    ids = ",".join(str(int(i)) for i in search.investors) or "NULL"
    by_investor = (f"SELECT e2.id FROM emails e2 JOIN email_investor_links l ON l.email_id = e2.id "
                   f"WHERE l.investor_id IN ({ids}) AND {shown}")
    if search.fts:
        terms = search.terms
        # One FTS5 query per level, narrowed by column filters; the search rows hold no Bcc.
        parts = [(terms, FULL), (f"{{subject participants}} : ({terms})", SUBJECT), (f"participants : ({terms})", METADATA)]
        sql = " UNION ".join(f"SELECT e2.id FROM emails e2 WHERE e2.id IN (SELECT rowid FROM emails_fts WHERE "
                             f"emails_fts MATCH ?) AND {level} >= {minimum}" for _, minimum in parts)
        return f"{sql} UNION {by_investor}", [p for match, _ in parts for p in (match, *level_params)] + shown_params
    q = search.q
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    people = ("SELECT e2.id FROM emails e2 WHERE e2.id IN (SELECT email_id FROM email_participants WHERE role != 'bcc' "
              "AND (address LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\'))")
    subject = f"SELECT e2.id FROM emails e2 WHERE e2.subject LIKE ? ESCAPE '\\' AND {level} >= {SUBJECT}"
    text = f"SELECT e2.id FROM emails e2 WHERE e2.body_text LIKE ? ESCAPE '\\' AND {level} >= {FULL}"
    return (f"{people} UNION {subject} UNION {text} UNION {by_investor}",
            [like, like, like, *level_params, like, *level_params, *shown_params])


def _in_mailbox_sql(viewer_id: int, mailbox_id: int) -> tuple[str, list]:
    """True when email `e` is in that mailbox as the viewer may know it: for the mailbox's owner, what it holds;
    for anyone else, mail naming the mailbox's address where the viewer sees it (From, To, Cc, Reply-To; a Bcc
    only for its sender), never whether the mailbox holds it: the filter tells neither who was Bcc'd nor what a
    teammate excluded or deleted."""
    bcc, bcc_params = bcc_visible_sql(viewer_id)
    return ("EXISTS (SELECT 1 FROM email_accounts fa WHERE fa.id = ? AND CASE WHEN fa.user_id IS ? THEN EXISTS "
            "(SELECT 1 FROM email_mailbox_entries fm WHERE fm.email_id = e.id AND fm.account_id = fa.id) ELSE EXISTS "
            "(SELECT 1 FROM email_participants fp WHERE fp.email_id = e.id AND lower(fp.address) = lower(fa.email) "
            f"AND (fp.role != 'bcc' OR {bcc})) END)"), [mailbox_id, viewer_id, *bcc_params]


def _visible(viewer_id: int, alias: str = "e", minimum: int = METADATA) -> tuple[str, list]:
    expr, params = level_sql(viewer_id, alias)
    return f"{alias}.matched = 1 AND {expr} >= {minimum}", params


def list_threads(conn, viewer_id: int, investor_id: int | None, q: str | None, limit: int,
                 offset: int, mailbox_id: int | None = None) -> tuple[list[dict], int]:
    """Conversations with at least one email the viewer sees; every figure counts only those emails.
    With `q`, each conversation says why it matched (`matched`: search_match.explain)."""
    visible, params = _visible(viewer_id)
    where = [visible]
    if mailbox_id is not None:
        held, held_params = _in_mailbox_sql(viewer_id, mailbox_id)
        where.append(held)
        params.extend(held_params)
    if investor_id is not None:
        # Only links the viewer may see: one a Bcc alone makes is its sender's (issue 22, item 2).
        shown, shown_params = link_visible_sql(viewer_id, "l.email_id", "l.investor_id")
        where.append(f"e.id IN (SELECT l.email_id FROM email_investor_links l WHERE l.investor_id = ? AND {shown})")
        params.extend([investor_id, *shown_params])
    search = Search(conn, q) if q else None
    if search:
        fragment, extra = _matching_email_ids_sql(search, viewer_id)
        where.append(f"e.id IN ({fragment})")
        params.extend(extra)
    base = f"FROM email_threads t JOIN emails e ON e.thread_id = t.id WHERE {' AND '.join(where)}"
    total = conn.execute(f"SELECT count(DISTINCT t.id) {base}", params).fetchone()[0]
    rows = conn.execute(f"SELECT t.id, max(e.date) AS last_date {base} "
                        "GROUP BY t.id ORDER BY last_date DESC, t.id DESC LIMIT ? OFFSET ?",
                        [*params, limit, offset]).fetchall()
    threads = []
    for row in rows:
        thread = dict(row)
        emails = visible_emails(conn, viewer_id, thread["id"])
        thread["subject"] = thread_subject(emails)
        thread["last_date"] = max((e["date"] or "" for e in emails), default=None) or None
        thread["email_count"] = len(emails)
        thread["investors"] = thread_investors(conn, viewer_id, thread["id"])
        thread["participants"] = _thread_participants(conn, viewer_id, thread["id"])
        thread["private"] = is_private(conn, thread["id"])
        threads.append(thread)
    if search:
        _explain(conn, viewer_id, search, threads, fragment, extra)
    return threads, total


EXPLAIN_EMAILS = 5  # a conversation is explained from its newest matching emails only, this many
EXPLAIN_BODY_CHARS = 10_000  # of each body, read one at a time until one holds a word


def _explain(conn, viewer_id: int, search: Search, threads: list[dict], fragment: str, params: list) -> None:
    """Each thread's `matched`: the fields of its newest EXPLAIN_EMAILS matching emails that hold the words, as
    the viewer may see them (the subject from SUBJECT, the body at FULL; participants never Bcc: the search does
    not index it). Bodies are read lazily, newest first, up to the first that holds a word, EXPLAIN_BODY_CHARS
    of each: a search of a busy mailbox costs at most a few bodies per conversation."""
    if not threads:
        return
    visible, visible_params = _visible(viewer_id)
    level, level_params = level_sql(viewer_id)
    ids = ",".join(str(int(t["id"])) for t in threads)
    rows = conn.execute(f"SELECT id, thread_id, subject, level FROM (SELECT e.id, e.thread_id, e.subject, e.date, "
                        f"{level} AS level, row_number() OVER (PARTITION BY e.thread_id ORDER BY e.date DESC, e.id DESC) "
                        f"AS newest FROM emails e WHERE e.thread_id IN ({ids}) AND {visible} AND e.id IN ({fragment})) "
                        f"WHERE newest <= {EXPLAIN_EMAILS} ORDER BY date DESC, id DESC",
                        [*level_params, *visible_params, *params]).fetchall()
    email_ids = ",".join(str(r["id"]) for r in rows) or "NULL"
    people: dict[int, list[str]] = {}
    for p in conn.execute(f"SELECT email_id, address, name FROM email_participants WHERE email_id IN ({email_ids}) "
                          "AND role != 'bcc' ORDER BY rowid"):
        people.setdefault(p["email_id"], []).append(f"{p['name']} <{p['address']}>" if p["name"] else p["address"])
    for thread in threads:
        mine = [r for r in rows if r["thread_id"] == thread["id"]]
        thread["matched"] = search_match.explain(
            search.words,
            subjects=[r["subject"] for r in mine if r["level"] >= SUBJECT and r["subject"]],
            bodies=_bodies(conn, [r["id"] for r in mine if r["level"] >= FULL]),
            participants=list(dict.fromkeys(p for r in mine for p in people.get(r["id"], []))),
            investors=[(i["id"], search.investors[i["id"]]) for i in thread["investors"] if i["id"] in search.investors])


def _bodies(conn, email_ids: list[int]):
    """The start of each email's body, read one email at a time as the explanation asks for the next."""
    for email_id in email_ids:
        row = conn.execute("SELECT substr(body_text, 1, ?) FROM emails WHERE id = ?",
                           (EXPLAIN_BODY_CHARS, email_id)).fetchone()
        if row and row[0]:
            yield row[0]


def visible_emails(conn, viewer_id: int, thread_id: int) -> list[dict]:
    """The thread's emails the viewer sees, oldest first, each with its level; fields it hides blanked."""
    visible, params = _visible(viewer_id)
    level, level_params = level_sql(viewer_id)
    rows = conn.execute(f"SELECT e.id, e.from_email, e.from_name, e.date, e.subject, e.snippet, e.has_body, "
                        f"{level} AS level FROM emails e WHERE e.thread_id = ? AND {visible} ORDER BY e.date, e.id",
                        [*level_params, thread_id, *params]).fetchall()
    return [redact(dict(r), r["level"]) | {"level": r["level"]} for r in rows]


def thread_subject(emails: list[dict]) -> str | None:
    """What the stored thread subject is (the earliest kept subject), among the emails shown."""
    for email in emails:
        if email["has_body"] and email["subject"]:
            return email["subject"]
    return None


def thread_investors(conn, viewer_id: int, thread_id: int) -> list[dict]:
    visible, params = _visible(viewer_id)
    shown, shown_params = link_visible_sql(viewer_id, "l.email_id", "l.investor_id")
    rows = conn.execute("SELECT DISTINCT i.id, i.name FROM email_investor_links l JOIN emails e ON e.id = l.email_id "
                        f"JOIN investors i ON i.id = l.investor_id WHERE e.thread_id = ? AND {visible} AND {shown} "
                        "ORDER BY i.name", (thread_id, *params, *shown_params))
    return [dict(r) for r in rows]


def _thread_participants(conn, viewer_id: int, thread_id: int, limit: int = 20) -> list[dict]:
    visible, params = _visible(viewer_id)
    bcc, bcc_params = bcc_visible_sql(viewer_id)
    rows = conn.execute("SELECT p.address AS email, max(p.name) AS name FROM email_participants p "
                        f"JOIN emails e ON e.id = p.email_id WHERE e.thread_id = ? AND {visible} "
                        f"AND (p.role != 'bcc' OR {bcc}) "
                        "GROUP BY p.address ORDER BY min(e.date), p.address LIMIT ?",
                        (thread_id, *params, *bcc_params, limit))
    return [dict(r) for r in rows]


def get_thread(conn, viewer_id: int, thread_id: int) -> dict | None:
    row = conn.execute("SELECT id FROM email_threads WHERE id = ?", (thread_id,)).fetchone()
    emails = visible_emails(conn, viewer_id, thread_id) if row else []
    if not emails:
        return None
    return {"id": thread_id, "subject": thread_subject(emails),
            "last_date": max((e["date"] or "" for e in emails), default=None) or None,
            "investors": thread_investors(conn, viewer_id, thread_id),
            "private": is_private(conn, thread_id), "holder": holds_thread(conn, viewer_id, thread_id),
            "emails": [{"id": e["id"], "from": _person(e["from_email"], e["from_name"]), "date": e["date"],
                        "subject": e["subject"], "snippet": e["snippet"], "visibility": e["visibility"]}
                       for e in emails]}


def _person(address, name) -> dict | None:
    return {"email": address, "name": name or ""} if address else None


def email_investors(conn, viewer_id: int, email_id: int) -> list[dict]:
    shown, params = link_visible_sql(viewer_id, "l.email_id", "l.investor_id")
    rows = conn.execute("SELECT i.id, i.name, i.firm, l.strategy, l.address FROM email_investor_links l "
                        "JOIN investors i ON i.id = l.investor_id JOIN emails e ON e.id = l.email_id "
                        f"WHERE l.email_id = ? AND {shown} ORDER BY i.name", (email_id, *params))
    return [dict(r) for r in rows]


def get_email_detail(conn, viewer_id: int, email_id: int) -> dict | None:
    """One email as the viewer may see it (None when hidden); Bcc only for the holder who sent it."""
    level = email_level(conn, viewer_id, email_id)
    if level == HIDDEN:
        return None
    row = conn.execute("SELECT id, message_id, from_email, from_name, date, subject, body_text, quoted_text, "
                       "signature, body_html IS NOT NULL AS body_html_available, thread_id, snippet, problems_json "
                       "FROM emails WHERE id = ? AND matched = 1", (email_id,)).fetchone()
    roles = ("to", "cc", "bcc") if sees_bcc(conn, viewer_id, email_id) else ("to", "cc")
    people = conn.execute(f"SELECT role, address, name FROM email_participants WHERE email_id = ? AND role IN "
                          f"({','.join('?' * len(roles))}) ORDER BY rowid", (email_id, *roles)).fetchall()
    attachments = conn.execute("SELECT id, filename, mime_type, size, status, inline FROM email_attachments "
                               "WHERE email_id = ? ORDER BY part_id", (email_id,)).fetchall()
    detail = dict(row)
    detail["body_html_available"] = bool(detail["body_html_available"])
    detail["from"] = _person(detail.pop("from_email"), detail.pop("from_name"))
    for role in ("to", "cc"):
        detail[role] = [{"email": p["address"], "name": p["name"] or ""} for p in people if p["role"] == role]
    if "bcc" in roles:
        detail["bcc"] = [{"email": p["address"], "name": p["name"] or ""} for p in people if p["role"] == "bcc"]
    detail["problems"] = json.loads(detail.pop("problems_json") or "[]")
    detail["attachments"] = [{**dict(a), "filename": strip_bidi(a["filename"]), "inline": bool(a["inline"])}
                             for a in attachments]  # strip_bidi: names stored before the parser did it
    detail["investors"] = email_investors(conn, viewer_id, email_id)
    detail["private"] = is_private(conn, detail["thread_id"]) if detail["thread_id"] else False
    return redact(detail, level)


def get_email_html(conn, viewer_id: int, email_id: int) -> str | None:
    if email_level(conn, viewer_id, email_id) < FULL:
        return None
    row = conn.execute("SELECT body_html FROM emails WHERE id = ? AND matched = 1", (email_id,)).fetchone()
    return row[0] if row else None


def get_attachment(conn, viewer_id: int, attachment_id: int) -> dict | None:
    row = conn.execute("SELECT a.id, a.email_id, a.filename, a.mime_type, a.size, a.status, a.sha256 "
                       "FROM email_attachments a JOIN emails e ON e.id = a.email_id WHERE a.id = ? AND e.matched = 1",
                       (attachment_id,)).fetchone()
    if row is None or email_level(conn, viewer_id, row["email_id"]) < FULL:
        return None
    return dict(row)


def account_counts(conn, account_id: int) -> dict:
    row = conn.execute("SELECT count(*), sum(e.matched) FROM email_mailbox_entries m JOIN emails e ON e.id = m.email_id "
                       "WHERE m.account_id = ?", (account_id,)).fetchone()
    investors = conn.execute("SELECT count(DISTINCT l.investor_id) FROM email_mailbox_entries m JOIN email_investor_links l "
                             "ON l.email_id = m.email_id WHERE m.account_id = ?", (account_id,)).fetchone()[0]
    return {"messages": row[0] or 0, "matched": row[1] or 0, "investors": investors}
