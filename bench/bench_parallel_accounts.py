"""Five mailboxes syncing at once against the emulator enforcing a Gmail quota profile's per-user budget:
what fraction of its budget each account sustains through the whole sync path.

    .venv/bin/python bench/bench_parallel_accounts.py [--profile 2026|legacy] [--accounts 5] [--per-box 300]
                                                      [--latency-ms 50]

Our client runs with the profile's default settings (it paces at 90% of the per-user budget; the
emulator enforces 100% as a 60 s moving window). Units per account come from the emulator's own
accounting (GET /_emulator/stats), divided by that account's wall time. Target: each account >= 90%
of the client's budget. Prints the figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_support import (DOMAIN, capture_environ, crm_database, service_account,  # noqa: E402
                           start_emulator_process, write_mailboxes)
from backend.db import connect  # noqa: E402
from email_integration.capture import db_accounts as email_db  # noqa: E402
from email_integration.config import load_config  # noqa: E402
from email_integration.google.quota import PROFILES  # noqa: E402
from email_integration.capture.service import CaptureService  # noqa: E402


def emulator_stats(url: str) -> dict:
    with urllib.request.urlopen(url + "/_emulator/stats", timeout=10) as response:
        return json.loads(response.read())["users"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=5)
    parser.add_argument("--per-box", type=int, default=300)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="2026")
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args(argv)
    work = tempfile.mkdtemp(prefix="bench-parallel-")
    addresses = [f"user{i}@{DOMAIN}" for i in range(args.accounts)]
    write_mailboxes(os.path.join(work, "mail"), addresses, args.per_box)
    keys = service_account(os.path.join(work, "sa"))
    emulator, url = start_emulator_process(os.path.join(work, "mail"), keys[1], profile=args.profile,
                                           latency_ms=args.latency_ms)
    try:
        data_dir = os.path.join(work, "data")
        os.makedirs(data_dir)
        db_file = crm_database(data_dir)
        config = load_config(capture_environ(url, keys[0], CRM_GMAIL_QUOTA_PROFILE=args.profile))
        assert not config.errors, config.errors
        service = CaptureService(db_file, data_dir, config)
        conn = connect(db_file)
        accounts = [email_db.enroll_account(conn, a, None, "dwd")[0] for a in addresses]
        conn.close()
        for account in accounts:
            service.client_for(account["id"]).get_profile()  # tokens minted outside the measurement
        urllib.request.urlopen(urllib.request.Request(url + "/_emulator/stats/reset", b"", method="POST")).read()
        times, runs = {}, {}

        def sync(account):
            started = time.monotonic()
            runs[account["email"]] = service.sync_account(account["id"])
            times[account["email"]] = time.monotonic() - started

        threads = [threading.Thread(target=sync, args=(a,)) for a in accounts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stats = emulator_stats(url)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    budget = config.pace_units_per_min / 60
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; emulator in "
          f"its own process, profile {args.profile} ({config.quota.user_units_per_min:,} units/min/user), "
          f"{args.latency_ms:g} ms per call; our budget {budget:g} units/s")
    for address in addresses:
        entry = stats.get(address, {"units": 0, "rate_limited": 0, "calls": {}})
        per_sec = entry["units"] / times[address]
        calls = max(1, sum(entry["calls"].values()))
        print(f"{address}: {runs[address]['status']}, {runs[address]['messages_added']} messages in "
              f"{times[address]:.1f} s, {per_sec:.1f} units/s = {100 * per_sec / budget:.1f}% of {budget:g} "
              f"(429s: {entry['rate_limited']} = {100 * entry['rate_limited'] / calls:.2f}% of calls)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
