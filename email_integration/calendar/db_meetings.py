"""SQL of the store of meetings (migrations 0017, 0018): meetings (their row and attendees are the shared view, from
one copy: email_meeting_shared), each teammate's copy with its own fields, investor links; and the visibility rule
for meetings, as SQL the readers embed (the same levels as mail, privacy/db_visibility).

A holder reads their own copy at FULL (meetings_of_investor, next_meeting). A viewer's level for the shared view:
  FULL     the viewer holds the copy it comes from or a copy listing the same title, description, location and
           attendees (a copy never grants FULL on another copy's fields), or every holder's mailbox shows
           everything and no holder's copy is private: title, description, location
  SUBJECT  the most open holder's mailbox shows subjects: the title, never the description
  METADATA a copy Google marks private or confidential, or the most open holder's mailbox shows metadata
A meeting Google marks private is not shown at all to whom does not hold it, and counts in no shared stat.
Callers hold the transaction.
"""
from __future__ import annotations

import json

from email_integration.privacy.db_visibility import FULL, METADATA, SUBJECT
from email_integration.privacy.db_visibility import _check_alias as _alias  # the same identifier check

_PRIVATE = ("EXISTS (SELECT 1 FROM email_meeting_copies mp WHERE mp.meeting_id = {m}.id "
            "AND mp.visibility IN ('private', 'confidential'))")
_OPENEST = ("coalesce((SELECT max(CASE coalesce(ms.visibility, 'everything') WHEN 'everything' THEN 3 "
            "WHEN 'subject' THEN 2 ELSE 1 END) FROM email_meeting_copies mo LEFT JOIN email_account_privacy ms "
            "ON ms.account_id = mo.account_id WHERE mo.meeting_id = {m}.id), 1)")
# The viewer holds the copy the shared view comes from, or a copy of their own listing what it lists (title,
# description, location, attendees): a copy never grants FULL on another copy's fields (a planted iCalUID).
_SEES = ("EXISTS (SELECT 1 FROM email_meeting_shared sh JOIN email_meeting_copy_fields sf ON sf.account_id = sh.account_id "
         "AND sf.event_id = sh.event_id JOIN email_meeting_copies mh ON mh.meeting_id = sh.meeting_id "
         "JOIN email_meeting_copy_fields hf ON hf.account_id = mh.account_id AND hf.event_id = mh.event_id "
         "JOIN email_accounts ma ON ma.id = mh.account_id WHERE sh.meeting_id = {m}.id AND ma.user_id = ? "
         "AND ((mh.account_id = sh.account_id AND mh.event_id = sh.event_id) OR (hf.title = sf.title "
         "AND hf.description = sf.description AND hf.location = sf.location AND hf.addresses = sf.addresses)))")
# What counts as a meeting that happened (strength, last contact, next meeting, cards): the teammate accepted or
# tentatively accepted (their own meetings count as accepted); an unanswered invitation is not one.
ATTENDED = "{c}.response_status IN ('accepted', 'tentative')"
# The viewer's own copy of meeting {m} (their timeline shows what their calendar says).
_OWN = ("LEFT JOIN email_meeting_copy_fields own ON own.rowid = (SELECT f.rowid FROM email_meeting_copies oc "
        "JOIN email_accounts oa ON oa.id = oc.account_id JOIN email_meeting_copy_fields f ON f.account_id = oc.account_id "
        "AND f.event_id = oc.event_id WHERE oc.meeting_id = {m}.id AND oa.user_id = ? ORDER BY oc.first_seen_at LIMIT 1)")


def private_sql(alias: str = "m") -> str:
    """True when a copy of meeting `alias` is one Google marks private or confidential: not shown at all to anyone
    whose calendar does not hold it, and left out of the team's stats."""
    return _PRIVATE.format(m=_alias(alias))


def sees_shared_sql(viewer_id: int, alias: str = "m") -> tuple[str, list]:
    """(SQL, params): whether the viewer may see meeting `alias`'s shared view in full (see _SEES)."""
    return _SEES.format(m=_alias(alias)), [viewer_id]


