"""SQL that writes captured email: emails, mailbox rows, participants, investor links, attachments, threads.

Callers hold the transaction (backend.db.atomic); nothing here commits.
"""
from __future__ import annotations

import json
import sqlite3

from backend.db import now_iso
from backend.investors_db import bump_last_contact
from email_integration.privacy import db_privacy

from . import events

PARTICIPANT_ROLES = ("from", "to", "cc", "bcc", "reply_to")


def find_email(conn, message_key: str) -> dict | None:
    row = conn.execute("SELECT id, thread_id, matched, has_body, date, date_source, from_email, created_at FROM emails "
                       "WHERE message_key = ?", (message_key,)).fetchone()
    return dict(row) if row else None


def set_content_digest(conn, email_id: int, digest: str) -> None:
    """What a later copy must share with the email to merge into it (capture/copies.py)."""
    conn.execute("INSERT OR REPLACE INTO email_content_digests (email_id, digest) VALUES (?, ?)", (email_id, digest))


def content_digest(conn, email_id: int) -> str | None:
    row = conn.execute("SELECT digest FROM email_content_digests WHERE email_id = ?", (email_id,)).fetchone()
    return row[0] if row else None


def stored_content(conn, email_id: int) -> dict | None:
    """The kept content copies.content_digest reads (None without a kept body): for emails stored before
    digests were."""
    row = conn.execute("SELECT body_text, quoted_text, signature, body_html FROM emails WHERE id = ? AND has_body = 1",
                       (email_id,)).fetchone()
    if row is None:
        return None
    parts = conn.execute("SELECT part_id, filename, mime_type, size FROM email_attachments WHERE email_id = ?",
                         (email_id,)).fetchall()
    return {**dict(row), "attachments": [dict(p) for p in parts]}


def entry_is(conn, account_id: int, gmail_id: str, email_id: int) -> bool:
    """Whether the mailbox's Gmail message is already stored as this email."""
    return conn.execute("SELECT 1 FROM email_mailbox_entries WHERE account_id = ? AND gmail_id = ? AND email_id = ?",
                        (account_id, gmail_id, email_id)).fetchone() is not None


def record_collision(conn, message_id: str, email_id: int, other_email_id: int, account_id: int) -> None:
    """Two different emails claim one Message-ID (see ingest.copy_basis); kept apart, noted here."""
    conn.execute("INSERT OR IGNORE INTO email_message_id_collisions (message_id, email_id, other_email_id, "
                 "account_id, detected_at) VALUES (?, ?, ?, ?, ?)",
                 (message_id, email_id, other_email_id, account_id, now_iso()))


def insert_email(conn, message_key: str, parsed: dict, thread_id: int) -> int:
    """The metadata every email keeps (what rematch needs); the body comes with store_body()."""
    sender = parsed.get("from") or {}
    now = now_iso()
    return conn.execute(
        "INSERT INTO emails (message_key, message_id, thread_id, from_email, from_name, date, date_source, "
        "in_reply_to, references_json, size_estimate, problems_json, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (message_key, parsed["message_id"] or None, thread_id, sender.get("email"), sender.get("name"),
         parsed["date"] or None, parsed["date_source"] or None, " ".join(parsed["in_reply_to"]) or None,
         json.dumps(parsed["references"]), parsed["size_estimate"], json.dumps(problem_kinds(parsed["problems"])),
         now, now)).lastrowid


def problem_kinds(problems: list[str]) -> list[str]:
    """Only the kind of each parse problem ("date", "charset", "to", …), for mail we do not keep:
    the full text quotes raw header fragments (issue 15, item 12). store_body() keeps the full text."""
    return sorted({str(problem).split(":", 1)[0].strip()[:40] for problem in problems})


