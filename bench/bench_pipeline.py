"""Local capture pipeline speed on one core: parse → match → thread + store, time split by stage.

    .venv/bin/python bench/bench_pipeline.py [--messages 3000] [--min-kb 5] [--max-kb 20]

Messages are generated (investor mail, newsletters, personal mail; 70% investor-matched, with
replies, cc'd teammates and some attachments) and turned into Gmail's JSON by the emulator's
formatter beforehand, so only our pipeline is timed. Storage is a file-backed SQLite database
in WAL mode, one transaction per batch of 50 messages, as sync does it (each message is a
savepoint inside it). Prints the figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from backend import investors_db  # noqa: E402
from backend.db import connect, db_path  # noqa: E402
from backend.server import init_db  # noqa: E402
from devtools.gmail_emulator.gmail_format import message_resource  # noqa: E402
from devtools.mailgen import FUNDS, _address, sized_message  # noqa: E402
from email_integration.capture import db_accounts as email_db  # noqa: E402
from email_integration.capture.attachments import blob_store_for  # noqa: E402
from email_integration.capture.ingest import Ingestor  # noqa: E402
from email_integration.capture.matcher import MatcherCache  # noqa: E402
from email_integration.mail.parser import parse  # noqa: E402


COMMIT_EVERY = 50  # CRM_GMAIL_BATCH_SIZE: sync stores each fetched batch in one transaction


def resources(count: int, min_kb: int, max_kb: int, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        raw = sized_message(rng, i, rng.randint(min_kb, max_kb) * 1024)
        out.append(message_resource(raw, id=f"{i:016x}", thread_id=f"{i // 3:016x}", label_ids=["INBOX"],
                                    history_id=i + 1, internal_date_ms=1_767_225_600_000 + i * 60_000))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--min-kb", type=int, default=5)
    parser.add_argument("--max-kb", type=int, default=20)
    args = parser.parse_args(argv)
    items = resources(args.messages, args.min_kb, args.max_kb)
    size_kb = sum(r["sizeEstimate"] for r in items) / len(items) / 1024
    data_dir = tempfile.mkdtemp()
    init_db(db_path(data_dir))
    conn = connect(db_path(data_dir))
    for name, _, domain in FUNDS:
        investors_db.create_investor(conn, name, name, [_address(name, domain)], [domain])
    account, _ = email_db.enroll_account(conn, "ann@demo.example", None, "dwd")
    ingestor = Ingestor(conn, MatcherCache("demo.example"), blob_store_for(data_dir))
    stages = {"parse": 0.0, "match": 0.0, "thread+store": 0.0}
    started = time.process_time()
    for index, resource in enumerate(items):
        if index % COMMIT_EVERY == 0:
            t0 = time.process_time()
            if conn.in_transaction:
                conn.execute("COMMIT")
            conn.execute("BEGIN IMMEDIATE")
            stages["thread+store"] += time.process_time() - t0
        t0 = time.process_time()
        parsed = parse(resource)
        t1 = time.process_time()
        links = ingestor.match(parsed)
        t2 = time.process_time()
        ingestor.store(account["id"], parsed, links)
        stages["parse"] += t1 - t0
        stages["match"] += t2 - t1
        stages["thread+store"] += time.process_time() - t2
    t0 = time.process_time()
    conn.execute("COMMIT")
    stages["thread+store"] += time.process_time() - t0
    total = time.process_time() - started
    matched = conn.execute("SELECT sum(matched) FROM emails").fetchone()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores (one used), Python {platform.python_version()}, "
          f"SQLite {__import__('sqlite3').sqlite_version}")
    print(f"{len(items)} messages, ~{size_kb:.1f} KB each (RFC 822), {matched} matched to investors")
    print(f"pipeline: {len(items) / total:,.0f} messages/s of CPU time (target >= 2,000)")
    for stage, seconds in stages.items():
        print(f"  {stage:<13} {1000 * seconds / len(items):6.3f} ms/message  {100 * seconds / total:5.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