def shared_level_sql(alias: str = "m") -> str:
    """The level of meeting `alias` for someone whose calendar does not hold it (no parameters)."""
    m = _alias(alias)
    return f"(CASE WHEN {_PRIVATE.format(m=m)} THEN {METADATA} ELSE {_OPENEST.format(m=m)} END)"


def level_sql(viewer_id: int, alias: str = "m") -> tuple[str, list]:
    """(SQL, params): the viewer's level (1-3) for meeting `alias`'s shared view (the row of email_meetings: what
    cards, drafts and the room show)."""
    m = _alias(alias)
    return f"(CASE WHEN {_SEES.format(m=m)} THEN {FULL} ELSE {shared_level_sql(m)} END)", [viewer_id]


def room_safe_sql(alias: str = "m") -> str:
    """True when meeting `alias` may reach the review room (title and description): every teammate sees it all."""
    return f"({shared_level_sql(alias)} = {FULL})"


def redact(meeting: dict, level: int) -> dict:
    """Blank what `level` does not show of a meeting dict: the description below FULL, the title below SUBJECT."""
    shown = dict(meeting)
    if level < FULL:
        for key in ("description", "location"):
            if key in shown:
                shown[key] = None
    if level < SUBJECT and "title" in shown:
        shown["title"] = None
    return shown


# -- writes ----------------------------------------------------------------------------------------
def copy_of(conn, account_id: int, event_id: str) -> dict | None:
    row = conn.execute("SELECT * FROM email_meeting_copies WHERE account_id = ? AND event_id = ?",
                       (account_id, event_id)).fetchone()
    return dict(row) if row else None


def series_event_ids(conn, account_id: int, recurring_event_id: str) -> list[str]:
    return [r[0] for r in conn.execute("SELECT event_id FROM email_meeting_copies WHERE account_id = ? "
                                       "AND recurring_event_id = ?", (account_id, recurring_event_id))]


def account_event_ids(conn, account_id: int) -> set[str]:
    return {r[0] for r in conn.execute("SELECT event_id FROM email_meeting_copies WHERE account_id = ?", (account_id,))}


def account_copies(conn, account_id: int) -> list[tuple[str, int]]:
    """(event_id, meeting_id) of every copy the account's calendar holds."""
    return [tuple(r) for r in conn.execute("SELECT event_id, meeting_id FROM email_meeting_copies WHERE account_id = ? "
                                           "ORDER BY event_id", (account_id,))]


def attendee_addresses(conn, meeting_id: int) -> list[str]:
    return [r[0] for r in conn.execute("SELECT address FROM email_meeting_attendees WHERE meeting_id = ?", (meeting_id,))]


def find_meeting(conn, ical_uid: str, original_start: str) -> dict | None:
    row = conn.execute("SELECT * FROM email_meetings WHERE ical_uid = ? AND original_start = ?",
                       (ical_uid, original_start)).fetchone()
    return dict(row) if row else None


_SHARED_COLUMNS = ("start_at", "end_at", "title", "description", "location", "organizer_email")