def store_participants(conn, email_id: int, parsed: dict) -> None:
    """Every address the message names; whom it was sent for (Sender, a group's X-Original-Sender) is kept as
    'reply_to': the person behind a message someone else sent, whom a reply reaches."""
    for role in PARTICIPANT_ROLES:
        people = [parsed.get("from")] if role == "from" else parsed.get(role) or []
        if role == "reply_to":
            people = list(people) + list(parsed.get("on_behalf") or [])
        for person in people:
            if person and person.get("email"):
                conn.execute("INSERT OR IGNORE INTO email_participants (email_id, role, address, name) "
                             "VALUES (?, ?, ?, ?)", (email_id, role, person["email"], person.get("name") or None))


def participant_addresses(conn, email_id: int, bcc: bool = True) -> list[str]:
    """Every address the email's copies named (`bcc=False`: but those only its Bcc named)."""
    role = "" if bcc else " AND role != 'bcc'"
    return [r[0] for r in conn.execute(f"SELECT DISTINCT address FROM email_participants WHERE email_id = ?{role}",
                                       (email_id,))]


def has_bcc(conn, email_id: int) -> bool:
    return conn.execute("SELECT 1 FROM email_participants WHERE email_id = ? AND role = 'bcc' LIMIT 1",
                        (email_id,)).fetchone() is not None


def store_body(conn, email_id: int, parsed: dict, account_id: int) -> None:
    """Keep the content of a matched (or capture-all) email, its attachment stubs and its search row."""
    conn.execute("UPDATE emails SET has_body = 1, subject = ?, snippet = ?, body_text = ?, quoted_text = ?, "
                 "signature = ?, body_html = ?, problems_json = ?, updated_at = ? WHERE id = ?",
                 (parsed["subject"], parsed["snippet"], parsed["body_text"], parsed["quoted_text"],
                  parsed["signature"], parsed["body_html"] or None, json.dumps(parsed["problems"]), now_iso(),
                  email_id))
    for part in parsed["attachments"]:
        conn.execute("INSERT OR IGNORE INTO email_attachments (email_id, part_id, filename, mime_type, size, "
                     "content_id, inline, account_id, gmail_id, gmail_attachment_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (email_id, part["part_id"], part["filename"], part["mime_type"], part["size"],
                      part["content_id"] or None, int(bool(part["inline"])), account_id, parsed["gmail_id"],
                      part["attachment_id"] or None))
    # Bcc recipients stay out of the search index: only the sender may see them (db_visibility).
    people = [parsed.get("from")] + [p for role in ("to", "cc", "reply_to") for p in parsed.get(role) or []]
    words = " ".join(f"{p['email']} {p.get('name') or ''}" for p in people if p and p.get("email"))
    _fts(conn, "INSERT INTO emails_fts (rowid, subject, participants, body) VALUES (?, ?, ?, ?)",
         (email_id, parsed["subject"], words, parsed["body_text"]))


def _fts(conn, sql: str, params) -> None:
    """Keep the search index in step; a SQLite without FTS5 has no emails_fts and searches with LIKE."""
    try:
        conn.execute(sql, params)
    except sqlite3.OperationalError as error:
        if "emails_fts" not in str(error):
            raise


def drop_body(conn, email_id: int) -> list[str]:
    """Back to metadata only (the email no longer matches); returns the attachment hashes it released."""
    hashes = [r[0] for r in conn.execute("SELECT sha256 FROM email_attachments WHERE email_id = ? AND "
                                         "sha256 IS NOT NULL", (email_id,))]
    conn.execute("DELETE FROM email_attachments WHERE email_id = ?", (email_id,))
    problems = conn.execute("SELECT problems_json FROM emails WHERE id = ?", (email_id,)).fetchone()
    kinds = problem_kinds(json.loads(problems[0] or "[]")) if problems else []
    conn.execute("UPDATE emails SET has_body = 0, subject = NULL, snippet = NULL, body_text = NULL, quoted_text = NULL, "
                 "signature = NULL, body_html = NULL, problems_json = ?, updated_at = ? WHERE id = ?",
                 (json.dumps(kinds), now_iso(), email_id))
    _fts(conn, "DELETE FROM emails_fts WHERE rowid = ?", (email_id,))
    events.body_dropped(conn, email_id)  # a draft quotes the body we just dropped
    return hashes


