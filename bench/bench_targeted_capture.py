"""Targeted capture against full-mailbox capture, on one generated firm mailbox, in the same run, under Gmail's
word matching (the emulator's default --search-match gmail).

    .venv/bin/python bench/bench_targeted_capture.py [--messages 5000] [--investor-share 0.1] [--seed 7]
                                                     [--search-match gmail|exact]

A mailbox of >= --messages messages in threads of 1-6 messages; about --investor-share of them are
conversations with the demo's investors (a few with a teammate's internal reply inside), the rest
personal mail, newsletters, internal and vendor mail. Mixed in, as real mail arrives: investor posts to the
firm's Google Group rewritten for DMARC (the investor only in Reply-To / X-Original-Sender), DocuSign envelopes
and Drive shares sent for investors, each with and without a teammate's reply; and mail for nobody the CRM
knows from the same sources, plus lookalikes Gmail's words list (a display name "Northwind VC", a domain
northwind.vc.evil.example). The group address is listed as a covered source. The emulator runs in its own
process in the 2026 quota profile (messages.get 20, threads.get 40, messages.list 5, history.list 2 units); its
per-minute budget is raised and our client left unpaced so the wall time measures the work, not the wait (the
time at the 2026 pace is derived: units / 5,400 per minute). Every unit and call figure is the emulator's own
(GET /_emulator/stats). Then: new mail arrives and one poll checks it, and the two ways to check new ids (a
windowed search vs metadata gets) are measured side by side.
Targets: >= 10x fewer units than `all`, <= 15 units per captured investor message, 0 investor messages missed,
0 non-investor messages stored in `investors` scope. Prints the figures; asserts nothing.
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
from devtools import mail_shapes  # noqa: E402
from devtools.mailgen import FUNDS, _address  # noqa: E402
from email_integration.capture import db_accounts as email_db  # noqa: E402
from email_integration.capture import db_sources  # noqa: E402
from email_integration.config import load_config  # noqa: E402
from email_integration.google.pacing import QuotaLimiter  # noqa: E402
from email_integration.gmail.search_query import build_queries  # noqa: E402
from email_integration.capture.service import CaptureService  # noqa: E402
from email_integration.capture.sync import AccountSync  # noqa: E402
from email_integration.capture.targeted import current_terms  # noqa: E402

OWNER = f"ann@{DOMAIN}"
OPTIONS = (("--messages", int, 5000), ("--investor-share", float, 0.1), ("--new-mail", int, 100), ("--seed", int, 7),
           ("--search-match", str, "gmail"))
GROUP = f"ir@{DOMAIN}"  # the firm's investor-relations Google Group (a covered source)
SOURCE_SHARE = 0.03  # of threads: sent by the group or a service (DocuSign, Drive) for an investor or a stranger
LOOKALIKE_SHARE = 0.01  # of threads: mail Gmail's word matching lists for an investor term that is not theirs
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
        self.stranger_ids: set[str] = set()  # from the covered sources or lookalikes: never to be stored
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

    def _write(self, raw: bytes) -> None:
        self.count += 1
        with open(os.path.join(self.folder, f"{self.count:06d}.eml"), "wb") as handle:
            handle.write(raw)

    def _date(self) -> str:
        self.clock += self.rng.uniform(300, 4 * 3600)
        return email.utils.formatdate(self.clock, localtime=False)

    def source_thread(self, for_investor: bool) -> None:
        """A group post rewritten for DMARC, a DocuSign envelope or a Drive share, sent for an investor (or a
        stranger); half of them answered by the owner, the answer naming that person."""
        if for_investor:
            fund, people, domain = self.rng.choice(FUNDS)
            name = self.rng.choice(people)
            person = (name, _address(name, domain))
        else:
            person = ("Sam Roe", f"sam{self.count}@landlord-{self.count % 7}.example")
        kind = self.rng.choice(("group", "docusign", "drive"))
        message_id = f"<s{self.count}.{self.rng.getrandbits(32):08x}@src.example>"
        subject = {"group": "Fund update", "docusign": "Please DocuSign: side letter", "drive": "Q3 model"}[kind]
        if kind == "group":
            raw = mail_shapes.group_rewritten(person[0], person[1], GROUP, "Investor Relations", subject,
                                              "Our quarterly letter is attached.\n", message_id, self._date())
        elif kind == "docusign":
            raw = mail_shapes.docusign(person[0], person[1], OWNER, subject, message_id, self._date())
        else:
            raw = mail_shapes.drive_share(person[0], person[1], OWNER, subject, message_id, self._date())
            subject = f'Document shared with you: "{subject}"'
        self._write(raw)
        ids = [message_id]
        if self.rng.random() < 0.5:
            answer = f"<a{self.count}.{self.rng.getrandbits(32):08x}@{DOMAIN}>"
            self._write(mail_shapes.reply(f"Ann Silva <{OWNER}>", email.utils.formataddr(person), "Re: " + subject,
                                          "Thanks, will do.\n", answer, message_id, self._date()))
            ids.append(answer)
        if for_investor:
            self.investor_ids.update(i.strip("<>") for i in ids)
        else:
            self.stranger_ids.update(i.strip("<>") for i in ids)

    def lookalike(self) -> None:
        """Mail for nobody the CRM knows that Gmail's words list for an investor's domain."""
        fund, _, domain = self.rng.choice(FUNDS)
        sender = self.rng.choice(((f"{fund} Digest", f"news@lookalike-{self.count}.example"),
                                  ("Deals", f"deals@{domain}.offers.example"),
                                  (domain.split(".")[0].title() + " " + domain.split(".")[1].upper(),
                                   f"hello@{self.count}.example")))
        self.stranger_ids.add(self.message(sender, ("Ann Silva", OWNER), "Special offer").strip("<>"))

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
            roll = self.rng.random()
            if roll < SOURCE_SHARE:
                self.source_thread(self.rng.random() < 0.6)
            elif roll < SOURCE_SHARE + LOOKALIKE_SHARE:
                self.lookalike()
            else:
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
    with conn:
        db_sources.add_group(conn, GROUP, None)
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
    process, url = start_emulator_process(os.path.join(work, "mail"), keys[1], "2026", units_per_min=100_000_000,
                                          extra=("--search-match", args.search_match))
    try:
        results = {scope: capture(url, keys[0], work, scope) for scope in ("investors", "all")}
        # Every id's Message-ID and thread, from the full capture (which holds every message).
        full = results["all"]["held"]
        investor_gmail = {g for g, (mid, _) in full.items() if mid in box.investor_ids}
        stranger_gmail = {g for g, (mid, _) in full.items() if mid in box.stranger_ids}
        figures = {}
        for scope, result in results.items():
            stats, calls = result["stats"], result["stats"].get("calls", {})
            captured = len(investor_gmail & set(result["held"]))
            bodies = stats.get("content_gets", {})
            stray_fetched = [g for g in bodies if g not in investor_gmail]
            stray_stored = [g for g in result["held"] if g not in investor_gmail]
            headers_only = sum(1 for g, n in stats.get("message_gets", {}).items() if n > bodies.get(g, 0))
            figures[scope] = {"units": stats.get("units", 0), "captured": captured}
            print(f"{scope:9s}: run {result['run']['status']}, {calls.get('messages.get', 0)} messages.get "
                  f"({headers_only} of them headers only) + {calls.get('threads.get', 0)} threads.get + "
                  f"{calls.get('messages.list', 0)} messages.list, {stats.get('units', 0):,} units, "
                  f"{result['seconds']:.1f} s wall ({stats.get('units', 0) / PACE_2026:.1f} min at the 2026 pace of "
                  f"{PACE_2026}/min); {captured} of {len(investor_gmail)} investor-conversation messages captured "
                  f"({len(investor_gmail) - captured} missed), {stats.get('units', 0) / max(1, captured):.1f} units "
                  f"each; non-investor messages: {len(stray_fetched)} fetched ({len(stranger_gmail & set(bodies))} "
                  f"of the {len(stranger_gmail)} source/lookalike ones), {len(stray_stored)} stored")
        ratio = figures["all"]["units"] / max(1, figures["investors"]["units"])
        print(f"investors scope spends {ratio:.1f}x fewer units than all for the same "
              f"{figures['investors']['captured']} investor messages (target >= 10x; <= 15 units each; 0 missed; "
              f"0 non-investor stored)")

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
        after = sync._window_start()
        queries = sync._queries(after=after)
        sync._search(after)  # what a poll runs: the investor queries, the covered sources' (and exclusions')
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
          f"{box.count} messages, {len(box.investor_ids)} in investor conversations, {len(box.stranger_ids)} from "
          f"covered sources or lookalikes for nobody the CRM knows; --search-match {args.search_match}; emulator in "
          f"its own process")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