def create_meeting(conn, ical_uid: str, original_start: str, fields: dict, now: str) -> int:
    return conn.execute("INSERT INTO email_meetings (ical_uid, original_start, start_at, end_at, title, description, "
                        "location, organizer_email, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (ical_uid, original_start, *(fields[k] for k in _SHARED_COLUMNS), now, now)).lastrowid


def update_shared(conn, meeting_id: int, fields: dict, now: str) -> None:
    """The shared view's fields, from the copy it comes from (email_meeting_shared). Moved to a later end: a card
    not yet drafted waits for the new end (card_state stays NULL until then)."""
    conn.execute("UPDATE email_meetings SET start_at = ?, end_at = ?, title = ?, description = ?, location = ?, "
                 "organizer_email = ?, updated_at = ? WHERE id = ?",
                 (*(fields[k] for k in _SHARED_COLUMNS), now, meeting_id))


def shared_source(conn, meeting_id: int) -> tuple[int, str] | None:
    """(account_id, event_id) of the copy the meeting's shared view comes from, while that copy is still the meeting's."""
    row = conn.execute("SELECT s.account_id, s.event_id FROM email_meeting_shared s JOIN email_meeting_copies c "
                       "ON c.account_id = s.account_id AND c.event_id = s.event_id AND c.meeting_id = s.meeting_id "
                       "WHERE s.meeting_id = ?", (meeting_id,)).fetchone()
    return (row[0], row[1]) if row else None


def set_shared_source(conn, meeting_id: int, account_id: int, event_id: str) -> None:
    conn.execute("INSERT INTO email_meeting_shared (meeting_id, account_id, event_id) VALUES (?, ?, ?) "
                 "ON CONFLICT (meeting_id) DO UPDATE SET account_id = excluded.account_id, event_id = excluded.event_id",
                 (meeting_id, account_id, event_id))


def next_source(conn, meeting_id: int) -> dict | None:
    """The copy the shared view falls to when its copy is gone: the organizing teammate's, else the earliest stored;
    with its fields (attendees parsed)."""
    row = conn.execute("SELECT f.* FROM email_meeting_copies c JOIN email_meeting_copy_fields f "
                       "ON f.account_id = c.account_id AND f.event_id = c.event_id JOIN email_accounts a "
                       "ON a.id = c.account_id JOIN email_meetings m ON m.id = c.meeting_id WHERE c.meeting_id = ? "
                       "ORDER BY (lower(a.email) = coalesce(f.organizer_email, '')) DESC, c.first_seen_at, c.account_id, "
                       "c.event_id LIMIT 1", (meeting_id,)).fetchone()
    if row is None:
        return None
    found = dict(row)
    found["attendees"] = json.loads(found["attendees"])
    return found


def put_copy_fields(conn, account_id: int, event_id: str, fields: dict, attendees: list[dict]) -> None:
    """What this teammate's own copy says (title, description, location, attendees): theirs alone."""
    listed = [{"address": a["address"], "name": a["name"], "organizer": bool(a["organizer"]),
               "response_status": a["response_status"]} for a in attendees]
    conn.execute("INSERT OR REPLACE INTO email_meeting_copy_fields (account_id, event_id, start_at, title, description, "
                 "location, organizer_email, attendees, addresses) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (account_id, event_id, fields["start_at"], fields["title"], fields["description"], fields["location"],
                  fields["organizer_email"], json.dumps(listed), ",".join(sorted(a["address"] for a in listed))))


def copy_addresses(conn, account_id: int, event_id: str) -> list[str]:
    row = conn.execute("SELECT addresses FROM email_meeting_copy_fields WHERE account_id = ? AND event_id = ?",
                       (account_id, event_id)).fetchone()
    return [a for a in row[0].split(",") if a] if row else []


def rejoin_split(conn, ical_uid: str, original_start: str, meeting_id: int) -> list[int]:
    """Copies stored as their own meeting (their organizer or start disagreed: planted, or synced before the shared
    copy moved) whose own fields now agree with meeting `meeting_id` join it; returns the emptied meetings' ids."""
    rows = conn.execute("SELECT m.id FROM email_meetings m JOIN email_meetings t ON t.id = ? WHERE m.original_start = ? "
                        "AND substr(m.ical_uid, 1, length(?) + 1) = ? || char(10) AND NOT EXISTS (SELECT 1 FROM "
                        "email_meeting_copies c JOIN email_meeting_copy_fields f ON f.account_id = c.account_id "
                        "AND f.event_id = c.event_id WHERE c.meeting_id = m.id AND (f.start_at != t.start_at "
                        "OR coalesce(f.organizer_email, '') != coalesce(t.organizer_email, '')))",
                        (meeting_id, original_start, ical_uid, ical_uid)).fetchall()
    emptied = [r[0] for r in rows]
    for split_id in emptied:
        conn.execute("UPDATE email_meeting_copies SET meeting_id = ? WHERE meeting_id = ?", (meeting_id, split_id))
    return emptied