# -- investor links ---------------------------------------------------------------------------
def set_links(conn, email_id: int, links: list[tuple[int, str, str]], date: str | None, new: bool = False,
              bcc_only=frozenset()) -> bool:
    """Replace the email's investor links with `links` [(investor_id, strategy, address)]; True if matched.

    `bcc_only`: the investors among them only the Bcc names (email_bcc_links: their sender's alone, never
    their last contact). `new`: the email row was just inserted (no links yet, matched = 0), which saves statements.
    An investor losing the link gets its last contact recomputed (and, through events, loses the email's
    pending proposals).
    """
    if new and not links:
        return False
    removed = set()
    if not new:
        removed = linked_investor_ids(conn, email_id) - {l[0] for l in links}
        conn.execute("DELETE FROM email_investor_links WHERE email_id = ?", (email_id,))
        conn.execute("DELETE FROM email_bcc_links WHERE email_id = ?", (email_id,))
    for investor_id, strategy, address in links:
        conn.execute("INSERT OR IGNORE INTO email_investor_links (email_id, investor_id, strategy, address) "
                     "VALUES (?, ?, ?, ?)", (email_id, investor_id, strategy, address))
        if investor_id in bcc_only:
            conn.execute("INSERT OR IGNORE INTO email_bcc_links (email_id, investor_id) VALUES (?, ?)",
                         (email_id, investor_id))
        elif date:
            bump_last_contact(conn, investor_id, date)
    conn.execute("UPDATE emails SET matched = ? WHERE id = ?", (int(bool(links)), email_id))
    events.links_changed(conn, email_id, {l[0] for l in links}, removed)
    if removed or (bcc_only and not new):
        recompute_last_contact(conn, removed | set(bcc_only))
    return bool(links)


def recompute_last_contact(conn, investor_ids) -> None:
    """Last contact = the newest email still linked, Bcc-only links aside (links only ever moved it forward)."""
    for investor_id in investor_ids:
        conn.execute("UPDATE investors SET last_contact_at = (SELECT max(e.date) FROM email_investor_links l "
                     "JOIN emails e ON e.id = l.email_id WHERE l.investor_id = ? AND NOT EXISTS (SELECT 1 FROM "
                     "email_bcc_links b WHERE b.email_id = l.email_id AND b.investor_id = l.investor_id)) WHERE id = ?",
                     (investor_id, investor_id))


def bcc_linked_ids(conn, email_id: int) -> set[int]:
    return {r[0] for r in conn.execute("SELECT investor_id FROM email_bcc_links WHERE email_id = ?", (email_id,))}


def linked_investor_ids(conn, email_id: int) -> set[int]:
    return {r[0] for r in conn.execute("SELECT investor_id FROM email_investor_links WHERE email_id = ?", (email_id,))}


def all_email_ids(conn) -> list[int]:
    return [r[0] for r in conn.execute("SELECT id FROM emails ORDER BY id")]


def email_brief(conn, email_id: int) -> dict | None:
    row = conn.execute("SELECT id, date, matched, has_body, thread_id FROM emails WHERE id = ?", (email_id,)).fetchone()
    return dict(row) if row else None


def any_mailbox_entry(conn, email_id: int) -> tuple[int, str] | None:
    """(account_id, gmail_id) of a mailbox still holding the email: where its body can be fetched."""
    row = conn.execute("SELECT account_id, gmail_id FROM email_mailbox_entries WHERE email_id = ? ORDER BY id LIMIT 1",
                       (email_id,)).fetchone()
    return (row[0], row[1]) if row else None


