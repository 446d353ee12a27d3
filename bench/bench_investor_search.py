"""A new investor's mail, searched for and shown (issue 24, item 4), and the Emails page's search, at default settings.

    .venv/bin/python bench/bench_investor_search.py [--trials 6] [--seed 4]

A fresh emulator process (2026 quota profile, its per-user budget enforced) holds one teammate's mailbox: some
mail of an investor the CRM knows and three emails each of --trials investors it does not know yet. A fresh CRM
process runs with every CRM_GMAIL_* at its default (CRM_GMAIL_POLL_SEC 15, the investors scope). After the first
sync, each trial waits a random 0-15 s (the poll's phase), adds one unknown investor and reads
GET /api/email/investors/{id}/search every 0.1 s, as the investor page does every 1.5 s: how long it says
"searching", and whether the investor's timeline then holds its three emails. Then the latency of
GET /api/email/threads without a search, with one whose every hit is explained (`matched`), and of the search
state itself. Prints the figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import email.utils
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_freshness import OWNER, http, manage, percentile, seed_mailbox  # noqa: E402
from bench_support import capture_environ, service_account, start_crm_process, start_emulator_process  # noqa: E402

KNOWN = {"name": "Maya Okafor", "firm": "Northwind Ventures", "emails": ["maya@northwind.vc"], "domains": []}


def add_unknown_investors(root: str, trials: int) -> None:
    folder = os.path.join(root, OWNER)
    for t in range(trials):
        for i in range(3):
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = f"Partner {t} <gp{t}@fund{t}.vc>", OWNER, f"Fund {t} note {i}"
            msg["Date"] = email.utils.formatdate(time.time() - 86400 * (10 + i), localtime=False)
            msg["Message-ID"] = f"<n{t}.{i}@fund{t}.vc>"
            msg.set_content(f"About the allocation in fund {t}, part {i}.\n")
            with open(os.path.join(folder, f"new{t:03d}{i}.eml"), "wb") as handle:
                handle.write(bytes(msg))


def timed(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="a new investor's mail: searching → shown, at default settings")
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="bench-investor-search-")
    keys = service_account(os.path.join(work, "sa"))
    mail = seed_mailbox(os.path.join(work, "mail"))
    add_unknown_investors(mail, args.trials)
    emulator, url = start_emulator_process(mail, keys[1], "2026")
    data_dir = os.path.join(work, "data")
    os.makedirs(data_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(capture_environ(url, keys[0]), CRM_DATA_DIR=data_dir, CRM_PORT="0", CRM_HOST="127.0.0.1")
    manage(env, "create-user", "--email", OWNER, "--name", "Ann Silva", "--role", "admin", "--password", "x" * 16)
    token = manage(env, "issue-token", "--email", OWNER).splitlines()[-1].strip()
    server, base = start_crm_process(env, data_dir)
    searching, shown = [], []
    try:
        http(f"{base}/api/investors", "POST", KNOWN, token)
        http(f"{base}/api/email/accounts/enroll-all", "POST", {}, token)
        http(f"{base}/api/email/sync/run-now", "POST", {}, token)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            account = http(f"{base}/api/email/status", token=token)["accounts"][0]
            if account["last_run"] and account["last_run"]["status"] == "ok" and account["state"] == "idle":
                break
            time.sleep(0.5)
        for t in range(args.trials):
            time.sleep(rng.uniform(0, 15))
            investor = http(f"{base}/api/investors", "POST", {"name": f"Partner {t}", "emails": [f"gp{t}@fund{t}.vc"]}, token)
            start = time.monotonic()
            first = http(f"{base}/api/email/investors/{investor['id']}/search", token=token)["state"]
            while time.monotonic() - start < 120:
                if http(f"{base}/api/email/investors/{investor['id']}/search", token=token)["state"] != "searching":
                    break
                time.sleep(0.1)
            searching.append(time.monotonic() - start)
            items = http(f"{base}/api/investors/{investor['id']}/timeline", token=token)["items"]
            shown.append(sum(1 for i in items if i["kind"] == "email"))
            print(f"trial {t}: first state {first}, searching for {searching[-1]:.1f} s, then {shown[-1]} of 3 emails shown")
        plain = timed(lambda: http(f"{base}/api/email/threads?limit=50", token=token), 15)
        explained = timed(lambda: http(f"{base}/api/email/threads?limit=50&q=allocation", token=token), 15)
        state = timed(lambda: http(f"{base}/api/email/investors/1/search", token=token), 30)
        total = http(f"{base}/api/email/threads?limit=1&q=allocation", token=token)["total"]
    finally:
        server.terminate()
        server.wait(timeout=20)
        emulator.terminate()
        emulator.wait(timeout=10)
    print(f"searching: p50 {percentile(searching, 0.5):.1f} s, max {max(searching):.1f} s over {len(searching)} trials; "
          f"emails shown when it ended: {sum(shown)} of {3 * len(shown)}")
    print(f"GET /api/email/threads?limit=50: median {plain:.1f} ms; with q (every hit explained, {total} hits): "
          f"{explained:.1f} ms; GET /api/email/investors/1/search: {state:.1f} ms")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; CRM and "
          f"emulator in their own processes, every CRM_GMAIL_* at its default (poll every 15 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
