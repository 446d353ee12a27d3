"""What the per-viewer visibility rule (email_integration/privacy/db_visibility.py) costs the read queries.

    .venv/bin/python bench/bench_visibility.py [--messages 6000] [--runs 15]

Builds a file-backed database like a real one: generated investor mail (bench_pipeline's) stored
through the ingest path into five teammates' mailboxes (a third of the messages in two of them),
one mailbox at 'subject', one at 'metadata', one conversation in ten private, proposals drafted.
Then times, as a teammate who holds some of the mail and as one who holds none: the Emails page's
first page of conversations, a search, one conversation, one email's detail, the Email Capture
page's card list, and the bot's work-lists. Prints the median and worst of --runs; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from backend import investors_db  # noqa: E402
from backend.db import atomic, connect, db_path  # noqa: E402
from backend.server import init_db  # noqa: E402
from bench.bench_pipeline import resources  # noqa: E402
from devtools.mailgen import FUNDS, _address  # noqa: E402
from email_integration.capture import db_accounts as email_db  # noqa: E402
from email_integration.capture import db_queries  # noqa: E402
from email_integration.capture.attachments import blob_store_for  # noqa: E402
from email_integration.capture.ingest import Ingestor  # noqa: E402
from email_integration.capture.matcher import MatcherCache  # noqa: E402
from email_integration.mail.parser import parse  # noqa: E402
from email_integration.privacy import db_privacy  # noqa: E402
from email_integration.review import db_intake, db_proposals, proposals  # noqa: E402

TEAM = ["ann", "bob", "cat", "dan", "eve"]


def build(data_dir: str, count: int):
    init_db(db_path(data_dir))
    conn = connect(db_path(data_dir))
    for name, _, domain in FUNDS:
        investors_db.create_investor(conn, name, name, [_address(name, domain)], [domain])
    accounts = []
    for name in TEAM + ["outsider"]:
        user_id = conn.execute("INSERT INTO users (email, name, role, created_at) VALUES (?, ?, 'member', 'x')",
                               (f"{name}@demo.example", name)).lastrowid
        if name in TEAM:
            accounts.append(email_db.enroll_account(conn, f"{name}@demo.example", user_id, "dwd")[0]["id"])
    ingestor = Ingestor(conn, MatcherCache("demo.example"), blob_store_for(data_dir))
    items = resources(count, 5, 20)
    for start in range(0, len(items), 50):
        with atomic(conn):
            for index, resource in enumerate(items[start:start + 50], start):
                parsed = parse(resource)
                links = ingestor.match(parsed)
                holders = [accounts[index % 5]] + ([accounts[(index + 1) % 5]] if index % 3 == 0 else [])
                for account_id in holders:
                    ingestor.store(account_id, {**parsed, "gmail_id": f"{account_id}-{parsed['gmail_id']}"}, links)
    with atomic(conn):
        db_privacy.set_visibility(conn, accounts[1], "subject", 1)
        db_privacy.set_visibility(conn, accounts[2], "metadata", 1)
        for (thread_id,) in conn.execute("SELECT id FROM email_threads WHERE id % 10 = 0").fetchall():
            db_privacy.flag_private(conn, thread_id, 1)  # as set_private does it: the flag, then the cards
            db_proposals.withdraw_private(conn, thread_id)
    return conn


def timed(runs: int, call) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples), max(samples)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=6000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    conn = build(tempfile.mkdtemp(), args.messages)
    emails, threads = (conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("emails", "email_threads"))
    pending = conn.execute("SELECT count(*) FROM email_proposals WHERE status = 'pending'").fetchone()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}")
    print(f"{emails} emails in {threads} conversations over 5 mailboxes (1 at subject, 1 at metadata, "
          f"1 in 10 conversations private), {pending} pending proposals")
    for label, viewer in (("bob (his mailbox at 'subject')", 2), ("a teammate with no mailbox", 6)):
        first = db_queries.list_threads(conn, viewer, None, None, 50, 0)[0]
        some_thread = first[0]["id"]
        some_email = db_queries.get_thread(conn, viewer, some_thread)["emails"][0]["id"]
        cases = [("threads, first page of 50", lambda: db_queries.list_threads(conn, viewer, None, None, 50, 0)),
                 ("threads, search 'round'", lambda: db_queries.list_threads(conn, viewer, None, "round", 50, 0)),
                 ("one conversation", lambda: db_queries.get_thread(conn, viewer, some_thread)),
                 ("one email's detail", lambda: db_queries.get_email_detail(conn, viewer, some_email)),
                 ("capture cards (all pending)", lambda: proposals.cards(conn, viewer))]
        print(f"as {label}: {len(proposals.cards(conn, viewer))} cards on the Capture page (its limit: 1000)")
        for name, call in cases:
            median, worst = timed(args.runs, call)
            print(f"  {name:<30} median {median:7.2f} ms   max {worst:7.2f} ms")
    median, worst = timed(args.runs, lambda: (db_intake.unposted_ids(conn, 50), db_intake.open_cards(conn),
                                              db_intake.cards_to_close(conn)))
    print(f"bot work-lists (room-safe only)  median {median:7.2f} ms   max {worst:7.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
