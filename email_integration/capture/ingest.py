"""The local pipeline for one fetched message: parse → match → thread → store (no network).

Privacy: a message that matches no investor keeps only what rematch needs (ids, participants,
date); its subject, body and attachments are kept only when it matches or CRM_GMAIL_CAPTURE_ALL.
In the investors scope (`conversations=True`) a message without an investor of its own that joins a
conversation holding investor mail and names only teammates (an internal reply) is kept and shown
with it, unlinked: no proposal, no last contact. Any other message without an investor is not stored at
all there ('refused': a word-match lookalike Gmail's search listed, a signing service's mail for someone
else); the sync keeps an id-only marker so it is never fetched again.
A message with a participant on the mailbox's exclusion list is not stored at all.
An investor is named by From, To, Cc, Bcc, Reply-To, or the headers saying whom a message was sent for
(Sender, and X-Original-Sender / X-Original-From of a Google Group that rewrote From to itself: mail.parser).
"""
from __future__ import annotations

import datetime
import hashlib

from backend.address_policy import team_only
from backend.db import ISO_FORMAT, atomic
from email_integration.mail.parser import parse
from email_integration.privacy import db_privacy
from email_integration.privacy.exclusions import excluded

from . import copies, db_accounts, db_capture, db_emails, events
from .attachments import BlobStore, store_inline
from .threads import resolve_thread, thread_keys

ADDED, UPDATED, UNCHANGED, EXCLUDED, REFUSED = "added", "updated", "unchanged", "excluded", "refused"


def message_key(parsed: dict) -> str:
    """Dedup key across mailboxes: the RFC 5322 Message-ID, else a hash of what every copy shares."""
    if parsed.get("message_id"):
        return "mid:" + parsed["message_id"]
    sender = (parsed.get("from") or {}).get("email", "")
    to = ",".join(sorted(p["email"] for p in parsed.get("to") or []))
    basis = "\x1f".join([sender, to, parsed.get("date") or parsed.get("internal_date") or "",
                         parsed.get("subject") or ""])
    return "hash:" + hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()[:40]


def copy_basis(from_email: str | None, date: str | None, date_source: str | None) -> tuple:
    """What every copy of one message shares besides its Message-ID: the sender, and the Date header
    (Gmail's internal date differs per mailbox, so a message without Date agrees on the sender alone)."""
    return ((from_email or "").lower(), date if date_source == "header" else None)


def parsed_basis(parsed: dict) -> tuple:
    return copy_basis((parsed.get("from") or {}).get("email"), parsed.get("date"), parsed.get("date_source"))


def collision_key(key: str, parsed: dict) -> str:
    """The key of a message that reuses a known Message-ID but disagrees with its first copy:
    stable (its own later copies dedup with it), distinct from the original's."""
    return key + "#" + hashlib.sha256("\x1f".join(map(str, parsed_basis(parsed))).encode("utf-8", "replace")).hexdigest()[:16]


def raw_headers(resource: dict) -> dict:
    """Top-level headers of a Gmail resource, lower-cased name → first value (for the automated-mail rules)."""
    found = {}
    payload = resource.get("payload") if isinstance(resource, dict) else None
    for header in (payload or {}).get("headers") or []:
        if isinstance(header, dict) and isinstance(header.get("name"), str):
            found.setdefault(header["name"].lower(), str(header.get("value") or ""))
    return found


def relink(conn, index, email_id: int, date: str | None) -> tuple[list, bool]:
    """Links from every participant any copy of the email named; stored when they changed: (links, changed)."""
    links = index.match(db_emails.participant_addresses(conn, email_id))
    bcc_only = bcc_only_ids(conn, index, email_id, links)
    changed = {link[0] for link in links} != db_emails.linked_investor_ids(conn, email_id)
    if changed or bcc_only != db_emails.bcc_linked_ids(conn, email_id):
        db_emails.set_links(conn, email_id, links, date, bcc_only=bcc_only)
    return links, changed


def bcc_only_ids(conn, index, email_id: int, links: list) -> set[int]:
    """The linked investors no participant outside the Bcc names (issue 22, item 2: their sender's alone)."""
    if not links or not db_emails.has_bcc(conn, email_id):
        return set()
    named = {link[0] for link in index.match(db_emails.participant_addresses(conn, email_id, bcc=False))}
    return {link[0] for link in links} - named


def horizon_for(enrolled_at: str, days: float | None) -> str:
    """The proposal horizon of an account enrolled at `enrolled_at`: mail dated before the returned
    timestamp drafts no card (CRM_GMAIL_PROPOSE_SINCE_DAYS). "" means no horizon."""
    if days is None or not enrolled_at:
        return ""
    enrolled = datetime.datetime.strptime(enrolled_at, ISO_FORMAT)
    return (enrolled - datetime.timedelta(days=days)).strftime(ISO_FORMAT)


def is_internal_only(parsed: dict, own_domain: str) -> bool:
    """Every sender and recipient (Bcc aside) is at the firm's domain."""
    people = [parsed.get("from")] + [p for r in ("to", "cc") for p in parsed.get(r) or []]
    addresses = [p["email"] for p in people if p and p.get("email")]
    return bool(own_domain) and bool(addresses) and all(a.endswith("@" + own_domain.lower()) for a in addresses)


