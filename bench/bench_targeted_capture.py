"""Targeted capture against full-mailbox capture, on one generated firm mailbox, in the same run.

    .venv/bin/python bench/bench_targeted_capture.py [--messages 5000] [--investor-share 0.1] [--seed 7]

A mailbox of >= --messages messages in threads of 1-6 messages; about --investor-share of them are
conversations with the demo's investors (a few with a teammate's internal reply inside), the rest
personal mail, newsletters, internal and vendor mail. The emulator runs in its own process in the
2026 quota profile (messages.get 20, threads.get 40, messages.list 5, history.list 2 units); its
per-minute budget is raised and our client left unpaced so the wall time measures the work, not
the wait (the time at the 2026 pace is derived: units / 5,400 per minute). Every unit and call
figure is the emulator's own (GET /_emulator/stats). Then: new mail arrives and one poll checks it,
and the two ways to check new ids (a windowed search vs metadata gets) are measured side by side.
Targets: >= 10x fewer units than `all`, <= 15 units per captured investor message, zero
non-investor messages fetched in `investors` scope. Prints the figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import email.utils
import json
import os
import platform
import random
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_support import (DOMAIN, capture_environ, crm_database, service_account,  # noqa: E402
                           start_emulator_process)
from backend.db import connect  # noqa: E402
from devtools.mailgen import FUNDS, _address  # noqa: E402
from email_integration.capture import db_accounts as email_db  # noqa: E402
from email_integration.config import load_config  # noqa: E402
from email_integration.google.pacing import QuotaLimiter  # noqa: E402
from email_integration.gmail.search_query import build_queries  # noqa: E402
from email_integration.capture.service import CaptureService  # noqa: E402
from email_integration.capture.sync import AccountSync  # noqa: E402
from email_integration.capture.targeted import current_terms  # noqa: E402

OWNER = f"ann@{DOMAIN}"
OPTIONS = (("--messages", int, 5000), ("--investor-share", float, 0.1), ("--new-mail", int, 100), ("--seed", int, 7))
PACE_2026 = 5400  # units per minute: 90% of the 2026 profile's 6,000 per user
OTHERS = [("Sara", "sara.k@gmail.com"), ("Term Sheet Weekly", "news@termsheetweekly.com"),
          ("Acme Billing", "billing@acme-saas.example"), ("Landlord", "office@harbour-lettings.example"),
          ("Ben Carter", f"ben@{DOMAIN}"), ("Chloe Martin", f"chloe@{DOMAIN}")]


class Mailbox:
    """Writes OWNER's .eml files and remembers which RFC Message-IDs are investor conversation."""

    def __init__(self, folder: str, seed: int):
        self.folder, self.rng = folder, random.Random(seed)
        self.count, self.clock = 0, 1_767_225_600.0
        self.investor_ids: set[str] = set()
        os.makedirs(folder, exist_ok=True)

    def message(self, sender, to, subject, reply_to=None) -> str:
        self.count += 1
        self.clock += self.rng.uniform(300, 4 * 3600)
        msg = EmailMessage()
        msg["From"], msg["To"] = email.utils.formataddr(sender), email.utils.formataddr(to)
        msg["Subject"] = subject
        msg["Date"] = email.utils.formatdate(self.clock, localtime=False)
        msg["Message-ID"] = f"<b{self.count}.{self.rng.getrandbits(32):08x}@{sender[1].split('@')[1]}>"
        if reply_to:
            msg["In-Reply-To"] = msg["References"] = reply_to
        msg.set_content(f"Message {self.count}.\nThanks, and let me know about next steps.\n")
        if self.rng.random() < 0.05:
            msg.add_attachment(self.rng.randbytes(1024), maintype="application", subtype="pdf", filename="deck.pdf")
        with open(os.path.join(self.folder, f"{self.count:06d}.eml"), "wb") as handle:
            handle.write(bytes(msg))
        return msg["Message-ID"]

    def thread(self, investor: bool) -> None:
        me = ("Ann Silva", OWNER)
        if investor:
            fund, people, domain = self.rng.choice(FUNDS)
            person = self.rng.choice(people)
            other = (person, _address(person, domain) if self.rng.random() < 0.7 else f"partners@{domain}")
        else:
            fund, other = "", self.rng.choice(OTHERS)
        subject = f"{'Round update — ' + fund if investor else 'Plans'} #{self.count}"
        previous = None
        size = self.rng.randint(1, 6)
        internal_at = self.rng.randrange(1, size) if investor and size > 1 and self.rng.random() < 0.2 else None
        for turn in range(size):
            if turn == internal_at:  # a teammate-only reply inside the investor conversation
                sender, to = me, ("Ben Carter", f"ben@{DOMAIN}")
            else:
                sender, to = (other, me) if turn % 2 == 0 else (me, other)
            previous = self.message(sender, to, ("Re: " if turn else "") + subject, previous)
            if investor:
                self.investor_ids.add(previous.strip("<>"))

    def fill(self, total: int, share: float) -> None:
        while self.count < total:
            self.thread(self.rng.random() < share)


