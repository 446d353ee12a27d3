"""How much of its quota budget our client sustains fetching full messages from the emulator, per
Gmail quota profile, and how it rides out a 429 storm. Units are what the emulator's stats say Gmail
would have charged (never wall-clock guesses).

    .venv/bin/python bench/bench_gmail_client.py [--seconds 60] [--latency-ms 50]   # steady, both profiles
    .venv/bin/python bench/bench_gmail_client.py --storm [--cut-after 70]            # budget cut to a third

Steady: the emulator charges and enforces the profile's per-user budget (a 60 s moving window, 10
concurrent calls per user) and adds --latency-ms to every HTTP call; our client runs with the
default settings of that profile (paces at 90% of the budget) and fetches --seconds worth of full
messages in batches. Printed: units/s against the client's budget, and the share of calls answered
429. Then the same with 10% injected faults: messages lost, successes fetched twice.
Storm: 2026 profile; after --cut-after seconds the emulator's budget drops to a third. Printed: how
long until the client's pace is under the new budget, 429s after the cut, messages lost.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from devtools.gmail_emulator.server import start_emulator  # noqa: E402
from devtools.make_service_account import make_service_account  # noqa: E402
from email_integration.config import load_config  # noqa: E402
from email_integration.google.credentials import DWDCredentialProvider  # noqa: E402
from email_integration.gmail.client import GmailClient  # noqa: E402
from email_integration.google.pacing import QuotaLimiter  # noqa: E402
from email_integration.google.quota import PROFILES  # noqa: E402

USER = "bench@firm.test"


def message(i: int) -> bytes:
    body = ("Quarterly numbers and a few questions about the round. " * 12 + "\n") * 4
    return (f"From: Investor {i} <lp{i}@fund{i % 17}.vc>\r\nTo: {USER}\r\nSubject: Update {i}\r\n"
            f"Date: Mon, 2 Nov 2026 10:{i % 60:02d}:00 +0000\r\nMessage-ID: <m{i}@fund.vc>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}").encode()


def client(url, key_path, profile):
    """Our client with the profile's default settings (its own limiter: a fresh start each time)."""
    config = load_config({"CRM_GMAIL_API_BASE": url, "CRM_GMAIL_TOKEN_URI": url + "/token",
                          "CRM_GMAIL_QUOTA_PROFILE": profile, "CRM_GMAIL_RETRY_MAX": "10"})
    limiter = QuotaLimiter(config.pace_units_per_min, batch_max=config.batch_size)
    gmail = GmailClient(USER, DWDCredentialProvider(key_path, config.token_uri), config, limiter=limiter)
    gmail.get_profile()  # token and connection warm-up, outside the measurement
    return gmail


def seeded_emulator(keys, profile, count, latency_ms):
    emulator = start_emulator(quota_profile=profile, latency_ms=latency_ms, service_account_key=keys[1])
    box = emulator.store.mailbox(USER)
    return emulator, [box.add(message(i))["id"] for i in range(count)]


def fetch_all(gmail, ids) -> dict:
    found, failed = gmail.batch_get_messages(ids)
    return {"found": found, "failed": failed}


def steady(keys, profile, seconds, latency_ms) -> None:
    table = PROFILES[profile]
    budget_per_sec = table.default_pace_units_per_min / 60
    count = int(seconds * budget_per_sec / table.cost("messages.get"))
    emulator, ids = seeded_emulator(keys, profile, count, latency_ms)
    try:
        gmail = client(emulator.url, keys[0], profile)
        emulator.server.stats.reset()
        started = time.monotonic()
        result = fetch_all(gmail, ids)
        elapsed = time.monotonic() - started
        entry = emulator.server.stats.snapshot()[USER]
        calls = sum(entry["calls"].values())
        rate = entry["units"] / elapsed
        print(f"{profile:>6}: {len(result['found']):>4} msgs in {elapsed:5.1f}s  {rate:6.1f} units/s = "
              f"{100 * rate / budget_per_sec:5.1f}% of the client's budget ({budget_per_sec:g}/s = 90% of "
              f"{table.user_units_per_min:,}/min)  429s: {entry['rate_limited']}/{calls} calls "
              f"= {100 * entry['rate_limited'] / calls:.2f}%  batch size {gmail.limiter.batches.size}")
        emulator.server.stats.reset()
        emulator.server.faults.configure(0.1, seed=5)
        faulty = client(emulator.url, keys[0], profile)
        started = time.monotonic()
        result = fetch_all(faulty, ids)
        elapsed = time.monotonic() - started
        gets = emulator.server.stats.snapshot()[USER]["message_gets"]
        lost = set(ids) - set(result["found"])
        print(f"{profile:>6}, 10% faults: injected {dict(emulator.server.faults.injected)}; lost {len(lost)}, "
              f"fetched twice after success {sum(1 for n in gets.values() if n > 1)}, failed {len(result['failed'])}; "
              f"{elapsed:.1f}s ({100 * (len(ids) / elapsed) / (count / seconds):.0f}% of the clean pace)")
    finally:
        emulator.stop()