def addresses_of(parsed: dict) -> list[str]:
    people = [parsed.get("from")] + [p for role in ("to", "cc", "bcc", "reply_to", "on_behalf")
                                     for p in parsed.get(role) or []]
    return [p["email"] for p in people if p and p.get("email")]


class Ingestor:
    """Stores parsed messages for the accounts of one database connection."""

    def __init__(self, conn, matcher_cache, blob_store: BlobStore, capture_all: bool = False,
                 max_attachment_bytes: int = 50 << 20, propose_since_days: float | None = None,
                 conversations: bool = False):
        """`propose_since_days`: the proposal horizon before each account's enrollment (None: none);
        `conversations` (investors scope): unlinked mail inside an investor conversation is shown with it."""
        self.conn, self.matcher, self.blobs = conn, matcher_cache, blob_store
        self.capture_all, self.max_attachment_bytes = capture_all, max_attachment_bytes
        self.propose_since_days = propose_since_days
        self.conversations = conversations
        self._horizons: dict[int, str] = {}
        self.memo: dict = {}  # the listeners' scratch for this ingestor's life (capture/events.py Kept.memo)
        self.last_links: list = []  # the investor links of the message stored last (the sync counts captures)
        self.last_in_conversation = False  # whether the message refused last sits in an investor conversation

    def ingest(self, account_id: int, resource: dict, seen_gen: int = 0) -> str:
        """Store one Gmail message resource (format full) held by the account's mailbox."""
        parsed = parse(resource)
        return self.store(account_id, parsed, self.match(parsed), seen_gen, raw_headers(resource))

    def keeps_body(self, resource: dict) -> bool:
        """Whether ingesting this resource would keep its body (matched mail, or CRM_GMAIL_CAPTURE_ALL)."""
        return self.capture_all or bool(self.match(parse(resource)))

    def match(self, parsed: dict) -> list:
        return self.matcher.index(self.conn).match(addresses_of(parsed))

    def store(self, account_id: int, parsed: dict, links: list, seen_gen: int = 0, headers: dict | None = None) -> str:
        """Thread and store a parsed message with its investor links; 'added', 'updated', 'unchanged',
        'excluded' (a participant is on the mailbox's exclusion list: nothing is stored), or 'refused' (investors
        scope: no investor and no conversation of theirs to join: nothing is stored)."""
        if not parsed["gmail_id"]:
            raise ValueError("a Gmail message without an id")
        keep_body = bool(links) or self.capture_all
        self.last_links = []
        with atomic(self.conn):
            # Read inside the transaction: an exclusion added (and its purge) commits before or after, never between.
            if excluded(addresses_of(parsed), db_privacy.patterns_for_account(self.conn, account_id)):
                return EXCLUDED  # never stored, not even the metadata rematch would need
            key, existing, collides_with, digest = self._identify(account_id, parsed)
            # A message whose Message-ID belongs to another email threads without it (its Gmail
            # thread and its References still apply), or it would join that email's conversation.
            threading = parsed if key == message_key(parsed) else {**parsed, "message_id": ""}
            if existing is None and self.conversations and not links and not self.capture_all and \
                    not self._would_join(account_id, parsed, threading):
                return REFUSED
            outcome = UNCHANGED
            if existing is None:
                thread_id = resolve_thread(self.conn, account_id, parsed["gmail_thread_id"], threading)
                email_id = db_emails.insert_email(self.conn, key, parsed, thread_id)
                db_emails.set_content_digest(self.conn, email_id, digest)
                if collides_with is not None:
                    db_emails.record_collision(self.conn, parsed["message_id"], collides_with, email_id, account_id)
                db_emails.store_participants(self.conn, email_id, parsed)
                db_emails.set_links(self.conn, email_id, links, parsed["date"], new=True,
                                    bcc_only=bcc_only_ids(self.conn, self.matcher.index(self.conn), email_id, links))
                keep_body = keep_body or self._joins_conversation(email_id, thread_id, links)
                outcome = ADDED
            else:
                email_id, thread_id = existing["id"], existing["thread_id"]
                thread_id = resolve_thread(self.conn, account_id, parsed["gmail_thread_id"], threading, thread_id)
                db_emails.set_email_thread(self.conn, email_id, thread_id)
                # Another mailbox's copy may name more people (a Bcc only its sender's copy shows):
                # keep them all, and link by everyone seen in any copy.
                db_emails.store_participants(self.conn, email_id, parsed)
                links, changed = relink(self.conn, self.matcher.index(self.conn), email_id, parsed["date"])
                keep_body = bool(links) or self.capture_all or self._joins_conversation(email_id, thread_id, links)
                if changed:
                    outcome = UPDATED
            if keep_body and not (existing and existing["has_body"]):
                db_emails.store_body(self.conn, email_id, parsed, account_id)
                self._store_inline_parts(email_id, parsed)
                if links:
                    events.email_kept(self.conn, events.Kept(account_id, email_id, thread_id, parsed, headers or {},
                                                             links, self.matcher.own_domain, self._horizon(account_id),
                                                             self.memo))
                outcome = outcome if outcome == ADDED else UPDATED
            # A brand-new email cannot already sit in a mailbox row (rows point at existing emails).
            new_entry = db_emails.upsert_entry(self.conn, email_id, account_id, parsed["gmail_id"],
                                               parsed["gmail_thread_id"], parsed["label_ids"], seen_gen,
                                               surely_new=existing is None)
            if new_entry and outcome == UNCHANGED:
                outcome = UPDATED
            if links or keep_body or existing is not None:  # thread subject/date come from kept, matched mail
                db_emails.refresh_thread(self.conn, thread_id)
        self.last_links = links
        return outcome

    def _joins_conversation(self, email_id: int, thread_id: int, links: list) -> bool:
        """Investors scope: a teammates-only message in a conversation with investor mail is shown with it.
        Not one with anyone else (every copy's participants, Bcc included): a forward of investor
        mail to one's lawyer, and the lawyer's answer, share its Gmail thread but are not the team's."""
        if links or not self.conversations or not db_capture.thread_has_investor_mail(self.conn, thread_id):
            return False
        if not team_only(self.conn, db_emails.participant_addresses(self.conn, email_id), self.matcher.own_domain):
            return False
        db_capture.show_in_conversation(self.conn, email_id)
        return True

    def _would_join(self, account_id: int, parsed: dict, threading: dict) -> bool:
        """Whether a new message without an investor would be shown with an investor conversation (as
        _joins_conversation decides once it is stored): its conversation holds investor mail, and it names
        teammates only. Read before anything is written, so a refused message leaves no trace."""
        keys = thread_keys(account_id, parsed["gmail_thread_id"], threading)
        threads = db_emails.threads_for_keys(self.conn, keys) if keys else []
        self.last_in_conversation = any(db_capture.thread_has_investor_mail(self.conn, t) for t in threads)
        return self.last_in_conversation and team_only(self.conn, addresses_of(parsed), self.matcher.own_domain)

    def _horizon(self, account_id: int) -> str:
        if account_id not in self._horizons:
            account = db_accounts.get_account(self.conn, account_id)
            self._horizons[account_id] = horizon_for(account["created_at"] if account else "", self.propose_since_days)
        return self._horizons[account_id]

    def _identify(self, account_id: int, parsed: dict) -> tuple[str, dict | None, int | None, str]:
        """(message key, the stored email it is a copy of or None, the email whose key it claims or None,
        its content digest).

        A copy merges only into an email this mailbox already holds, or one it agrees with on sender and
        date (copy_basis: a message that merely reuses the id must not rewrite the real email's participants
        and links, issue 15, item 11) and on the content digest (copies.py: a planted copy must not read
        what its planter may not, issue 22, item 1), unless that email sits in a conversation marked private
        before this mailbox brought it. Anything else is stored apart, under a key of its own, the pair recorded.
        """
        key, digest = message_key(parsed), copies.parsed_digest(parsed)
        first = db_emails.find_email(self.conn, key)
        if first is None:
            return key, None, None, digest
        basis = parsed_basis(parsed)
        # The shared key, the one a disagreeing copy had before issue 22, the one for its content, its own.
        candidates = [key, collision_key(key, parsed), copies.copy_key(key, basis, digest),
                      copies.own_key(key, account_id, parsed["gmail_id"])]
        for candidate in candidates:
            found = first if candidate == key else db_emails.find_email(self.conn, candidate)
            if found is not None and (candidate == candidates[-1] or self._may_merge(account_id, parsed, found, basis,
                                                                                     digest)):
                return candidate, found, None if candidate == key else first["id"], digest
        fresh = next(c for c in candidates[1:] if c == candidates[-1] or db_emails.find_email(self.conn, c) is None)
        return fresh, None, first["id"], digest

    def _may_merge(self, account_id: int, parsed: dict, found: dict, basis: tuple, digest: str) -> bool:
        if db_emails.entry_is(self.conn, account_id, parsed["gmail_id"], found["id"]):
            return True  # this very message again (a resync, new labels): it raises nothing
        if copy_basis(found["from_email"], found["date"], found["date_source"]) != basis:
            return False
        stored = db_emails.content_digest(self.conn, found["id"])
        if stored is None:  # stored before digests were kept: digest its kept body, if any
            content = db_emails.stored_content(self.conn, found["id"])
            stored = copies.content_digest(**content) if content else None
        if stored != digest:
            return False
        private_since = db_privacy.private_since(self.conn, found["thread_id"]) if found["thread_id"] else None
        return not copies.late_to_private(found["created_at"], private_since)

    def _store_inline_parts(self, email_id: int, parsed: dict) -> None:
        for part in parsed["attachments"]:
            if part.get("data") is not None and not part.get("attachment_id"):
                row_id = db_emails.attachment_row_id(self.conn, email_id, part["part_id"])
                if row_id is not None:
                    store_inline(self.conn, self.blobs, row_id, part["data"], self.max_attachment_bytes)

