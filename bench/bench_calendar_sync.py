"""Calendar capture's sync against a firm calendar: 5 teammates x 2 years (devtools/calgen.py: ~2,450 events
before recurring series are expanded, ~15% with investors, a weekly team series and a fortnightly investor
series per teammate), served by the emulator's Calendar v3 in its own process (Google's 600 requests a
minute per user enforced). Requests are what the emulator's /_emulator/stats counted, never guesses.

    .venv/bin/python bench/bench_calendar_sync.py [--per-week 4] [--changes 10]

Printed, per mailbox and in all: the first full sync (24 months back, 90 days ahead, singleEvents=true)
in seconds, events listed and requests; an incremental sync after --changes edits per mailbox (a third
moved, a third cancelled, a third new): its requests and events; a quiet incremental sync; a 410 recovery
(tokens expired: the 410 and a full listing); the peak Python memory of the full syncs (tracemalloc).
The store is calendar/meetings.py's apply_events when it is installed, else a stand-in that only counts
(the figure then measures the sync and the API alone; the line says which).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
import tracemalloc
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench_support import crm_database, start_emulator_process  # noqa: E402
from backend.db import connect  # noqa: E402
from devtools.calgen import generate  # noqa: E402
from devtools.make_service_account import make_service_account  # noqa: E402
from email_integration.calendar.sync import CalendarSync  # noqa: E402
from email_integration.calendar.client import CalendarClient  # noqa: E402
from email_integration.capture import db_accounts  # noqa: E402
from email_integration.config import load_config  # noqa: E402
from email_integration.google.credentials import DWDCredentialProvider  # noqa: E402
from email_integration.google.scopes import CALENDAR_EVENTS_READONLY_SCOPE  # noqa: E402

DOMAIN = "bench.example"


def store():
    """(apply_events, name): cal-store's store when present, else a stand-in that counts."""
    try:
        from email_integration.calendar.meetings import apply_events
        return apply_events, "calendar/meetings.py"
    except ImportError:
        def counting(conn, account_id, events, *, full_sync, now):
            return {"kept": len(events), "skipped": 0, "removed": 0}
        return counting, "a counting stand-in (calendar/meetings.py not installed)"


def control(base: str, method: str, path: str, body=None) -> dict:
    request = urllib.request.Request(base + path, None if body is None else json.dumps(body).encode(),
                                     {"Content-Type": "application/json"}, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def requests_by_user(base: str) -> dict:
    users = control(base, "GET", "/_emulator/stats")["calendar"]["users"]
    return {user: entry["calls"].get("events.list", 0) for user, entry in users.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-week", type=float, default=4.0)
    parser.add_argument("--changes", type=int, default=10)
    args = parser.parse_args(argv)
    work = tempfile.mkdtemp(prefix="bench-calendar-")
    key_json, key_pub = make_service_account(os.path.join(work, "sa"))
    counts = generate(os.path.join(work, "calendars"), domain=DOMAIN, per_week=args.per_week)
    os.makedirs(os.path.join(work, "mailboxes"))
    process, base = start_emulator_process(os.path.join(work, "mailboxes"), key_pub,
                                           extra=["--calendars", os.path.join(work, "calendars")])
    apply_events, store_name = store()
    try:
        config = load_config({"CRM_GMAIL_API_BASE": base, "CRM_GMAIL_TOKEN_URI": base + "/token",
                              "CRM_CALENDAR": "on", "CRM_GMAIL_SA_KEY_PATH": key_json})
        assert not config.errors, config.errors
        db_file = crm_database(work)
        conn = connect(db_file)
        provider = DWDCredentialProvider(key_json, config.token_uri, scope=CALENDAR_EVENTS_READONLY_SCOPE)
        accounts = []
        for address in sorted(counts):
            account, _ = db_accounts.enroll_account(conn, address, None, "dwd")
            accounts.append(account)
        clients = {a["id"]: CalendarClient(a["email"], provider, config) for a in accounts}

        def run(account):
            return CalendarSync(conn, account, clients[account["id"]], apply_events=apply_events, config=config).run()

        print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores; "
              f"{sum(c['events'] for c in counts.values())} events generated for {len(counts)} teammates "
              f"({sum(c['investor'] for c in counts.values())} with an investor, "
              f"{sum(c['recurring'] for c in counts.values())} recurring series); store: {store_name}")
        tracemalloc.start()
        full, before = {}, requests_by_user(base)
        started_all = time.perf_counter()
        for account in accounts:
            started = time.perf_counter()
            result = run(account)
            full[account["email"]] = (time.perf_counter() - started, result)
        full_total = time.perf_counter() - started_all
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        after = requests_by_user(base)
        print("\nfirst full sync (24 months back, 90 days ahead, singleEvents=true, 2,500 a page):")
        for address, (seconds, result) in full.items():
            assert result["status"] == "ok", result
            print(f"  {address:24} {seconds:6.2f} s  {result['events']:5d} events  "
                  f"{after.get(address, 0) - before.get(address, 0)} requests")
        print(f"  all {len(accounts)} mailboxes: {full_total:.2f} s, "
              f"{sum(r['events'] for _, r in full.values())} events, "
              f"{sum(after.values()) - sum(before.values())} requests; peak Python memory {peak / 2**20:.1f} MiB")

        now = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
        for account in accounts:
            calendar = json.load(open(os.path.join(work, "calendars", account["email"], "events.json")))
            singles = [e for e in calendar if "recurrence" not in e][:args.changes]
            for index, resource in enumerate(singles):
                path = f"/_emulator/users/{account['email']}/events"
                if index % 3 == 0:
                    control(base, "PATCH", f"{path}/{resource['id']}", {"summary": resource["summary"] + " (moved)"})
                elif index % 3 == 1:
                    control(base, "DELETE", f"{path}/{resource['id']}")
                else:
                    start = now + dt.timedelta(days=index)
                    control(base, "POST", path, {"summary": "New", "start": {"dateTime": start.isoformat()},
                                                 "end": {"dateTime": (start + dt.timedelta(hours=1)).isoformat()}})
        for label in (f"incremental sync after {args.changes} changes per mailbox", "quiet incremental sync"):
            before = requests_by_user(base)
            started = time.perf_counter()
            results = [run(account) for account in accounts]
            seconds = time.perf_counter() - started
            after = requests_by_user(base)
            assert all(r["status"] == "ok" and r["kind"] == "incremental" for r in results), results
            print(f"\n{label}: {sum(after.values()) - sum(before.values())} requests for {len(accounts)} mailboxes "
                  f"({max(after[a['email']] - before.get(a['email'], 0) for a in accounts)} at most per mailbox), "
                  f"{sum(r['events'] for r in results)} events, {seconds:.2f} s")

        victim = accounts[0]
        control(base, "POST", f"/_emulator/users/{victim['email']}/expire-sync-tokens", {})
        before = requests_by_user(base)
        started = time.perf_counter()
        result = run(victim)
        seconds = time.perf_counter() - started
        after = requests_by_user(base)
        assert result.get("resynced"), result
        print(f"\n410 recovery ({victim['email']}): {after[victim['email']] - before[victim['email']]} requests "
              f"(the 410 and the full listing), {result['events']} events, {seconds:.2f} s")
        conn.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