def storm(keys, cut_after, latency_ms) -> None:
    table = PROFILES["2026"]
    new_budget = table.user_units_per_min / 3
    per_sec = table.default_pace_units_per_min / 60 / table.cost("messages.get")
    count = int(per_sec * cut_after + new_budget / 60 / table.cost("messages.get") * 90)
    emulator, ids = seeded_emulator(keys, "2026", count, latency_ms)
    samples, cut_at, done = [], [], threading.Event()
    try:
        gmail = client(emulator.url, keys[0], "2026")
        emulator.server.stats.reset()
        started = time.monotonic()

        def watch():
            while not done.is_set():
                now = time.monotonic() - started
                if not cut_at and now >= cut_after:
                    emulator.server.quota.set_budget(new_budget)
                    cut_at.append(now)
                    limited_before = emulator.server.stats.snapshot().get(USER, {}).get("rate_limited", 0)
                    cut_at.append(limited_before)
                limited = emulator.server.stats.snapshot().get(USER, {}).get("rate_limited", 0)
                samples.append((now, gmail.limiter.rate * 60, limited))
                time.sleep(0.1)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        result = fetch_all(gmail, ids)
        done.set()
        watcher.join()
        elapsed = time.monotonic() - started
        entry = emulator.server.stats.snapshot()[USER]
        cut, limited_before = cut_at
        after = [(t, pace, limited) for t, pace, limited in samples if t >= cut]
        under = next((t for t, pace, _ in after if pace <= new_budget), None)
        last_429 = max((t for (t, _, limited), (_, _, before) in zip(after[1:], after) if limited > before),
                       default=None)
        calls_after = entry["calls"].get("messages.get", 0)
        lost = set(ids) - set(result["found"])
        print(f"storm: {len(ids)} msgs in {elapsed:.0f}s; budget cut at {cut:.0f}s from "
              f"{table.user_units_per_min:,} to {new_budget:,.0f} units/min")
        print(f"  pace under the new budget {under - cut:.1f}s after the cut" if under is not None else
              "  pace never went under the new budget")
        print(f"  last 429 at {last_429 - cut:.1f}s after the cut" if last_429 else "  no 429 after the cut")
        print(f"  429s: {entry['rate_limited'] - limited_before} after the cut, {entry['rate_limited']} in all "
              f"({100 * entry['rate_limited'] / max(1, calls_after):.1f}% of messages.get calls); "
              f"pace decreases {gmail.limiter.decreases}; final pace {gmail.limiter.rate * 60:,.0f}/min")
        print(f"  messages lost: {len(lost)}; failed: {len(result['failed'])}; "
              f"fetched twice after success: {sum(1 for n in entry['message_gets'].values() if n > 1)}")
        for t, pace, limited in samples[::50]:
            print(f"    t={t:6.1f}s pace {pace:7,.0f}/min  429s so far {limited}")
    finally:
        done.set()
        emulator.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60, help="steady: about how long each profile runs")
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--profiles", default="2026,legacy")
    parser.add_argument("--storm", action="store_true", help="run the 429 storm instead")
    parser.add_argument("--cut-after", type=float, default=70, help="storm: seconds before the budget cut")
    args = parser.parse_args(argv)
    keys = make_service_account(tempfile.mkdtemp())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.latency_ms:g} ms per HTTP call; messages ~{len(message(0))} bytes")
    if args.storm:
        storm(keys, args.cut_after, args.latency_ms)
    else:
        for profile in args.profiles.split(","):
            steady(keys, profile.strip(), args.seconds, args.latency_ms)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