# -- mailbox entries --------------------------------------------------------------------------
def upsert_entry(conn, email_id: int, account_id: int, gmail_id: str, gmail_thread_id: str, labels: list,
                 seen_gen: int, surely_new: bool = False) -> bool:
    """Record that the account's mailbox holds the email; True when the row is new."""
    existed = not surely_new and conn.execute("SELECT 1 FROM email_mailbox_entries WHERE account_id = ? AND "
                                              "gmail_id = ?", (account_id, gmail_id)).fetchone() is not None
    conn.execute(
        "INSERT INTO email_mailbox_entries (email_id, account_id, gmail_id, gmail_thread_id, label_ids, seen_gen) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(account_id, gmail_id) DO UPDATE SET email_id = excluded.email_id, "
        "gmail_thread_id = excluded.gmail_thread_id, label_ids = excluded.label_ids, "
        "seen_gen = max(seen_gen, excluded.seen_gen)",
        (email_id, account_id, gmail_id, gmail_thread_id, json.dumps(sorted(labels)), seen_gen))
    return not existed


def known_gmail_ids(conn, account_id: int, gmail_ids: list[str]) -> set[str]:
    known = set()
    for start in range(0, len(gmail_ids), 500):
        chunk = gmail_ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        known.update(r[0] for r in conn.execute(
            f"SELECT gmail_id FROM email_mailbox_entries WHERE account_id = ? AND gmail_id IN ({marks})",
            (account_id, *chunk)))
    return known


def mark_seen(conn, account_id: int, gmail_ids, seen_gen: int) -> None:
    conn.executemany("UPDATE email_mailbox_entries SET seen_gen = ? WHERE account_id = ? AND gmail_id = ?",
                     [(seen_gen, account_id, g) for g in gmail_ids])


def set_labels(conn, account_id: int, gmail_id: str, labels: list) -> bool:
    return conn.execute("UPDATE email_mailbox_entries SET label_ids = ? WHERE account_id = ? AND gmail_id = ?",
                        (json.dumps(sorted(labels)), account_id, gmail_id)).rowcount > 0


def unseen_gmail_ids(conn, account_id: int, seen_gen: int) -> list[str]:
    return [r[0] for r in conn.execute("SELECT gmail_id FROM email_mailbox_entries WHERE account_id = ? "
                                       "AND seen_gen < ?", (account_id, seen_gen))]


def remove_entry(conn, account_id: int, gmail_id: str) -> tuple[bool, list[str]]:
    """Forget that the mailbox holds the message; the email goes when no mailbox holds it any more.

    Returns (removed, attachment hashes released by a deleted email).
    """
    row = conn.execute("DELETE FROM email_mailbox_entries WHERE account_id = ? AND gmail_id = ? RETURNING email_id",
                       (account_id, gmail_id)).fetchone()
    if row is None:
        return False, []
    email_id = row[0]
    if conn.execute("SELECT 1 FROM email_mailbox_entries WHERE email_id = ? LIMIT 1", (email_id,)).fetchone():
        return True, []
    investors = linked_investor_ids(conn, email_id)
    events.email_removed(conn, email_id, investors)
    hashes = drop_body(conn, email_id)
    thread = conn.execute("DELETE FROM emails WHERE id = ? RETURNING thread_id", (email_id,)).fetchone()
    recompute_last_contact(conn, investors)
    if thread and thread[0] is not None:
        if conn.execute("SELECT 1 FROM emails WHERE thread_id = ? LIMIT 1", (thread[0],)).fetchone():
            refresh_thread(conn, thread[0])
        else:
            conn.execute("DELETE FROM email_threads WHERE id = ?", (thread[0],))
    return True, hashes


def mailbox_view(conn, account_id: int) -> dict[str, list]:
    """{gmail_id: sorted labels} of what the CRM holds of one account and Gmail still shows outside spam and
    trash: what tests compare with Gmail's truth (captured mail trashed or deleted stays, but not here)."""
    rows = conn.execute("SELECT m.gmail_id, m.label_ids FROM email_mailbox_entries m WHERE m.account_id = ? AND NOT "
                        "EXISTS (SELECT 1 FROM email_gone_entries g WHERE g.account_id = m.account_id AND "
                        "g.gmail_id = m.gmail_id)", (account_id,))
    view = {r[0]: json.loads(r[1]) for r in rows}
    return {g: labels for g, labels in view.items() if not {"SPAM", "TRASH"} & set(labels)}


