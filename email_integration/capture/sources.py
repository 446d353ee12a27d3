"""Covered sources: the senders of investor mail that names the investor only in headers Gmail's search does
not read (Reply-To, Sender, X-Original-Sender: google/quota.py, "Gmail search"). Their mail is listed by
sender (gmail/search_query.source_queries), read header-first (a metadata get: no body leaves Google), and
fetched only when those headers name an investor; the rest keeps an id-only marker.

- Signing and sharing services (vendors' facts):
  DocuSign sends from dse@docusign.net and its regional dse_...@docusign.net / dse@...mail.docusign.net
  addresses (support.docusign.com, "Why am I not getting DocuSign email notifications"), the envelope's
  sender in Reply-To unless overridden (developers.docusign.com, envelope emailSettings,
  replyEmailAddressOverride); Google Drive and Docs share notices come from drive-shares-dm-noreply@google.com
  (drive-shares-noreply@google.com before), the sharer in Reply-To (reported; the sharer's own address is From
  when the recipient is a group: workspaceupdates.googleblog.com, November 2016).
- The firm's group addresses (ir@, deals@: admin-listed, email_capture_sources): a Google Group rewrites
  From to itself when the author's domain enforces DMARC, and names the author in Reply-To, X-Original-Sender
  and X-Original-From (reported header sets: research notes of issue 21, chatwoot/chatwoot#2715).
"""
from __future__ import annotations

import logging
import unicodedata

from backend.investors_api import is_domain
from email_integration.gmail.search_query import search_forms, unsearchable_reason
from email_integration.google.quota import GROUP_LOCAL_PART

from . import db_sources

log = logging.getLogger(__name__)

SERVICES = ("docusign.net", "drive-shares-dm-noreply@google.com", "drive-shares-noreply@google.com")
SERVICE_NAMES = {"docusign.net": "DocuSign", "drive-shares-dm-noreply@google.com": "Google Drive shares",
                 "drive-shares-noreply@google.com": "Google Drive shares (older sender)"}
# What a header check reads (format=metadata): who sent it, for whom, to whom; never the subject or the body.
SCREEN_HEADERS = ("From", "To", "Cc", "Bcc", "Reply-To", "Sender", "X-Original-Sender", "X-Original-From",
                  "List-Id", "Message-ID", "In-Reply-To", "References")


def group_form(address: str) -> str:
    """A group address as it is stored and searched: trimmed, lower case, NFC."""
    return unicodedata.normalize("NFC", (address or "").strip().lower())


def group_refusal(address: str) -> str | None:
    """Why `address` cannot be a firm group address the capture searches (None: it can). Every mailbox's
    every search carries the groups, so one Gmail cannot read would fail them all."""
    address = group_form(address)
    local, at, domain = address.rpartition("@")
    if not at or len(address) > 254 or not local or not is_domain(domain):
        return f"{address!r} is not an email address"
    if not GROUP_LOCAL_PART.match(local):
        return (f"{address} cannot be a Google Group address: a group's name before the @ has only letters a-z, "
                "digits, '-', '_', \"'\" and single '.' (Google Workspace naming rules)")
    return unsearchable_reason(address)


def searchable_groups(conn) -> list[str]:
    """The listed group addresses in the forms searched (an internationalised domain in both); one saved before
    the check that Gmail's search cannot carry is left out with a warning, never failing the sync."""
    found = []
    for address in db_sources.group_addresses(conn):
        reason = group_refusal(address)
        if reason:
            log.warning("covered source left out of the search: %s; remove it on the Admin page", reason)
            continue
        found.extend(search_forms(group_form(address)))
    return list(dict.fromkeys(found))


def covered(conn) -> dict:
    """{"services": [...], "groups": [...]}: what the capture searches besides the investors' addresses."""
    return {"services": list(SERVICES), "groups": searchable_groups(conn)}


def described(conn) -> list[dict]:
    """The covered sources as the Admin page names them."""
    services = [{"kind": "service", "address": s, "name": SERVICE_NAMES[s]} for s in SERVICES]
    return services + [{"kind": "group", "address": g["address"], "name": g["address"], "added_at": g["added_at"],
                        **({"refused": reason} if (reason := group_refusal(g["address"])) else {})}
                       for g in db_sources.groups(conn)]