def set_attendees(conn, meeting_id: int, attendees: list[dict]) -> None:
    conn.execute("DELETE FROM email_meeting_attendees WHERE meeting_id = ?", (meeting_id,))
    conn.executemany("INSERT OR IGNORE INTO email_meeting_attendees (meeting_id, address, name, organizer, "
                     "response_status) VALUES (?, ?, ?, ?, ?)",
                     [(meeting_id, a["address"], a["name"], int(a["organizer"]), a["response_status"])
                      for a in attendees])


def set_investors(conn, meeting_id: int, links: list) -> set[int]:
    """Replace the meeting's investor links; returns the investors linked before or after (their stats change)."""
    before = {r[0] for r in conn.execute("SELECT investor_id FROM email_meeting_investors WHERE meeting_id = ?",
                                         (meeting_id,))}
    conn.execute("DELETE FROM email_meeting_investors WHERE meeting_id = ?", (meeting_id,))
    conn.executemany("INSERT INTO email_meeting_investors (meeting_id, investor_id, strategy, address) "
                     "VALUES (?, ?, ?, ?)", [(meeting_id, i, s, a) for i, s, a in links])
    return before | {link[0] for link in links}


def put_copy(conn, account_id: int, event_id: str, meeting_id: int, recurring_event_id: str | None,
             response_status: str, visibility: str, now: str) -> int | None:
    """Store the teammate's copy; returns the meeting it belonged to before when that was another one."""
    old = copy_of(conn, account_id, event_id)
    conn.execute("INSERT INTO email_meeting_copies (account_id, event_id, meeting_id, recurring_event_id, "
                 "response_status, visibility, first_seen_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                 "ON CONFLICT (account_id, event_id) DO UPDATE SET meeting_id = excluded.meeting_id, "
                 "recurring_event_id = excluded.recurring_event_id, response_status = excluded.response_status, "
                 "visibility = excluded.visibility, updated_at = excluded.updated_at",
                 (account_id, event_id, meeting_id, recurring_event_id, response_status, visibility, now, now))
    return old["meeting_id"] if old and old["meeting_id"] != meeting_id else None


def delete_copy(conn, account_id: int, event_id: str) -> int | None:
    """Remove the teammate's copy; returns its meeting's id (None when there was no such copy)."""
    old = copy_of(conn, account_id, event_id)
    if old is None:
        return None
    conn.execute("DELETE FROM email_meeting_copies WHERE account_id = ? AND event_id = ?", (account_id, event_id))
    return old["meeting_id"]


def investor_ids(conn, meeting_id: int) -> set[int]:
    return {r[0] for r in conn.execute("SELECT investor_id FROM email_meeting_investors WHERE meeting_id = ?",
                                       (meeting_id,))}


def all_meeting_ids(conn) -> list[int]:
    return [r[0] for r in conn.execute("SELECT id FROM email_meetings ORDER BY id")]


def meeting_ids_of(conn, investor_id: int) -> list[int]:
    """Meetings linked to the investor, or with an attendee at one of its addresses or domains (a subdomain too)."""
    return [r[0] for r in conn.execute(
        "SELECT meeting_id FROM email_meeting_investors WHERE investor_id = ?1 UNION SELECT a.meeting_id FROM "
        "email_meeting_attendees a WHERE a.address IN (SELECT lower(email) FROM investor_emails WHERE investor_id = ?1) "
        "OR EXISTS (SELECT 1 FROM investor_domains d WHERE d.investor_id = ?1 AND (a.address LIKE '%@' || lower(d.domain) "
        "OR a.address LIKE '%.' || lower(d.domain))) ORDER BY 1", (investor_id,))]


def delete_meeting(conn, meeting_id: int) -> None:
    """The meeting and everything of it (copies, attendees, links; a card's link loses it)."""
    conn.execute("DELETE FROM email_meetings WHERE id = ?", (meeting_id,))