# -- attachments (rows; bytes are attachments.py's) ---------------------------------------------
def pending_attachments(conn, limit: int = 200, max_attempts: int = 5) -> list[dict]:
    rows = conn.execute(
        "SELECT a.id, a.email_id, a.part_id, a.filename, a.size, a.attempts, a.account_id, a.gmail_id, "
        "a.gmail_attachment_id FROM email_attachments a "
        "WHERE a.status = 'pending' AND a.attempts < ? ORDER BY a.id LIMIT ?", (max_attempts, limit))
    return [dict(r) for r in rows]


def set_attachment_result(conn, attachment_id: int, status: str, sha256: str | None = None,
                          error: str | None = None, size: int | None = None) -> None:
    conn.execute("UPDATE email_attachments SET status = ?, sha256 = coalesce(?, sha256), error = ?, "
                 "size = coalesce(?, size), attempts = attempts + 1 WHERE id = ?",
                 (status, sha256, error, size, attachment_id))


def retry_attachment_later(conn, attachment_id: int, error: str) -> None:
    conn.execute("UPDATE email_attachments SET attempts = attempts + 1, error = ? WHERE id = ?", (error, attachment_id))


def hash_in_use(conn, sha256: str) -> bool:
    return conn.execute("SELECT 1 FROM email_attachments WHERE sha256 = ? LIMIT 1", (sha256,)).fetchone() is not None


# -- threads ----------------------------------------------------------------------------------
def threads_for_keys(conn, keys: list[str]) -> list[int]:
    marks = ",".join("?" * len(keys))
    return sorted({r[0] for r in conn.execute(f"SELECT thread_id FROM email_thread_keys WHERE key IN ({marks})", keys)})


def create_thread(conn) -> int:
    return conn.execute("INSERT INTO email_threads (created_at) VALUES (?)", (now_iso(),)).lastrowid


def merge_threads(conn, keep: int, others: list[int]) -> None:
    """Fold `others` into `keep`: a message that links two conversations proves they are one."""
    for other in others:
        events.threads_merging(conn, keep, other)  # before `other` goes: proposals refer to it (ON DELETE SET NULL)
        db_privacy.carry_private(conn, keep, other)
        conn.execute("UPDATE emails SET thread_id = ? WHERE thread_id = ?", (keep, other))
        conn.execute("UPDATE email_thread_keys SET thread_id = ? WHERE thread_id = ?", (keep, other))
        conn.execute("DELETE FROM email_threads WHERE id = ?", (other,))
    if others:
        refresh_thread(conn, keep)


def add_thread_keys(conn, thread_id: int, keys: list[str]) -> None:
    conn.executemany("INSERT OR IGNORE INTO email_thread_keys (key, thread_id) VALUES (?, ?)",
                     [(k, thread_id) for k in keys])


def set_email_thread(conn, email_id: int, thread_id: int) -> None:
    conn.execute("UPDATE emails SET thread_id = ? WHERE id = ?", (thread_id, email_id))


def refresh_thread(conn, thread_id: int) -> None:
    """Subject from the earliest matched email, last_date from the newest matched one."""
    conn.execute(
        "UPDATE email_threads SET subject = (SELECT subject FROM emails WHERE thread_id = ?1 AND matched = 1 "
        "AND has_body = 1 "
        "AND subject IS NOT NULL AND subject != '' ORDER BY date, id LIMIT 1), "
        "last_date = (SELECT max(date) FROM emails WHERE thread_id = ?1 AND matched = 1) WHERE id = ?1", (thread_id,))


def attachment_row_id(conn, email_id: int, part_id: str) -> int | None:
    row = conn.execute("SELECT id FROM email_attachments WHERE email_id = ? AND part_id = ?", (email_id, part_id)).fetchone()
    return row[0] if row else None
