"""Helpers to run the Gmail emulator in tests and to build messages for it.

    emulator = start_emulator(quota_profile="legacy", service_account_key=pub_path)  # in-process
    token = access_token(emulator.url, refresh_user="ann@firm.test")                   # a bearer token
    raw = make_message(sender=..., to=..., subject=..., body=..., message_id=..., in_reply_to=...)
"""
from __future__ import annotations

import email.utils
import json
import secrets
import urllib.parse
import urllib.request
from email.message import EmailMessage

from devtools.gmail_emulator.server import start_emulator  # noqa: F401 - re-exported for tests


def post_json(url: str, payload: dict, method: str = "POST") -> dict:
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"},
                                     method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def access_token(base_url: str, user: str) -> str:
    """A token for `user` through the refresh-token grant (registered on the fly)."""
    refresh = "1//emu-" + secrets.token_hex(8)
    post_json(f"{base_url}/_emulator/oauth/refresh-tokens", {"refresh_token": refresh, "user": user})
    body = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": refresh,
                                   "client_id": "c", "client_secret": "s"}).encode()
    with urllib.request.urlopen(f"{base_url}/token", body, timeout=10) as response:
        return json.loads(response.read())["access_token"]


def add_message(base_url: str, user: str, raw: bytes, labels: str = "INBOX") -> dict:
    request = urllib.request.Request(f"{base_url}/_emulator/users/{user}/messages?labels={labels}", raw,
                                     {"Content-Type": "message/rfc822"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def stats(base_url: str) -> dict:
    with urllib.request.urlopen(f"{base_url}/_emulator/stats", timeout=10) as response:
        return json.loads(response.read())


def make_message(sender="Kim Lee <kim@alder.vc>", to="ann@firm.test", subject="Hello", body="Hi there.\n",
                 message_id=None, in_reply_to=None, date=None, html=None, attachments=(), cc=None,
                 headers=None) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    if cc:
        msg["Cc"] = cc
    msg["Date"] = date or email.utils.formatdate(localtime=False)
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain="mail.test")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    for filename, mime, data in attachments:
        maintype, subtype = mime.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(msg)