def drop_if_unheld(conn, meeting_id: int) -> bool:
    """Delete the meeting when no teammate's calendar holds it any more (attendees and links go with it)."""
    if conn.execute("SELECT 1 FROM email_meeting_copies WHERE meeting_id = ? LIMIT 1", (meeting_id,)).fetchone():
        return False
    conn.execute("DELETE FROM email_meetings WHERE id = ?", (meeting_id,))
    return True


# -- reads -----------------------------------------------------------------------------------------
def get_meeting(conn, meeting_id: int) -> dict | None:
    row = conn.execute("SELECT * FROM email_meetings WHERE id = ?", (meeting_id,)).fetchone()
    return dict(row) if row else None


def _per_meeting(conn, select: str, meeting_ids: list[int], shape) -> dict[int, list[dict]]:
    """{meeting_id: [shape(row)]} of `select` (… WHERE <meeting column> IN ({marks}) …) over the ids, in chunks."""
    found: dict[int, list[dict]] = {i: [] for i in meeting_ids}
    for start in range(0, len(meeting_ids), 500):
        chunk = meeting_ids[start:start + 500]
        for row in conn.execute(select.format(marks=",".join("?" * len(chunk))), chunk):
            found[row["meeting_id"]].append(shape(row))
    return found


_SHOWN_TO_ALL = (" AND (address IN (SELECT l.address FROM email_meeting_investors l WHERE l.meeting_id = "
                 "email_meeting_attendees.meeting_id) OR address IN (SELECT lower(email) FROM email_accounts) "
                 "OR address IN (SELECT lower(email) FROM users))")


def attendees(conn, meeting_ids: list[int], redacted: bool = False) -> dict[int, list[dict]]:
    """{meeting_id: [{email, name, organizer, response_status}]} of the shared view, the organizer first; `redacted`
    (a reader who does not see the shared view in full): only the investors' addresses and the teammates'."""
    return _per_meeting(conn, "SELECT meeting_id, address, name, organizer, response_status FROM email_meeting_attendees "
                              "WHERE meeting_id IN ({marks})" + (_SHOWN_TO_ALL if redacted else "")
                        + " ORDER BY organizer DESC, rowid", meeting_ids,
                        lambda r: {"email": r["address"], "name": r["name"], "organizer": bool(r["organizer"]),
                                   "response_status": r["response_status"]})


def shown_attendees(conn, meetings: list[dict]) -> dict[int, list[dict]]:
    """The attendees of meetings read by meetings_of_investor/next_meeting: the viewer's own copy's list where their
    calendar holds it, else the shared view's redacted."""
    shared = attendees(conn, [m["id"] for m in meetings if m.get("own_attendees") is None], redacted=True)
    for meeting in meetings:
        if meeting.get("own_attendees") is not None:
            listed = sorted(json.loads(meeting["own_attendees"]), key=lambda a: not a["organizer"])
            shared[meeting["id"]] = [{"email": a["address"], "name": a["name"], "organizer": bool(a["organizer"]),
                                      "response_status": a["response_status"]} for a in listed]
    return shared


def teammates_of(conn, meeting_ids: list[int], with_email: bool = False) -> dict[int, list[dict]]:
    """{meeting_id: [{id, name, response_status}]}: the teammates whose calendar holds each meeting (`with_email`:
    and each one's sign-in address, to name them among the attendees)."""
    return _per_meeting(conn, "SELECT c.meeting_id, u.id, u.name, u.email, c.response_status FROM email_meeting_copies c "
                              "JOIN email_accounts a ON a.id = c.account_id JOIN users u ON u.id = a.user_id "
                              "WHERE c.meeting_id IN ({marks}) ORDER BY u.name, u.id", meeting_ids,
                        lambda r: {"id": r["id"], "name": r["name"], "response_status": r["response_status"],
                                   **({"email": r["email"]} if with_email else {})})


