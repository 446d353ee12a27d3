"""The store of meetings and the meeting cards on a firm's calendars (issue 25's benchmark, the CRM's side).

    .venv/bin/python bench/bench_meetings_store.py [--teammates 5] [--days 730] [--seed 7]

Generates each teammate's calendar over two years (Event resources as events.list(singleEvents=true) returns
them): personal and internal events (dentist, 1:1s, all-day holidays, all-hands of 40), and ~15% with investors,
half of those shared with another teammate (the same iCalUID), a fortnightly investor series each. Then, on a
file-backed migrated database: each teammate's full sync through calendar/meetings.apply_events, the first
propose_ended_meetings (the horizon holds the history back), a tick with nothing new, an incremental page
(a few changes and cancellations), peak Python memory, and a byte scan of the database file for every personal
event's title (must be 0). Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sys
import tempfile
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from backend import investors_db  # noqa: E402
from backend.db import connect, db_path  # noqa: E402
from backend.server import init_db  # noqa: E402
from email_integration.calendar.meetings import apply_events  # noqa: E402
from email_integration.capture import db_accounts  # noqa: E402
from email_integration.review.meeting_cards import propose_ended_meetings  # noqa: E402

TEAM = ["ann", "ben", "cat", "dan", "eve"]
FUNDS = [(f"Investor {n}", f"Fund {n}", f"fund{n}.example") for n in range(40)]
NOW = dt.datetime(2026, 12, 2, 17, 0, tzinfo=dt.timezone.utc)


def stamp(moment: dt.datetime) -> dict:
    return {"dateTime": moment.astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat(), "timeZone": "Europe/Berlin"}


def resource(owner: str, event_id: str, uid: str, title: str, start: dt.datetime, attendees: list[str],
             all_day: bool = False, recurring: str | None = None) -> dict:
    me = f"{owner}@firm.example"
    people = [{"email": me, "self": True, "organizer": True, "responseStatus": "accepted"}] + [
        {"email": a, "responseStatus": "accepted"} for a in attendees]
    found = {"kind": "calendar#event", "id": event_id, "iCalUID": uid, "status": "confirmed", "summary": title,
             "description": f"Notes for {title}", "organizer": {"email": me, "self": True}, "attendees": people,
             "updated": "2026-11-01T00:00:00.000Z"}
    if all_day:
        found["start"], found["end"] = {"date": start.date().isoformat()}, {"date": (start + dt.timedelta(days=1)).date().isoformat()}
    else:
        found["start"], found["end"] = stamp(start), stamp(start + dt.timedelta(minutes=45))
    if recurring:
        found["recurringEventId"], found["originalStartTime"] = recurring, stamp(start)
    return found


def calendars(teammates: int, days: int, rng: random.Random) -> tuple[dict, list[str]]:
    """{owner: [events]} and the personal titles (none may be stored)."""
    team = TEAM[:teammates]
    found = {owner: [] for owner in team}
    personal = []
    start = NOW - dt.timedelta(days=days - 90)
    for owner in team:
        for n in range(420 * days // 730):
            when = start + dt.timedelta(days=rng.uniform(0, days), hours=rng.choice([9, 11, 14, 16]))
            roll = rng.random()
            if roll < 0.07:  # with an investor; every other one shared with a teammate (one meeting)
                fund = rng.choice(FUNDS)
                uid = f"inv-{owner}-{n}@firm.example"
                attendees = [f"partner@{fund[2]}"]
                found[owner].append(resource(owner, f"{owner}i{n}", uid, f"{fund[1]} update {n}", when, attendees))
                if n % 2:
                    mate = rng.choice([m for m in team if m != owner] or [owner])
                    found[mate].append(resource(mate, f"{mate}s{owner}{n}", uid, f"{fund[1]} update {n}", when,
                                                attendees + [f"{owner}@firm.example"]))
                continue
            title = f"Personal{owner}{n}x"
            personal.append(title)
            if roll < 0.25:
                found[owner].append(resource(owner, f"{owner}d{n}", f"d{owner}{n}", title, when, [], all_day=True))
            elif roll < 0.30:
                found[owner].append(resource(owner, f"{owner}h{n}", f"h{owner}{n}", title, when,
                                             [f"p{i}@firm.example" for i in range(40)]))
            elif roll < 0.60:
                found[owner].append(resource(owner, f"{owner}p{n}", f"p{owner}{n}", title, when,
                                             [f"friend{n}@gmail.com"]))
            else:
                found[owner].append(resource(owner, f"{owner}t{n}", f"t{owner}{n}", title, when,
                                             [f"{rng.choice(team)}@firm.example"]))
        series = f"weekly{owner}"  # a fortnightly series with one investor, 26 occurrences
        for week in range(0, 52, 2):
            when = NOW - dt.timedelta(weeks=40 - week, hours=3)
            found[owner].append(resource(owner, f"{series}_{week}", f"{series}@firm.example", "Weekly LP sync", when,
                                         [f"partner@{FUNDS[0][2]}"], recurring=series))
    return found, personal


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teammates", type=int, default=5)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cals, personal = calendars(args.teammates, args.days, rng)
    total = sum(len(v) for v in cals.values())
    with tempfile.TemporaryDirectory() as data_dir:
        path = db_path(data_dir)
        init_db(path)
        conn = connect(path)
        for name, firm, domain in FUNDS:
            investors_db.create_investor(conn, name, firm, [f"partner@{domain}"], [domain])
        accounts = {}
        for owner in cals:
            user_id = conn.execute("INSERT INTO users (email, name, role, created_at) VALUES (?, ?, 'member', 'x')",
                                   (f"{owner}@firm.example", owner.title())).lastrowid
            accounts[owner] = db_accounts.enroll_account(conn, f"{owner}@firm.example", user_id, "dwd")[0]["id"]
        tracemalloc.start()
        timings, counts = [], {"kept": 0, "skipped": 0, "removed": 0}
        for owner, events in cals.items():
            began = time.perf_counter()
            got = apply_events(conn, accounts[owner], events, full_sync=True, now=NOW)
            timings.append(time.perf_counter() - began)
            for key in counts:
                counts[key] += got[key]
        began = time.perf_counter()
        first = propose_ended_meetings(conn, NOW, propose_since_days=14)
        first_ms = (time.perf_counter() - began) * 1000
        began = time.perf_counter()
        idle = propose_ended_meetings(conn, NOW, propose_since_days=14)
        idle_ms = (time.perf_counter() - began) * 1000
        owner = next(iter(cals))
        changes = cals[owner][:20]
        page = [{**e, "summary": e["summary"] + " (moved)"} for e in changes[:15]] + [
            {"id": e["id"], "status": "cancelled"} for e in changes[15:]]
        began = time.perf_counter()
        incremental = apply_events(conn, accounts[owner], page, full_sync=False, now=NOW)
        incremental_ms = (time.perf_counter() - began) * 1000
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        meetings = conn.execute("SELECT count(*) FROM email_meetings").fetchone()[0]
        copies = conn.execute("SELECT count(*) FROM email_meeting_copies").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        data = b"".join(open(p, "rb").read() for p in (path, path + "-wal") if os.path.exists(p))
        leaked = sum(1 for title in personal if title.encode() in data)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"calendars: {len(cals)} teammates x {args.days} days = {total} events "
          f"({total - len(personal)} with investors, a fortnightly series per teammate included; {len(personal)} personal or internal)")
    print(f"full sync through apply_events: per mailbox median {sorted(timings)[len(timings) // 2] * 1000:.0f} ms, "
          f"max {max(timings) * 1000:.0f} ms; copies kept {counts['kept']}, skipped {counts['skipped']}; "
          f"meetings {meetings} for {copies} copies")
    print(f"first propose_ended_meetings: {first} in {first_ms:.0f} ms; the next tick with nothing new {idle_ms:.1f} ms")
    print(f"incremental page of 20 (15 changed, 5 cancelled): {incremental} in {incremental_ms:.1f} ms")
    print(f"peak Python memory during the syncs and the cards: {peak / 1e6:.1f} MB")
    print(f"personal event titles found in the database file: {leaked} of {len(personal)}")


if __name__ == "__main__":
    main()
