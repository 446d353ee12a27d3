"""Who sees how much of a captured email: THE visibility rule, as SQL that every read query embeds.

A viewer's level for one matched email (higher shows more):
  HIDDEN   (0) not shown at all (not listed, not counted, not searchable)
  METADATA (1) who and when: sender, To/Cc, date
  SUBJECT  (2) + the subject
  FULL     (3) + body, snippet, HTML, attachments

The rule, for viewer V (a user id) and email E:
  0. E names its investors only in its Bcc (email_bcc_links) → HIDDEN unless V sent it: a Bcc is the
     sender's alone, and so is an investor link only a Bcc makes (issue 22, item 2).
  1. V's own mailbox holds E → FULL: the owner always sees all of their own mail.
  2. E's conversation is private (email_private_threads) → HIDDEN.
  3. otherwise the most open visibility among the mailboxes holding E (email_account_privacy;
     no row = 'everything'): a message in two mailboxes is as visible as the more open one.
"Holds" means the mailbox received that content: a copy merges into a stored email only when its content
is the same (capture/copies.py), so a planted copy never makes its planter a holder (issue 22, item 1).
Admins see what members see (their extra reach is operations, not mail). The bot sees only cards
whose email is `shared` FULL and whose investor link is not a Bcc's alone (card_room_safe_sql): anything
less stays on /capture for its holders. Bcc recipients, and the investor links only a Bcc makes
(link_visible_sql), are shown only to the holder of the mailbox that sent the message (bcc_visible_sql).

Use: `expr, params = level_sql(viewer_id, "e")`, then `f"... WHERE {expr} >= ?"` with
`[*params, METADATA]`. Reused by the investor page (issue 17): never re-implement the rule.
"""
from __future__ import annotations

HIDDEN, METADATA, SUBJECT, FULL = 0, 1, 2, 3
VISIBILITIES = ("everything", "subject", "metadata")  # a mailbox's setting, most open first
LEVEL_OF_SETTING = {"everything": FULL, "subject": SUBJECT, "metadata": METADATA}
LEVEL_NAMES = {HIDDEN: "hidden", METADATA: "metadata", SUBJECT: "subject", FULL: "everything"}

_HOLDS = ("EXISTS (SELECT 1 FROM email_mailbox_entries vh JOIN email_accounts va ON va.id = vh.account_id "
          "WHERE vh.email_id = {e}.id AND va.user_id = ?)")
_PRIVATE = "EXISTS (SELECT 1 FROM email_private_threads vp WHERE vp.thread_id = {e}.thread_id)"
_OPENEST = ("coalesce((SELECT max(CASE coalesce(vs.visibility, 'everything') WHEN 'everything' THEN 3 "
            "WHEN 'subject' THEN 2 ELSE 1 END) FROM email_mailbox_entries vo LEFT JOIN email_account_privacy vs "
            "ON vs.account_id = vo.account_id WHERE vo.email_id = {e}.id), 3)")
_SENT_BY_VIEWER = ("EXISTS (SELECT 1 FROM email_mailbox_entries vb JOIN email_accounts vba ON vba.id = vb.account_id "
                   "WHERE vb.email_id = {e}.id AND vba.user_id = ? AND vba.email = {e}.from_email)")


_BCC_LINK = "EXISTS (SELECT 1 FROM email_bcc_links {a} WHERE {a}.email_id = {email} AND {a}.investor_id = {investor})"
# Every investor link of the email is a Bcc's alone (an email without links, shown with its conversation, is not).
_BCC_ONLY = ("(EXISTS (SELECT 1 FROM email_bcc_links vx WHERE vx.email_id = {e}.id) AND NOT EXISTS (SELECT 1 FROM "
             "email_investor_links vl WHERE vl.email_id = {e}.id AND NOT " +
             _BCC_LINK.format(a="vy", email="vl.email_id", investor="vl.investor_id") + "))")


def _check_alias(alias: str) -> str:
    if not alias.isidentifier():
        raise ValueError("alias must be an identifier")
    return alias


def shared_level_sql(alias: str = "e") -> str:
    """The level of email `alias` for someone whose mailbox does not hold it (no parameters)."""
    e = _check_alias(alias)
    return (f"(CASE WHEN {_BCC_ONLY.format(e=e)} OR {_PRIVATE.format(e=e)} THEN 0 "
            f"ELSE {_OPENEST.format(e=e)} END)")


def level_sql(viewer_id: int, alias: str = "e") -> tuple[str, list]:
    """(SQL expression, params): the viewer's level (0-3) for email `alias` (a row of `emails`)."""
    e = _check_alias(alias)
    return (f"(CASE WHEN {_SENT_BY_VIEWER.format(e=e)} THEN 3 WHEN {_HOLDS.format(e=e)} AND NOT {_BCC_ONLY.format(e=e)} "
            f"THEN 3 ELSE {shared_level_sql(e)} END)", [viewer_id, viewer_id])


