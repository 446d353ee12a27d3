"""Freshness of meeting cards: a stored meeting with an investor ends → its pending card on /capture.

    .venv/bin/python bench/bench_meeting_cards.py [--meetings 12] [--seed 5]

A CRM process at default settings (its scheduler drafts meeting cards every tick, at most 5 s apart) and the
Gmail emulator for its mail; --meetings meetings with an investor are stored in a teammate's calendar (through
calendar/meetings.apply_events, the calendar sync's seam) ending at random times 3-40 s ahead; a watcher reads
GET /api/email/proposals?status=pending (what /capture shows) every 0.25 s and notes when each card appears.
Prints p50 / p95 / max of end → card. The calendar poll that brings the event in is the sync's (cal-api's
benchmark). Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench_freshness import INVESTOR, OWNER, http, percentile, start_site  # noqa: E402

from backend.db import connect  # noqa: E402
from email_integration.calendar.meetings import apply_events  # noqa: E402


def event(n: int, end: dt.datetime) -> dict:
    start = end - dt.timedelta(minutes=30)
    iso = {"start": {"dateTime": start.isoformat()}, "end": {"dateTime": end.isoformat()}}
    return {"id": f"fresh{n}", "iCalUID": f"fresh{n}@bench", "status": "confirmed", "summary": f"Fresh meeting {n}",
            "organizer": {"email": OWNER, "self": True}, **iso,
            "attendees": [{"email": OWNER, "self": True, "responseStatus": "accepted"},
                          {"email": INVESTOR["emails"][0], "responseStatus": "accepted"}]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--meetings", type=int, default=12)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="bench-meeting-cards-")
    emulator, _url, server, base, token, data_dir = start_site(work)
    seen: dict[str, float] = {}
    stop = threading.Event()
    try:
        http(f"{base}/api/investors", "POST", INVESTOR, token)
        http(f"{base}/api/email/accounts/enroll-all", "POST", {}, token)

        def watch():
            while not stop.is_set():
                for card in http(f"{base}/api/email/proposals?status=pending", token=token)["proposals"]:
                    if card.get("kind") == "meeting":
                        seen.setdefault(card["meeting"]["title"], time.time())
                stop.wait(0.25)

        now = dt.datetime.now(dt.timezone.utc)
        ends = {f"Fresh meeting {n}": now + dt.timedelta(seconds=rng.uniform(3, 40)) for n in range(args.meetings)}
        conn = connect(os.path.join(data_dir, "crm.db"))
        account = conn.execute("SELECT id FROM email_accounts WHERE email = ?", (OWNER,)).fetchone()[0]
        apply_events(conn, account, [event(n, ends[f"Fresh meeting {n}"]) for n in range(args.meetings)],
                     full_sync=True, now=now)
        conn.close()
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and set(ends) - set(seen):
            time.sleep(0.5)
        stop.set()
        watcher.join(timeout=5)
    finally:
        server.terminate()
        emulator.terminate()
    # The card exists from the tick after the end, but a meeting's end has whole-second precision in the store.
    lags = [seen[t] - ends[t].replace(microsecond=0).timestamp() for t in ends if t in seen]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"meeting end -> pending card on /capture, {len(lags)} of {len(ends)} meetings: p50 {percentile(lags, 0.5):.1f} s, "
          f"p95 {percentile(lags, 0.95):.1f} s, max {max(lags):.1f} s (scheduler tick <= 5 s, watcher every 0.25 s)")


if __name__ == "__main__":
    main()