def emulator(url: str, path: str, body: bytes | None = None, method: str = "GET", content_type=None) -> dict:
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(url + path, body, headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def user_stats(url: str) -> dict:
    return emulator(url, "/_emulator/stats")["users"].get(OWNER, {})


def reset(url: str) -> None:
    emulator(url, "/_emulator/stats/reset", b"", "POST")


def capture(url: str, key_path: str, work: str, scope: str) -> dict:
    data_dir = os.path.join(work, "data-" + scope)
    os.makedirs(data_dir)
    db_file = crm_database(data_dir)
    config = load_config(capture_environ(url, key_path, CRM_GMAIL_CAPTURE_SCOPE=scope, CRM_GMAIL_QUOTA_PROFILE="2026"))
    assert not config.errors, config.errors
    service = CaptureService(db_file, data_dir, config, limiter_for=lambda _: QuotaLimiter(1e12))
    conn = connect(db_file)
    account, _ = email_db.enroll_account(conn, OWNER, None, "dwd")
    service.client_for(account["id"]).credentials.access_token(OWNER)  # the token minted outside the figures
    reset(url)
    started = time.monotonic()
    run = service.sync_account(account["id"])
    elapsed = time.monotonic() - started
    stats = user_stats(url)
    held = {r[0]: (r[1], r[2]) for r in conn.execute(
        "SELECT m.gmail_id, e.message_id, m.gmail_thread_id FROM email_mailbox_entries m JOIN emails e "
        "ON e.id = m.email_id")}
    return {"scope": scope, "run": run, "seconds": elapsed, "stats": stats, "held": held, "service": service,
            "conn": conn, "account": account}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="targeted vs full capture, one generated mailbox")
    for flag, kind, default in OPTIONS:
        parser.add_argument(flag, type=kind, default=default)
    args = parser.parse_args(argv)
    work = tempfile.mkdtemp(prefix="bench-targeted-")
    box = Mailbox(os.path.join(work, "mail", OWNER), args.seed)
    box.fill(args.messages, args.investor_share)
    keys = service_account(os.path.join(work, "sa"))
    # The 2026 costs; a budget high enough that the figures measure the work, not the wait.
    process, url = start_emulator_process(os.path.join(work, "mail"), keys[1], "2026", units_per_min=100_000_000)
    try:
        results = {scope: capture(url, keys[0], work, scope) for scope in ("investors", "all")}
        # Every id's Message-ID and thread, from the full capture (which holds every message).
        full = results["all"]["held"]
        investor_gmail = {g for g, (mid, _) in full.items() if mid in box.investor_ids}
        investor_threads = {full[g][1] for g in investor_gmail}
        figures = {}
        for scope, result in results.items():
            stats, calls = result["stats"], result["stats"].get("calls", {})
            captured = len(investor_gmail & set(result["held"]))
            stray_messages = [g for g in stats.get("message_gets", {}) if g not in investor_gmail]
            stray_threads = [t for t in stats.get("thread_gets", {}) if t not in investor_threads]
            figures[scope] = {"units": stats.get("units", 0), "captured": captured, "stray": len(stray_messages),
                              "stray_threads": len(stray_threads)}
            print(f"{scope:9s}: run {result['run']['status']}, {calls.get('messages.get', 0)} messages.get + "
                  f"{calls.get('threads.get', 0)} threads.get + {calls.get('messages.list', 0)} messages.list, "
                  f"{stats.get('units', 0):,} units, {result['seconds']:.1f} s wall "
                  f"({stats.get('units', 0) / PACE_2026:.1f} min at the 2026 pace of {PACE_2026}/min); "
                  f"{captured} of {len(investor_gmail)} investor-conversation messages captured, "
                  f"{stats.get('units', 0) / max(1, captured):.1f} units each; non-investor messages fetched: "
                  f"{len(stray_messages)} by messages.get, {len(stray_threads)} threads")
        ratio = figures["all"]["units"] / max(1, figures["investors"]["units"])
        print(f"investors scope spends {ratio:.1f}x fewer units than all for the same "
              f"{figures['investors']['captured']} investor messages (target >= 10x; <= 15 units each; 0 stray)")

        # One-minute freshness: new mail arrives, one poll checks it.
        targeted = results["investors"]
        sync = AccountSync(targeted["conn"], email_db.get_account(targeted["conn"], targeted["account"]["id"]),
                           targeted["service"].client_for(targeted["account"]["id"]), targeted["service"].config,
                           targeted["service"].matcher, targeted["service"].blob_store)
        new_ids, new_investor = [], 0
        for i in range(args.new_mail):
            investor = i % round(1 / args.investor_share) == 0
            sender = ("Maya Okafor", "maya@northwind.vc") if investor else OTHERS[i % len(OTHERS)]
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = email.utils.formataddr(sender), OWNER, f"New {i}"
            msg["Date"], msg["Message-ID"] = email.utils.formatdate(localtime=False), f"<new{i}@bench.test>"
            msg.set_content("New mail.\n")
            new_ids.append(emulator(url, f"/_emulator/users/{urllib.parse.quote(OWNER)}/messages?labels=INBOX",
                                    bytes(msg), "POST", "message/rfc822")["id"])
            new_investor += investor
        reset(url)
        queries = sync._queries(after=sync._window_start())
        sync._search(queries)
        search_units = user_stats(url).get("units", 0)
        reset(url)
        sync.client.batch_get_metadata(new_ids)
        metadata_units = user_stats(url).get("units", 0)
        reset(url)
        started = time.monotonic()
        poll = targeted["service"].sync_account(targeted["account"]["id"], poll=True)
        poll_seconds = time.monotonic() - started
        poll_stats = user_stats(url)
        print(f"poll after {args.new_mail} new messages ({new_investor} investor): {poll['messages_added']} added, "
              f"{poll_stats.get('units', 0)} units, {poll_seconds:.2f} s; checking the new ids costs "
              f"{search_units} units by windowed search ({len(queries)} queries) vs {metadata_units} units by "
              f"metadata gets (chosen: the search)")
        longest = max(build_queries(current_terms(targeted["conn"], DOMAIN)), key=len)
        encoded = len(urllib.parse.urlencode({"q": longest}))
        print(f"investor queries: {len(queries)} for {len(current_terms(targeted['conn'], DOMAIN))} terms; longest "
              f"{len(longest)} characters, {encoded} bytes percent-encoded")
        many = build_queries([f"partner{i}@fund-number-{i}.vc" for i in range(300)])
        worst = max(len(urllib.parse.urlencode({"q": q})) for q in many)
        print(f"300 made-up investor addresses: {len(many)} queries of at most {max(map(len, many))} characters, "
              f"at most {worst} bytes percent-encoded")
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; mailbox of "
          f"{box.count} messages, {len(box.investor_ids)} in investor conversations; emulator in its own process")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
