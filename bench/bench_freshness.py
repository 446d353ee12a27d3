"""Freshness: an investor email appended to a teammate's Gmail → its pending card on /capture, at default settings.

    .venv/bin/python bench/bench_freshness.py [--emails 24] [--seed 3] [--lags 0,60]

For each search lag (the emulator's --search-lag-sec: Gmail's search index seeing new mail after history
does), a fresh emulator process (2026 quota profile, its per-user budget enforced, --search-match gmail) and
a fresh CRM process with every CRM_GMAIL_* at its default (CRM_GMAIL_POLL_SEC 15, CRM_GMAIL_CAPTURE_SCOPE
investors). Once the first sync is done, --emails investor emails arrive at random gaps of 2-12 s; a watcher
reads GET /api/email/proposals?status=pending (what /capture shows) every 0.25 s and notes when each card
appears. Prints p50 / p95 / max per lag, and the quota units the mailbox spent meanwhile (/_emulator/stats).
Targets: p95 <= 30 s at lag 0, <= 90 s at lag 60. Prints the figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import email.utils
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_support import (DOMAIN, ROOT, capture_environ, service_account, start_crm_process,  # noqa: E402
                           start_emulator_process)

OWNER = f"ann@{DOMAIN}"
INVESTOR = {"name": "Maya Okafor", "firm": "Northwind Ventures", "emails": ["maya@northwind.vc"], "domains": []}


def http(url: str, method: str = "GET", body=None, token: str | None = None, content_type="application/json"):
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    headers = {"Content-Type": content_type, **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(url, data, headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def manage(env: dict, *args) -> str:
    return subprocess.run([sys.executable, "-m", "backend.manage", *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


def seed_mailbox(root: str) -> str:
    folder = os.path.join(root, OWNER)
    os.makedirs(folder)
    for i in range(20):  # some personal mail and an old investor thread: the first sync has work to do
        msg = EmailMessage()
        sender = "Maya Okafor <maya@northwind.vc>" if i % 5 == 0 else f"Friend {i} <friend{i}@gmail.com>"
        msg["From"], msg["To"], msg["Subject"] = sender, OWNER, f"Earlier {i}"
        msg["Date"] = email.utils.formatdate(time.time() - 86400 * (30 - i), localtime=False)
        msg["Message-ID"] = f"<old{i}@seed.example>"
        msg.set_content("Earlier mail.\n")
        with open(os.path.join(folder, f"{i:04d}.eml"), "wb") as handle:
            handle.write(bytes(msg))
    return root


def _crm_process(work: str, url: str, keys) -> tuple:
    """A CRM process on the emulator at `url`, every CRM_GMAIL_* at its default, OWNER its admin with a token:
    (process, base URL, token, data dir)."""
    data_dir = os.path.join(work, "data")
    os.makedirs(data_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(capture_environ(url, keys[0]), CRM_DATA_DIR=data_dir, CRM_PORT="0", CRM_HOST="127.0.0.1")
    manage(env, "create-user", "--email", OWNER, "--name", "Ann Silva", "--role", "admin", "--password", "x" * 16)
    token = manage(env, "issue-token", "--email", OWNER).splitlines()[-1].strip()
    server, base = start_crm_process(env, data_dir)
    return server, base, token, data_dir


def start_site(work: str, extra=()) -> tuple:
    """The emulator (2026 profile, `extra` flags) over seed_mailbox and a CRM process at default settings with OWNER
    as its admin: (emulator, its url, server, its url, OWNER's token, the CRM's data dir)."""
    keys = service_account(os.path.join(work, "sa"))
    emulator, url = start_emulator_process(seed_mailbox(os.path.join(work, "mail")), keys[1], "2026", extra=extra)
    server, base, token, data_dir = _crm_process(work, url, keys)
    return emulator, url, server, base, token, data_dir


def one_mailbox_crm(work: str, url: str, keys, investor: dict):
    """A CRM process on the emulator at `url` (as _crm_process) with `investor` added, OWNER's mailbox enrolled and
    synced once. (process, base URL, token)."""
    server, base, token, _data_dir = _crm_process(work, url, keys)
    try:
        http(f"{base}/api/investors", "POST", investor, token)
        http(f"{base}/api/email/accounts/enroll-all", "POST", {}, token)
        http(f"{base}/api/email/sync/run-now", "POST", {}, token)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            account = http(f"{base}/api/email/status", token=token)["accounts"][0]
            if account["last_run"] and account["last_run"]["status"] == "ok" and account["state"] == "idle":
                break
            time.sleep(0.5)
    except BaseException:
        server.terminate()
        raise
    return server, base, token


def machine_line() -> str:
    return (f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; CRM and "
            f"emulator in their own processes, every CRM_GMAIL_* at its default (poll every 15 s)")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def measure(lag: float, count: int, rng: random.Random) -> dict:
    work = tempfile.mkdtemp(prefix=f"bench-fresh-{int(lag)}-")
    keys = service_account(os.path.join(work, "sa"))
    emulator, url = start_emulator_process(seed_mailbox(os.path.join(work, "mail")), keys[1], "2026",
                                           extra=("--search-lag-sec", str(lag)))
    server, base, token = one_mailbox_crm(work, url, keys, INVESTOR)
    seen: dict[str, float] = {}
    stop = threading.Event()
    try:
        def watch():
            while not stop.is_set():
                for card in http(f"{base}/api/email/proposals?status=pending", token=token)["proposals"]:
                    seen.setdefault(card["email"]["subject"], time.monotonic())
                stop.wait(0.25)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        http(f"{url}/_emulator/stats/reset", "POST", {})
        sent: dict[str, float] = {}
        for i in range(count):
            time.sleep(rng.uniform(2, 12))
            subject = f"Could we meet about fund {i}?"
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = "Maya Okafor <maya@northwind.vc>", OWNER, subject
            msg["Date"], msg["Message-ID"] = email.utils.formatdate(localtime=False), f"<fresh{i}.{lag}@northwind.vc>"
            msg.set_content(f"Could you send the updated model before our call on day {i}?\n")
            http(f"{url}/_emulator/users/{urllib.parse.quote(OWNER)}/messages?labels=INBOX", "POST", bytes(msg),
                 content_type="message/rfc822")
            sent[subject] = time.monotonic()
        deadline = time.monotonic() + lag + 120
        while time.monotonic() < deadline and set(sent) - set(seen):
            time.sleep(0.5)
        stop.set()
        watcher.join(5)
        units = http(f"{url}/_emulator/stats")["users"].get(OWNER, {})
        spent = time.monotonic() - min(sent.values())
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=20)
        emulator.terminate()
        emulator.wait(timeout=10)
    delays = [seen[s] - t for s, t in sent.items() if s in seen]
    return {"lag": lag, "sent": len(sent), "arrived": len(delays), "delays": delays, "units": units.get("units", 0),
            "calls": units.get("calls", {}), "minutes": spent / 60}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="investor email → pending card, at default settings")
    parser.add_argument("--emails", type=int, default=24)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--lags", default="0,60", help="emulator --search-lag-sec values, comma-separated")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    for lag in [float(v) for v in args.lags.split(",") if v.strip()]:
        result = measure(lag, args.emails, rng)
        delays = result["delays"]
        if not delays:
            print(f"search lag {lag:g} s: no card arrived of {result['sent']}")
            continue
        calls = ", ".join(f"{n} {m}" for m, n in sorted(result["calls"].items()))
        print(f"search lag {lag:g} s: {result['arrived']} of {result['sent']} cards; p50 {percentile(delays, 0.5):.1f} s, "
              f"p95 {percentile(delays, 0.95):.1f} s, max {max(delays):.1f} s; {result['units']} quota units in "
              f"{result['minutes']:.1f} min ({calls})")
    print(machine_line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
