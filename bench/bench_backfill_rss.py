"""Peak memory of a backfill: 20,000 messages through the real sync path (client, batches,
parse, match, thread, store, attachments) into a fresh CRM database.

    .venv/bin/python bench/bench_backfill_rss.py [--messages 20000]

The emulator runs in its own process without quota or latency (this measures memory, not
speed); our process's peak RSS (ru_maxrss) is what counts. Target: <= 150 MB.
Prints the figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_support import (capture_environ, crm_database, service_account, start_emulator_process,  # noqa: E402
                           write_mailboxes, DOMAIN)
from backend.db import connect  # noqa: E402
from email_integration.capture import db_accounts as email_db  # noqa: E402
from email_integration.config import load_config  # noqa: E402
from email_integration.google.pacing import QuotaLimiter  # noqa: E402
from email_integration.capture.service import CaptureService  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args(argv)
    work = tempfile.mkdtemp(prefix="bench-rss-")
    address = f"ann@{DOMAIN}"
    write_mailboxes(os.path.join(work, "mail"), [address], args.messages)
    keys = service_account(os.path.join(work, "sa"))
    emulator, url = start_emulator_process(os.path.join(work, "mail"), keys[1], units_per_min=0)
    try:
        data_dir = os.path.join(work, "data")
        os.makedirs(data_dir)
        db_file = crm_database(data_dir)
        config = load_config(capture_environ(url, keys[0]))
        # Memory, not speed: no quota pacing (the emulator enforces none either).
        service = CaptureService(db_file, data_dir, config, limiter_for=lambda _: QuotaLimiter(1e9))
        conn = connect(db_file)
        account, _ = email_db.enroll_account(conn, address, None, "dwd")
        before = rss_mb()
        started = time.monotonic()
        run = service.sync_account(account["id"])
        elapsed = time.monotonic() - started
        stored = conn.execute("SELECT count(*) FROM email_mailbox_entries").fetchone()[0]
        conn.close()
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"backfill of {args.messages} messages: run {run['status']}, {stored} stored, {elapsed:.0f} s "
          f"({stored / elapsed:.0f} messages/s with the emulator on the same machine)")
    print(f"peak RSS: {rss_mb():.0f} MB (before the sync: {before:.0f} MB; target <= 150 MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