def room_safe_sql(alias: str = "e") -> str:
    """True when email `alias` may reach the review room and the bot: every teammate could read it all."""
    return f"({shared_level_sql(alias)} = 3)"


def _check_column(column: str) -> str:
    if not all(part.isidentifier() for part in column.split(".")):
        raise ValueError("a column must be [alias.]column")
    return column


def bcc_link_sql(email_column: str, investor_column: str) -> str:
    """True when the (email, investor) link is made only through the email's Bcc (no parameters)."""
    return _BCC_LINK.format(a="vz", email=_check_column(email_column), investor=_check_column(investor_column))


def link_visible_sql(viewer_id: int, email_column: str, investor_column: str, alias: str = "e") -> tuple[str, list]:
    """(SQL, params): true when the viewer may see the investor link (email `alias` is the link's email):
    every link, except one only a Bcc makes, which its sender alone sees."""
    sent, params = bcc_visible_sql(viewer_id, alias)
    return f"(NOT {bcc_link_sql(email_column, investor_column)} OR {sent})", params


def card_room_safe_sql(proposal: str = "p", alias: str = "e") -> str:
    """True when proposal `proposal` (of email `alias`) may reach the review room and the bot: its email is
    room-safe and its investor is not named only in the Bcc."""
    p = _check_alias(proposal)
    return f"({room_safe_sql(alias)} AND NOT {bcc_link_sql(p + '.email_id', p + '.investor_id')})"


def bcc_visible_sql(viewer_id: int, alias: str = "e") -> tuple[str, list]:
    """(SQL, params): true when the viewer holds the email in the mailbox that sent it."""
    return _SENT_BY_VIEWER.format(e=_check_alias(alias)), [viewer_id]


def email_level(conn, viewer_id: int, email_id: int) -> int:
    """The viewer's level for one email; HIDDEN when it does not exist or matches no investor."""
    expr, params = level_sql(viewer_id)
    row = conn.execute(f"SELECT {expr} FROM emails e WHERE e.id = ? AND e.matched = 1", [*params, email_id]).fetchone()
    return row[0] if row else HIDDEN


def sees_bcc(conn, viewer_id: int, email_id: int) -> bool:
    expr, params = bcc_visible_sql(viewer_id)
    row = conn.execute(f"SELECT {expr} FROM emails e WHERE e.id = ?", [*params, email_id]).fetchone()
    return bool(row and row[0])


def holds_thread_sql(viewer_id: int, thread_column: str) -> tuple[str, list]:
    """(SQL, params): true when one of the viewer's mailboxes holds a message of the conversation
    `thread_column` names (e.g. "p.thread_id"): who may mark it private."""
    _check_column(thread_column)
    return (f"EXISTS (SELECT 1 FROM emails ht JOIN email_mailbox_entries hm ON hm.email_id = ht.id JOIN email_accounts "
            f"ha ON ha.id = hm.account_id WHERE ht.thread_id = {thread_column} AND ha.user_id = ?)", [viewer_id])


def thread_shown_sql(viewer_id: int, thread_column: str) -> tuple[str, list]:
    """(SQL, params): true when the conversation `thread_column` names is not private or the viewer holds some
    of it: a private conversation is its holders' own, even its investors (rule 2)."""
    held, params = holds_thread_sql(viewer_id, thread_column)
    return (f"(NOT EXISTS (SELECT 1 FROM email_private_threads sp WHERE sp.thread_id = {thread_column}) OR {held})",
            params)


def holds_thread(conn, user_id: int, thread_id: int) -> bool:
    """Whether one of the user's mailboxes holds a message of the conversation (who may mark it private)."""
    expr, params = holds_thread_sql(user_id, "t.id")
    row = conn.execute(f"SELECT {expr} FROM email_threads t WHERE t.id = ?", (*params, thread_id)).fetchone()
    return bool(row and row[0])


def is_private(conn, thread_id: int) -> bool:
    return conn.execute("SELECT 1 FROM email_private_threads WHERE thread_id = ?", (thread_id,)).fetchone() is not None


def redact(email: dict, level: int) -> dict:
    """Blank what `level` does not show of an email dict (subject, snippet, body fields, attachments)."""
    shown = dict(email)
    if level < FULL and "message_id" in shown:
        shown["message_id"] = None  # a copy planted with it, the sender and the date used to merge (issue 22)
    if level < SUBJECT and "subject" in shown:
        shown["subject"] = None
    if level < FULL:
        for key in ("snippet", "body_text", "quoted_text", "signature"):
            if key in shown:
                shown[key] = None
        if "attachments" in shown:
            shown["attachments"] = []
        if "body_html_available" in shown:
            shown["body_html_available"] = False
    shown["visibility"] = LEVEL_NAMES[level]
    return shown
