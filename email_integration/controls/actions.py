"""The privacy actions behind /api/email/exclusions, …/threads/{id}/private and PATCH …/accounts/{id}:
who may do each, what each changes, and the audit row each leaves. The visibility rule itself is
privacy/db_visibility.py."""
from __future__ import annotations

from backend.audit_db import audit
from backend.db import atomic
from backend.web import BadRequest, Forbidden, NotFound
from email_integration.calendar import meetings
from email_integration.capture import db_accounts, db_emails
from email_integration.capture.db_queries import visible_emails
from email_integration.privacy import db_privacy, db_visibility
from email_integration.privacy.exclusions import SCOPES, parse_pattern
from email_integration.review import db_proposals


def _pattern_and_owner(user: dict, raw_pattern, scope: str) -> tuple[str, int | None]:
    """(normalised pattern, the user_id an exclusion of `scope` belongs to: None when firm-wide);
    BadRequest for bad input, Forbidden for a member's 'firm'."""
    try:
        pattern = parse_pattern(raw_pattern)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    if scope not in SCOPES:
        raise BadRequest("'scope' must be 'mine' or 'firm'")
    if scope == "firm":
        if user["role"] != "admin":
            raise Forbidden("only an admin can add or remove firm-wide exclusions")
        return pattern, None
    return pattern, user["id"]


def _audit_detail(scope: str, pattern: str) -> dict:
    """What the admin-readable audit log says: a personal exclusion is its owner's alone (whom it keeps
    out, a doctor say, is nobody else's business); a firm-wide one names its pattern."""
    return {"scope": scope, "pattern": pattern} if scope == "firm" else {"scope": scope}


def add_exclusion(conn, blob_store, user: dict, raw_pattern, scope: str) -> tuple[dict, bool, int]:
    """Record the exclusion and purge what its mailboxes already captured from those people, at once:
    (exclusion, created, mailbox copies removed). Other teammates' copies of the same mail stay. The meetings
    those mailboxes' calendars hold with those people go too (calendar/meetings.purge_excluded)."""
    pattern, owner = _pattern_and_owner(user, raw_pattern, scope)
    with atomic(conn):
        existing = db_privacy.find_exclusion(conn, scope, owner, pattern)
        created = existing is None
        if created:
            exclusion_id = db_privacy.add_exclusion(conn, scope, owner, pattern, user["id"])
            audit(conn, user["id"], "email.exclusion.add", "email_exclusion", exclusion_id,
                  _audit_detail(scope, pattern))
        else:
            exclusion_id = existing["id"]
        removed = 0
        for account_id in db_privacy.accounts_of(conn, owner):
            for gmail_id, email_id in db_privacy.entries_matching(conn, account_id, pattern):
                db_privacy.stop_fetching_from(conn, email_id, account_id)
                gone, hashes = db_emails.remove_entry(conn, account_id, gmail_id)
                removed += int(gone)
                blob_store.release(conn, hashes)
            meetings.purge_excluded(conn, account_id)  # and its calendar's meetings with those people
        return db_privacy.get_exclusion(conn, exclusion_id), created, removed


def preview_exclusion(conn, user: dict, raw_pattern, scope: str) -> dict:
    """What add_exclusion would purge now, without doing it (issue 24, item 5): {messages (mailbox copies, the
    number add_exclusion reports as `purged`), emails (distinct messages), conversations, mailboxes, exists}."""
    pattern, owner = _pattern_and_owner(user, raw_pattern, scope)
    entries = {account_id: db_privacy.entries_matching(conn, account_id, pattern)
               for account_id in db_privacy.accounts_of(conn, owner)}
    email_ids = sorted({email_id for found in entries.values() for _gmail_id, email_id in found})
    return {"pattern": pattern, "scope": scope, "messages": sum(len(found) for found in entries.values()),
            "emails": len(email_ids), "conversations": db_privacy.thread_count(conn, email_ids),
            "mailboxes": sum(1 for found in entries.values() if found),
            "exists": db_privacy.find_exclusion(conn, scope, owner, pattern) is not None}


def remove_exclusion(conn, user: dict, raw_pattern, scope: str) -> dict:
    """Forget an exclusion: new mail is captured again (older mail returns with the next full resync)."""
    pattern, owner = _pattern_and_owner(user, raw_pattern, scope)
    with atomic(conn):
        existing = db_privacy.find_exclusion(conn, scope, owner, pattern)
        if existing is None:
            raise NotFound(f"no {scope} exclusion {pattern}")
        db_privacy.delete_exclusion(conn, existing["id"])
        audit(conn, user["id"], "email.exclusion.remove", "email_exclusion", existing["id"],
              _audit_detail(scope, pattern))
    return existing


def set_private(conn, user: dict, thread_id: int, private: bool) -> dict:
    """Mark or unmark a conversation private: any teammate whose mailbox holds it may mark it; unmarking
    is for whoever marked it or holds all of it (db_privacy.may_unmark)."""
    with atomic(conn):
        if not db_visibility.holds_thread(conn, user["id"], thread_id):
            if visible_emails(conn, user["id"], thread_id):
                raise Forbidden("only a teammate whose mailbox holds this conversation can change its privacy")
            raise NotFound("no such thread")
        was = db_visibility.is_private(conn, thread_id)
        withdrawn, restored = [], []
        if private and not was:
            db_privacy.flag_private(conn, thread_id, user["id"])
            withdrawn = db_proposals.withdraw_private(conn, thread_id)
        elif was and not private:
            if not db_privacy.may_unmark(conn, thread_id, user["id"]):
                raise Forbidden("only the teammate who marked this conversation private, or one whose mailbox "
                                "holds all of it, can make it visible again")
            db_privacy.unflag_private(conn, thread_id)
            restored = db_proposals.restore_withdrawn(conn, thread_id)
        if private != was:
            audit(conn, user["id"], "email.thread.private" if private else "email.thread.public", "email_thread",
                  thread_id, {"withdrawn": withdrawn, "restored": restored})
    return {"thread_id": thread_id, "private": private, "withdrawn": withdrawn, "restored": restored}


def set_visibility(conn, user: dict, account_id: int, value) -> dict:
    """Set a mailbox's visibility (its owner or an admin)."""
    if value not in db_visibility.VISIBILITIES:
        raise BadRequest(f"'visibility' must be one of {', '.join(db_visibility.VISIBILITIES)}")
    with atomic(conn):
        account = db_accounts.get_account(conn, account_id)
        if account is None:
            raise NotFound(f"no email account {account_id}")
        if account["user_id"] != user["id"] and user["role"] != "admin":
            raise Forbidden("only the mailbox's owner or an admin can change its visibility")
        before = db_privacy.visibility(conn, account_id)
        if before != value:
            db_privacy.set_visibility(conn, account_id, value, user["id"])
            audit(conn, user["id"], "email.account.visibility", "email_account", account_id,
                  {"visibility": {"before": before, "after": value}})
    return {"id": account_id, "email": account["email"], "visibility": value}
