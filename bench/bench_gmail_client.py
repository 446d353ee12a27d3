"""How much of CRM_GMAIL_RATE_UNITS_SEC our client sustains fetching full messages from the emulator.

    .venv/bin/python bench/bench_gmail_client.py [--messages 600] [--latency-ms 50]

The emulator enforces Gmail's 250 units/s per user and adds --latency-ms to every HTTP call.
Runs, in one process and one go: (1) our client, batches of CRM_GMAIL_BATCH_SIZE at the default
150 units/s; (2) serial fetching, one message per call; (3) batches again with a 10% fault rate,
checking that every message arrives exactly once. Prints the figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from devtools.gmail_emulator.server import start_emulator  # noqa: E402
from devtools.make_service_account import make_service_account  # noqa: E402
from email_integration.config import load_config  # noqa: E402
from email_integration.credentials import DWDCredentialProvider  # noqa: E402
from email_integration.gmail_client import GmailClient  # noqa: E402
from email_integration.quota import QuotaLimiter  # noqa: E402

USER = "bench@firm.test"


def message(i: int) -> bytes:
    body = ("Quarterly numbers and a few questions about the round. " * 12 + "\n") * 4
    return (f"From: Investor {i} <lp{i}@fund{i % 17}.vc>\r\nTo: {USER}\r\nSubject: Update {i}\r\n"
            f"Date: Mon, 2 Nov 2026 10:{i % 60:02d}:00 +0000\r\nMessage-ID: <m{i}@fund.vc>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}").encode()


def client(url, key_path, rate, batch_size=50):
    config = load_config({"CRM_GMAIL_API_BASE": url, "CRM_GMAIL_TOKEN_URI": url + "/token",
                          "CRM_GMAIL_RATE_UNITS_SEC": str(rate), "CRM_GMAIL_BATCH_SIZE": str(batch_size),
                          "CRM_GMAIL_RETRY_MAX": "10"})
    return GmailClient(USER, DWDCredentialProvider(key_path, config.token_uri), config,
                       limiter=QuotaLimiter(config.rate_units_sec))


def units(emulator) -> tuple[int, int]:
    entry = emulator.server.stats.snapshot().get(USER, {"units": 0, "rate_limited": 0})
    return entry["units"], entry["rate_limited"]


def measure(label, emulator, fetch, rate):
    emulator.server.stats.reset()
    started = time.monotonic()
    count = fetch()
    elapsed = time.monotonic() - started
    spent, limited = units(emulator)
    print(f"{label:<34} {count:>5} msgs {elapsed:6.1f}s {spent / elapsed:7.1f} units/s "
          f"= {100 * spent / elapsed / rate:5.1f}% of {rate:g}   429s: {limited}")
    return spent / elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--serial-messages", type=int, default=150)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--rate", type=float, default=150, help="CRM_GMAIL_RATE_UNITS_SEC for our client")
    args = parser.parse_args(argv)
    keys = make_service_account(tempfile.mkdtemp())
    emulator = start_emulator(quota_units_per_sec=250, latency_ms=args.latency_ms, service_account_key=keys[1])
    box = emulator.store.mailbox(USER)
    ids = [box.add(message(i))["id"] for i in range(args.messages)]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"emulator 250 units/s/user, {args.latency_ms:g} ms per HTTP call; messages ~{len(message(0))} bytes")
    try:
        batched = client(emulator.url, keys[0], args.rate)
        batched.get_profile()  # token and connection warm-up, outside the measurement
        ours = measure("ours: batches of 50", emulator, lambda: len(batched.batch_get_messages(ids)[0]), args.rate)
        serial = client(emulator.url, keys[0], args.rate)
        serial.get_profile()
        theirs = measure("serial: one message per call", emulator,
                         lambda: sum(1 for i in ids[:args.serial_messages] if serial.get_message(i)), args.rate)
        print(f"ratio ours/serial: {ours / theirs:.2f}x")
        emulator.server.faults.configure(0.1, seed=5)
        faulty = client(emulator.url, keys[0], args.rate)
        faulty.get_profile()
        result = {}

        def fetch_with_faults():
            found, failed = faulty.batch_get_messages(ids)
            result.update(found=found, failed=failed)
            return len(found)

        measure("ours, 10% faults", emulator, fetch_with_faults, args.rate)
        gets = emulator.server.stats.snapshot()[USER]["message_gets"]
        lost = set(ids) - set(result["found"])
        repeated = [i for i, n in gets.items() if n > 1]
        print(f"10% faults: injected {dict(emulator.server.faults.injected)}; lost {len(lost)}, "
              f"fetched twice after success {len(repeated)}, failed {len(result['failed'])}")
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
