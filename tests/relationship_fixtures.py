"""A capturing CRM with hand-built email histories for the relationship view (issue 17).

Teammates ann, ben, cat (plus admin and member) at firm.test; the investors and their mail:
  Kim Lee (kim@alder.vc)       ann: 30 newsletter sends, never answered (last 60 days)
                               ben: wrote 5 days ago, Kim replied 4 days ago (a recent two-way exchange)
                               cat: 12 rounds of back-and-forth 700 days ago (an old long exchange)
  Raj Patel (raj@birch.capital) Raj → member 40 days ago, member's reply 39 days ago (two-way), Raj → admin
                               20 days ago (unanswered); pending cards for both conversations
  Mo Chen (@cedar.partners)    admin ↔ Mo 100 days ago (two-way)
  Lee Quiet (lee@quiet.vc)     admin → Lee 200 days ago, never answered (one-way: never two-way)
  Nobody Yet                   no mail at all
With CRM_STALE_DAYS=30 exactly Raj and Mo are going cold (Raj stronger: more recent).
"""
from __future__ import annotations

import datetime as dt
import email.utils

from capture_fixtures import start_capture_crm, sync_all
from devtools.make_service_account import make_service_account
from emulator_fixtures import add_message, make_message, start_emulator

FIRM = "firm.test"
TEAM = ("ann", "ben", "cat")
INVESTORS = [
    {"name": "Kim Lee", "firm": "Alder Ventures", "emails": ["kim@alder.vc"], "domains": []},
    {"name": "Raj Patel", "firm": "Birch Capital", "emails": ["raj@birch.capital"], "domains": []},
    {"name": "Mo Chen", "firm": "Cedar Partners", "emails": [], "domains": ["cedar.partners"]},
    {"name": "Lee Quiet", "firm": "Quiet VC", "emails": ["lee@quiet.vc"], "domains": []},
    {"name": "Nobody Yet", "firm": None, "emails": [], "domains": []},
]
STALE_DAYS = 30
NEWSLETTER = {"List-Unsubscribe": "<mailto:leave@firm.test>", "Precedence": "bulk"}


def ago(days: float, now: dt.datetime | None = None) -> dt.datetime:
    return (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0) - dt.timedelta(days=days)


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Mail:
    """Puts each message in the sender's SENT and every teammate recipient's INBOX, like Gmail."""

    def __init__(self, emulator_url: str):
        self.url, self.count = emulator_url, 0

    def send(self, sender: str, to: str, subject: str, when: dt.datetime, reply_to_id: str | None = None,
             headers=None, body: str = "Thanks, let us talk next week about the round.\n") -> str:
        self.count += 1
        message_id = f"<rel{self.count}@{sender.split('@')[1]}>"
        raw = make_message(sender=sender, to=to, subject=subject, body=body, message_id=message_id,
                           in_reply_to=reply_to_id, date=email.utils.format_datetime(when), headers=headers)
        if sender.endswith("@" + FIRM):
            add_message(self.url, sender, raw, labels="SENT")
        if to.endswith("@" + FIRM):
            add_message(self.url, to, raw, labels="INBOX")
        return message_id


def build_histories(mail: Mail) -> None:
    for i in range(30):
        mail.send(f"ann@{FIRM}", "kim@alder.vc", f"Portfolio newsletter #{i}", ago(2 * i + 1), headers=NEWSLETTER)
    opener = mail.send(f"ben@{FIRM}", "kim@alder.vc", "Fund IV first close", ago(5))
    mail.send("kim@alder.vc", f"ben@{FIRM}", "Re: Fund IV first close", ago(4), reply_to_id=opener)
    previous = None
    for i in range(12):
        previous = mail.send(f"cat@{FIRM}", "kim@alder.vc", "Co-investment 2024", ago(700, ago(i / 24)),
                             reply_to_id=previous)
        previous = mail.send("kim@alder.vc", f"cat@{FIRM}", "Re: Co-investment 2024", ago(699.9, ago(i / 24)),
                             reply_to_id=previous)
    intro = mail.send("raj@birch.capital", f"member@{FIRM}", "Intro to Birch", ago(40))
    mail.send(f"member@{FIRM}", "raj@birch.capital", "Re: Intro to Birch", ago(39), reply_to_id=intro)
    mail.send("raj@birch.capital", f"admin@{FIRM}", "Term sheet questions", ago(20))
    hello = mail.send(f"admin@{FIRM}", "mo@cedar.partners", "Cedar catch-up", ago(101))
    mail.send("mo@cedar.partners", f"admin@{FIRM}", "Re: Cedar catch-up", ago(100), reply_to_id=hello)
    mail.send(f"admin@{FIRM}", "lee@quiet.vc", "Would love to meet", ago(200))


def relationship_world(tmp_path_factory):
    """(server, emulator): a fresh emulator and the CRM above on it; `server.ids` = {investor name: id}."""
    keys = make_service_account(str(tmp_path_factory.mktemp("sa")))
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    server, server.ids = start_relationship_crm(tmp_path_factory.mktemp("rel"), emulator, keys)
    return server, emulator


def start_relationship_crm(data_dir, emulator, keys, **env):
    """The CRM above, synced; returns (server, {investor name: id})."""
    server = start_capture_crm(data_dir, emulator, keys, investors=INVESTORS, sync=False,
                               CRM_STALE_DAYS=str(STALE_DAYS), **env)
    for name in TEAM:
        server.create_user(f"{name}@{FIRM}", "member")
    server.admin.post("/api/email/accounts/enroll-all", {})
    build_histories(Mail(emulator.url))
    sync_all(server, timeout=60)
    ids = {i["name"]: i["id"] for i in server.admin.get("/api/investors").json["investors"]}
    return server, ids