def attended_rows(conn, investor_ids=None, before: str | None = None) -> list[dict]:
    """(investor_id, user_id, at) for each meeting a teammate attended (ATTENDED; none Google marks private),
    started before `before`:
    what strength and last contact count (the time to the second only when every teammate may see it all;
    the day otherwise, as mail's _SHARED_AT)."""
    at = (f"CASE WHEN {shared_level_sql('m')} = {FULL} THEN m.start_at "
          "ELSE substr(m.start_at, 1, 10) || 'T00:00:00Z' END")
    where, params = [ATTENDED.format(c="c"), f"NOT {private_sql('m')}"], []
    if before is not None:
        where.append("m.start_at < ?")
        params.append(before)
    if investor_ids is not None:
        ids = list(investor_ids) or [-1]
        where.append(f"l.investor_id IN ({','.join('?' * len(ids))})")
        params.extend(ids)
    rows = conn.execute(f"SELECT DISTINCT l.investor_id, a.user_id, {at} AS at, m.id AS meeting_id "
                        "FROM email_meeting_investors l JOIN email_meetings m ON m.id = l.meeting_id "
                        "JOIN email_meeting_copies c ON c.meeting_id = m.id JOIN email_accounts a ON a.id = c.account_id "
                        f"WHERE a.user_id IS NOT NULL AND {' AND '.join(where)} ORDER BY l.investor_id, at", params)
    return [dict(r) for r in rows]


_READ = ("SELECT m.id, m.start_at, m.end_at, CASE WHEN own.rowid IS NULL THEN m.title ELSE own.title END AS title, "
         "CASE WHEN own.rowid IS NULL THEN m.description ELSE own.description END AS description, "
         "CASE WHEN own.rowid IS NULL THEN m.location ELSE own.location END AS location, own.attendees AS own_attendees, "
         "CASE WHEN own.rowid IS NULL THEN {shared} ELSE {full} END AS level FROM email_meeting_investors l "
         "JOIN email_meetings m ON m.id = l.meeting_id " + _OWN.format(m="m") + " ")


def _read(conn, viewer_id: int, where: list[str], args: list, tail: str) -> list[dict]:
    """Meetings as the viewer may see them: their own copy at FULL where their calendar holds it, else the shared
    view at its shared level with what that hides blanked; a private meeting only to its holders."""
    where = [*where, f"(own.rowid IS NOT NULL OR NOT {private_sql('m')})"]
    rows = conn.execute(_READ.format(shared=shared_level_sql("m"), full=FULL) + f"WHERE {' AND '.join(where)} {tail}",
                        (viewer_id, *args))
    return [redact(dict(r), r["level"]) for r in rows]


def meetings_of_investor(conn, viewer_id: int, investor_id: int, bound: tuple[str, int] | None, limit: int,
                         before: str) -> list[dict]:
    """The investor's meetings started before `before`, older than `bound` (at, id), newest first, as `_read`."""
    where, args = ["l.investor_id = ?", "m.start_at < ?"], [investor_id, before]
    if bound is not None:
        where.append("(m.start_at < ? OR (m.start_at = ? AND m.id < ?))")
        args += [bound[0], bound[0], bound[1]]
    return _read(conn, viewer_id, where, [*args, limit], "ORDER BY m.start_at DESC, m.id DESC LIMIT ?")


_UPCOMING = ("m.end_at > ? AND EXISTS (SELECT 1 FROM email_meeting_copies c WHERE c.meeting_id = m.id AND "
             + ATTENDED.format(c="c") + ")")


def next_meeting_starts(conn, now: str) -> dict[int, str]:
    """{investor_id: start of their next meeting not yet ended that a teammate attends} (the grid's, seen by
    everyone: no private meeting)."""
    return dict(conn.execute("SELECT l.investor_id, min(m.start_at) FROM email_meeting_investors l JOIN email_meetings m "
                             f"ON m.id = l.meeting_id WHERE {_UPCOMING} AND NOT {private_sql('m')} "
                             "GROUP BY l.investor_id", (now,)).fetchall())


def next_meeting(conn, viewer_id: int, investor_id: int, now: str) -> dict | None:
    """The investor's next meeting not yet ended that a teammate attends, as `_read`."""
    found = _read(conn, viewer_id, ["l.investor_id = ?", _UPCOMING], [investor_id, now],
                  "ORDER BY m.start_at, m.id LIMIT 1")
    return found[0] if found else None
