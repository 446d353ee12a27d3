"""Investor mail as it really arrives when someone else sends it for the investor, for the emulator's
mailboxes in tests, the demo and the benchmarks (raw RFC 822 bytes).

The header sets are the ones reported from real mail (issue 21's research notes, /tmp/research/gmail.md §3-4):
- A Google Group at the firm's domain whose member's domain enforces DMARC rewrites From to the group
  ("'Kim Lee' via Investor Relations" <ir@firm>), and names the author in Reply-To, X-Original-Sender and
  X-Original-From, with the list headers (List-ID, Mailing-list, Precedence: list). No Sender header.
  A group set to take replies itself puts the group in Reply-To: the author is then only in X-Original-*.
- DocuSign: "Raj Patel via DocuSign" <dse_NA3@docusign.net>, the envelope's sender in Reply-To.
- Google Drive: "Mo Chen (via Google Docs)" <drive-shares-dm-noreply@google.com>, the sharer in Reply-To.
"""
from __future__ import annotations

import email.utils
from email.message import EmailMessage


def _message(sender: str, to: str, subject: str, body: str, message_id: str, date: str | None,
             headers: dict, in_reply_to: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = date or email.utils.formatdate(localtime=False)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = msg["References"] = in_reply_to
    for name, value in headers.items():
        if value:
            msg[name] = value
    msg.set_content(body)
    return bytes(msg)


def group_rewritten(author_name: str, author: str, group: str, group_name: str, subject: str, body: str,
                    message_id: str, date: str | None = None, replies_to_group: bool = False) -> bytes:
    """A post to a Google Group that rewrote From to itself (the author's domain enforces DMARC)."""
    list_id = group.replace("@", ".")
    return _message(f"'{author_name}' via {group_name} <{group}>", group, subject, body, message_id, date, {
        "Reply-To": group if replies_to_group else f"{author_name} <{author}>",
        "X-Original-Sender": author, "X-Original-From": f"{author_name} <{author}>",
        "Precedence": "list", "Mailing-list": f"list {group}; contact {group.replace('@', '+owners@')}",
        "List-ID": f"<{list_id}>", "X-Spam-Checked-In-Group": group})


def docusign(sender_name: str, sender: str, to: str, subject: str, message_id: str, date: str | None = None,
             reply_to: bool = True) -> bytes:
    """A DocuSign envelope notice sent for `sender` (without Reply-To when `reply_to` is false)."""
    return _message(f'"{sender_name} via DocuSign" <dse_NA3@docusign.net>', to, subject,
                    f"{sender_name} sent you a document to review and sign.\nREVIEW DOCUMENT\n", message_id, date,
                    {"Reply-To": f"{sender_name} <{sender}>" if reply_to else None})


def drive_share(sharer_name: str, sharer: str, to: str, title: str, message_id: str, date: str | None = None) -> bytes:
    """A Google Drive share notice for a document `sharer` shared."""
    return _message(f'"{sharer_name} (via Google Docs)" <drive-shares-dm-noreply@google.com>', to,
                    f'Document shared with you: "{title}"', f"{sharer_name} shared a document with you: {title}\n",
                    message_id, date, {"Reply-To": f"{sharer_name} <{sharer}>"})


def reply(sender: str, to: str, subject: str, body: str, message_id: str, in_reply_to: str,
          date: str | None = None) -> bytes:
    """A plain reply in the same conversation (In-Reply-To and References)."""
    return _message(sender, to, subject, body, message_id, date, {}, in_reply_to)
